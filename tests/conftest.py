"""Shared fixtures: the platform simulator and a clean network environment."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.simulator.world import World, WorldSpec
from tesoro.store.engine import make_engine
from tesoro.store.migrate import upgrade

# The clients must reach the simulator directly, never through a proxy from the environment.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def sim_state() -> SimState:
    """An empty, seeded world; tests grow it or add hand-made posts."""
    return SimState(world=World(spec=WorldSpec(seed=11)), timeout_hold_s=1.5)


@pytest.fixture
def sim(sim_state: SimState) -> Iterator[SimulatorServer]:
    with SimulatorServer(sim_state) as server:
        yield server


# --- the store: a real SQLite file, and the real PostgreSQL where the machine runs one -------------

PG_ADMIN_URL = os.environ.get("TESORO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_engine() -> Iterator[Engine]:
    """A fresh database on the local server, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN_URL)
    name = f"tesoro_test_{uuid.uuid4().hex[:12]}"
    conninfo = f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    try:
        conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {admin.host}:{admin.port}: {exc}")
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(admin.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store on each backend: the same repository tests run on both."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'tesoro.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
    else:
        for eng in _postgres_engine():
            upgrade(eng)
            yield eng


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'tesoro.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()
