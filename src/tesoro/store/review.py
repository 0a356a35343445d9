"""The review queue's reads and the coordinator's decisions, with an audit trail.

This is the small, direct version the web UI needs today: the queue ordered by
treasure score, each post's score explanation and its exact duplicates, and the
three writes of a review (a state, a product, a rights status). Every write
records who did it in `AuditLog` and in `CurationDecision` (which the feedback
ranker learns from) in the same transaction, so no decision is ever unexplained.
The curator's package may replace these functions with richer ones (near
duplicates, undo, bulk actions); the API calls only the names exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tesoro.store.browse import PostView, post_views
from tesoro.store.tables import (
    AuditLog,
    Author,
    CurationDecision,
    Post,
    Product,
    QueueState,
    RightsState,
    Score,
)

__all__ = [
    "Action",
    "DecisionResult",
    "Duplicate",
    "ExplanationPart",
    "QueueItem",
    "ReviewError",
    "assign_product",
    "count_queue",
    "decide",
    "list_queue",
    "set_rights",
]


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    FEATURE = "feature"
    ARCHIVE = "archive"
    RESET = "reset"


_TARGET = {
    Action.APPROVE: QueueState.APPROVED,
    Action.REJECT: QueueState.REJECTED,
    Action.FEATURE: QueueState.FEATURED,
    Action.ARCHIVE: QueueState.ARCHIVED,
    Action.RESET: QueueState.NEW,
}


class ReviewError(LookupError):
    """The post or product a decision names does not exist (or does not fit)."""


@dataclass(frozen=True, slots=True)
class ExplanationPart:
    """One ingredient of a post's ranking, as the coordinator sees it: which, how much, and why."""

    key: str
    value: float | None
    detail: str


@dataclass(frozen=True, slots=True)
class Duplicate:
    id: int
    platform: str
    handle: str
    url: str | None


@dataclass(frozen=True, slots=True)
class QueueItem:
    post: PostView
    explanation: tuple[ExplanationPart, ...]
    duplicates: tuple[Duplicate, ...]
    scored: bool


@dataclass(frozen=True, slots=True)
class DecisionResult:
    post_id: int
    from_state: str
    to_state: str


def _latest_scores(session: Session, post_ids: list[int]) -> dict[int, Score]:
    if not post_ids:
        return {}
    newest = (
        select(col(Score.post_id), func.max(col(Score.id)).label("score_id"))
        .where(col(Score.post_id).in_(post_ids))
        .group_by(col(Score.post_id))
        .subquery()
    )
    stmt = select(Score).join(newest, col(Score.id) == newest.c.score_id)
    return {s.post_id: s for s in session.exec(stmt)}


def _explain(score: Score, post: PostView) -> tuple[ExplanationPart, ...]:
    """The score set behind a post's rank, in the order a coordinator reads it."""
    parts: list[ExplanationPart] = []
    if score.relevance is not None:
        parts.append(
            ExplanationPart("relevance", round(score.relevance, 3), "how much it is about the brand")
        )
    if score.sentiment:
        prob = (score.sentiment_probs or {}).get(score.sentiment)
        parts.append(ExplanationPart("sentiment", None if prob is None else round(prob, 3), score.sentiment))
    if score.content_types:
        parts.append(ExplanationPart("content", None, ", ".join(score.content_types)))
    if post.media:
        parts.append(
            ExplanationPart("media", float(len(post.media)), ", ".join(sorted({m.type for m in post.media})))
        )
    if score.engagement_vs_median is not None:
        parts.append(
            ExplanationPart(
                "engagement", round(score.engagement_vs_median, 2), "engagement rate / platform median"
            )
        )
    unsafe = {k: v for k, v in (score.safety or {}).items() if v >= 0.5}
    if unsafe:
        top = max(unsafe, key=lambda k: unsafe[k])
        parts.append(ExplanationPart("safety", round(unsafe[top], 3), top))
    if score.spam is not None and score.spam >= 0.5:
        parts.append(ExplanationPart("spam", round(score.spam, 3), "looks like spam"))
    return tuple(parts)


def _duplicates(session: Session, posts: list[PostView]) -> dict[int, list[Duplicate]]:
    hashes = sorted({p.content_hash for p in posts if p.content_hash})
    if not hashes:
        return {}
    by_hash: dict[str, list[Duplicate]] = {}
    stmt = (
        sa_select(col(Post.id), col(Post.platform), col(Author.handle), col(Post.url), col(Post.content_hash))
        .join(Author, col(Author.id) == col(Post.author_id))
        .where(col(Post.content_hash).in_(hashes))
        .order_by(col(Post.created_at), col(Post.id))
    )
    for pid, platform, handle, url, content_hash in session.execute(stmt):
        by_hash.setdefault(content_hash, []).append(Duplicate(pid, platform, handle, url))
    return {
        p.id: [d for d in by_hash.get(p.content_hash or "", []) if d.id != p.id][:10]
        for p in posts
        if p.content_hash
    }


def _queue_where(state: str | None, brand_id: int | None) -> list[Any]:
    where: list[Any] = []
    if state is not None:
        where.append(col(Post.queue_state) == state)
    if brand_id is not None:
        where.append(col(Post.brand_id) == brand_id)
    return where


def list_queue(
    session: Session,
    *,
    state: str | None = QueueState.NEW.value,
    brand_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[QueueItem]:
    """The queue in review order: highest treasure score first, unscored posts last, newest first."""
    stmt = (
        select(Post)
        .where(*_queue_where(state, brand_id))
        .order_by(
            col(Post.treasure_score).desc().nulls_last(), col(Post.created_at).desc(), col(Post.id).desc()
        )
        .limit(limit)
        .offset(offset)
    )
    views = post_views(session, list(session.exec(stmt)))
    scores = _latest_scores(session, [v.id for v in views])
    dups = _duplicates(session, views)
    return [
        QueueItem(
            post=v,
            explanation=_explain(scores[v.id], v) if v.id in scores else (),
            duplicates=tuple(dups.get(v.id, ())),
            scored=v.id in scores,
        )
        for v in views
    ]


def count_queue(
    session: Session, *, state: str | None = QueueState.NEW.value, brand_id: int | None = None
) -> int:
    stmt = select(func.count()).select_from(Post).where(*_queue_where(state, brand_id))
    return int(session.exec(stmt).one())


def _post(session: Session, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise ReviewError(f"no post {post_id}")
    return post


def _record(
    session: Session,
    *,
    post: Post,
    action: str,
    actor: str,
    before: dict[str, Any],
    after: dict[str, Any],
    note: str | None,
    product_id: int | None,
    now: datetime,
) -> None:
    assert post.id is not None
    session.add(
        AuditLog(
            actor=actor,
            action=f"post.{action}",
            entity="post",
            entity_id=str(post.id),
            before=before,
            after=after,
            at=now,
        )
    )
    session.add(
        CurationDecision(
            post_id=post.id,
            action=action,
            from_state=before.get("queue_state"),
            to_state=after.get("queue_state"),
            product_id=product_id,
            note=note,
            actor=actor,
            decided_at=now,
        )
    )


def decide(
    session: Session,
    *,
    post_id: int,
    action: Action | str,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DecisionResult:
    """Move a post to the state `action` names; the same decision twice is recorded twice (who, when)."""
    action = Action(action)
    now = now or datetime.now(UTC)
    post = _post(session, post_id)
    before = post.queue_state
    post.queue_state = _TARGET[action].value
    post.updated_at = now
    session.add(post)
    _record(
        session,
        post=post,
        action=action.value,
        actor=actor,
        before={"queue_state": before},
        after={"queue_state": post.queue_state},
        note=note,
        product_id=post.product_id,
        now=now,
    )
    session.flush()
    return DecisionResult(post_id=post_id, from_state=before, to_state=post.queue_state)


def assign_product(
    session: Session, *, post_id: int, product_id: int | None, actor: str, now: datetime | None = None
) -> Post:
    """Tag a post with a product of its brand (or clear the tag with None)."""
    now = now or datetime.now(UTC)
    post = _post(session, post_id)
    if product_id is not None:
        product = session.get(Product, product_id)
        if product is None:
            raise ReviewError(f"no product {product_id}")
        if post.brand_id is not None and product.brand_id != post.brand_id:
            raise ReviewError(f"product {product.name!r} belongs to another brand")
    before = post.product_id
    post.product_id = product_id
    post.updated_at = now
    session.add(post)
    _record(
        session,
        post=post,
        action="assign_product",
        actor=actor,
        before={"product_id": before, "queue_state": post.queue_state},
        after={"product_id": product_id, "queue_state": post.queue_state},
        note=None,
        product_id=product_id,
        now=now,
    )
    session.flush()
    return post


def set_rights(
    session: Session, *, post_id: int, status: RightsState | str, actor: str, now: datetime | None = None
) -> Post:
    """Record the usage-rights status a coordinator obtained by hand (the gallery shows only 'granted')."""
    status = RightsState(status)
    now = now or datetime.now(UTC)
    post = _post(session, post_id)
    before = post.rights_status
    post.rights_status = status.value
    post.updated_at = now
    session.add(post)
    _record(
        session,
        post=post,
        action="set_rights",
        actor=actor,
        before={"rights_status": before, "queue_state": post.queue_state},
        after={"rights_status": status.value, "queue_state": post.queue_state},
        note=None,
        product_id=post.product_id,
        now=now,
    )
    session.flush()
    return post
