"""Small SQL helpers every repository module shares: the Core table of a model, the dialect's
INSERT (for ON CONFLICT), `IN` as one array parameter, bulk updates, portable JSON and epoch
expressions, and numeric result matrices.

They used to be private functions of one repository imported by the others; they live
here so no repository reaches into another's internals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    ColumnElement,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    extract,
    func,
    text,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

__all__ = [
    "any_of",
    "bulk_update",
    "chunks",
    "dialect_insert",
    "epoch_seconds",
    "json_has",
    "like_escape",
    "numeric_matrix",
    "pg_upsert_returning",
    "table_of",
]

# The PostgreSQL array type each `bulk_update` column kind travels as.
_PG_ARRAY_TYPES = {
    "int": "integer[]",
    "bigint": "bigint[]",
    "float": "double precision[]",
    "ts": "timestamptz[]",
}


def table_of(model: type[SQLModel]) -> Table:
    """The Core `Table` a SQLModel table class is mapped to (typed, unlike `Model.__table__`)."""
    table = sa_inspect(model).local_table
    assert isinstance(table, Table), f"{model.__name__} is not mapped to a table"
    return table


def dialect_insert(session: Session, table: Table) -> Any:
    """The backend's own `INSERT` construct, which has `on_conflict_do_*` (the generic one has not)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


def read(session: Session, stmt: Any, params: Mapping[str, Any] | None = None) -> Any:
    """Run a select of plain columns on the session's connection (Core), past the ORM's execution.

    The ORM's `session.execute` sets up an ORM context for every statement, which costs more than
    the statement itself for the few-row reads of a page of cards. Pending ORM changes are flushed
    first, as the ORM would (autoflush), so a read in the same transaction sees them.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(stmt, params)


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """`items` in slices of at most `size` (parameter lists stay under the backends' limits)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def any_of(session: Session, column: Any, values: Sequence[Any], *, element: Any) -> Any:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one parameter instead of thousands
    (psycopg parses every statement's placeholders in Python, which dominated ranking time).
    `element` is the SQL type of one value (the array's element type)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(element)))
    return column.in_(list(values))


def bulk_update(
    session: Session,
    *,
    table_name: str,
    key: str,
    columns: Mapping[str, str],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """`UPDATE table SET col = value WHERE key = id` for many rows at once.

    SQLite runs an executemany in C and is fast as it is. psycopg would send one
    statement per row, so on PostgreSQL the rows travel as arrays in one
    `UPDATE ... FROM unnest(...)` per chunk. `columns` maps each column to its
    kind ("int", "bigint", "float", "ts"); `key` is always an integer. Table and
    column names come from the repositories, never from input.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        table = SQLModel.metadata.tables[table_name]
        stmt = (
            update(table)
            .where(table.c[key] == bindparam("_key"))
            .values({name: bindparam(name) for name in columns})
        )
        session.connection().execute(stmt, [{"_key": r[key], **{n: r[n] for n in columns}} for r in rows])
        return
    names = list(columns)
    arrays = ", ".join(
        ["CAST(:_key AS integer[])"] + [f"CAST(:{n} AS {_PG_ARRAY_TYPES[columns[n]]})" for n in names]
    )
    sql = text(
        f"UPDATE {table_name} AS t SET "
        + ", ".join(f"{n} = v.{n}" for n in names)
        + f" FROM unnest({arrays}) AS v(_key, {', '.join(names)}) WHERE t.{key} = v._key"
    )
    for chunk in chunks(list(rows), 10000):
        params: dict[str, Any] = {"_key": [r[key] for r in chunk]}
        params.update({n: [r[n] for r in chunk] for n in names})
        session.execute(sql, params)


def _record_value(value: Any) -> Any:
    """A value JSON cannot carry as it is, written as PostgreSQL's input syntax for its type."""
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot travel in a JSON record")


def pg_upsert_returning(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
    fill: Sequence[str] = (),
    returning: Sequence[str],
) -> list[Any]:
    """PostgreSQL: `INSERT ... SELECT FROM json_to_recordset(rows) ON CONFLICT DO UPDATE ... RETURNING`.

    The rows travel as one JSON text, so the statement has one placeholder however many rows and
    columns it carries. psycopg parses every statement's placeholders in Python, and for a multi-row
    `VALUES` of a collected page (a placeholder per value) that parsing was the largest part of the
    store's CPU in `bench/collect.py`; arrays (one placeholder per column) were next, psycopg dumping
    each element of each array in Python. One `json.dumps` runs in C; the server reads the record
    with each column's own type. `update` columns take the incoming value on a conflict, `fill`
    columns only where the stored one is NULL. Every row has the same keys; a key must not repeat
    within `rows` (ON CONFLICT cannot touch a row twice). Returns the `returning` rows, in no
    particular order. Table and column names come from the repositories, never input.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    given = list(rows[0])
    # The columns' Python-side scalar defaults, which SQLAlchemy's own INSERT would have filled in.
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.name in given or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.name}: only scalar defaults can be filled in here")
        defaults[column.name] = column.default.arg  # type: ignore[attr-defined]
    names = given + list(defaults)
    processors = {}
    for name in given:
        column = table.c[name]
        if isinstance(column.type, JSON):
            continue  # a JSON column's value is nested in the record as it is
        process = column.type.bind_processor(dialect)
        if process is not None:
            processors[name] = process
    if processors:
        records: Sequence[Mapping[str, Any]] = [
            {**row, **{n: p(row[n]) for n, p in processors.items()}} for row in rows
        ]
    else:
        records = rows
    if defaults:
        records = [{**row, **defaults} for row in records]
    payload = json.dumps(records, default=_record_value, separators=(",", ":"), ensure_ascii=False)
    columns = ", ".join(quote(n) for n in names)
    shapes = ", ".join(f"{quote(n)} {table.c[n].type.compile(dialect=dialect)}" for n in names)
    target = quote(table.name)
    sets = [f"{quote(n)} = EXCLUDED.{quote(n)}" for n in update]
    sets += [f"{quote(n)} = coalesce({target}.{quote(n)}, EXCLUDED.{quote(n)})" for n in fill]
    sql = (
        f"INSERT INTO {target} ({columns}) SELECT {columns} "
        f"FROM json_to_recordset(CAST(:rows AS json)) AS v({shapes}) "
        f"ON CONFLICT ({', '.join(quote(n) for n in conflict)}) DO UPDATE SET {', '.join(sets)} "
        f"RETURNING {', '.join(quote(n) for n in returning)}"
    )
    return list(session.connection().execute(text(sql), {"rows": payload}))


def epoch_seconds(column: Any) -> ColumnElement[int]:
    """Seconds since 1970 (UTC) of a timestamp column, computed by the database on either backend.

    SQLAlchemy renders it as STRFTIME('%s') on SQLite and EXTRACT(EPOCH) on
    PostgreSQL; numbers are much cheaper to fetch than datetimes to parse.
    """
    return cast(extract("epoch", column), BigInteger)


def like_escape(text: str) -> str:
    """`text` with LIKE's wildcards escaped (use with `escape="\\"`), so input matches only itself."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def json_has(column: Any, value: str, *, lower: bool = False) -> ColumnElement[bool]:
    """Whether a JSON list column holds `value`, as a LIKE on its text (portable SQLite/PostgreSQL).

    The pattern is the value as Tesoro's JSON serializer writes it, quotes included,
    so "tutorial" does not match "tutorials".
    """
    as_text: ColumnElement[str] = cast(column, Text)
    if lower:
        as_text = func.lower(as_text)
        value = value.lower()
    return as_text.like(f"%{like_escape(json.dumps(value))}%", escape="\\")


def numeric_matrix(session: Session, stmt: Any, width: int) -> NDArray[np.float64]:
    """Run `stmt` and return its rows of numbers (None -> NaN) as a float matrix, columns in select order.

    Executed on the connection (Core), not through the ORM session, and rows are
    turned into plain tuples before numpy reads them: on a million rows the ORM
    result machinery costs half a second and numpy reading Row objects through the
    generic sequence protocol costs several seconds more.
    """
    rows = [tuple(row) for row in session.connection().execute(stmt)]
    if not rows:
        return np.zeros((0, width))
    return np.array(rows, dtype=np.float64).reshape(len(rows), width)
