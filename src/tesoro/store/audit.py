"""The audit log: who changed what, with the state before and after, for every coordinator action."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from tesoro.store.tables import AuditLog

__all__ = ["record_audit"]


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_id: str,
    before: Any,
    after: Any,
    entity: str = "person",
) -> None:
    """Add one audit entry, stamped now, in the caller's transaction (it commits with the change)."""
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            at=datetime.now(UTC),
        )
    )
