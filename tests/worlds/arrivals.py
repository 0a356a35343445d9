"""New posts arriving in a seeded store while the queue is open: collected, scored and ranked at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.engine import Engine

from tesoro.curator.ranking import rank_posts
from tesoro.models import NormalizedAuthor, NormalizedPost, Platform
from tesoro.settings import CuratorSettings
from tesoro.store.engine import session_scope
from tesoro.store.posts import upsert_posts
from tesoro.store.scores import save_scores
from worlds.api import BASE_TIME
from worlds.common import SENTIMENT_PROBS, post_id


def arrive(
    engine: Engine,
    brand_id: int,
    name: str,
    text: str,
    *,
    relevance: float = 0.9,
    platform: Platform = Platform.X,
    author: str = "newcomer",
    minutes: int = 0,
    spam: float = 0.0,
) -> int:
    """Store one post of the brand as a collector would, give it a score set and rank it; its id."""
    return arrive_many(
        engine,
        brand_id,
        [(name, text, relevance)],
        platform=platform,
        author=author,
        minutes=minutes,
        spam=spam,
    )[0]


def arrive_many(
    engine: Engine,
    brand_id: int,
    posts: Sequence[tuple[str, str, float]],
    *,
    platform: Platform = Platform.X,
    author: str = "newcomer",
    minutes: int = 0,
    spam: float = 0.0,
) -> list[int]:
    """Store (name, text, relevance) posts in one batch, score and rank them once; their ids in order."""
    normalized = [
        NormalizedPost(
            platform=platform,
            external_id=name,
            text=text,
            created_at=BASE_TIME + timedelta(minutes=minutes),
            author=NormalizedAuthor(
                platform=platform, external_id=f"{platform.value}-{author}", handle=author
            ),
            url=f"https://example.com/{platform.value}/{name}",
        )
        for name, text, _ in posts
    ]
    with session_scope(engine) as session:
        upsert_posts(session, normalized, brand_id=brand_id)
        ids = [post_id(session, platform=platform.value, external_id=name) for name, _, _ in posts]
        save_scores(
            session,
            [
                {
                    "post_id": pid,
                    "model_version": "api-test-1",
                    "sentiment": "positive",
                    "sentiment_probs": dict(SENTIMENT_PROBS["positive"]),
                    "relevance": relevance,
                    "content_types": [],
                    "language": "en",
                    "safety": {"profanity": 0.0, "offensive": 0.0, "hate": 0.0, "adult": 0.0},
                    "spam": spam,
                    "engagement_vs_median": 1.0,
                    "scored_at": BASE_TIME,
                }
                for pid, (_, _, relevance) in zip(ids, posts, strict=True)
            ],
        )
    rank_posts(engine, CuratorSettings(), now=BASE_TIME)
    return ids
