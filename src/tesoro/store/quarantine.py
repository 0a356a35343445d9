"""The quarantine repository: items the collector boundary refused, listed, retried and released.

`quarantine` runs inside the caller's transaction, so the runner stores a page's good posts,
its refused items and its cursor together. An item seen again (same source, same JSON) keeps
one row: its reason, `last_seen_at` and `times_seen` are refreshed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from tesoro.models import RejectedItem
from tesoro.store.sql import dialect_insert, table_of
from tesoro.store.tables import QuarantineItem

__all__ = [
    "QuarantineItem",
    "count_quarantined",
    "list_quarantined",
    "mark_still_bad",
    "quarantine",
    "release",
]

_MAX_REASON = 1_000
_MAX_SOURCE = 300
_MAX_ID = 256
_MAX_RAW = 65_536


def _safe(value: str, limit: int) -> str:
    """Text any backend stores: no NUL, no lone surrogate (escaped as `\\udxxx`), at most `limit`."""
    value = value.replace("\x00", "\\u0000")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value[:limit]


def quarantine(
    session: Session,
    items: Sequence[RejectedItem],
    *,
    source: str,
    brand_id: int | None = None,
    at: datetime | None = None,
) -> int:
    """Keep `items` in quarantine; returns how many were given.

    `raw` is kept as ASCII JSON (NUL and lone surrogates escaped, a NaN as `NaN`), cut at 64 k
    characters (a cut one no longer parses, and a retry says so).
    """
    at = at or datetime.now(UTC)
    source = _safe(source, _MAX_SOURCE)
    rows: dict[str, dict[str, object]] = {}
    for item in items:
        try:
            raw = json.dumps(item.raw, ensure_ascii=True, default=str)[:_MAX_RAW]
        except (ValueError, TypeError, RecursionError):  # an int of 5,000 digits, a cycle
            raw = json.dumps(f"(not kept: a {type(item.raw).__name__} that cannot be written as JSON)")
        digest = hashlib.sha256(f"{source}\n{raw}".encode()).hexdigest()
        rows[digest] = {
            "source": source,
            "platform": _safe(item.platform, 32),
            "external_id": None if item.external_id is None else _safe(item.external_id, _MAX_ID),
            "kind": item.kind[:8],
            "line": item.line if item.line is None or 0 <= item.line < 2**31 else None,
            "brand_id": brand_id,
            "raw": raw,
            "raw_sha256": digest,
            "reason": _safe(item.reason, _MAX_REASON),
            "times_seen": 1,
            "retries": 0,
            "first_seen_at": at,
            "last_seen_at": at,
        }
    if not rows:
        return 0
    table = table_of(QuarantineItem)
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.raw_sha256],
        set_={
            "reason": stmt.excluded.reason,
            "line": stmt.excluded.line,
            "last_seen_at": stmt.excluded.last_seen_at,
            "times_seen": table.c.times_seen + 1,
        },
    )
    session.connection().execute(stmt, list(rows.values()))
    return len(items)


def list_quarantined(
    session: Session,
    *,
    source: str | None = None,
    ids: Sequence[int] | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> list[QuarantineItem]:
    """Quarantined items, the most recently seen first."""
    stmt = select(QuarantineItem)
    if source is not None:
        stmt = stmt.where(col(QuarantineItem.source) == source)
    if ids is not None:
        stmt = stmt.where(col(QuarantineItem.id).in_(list(ids)))
    stmt = stmt.order_by(col(QuarantineItem.last_seen_at).desc(), col(QuarantineItem.id).desc())
    return list(session.exec(stmt.offset(offset).limit(limit)))


def count_quarantined(session: Session, *, source: str | None = None) -> int:
    stmt = select(func.count()).select_from(QuarantineItem)
    if source is not None:
        stmt = stmt.where(col(QuarantineItem.source) == source)
    return int(session.exec(stmt).one())


def release(session: Session, ids: Sequence[int]) -> int:
    """Remove items from quarantine (stored after a retry); returns how many were removed."""
    if not ids:
        return 0
    result = session.connection().execute(
        delete(table_of(QuarantineItem)).where(table_of(QuarantineItem).c.id.in_(list(ids)))
    )
    return int(result.rowcount or 0)


def mark_still_bad(session: Session, item_id: int, *, reason: str, at: datetime | None = None) -> None:
    """A retry refused the item again: keep it with the new reason."""
    table = table_of(QuarantineItem)
    session.connection().execute(
        update(table)
        .where(table.c.id == item_id)
        .values(
            reason=_safe(reason, _MAX_REASON),
            retries=table.c.retries + 1,
            last_seen_at=at or datetime.now(UTC),
        )
    )
