"""Imports every table module so SQLModel's metadata knows the whole schema.

Core tables live in `tables.py`; a feature area may keep its own tables in a
`tables_<area>.py` module beside it. Alembic's environment and the tests call
`load_all_tables()` so no module is forgotten.
"""

from __future__ import annotations

import importlib
import pkgutil

import tesoro.store

__all__ = ["load_all_tables"]


def load_all_tables() -> None:
    for module in pkgutil.iter_modules(tesoro.store.__path__):
        if module.name == "tables" or module.name.startswith("tables_"):
            importlib.import_module(f"tesoro.store.{module.name}")
