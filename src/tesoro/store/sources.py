"""Repository functions for collection sources: cursors and health.

A cursor is saved in the same transaction as the posts it covers (the caller's
session), so a crash between pages neither loses nor duplicates posts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from tesoro.store.tables import Source, SourceHealth

__all__ = [
    "get_source",
    "list_sources",
    "record_failure",
    "record_quota_wait",
    "record_rate_limit",
    "record_success",
    "record_token_expiry",
    "save_cursor",
    "save_plan",
]

# After this many failed runs in a row a degraded source is reported as failing.
FAILING_AFTER = 3


def get_source(session: Session, name: str) -> Source | None:
    return session.exec(select(Source).where(col(Source.name) == name)).one_or_none()


def list_sources(session: Session, *, enabled_only: bool = False) -> list[Source]:
    stmt = select(Source).order_by(col(Source.name))
    if enabled_only:
        stmt = stmt.where(col(Source.enabled).is_(True))
    return list(session.exec(stmt))


def save_cursor(session: Session, *, source_id: int, cursor: dict[str, Any] | None, collected: int) -> None:
    source = session.get(Source, source_id)
    if source is None:
        raise LookupError(f"source {source_id} does not exist")
    source.cursor = cursor
    source.posts_collected += collected
    session.add(source)


def record_success(session: Session, *, source_id: int, at: datetime) -> None:
    source = _require(session, source_id)
    source.health = SourceHealth.OK.value
    source.last_run_at = at
    source.last_success_at = at
    source.last_error = None
    source.consecutive_failures = 0
    source.next_allowed_at = None
    session.add(source)


def record_failure(
    session: Session, *, source_id: int, at: datetime, error: str, retry_at: datetime | None = None
) -> None:
    source = _require(session, source_id)
    source.consecutive_failures += 1
    source.health = (
        SourceHealth.FAILING if source.consecutive_failures >= FAILING_AFTER else SourceHealth.DEGRADED
    ).value
    source.last_run_at = at
    source.last_error = error[:2000]
    source.next_allowed_at = retry_at
    session.add(source)


def record_rate_limit(
    session: Session, *, source_id: int, at: datetime, retry_at: datetime, error: str
) -> None:
    """A 429 is not the source's fault: degraded until the platform's reset, never 'failing'."""
    source = _require(session, source_id)
    source.health = SourceHealth.DEGRADED.value
    source.last_run_at = at
    source.last_error = error[:2000]
    source.next_allowed_at = retry_at
    session.add(source)


def _require(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise LookupError(f"source {source_id} does not exist")
    return source


def record_quota_wait(session: Session, *, source_id: int, at: datetime, until: datetime, note: str) -> None:
    """The run spent the budget: it stopped cleanly and the source waits for the reset (not a failure)."""
    source = _require(session, source_id)
    source.last_run_at = at
    source.last_success_at = at
    source.health = SourceHealth.OK.value
    source.last_error = None
    source.consecutive_failures = 0
    source.next_allowed_at = until
    source.planned_run_at = until
    source.plan_note = note[:2000]
    session.add(source)


def save_plan(session: Session, *, source_id: int, run_at: datetime | None, note: str | None) -> None:
    """The scheduler's decision for the source: the next run it allows and why."""
    source = _require(session, source_id)
    source.planned_run_at = run_at
    source.plan_note = note[:2000] if note else None
    session.add(source)


def record_token_expiry(session: Session, *, source_id: int, expires_at: datetime | None) -> None:
    """When the token the source's collector ran with expires (None: it did not say)."""
    source = _require(session, source_id)
    source.token_expires_at = expires_at
    session.add(source)
