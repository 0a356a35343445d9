"""The whole configuration: every section, plus the checks that span sections (names that refer to others)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from tesoro.settings.alerts import AlertRuleSettings, SlackSettings
from tesoro.settings.base import ConfigError, Section
from tesoro.settings.catalog import BrandSettings, ProductSettings, QuerySettings, SourceSettings
from tesoro.settings.curator import CuratorSettings
from tesoro.settings.gallery import GallerySettings
from tesoro.settings.insights import RelationshipSettings, RoeSettings
from tesoro.settings.media import MediaSettings
from tesoro.settings.ops import OpsSettings
from tesoro.settings.rights import RightsSettings
from tesoro.settings.search import SearchSettings
from tesoro.settings.secrets import SecretsSettings
from tesoro.settings.service import (
    ApiSettings,
    DatabaseSettings,
    ModelSettings,
    QueueSettings,
    ServerSettings,
)
from tesoro.settings.webhooks import MetaWebhookSettings, TikTokWebhookSettings
from tesoro.text.slug import slugify

__all__ = ["Settings"]


class Settings(Section):
    """The whole configuration. Build it with `load_settings`, not by hand, outside tests."""

    data_dir: Path = Path("data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    gallery: GallerySettings = Field(default_factory=GallerySettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
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
    search: SearchSettings = Field(default_factory=SearchSettings)
    rights: RightsSettings = Field(default_factory=RightsSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    meta_webhook: MetaWebhookSettings = Field(default_factory=MetaWebhookSettings)
    tiktok_webhook: TikTokWebhookSettings = Field(default_factory=TikTokWebhookSettings)
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
        _one_gallery_each(problems, "brands", [b.name for b in self.brands])
        for brand in sorted(brands):
            _one_gallery_each(
                problems, f"products of {brand!r}", [p.name for p in self.products if p.brand == brand]
            )
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

    @model_validator(mode="after")
    def _tiktok_webhook_source(self) -> Settings:
        """`[tiktok_webhook] source` must name a TikTok mentions source (platform tiktok, an account_id)."""
        wanted = self.tiktok_webhook.source
        if wanted is None:
            return self
        mentions = [s.name for s in self.sources if s.platform == "tiktok" and s.account_id]
        if wanted not in mentions:
            raise ValueError(
                f"tiktok_webhook.source: {wanted!r} is not a TikTok mentions source "
                f"(a tiktok source with account_id; configured: {mentions})"
            )
        return self

    @model_validator(mode="after")
    def _alert_secrets(self) -> Settings:
        """Alert channels read only the variables `[secrets] alert_env_allow` lets them (see there)."""
        named = [(f"slack.{key}", getattr(self.slack, key)) for key in ("webhook_url_env", "bot_token_env")]
        for i, rule in enumerate(self.alerts):
            named += [(f"alerts[{i}].{key}", getattr(rule, key)) for key in _RULE_ENV_KEYS]
        problems = [
            f"{where}: {refusal}"
            for where, env_name in named
            if env_name and (refusal := self.alert_env_refusal(env_name))
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def alert_env_refusal(self, env_name: str) -> str | None:
        """Why an alert channel may not read the variable `env_name`, or None when it may.

        The reason names the variable and the rule, never the variable's value.
        """
        prefix, _, rest = env_name.partition("_")
        if prefix == "TESORO" and (
            env_name in _OWN_VARIABLES or rest.split("__")[0].lower() in type(self).model_fields
        ):
            return f"{env_name} is one of Tesoro's own settings variables, not an alert secret"
        for source in self.sources:
            if env_name in source.credentials.values():
                return (
                    f"{env_name} holds a credential of source {source.name!r}; alert channels may not read it"
                )
        if not self.secrets.allows(env_name):
            allowed = ", ".join(self.secrets.alert_env_allow) or "nothing"
            return (
                f"{env_name} is not a variable alert channels may read: its name must match "
                f"[secrets] alert_env_allow ({allowed}), e.g. SLACK_WEBHOOK_URL or OPS_WEBHOOK_URL"
            )
        return None

    @property
    def database_url(self) -> str:
        return self.database.resolved_url(self.base_dir)

    def resolved(self, path: Path) -> Path:
        """A path from the file, made absolute against the file's own folder."""
        return path if path.is_absolute() else self.base_dir / path

    def index_snapshots(self) -> Path | None:
        """The folder of the library index's snapshots, or None when they are off."""
        if not self.search.snapshot_interval_s:
            return None
        return self.resolved(self.search.snapshot_dir or self.resolved(self.data_dir) / "index")

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


# The rule keys that name a variable an alert channel reads.
_RULE_ENV_KEYS = ("webhook_url_env", "json_webhook_url_env")
# Variables Tesoro reads for itself besides TESORO_<settings key> (docs/settings.md, "Environment only").
_OWN_VARIABLES = frozenset(
    {"TESORO_CONFIG", "TESORO_DATABASE_URL", "TESORO_DATA_DIR", "TESORO_CACHE_DIR", "TESORO_ENCODER_BACKEND"}
)


def _one_gallery_each(problems: list[str], section: str, names: list[str]) -> None:
    """Names that fold to one URL slug would share one gallery (`/gallery/{slug}`): refuse them."""
    by_slug: dict[str, list[str]] = {}
    for name in dict.fromkeys(names):  # the same name twice is `_unique`'s problem
        by_slug.setdefault(slugify(name), []).append(name)
    for slug, same in by_slug.items():
        if not slug:
            problems.append(
                f"{section}: {same[0]!r} has no letter or digit for its gallery URL; add one to the name"
            )
        elif len(same) > 1:
            listed = " and ".join(repr(n) for n in same)
            problems.append(
                f"{section}: {listed} fold to the same gallery URL slug {slug!r} "
                f"(/gallery/{slug}); rename one of them"
            )


def _unique(problems: list[str], section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(f"{section}: the name {name!r} is used twice")
        seen.add(name)
