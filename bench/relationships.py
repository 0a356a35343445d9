"""Benchmark: ROR for every person and the KPIs over 1,000,000 posts by 200,000 authors.

    .venv/bin/python bench/relationships.py                     # 1M posts, 200k authors
    .venv/bin/python bench/relationships.py --posts 100000 --authors 20000

The data is written straight into a migrated SQLite file with sqlite3's
executemany (generation is not what is measured), shaped like a real
collection: two years of posts, a long tail of authors (a few post a lot),
four platforms, one score set per post (50% positive, 35% neutral, 15%
negative), a photo on 15% of posts, 2.3% approved or featured with a
coordinator's decision, rights granted on 0.5%, 10% replies, mentions of other
people and of competitors, 2,500 people linked across two accounts, and the
brand's own accounts replying to 20,000 posts. Then it times what the API and
the scheduler run, and prints a table. The target is under 60 s for the ROR
refresh plus the KPI report.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from tesoro.insights import service
from tesoro.settings import BrandSettings, QuerySettings, RoeEffort, RoeSettings, Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.migrate import upgrade

T = TypeVar("T")
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
PLATFORMS = ("x", "reddit", "bluesky", "mastodon")
TEXTS = (
    "Love my new Cumbre trail shoes",
    "The Nube jacket kept me dry all day",
    "Cumbre vs Salomon: the Cumbre wins on grip",
    "Thinking of switching from Patagonia to Andes Outdoor",
    "My Volcan pack strap broke after a month",
    "Unboxing the Cumbre Trail Runner",
    "How to clean your Nube rain jacket, step by step",
    "Is the Cumbre true to size? asking for a friend",
)


def settings_for(data_dir: Path) -> Settings:
    brand = "Andes Outdoor"
    return Settings(
        data_dir=data_dir,
        brands=[
            BrandSettings(
                name=brand,
                handles={
                    "x": "andesoutdoor",
                    "bluesky": "andesoutdoor.bsky.social",
                    "mastodon": "andesoutdoor",
                },
                hashtags=["andesoutdoor"],
                competitors=["Patagonia", "Salomon"],
            )
        ],
        queries=[QuerySettings(name="andes", brand=brand, query="cumbre OR nube OR andesoutdoor")],
        roe=RoeSettings(
            effort=[
                RoeEffort(brand=brand, start=date(2026, 10, 1), end=date(2026, 10, 31), hours=40, spend=1000),
                RoeEffort(brand=brand, start=date(2026, 11, 1), end=date(2026, 11, 30), hours=45, spend=1200),
                RoeEffort(
                    brand=brand,
                    hashtag="andesoutdoor",
                    start=date(2026, 11, 1),
                    end=date(2026, 11, 30),
                    hours=5,
                ),
            ]
        ),
    )


def _timestamps(seconds: np.ndarray) -> list[str]:
    """Epoch seconds -> the text SQLAlchemy stores for a DateTime on SQLite."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]").astype("datetime64[us]"), unit="us")
    return [t.replace("T", " ") for t in text.tolist()]


def generate(path: Path, *, posts: int, authors: int, seed: int = 42) -> None:
    rng = np.random.default_rng(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA journal_mode=MEMORY")
    con.execute("PRAGMA foreign_keys=OFF")
    brand_id = con.execute("SELECT id FROM brand").fetchone()[0]
    now_s = NOW.timestamp()

    # Authors: ids 1..authors; the brand's three accounts come last.
    platform = rng.choice(len(PLATFORMS), size=authors, p=[0.4, 0.2, 0.2, 0.2])
    followers = np.minimum(rng.lognormal(5.0, 1.8, size=authors), 5e6).astype(np.int64)
    persons = min(2_500, authors // 4)
    person_id: list[int | None] = [None] * authors
    con.executemany(
        "INSERT INTO person (id, display_name) VALUES (?, ?)", [(i + 1, f"p{i + 1}") for i in range(persons)]
    )
    for i in range(persons):  # accounts 2i and 2i+1 (different platforms) are one person
        person_id[2 * i] = person_id[2 * i + 1] = i + 1
        platform[2 * i + 1] = (platform[2 * i] + 1) % len(PLATFORMS)
    first_seen = _timestamps(np.full(1, now_s - 800 * 86400))[0]
    rows: list[tuple[Any, ...]] = [
        (
            i + 1,
            PLATFORMS[int(platform[i])],
            f"a{i + 1}",
            f"user{i + 1}@mastodon.social" if platform[i] == 3 else f"user{i + 1}",
            int(followers[i]),
            0,
            person_id[i],
            first_seen,
        )
        for i in range(authors)
    ]
    brand_accounts = [
        (authors + 1, "x", "brand-x", "andesoutdoor", 80_000, 0, None, first_seen),
        (authors + 2, "bluesky", "brand-b", "andesoutdoor.bsky.social", 12_000, 0, None, first_seen),
        (authors + 3, "mastodon", "brand-m", "andesoutdoor@mastodon.social", 3_000, 0, None, first_seen),
    ]
    con.executemany(
        "INSERT INTO author (id, platform, external_id, handle, followers, verified, person_id, "
        "first_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows + brand_accounts,
    )

    # Posts: a long tail of authors (u^3 puts most posts on few people), two years of history.
    author = (authors * rng.random(posts) ** 3).astype(np.int64) + 1
    brand_replies = min(20_000, posts // 50)
    author[-brand_replies:] = authors + 1 + rng.integers(0, 3, size=brand_replies)
    post_platform = np.where(
        author > authors,
        np.array([0, 2, 3])[np.clip(author - authors - 1, 0, 2)],
        platform[np.minimum(author, authors) - 1],
    )
    created = now_s - rng.random(posts) ** 1.5 * 730 * 86400
    order = np.argsort(created)  # ids grow with time, as they do when collected
    author, post_platform, created = author[order], post_platform[order], created[order]
    likes = rng.poisson(3, posts) * (rng.random(posts) < 0.7)
    reposts = rng.poisson(0.5, posts)
    replies = rng.poisson(0.8, posts)
    views = np.where(
        post_platform == 0, (followers[np.minimum(author, authors) - 1] * 0.3).astype(np.int64), -1
    )
    reply_to = rng.random(posts) < 0.10
    is_brand = author > authors
    reply_to |= is_brand
    parent = (np.arange(posts) * rng.random(posts)).astype(np.int64)  # an earlier post
    mention_other = rng.random(posts) < 0.2
    mention_brand = rng.random(posts) < 0.02
    tagged = rng.random(posts) < 0.1
    text_i = rng.integers(0, len(TEXTS), size=posts)
    state = rng.random(posts)
    queue = np.where(
        state < 0.02,
        "approved",
        np.where(state < 0.023, "featured", np.where(state < 0.033, "rejected", "new")),
    )
    rights = np.where(rng.random(posts) < 0.005, "granted", "none")
    stamps = _timestamps(created)
    mentions_json = [
        json.dumps((["friend"] if o else []) + (["andesoutdoor"] if b else []))
        for o, b in zip(mention_other.tolist(), mention_brand.tolist(), strict=True)
    ]
    post_rows = (
        (
            i + 1,
            PLATFORMS[int(post_platform[i])],
            f"e{i + 1}",
            int(author[i]),
            brand_id if i % 20 else None,
            TEXTS[int(text_i[i])],
            stamps[i],
            int(likes[i]),
            int(reposts[i]),
            int(replies[i]),
            0,
            None if views[i] < 0 else int(views[i]),
            f"e{int(parent[i]) + 1}" if reply_to[i] and i > 0 else None,
            '["andesoutdoor"]' if tagged[i] else "[]",
            mentions_json[i],
            str(queue[i]),
            str(rights[i]),
        )
        for i in range(posts)
    )
    con.executemany(
        "INSERT INTO post (id, platform, external_id, author_id, brand_id, text, created_at, likes, reposts, "
        "replies, quotes, views, reply_to_id, hashtags, mentions, queue_state, rights_status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        post_rows,
    )

    sentiment = rng.choice(3, size=posts, p=[0.5, 0.35, 0.15])
    labels = ("positive", "neutral", "negative")
    kinds = rng.random(posts)
    types = np.where(
        kinds < 0.15,
        '["photo"]',
        np.where(kinds < 0.22, '["review"]', np.where(kinds < 0.25, '["tutorial"]', "[]")),
    )
    con.executemany(
        "INSERT INTO score (post_id, model_version, sentiment, content_types, safety) "
        "VALUES (?, 'bench', ?, ?, '{}')",
        ((i + 1, labels[int(sentiment[i])], str(types[i])) for i in range(posts)),
    )
    photo = np.flatnonzero(types == '["photo"]')
    con.executemany(
        "INSERT INTO media (post_id, type, url) VALUES (?, 'photo', ?)",
        ((int(i) + 1, f"https://pbs.twimg.com/media/{int(i) + 1}.jpg") for i in photo),
    )
    curated = np.flatnonzero((queue == "approved") | (queue == "featured"))
    decided = _timestamps(created[curated] + 2 * 86400)
    con.executemany(
        "INSERT INTO curation_decision (post_id, action, from_state, to_state, actor, decided_at, undone) "
        "VALUES (?, 'decide', 'new', ?, 'bench', ?, 0)",
        ((int(i) + 1, str(queue[i]), decided[n]) for n, i in enumerate(curated)),
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()


Row = tuple[str, float, float, str]


def timed(label: str, fn: Callable[[], T], table: list[Row], note: Callable[[T], str]) -> T:
    """Wall time and this process's CPU time. SQLite runs in-process, so CPU time shows the work
    itself even when other programs share the machine and stretch the wall time."""
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    table.append((label, time.perf_counter() - started, time.process_time() - cpu, note(result)))
    return result


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--authors", type=int, default=200_000)
    parser.add_argument("--db", type=Path, help="SQLite file to (re)use; default: a temporary one")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="tesoro-bench-"))
    path = args.db or folder / "bench.db"
    settings = settings_for(folder)
    engine = make_engine(f"sqlite:///{path}")
    rows: list[Row] = []
    if not path.exists() or path.stat().st_size < 100_000:
        upgrade(engine)
        with session_scope(engine) as session:
            sync_catalog(session, settings)
        engine.dispose()
        timed(
            "generate (not measured)",
            lambda: generate(path, posts=args.posts, authors=args.authors),
            rows,
            lambda _: f"{args.posts:,} posts, {args.authors:,} authors, 1 score set each",
        )
    first = len(rows)
    load_before = _load()
    timed(
        "ROR: refresh every person (queries + numpy + store)",
        lambda: service.refresh_ror(engine, settings, as_of=NOW),
        rows,
        lambda r: f"{r.people:,} people, {r.events:,} events",
    )
    timed(
        "ROR: leaderboard top 20 (stored)",
        lambda: service.leaderboard(engine, settings, top=20),
        rows,
        lambda b: f"best {b['items'][0]['score']:.1f}",
    )
    for days in (30, 365):
        timed(
            f"KPIs: last {days} days, all platforms",
            lambda days=days: service.kpi_report(  # type: ignore[misc]
                engine, settings, since=NOW - timedelta(days=days), until=NOW
            ),
            rows,
            lambda r: f"{r['volume']['mentions']:,} mentions, {r['volume']['unique_authors']:,} authors",
        )
    target = len(rows)
    timed(
        "KPIs: last 365 days, one platform (x)",
        lambda: service.kpi_report(
            engine, settings, platform="x", since=NOW - timedelta(days=365), until=NOW
        ),
        rows,
        lambda r: f"{r['volume']['mentions']:,} mentions",
    )
    timed(
        "ROE: 3 declared efforts",
        lambda: service.roe_report(engine, settings),
        rows,
        lambda r: ", ".join(f"{x.target} {x.per_hour or 0:.0f}/h" for x in r),
    )
    timed(
        "Author page: top advocate (breakdown + monthly history)",
        lambda: service.person_page(
            engine,
            settings,
            author_id=service.leaderboard(engine, settings, top=1)["items"][0]["author_id"],
            as_of=NOW,
        ),
        rows,
        lambda p: f"{p['ror']['events_total']:,} events, {len(p['history']['points'])} points",
    )
    width = max(len(r[0]) for r in rows) + 2
    print(f"\nbench/relationships.py  posts={args.posts:,}  authors={args.authors:,}  db={path}")
    print(f"load average before / after: {load_before} / {_load()}  ({os.cpu_count()} CPUs)")
    print(f"{'step'.ljust(width)}  {'wall s':>7}  {'cpu s':>7}  result")
    print(f"{'-' * width}  {'-' * 7}  {'-' * 7}  {'-' * 40}")
    for label, wall_s, cpu_s, note in rows:
        print(f"{label.ljust(width)}  {wall_s:7.2f}  {cpu_s:7.2f}  {note}")
    print(f"{'-' * width}  {'-' * 7}  {'-' * 7}")
    wall = sum(r[1] for r in rows[first:target])
    cpu = sum(r[2] for r in rows[first:target])
    verdict = "PASS" if wall < 60 else "FAIL"
    target_label = "ROR refresh + leaderboard + KPIs 30 d + 365 d".ljust(width)
    print(f"{target_label}  {wall:7.2f}  {cpu:7.2f}  {verdict} (target < 60 s)")
    all_wall = sum(r[1] for r in rows[first:])
    all_cpu = sum(r[2] for r in rows[first:])
    print(f"{'all measured steps'.ljust(width)}  {all_wall:7.2f}  {all_cpu:7.2f}")
    return 0 if wall < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
