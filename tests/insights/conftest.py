"""Fixtures for the insights tests: the hand-counted world of `worlds.insights` on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tesoro.store.engine import make_engine
from tesoro.store.migrate import upgrade
from worlds.insights import World, build_world, insights_settings


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
