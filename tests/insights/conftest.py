"""Fixtures for the insights tests: the hand-counted world of `worlds.insights` on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from worlds.insights import World, build_world, insights_settings


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    """The hand-counted world on each backend (SQLite, and PostgreSQL where it runs)."""
    return build_world(engine, insights_settings(tmp_path))


@pytest.fixture
def sqlite_world(sqlite_engine: Engine, tmp_path: Path) -> World:
    """The same world on SQLite only, for tests of behaviour that does not depend on the backend."""
    return build_world(sqlite_engine, insights_settings(tmp_path))
