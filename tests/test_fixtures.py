"""The store fixtures keep their contract: every test gets its own migrated, empty store.

The stores are copies of one template migrated per test run (tests/conftest.py). These tests
catch a template that is not at head, a copy that carries rows, and two tests sharing a store,
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from tesoro.store.engine import make_engine, session_scope
from tesoro.store.migrate import current_revision, head_revision
from tesoro.store.tables import Brand


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def test_the_store_is_at_head_and_empty(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert {name: n for name, n in _row_counts(engine).items() if n} == {}


@pytest.mark.parametrize("turn", ["first", "second"])
def test_no_two_tests_share_a_store(engine: Engine, turn: str) -> None:
    # Whichever turn runs second (on this worker or another) would see the other's brand if
    # the copies were one store.
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(Brand)).scalar_one() == 0
        session.add(Brand(name=f"written by the {turn} turn"))


def test_a_copy_at_a_settings_path_is_migrated(
    migrated_sqlite: Callable[[Path], Path], tmp_path: Path
) -> None:
    path = migrated_sqlite(tmp_path / "nested" / "store.db")
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
