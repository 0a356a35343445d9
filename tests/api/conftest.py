"""Fixtures for the API tests (the world they build is in `worlds.api`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import create_app
from tesoro.settings import Settings
from worlds.api import Seeded, make_settings, seed


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def seeded(sqlite_engine: Engine, api_settings: Settings) -> Seeded:
    return seed(sqlite_engine, api_settings)


@pytest.fixture
def client(sqlite_engine: Engine, api_settings: Settings, seeded: Seeded) -> Iterator[TestClient]:
    app = create_app(api_settings, sqlite_engine)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
