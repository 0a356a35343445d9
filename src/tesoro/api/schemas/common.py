"""Pieces every resource's schemas share: timestamps as the API writes them, and `iso`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import WithJsonSchema

__all__ = ["Timestamp", "iso"]

# A point in time as the API writes it: ISO 8601 with an explicit UTC offset ("2026-11-01T12:00:00+00:00").
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit UTC offset (a time without a zone is taken as UTC)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
