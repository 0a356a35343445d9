"""Start-up wiring shared by the CLI commands: settings -> engine -> schema -> catalog."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tesoro.settings import Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.migrate import upgrade

__all__ = ["open_store"]


def open_store(settings: Settings, *, migrate: bool = True) -> Engine:
    """The engine for the configured database, migrated to head and in sync with the settings.

    Migrating here keeps the embedded default a one-command start; in the scaled-out
    mode operators run `tesoro db upgrade` once and the upgrade here is a no-op.
    """
    engine = make_engine(
        settings.database_url, echo=settings.database.echo, busy_timeout_ms=settings.database.busy_timeout_ms
    )
    if migrate:
        upgrade(engine)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    return engine
