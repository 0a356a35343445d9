"""Alert rules and how they reach Slack (or a JSON webhook)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from tesoro.settings.base import Section, parse_interval, slug
from tesoro.text.query import parse

__all__ = ["AlertKind", "AlertRuleSettings", "SlackSettings"]

AlertKind = Literal[
    "new_mention",
    "negative_influencer",
    "volume_spike",
    "negative_spike",
    "new_treasure",
    "rights_granted",
    "rights_declined",
    "rights_revoked",
    "rights_expiring",
    "source_failing",
    "coverage_lost",
]


_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_SPIKE_KINDS = ("volume_spike", "negative_spike")


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an environment-variable name (e.g. SLACK_WEBHOOK_URL)")
    return value


class AlertRuleSettings(Section):
    """One alert rule. The file's rules are mirrored into the store, where the API may edit them.

    Which keys matter depends on `kind` (see the example file); a key that makes no sense for the
    kind is refused rather than silently ignored, so a typo'd rule never looks active but is not.
    """

    name: str = Field(min_length=1)
    kind: AlertKind
    enabled: bool = True
    brand: str | None = None
    query: str | None = None
    # An inline listening query (the same language as [[queries]]) that posts must also match.
    filter: str | None = None
    min_followers: Annotated[int, Field(ge=0)] | None = None
    min_ror: float | None = None
    min_score: float | None = None
    channel: str | None = None
    webhook_url_env: str | None = None
    # A generic JSON webhook (a second channel besides Slack), by env var holding its URL.
    json_webhook_url_env: str | None = None
    cooldown: int = Field(3600, description="seconds; '1h' style strings accepted")
    # Spike rules: the window tested, how many previous days form the baseline, the least volume that
    # may count as a spike, and how unusual it must be (robust z-score against the same hours before).
    window: int = Field(3600, description="spike window; whole hours ('1h', '3h')")
    baseline_days: Annotated[int, Field(ge=3, le=28)] = 14
    min_volume: Annotated[int, Field(ge=1)] = 20
    threshold: Annotated[float, Field(gt=0, le=100)] = 4.5
    # Posts older than this when first seen are history (a backfill), not news: no mention alerts.
    max_age: int = Field(86400, description="seconds; '1d' style strings accepted")
    # More than `digest_after` messages for this rule within `digest_window` become one digest.
    digest_after: Annotated[int, Field(ge=1, le=100)] = 5
    digest_window: int = Field(600, description="seconds; '10m' style strings accepted")

    _check_name = field_validator("name")(lambda cls, v: slug(v))

    @field_validator("cooldown", "max_age", "digest_window", mode="before")
    @classmethod
    def _cooldown(cls, value: Any) -> int:
        return parse_interval(value)

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> int:
        seconds = parse_interval(value)
        if seconds % 3600 or not 3600 <= seconds <= 24 * 3600:
            raise ValueError("must be whole hours between '1h' and '24h' (counts are kept per hour)")
        return seconds

    @field_validator("webhook_url_env", "json_webhook_url_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("filter")
    @classmethod
    def _filter_parses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse(value)
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> AlertRuleSettings:
        kind = self.kind
        if kind == "negative_influencer" and self.min_followers is None and self.min_ror is None:
            raise ValueError("a negative_influencer rule needs `min_followers` or `min_ror`")
        if kind == "new_treasure" and self.min_score is None:
            raise ValueError("a new_treasure rule needs `min_score` (the least treasure score to alert on)")
        if kind in _SPIKE_KINDS and self.filter is not None:
            raise ValueError(f"a {kind} rule counts by `brand` or `query`; `filter` is not supported")
        if kind in ("source_failing", "coverage_lost") and any(
            v is not None for v in (self.brand, self.query, self.filter, self.min_followers, self.min_score)
        ):
            raise ValueError(f"a {kind} rule takes no brand, query, filter, min_followers, min_score")
        if self.min_ror is not None and kind != "negative_influencer":
            raise ValueError("`min_ror` only applies to negative_influencer rules")
        if self.min_score is not None and kind != "new_treasure":
            raise ValueError("`min_score` only applies to new_treasure rules")
        return self


class SlackSettings(Section):
    """How alerts reach Slack: a bot token (chat.postMessage) or an incoming webhook, by env-var name."""

    # Channel for bot-token delivery when a rule names none.
    default_channel: str | None = None
    # Env var holding a bot token (xoxb-...); with it, rules post to their `channel`.
    bot_token_env: str | None = None
    # Env var holding an incoming-webhook URL; used when there is no bot token (or no channel).
    webhook_url_env: str | None = None
    # Slack Web API base URL; leave unset for Slack itself (the demo points it at the simulator).
    api_base_url: str | None = None
    # Tesoro's own address, for the "review" links in messages.
    app_base_url: str = "http://127.0.0.1:8000"
    # Path of the review queue under app_base_url; `?post=<id>` is appended to open one post.
    review_path: str = "/ui/queue"
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    # Retries inside one delivery run (5xx, dropped connections, a 429 whose Retry-After is short).
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    # A 429 asking to wait longer than this is not slept on: the alert is rescheduled instead.
    max_wait_s: Annotated[float, Field(ge=0, le=300)] = 30.0
    # A webhook post with no answer within timeout_s may have been posted: false logs it "uncertain" and
    # does not send it again (no duplicate); true sends it again at the next run (none lost, maybe twice).
    resend_after_timeout: bool = False

    @field_validator("bot_token_env", "webhook_url_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("api_base_url", "app_base_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value
