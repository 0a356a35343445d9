"""The curator tests' world: a catalog, hand-made scored posts, and a tiny deterministic encoder."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine

from tesoro.models import (
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Platform,
    PostMetrics,
)
from tesoro.settings import BrandSettings, CuratorSettings, ProductSettings, Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.library import IndexRow
from tesoro.store.posts import upsert_posts
from tesoro.store.scores import save_scores
from tesoro.text.fold import words
from tesoro.text.search import light_stem
from worlds.common import SENTIMENT_PROBS, brand_ids, post_id, product_ids

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DIM = 384


def tiny_encode(texts: Sequence[str] | list[str]) -> npt.NDArray[np.float32]:
    """Bag of stemmed words hashed into 384 buckets, L2-normalized: shared words mean similar."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in words(text):
            stem = light_stem(word)
            if len(stem) < 3:
                continue
            bucket = int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=4).digest(), "little") % DIM
            out[i, bucket] += 1.0
        norm = float(np.linalg.norm(out[i]))
        if norm:
            out[i] /= norm
    return out


def catalog_settings(**curator: object) -> Settings:
    return Settings(
        brands=[BrandSettings(name="Andes Outdoor"), BrandSettings(name="Costa Surf")],
        products=[
            ProductSettings(name="Cumbre Trail Runner", brand="Andes Outdoor", line="footwear"),
            ProductSettings(name="Nube Rain Jacket", brand="Andes Outdoor", line="apparel"),
            ProductSettings(name="Ola Board", brand="Costa Surf", line="boards"),
        ],
        curator=CuratorSettings.model_validate(curator),
    )


@dataclass
class Spec:
    """One hand-made post and the scores a scorer would have given it."""

    key: str
    text: str
    platform: str = "x"
    author: str = "ana"
    followers: int = 1000
    hours_ago: float = 1.0
    brand: str | None = "Andes Outdoor"
    relevance: float = 0.8
    sentiment: str = "positive"
    content_types: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    engagement: float | None = 1.0
    spam: float = 0.0
    safety: dict[str, float] = field(default_factory=dict)
    product: str | None = None
    language: str = "en"
    title: str | None = None
    # The platform's safety flags (`models.CONTENT_FLAGS`), as collected.
    flags: tuple[str, ...] = ()


@dataclass
class Seeded:
    engine: Engine
    ids: dict[str, int]
    brands: dict[str, int]
    products: dict[str, int]


def seed(engine: Engine, specs: Sequence[Spec], settings: Settings | None = None) -> Seeded:
    settings = settings or catalog_settings()
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    with session_scope(engine) as session:
        brands = brand_ids(session)
        products = product_ids(session)
    for spec in specs:
        platform = Platform(spec.platform)
        post = NormalizedPost(
            platform=platform,
            external_id=spec.key,
            text=spec.text,
            title=spec.title,
            created_at=NOW - timedelta(hours=spec.hours_ago),
            author=NormalizedAuthor(platform, f"id-{spec.author}", spec.author, followers=spec.followers),
            lang=spec.language,
            metrics=PostMetrics(likes=10),
            media=tuple(
                NormalizedMedia(MediaType(m), f"https://media.example/{spec.key}/{i}.jpg")
                for i, m in enumerate(spec.media)
            ),
            content_flags=spec.flags,
        )
        with session_scope(engine) as session:
            upsert_posts(session, [post], brand_id=brands.get(spec.brand) if spec.brand else None, now=NOW)
    ids: dict[str, int] = {}
    with session_scope(engine) as session:
        for spec in specs:
            ids[spec.key] = post_id(session, platform=spec.platform, external_id=spec.key)
        vectors = tiny_encode([f"{s.title}\n{s.text}" if s.title else s.text for s in specs])
        save_scores(
            session,
            [
                {
                    "post_id": ids[s.key],
                    "model_version": "test-1",
                    "sentiment": s.sentiment,
                    "sentiment_probs": dict(SENTIMENT_PROBS[s.sentiment]),
                    "relevance": s.relevance,
                    "product_id": products.get(s.product) if s.product else None,
                    "product_confidence": 0.9 if s.product else None,
                    "content_types": list(s.content_types),
                    "language": s.language,
                    "safety": {"profanity": 0.0, "offensive": 0.0, "hate": 0.0, "adult": 0.0, **s.safety},
                    "spam": s.spam,
                    "engagement_rate": None,
                    "engagement_vs_median": s.engagement,
                    "embedding": vectors[i].tobytes(),
                    "scored_at": NOW,
                }
                for i, s in enumerate(specs)
            ],
        )
    return Seeded(engine, ids, brands, products)


def index_row(post_id: int, **overrides: object) -> IndexRow:
    """A plain approved library row for in-memory index tests; `overrides` set any other field."""
    values: dict[str, object] = {
        "post_id": post_id,
        "brand_id": 1,
        "platform": "x",
        "created_at": NOW,
        "language": "en",
        "sentiment": None,
        "scored_product_id": None,
        "content_mask": 0,
        "score": 0.0,
        "filtered": False,
        "duplicate": False,
        "item_updated_at": NOW,
        "queue_state": "approved",
        "rights_status": "none",
        "product_id": None,
        "post_updated_at": NOW,
        "embedding": None,
    }
    values.update(overrides)
    return IndexRow(**values)  # type: ignore[arg-type]
