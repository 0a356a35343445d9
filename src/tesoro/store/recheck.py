"""The gallery re-check: which public posts to ask their platform about, and what it answered.

X, Mastodon and Bluesky never say during search that a post is gone, so a deleted post would
stay in the gallery forever. The re-check job (`jobs.tasks.recheck_gallery_job`) asks each
platform, a bounded number of posts per run, oldest-checked first; a post the platform no longer
has is marked deleted (`versions.mark_deleted`) with an audit entry, and every post it answered
for gets `checked_at`. A post whose lookup failed keeps its old `checked_at` and comes first
again next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, update
from sqlmodel import Session, col, or_, select

from tesoro.store.audit import record_audit
from tesoro.store.posts import GALLERY_STATES
from tesoro.store.sql import any_of, chunks, table_of
from tesoro.store.tables import Post, RightsState
from tesoro.store.versions import COLLECTOR_ACTOR, mark_deleted

__all__ = ["RecheckItem", "mark_gone", "posts_to_recheck", "record_checked"]

_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class RecheckItem:
    id: int
    external_id: str


def posts_to_recheck(session: Session, *, source_id: int, limit: int) -> list[RecheckItem]:
    """Up to `limit` gallery-visible posts collected by one source (approved or featured, or serving
    a held approved version, with rights granted, not deleted), never checked first, then oldest
    checked. By source, because only the source that found a post can ask about it: a Mastodon
    status id means something on its own instance only."""
    if limit <= 0:
        return []
    stmt = (
        select(col(Post.id), col(Post.external_id))
        .where(
            col(Post.source_id) == source_id,
            or_(col(Post.queue_state).in_(GALLERY_STATES), col(Post.held_version).is_not(None)),
            col(Post.rights_status) == RightsState.GRANTED.value,
            col(Post.deleted_at).is_(None),
        )
        .order_by(col(Post.checked_at).asc().nulls_first(), col(Post.id))
        .limit(limit)
    )
    return [RecheckItem(int(r.id), r.external_id) for r in session.execute(stmt)]


def record_checked(session: Session, *, post_ids: Sequence[int], now: datetime) -> None:
    """The platform answered for these posts at `now`."""
    post = table_of(Post)
    for chunk in chunks(sorted(set(post_ids)), _CHUNK):
        session.execute(
            update(post).where(any_of(session, post.c.id, chunk, element=Integer())).values(checked_at=now)
        )


def mark_gone(
    session: Session, *, platform: str, items: Sequence[RecheckItem], now: datetime, reason: str
) -> int:
    """The platform no longer has these posts: each leaves the gallery, with an audit entry saying why."""
    if not items:
        return 0
    marked = 0
    for item in items:
        if mark_deleted(session, platform=platform, external_ids=[item.external_id], now=now):
            marked += 1
            record_audit(
                session,
                actor=COLLECTOR_ACTOR,
                action="post_deleted_on_platform",
                entity="post",
                entity_id=str(item.id),
                before={"deleted_at": None},
                after={"deleted_at": now.isoformat(), "reason": reason},
                at=now,
            )
    return marked
