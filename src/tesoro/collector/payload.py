"""Defensive readers for platform JSON: a wrong type becomes "absent", never an exception.

Platform payloads are untrusted and change without notice; adapters read every
field through these so one malformed item is skipped instead of failing a page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["as_dict", "as_dicts", "as_int", "as_list", "as_str", "as_utc_datetime"]


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in as_list(value) if isinstance(item, dict)]


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_utc_datetime(value: Any) -> datetime | None:
    """An ISO 8601 string (a trailing `Z` allowed) or a datetime, in UTC; naive times are taken as UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
