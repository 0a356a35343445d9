"""Fixtures for the alerts tests (helpers live in alert_fixtures.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alert_fixtures import Seeder
from sqlalchemy.engine import Engine

from tesoro.settings import Settings


@pytest.fixture
def seeder_for(sqlite_engine: Engine) -> Callable[[Settings], Seeder]:
    """A seeder over a fresh SQLite store, with the settings' catalog synced."""

    def build(settings: Settings, engine: Engine = sqlite_engine) -> Seeder:
        seeder = Seeder(engine, settings)
        seeder.sync()
        return seeder

    return build
