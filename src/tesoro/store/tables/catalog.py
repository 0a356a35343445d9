"""Catalog tables: what the settings file declares (brands, products, listening queries, sources).

`tesoro.store.catalog.sync_catalog` mirrors the file into these rows at start-up; a
source also keeps its collection cursor and health here, so a restart resumes where
the last run stopped.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["Brand", "ListeningQuery", "Product", "Source", "SourceHealth", "SourceSpend"]


class SourceHealth(StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"


class Brand(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    handles: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    hashtags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    competitors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Product(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    name: str = Field(index=True, unique=True)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    line: str | None = Field(default=None, index=True)
    url: str | None = None
    shop_url: str | None = None  # where the gallery's "shop this" link goes


class ListeningQuery(SQLModel, table=True):
    __tablename__ = "listening_query"
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    name: str = Field(index=True, unique=True)
    query: str = Field(sa_column=Column(Text, nullable=False))


class Source(SQLModel, table=True):
    """A collection source with its cursor and health; the cursor is the adapter's opaque JSON."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    platform: str = Field(index=True)
    query_id: int | None = Field(default=None, foreign_key="listening_query.id")
    interval_s: int = 900
    enabled: bool = True
    cursor: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    health: str = Field(default=SourceHealth.UNKNOWN.value, max_length=16)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_run_at: datetime | None = timestamp()
    last_success_at: datetime | None = timestamp()
    next_allowed_at: datetime | None = timestamp()
    consecutive_failures: int = 0
    posts_collected: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    # When the token the collector last ran with expires, where its platform says (Instagram, Threads).
    token_expires_at: datetime | None = timestamp()
    # The scheduler's plan (`collector.quota`): the next run it allows, and why then.
    planned_run_at: datetime | None = timestamp()
    plan_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SourceSpend(SQLModel, table=True):
    """What one run of a source spent of its platform budget, written with each page it stored.

    `units` are the platform's budget unit (X posts read, YouTube quota units, Instagram hashtags,
    TikTok requests), `calls` HTTP requests; `at` is when the last of them was counted, so a
    window's usage is the sum over the runs whose `at` falls in it.
    """

    __tablename__ = "source_spend"
    __table_args__ = (Index("ix_source_spend_source_at", "source_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    started_at: datetime = timestamp(nullable=False)
    at: datetime = timestamp(nullable=False)
    units: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    calls: int = 0
