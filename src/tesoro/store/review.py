"""The older review API's writes, as thin wrappers over the curator's workflow.

`POST /api/review/posts/{id}/decision|product|rights` predate the curator's API and
stay for integrations written against them. Each call here is one
`tesoro.curator.queue.decide` batch, so it follows the same state machine
(`tesoro.curator.queue.TRANSITIONS`: a refused move is an error, never a silent
overwrite), writes the same decision, undo record and audit entry, and can be
undone with `POST /api/curator/decisions/undo` by the same key. The older queue
read and search are retired (the API answers 410 Gone with their replacements).

Only the old request vocabulary is translated: `reset` is the curator's `reopen`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from tesoro.curator.queue import Action as CuratorAction
from tesoro.curator.queue import BatchResult, Outcome, QueueError
from tesoro.curator.queue import decide as curator_decide
from tesoro.store.tables import RightsState

__all__ = [
    "Action",
    "DecisionResult",
    "ReviewError",
    "assign_product",
    "decide",
    "set_rights",
]


class Action(StrEnum):
    """The decisions the older API accepts; each is a curator action (`RESET` is `reopen`)."""

    APPROVE = "approve"
    REJECT = "reject"
    FEATURE = "feature"
    ARCHIVE = "archive"
    REOPEN = "reopen"
    RESET = "reset"


_CURATOR_ACTION = {
    Action.APPROVE: CuratorAction.APPROVE,
    Action.REJECT: CuratorAction.REJECT,
    Action.FEATURE: CuratorAction.FEATURE,
    Action.ARCHIVE: CuratorAction.ARCHIVE,
    Action.REOPEN: CuratorAction.REOPEN,
    Action.RESET: CuratorAction.REOPEN,
}


class ReviewError(Exception):
    """A decision that was not applied; `problem` says why, as the curator's `Outcome` does.

    "not_found" (the post or product), "invalid" (a move the state machine refuses,
    a product of another brand), "conflict" (changed by someone else meanwhile),
    "unchanged" (nothing to change) or "bad_request" (the request itself is malformed).
    """

    def __init__(self, message: str, problem: str = "invalid") -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """What one applied decision did; `batch_id` and `decision_id` name it in the curator's log."""

    post_id: int
    from_state: str | None
    to_state: str | None
    batch_id: str
    decision_id: int | None


def _applied(result: BatchResult) -> DecisionResult:
    """The single post's outcome, or the reason it was skipped as a `ReviewError`."""
    if result.applied:
        o: Outcome = result.applied[0]
        return DecisionResult(o.post_id, o.from_state, o.to_state, result.batch_id, o.decision_id)
    skip = result.skipped[0]
    raise ReviewError(skip.reason or "not applied", skip.problem or "invalid")


def _run(apply: Callable[[], BatchResult]) -> DecisionResult:
    try:
        result = apply()
    except QueueError as exc:
        raise ReviewError(str(exc), "bad_request") from exc
    return _applied(result)


def decide(
    session: Session,
    *,
    post_id: int,
    action: Action | str,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DecisionResult:
    """Move a post to the state `action` names, as the curator's decision route does."""
    wanted = _CURATOR_ACTION[Action(action)]
    return _run(
        lambda: curator_decide(session, post_ids=[post_id], action=wanted, actor=actor, note=note, now=now)
    )


def assign_product(
    session: Session, *, post_id: int, product_id: int | None, actor: str, now: datetime | None = None
) -> DecisionResult:
    """Tag a post with a product of its brand (None clears the tag)."""
    return _run(
        lambda: curator_decide(
            session,
            post_ids=[post_id],
            action=CuratorAction.ASSIGN_PRODUCT,
            actor=actor,
            product_id=product_id,
            now=now,
        )
    )


def set_rights(
    session: Session,
    *,
    post_id: int,
    status: RightsState | str,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DecisionResult:
    """Record the usage-rights status obtained by hand (the gallery shows only 'granted')."""
    rights = RightsState(status).value
    return _run(
        lambda: curator_decide(
            session,
            post_ids=[post_id],
            action=CuratorAction.SET_RIGHTS,
            actor=actor,
            rights=rights,
            note=note,
            now=now,
        )
    )
