"""Retrying quarantined items: each is rebuilt from its kept JSON and run through the boundary again.

A file row is parsed again (`files.parse_row`), a refused post is rebuilt as it was collected;
either way `boundary.check_post` decides. An item that passes is stored (with its source and
brand when they are still known) and leaves quarantine; one that fails stays with the new reason.
Useful after the boundary's rules change, or after a row was fixed by hand in the store.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from tesoro.collector.boundary import Refused, check_post, post_from_json
from tesoro.collector.files import RowError, parse_row
from tesoro.models import NormalizedPost
from tesoro.store.engine import session_scope
from tesoro.store.posts import upsert_posts
from tesoro.store.quarantine import QuarantineItem, list_quarantined, mark_still_bad, release
from tesoro.store.sources import get_source

__all__ = ["RetryReport", "rebuild", "retry_quarantined"]


@dataclass
class RetryReport:
    stored: int = 0
    still_bad: int = 0


def rebuild(item: QuarantineItem, *, now: datetime | None = None) -> NormalizedPost:
    """The item as a post that passes the boundary now, or `Refused` with the reason."""
    try:
        raw = json.loads(item.raw)
    except ValueError:
        raise Refused("the kept JSON is cut or invalid; the item cannot be rebuilt") from None
    if item.kind == "payload":
        note = " (a platform item is not rebuilt here: the platform serves it again)"
        raise Refused(item.reason.removesuffix(note) + note)
    if item.kind == "post":
        post = post_from_json(raw)
    else:
        if not isinstance(raw, dict):
            raise Refused("the row is not a JSON object")
        try:
            post = parse_row(raw)
        except RowError as exc:
            raise Refused(str(exc)) from None
    return check_post(post, now=now)


def retry_quarantined(
    engine: Engine,
    *,
    ids: Sequence[int] | None = None,
    source: str | None = None,
    now: datetime | None = None,
) -> RetryReport:
    """Run the boundary again on quarantined items (all, or `ids`, or one `source`'s)."""
    now = now or datetime.now(UTC)
    report = RetryReport()
    with session_scope(engine) as session:
        items = list_quarantined(session, ids=ids, source=source, limit=None)
        session.expunge_all()
    for item in items:
        assert item.id is not None
        try:
            post = rebuild(item, now=now)
        except Refused as exc:
            reason = str(exc)
        except Exception as exc:  # a rebuild bug keeps the item, with what went wrong
            reason = f"retry failed: {type(exc).__name__}: {exc}"
        else:
            # Stored and released in one transaction (one per item: one failure costs one item).
            with session_scope(engine) as session:
                stored = get_source(session, item.source)
                upsert_posts(
                    session,
                    [post],
                    source_id=stored.id if stored is not None else None,
                    brand_id=item.brand_id,
                    now=now,
                )
                release(session, [item.id])
            report.stored += 1
            continue
        with session_scope(engine) as session:
            mark_still_bad(session, item.id, reason=reason, at=now)
        report.still_bad += 1
    return report
