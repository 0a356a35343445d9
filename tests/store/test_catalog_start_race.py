"""Processes that start together sync the settings' catalog once, none of them failing (found by
bench/cluster.py: of two API processes started at once on a fresh PostgreSQL database, one exited with
a unique violation on the brand's name)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tesoro.settings import Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from worlds.common import eventually


def _settings(engine: Engine, tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "database": {"url": engine.url.render_as_string(hide_password=False)},
            "brands": [{"name": "Andes Outdoor"}],
            "products": [{"name": "Nube Rain Jacket", "brand": "Andes Outdoor", "aliases": ["nube"]}],
            "queries": [{"name": "andes", "brand": "Andes Outdoor", "query": "andes OR nube"}],
            "sources": [
                {
                    "name": "x-andes",
                    "platform": "x",
                    "query": "andes",
                    "credentials": {"bearer_token_env": "TESORO_X_BEARER_TOKEN"},
                }
            ],
        }
    )


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_process_whose_catalog_insert_lost_the_race_starts_anyway(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a cluster's processes share PostgreSQL; this race is tested there")
    settings = _settings(engine, tmp_path)
    failures: list[BaseException] = []

    def second_process() -> None:
        try:
            open_store(settings, migrate=False).dispose()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=second_process)
    with session_scope(engine) as first:  # the first process's start-up, inserted but not yet committed
        sync_catalog(first, settings)
        thread.start()

        # The second start's insert of the same brand waits on the unique index for the first's commit:
        # PostgreSQL shows that wait in pg_stat_activity, the only place another session's wait can be seen.
        def lock_waits() -> int:
            with engine.connect() as connection:
                return int(
                    connection.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                    ).scalar_one()
                )

        eventually(lock_waits, timeout=20, message="the second start never waited for the first's rows")
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert failures == []
    assert [_count(engine, t) for t in ("brand", "product", "listening_query", "source")] == [1, 1, 1, 1]
