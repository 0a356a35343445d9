"""The review queue's workflow: states, decisions (single and bulk), products, tags, notes and undo.

States: `new` -> `approved` / `rejected` / `featured` / `archived`. Approved and
featured posts form the library; `reopen` sends a rejected or archived post back
to the queue. The allowed moves are in `TRANSITIONS`; anything else is refused
with the reason, because a silent no-op would leave a coordinator believing they
featured a post they had archived.

Every call is one transaction and one *batch*: a bulk action on 50 posts is one
batch, and `undo_last` reverts the actor's latest batch as a whole. A post is
restored only in the fields the batch changed and only if nobody changed them
since; otherwise it is reported as skipped, never overwritten.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from tesoro.store.curation import copies_of
from tesoro.store.decisions import (
    Reviewable,
    add_tags,
    batch_decisions,
    last_batch_id,
    mark_undone,
    post_brand,
    product,
    record_decision,
    remove_tags,
    reviewables,
    set_product,
    set_rights_status,
    set_state,
    suggested_products,
)
from tesoro.store.tables import QueueState, RightsState
from tesoro.store.versions import release_held

__all__ = [
    "TRANSITIONS",
    "Action",
    "BatchResult",
    "InvalidTransition",
    "NotFound",
    "Outcome",
    "QueueError",
    "UndoResult",
    "decide",
    "normalize_tag",
    "undo_last",
]


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    FEATURE = "feature"
    ARCHIVE = "archive"
    REOPEN = "reopen"
    TAG = "tag"
    ASSIGN_PRODUCT = "assign_product"
    NOTE = "note"
    SET_RIGHTS = "set_rights"


TARGET: dict[Action, QueueState] = {
    Action.APPROVE: QueueState.APPROVED,
    Action.REJECT: QueueState.REJECTED,
    Action.FEATURE: QueueState.FEATURED,
    Action.ARCHIVE: QueueState.ARCHIVED,
    Action.REOPEN: QueueState.NEW,
}

TRANSITIONS: dict[str, frozenset[str]] = {
    QueueState.NEW: frozenset(
        {QueueState.APPROVED, QueueState.REJECTED, QueueState.FEATURED, QueueState.ARCHIVED}
    ),
    QueueState.APPROVED: frozenset({QueueState.FEATURED, QueueState.REJECTED, QueueState.ARCHIVED}),
    QueueState.FEATURED: frozenset({QueueState.APPROVED, QueueState.REJECTED, QueueState.ARCHIVED}),
    QueueState.REJECTED: frozenset(
        {QueueState.APPROVED, QueueState.FEATURED, QueueState.ARCHIVED, QueueState.NEW}
    ),
    QueueState.ARCHIVED: frozenset({QueueState.NEW, QueueState.APPROVED, QueueState.FEATURED}),
}


class QueueError(Exception):
    """A decision that cannot be made; the message is for the coordinator."""


class NotFound(QueueError, LookupError):
    pass


class InvalidTransition(QueueError):
    pass


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one post; `problem` classifies a skip for HTTP status codes.

    problem: "not_found" (post or product), "invalid" (the transition or value is not
    allowed), "conflict" (someone changed it meanwhile) or "unchanged".
    """

    post_id: int
    applied: bool
    from_state: str | None = None
    to_state: str | None = None
    decision_id: int | None = None
    reason: str | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    batch_id: str
    action: str
    actor: str
    applied: list[Outcome] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)


_TAG_SPACE = re.compile(r"\s+")


def normalize_tag(tag: str) -> str:
    """Tags are labels, compared without case or extra spaces ('Summer  Trail' == 'summer trail')."""
    cleaned = _TAG_SPACE.sub(" ", tag).strip().casefold()
    if not cleaned:
        raise QueueError("a tag cannot be empty")
    if len(cleaned) > 64:
        raise QueueError(f"tag {cleaned[:20]!r}... is longer than 64 characters")
    return cleaned


def _check_product(session: Session, post_id: int, product_id: int) -> None:
    found = product(session, product_id=product_id)
    if found is None:
        raise NotFound(f"no product {product_id}")
    brand = post_brand(session, post_id=post_id)
    if brand is not None and found.brand_id != brand:
        raise QueueError(f"product {found.name!r} belongs to another brand than post {post_id}")


def decide(
    session: Session,
    *,
    post_ids: Sequence[int],
    action: Action | str,
    actor: str,
    note: str | None = None,
    product_id: int | None = None,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    rights: str | None = None,
    include_copies: bool = False,
    now: datetime | None = None,
) -> BatchResult:
    """Apply one action to one or many posts as a single batch (one undo step).

    `product_id` assigns a product (with any action; with `assign_product`, None clears
    it), `add`/`remove` change tags, `note` is kept on the decision, `rights` is the
    new status for `set_rights`. With `include_copies`, the duplicates of each post
    get the same decision (rejecting a spam group at once). Posts that cannot take
    the action are skipped with the reason; the rest are applied.

    Approving or featuring a post without a product confirms the scorer's suggested
    product, unless `product_id` names another one or a coordinator already decided
    the post's product (assigned or cleared it).

    The posts' rows are locked in id order before anything is read (see
    `tesoro.store.decisions.reviewables`), so concurrent batches over the same posts
    run one after the other; run it with `tesoro.store.engine.run_transaction` to
    retry the rare deadlock that other writers can still cause.
    """
    action = Action(action)
    if not actor.strip():
        raise QueueError("decisions need an actor (who decided)")
    adding = sorted({normalize_tag(t) for t in add})
    removing = sorted({normalize_tag(t) for t in remove} - set(adding))
    change = _Change(
        action=action,
        actor=actor,
        note=note,
        product_id=product_id,
        adding=tuple(adding),
        removing=tuple(removing),
        rights=rights,
        batch_id=uuid.uuid4().hex,
        now=now or datetime.now(UTC),
    )
    change.check()
    ids = list(dict.fromkeys(post_ids))
    if include_copies:
        for copies in copies_of(session, originals=ids).values():
            ids.extend(c.id for c in copies if c.id not in ids)
    current = reviewables(session, post_ids=ids, lock=True)
    # An approval confirms a suggested product; clearing the product declines it (a decision to record).
    confirms = (
        TARGET.get(action) in (QueueState.APPROVED, QueueState.FEATURED) or action == Action.ASSIGN_PRODUCT
    )
    suggested = suggested_products(session, post_ids=ids) if confirms and product_id is None else {}
    result = BatchResult(batch_id=change.batch_id, action=action.value, actor=actor)
    for post_id in ids:
        outcome = _apply(session, post_id, current.get(post_id), change, suggested.get(post_id))
        (result.applied if outcome.applied else result.skipped).append(outcome)
    session.flush()
    return result


@dataclass(frozen=True, slots=True)
class _Change:
    """One batch's request, the same for every post it touches."""

    action: Action
    actor: str
    note: str | None
    product_id: int | None
    adding: tuple[str, ...]
    removing: tuple[str, ...]
    rights: str | None
    batch_id: str
    now: datetime

    def check(self) -> None:
        """Refuse a request that is wrong whatever the post (before touching any)."""
        if self.note is not None and len(self.note) > 5000:
            raise QueueError("a note is at most 5,000 characters")
        if self.action == Action.TAG and not (self.adding or self.removing):
            raise QueueError("tag: give tags to add or remove")
        if self.action == Action.NOTE and not (self.note or "").strip():
            raise QueueError("note: the note is empty")
        if self.action == Action.SET_RIGHTS and self.rights not in {r.value for r in RightsState}:
            raise QueueError(f"rights status must be one of {', '.join(r.value for r in RightsState)}")


def _apply(
    session: Session, post_id: int, before: Reviewable | None, change: _Change, suggested: int | None = None
) -> Outcome:
    """Apply the batch's change to one post, or say why it was skipped (`suggested`: the scorer's
    product, which an approval confirms and clearing the product declines).

    State and rights are written only if they still hold the values read at the start
    (compare-and-set), so a decision made meanwhile by someone else is never overwritten.
    """
    if before is None:
        return Outcome(post_id, False, reason=f"no post {post_id}", problem="not_found")
    action = change.action
    try:
        after = _after(
            session,
            post_id,
            before,
            action,
            change.product_id
            if change.product_id is not None or action == Action.ASSIGN_PRODUCT
            else suggested,
            change.adding,
            change.removing,
            change.rights,
        )
    except QueueError as exc:
        problem = "not_found" if isinstance(exc, NotFound) else "invalid"
        return Outcome(post_id, False, before.queue_state, reason=str(exc), problem=problem)
    declined = action == Action.ASSIGN_PRODUCT and suggested is not None
    if after == before and action != Action.NOTE and not declined:
        return Outcome(
            post_id,
            False,
            before.queue_state,
            before.queue_state,
            reason="nothing to change",
            problem="unchanged",
        )
    conflict = Outcome(
        post_id, False, before.queue_state, reason="changed by someone else meanwhile", problem="conflict"
    )
    if after.queue_state != before.queue_state and not set_state(
        session, post_id=post_id, expected=before.queue_state, to=after.queue_state
    ):
        return conflict
    if after.queue_state != before.queue_state:
        # A decision judges the current version: an earlier approved one held for the gallery goes.
        release_held(session, post_id=post_id)
    if after.rights_status != before.rights_status and not set_rights_status(
        session, post_id=post_id, expected=before.rights_status, to=after.rights_status
    ):
        return conflict
    if after.product_id != before.product_id:
        set_product(session, post_id=post_id, product_id=after.product_id)
    if change.adding:
        add_tags(session, post_id=post_id, tags=change.adding)
    if change.removing:
        remove_tags(session, post_id=post_id, tags=change.removing)
    decision_id = record_decision(
        session,
        post_id=post_id,
        action=action.value,
        actor=change.actor,
        before=before,
        after=after,
        note=change.note,
        batch_id=change.batch_id,
        now=change.now,
    )
    return Outcome(post_id, True, before.queue_state, after.queue_state, decision_id)


def _after(
    session: Session,
    post_id: int,
    before: Reviewable,
    action: Action,
    product_id: int | None,
    adding: Sequence[str],
    removing: Sequence[str],
    rights: str | None,
) -> Reviewable:
    after = before
    target = TARGET.get(action)
    if target is not None:
        if target.value == before.queue_state:
            raise InvalidTransition(f"post {post_id} is already {target.value}")
        if target.value not in TRANSITIONS.get(before.queue_state, frozenset()):
            raise InvalidTransition(f"a {before.queue_state} post cannot be moved to {target.value}")
        after = replace(after, queue_state=target.value)
    if action == Action.SET_RIGHTS and rights is not None:
        after = replace(after, rights_status=rights)
    if product_id is not None:
        _check_product(session, post_id, product_id)
        after = replace(after, product_id=product_id)
    elif action == Action.ASSIGN_PRODUCT:
        after = replace(after, product_id=None)
    if adding or removing:
        tags = (set(before.tags) | set(adding)) - set(removing)
        after = replace(after, tags=tuple(sorted(tags)))
    return after


def _with(state: Reviewable, name: str, value: Any) -> Reviewable:
    if name == "queue_state":
        return replace(state, queue_state=str(value))
    if name == "rights_status":
        return replace(state, rights_status=str(value))
    return replace(state, product_id=None if value is None else int(value))


@dataclass(frozen=True, slots=True)
class UndoResult:
    batch_id: str | None
    action: str | None
    restored: list[Outcome] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)


def undo_last(session: Session, *, actor: str, now: datetime | None = None) -> UndoResult:
    """Revert the actor's latest batch that is not undone yet (see the module docstring)."""
    now = now or datetime.now(UTC)
    batch_id = last_batch_id(session, actor=actor)
    if batch_id is None:
        return UndoResult(None, None)
    decisions = batch_decisions(session, batch_id=batch_id)
    current = reviewables(session, post_ids=[d.post_id for d, _ in decisions], lock=True)
    result = UndoResult(batch_id, decisions[0][0].action if decisions else None)
    undo_batch = uuid.uuid4().hex
    for decision, change in decisions:
        assert decision.id is not None
        now_state = current.get(decision.post_id)
        if now_state is None:
            result.skipped.append(
                Outcome(decision.post_id, False, reason="the post no longer exists", problem="not_found")
            )
            continue
        before, after = change.before, change.after
        restored = now_state
        conflicts: list[str] = []
        for name in ("queue_state", "product_id", "rights_status"):
            if before.get(name) == after.get(name):
                continue
            if getattr(now_state, name) != after.get(name):
                conflicts.append(f"{name} changed since")
                continue
            restored = _with(restored, name, before.get(name))
        added = set(after.get("tags", ())) - set(before.get("tags", ()))
        removed = set(before.get("tags", ())) - set(after.get("tags", ()))
        tags = (set(restored.tags) - added) | removed
        restored = replace(restored, tags=tuple(sorted(tags)))
        if restored.queue_state != now_state.queue_state and not set_state(
            session,
            post_id=decision.post_id,
            expected=now_state.queue_state,
            to=restored.queue_state,
        ):
            conflicts.append("queue_state changed since")
            restored = replace(restored, queue_state=now_state.queue_state)
        if restored.rights_status != now_state.rights_status:
            set_rights_status(
                session, post_id=decision.post_id, expected=now_state.rights_status, to=restored.rights_status
            )
        if restored.product_id != now_state.product_id:
            set_product(session, post_id=decision.post_id, product_id=restored.product_id)
        if added & set(now_state.tags):
            remove_tags(session, post_id=decision.post_id, tags=added & set(now_state.tags))
        if removed - set(now_state.tags):
            add_tags(session, post_id=decision.post_id, tags=removed - set(now_state.tags))
        if restored != now_state:
            record_decision(
                session,
                post_id=decision.post_id,
                action="undo",
                actor=actor,
                before=now_state,
                after=restored,
                note=f"undo of {decision.action} (batch {batch_id})",
                batch_id=undo_batch,
                now=now,
            )
        outcome = Outcome(
            decision.post_id,
            restored != now_state,
            now_state.queue_state,
            restored.queue_state,
            decision.id,
            "; ".join(conflicts) or None,
            "conflict" if conflicts and restored == now_state else None,
        )
        (result.restored if outcome.applied else result.skipped).append(outcome)
    mark_undone(session, decision_ids=[d.id for d, _ in decisions if d.id is not None])
    session.flush()
    return result
