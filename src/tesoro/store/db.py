"""Start-up wiring shared by the CLI commands: settings -> engine -> schema -> catalog."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError

from tesoro.settings import Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.migrate import upgrade

__all__ = ["DatabaseUnavailable", "connect_or_raise", "open_store"]


class DatabaseUnavailable(Exception):
    """The configured database cannot be opened; the message says which one, why, and what to do."""


def _shown(url: str) -> str:
    """The URL with its password hidden (or the raw text when it does not even parse)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def _advice(reason: str, url: str) -> str:
    lowered = reason.lower()
    if url.startswith("sqlite"):
        return "check that the folder of [database] path exists and is writable"
    if "does not exist" in lowered and "database" in lowered:
        return "create that database (createdb) or fix [database] url"
    if "password" in lowered or "authentication" in lowered or "role" in lowered:
        return "check the user and password in [database] url"
    if "refused" in lowered or "timeout" in lowered or "timed out" in lowered:
        return "start PostgreSQL there or fix the host and port in [database] url"
    if "resolve" in lowered or "translate host" in lowered or "name or service" in lowered:
        return "fix the host name in [database] url"
    return "check [database] url and that the database server is running"


def _reason(exc: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's wrapping and background link."""
    origin = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(origin).splitlines() if line.strip()]
    return lines[0] if lines else type(origin).__name__


def connect_or_raise(url: str, *, echo: bool = False, busy_timeout_ms: int = 5000) -> Engine:
    """An engine whose database answered one query; else `DatabaseUnavailable` in one line.

    Called before migrating, so a database that is down, misnamed or refuses the
    login says so plainly instead of failing deep inside Alembic.
    """
    try:
        engine = make_engine(url, echo=echo, busy_timeout_ms=busy_timeout_ms)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (ArgumentError, NoSuchModuleError) as exc:
        raise DatabaseUnavailable(
            f"the database URL {_shown(url)} is not valid ({_reason(exc)}); fix [database] url"
        ) from exc
    except (DBAPIError, OSError) as exc:
        reason = _reason(exc)
        raise DatabaseUnavailable(
            f"cannot open the database {_shown(url)}: {reason}; {_advice(reason, url)}"
        ) from exc
    return engine


def open_store(settings: Settings, *, migrate: bool = True) -> Engine:
    """The engine for the configured database, migrated to head and in sync with the settings.

    Migrating here keeps the embedded default a one-command start; in the scaled-out
    mode operators run `tesoro db upgrade` once and the upgrade here is a no-op.
    Raises `DatabaseUnavailable` (one line, with what to do) when the database cannot be reached.
    """
    engine = connect_or_raise(
        settings.database_url, echo=settings.database.echo, busy_timeout_ms=settings.database.busy_timeout_ms
    )
    if migrate:
        upgrade(engine)
    # Processes started together (a cluster's API processes, schedulers and workers on a fresh database,
    # or after a brand was added to the file) may insert the same brand, product, query or source at
    # once; the loser of that race reads the winner's rows and updates them instead of failing.
    for attempt in range(3):
        try:
            with session_scope(engine) as session:
                sync_catalog(session, settings)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    return engine
