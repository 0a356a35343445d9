"""The one migration chain builds exactly the schema the models describe, on SQLite and PostgreSQL.

The models are what the code reads and writes; the migrations are what a database
really gets. The test takes the store down to an empty database, upgrades it, and
asks Alembic's autogenerate to compare the two: any column, type, index or constraint
one side has and the other lacks shows as a difference. Full-text search cannot be
expressed by the models, so it is left out of the comparison and checked by name.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import tesoro.store.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from tesoro.store.migrate import alembic_config, current_revision, head_revision, upgrade

# Objects the migration creates beside the models: SQLite's FTS5 table (and its shadow tables),
# PostgreSQL's generated tsvector column and its GIN index.
FTS_TABLE = "curation_fts"
FTS_COLUMN = "search_vector"
FTS_INDEX = "ix_curation_item_search"


def _not_full_text(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    if type_ == "column" and name == FTS_COLUMN:
        return False
    return not (type_ == "index" and name == FTS_INDEX)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": _not_full_text}
    )
    return list(compare_metadata(context, SQLModel.metadata))


def _downgrade_to_empty(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


def test_an_empty_database_upgrades_to_exactly_the_models(engine: Engine) -> None:
    _downgrade_to_empty(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(engine) is None

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert _differences(connection) == []
        tables = set(inspect(connection).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        if connection.dialect.name == "sqlite":
            assert FTS_TABLE in tables
            triggers = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'curation_item'")
            ).scalars()
            assert set(triggers) == {f"curation_item_fts_{op}" for op in ("insert", "delete", "update")}
        else:
            columns = {c["name"]: c for c in inspect(connection).get_columns("curation_item")}
            assert FTS_COLUMN in columns and str(columns[FTS_COLUMN]["type"]) == "TSVECTOR"
            indexes = {i["name"] for i in inspect(connection).get_indexes("curation_item")}
            assert FTS_INDEX in indexes


def test_migrations_have_a_single_head_and_reach_it(engine: Engine) -> None:
    head = head_revision()
    assert "," not in head, f"several heads ({head}): a new migration must build on the single head"
    assert current_revision(engine) == head
