"""Repository functions of the coordinator's writes: states, products, tags, rights, notes, undo.

Every write changes `Post` (the source of truth other parts read), bumps
`post.updated_at` (the library's in-memory index follows changes by it) and is
recorded in the same transaction: a `CurationDecision` (what the ranker learns
from), a `CurationChange` (what undo needs: the fields before and after) and an
`AuditLog` row (who, when, what). State changes are optimistic: the row is only
updated if it is still in the state the coordinator saw, so two people deciding
the same post at once cannot silently overwrite each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlmodel import Session, col

from tesoro.store.audit import record_audit
from tesoro.store.sql import dialect_insert, table_of
from tesoro.store.tables import CurationChange, CurationDecision, CurationItem, Post, PostTag, Product

__all__ = [
    "DecisionRecord",
    "Reviewable",
    "add_tags",
    "batch_decisions",
    "decision_history",
    "last_batch_id",
    "mark_undone",
    "post_brand",
    "product",
    "record_decision",
    "remove_tags",
    "reviewables",
    "set_product",
    "set_rights_status",
    "set_state",
    "suggested_products",
    "tag_counts",
]


@dataclass(frozen=True, slots=True)
class Reviewable:
    """The fields of a post a coordinator changes (and undo restores)."""

    queue_state: str
    product_id: int | None
    rights_status: str
    tags: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "queue_state": self.queue_state,
            "product_id": self.product_id,
            "rights_status": self.rights_status,
            "tags": list(self.tags),
        }


def reviewables(session: Session, *, post_ids: Sequence[int], lock: bool = False) -> dict[int, Reviewable]:
    """The reviewable fields of the posts; with `lock`, their rows stay locked until the transaction ends.

    Locking takes every row in one statement in ascending id order (`SELECT ... ORDER BY id
    FOR UPDATE`), whatever order the caller listed them in: two coordinators deciding the
    same posts in opposite orders then queue one behind the other instead of deadlocking,
    and the second reads the first one's committed states. The tags are read after the
    lock, so they are current too. (SQLite has no row locks; its single writer and the
    compare-and-set writes below keep decisions apart there.)
    """
    if not post_ids:
        return {}
    stmt = select(col(Post.id), col(Post.queue_state), col(Post.product_id), col(Post.rights_status)).where(
        col(Post.id).in_(sorted(set(post_ids)))
    )
    if lock:
        stmt = stmt.order_by(col(Post.id)).with_for_update()
    rows = session.execute(stmt).all()
    tags: dict[int, list[str]] = {}
    for post_id, tag in session.execute(
        select(col(PostTag.post_id), col(PostTag.tag)).where(col(PostTag.post_id).in_(post_ids))
    ):
        tags.setdefault(post_id, []).append(tag)
    return {
        r.id: Reviewable(r.queue_state, r.product_id, r.rights_status, tuple(sorted(tags.get(r.id, ()))))
        for r in rows
    }


def suggested_products(session: Session, *, post_ids: Sequence[int]) -> dict[int, int]:
    """The scorer's product of each post that has no product yet and whose product nobody has decided.

    A post qualifies while no coordinator assigned or cleared its product (an
    `assign_product` decision that is not undone); the suggestion must belong to the
    post's brand. Approving such a post confirms the suggestion.
    """
    if not post_ids:
        return {}
    decided = (
        select(col(CurationDecision.id))
        .where(
            col(CurationDecision.post_id) == col(Post.id),
            col(CurationDecision.action) == "assign_product",
            col(CurationDecision.undone).is_(False),
        )
        .exists()
    )
    stmt = (
        select(col(Post.id), col(CurationItem.product_id))
        .join(CurationItem, col(CurationItem.post_id) == col(Post.id))
        .join(Product, col(Product.id) == col(CurationItem.product_id))
        .where(
            col(Post.id).in_(sorted(set(post_ids))),
            col(Post.product_id).is_(None),
            or_(col(Post.brand_id).is_(None), col(Post.brand_id) == col(Product.brand_id)),
            ~decided,
        )
    )
    return {int(pid): int(product_id) for pid, product_id in session.execute(stmt)}


def post_brand(session: Session, *, post_id: int) -> int | None:
    return session.execute(select(col(Post.brand_id)).where(col(Post.id) == post_id)).scalar_one_or_none()


def product(session: Session, *, product_id: int) -> Product | None:
    return session.get(Product, product_id)


def _wall_clock() -> datetime:
    """`post.updated_at` is always the real write time, whatever `now` a decision carries:
    the library's index finds changes by it, so a back-dated stamp would hide one."""
    return datetime.now(UTC)


def set_state(session: Session, *, post_id: int, expected: str, to: str) -> bool:
    """Move the post from `expected` to `to`; False (nothing written) if it is no longer in `expected`."""
    post = table_of(Post)
    result = session.execute(
        update(post)
        .where(post.c.id == post_id, post.c.queue_state == expected)
        .values(queue_state=to, updated_at=_wall_clock())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_rights_status(session: Session, *, post_id: int, expected: str, to: str) -> bool:
    post = table_of(Post)
    result = session.execute(
        update(post)
        .where(post.c.id == post_id, post.c.rights_status == expected)
        .values(rights_status=to, updated_at=_wall_clock())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_product(session: Session, *, post_id: int, product_id: int | None) -> None:
    post = table_of(Post)
    session.execute(
        update(post).where(post.c.id == post_id).values(product_id=product_id, updated_at=_wall_clock())
    )


def add_tags(session: Session, *, post_id: int, tags: Iterable[str]) -> None:
    rows = [{"post_id": post_id, "tag": t} for t in sorted(set(tags))]
    if rows:
        stmt = dialect_insert(session, table_of(PostTag)).on_conflict_do_nothing()
        session.connection().execute(stmt, rows)
        _touch(session, post_id)


def remove_tags(session: Session, *, post_id: int, tags: Iterable[str]) -> None:
    wanted = sorted(set(tags))
    if wanted:
        session.execute(delete(PostTag).where(col(PostTag.post_id) == post_id, col(PostTag.tag).in_(wanted)))
        _touch(session, post_id)


def _touch(session: Session, post_id: int) -> None:
    post = table_of(Post)
    session.execute(update(post).where(post.c.id == post_id).values(updated_at=_wall_clock()))


def record_decision(
    session: Session,
    *,
    post_id: int,
    action: str,
    actor: str,
    before: Reviewable,
    after: Reviewable,
    note: str | None,
    batch_id: str,
    now: datetime,
) -> int:
    """Write the decision, its undo record and its audit entry; returns the decision's id."""
    decision = CurationDecision(
        post_id=post_id,
        action=action,
        from_state=before.queue_state,
        to_state=after.queue_state if after.queue_state != before.queue_state else None,
        product_id=after.product_id,
        note=note,
        actor=actor,
        decided_at=now,
    )
    session.add(decision)
    session.flush()
    assert decision.id is not None
    session.add(
        CurationChange(
            decision_id=decision.id,
            batch_id=batch_id,
            actor=actor,
            before=before.as_json(),
            after=after.as_json(),
        )
    )
    record_audit(
        session,
        actor=actor,
        action=f"curation.{action}",
        entity="post",
        entity_id=str(post_id),
        before=before.as_json(),
        after={**after.as_json(), "note": note, "batch": batch_id, "decision_id": decision.id},
        at=now,
    )
    return decision.id


def last_batch_id(session: Session, *, actor: str) -> str | None:
    """The batch of the actor's most recent decision that is not undone (undo records excluded).

    Skipping the undo records makes repeated undo walk back through history, like
    Ctrl-Z, instead of redoing what was just undone.
    """
    stmt = (
        select(col(CurationChange.batch_id))
        .join(CurationDecision, col(CurationDecision.id) == col(CurationChange.decision_id))
        .where(
            col(CurationChange.actor) == actor,
            col(CurationDecision.undone).is_(False),
            col(CurationDecision.action) != "undo",
        )
        .order_by(col(CurationDecision.id).desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def batch_decisions(session: Session, *, batch_id: str) -> list[tuple[CurationDecision, CurationChange]]:
    stmt = (
        select(CurationDecision, CurationChange)
        .join(CurationChange, col(CurationChange.decision_id) == col(CurationDecision.id))
        .where(col(CurationChange.batch_id) == batch_id)
        .order_by(col(CurationDecision.id).desc())
    )
    return [(d, c) for d, c in session.execute(stmt).all()]


def mark_undone(session: Session, *, decision_ids: Sequence[int]) -> None:
    if decision_ids:
        table = table_of(CurationDecision)
        session.execute(update(table).where(table.c.id.in_(decision_ids)).values(undone=True))


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    id: int
    post_id: int
    action: str
    from_state: str | None
    to_state: str | None
    product_id: int | None
    note: str | None
    actor: str
    decided_at: datetime | None
    undone: bool
    batch_id: str | None


def decision_history(
    session: Session,
    *,
    post_id: int | None = None,
    actor: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DecisionRecord]:
    """Decisions, newest first (who decided what, when, and whether it was undone)."""
    stmt = select(CurationDecision, col(CurationChange.batch_id)).outerjoin(
        CurationChange, col(CurationChange.decision_id) == col(CurationDecision.id)
    )
    if post_id is not None:
        stmt = stmt.where(col(CurationDecision.post_id) == post_id)
    if actor is not None:
        stmt = stmt.where(col(CurationDecision.actor) == actor)
    stmt = stmt.order_by(col(CurationDecision.id).desc()).limit(limit).offset(offset)
    return [
        DecisionRecord(
            id=d.id or 0,
            post_id=d.post_id,
            action=d.action,
            from_state=d.from_state,
            to_state=d.to_state,
            product_id=d.product_id,
            note=d.note,
            actor=d.actor,
            decided_at=d.decided_at,
            undone=bool(d.undone),
            batch_id=batch,
        )
        for d, batch in session.execute(stmt).all()
    ]


def tag_counts(session: Session, *, brand_id: int | None = None, limit: int = 200) -> list[tuple[str, int]]:
    """Tags in use, most used first (for the tag picker's suggestions)."""
    stmt = select(col(PostTag.tag), func.count()).group_by(col(PostTag.tag))
    if brand_id is not None:
        stmt = stmt.join(Post, col(Post.id) == col(PostTag.post_id)).where(col(Post.brand_id) == brand_id)
    stmt = stmt.order_by(func.count().desc(), col(PostTag.tag)).limit(limit)
    return [(tag, int(n)) for tag, n in session.execute(stmt)]
