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

`store_world` stores posts the way collection does (`upsert_posts`, `save_scores`)
for `rank_posts` to rank. `load_library` is the bulk path for large benchmarks: it
streams the same simulator posts with the same kind of score sets, computes each
post's treasure score, content types and search document with the curator's own
functions (`score_treasure`, `content_types_of`, `search_document`) and appends
every row through `store.library.append_rows` (COPY on PostgreSQL). It does not
group duplicates (`rank_posts` does; the library search does not read the groups).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select, tuple_
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.curator.treasure import TreasureInputs, content_types_of, score_treasure
from tesoro.models import (
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Platform,
    PostMetrics,
    content_mask,
)
from tesoro.settings import BrandSettings, CuratorSettings, ProductSettings, Settings
from tesoro.simulator.model import SimPost, WorldSpec
from tesoro.simulator.world import World
from tesoro.store.catalog import list_brands, list_products, sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.library import append_rows
from tesoro.store.posts import content_hash, upsert_posts
from tesoro.store.scores import save_scores
from tesoro.store.tables import Post
from tesoro.text.search import search_document

__all__ = [
    "NOW",
    "PLATFORMS",
    "LoadReport",
    "Truth",
    "bench_settings",
    "generate",
    "load_library",
    "store_world",
]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# The four platforms the curator benchmarks were written for (the simulator grows six by default).
PLATFORMS = ("x", "reddit", "bluesky", "mastodon")
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
    return [p for chunk in generate_chunks(posts_per_platform, seed=seed) for p in chunk]


def generate_chunks(posts_per_platform: int, *, seed: int, chunk: int = 5000) -> Iterator[list[SimPost]]:
    """`generate`'s posts, `chunk` per platform at a time."""
    world = World(spec=WorldSpec(seed=seed))
    step = timedelta(days=60) / max(posts_per_platform, 1)
    for start in range(0, posts_per_platform, chunk):
        out: list[SimPost] = []
        for i in range(start, min(start + chunk, posts_per_platform)):
            out.extend(world.grow(1, platforms=PLATFORMS, now=NOW - timedelta(days=60) + step * i))
        yield out


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
    directions = _directions(nprng, {k: v for k, v in product_ids.items() if v is not None})
    medians = _medians(posts)
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
                row, truth_sentiment = _score_row(p, pid, rng, product_ids, medians)
                vector = (
                    1.0 * directions[p.kind]
                    + 0.8 * directions[p.product or "none"]
                    + 0.5 * directions[p.lang]
                    + 0.4 * directions[truth_sentiment]
                    + 0.2 * directions[p.platform]
                    + 0.6 * _unit(nprng)
                )
                vector /= np.linalg.norm(vector)
                row["embedding"] = vector.astype(np.float32).tobytes()
                rows.append(row)
                truths.append(
                    Truth(pid, p.kind, p.product, p.lang, p.platform, p.author.followers, truth_sentiment)
                )
            save_scores(session, rows)
    return truths


def _directions(nprng: np.random.Generator, product_ids: dict[str, int]) -> dict[str, np.ndarray]:
    names = [
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
    return {name: _unit(nprng) for name in names}


def _medians(posts: Sequence[SimPost]) -> dict[str, float]:
    medians: dict[str, float] = {}
    for platform in PLATFORMS:
        rates = [_rate(p) for p in posts if p.platform == platform]
        medians[platform] = statistics.median(r for r in rates if r > 0) if any(rates) else 1.0
    return medians


def _score_row(
    p: SimPost, pid: int, rng: random.Random, product_ids: dict[str, int], medians: dict[str, float]
) -> tuple[dict[str, Any], str]:
    """A synthetic score set for the post (no embedding yet) and its true sentiment."""
    truth_sentiment = (
        "negative"
        if p.kind == "complaint" or (p.kind == "review" and rng.random() < 0.3)
        else "neutral"
        if p.kind in ("question", "offtopic", "spam")
        else "positive"
    )
    seen = truth_sentiment if rng.random() < 0.9 else rng.choice(["positive", "neutral", "negative"])
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
    row = {
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
        "scored_at": NOW,
    }
    return row, truth_sentiment


@dataclass
class LoadReport:
    """What `load_library` did and how long each part took (seconds)."""

    posts: int = 0
    authors: int = 0
    media: int = 0
    seconds: dict[str, float] = field(
        default_factory=lambda: {"generate": 0.0, "score": 0.0, "rank": 0.0, "write": 0.0}
    )


def load_library(
    engine: Engine,
    posts_per_platform: int,
    *,
    seed: int,
    state_of: Callable[[int], tuple[str, str]],
    chunk: int = 5000,
    settings: CuratorSettings | None = None,
    on_progress: Callable[[LoadReport], None] | None = None,
) -> LoadReport:
    """Generate, score, rank and store `4 * posts_per_platform` posts in bulk (see the module docstring).

    `state_of(post_id)` gives each post's (queue state, rights status), as a
    coordinator would have left them. Posts, score sets and items share their ids.
    """
    curator = settings or CuratorSettings()
    with session_scope(engine) as session:
        sync_catalog(session, bench_settings())
    with session_scope(engine) as session:
        brand_id = list_brands(session)[0].id
        product_ids = {p.name: p.id for p in list_products(session) if p.id is not None}
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    directions = _directions(nprng, product_ids)
    names = list(directions)
    matrix = np.stack([directions[n] for n in names])
    position = {n: i for i, n in enumerate(names)}
    weights = {"kind": 1.0, "product": 0.8, "lang": 0.5, "sentiment": 0.4, "platform": 0.2}
    authors: dict[tuple[str, int], int] = {}
    medians: dict[str, float] | None = None
    report = LoadReport()
    clock = report.seconds
    next_id = 1
    chunks = generate_chunks(posts_per_platform, seed=seed, chunk=chunk)
    while True:
        started = time.perf_counter()
        posts = next(chunks, None)
        clock["generate"] += time.perf_counter() - started
        if posts is None:
            break
        started = time.perf_counter()
        if medians is None:  # engagement medians of the first chunk stand for the platform's
            medians = _medians(posts)
        ids = list(range(next_id, next_id + len(posts)))
        next_id += len(posts)
        scores: list[dict[str, Any]] = []
        parts: dict[str, list[int]] = {k: [] for k in weights}
        for p, pid in zip(posts, ids, strict=True):
            row, truth_sentiment = _score_row(p, pid, rng, product_ids, medians)
            row["id"] = pid
            scores.append(row)
            parts["kind"].append(position[p.kind])
            parts["product"].append(position[p.product or "none"])
            parts["lang"].append(position[p.lang])
            parts["sentiment"].append(position[truth_sentiment])
            parts["platform"].append(position[p.platform])
        noise = nprng.standard_normal((len(posts), DIM))
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        vectors = 0.6 * noise
        for part, weight in weights.items():
            vectors += weight * matrix[parts[part]]
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        blobs = vectors.astype(np.float32)
        for i, row in enumerate(scores):
            row["embedding"] = blobs[i].tobytes()
        clock["score"] += time.perf_counter() - started

        started = time.perf_counter()
        items: list[dict[str, Any]] = []
        written = datetime.now(UTC)
        for p, score in zip(posts, scores, strict=True):
            types = content_types_of(score["content_types"], [m.type for m in p.media])
            treasure = score_treasure(
                TreasureInputs(
                    created_at=p.created_at,
                    relevance=score["relevance"],
                    sentiment=score["sentiment"],
                    sentiment_probs=score["sentiment_probs"],
                    content_types=types,
                    engagement_vs_median=score["engagement_vs_median"],
                    relationship=None,
                    safety=score["safety"],
                    spam=score["spam"],
                ),
                curator,
                now=NOW,
            )
            items.append(
                {
                    "post_id": score["post_id"],
                    "brand_id": brand_id,
                    "platform": p.platform,
                    "created_at": p.created_at,
                    "language": score["language"] or p.lang or None,
                    "sentiment": score["sentiment"],
                    "product_id": score["product_id"],
                    "content_mask": content_mask(types),
                    "content_types": types,
                    "score": treasure.score,
                    "base_score": treasure.score,
                    "learned": None,
                    "components": treasure.as_json(),
                    "filtered": treasure.filtered,
                    "score_id": score["id"],
                    "doc": search_document(p.title, p.text),
                    "ranked_at": NOW,
                    "updated_at": written,
                }
            )
        clock["rank"] += time.perf_counter() - started

        started = time.perf_counter()
        author_rows: list[dict[str, Any]] = []
        post_rows: list[dict[str, Any]] = []
        media_rows: list[dict[str, Any]] = []
        for p, pid, item in zip(posts, ids, items, strict=True):
            a = p.author
            author_id = authors.get((p.platform, a.id))
            if author_id is None:
                author_id = authors[(p.platform, a.id)] = len(authors) + 1
                author_rows.append(
                    {
                        "id": author_id,
                        "platform": p.platform,
                        "external_id": str(a.id),
                        "handle": a.handle,
                        "display_name": a.name,
                        "followers": a.followers,
                        "following": a.following,
                        "verified": a.verified,
                        "gone": False,
                        "bio": a.bio,
                        "first_seen_at": NOW,
                        "updated_at": NOW,
                    }
                )
            state, rights = state_of(pid)
            post_rows.append(
                {
                    "id": pid,
                    "platform": p.platform,
                    "external_id": str(p.id),
                    "author_id": author_id,
                    "brand_id": brand_id,
                    "text": p.text,
                    "title": p.title,
                    "lang": p.lang,
                    "created_at": p.created_at,
                    "collected_at": NOW,
                    "updated_at": NOW,
                    "likes": p.likes,
                    "reposts": p.reposts,
                    "replies": p.replies,
                    "quotes": p.quotes,
                    "views": p.views,
                    "hashtags": list(p.hashtags),
                    "mentions": [],
                    "content_flags": list(p.flags),
                    "content_hash": content_hash(p.text),
                    "queue_state": state,
                    "rights_status": rights,
                    # The queue key `save_items` mirrors on the post: filtered posts sort below the rest.
                    "treasure_score": item["score"] - 1.0 if item["filtered"] else item["score"],
                    "version": 1,
                }
            )
            media_rows.extend(
                {
                    "post_id": pid,
                    "type": m.type,
                    "url": m.url,
                    "preview_url": m.preview_url,
                    "width": m.width,
                    "height": m.height,
                    "duration_ms": m.duration_ms,
                    "size_bytes": m.size_bytes,
                    "alt_text": m.alt_text,
                }
                for m in p.media
            )
        with session_scope(engine) as session:
            append_rows(session, "author", author_rows)
            append_rows(session, "post", post_rows)
            append_rows(session, "media", media_rows)
            append_rows(session, "score", scores)
            append_rows(session, "curation_item", items)
        clock["write"] += time.perf_counter() - started
        report.posts += len(posts)
        report.authors += len(author_rows)
        report.media += len(media_rows)
        if on_progress is not None:
            on_progress(report)
    return report


def _rate(post: SimPost) -> float:
    interactions = post.likes + post.reposts + post.replies + post.quotes
    if post.views:
        return interactions / post.views
    return interactions / max(post.author.followers, 1)
