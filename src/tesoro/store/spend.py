"""Repository functions for what sources spend of their platform budgets (`source_spend`).

One row per run of a metered source: opened when the run starts, then added to in the same
transaction as each page the run stores (and once more when the run ends), so a process killed
mid-run has recorded exactly what its saved pages cost, on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from tesoro.store.tables import SourceSpend

__all__ = ["SpendRow", "add_spend", "open_spend", "prune_spend", "recent_spend", "spend_since"]


@dataclass(frozen=True, slots=True)
class SpendRow:
    id: int
    source_id: int
    started_at: datetime
    at: datetime
    units: int
    calls: int


def open_spend(session: Session, *, source_id: int, at: datetime) -> int:
    """A new run's row (nothing spent yet); its id is what the run adds to."""
    row = SourceSpend(source_id=source_id, started_at=at, at=at, units=0, calls=0)
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def add_spend(session: Session, *, spend_id: int, units: int, calls: int, at: datetime) -> None:
    """Add what a run spent since it last wrote (in the transaction of the page it paid for)."""
    if units == 0 and calls == 0:
        return
    session.execute(
        update(SourceSpend)
        .where(col(SourceSpend.id) == spend_id)
        .values(units=col(SourceSpend.units) + units, calls=col(SourceSpend.calls) + calls, at=at)
    )


def _rows(stmt: object, session: Session) -> list[SpendRow]:
    return [
        SpendRow(r.id or 0, r.source_id, r.started_at, r.at, r.units, r.calls)
        for r in session.exec(stmt)  # type: ignore[call-overload]
    ]


def spend_since(session: Session, *, source_ids: Sequence[int], since: datetime) -> list[SpendRow]:
    """Every run of these sources that spent something at or after `since`, oldest first."""
    if not source_ids:
        return []
    stmt = (
        select(SourceSpend)
        .where(col(SourceSpend.source_id).in_(list(source_ids)), col(SourceSpend.at) >= since)
        .where((col(SourceSpend.units) > 0) | (col(SourceSpend.calls) > 0))
        .order_by(col(SourceSpend.at), col(SourceSpend.id))
    )
    return _rows(stmt, session)


def recent_spend(session: Session, *, source_id: int, runs: int = 10) -> list[SpendRow]:
    """The source's last `runs` runs, newest first (what one run costs, on average)."""
    stmt = (
        select(SourceSpend)
        .where(col(SourceSpend.source_id) == source_id)
        .order_by(col(SourceSpend.id).desc())
        .limit(runs)
    )
    return _rows(stmt, session)


def prune_spend(session: Session, *, source_id: int, before: datetime) -> int:
    """Forget a source's runs older than every window (the longest is a month): how many went."""
    result = session.execute(
        delete(SourceSpend).where(col(SourceSpend.source_id) == source_id, col(SourceSpend.at) < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
