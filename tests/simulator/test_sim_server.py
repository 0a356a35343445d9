"""The simulator server: its `/_sim/*` control routes and the optional live growth of the world."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tesoro.simulator.model import PLATFORMS, WorldSpec
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.simulator.world import World
from worlds.common import eventually, stays


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5) as client:
        yield client


def test_control_routes_grow_inject_and_report(sim: SimulatorServer, http: httpx.Client) -> None:
    grown = http.post(f"{sim.base_url}/_sim/grow", params={"n": 2})
    assert grown.json() == {"added": 2 * len(PLATFORMS), "total": 2 * len(PLATFORMS)}
    assert len(sim.state.world) == 2 * len(PLATFORMS)

    injected = http.post(f"{sim.base_url}/_sim/faults", params={"route": "slack.post", "fault": "429"})
    assert injected.json() == {"ok": True}
    limited = http.post(
        f"{sim.base_url}/slack/api/chat.postMessage", json={"channel": "C0123456789", "text": "x"}
    )
    assert limited.status_code == 429 and limited.headers["retry-after"] == "0"

    stats = http.get(f"{sim.base_url}/_sim/stats").json()
    assert stats == {"total": 2 * len(PLATFORMS), "calls": {"slack.post": 1}}


def test_live_growth_adds_posts_until_stopped() -> None:
    state = SimState(world=World(spec=WorldSpec(seed=3)))
    server = SimulatorServer(state, grow_every_s=0.05, grow_n=1).start()
    try:
        eventually(
            lambda: len(state.world) >= 3 * len(PLATFORMS),
            timeout=5,
            message=lambda: f"the world grew to {len(state.world)} posts only",
        )
    finally:
        started = time.monotonic()
        server.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 5
    size = len(state.world)
    assert size % len(PLATFORMS) == 0  # whole rounds: grow(1) adds one post per platform
    assert stays(lambda: len(state.world) == size, for_s=0.3)
    ids = [p.id for p in state.world.posts("x")]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_stop_does_not_wait_out_a_long_interval() -> None:
    server = SimulatorServer(SimState(), grow_every_s=3600).start()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    assert len(server.state.world) == 0


def test_without_growth_the_world_stays_as_it_is(sim: SimulatorServer) -> None:
    assert stays(lambda: len(sim.state.world) == 0, for_s=0.2)


@pytest.mark.parametrize(("every", "n"), [(0.0, 3), (-1.0, 3), (1.0, 0)])
def test_growth_settings_are_validated(every: float, n: int) -> None:
    with pytest.raises(ValueError):
        SimulatorServer(SimState(), grow_every_s=every, grow_n=n)
