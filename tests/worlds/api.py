"""The API tests' world: settings with two brands and products, seeded posts, a key per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from tesoro.curator.ranking import RankReport, rank_posts
from tesoro.models import MediaType, NormalizedAuthor, NormalizedMedia, NormalizedPost, Platform
from tesoro.settings import Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role, create_key
from tesoro.store.posts import upsert_posts
from tesoro.store.scores import save_scores
from tesoro.store.tables import Post
from worlds.common import SENTIMENT_PROBS, brand_ids, post_id, product_ids

HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_TEXT = f"{HOSTILE_IMG} {HOSTILE_SCRIPT} loved the Cumbre"
SHOP_ORIGIN = "https://shop.example.com"
BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_settings(tmp_path: Path, **gallery: Any) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "base_dir": tmp_path,
            "brands": [{"name": "Andes Outdoor"}, {"name": "Other Brand"}],
            "products": [
                {
                    "name": "Cumbre Trail Runner",
                    "brand": "Andes Outdoor",
                    "shop_url": f"{SHOP_ORIGIN}/cumbre?color=red&utm_source=old",
                },
                {"name": "Nube Rain Jacket", "brand": "Andes Outdoor"},
                {"name": "Other Thing", "brand": "Other Brand"},
            ],
            "gallery": {"allowed_origins": [SHOP_ORIGIN], **gallery},
        }
    )


@dataclass
class Seeded:
    """What the seed made: post ids by name, the brands' and products' ids, and a token per role."""

    posts: dict[str, int] = field(default_factory=dict)
    brands: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    tokens: dict[Role, str] = field(default_factory=dict)

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def _post(
    name: str,
    text: str,
    *,
    platform: Platform = Platform.X,
    minutes: int = 0,
    media: tuple[NormalizedMedia, ...] = (),
    url: str | None = None,
    author: str = "ana",
    display: str | None = "Ana Trail",
) -> NormalizedPost:
    return NormalizedPost(
        platform=platform,
        external_id=name,
        text=text,
        created_at=BASE_TIME - timedelta(minutes=minutes),
        author=NormalizedAuthor(
            platform=platform,
            external_id=f"{platform.value}-{author}",
            handle=author,
            display_name=display,
            followers=12345,
            profile_url=f"https://x.com/{author}",
        ),
        url=url if url is not None else f"https://x.com/{author}/status/{name}",
        media=media,
        lang="en",
    )


PHOTO = NormalizedMedia(
    MediaType.PHOTO, "https://pbs.twimg.com/media/photo1.jpg", alt_text="a shoe on a trail"
)
EVIL_PHOTO = NormalizedMedia(MediaType.PHOTO, "https://evil.example.net/track.gif")
VIDEO = NormalizedMedia(
    MediaType.VIDEO, "https://video.twimg.com/v/clip.mp4", preview_url="https://pbs.twimg.com/media/clip.jpg"
)

# name -> (post, queue_state, rights_status, brand, product, treasure_score)
PLAN: list[tuple[NormalizedPost, str, str, str, str | None, float | None]] = [
    (
        _post("gal-photo", "Great grip on the Cumbre", minutes=5, media=(PHOTO, EVIL_PHOTO)),
        "approved",
        "granted",
        "Andes Outdoor",
        "Cumbre Trail Runner",
        0.7,
    ),
    (
        _post("gal-video", "Nube kept me dry", minutes=10, media=(VIDEO,), author="bea", display="Bea"),
        "featured",
        "granted",
        "Andes Outdoor",
        "Nube Rain Jacket",
        0.5,
    ),
    (
        _post(
            "gal-hostile",
            HOSTILE_TEXT,
            minutes=15,
            url="javascript:alert(1)",
            author="mallory",
            display=HOSTILE_IMG,
        ),
        "approved",
        "granted",
        "Andes Outdoor",
        None,
        0.4,
    ),
    (
        _post("no-rights", "Approved but no rights", minutes=20),
        "approved",
        "requested",
        "Andes Outdoor",
        None,
        0.9,
    ),
    (_post("still-new", "New but granted", minutes=25), "new", "granted", "Andes Outdoor", None, None),
    (_post("was-rejected", "Rejected", minutes=30), "rejected", "granted", "Andes Outdoor", None, None),
    (_post("other-brand", "Other brand post", minutes=35), "approved", "granted", "Other Brand", None, None),
    (_post("q-high", "Best treasure in the queue", minutes=40), "new", "none", "Andes Outdoor", None, 0.95),
    (_post("q-mid", "Middle of the queue", minutes=45), "new", "none", "Andes Outdoor", None, 0.6),
    (
        _post("q-hostile", HOSTILE_TEXT, minutes=50, author="mallory", display=HOSTILE_IMG),
        "new",
        "none",
        "Andes Outdoor",
        None,
        0.3,
    ),
    (_post("dup-x", "Same words on two platforms", minutes=55), "new", "none", "Andes Outdoor", None, 0.2),
    (
        _post(
            "dup-bsky",
            "Same  words on TWO platforms",
            platform=Platform.BLUESKY,
            minutes=60,
            author="ana.bsky.social",
            url="https://bsky.app/profile/ana/post/1",
        ),
        "new",
        "none",
        "Andes Outdoor",
        None,
        0.1,
    ),
]


def seed(engine: Engine, settings: Settings) -> Seeded:
    out = Seeded()
    with session_scope(engine) as session:
        sync_catalog(session, settings)
        session.flush()
        out.brands = brand_ids(session)
        out.products = product_ids(session)
    for post, state, rights, brand, product, score in PLAN:
        with session_scope(engine) as session:
            upsert_posts(session, [post], brand_id=out.brands[brand])
            pid = post_id(session, platform=post.platform.value, external_id=post.external_id)
            row = session.get_one(Post, pid)
            row.queue_state = state
            row.rights_status = rights
            row.product_id = out.products[product] if product else None
            row.treasure_score = score
            session.add(row)
            out.posts[post.external_id] = pid
    with session_scope(engine) as session:
        for role in Role:
            out.tokens[role] = create_key(session, name=f"test {role.value}", role=role).token
    return out


def rank(engine: Engine, settings: Settings, seeded: Seeded) -> RankReport:
    """Give each post with a planned treasure score a score set (relevance ~ that score), then rank.

    The curator's queue and library list only ranked posts, so the UI's pages need this
    after `seed`. Ranking rewrites `post.treasure_score` with the curator's own score.
    """
    rows: list[dict[str, Any]] = [
        {
            "post_id": seeded.posts[post.external_id],
            "model_version": "api-test-1",
            "sentiment": "positive",
            "sentiment_probs": dict(SENTIMENT_PROBS["positive"]),
            "relevance": max(score, settings.curator.min_relevance),  # none off-topic
            "product_id": None,
            "product_confidence": None,
            "content_types": [],
            "language": "en",
            "safety": {"profanity": 0.0, "offensive": 0.0, "hate": 0.0, "adult": 0.0},
            "spam": 0.0,
            "engagement_rate": None,
            "engagement_vs_median": 1.0,
            "embedding": None,
            "scored_at": BASE_TIME,
        }
        for post, _state, _rights, _brand, _product, score in PLAN
        if score is not None
    ]
    with session_scope(engine) as session:
        save_scores(session, rows)
    return rank_posts(engine, settings.curator)
