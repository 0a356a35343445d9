"""What the operations surfaces read from the store: readiness and the figures behind /metrics."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from tesoro.store.tables.catalog import Source

__all__ = [
    "advisory_lock_holder",
    "holds_advisory_lock",
    "ping",
    "posts_collected_by_source",
    "try_advisory_lock",
]


def ping(session: Session) -> None:
    """One round trip; raises the driver's error when the database does not answer."""
    session.execute(text("SELECT 1"))


def posts_collected_by_source(session: Session) -> dict[str, int]:
    """Every stored source's running total of posts collected, by source name."""
    stmt = select(col(Source.name), col(Source.posts_collected))
    return {name: int(n or 0) for name, n in session.execute(stmt)}


def try_advisory_lock(connection: Connection, key: int) -> bool:
    """Take PostgreSQL's session-level advisory lock `key` on this connection, without waiting."""
    return bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())


def holds_advisory_lock(connection: Connection, key: int) -> bool:
    """Whether this connection's session still holds advisory lock `key` (raises if the connection died)."""
    stmt = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = :key "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return bool(connection.execute(stmt, {"key": key}).scalar())


def advisory_lock_holder(connection: Connection, key: int) -> str | None:
    """The application_name of the session holding advisory lock `key`, if one does."""
    stmt = text(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    value = connection.execute(stmt, {"key": key}).scalar()
    return None if value is None else str(value)
