"""Ranked items: what to rank (posts with their latest score set), saving items, re-weighted scores.

The curator derives one `CurationItem` per scored post (`tesoro.curator.ranking`);
saving an item also mirrors its queue key on `post.treasure_score`: a filtered
post's key is its score minus 1, so any reader that orders posts by it (the
simple review screen included) shows every clean post first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    exists,
    func,
    or_,
    select,
)
from sqlmodel import Session, col

from tesoro.store.media import PostImage, post_images
from tesoro.store.sql import any_of, bulk_update, chunks, dialect_insert, table_of
from tesoro.store.tables import CurationItem, Media, MediaImage, MediaStatus, Post, Score

__all__ = [
    "RankInput",
    "count_items",
    "get_item",
    "latest_scores",
    "posts_to_rank",
    "rankable_ids",
    "save_items",
    "set_item_scores",
]


@dataclass(frozen=True, slots=True)
class RankInput:
    """One post with its latest score set: everything the treasure score and dedupe read."""

    post_id: int
    brand_id: int | None
    author_id: int
    platform: str
    created_at: datetime
    text: str
    title: str | None
    lang: str | None
    media_types: tuple[str, ...]
    score_id: int
    relevance: float | None
    sentiment: str | None
    sentiment_probs: dict[str, float] | None
    product_id: int | None
    content_types: tuple[str, ...]
    language: str | None
    safety: dict[str, float]
    spam: float | None
    engagement_vs_median: float | None
    embedding: bytes | None
    # The platform's safety flags, read from the post (not the score set): a flag set after scoring counts.
    content_flags: tuple[str, ...] = ()
    # Its processed images (hash, image group, photo quality), in media order.
    images: tuple[PostImage, ...] = ()


def rankable_ids(
    session: Session, *, after_id: int, limit: int, everything: bool = False, brand_id: int | None = None
) -> list[int]:
    """Ids of scored posts whose item is missing or older than their latest score set, in id order.

    Not the post's own `updated_at`: collection refreshes metrics all the time, and the
    treasure score reads engagement from the score set anyway. A post whose images the media
    stage processed after its ranking is due too (photo quality, image near-duplicates). With
    `everything`, every scored post (new weights, the daily recency refresh, an edited post's text).
    """
    has_score = exists().where(col(Score.post_id) == col(Post.id))
    stmt = (
        select(col(Post.id))
        .outerjoin(CurationItem, col(CurationItem.post_id) == col(Post.id))
        .where(col(Post.id) > after_id, has_score)
    )
    if brand_id is not None:
        stmt = stmt.where(col(Post.brand_id) == brand_id)
    if not everything:
        newer_score = exists().where(
            col(Score.post_id) == col(Post.id), col(Score.scored_at) > col(CurationItem.ranked_at)
        )
        # Images processed since the ranking: their quality and near-copies change the item.
        newer_image = exists().where(
            col(MediaImage.post_id) == col(Post.id),
            col(MediaImage.status) == MediaStatus.OK,
            col(MediaImage.processed_at) > col(CurationItem.ranked_at),
        )
        stmt = stmt.where(or_(col(CurationItem.post_id).is_(None), newer_score, newer_image))
    stmt = stmt.order_by(col(Post.id)).limit(limit)
    return [int(pid) for pid in session.execute(stmt).scalars()]


def latest_scores(session: Session, post_ids: Sequence[int]) -> Any:
    """Subquery: the score sets of `post_ids`, numbered per post from the most recent (n = 1)."""
    return (
        select(
            col(Score.id).label("score_id"),
            func.row_number()
            .over(
                partition_by=col(Score.post_id), order_by=(col(Score.scored_at).desc(), col(Score.id).desc())
            )
            .label("n"),
        )
        .where(any_of(session, col(Score.post_id), post_ids, element=Integer()))
        .subquery()
    )


def posts_to_rank(session: Session, *, post_ids: Sequence[int]) -> list[RankInput]:
    """The posts, each with its latest score set (most recently scored, any model version)."""
    if not post_ids:
        return []
    latest = latest_scores(session, post_ids)
    stmt: Any = (
        select(
            col(Post.id).label("post_id"),
            col(Post.brand_id),
            col(Post.author_id),
            col(Post.platform),
            col(Post.created_at),
            col(Post.text),
            col(Post.title),
            col(Post.lang),
            col(Post.content_flags),
            col(Score.id).label("score_id"),
            col(Score.relevance),
            col(Score.sentiment),
            col(Score.sentiment_probs),
            col(Score.product_id),
            col(Score.content_types),
            col(Score.language),
            col(Score.safety),
            col(Score.spam),
            col(Score.engagement_vs_median),
            col(Score.embedding),
        )
        .join(Score, col(Score.post_id) == col(Post.id))
        .join(latest, and_(latest.c.score_id == col(Score.id), latest.c.n == 1))
        .order_by(col(Post.id))
    )
    rows = session.execute(stmt).all()
    media: dict[int, list[str]] = {}
    for post_id, kind in session.execute(
        select(col(Media.post_id), col(Media.type))
        .where(any_of(session, col(Media.post_id), post_ids, element=Integer()))
        .order_by(col(Media.id))
    ):
        media.setdefault(post_id, []).append(kind)
    images = post_images(session, post_ids=post_ids)
    return [
        RankInput(
            post_id=r.post_id,
            brand_id=r.brand_id,
            author_id=r.author_id,
            platform=r.platform,
            created_at=r.created_at,
            text=r.text,
            title=r.title,
            lang=r.lang,
            media_types=tuple(media.get(r.post_id, ())),
            score_id=r.score_id,
            relevance=r.relevance,
            sentiment=r.sentiment,
            sentiment_probs=r.sentiment_probs,
            product_id=r.product_id,
            content_types=tuple(r.content_types or ()),
            language=r.language,
            safety=dict(r.safety or {}),
            spam=r.spam,
            engagement_vs_median=r.engagement_vs_median,
            embedding=r.embedding,
            content_flags=tuple(r.content_flags or ()),
            images=tuple(images.get(r.post_id, ())),
        )
        for r in rows
    ]


_ITEM_UPDATE = (
    "brand_id",
    "platform",
    "created_at",
    "language",
    "sentiment",
    "product_id",
    "content_mask",
    "content_types",
    "score",
    "base_score",
    "learned",
    "components",
    "filtered",
    "skeleton",
    "signature",
    "score_id",
    "doc",
    "ranked_at",
    "updated_at",
)


def _queue_key(score: float, filtered: str | None) -> float:
    return score - 1.0 if filtered else score


def save_items(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or refresh items (every column but `duplicate_of`) and mirror their queue key on the post."""
    if not rows:
        return 0
    table = table_of(CurationItem)
    stmt = dialect_insert(session, table)
    # RETURNING makes SQLAlchemy batch the rows into multi-row statements ("insertmanyvalues").
    stmt = stmt.on_conflict_do_update(
        index_elements=["post_id"], set_={name: getattr(stmt.excluded, name) for name in _ITEM_UPDATE}
    ).returning(table.c.post_id)
    connection = session.connection()
    for chunk in chunks(list(rows), 500):
        connection.execute(stmt, [dict(r) for r in chunk])
    _set_post_keys(session, [(int(r["post_id"]), float(r["score"]), r.get("filtered")) for r in rows])
    return len(rows)


def _set_post_keys(session: Session, keys: Sequence[tuple[int, float, str | None]]) -> None:
    bulk_update(
        session,
        table_name="post",
        key="id",
        columns={"treasure_score": "float"},
        rows=[{"id": pid, "treasure_score": _queue_key(score, filtered)} for pid, score, filtered in keys],
    )


def set_item_scores(session: Session, rows: Sequence[tuple[int, float, float | None, str | None]]) -> int:
    """Re-weighted scores from a retrained ranker: (post_id, score, learned, filtered) per item.

    Stamped with the real write time (never a caller's logical "now"): the library's
    index finds changed items by it.
    """
    if not rows:
        return 0
    written = datetime.now(UTC)
    bulk_update(
        session,
        table_name="curation_item",
        key="post_id",
        columns={"score": "float", "learned": "float", "updated_at": "ts"},
        rows=[
            {"post_id": pid, "score": s, "learned": learned, "updated_at": written}
            for pid, s, learned, _ in rows
        ],
    )
    _set_post_keys(session, [(pid, s, filtered) for pid, s, _, filtered in rows])
    return len(rows)


def get_item(session: Session, *, post_id: int) -> CurationItem | None:
    return session.get(CurationItem, post_id)


def count_items(session: Session, *, brand_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(CurationItem)
    if brand_id is not None:
        stmt = stmt.where(col(CurationItem.brand_id) == brand_id)
    return int(session.execute(stmt).scalar_one())
