"""Shared fixtures: the platform simulator and a clean network environment."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tesoro.collector.simulator.server import SimulatorServer
from tesoro.collector.simulator.state import SimState
from tesoro.collector.simulator.world import World, WorldSpec

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
