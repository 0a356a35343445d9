"""What the operations surfaces read from the store: readiness and the figures behind /metrics."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, col, select

from tesoro.store.tables.catalog import Source

__all__ = ["ping", "posts_collected_by_source"]


def ping(session: Session) -> None:
    """One round trip; raises the driver's error when the database does not answer."""
    session.execute(text("SELECT 1"))


def posts_collected_by_source(session: Session) -> dict[str, int]:
    """Every stored source's running total of posts collected, by source name."""
    stmt = select(col(Source.name), col(Source.posts_collected))
    return {name: int(n or 0) for name, n in session.execute(stmt)}
