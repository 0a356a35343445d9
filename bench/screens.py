"""Screenshots of the web UI: every main page, in English and Spanish, as PNGs under docs/screens/.

    .venv/bin/python bench/screens.py                       # a demo-like world, made here
    .venv/bin/python bench/screens.py --settings data/demo/tesoro.toml   # a store of your own
    .venv/bin/python bench/screens.py --phone               # also at a phone's width (390 x 844)

With no settings, it starts the platform simulator (for its pictures), writes six weeks of its posts
about the demo's brand straight into a new SQLite store (scored by a simple rule on each post's
kind, not by the models, so it takes seconds), approves and features some, grants rights on a few,
ranks the queue, records two weeks of gallery impressions and clicks, declares two months of ROE
effort, and computes ROR. With --settings it opens that store as it is, and signs in with a key it
creates for the run and revokes at the end.

It then serves Tesoro on a free port, signs in with Debian's chromium (through Playwright), finds
the pages in the navigation bar (so a page added later is photographed too) plus the page of the
top advocate, and writes `docs/screens/<page>.<lang>.png` (1366 px wide, the whole page up to
4,000 px high), and with --phone `<page>.<lang>.phone.png`. docs/screens.md shows them.
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import uvicorn
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import select

from tesoro.api.app import create_app
from tesoro.curator.ranking import rank_posts
from tesoro.insights import service
from tesoro.models import MediaType, NormalizedAuthor, NormalizedMedia, NormalizedPost, Platform, PostMetrics
from tesoro.settings import RoeEffort, Settings
from tesoro.settings.loader import load_settings
from tesoro.simulator.demo import demo_settings, start_simulator
from tesoro.simulator.images import image_spec
from tesoro.simulator.mediahost import local_media_url
from tesoro.simulator.model import SimPost
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from tesoro.store.gallery import record_events, tile_key
from tesoro.store.keys import Role, create_key, revoke_key
from tesoro.store.posts import upsert_posts
from tesoro.store.scores import save_scores
from tesoro.store.sources import list_sources, record_success, save_cursor
from tesoro.store.tables import Brand, Post, Product

if TYPE_CHECKING:
    from playwright.sync_api import FloatRect, ViewportSize

OUT = Path(__file__).resolve().parent.parent / "docs" / "screens"
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
LANGS = ("en", "es")
DAYS = 42
BRAND = "Andes Outdoor"  # the demo's brand
# The longest a screenshot gets: the top of a long list says what the page is; its tail adds megabytes.
MAX_HEIGHT = 4000
PLATFORMS = ("x", "reddit", "bluesky", "mastodon", "instagram", "youtube")
# The sentiment a post of each kind reads as (the models' job in the real pipeline), and how relevant.
KIND_SENTIMENT = {
    "review": "positive",
    "photo": "positive",
    "video": "positive",
    "unboxing": "positive",
    "tutorial": "neutral",
    "testimonial": "positive",
    "complaint": "negative",
    "question": "neutral",
    "meme": "neutral",
    "comparison": "neutral",
    "spam": "neutral",
    "offtopic": "neutral",
}
PROBS = {
    "positive": {"negative": 0.05, "neutral": 0.15, "positive": 0.8},
    "neutral": {"negative": 0.1, "neutral": 0.8, "positive": 0.1},
    "negative": {"negative": 0.8, "neutral": 0.15, "positive": 0.05},
}
_MEDIA_TYPES = {"photo": MediaType.PHOTO, "video": MediaType.VIDEO, "gif": MediaType.GIF}


# --- a demo-like world ------------------------------------------------------------------------------


def _normalized(post: SimPost, media_base: str) -> NormalizedPost:
    """A world post as a collector would store it, its media on the simulator's own media host."""
    platform = Platform(post.platform)
    author = NormalizedAuthor(
        platform=platform,
        external_id=f"{post.platform}-{post.author.id}",
        handle=post.author.handle,
        display_name=post.author.name,
        followers=post.author.followers,
        following=post.author.following,
        bio=post.author.bio or None,
        profile_url=f"https://example.com/{post.platform}/{post.author.handle}",
    )
    media = tuple(
        NormalizedMedia(
            _MEDIA_TYPES.get(m.type, MediaType.PHOTO),
            local_media_url(media_base, m.url),
            preview_url=local_media_url(media_base, m.preview_url) if m.preview_url else None,
            width=m.width,
            height=m.height,
            alt_text=m.alt_text,
        )
        for m in post.media
        # The simulator draws a few pictures broken on purpose (tiny, cut short, not an image) for the
        # media pipeline's tests; the screenshots show what a coordinator sees of working media.
        if image_spec(m.url).fault is None
    )
    return NormalizedPost(
        platform=platform,
        external_id=str(post.id),
        text=post.text,
        created_at=post.created_at,
        author=author,
        lang=post.lang,
        url=f"https://example.com/{post.platform}/{post.author.handle}/{post.id}",
        title=post.title,
        media=media,
        metrics=PostMetrics(
            likes=post.likes, reposts=post.reposts, replies=post.replies, quotes=post.quotes, views=post.views
        ),
        hashtags=post.hashtags,
    )


def build_world(data_dir: Path, rng: random.Random) -> tuple[Settings, Engine, Any]:
    """The simulator (for its pictures), the demo's settings, and a store with six weeks of its posts."""
    simulator = start_simulator(None, initial_posts=0, grow_every_s=None)
    now = datetime.now(UTC)
    today = now.date()
    # Two months of declared effort (hours and money spent on the brand, then on a campaign hashtag),
    # so the dashboard's Return on Engagement has something to divide by.
    efforts = [
        RoeEffort(
            brand=BRAND, start=today - timedelta(days=41), end=today - timedelta(days=21), hours=30, spend=800
        ),
        RoeEffort(brand=BRAND, start=today - timedelta(days=20), end=today, hours=36, spend=1100),
        RoeEffort(brand=BRAND, hashtag="andesoutdoor", start=today - timedelta(days=20), end=today, hours=6),
    ]
    demo = demo_settings(data_dir, simulator.base_url)
    settings = demo.model_copy(update={"roe": demo.roe.model_copy(update={"effort": efforts})})
    engine = open_store(settings)
    world = simulator.state.world
    posts: list[SimPost] = []
    for day in range(DAYS, -1, -1):
        # More posts lately: a brand getting talked about.
        for _ in range(4 + (DAYS - day) // 6):
            stamp = now - timedelta(days=day, minutes=rng.randrange(24 * 60))
            if stamp < now:
                posts += world.grow(1, platforms=PLATFORMS, now=stamp)
    with session_scope(engine) as session:
        brand = int(session.exec(select(Brand.id).where(Brand.name == BRAND)).one() or 0)
        products = {p.name: p.id for p in session.exec(select(Product))}
    with session_scope(engine) as session:
        stored = [_normalized(p, simulator.base_url) for p in posts if p.kind != "spam"]
        upsert_posts(session, stored, brand_id=brand)
    # Each demo source ran a few minutes ago and collected its platform's posts (the sources page and
    # the dashboard would otherwise say "not run yet" beside six weeks of posts).
    per_platform = Counter(str(p.platform) for p in stored)
    with session_scope(engine) as session:
        for source in list_sources(session):
            assert source.id is not None
            save_cursor(
                session, source_id=source.id, cursor=source.cursor, collected=per_platform[source.platform]
            )
            record_success(session, source_id=source.id, at=now - timedelta(minutes=rng.randrange(2, 15)))
    rows: list[dict[str, Any]] = []
    with session_scope(engine) as session:
        ids = {(p.platform, p.external_id): p.id for p in session.exec(select(Post))}
        for post in posts:
            pid = ids.get((post.platform, str(post.id)))
            if pid is None:
                continue
            label = KIND_SENTIMENT.get(post.kind, "neutral")
            relevant = post.kind not in ("offtopic", "spam")
            rows.append(
                {
                    "post_id": pid,
                    "model_version": "screens-1",
                    "sentiment": label,
                    "sentiment_probs": dict(PROBS[label]),
                    "relevance": rng.uniform(0.55, 0.98) if relevant else rng.uniform(0.05, 0.3),
                    "product_id": products.get(post.product or ""),
                    "product_confidence": 0.9 if post.product in products else None,
                    "content_types": [],
                    "language": post.lang,
                    "safety": {"profanity": 0.0, "offensive": 0.0, "hate": 0.0, "adult": 0.0},
                    "spam": 0.0,
                    "engagement_rate": None,
                    "engagement_vs_median": rng.uniform(0.5, 2.5),
                    "embedding": None,
                    "scored_at": now,
                }
            )
        save_scores(session, rows)
    product_of: dict[int, int] = {r["post_id"]: r["product_id"] for r in rows if r["product_id"] is not None}
    rank_posts(engine, settings.curator)
    # A coordinator's last weeks: the best photos and videos approved, some featured, rights on a few.
    with session_scope(engine) as session:
        rows_by_score = session.exec(select(Post).where(Post.treasure_score != None)).all()  # noqa: E711
        ranked = sorted(rows_by_score, key=lambda p: p.treasure_score or 0.0, reverse=True)
        for n, row in enumerate(ranked[: len(ranked) // 4]):
            row.queue_state = "featured" if n % 7 == 0 else "approved"
            row.rights_status = "granted" if n % 3 == 0 else ("requested" if n % 3 == 1 else "none")
            row.product_id = product_of.get(row.id or 0)  # the product the coordinator confirmed
            session.add(row)
        for row in ranked[-len(ranked) // 10 :]:
            row.queue_state = "rejected"
            session.add(row)
    rank_posts(engine, settings.curator)
    # Two weeks of the gallery widget on the shop's pages: impressions, clicks and shop clicks per tile.
    with session_scope(engine) as session:
        shown = session.exec(select(Post).where(Post.rights_status == "granted")).all()
        for day in range(14):
            events = []
            for row in shown:
                key = tile_key(row.platform, row.external_id)
                events += [(key, "impression")] * rng.randrange(20, 200)
                events += [(key, "click")] * rng.randrange(0, 12)
                events += [(key, "shop")] * rng.randrange(0, 4)
            record_events(session, brand_id=brand, events=events, day=(now - timedelta(days=day)).date())
    service.refresh_ror(engine, settings)
    return settings, engine, simulator


# --- serving and photographing ----------------------------------------------------------------------


class _Server:
    """Tesoro on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def _settle(page: Any) -> None:
    """Wait until the page's scripts have drawn: no request in flight, nothing still loading, every
    picture loaded."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('main p.muted') || ![...document.querySelectorAll('main p.muted')]"
        ".some(p => p.textContent.endsWith('…'))",
        timeout=15_000,
    )
    # Lazy pictures below the fold load only when scrolled to: load them all, and wait until each
    # has loaded or failed (a failed one shows its placeholder), so the whole-page capture is whole.
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => (i.loading = 'eager'))")
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=30_000)
    page.wait_for_timeout(300)


def _shrink(path: Path) -> None:
    """Rewrite a screenshot with a 256-colour palette: about a third of the bytes, text as sharp (the UI
    has few colours; photos in the gallery band a little, which a docs page can live with)."""
    with Image.open(path) as shot:
        rgb = shot.convert("RGB")
    palette = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)


def photograph(base_url: str, key: str, out: Path, *, phone: bool) -> list[Path]:
    from playwright.sync_api import sync_playwright  # a dev dependency: only this script needs it

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport=DESKTOP, locale="en-US")
        page = context.new_page()
        page.goto(f"{base_url}/login?next=/ui/queue")
        page.fill("#key", key)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/ui/queue")
        paths = page.eval_on_selector_all(
            "header nav a[href^='/']", "links => links.map(a => a.getAttribute('href'))"
        )
        pages = {p.rstrip("/").rsplit("/", 1)[-1] or "home": p for p in paths if p != "/docs"}
        page.goto(f"{base_url}/ui/dashboard")
        _settle(page)
        advocate = page.locator("#leaderboard a.handle").first
        if advocate.count():
            pages["author"] = urlsplit(advocate.get_attribute("href") or "").path
        sizes = [("", DESKTOP)] + ([(".phone", PHONE)] if phone else [])
        for name, path in pages.items():
            for lang in LANGS:
                for suffix, size in sizes:
                    page.set_viewport_size(size)
                    page.goto(f"{base_url}{path}?lang={lang}")
                    _settle(page)
                    target = out / f"{name}.{lang}{suffix}.png"
                    height = min(MAX_HEIGHT, page.evaluate("() => document.documentElement.scrollHeight"))
                    clip: FloatRect = {"x": 0, "y": 0, "width": size["width"], "height": height}
                    page.screenshot(path=str(target), full_page=True, clip=clip)
                    _shrink(target)
                    written.append(target)
                    print(f"{target.relative_to(out.parent.parent)}  {path}")
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", type=Path, help="a settings file whose store to photograph")
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go (default: docs/screens)")
    parser.add_argument("--phone", action="store_true", help="also at a phone's width (390 x 844)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    simulator = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.settings is not None:
            settings = load_settings(args.settings)
            engine = open_store(settings)
        else:
            settings, engine, simulator = build_world(Path(tmp), random.Random(args.seed))
        with session_scope(engine) as session:
            created = create_key(session, name="screens", role=Role.ADMIN)
        try:
            with _Server(create_app(settings, engine)) as server:
                photograph(server.url, created.token, args.out, phone=args.phone)
        finally:
            with session_scope(engine) as session:
                revoke_key(session, key_id=created.key.key_id)
            engine.dispose()
            if simulator is not None:
                simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
