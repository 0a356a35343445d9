"""The quarantine: collected items the collector boundary refused, each with why.

One row per distinct item and source (`raw_sha256` of the source and the item's JSON), so a
source that meets the same hostile post on every run, or a file imported twice, keeps one row
whose `last_seen_at` and `times_seen` move. `raw` is ASCII JSON (NUL and lone surrogates
escaped), cut at the boundary's limit; `tesoro quarantine retry` rebuilds the item from it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["QuarantineItem"]


class QuarantineItem(SQLModel, table=True):
    __tablename__ = "quarantine_item"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=300, index=True)
    platform: str = Field(max_length=32)
    external_id: str | None = Field(default=None, max_length=256)
    kind: str = Field(max_length=8)  # "row" (a file row) or "post" (a normalized post)
    line: int | None = None
    brand_id: int | None = None
    raw: str = Field(sa_column=Column(Text, nullable=False))
    raw_sha256: str = Field(max_length=64, unique=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    times_seen: int = 1
    retries: int = 0
    first_seen_at: datetime | None = timestamp()
    last_seen_at: datetime | None = timestamp(index=True)
