"""The audit log: who changed what, with the state before and after, for every coordinator action.

One writer for every area (decisions, identities, logged events) so entries share one shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from tesoro.store.tables import AuditLog

__all__ = ["audit_entries", "record_audit"]


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_id: str,
    before: Any,
    after: Any,
    entity: str = "person",
    at: datetime | None = None,
) -> None:
    """Add one audit entry (at `at`, else now) in the caller's transaction: it commits with the change."""
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            at=at or datetime.now(UTC),
        )
    )


def audit_entries(
    session: Session, *, entity: str = "post", entity_id: str | None = None, limit: int = 100
) -> list[AuditLog]:
    """An entity's audit entries, newest first."""
    stmt = select(AuditLog).where(col(AuditLog.entity) == entity)
    if entity_id is not None:
        stmt = stmt.where(col(AuditLog.entity_id) == entity_id)
    stmt = stmt.order_by(col(AuditLog.id).desc()).limit(limit)
    return list(session.execute(stmt).scalars())
