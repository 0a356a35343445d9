"""Everything the simulator's routes share: the world, faults, credentials, Slack inbox."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tesoro.simulator.faults import FaultInjector
from tesoro.simulator.world import World

__all__ = ["Credentials", "SimState"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """The secrets the simulator accepts. Tests pass other values to provoke auth failures."""

    x_bearer: str = "sim-x-bearer"
    reddit_client_id: str = "sim-reddit-id"
    reddit_client_secret: str = "sim-reddit-secret"
    bluesky_handle: str = "tesoro.bsky.social"
    bluesky_password: str = "sim-bsky-password"
    mastodon_token: str = "sim-mastodon-token"
    slack_bot_token: str = "xoxb-sim-slack"
    slack_webhook_path: str = "T000/B000/sim"


@dataclass
class SimState:
    world: World = field(default_factory=World)
    faults: FaultInjector = field(default_factory=FaultInjector)
    credentials: Credentials = field(default_factory=Credentials)
    # How long a TIMEOUT fault holds the request before closing it (seconds).
    timeout_hold_s: float = 3.0
    # Messages received on the Slack routes, in arrival order.
    slack_messages: list[dict[str, Any]] = field(default_factory=list)
    # Where the simulator serves its own pictures ("http://127.0.0.1:PORT"): media URLs in the
    # answers point there (`tesoro.simulator.mediahost`). None keeps the platforms' real hosts.
    media_base: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record_slack(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.slack_messages.append(message)
