"""What Tesoro listens for and where: brands, products, listening queries and collection sources.

Queries are parsed here, at load time, so a query with a syntax error stops start-up with the key
that holds it instead of failing inside the first collection.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from tesoro.settings.base import Section, parse_interval, slug
from tesoro.settings.quota import Budget, QuotaSettings, resolve_budget
from tesoro.text.query import parse

__all__ = ["BrandSettings", "PlatformName", "ProductSettings", "QuerySettings", "SourceSettings"]

PlatformName = Literal[
    "x", "reddit", "bluesky", "mastodon", "instagram", "threads", "youtube", "tiktok", "file"
]


class BrandSettings(Section):
    name: str = Field(
        min_length=1,
        description="The brand's name; its gallery is /gallery/{slug} (accents dropped, lower case, "
        "'-' between words), so two brands whose names fold to one slug ('ACME' and 'Acme') are refused",
    )
    description: str = ""
    handles: dict[PlatformName, str] = Field(default_factory=dict)
    hashtags: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)

    @field_validator("hashtags")
    @classmethod
    def _strip_hash(cls, value: list[str]) -> list[str]:
        return [tag.lstrip("#") for tag in value]


class ProductSettings(Section):
    name: str = Field(min_length=1)
    brand: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    line: str | None = None
    url: str | None = None
    shop_url: str | None = Field(
        None,
        description="where the gallery's 'shop this' link on this product's posts goes (UTM parameters "
        "from [gallery] are added)",
    )

    @field_validator("url", "shop_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class QuerySettings(Section):
    name: Annotated[str, Field(min_length=1)]
    brand: str = Field(min_length=1)
    query: str = Field(min_length=1)

    _check_name = field_validator("name")(lambda cls, v: slug(v))

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse(value)
        return value


class SourceSettings(Section):
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
    account_id: str | None = Field(
        None,
        description="instagram/threads: the brand's Instagram professional account id or Threads user id; "
        "tiktok: the brand's business_id, to collect its brand mentions (TikTok API for Business) "
        "instead of searching the Research API",
    )
    hashtags: list[str] = Field(
        default_factory=list,
        description="instagram: hashtags to read (30 unique a week an account); default: the query's #tags",
    )
    # Names of the environment variables that hold this source's secrets.
    credentials: dict[str, str] = Field(default_factory=dict)
    # The platform budget this source spends (`tesoro.settings.quota`): defaults per platform and plan.
    quota: QuotaSettings = Field(default_factory=QuotaSettings)

    _check_name = field_validator("name")(lambda cls, v: slug(v))

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
        if self.platform in ("instagram", "threads") and not (self.account_id or "").strip():
            raise ValueError(f"a {self.platform} source needs `account_id` (the brand's account on it)")
        if self.platform != "file" and self.query is None:
            raise ValueError(f"a {self.platform} source needs `query` (the name of a [[queries]] entry)")
        self.budget  # noqa: B018 (an unknown plan is refused at load time)
        return self

    @property
    def budget(self) -> Budget:
        """The platform budget this source plans its runs within (its plan, with its overrides)."""
        quota = self.quota
        if self.platform == "tiktok" and self.account_id and quota.plan is None:
            quota = quota.model_copy(update={"plan": "mentions"})
        return resolve_budget(self.platform, quota)
