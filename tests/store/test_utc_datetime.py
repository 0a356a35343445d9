"""Every datetime column gives back aware UTC on SQLite and PostgreSQL, whatever zone it was written in.

Readers compare and format stored times without fixing them up first, so the column
type itself must hold the promise: an aware value is stored as its UTC instant, a
naive value is taken as UTC (what Tesoro's own code always meant by one), and what
comes back is the same instant with `tzinfo=UTC`, in ORM objects, Core rows, aggregates
and comparisons alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import DateTime, func, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, col

from tesoro.store.engine import session_scope
from tesoro.store.tables import Person, UtcDateTime

INSTANT = datetime(2026, 11, 1, 12, 30, 15, 250000, tzinfo=UTC)
LIMA = timezone(timedelta(hours=-5))


def _store(engine: Engine, *values: datetime) -> list[int]:
    with session_scope(engine) as session:
        people = [Person(display_name=str(i), created_at=value) for i, value in enumerate(values)]
        session.add_all(people)
        session.flush()
        return [p.id for p in people if p.id is not None]


def test_every_datetime_column_uses_the_utc_type() -> None:
    columns = [column for table in SQLModel.metadata.tables.values() for column in table.columns]
    plain = [f"{c.table.name}.{c.name}" for c in columns if isinstance(c.type, DateTime)]
    assert plain == [], "a datetime column without UtcDateTime would hand SQLite's naive times back"
    assert sum(isinstance(c.type, UtcDateTime) for c in columns) > 30


def test_times_come_back_aware_utc_whatever_zone_they_were_written_in(engine: Engine) -> None:
    ids = _store(engine, INSTANT, INSTANT.astimezone(LIMA), INSTANT.replace(tzinfo=None))
    with session_scope(engine) as session:
        read = [session.get(Person, i) for i in ids]
        assert [p.created_at if p else None for p in read] == [INSTANT] * 3
        assert all(p is not None and p.created_at is not None and p.created_at.tzinfo is UTC for p in read)
        rows = session.execute(select(col(Person.created_at)).where(col(Person.id).in_(ids))).scalars().all()
        assert rows == [INSTANT] * 3 and all(r.tzinfo is UTC for r in rows)
        latest = session.execute(select(func.max(col(Person.created_at)))).scalar_one()
        assert latest == INSTANT and latest.tzinfo is UTC


def test_comparisons_use_the_instant_not_the_wall_clock(engine: Engine) -> None:
    [earlier, later] = _store(engine, INSTANT, INSTANT + timedelta(hours=1))
    # 08:00 in Lima is 13:00 UTC: between the two, though its wall clock is before both.
    between = (INSTANT + timedelta(minutes=30)).astimezone(LIMA)
    with session_scope(engine) as session:
        after = (
            session.execute(select(col(Person.id)).where(col(Person.created_at) > between)).scalars().all()
        )
    assert list(after) == [later] and earlier not in after
