"""Fixtures for the insights tests: the hand-counted world of `insights_world.py` on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from insights_world import World, build_world, insights_settings
from sqlalchemy.engine import Engine

from tesoro.store.engine import make_engine
from tesoro.store.migrate import upgrade


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    """The hand-counted world on each backend (SQLite, and PostgreSQL where it runs)."""
    return build_world(engine, insights_settings(tmp_path))


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[World]:
    eng = make_engine(f"sqlite:///{tmp_path / 'insights.db'}")
    upgrade(eng)
    yield build_world(eng, insights_settings(tmp_path))
    eng.dispose()
