"""Everything the simulator's routes share: the world, faults, credentials, Slack inbox."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tesoro.simulator.faults import FaultInjector
from tesoro.simulator.instagram_graph import MetaState
from tesoro.simulator.world import World

__all__ = ["Credentials", "SimState"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """The secrets the simulator accepts. Tests pass other values to provoke auth failures."""

    x_bearer: str = "sim-x-bearer"
    reddit_client_id: str = "sim-reddit-id"
    reddit_client_secret: str = "sim-reddit-secret"
    # The brand's Reddit account (a script app's password grant): only it may post a comment.
    reddit_username: str = "andesoutdoor"
    reddit_password: str = "sim-reddit-password"
    bluesky_handle: str = "tesoro.bsky.social"
    bluesky_password: str = "sim-bsky-password"
    mastodon_token: str = "sim-mastodon-token"
    slack_bot_token: str = "xoxb-sim-slack"
    slack_webhook_path: str = "T000/B000/sim"
    # Meta: the brand's Instagram professional account and Threads profile, their tokens, the app secret.
    instagram_token: str = "sim-instagram-token"
    instagram_user_id: str = "17841400000000001"
    threads_token: str = "sim-threads-token"
    threads_user_id: str = "27841400000000001"
    meta_app_secret: str = "sim-meta-app-secret"
    youtube_api_key: str = "sim-youtube-key"
    # An OAuth 2.0 access token of the brand's channel (scope youtube.force-ssl): inserting comments needs it.
    youtube_oauth_token: str = "sim-youtube-oauth"
    tiktok_client_key: str = "sim-tiktok-key"
    tiktok_client_secret: str = "sim-tiktok-secret"
    # TikTok API for Business: the brand's business account, its app and the account's tokens.
    tiktok_business_id: str = "-000Sim4ndesOutd00rBusiness"
    tiktok_business_token: str = "act.sim-tiktok-business-token"
    tiktok_business_refresh_token: str = "rft.sim-tiktok-business-refresh"
    tiktok_app_id: str = "7100000000000000001"
    tiktok_app_secret: str = "sim-tiktok-app-secret"


@dataclass
class SimState:
    world: World = field(default_factory=World)
    faults: FaultInjector = field(default_factory=FaultInjector)
    credentials: Credentials = field(default_factory=Credentials)
    # How long a TIMEOUT fault holds the request before closing it (seconds).
    timeout_hold_s: float = 3.0
    # Messages received on the Slack routes, in arrival order.
    slack_messages: list[dict[str, Any]] = field(default_factory=list)
    # Meta's per-account state (hashtag searches, call counts, expired tokens): see simulator.instagram_graph.
    meta: MetaState = field(default_factory=MetaState)
    # Daily budgets the platforms meter per app (YouTube quota units, TikTok Research API requests) and
    # what has been spent of each today; `new_day()` resets the spending, as midnight does.
    daily_limits: dict[str, int] = field(default_factory=lambda: {"youtube": 10_000, "tiktok": 1_000})
    spent: dict[str, int] = field(default_factory=dict)
    # How long a TikTok client access token lives (seconds; TikTok's are 7,200).
    tiktok_token_ttl_s: float = 7200.0
    # TikTok API for Business: each valid access token and when it expires (time.time()); the
    # brand's own token is added when the routes are built, living `tiktok_business_token_ttl_s`.
    tiktok_business_tokens: dict[str, float] = field(default_factory=dict)
    tiktok_business_token_ttl_s: float = 86_400.0
    # True: a refresh token works once (its renewal retires it), as an OAuth server that rotates them does
    tiktok_business_rotate_refresh: bool = False
    # Where TikTok posts its signed mention webhook calls (Tesoro's /api/webhooks/tiktok); None: nowhere.
    tiktok_business_webhook_url: str | None = None
    # Where the simulator serves its own pictures ("http://127.0.0.1:PORT"): media URLs in the
    # answers point there (`tesoro.simulator.mediahost`). None keeps the platforms' real hosts.
    media_base: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, budget: str, units: int) -> bool:
        """Charge `units` to today's `budget`; False (and nothing charged) when they no longer fit."""
        with self._lock:
            used = self.spent.get(budget, 0)
            if used + units > self.daily_limits.get(budget, 1 << 62):
                return False
            self.spent[budget] = used + units
            return True

    def new_day(self) -> None:
        with self._lock:
            self.spent.clear()

    def record_slack(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.slack_messages.append(message)
