"""`tesoro demo`: the whole service against the local platform simulator, so posts arrive live.

Nothing is faked in the store: the simulator serves each platform's real API,
the real client libraries collect from it on the scheduler, and the API serves
what was collected.
"""

from __future__ import annotations

import json
import os
import threading
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from tesoro.settings import DEFAULT_MEDIA_HOSTS, Settings
from tesoro.simulator.model import PLATFORMS, VIDEO_PLATFORMS, SimPost, WorldSpec
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import Credentials, SimState
from tesoro.simulator.world import World

__all__ = [
    "WORLD_FILE",
    "ResumedWorld",
    "demo_environment",
    "demo_settings",
    "point_webhooks",
    "start_simulator",
]

# Kept next to the demo's database: how far the simulator's post ids may have gone, and how many
# times the demo started. A new simulator continues above those ids, so the cursors the demo store
# saved (X and Mastodon `since_id`, Reddit fullnames, Bluesky's newest post) are behind its new posts.
WORLD_FILE = "simulator-world.json"
# Ids are reserved in blocks written before any of them is served, so even a `kill -9` between a
# growth and the next write cannot let a restarted world reuse an id the store has already seen.
_RESERVE_BLOCK = 100_000
_FIRST_ID = 1_000_000


@dataclass
class ResumedWorld(World):
    """A world whose post ids continue above those of the demo's earlier runs (kept in `journal`)."""

    journal: Path | None = None
    starts: int = 0
    _reserved: int = field(default=_FIRST_ID, init=False)
    _journal_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @classmethod
    def resume(cls, journal: Path, spec: WorldSpec | None = None) -> ResumedWorld:
        """The next run's world: ids above every id handed out before, talk from a fresh seed."""
        first, starts = _FIRST_ID, 0
        try:
            saved = json.loads(journal.read_text(encoding="utf-8"))
            first, starts = max(_FIRST_ID, int(saved["reserved_id"])), int(saved["starts"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            pass  # a first start, or a file from elsewhere: start a world as new
        spec = spec or WorldSpec()
        world = cls(spec=replace(spec, seed=spec.seed + starts), journal=journal, starts=starts + 1)
        world._next_id = world._reserved = first
        world._save(first)
        return world

    def grow(
        self, n: int, *, platforms: Sequence[str] = PLATFORMS, now: datetime | None = None
    ) -> list[SimPost]:
        # One post takes at most 3 ids (the world's step); reserve them before any is served.
        self._reserve(self.next_id() + 3 * n * len(platforms))
        return super().grow(n, platforms=platforms, now=now)

    def _reserve(self, highest: int) -> None:
        with self._journal_lock:
            if highest > self._reserved:
                self._reserved = highest + _RESERVE_BLOCK
                self._save(self._reserved)

    def _save(self, reserved: int) -> None:
        if self.journal is None:
            return
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        partial = self.journal.with_suffix(".tmp")
        partial.write_text(json.dumps({"reserved_id": reserved, "starts": self.starts}), encoding="utf-8")
        os.replace(partial, self.journal)  # atomic: a crash leaves the old file or the new one


def demo_settings(data_dir: Path, simulator_url: str) -> Settings:
    """The packaged demo settings, with every source pointed at the simulator."""
    raw = tomllib.loads(resources.files("tesoro").joinpath("data/demo.toml").read_text(encoding="utf-8"))
    mounts = {
        "x": "",
        "reddit": "",
        "bluesky": "/bsky",
        "mastodon": "/mastodon",
        "instagram": "/instagram/v21.0",
        "threads": "/threads/v1.0",
        "youtube": "",
        "tiktok": "",
    }
    for source in raw["sources"]:
        source["base_url"] = simulator_url + mounts[source["platform"]]
    raw["base_dir"] = data_dir.resolve()
    # The simulator serves the posts' pictures itself: the UI and the gallery show them, and the
    # media pipeline may fetch from it although it is on the loopback address.
    media_host = urlsplit(simulator_url).netloc.lower()
    gallery = raw.setdefault("gallery", {})
    gallery["media_hosts"] = [*gallery.get("media_hosts", DEFAULT_MEDIA_HOSTS), media_host]
    raw.setdefault("media", {})["private_hosts"] = [media_host]
    # The gallery serves Tesoro's own copies of rights-cleared media (docs/gallery.md#kept-copies),
    # made from the simulator's pictures a few seconds after the rights are granted.
    gallery.setdefault("copies", True)
    gallery.setdefault("copies_interval", 20)
    return Settings.model_validate(raw)


def demo_environment(base: Mapping[str, str], credentials: Credentials, simulator_url: str) -> dict[str, str]:
    """The env vars the demo settings name, holding the simulator's credentials."""
    return {
        **base,
        "TESORO_DEMO_X_BEARER": credentials.x_bearer,
        "TESORO_DEMO_REDDIT_ID": credentials.reddit_client_id,
        "TESORO_DEMO_REDDIT_SECRET": credentials.reddit_client_secret,
        "TESORO_DEMO_REDDIT_USER": credentials.reddit_username,
        "TESORO_DEMO_REDDIT_PASSWORD": credentials.reddit_password,
        "TESORO_DEMO_BSKY_HANDLE": credentials.bluesky_handle,
        "TESORO_DEMO_BSKY_PASSWORD": credentials.bluesky_password,
        "TESORO_DEMO_MASTODON_TOKEN": credentials.mastodon_token,
        "TESORO_DEMO_INSTAGRAM_TOKEN": credentials.instagram_token,
        "TESORO_DEMO_THREADS_TOKEN": credentials.threads_token,
        "DEMO_META_VERIFY_TOKEN": "sim-meta-verify-token",
        "DEMO_META_APP_SECRET": credentials.meta_app_secret,
        "TESORO_DEMO_YOUTUBE_KEY": credentials.youtube_api_key,
        "TESORO_DEMO_YOUTUBE_OAUTH": credentials.youtube_oauth_token,
        "TESORO_DEMO_TIKTOK_KEY": credentials.tiktok_client_key,
        "TESORO_DEMO_TIKTOK_SECRET": credentials.tiktok_client_secret,
        "TESORO_DEMO_TIKTOK_BIZ_TOKEN": credentials.tiktok_business_token,
        "DEMO_TIKTOK_APP_SECRET": credentials.tiktok_app_secret,
        "DEMO_SLACK_WEBHOOK_URL": f"{simulator_url}/slack/hooks/{credentials.slack_webhook_path}",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def point_webhooks(state: SimState, settings: Settings, api_url: str) -> None:
    """Have the simulator post its webhook calls to the demo's own endpoints under `api_url`: Meta's
    `mentions` always, TikTok's mention events when the settings have an enabled TikTok mentions
    source (a tiktok source with an account_id) for them to start."""
    state.meta.webhook_url = f"{api_url}/api/webhooks/meta"
    if any(s.platform == "tiktok" and s.account_id and s.enabled for s in settings.sources):
        state.tiktok_business_webhook_url = f"{api_url}/api/webhooks/tiktok"


def start_simulator(
    data_dir: Path | None = None,
    *,
    initial_posts: int = 50,
    grow_every_s: float | None = 5.0,
    grow_n: int = 2,
) -> SimulatorServer:
    """A running simulator whose world already has some history and keeps growing.

    With `data_dir` (the demo's), the world continues above the ids of the demo's earlier runs, so
    a restarted demo collects at once instead of waiting for a new world to catch up with the
    cursors its store kept.
    """
    world = ResumedWorld.resume(data_dir / WORLD_FILE) if data_dir is not None else World(spec=WorldSpec())
    state = SimState(world=world)
    # A demo polls every 20-30 seconds, far more often than a real source would: YouTube's 10,000 daily
    # units, TikTok's 1,000 requests and Threads' 2,200 keyword queries would run out within the hour, so
    # the demo's platforms allow more (data/demo.toml gives its sources the matching budgets).
    state.daily_limits.update(youtube=1_000_000, tiktok=100_000)
    state.meta.keyword_queries_per_day = 100_000
    state.world.grow(initial_posts, platforms=(*PLATFORMS, *VIDEO_PLATFORMS))
    platforms = (*PLATFORMS, *VIDEO_PLATFORMS)  # the demo's world has videos too
    return SimulatorServer(
        state, grow_every_s=grow_every_s, grow_n=grow_n, platforms=platforms, serve_media=True
    ).start()
