"""Counts for spike detection: posts per hour before a moment, where a scope's history starts,
and the posts of a window (a spike's samples).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, cast, exists, extract, func, literal, select
from sqlmodel import Session, col

from tesoro.store.alerts.facts import PostFacts, facts_of, posts_select, scoped
from tesoro.store.sql import table_of
from tesoro.store.tables import (
    Post,
    Score,
    UtcDateTime,
    as_utc,
)

__all__ = ["first_post_at", "hourly_counts", "posts_in_window"]

# Ids per statement (parameter lists stay under the backends' limits).
_CHUNK = 500


def _negative_now() -> Any:
    """The post's newest score set says "negative"."""
    newer = table_of(Score).alias("newer")
    return exists().where(
        col(Score.post_id) == col(Post.id),
        col(Score.sentiment) == "negative",
        ~exists().where(newer.c.post_id == col(Score.post_id), newer.c.id > col(Score.id)),
    )


def _hours_before(session: Session, now: datetime) -> Any:
    """Whole hours between a post's `created_at` and `now` (0: the hour that ends at `now`).

    Buckets are anchored at `now`, not at clock hours, so bucket 24·k is exactly the same
    stretch of time k days earlier: the daily-seasonal baseline needs no realignment.
    """
    if session.get_bind().dialect.name == "sqlite":
        # Stored as UTC wall-clock text (see `UtcDateTime`): compare with the same.
        stamp = as_utc(now).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        millis = func.round((func.julianday(stamp) - func.julianday(col(Post.created_at))) * 86_400_000.0)
        return cast(millis, Integer) / 3_600_000
    elapsed = literal(as_utc(now), UtcDateTime()) - col(Post.created_at)
    return cast(func.floor(extract("epoch", elapsed) / 3600), Integer)


def hourly_counts(
    session: Session,
    *,
    now: datetime,
    hours: int,
    brand_id: int | None = None,
    query_id: int | None = None,
    negative_only: bool = False,
) -> list[int]:
    """Posts per hour over the `hours` hours before `now`, oldest first (the last is the hour to `now`).

    Counted by the post's own time (`created_at`), grouped in the database; scoped to a
    brand, to the posts collected for a listening query, and/or to negative posts.
    """
    end = as_utc(now)
    start = end - timedelta(hours=hours)
    bucket = _hours_before(session, now).label("bucket")
    stmt = select(bucket, func.count()).where(col(Post.created_at) >= start, col(Post.created_at) < end)
    stmt = scoped(stmt, brand_id=brand_id, query_id=query_id)
    if negative_only:
        stmt = stmt.where(_negative_now())
    counts = [0] * hours
    for hours_ago, n in session.execute(stmt.group_by(bucket)):
        index = int(hours_ago)
        if 0 <= index < hours:
            counts[hours - 1 - index] += int(n)
    return counts


def first_post_at(
    session: Session,
    *,
    brand_id: int | None = None,
    query_id: int | None = None,
    negative_only: bool = False,
) -> datetime | None:
    """When the scope's history starts: hours before it are unknown, not zero."""
    stmt = scoped(select(func.min(col(Post.created_at))), brand_id=brand_id, query_id=query_id)
    if negative_only:
        stmt = stmt.where(_negative_now())
    return session.execute(stmt).scalar_one_or_none()


def posts_in_window(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    brand_id: int | None = None,
    query_id: int | None = None,
    negative_only: bool = False,
    limit: int = 500,
) -> list[PostFacts]:
    """Posts written in [start, end), most engaging first: a spike's samples and its top terms."""
    interactions = col(Post.likes) + col(Post.reposts) + col(Post.replies) + col(Post.quotes)
    stmt = scoped(posts_select(), brand_id=brand_id, query_id=query_id).where(
        col(Post.created_at) >= start, col(Post.created_at) < end
    )
    if negative_only:
        stmt = stmt.where(_negative_now())
    return facts_of(session, stmt.order_by(interactions.desc(), col(Post.id).desc()).limit(limit))
