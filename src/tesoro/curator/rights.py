"""Usage rights: a post's status (none / requested / granted / declined / expired / revoked).

A brand may only show a creator's post on its own site with the creator's
permission, so the gallery shows `granted` posts only (and only until their end date).
The request workflow (`rights_requests`) sets the status from the author's answers; a
coordinator can still set it by hand. Each change is a curation decision like any other:
audited (who, when, from what to what, with an optional note) and undoable with `undo_last`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from tesoro.curator.queue import Action, BatchResult, NotFound, QueueError, decide
from tesoro.store.decisions import DecisionRecord, decision_history
from tesoro.store.rights import set_rights_until
from tesoro.store.tables import RightsState

__all__ = ["RIGHTS_STATES", "RightsState", "on_rights_changed", "rights_history", "set_rights"]

RIGHTS_STATES: tuple[str, ...] = tuple(r.value for r in RightsState)


def set_rights(
    session: Session,
    *,
    post_ids: list[int],
    status: RightsState | str,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> BatchResult:
    """Set the rights status of one or more posts (one undo step); unknown posts are skipped."""
    value = str(status.value if isinstance(status, RightsState) else status).strip().lower()
    if value not in RIGHTS_STATES:
        raise QueueError(f"rights status must be one of {', '.join(RIGHTS_STATES)}, not {status!r}")
    result = decide(
        session, post_ids=post_ids, action=Action.SET_RIGHTS, actor=actor, note=note, rights=value, now=now
    )
    if len(post_ids) == 1 and not result.applied and result.skipped[0].reason == f"no post {post_ids[0]}":
        raise NotFound(f"no post {post_ids[0]}")
    on_rights_changed(session, post_ids=[o.post_id for o in result.applied], status=value)
    return result


def on_rights_changed(session: Session, *, post_ids: list[int], status: str) -> None:
    """Called whenever posts' rights status changes (by hand, by a reply, the consent page, expiry).

    The one place that follows a change of rights: rights that are no longer granted lose their
    end date (the receipt keeps it). Kept media copies hook here as well.
    """
    if status != RightsState.GRANTED.value:
        for post_id in post_ids:
            set_rights_until(session, post_id=post_id, until=None)


def rights_history(session: Session, *, post_id: int) -> list[DecisionRecord]:
    """Every rights change of a post, newest first."""
    return [d for d in decision_history(session, post_id=post_id, limit=500) if d.action == Action.SET_RIGHTS]
