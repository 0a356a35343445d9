"""mastodon routes for the simulator (in progress)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from tesoro.collector.simulator.state import SimState


def routes(state: SimState) -> list[BaseRoute]:
    return []
