"""Fixtures for the alerts tests (the seeder lives in `worlds.alerts`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine

from tesoro.settings import Settings
from worlds.alerts import Seeder


@pytest.fixture
def seeder_for(sqlite_engine: Engine) -> Callable[[Settings], Seeder]:
    """A seeder over a fresh SQLite store, with the settings' catalog synced."""

    def build(settings: Settings, engine: Engine = sqlite_engine) -> Seeder:
        seeder = Seeder(engine, settings)
        seeder.sync()
        return seeder

    return build
