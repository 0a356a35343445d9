"""Shared by the curator benchmarks: simulator posts stored with synthetic score sets.

The scoring models are not needed to measure the curator, so each post gets the
scores a good scorer would give it, derived from what the simulator knows about
the post (its kind, product, language, metrics), with noise:

- relevance by kind (off-topic low, spam middling, UGC high), N(0, 0.08) noise;
- a "true" sentiment (complaints negative, 30 % of reviews negative, the rest
  positive) that the scorer reads correctly 90 % of the time;
- content types from the kind and the media, with 10 % of types missed;
- spam probability high for the spam kind, and 3 % of posts with profanity;
- engagement rate over the platform's median in this world;
- the product, matched correctly 85 % of the time;
- a 384-d unit embedding: directions for the kind, the product, the language,
  the sentiment and the platform, plus noise, so that posts about the same thing
  are close, as with a real sentence encoder.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select, tuple_
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.collector.models import (
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Platform,
    PostMetrics,
)
from tesoro.collector.simulator.world import SimPost, World, WorldSpec
from tesoro.settings import BrandSettings, CuratorSettings, ProductSettings, Settings
from tesoro.store.catalog import list_brands, list_products, sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import upsert_posts
from tesoro.store.scores import save_scores
from tesoro.store.tables import Post

__all__ = ["NOW", "Truth", "bench_settings", "generate", "store_world"]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DIM = 384
_KIND_TYPES = {
    "review": ["review"],
    "photo": ["photo"],
    "video": ["video"],
    "unboxing": ["unboxing"],
    "tutorial": ["tutorial"],
    "testimonial": ["testimonial"],
    "complaint": ["complaint"],
    "question": ["question"],
    "meme": ["meme"],
    "comparison": ["review"],
    "spam": [],
    "offtopic": [],
}
_RELEVANCE = {"offtopic": 0.08, "spam": 0.35, "question": 0.6, "meme": 0.55, "comparison": 0.65}


@dataclass(frozen=True, slots=True)
class Truth:
    """What the simulator knows about a post (the hidden coordinator reads this, the curator never)."""

    post_id: int
    kind: str
    product: str | None
    lang: str
    platform: str
    followers: int
    sentiment: str


def bench_settings() -> Settings:
    spec = WorldSpec()
    return Settings(
        brands=[BrandSettings(name=spec.brand, hashtags=list(spec.hashtags))],
        products=[
            ProductSettings(name=p.name, brand=spec.brand, aliases=list(p.aliases), line=p.line)
            for p in spec.products
        ],
        curator=CuratorSettings(),
    )


def generate(posts_per_platform: int, *, seed: int) -> list[SimPost]:
    """Posts of the four platforms spread over the 60 days before NOW (newest last)."""
    world = World(spec=WorldSpec(seed=seed))
    out: list[SimPost] = []
    step = timedelta(days=60) / max(posts_per_platform, 1)
    for i in range(posts_per_platform):
        out.extend(world.grow(1, now=NOW - timedelta(days=60) + step * i))
    return out


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(DIM)
    return v / np.linalg.norm(v)


def _normalized(post: SimPost) -> NormalizedPost:
    platform = Platform(post.platform)
    a = post.author
    return NormalizedPost(
        platform=platform,
        external_id=str(post.id),
        text=post.text,
        title=post.title,
        created_at=post.created_at,
        author=NormalizedAuthor(platform, str(a.id), a.handle, a.name, a.followers, a.following, a.verified),
        lang=post.lang,
        media=tuple(
            NormalizedMedia(MediaType(m.type), m.url, m.preview_url, m.width, m.height, m.duration_ms)
            for m in post.media
        ),
        metrics=PostMetrics(post.likes, post.reposts, post.replies, post.quotes, post.views),
        hashtags=post.hashtags,
    )


def store_world(engine: Engine, posts: Sequence[SimPost], *, seed: int, batch: int = 2000) -> list[Truth]:
    """Store the posts and one synthetic score set each; returns the truth per stored post id."""
    settings = bench_settings()
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    with session_scope(engine) as session:
        brand_id = list_brands(session)[0].id
        product_ids = {p.name: p.id for p in list_products(session)}
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    directions = {
        name: _unit(nprng)
        for name in [
            *_KIND_TYPES,
            *product_ids,
            "none",
            "en",
            "es",
            "positive",
            "negative",
            "neutral",
            "x",
            "reddit",
            "bluesky",
            "mastodon",
        ]
    }
    medians: dict[str, float] = {}
    for platform in ("x", "reddit", "bluesky", "mastodon"):
        rates = [_rate(p) for p in posts if p.platform == platform]
        medians[platform] = statistics.median(r for r in rates if r > 0) if any(rates) else 1.0
    truths: list[Truth] = []
    for start in range(0, len(posts), batch):
        chunk = posts[start : start + batch]
        with session_scope(engine) as session:
            upsert_posts(session, [_normalized(p) for p in chunk], brand_id=brand_id, now=NOW)
        with session_scope(engine) as session:
            keys = [(p.platform, str(p.id)) for p in chunk]
            ids = {
                (platform, ext): pid
                for pid, platform, ext in session.execute(
                    select(col(Post.id), col(Post.platform), col(Post.external_id)).where(
                        tuple_(col(Post.platform), col(Post.external_id)).in_(keys)
                    )
                )
            }
            rows = []
            for p in chunk:
                pid = ids[(p.platform, str(p.id))]
                truth_sentiment = (
                    "negative"
                    if p.kind == "complaint" or (p.kind == "review" and rng.random() < 0.3)
                    else "neutral"
                    if p.kind in ("question", "offtopic", "spam")
                    else "positive"
                )
                seen = (
                    truth_sentiment if rng.random() < 0.9 else rng.choice(["positive", "neutral", "negative"])
                )
                probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1}
                probs[seen] = 0.8
                types = [t for t in _KIND_TYPES[p.kind] if rng.random() > 0.1]
                product = p.product if rng.random() < 0.85 else rng.choice([None, *product_ids])
                spam = min(1.0, max(0.0, rng.gauss(0.85, 0.08))) if p.kind == "spam" else rng.random() * 0.1
                safety = {
                    "profanity": rng.choice([0.6, 1.0]) if rng.random() < 0.03 else 0.0,
                    "offensive": 0.0,
                }
                relevance = _RELEVANCE.get(p.kind, 0.75 + (0.1 if p.product else 0.0))
                vector = (
                    1.0 * directions[p.kind]
                    + 0.8 * directions[p.product or "none"]
                    + 0.5 * directions[p.lang]
                    + 0.4 * directions[truth_sentiment]
                    + 0.2 * directions[p.platform]
                    + 0.6 * _unit(nprng)
                )
                vector /= np.linalg.norm(vector)
                rows.append(
                    {
                        "post_id": pid,
                        "model_version": "bench-1",
                        "sentiment": seen,
                        "sentiment_probs": probs,
                        "relevance": min(1.0, max(0.0, relevance + rng.gauss(0, 0.08))),
                        "product_id": product_ids.get(product) if product else None,
                        "product_confidence": 0.8 if product else None,
                        "content_types": types,
                        "language": p.lang,
                        "safety": safety,
                        "spam": spam,
                        "engagement_rate": _rate(p),
                        "engagement_vs_median": _rate(p) / medians[p.platform],
                        "embedding": vector.astype(np.float32).tobytes(),
                        "scored_at": NOW,
                    }
                )
                truths.append(
                    Truth(pid, p.kind, p.product, p.lang, p.platform, p.author.followers, truth_sentiment)
                )
            save_scores(session, rows)
    return truths


def _rate(post: SimPost) -> float:
    interactions = post.likes + post.reposts + post.replies + post.quotes
    if post.views:
        return interactions / post.views
    return interactions / max(post.author.followers, 1)
