"""`tesoro demo`: the whole service against the local platform simulator, so posts arrive live.

Nothing is faked in the store: the simulator serves each platform's real API,
the real client libraries collect from it on the scheduler, and the API serves
what was collected.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from tesoro.settings import Settings
from tesoro.simulator.model import WorldSpec
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import Credentials, SimState
from tesoro.simulator.world import World

__all__ = ["demo_environment", "demo_settings", "start_simulator"]


def demo_settings(data_dir: Path, simulator_url: str) -> Settings:
    """The packaged demo settings, with every source pointed at the simulator."""
    raw = tomllib.loads(resources.files("tesoro").joinpath("data/demo.toml").read_text(encoding="utf-8"))
    mounts = {"x": "", "reddit": "", "bluesky": "/bsky", "mastodon": "/mastodon"}
    for source in raw["sources"]:
        source["base_url"] = simulator_url + mounts[source["platform"]]
    raw["base_dir"] = data_dir.resolve()
    return Settings.model_validate(raw)


def demo_environment(base: Mapping[str, str], credentials: Credentials, simulator_url: str) -> dict[str, str]:
    """The env vars the demo settings name, holding the simulator's credentials."""
    return {
        **base,
        "TESORO_DEMO_X_BEARER": credentials.x_bearer,
        "TESORO_DEMO_REDDIT_ID": credentials.reddit_client_id,
        "TESORO_DEMO_REDDIT_SECRET": credentials.reddit_client_secret,
        "TESORO_DEMO_BSKY_HANDLE": credentials.bluesky_handle,
        "TESORO_DEMO_BSKY_PASSWORD": credentials.bluesky_password,
        "TESORO_DEMO_MASTODON_TOKEN": credentials.mastodon_token,
        "DEMO_SLACK_WEBHOOK_URL": f"{simulator_url}/slack/hooks/{credentials.slack_webhook_path}",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def start_simulator(
    *, initial_posts: int = 50, grow_every_s: float = 5.0, grow_n: int = 2
) -> SimulatorServer:
    """A running simulator whose world already has some history and keeps growing."""
    state = SimState(world=World(spec=WorldSpec()))
    state.world.grow(initial_posts)
    return SimulatorServer(state, grow_every_s=grow_every_s, grow_n=grow_n).start()
