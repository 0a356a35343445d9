"""`tesoro db upgrade`: Alembic, configured from code so no alembic.ini has to be found on disk."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # '%' must be doubled for configparser (passwords in URLs may contain it).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the head of the one linear chain) in one transaction.

    The chain is linear on purpose: a new migration revises the last one, so
    `current_revision` is a single id and an upgrade has one order to apply.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return ", ".join(sorted(heads))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(sorted(heads)) or None
