"""Engines and sessions: SQLite (WAL, busy timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

__all__ = ["is_transient", "make_engine", "run_transaction", "session_scope"]

T = TypeVar("T")

# How much of a SQLite file reads may map into memory (address space, not memory: the pages are the
# operating system's cache, shared by every connection).
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def make_engine(url: str, *, echo: bool = False, busy_timeout_ms: int = 5000) -> Engine:
    """Create the engine for `url`; for SQLite, make the folder and set the pragmas we rely on.

    WAL lets the API read while the collector writes; the busy timeout turns a
    momentary write lock into a short wait instead of an error. Reads go through a
    memory map of up to `SQLITE_MMAP_BYTES` of the file (the operating system's page
    cache, shared by every connection and process) instead of a read call per page:
    the review queue's count over its new posts, which looks up one wide ranked
    item per post, took half the time with it at 100,000 posts (`bench/api.py`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            cursor.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# PostgreSQL's serialization failure and deadlock: the transaction lost a race and may simply run again.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(exc: BaseException) -> bool:
    """A failure that running the same transaction again can fix (a deadlock, a serialization
    failure, SQLite's write lock still held when the busy timeout ran out)."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


def run_transaction(
    engine: Engine, work: Callable[[Session], T], *, attempts: int = 5, backoff_s: float = 0.05
) -> T:
    """Run `work` in one transaction, again (at most `attempts` times in all) when it fails transiently.

    `work` must keep all its effects inside the session: a failed attempt is rolled back
    whole before the next one starts, after a short randomized pause. The last
    failure is raised as it is.
    """
    for attempt in range(1, attempts + 1):
        try:
            with session_scope(engine) as session:
                return work(session)
        except DBAPIError as exc:
            if attempt >= attempts or not is_transient(exc):
                raise
            time.sleep(backoff_s * 2 ** (attempt - 1) * (0.5 + random.random()))
    raise AssertionError("unreachable: the last attempt returns or raises")
