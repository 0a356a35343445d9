"""The one datetime column type of the store: UTC in, aware UTC out, on SQLite and PostgreSQL.

SQLite keeps no time zone (SQLAlchemy writes the wall clock as text) and PostgreSQL
returns `timestamptz` in the connection's zone, so without this type a caller got a
naive datetime from one backend and an aware one from the other, and every reader
carried its own "naive means UTC" fixer. Here a value is converted to UTC on the way
in (a naive one is taken as UTC already, as the fixers did) and comes back aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

__all__ = ["UtcDateTime", "as_utc", "timestamp", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime; a naive value is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that stores UTC and always returns aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        # SQLite's DATETIME text has no zone: write the UTC wall clock so text order is time order.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def timestamp(*, nullable: bool = True, index: bool = False) -> Any:
    """A model field for a UTC datetime column (None until set, unless the column is NOT NULL)."""
    if nullable:
        return Field(default=None, sa_column=Column(UtcDateTime(), nullable=True, index=index))
    return Field(sa_column=Column(UtcDateTime(), nullable=False, index=index))
