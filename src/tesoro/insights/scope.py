"""What an insight is about: the time window and the brand, read from user input and the store.

Every insights function (KPIs, ROR, ROE, purchases) starts the same way: a window
`[since, until)` parsed from what a person typed (dates, times or "30d"), and a brand
resolved by name, where no name means the only brand when exactly one is configured
and every brand otherwise. Keeping those rules in one module keeps the API and the
command line answering the same question for the same input.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from tesoro.store.catalog import brand_by_name, list_brands
from tesoro.store.relationships import brand_account_ids
from tesoro.store.tables import Brand

__all__ = [
    "brand_handles",
    "brand_id_of",
    "iso_time",
    "own_accounts",
    "parse_time",
    "parse_window",
    "resolve_brand",
]

_RELATIVE = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")


def _parse_when(value: str, *, end: bool) -> datetime:
    """A date (whole day; an end date includes that day) or an ISO 8601 time (no offset: UTC)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a date (2026-11-01), a time (2026-11-01T10:00:00Z) or 30d/12w"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_time(value: str) -> datetime:
    """One moment from user input: a date (its start, UTC) or an ISO 8601 time (no offset: UTC)."""
    return _parse_when(value, end=False)


def parse_window(
    since: str | None, until: str | None, *, now: datetime | None = None, default_days: int = 30
) -> tuple[datetime, datetime]:
    """[since, until) from user input. `since` may also be relative to `until`: 30d, 12w, 6m, 1y."""
    end = _parse_when(until, end=True) if until else (now or datetime.now(UTC))
    if since is None:
        start = end - timedelta(days=default_days)
    elif match := _RELATIVE.match(since):
        n, unit = int(match.group(1)), match.group(2)
        start = end - timedelta(days=n * {"d": 1, "w": 7, "m": 30, "y": 365}[unit])
    else:
        start = _parse_when(since, end=False)
    if start >= end:
        raise ValueError(
            f"the window is empty: since {start.isoformat()} is not before until {end.isoformat()}"
        )
    return start, end


def resolve_brand(session: Session, name: str | None) -> Brand | None:
    """The named brand; with no name, the only brand when exactly one exists, else None (all brands)."""
    if name is not None:
        brand = brand_by_name(session, name)
        if brand is None:
            known = sorted(b.name for b in list_brands(session))
            raise LookupError(f"no brand named {name!r} (known: {known})")
        return brand
    brands = list_brands(session)  # brands are few: a handful of rows
    return brands[0] if len(brands) == 1 else None


def brand_handles(session: Session, brand: Brand | None) -> list[dict[str, str]]:
    """The brand's own handles per platform (every brand's when None): how its accounts are recognised."""
    if brand is not None:
        return [dict(brand.handles)]
    return [dict(b.handles) for b in list_brands(session)]


def own_accounts(session: Session, brand: Brand | None) -> list[int]:
    """The brand's own accounts (all brands' when None), left out of every "mentions" KPI."""
    return sorted(brand_account_ids(session, handles=brand_handles(session, brand)))


def brand_id_of(brand: Brand | None) -> int | None:
    """The brand's id, None meaning every brand (what the repository functions take)."""
    return brand.id if brand is not None else None


def iso_time(value: datetime | None) -> str | None:
    """A stored time as ISO 8601 with its offset (the store's times are aware UTC)."""
    return None if value is None else value.isoformat()
