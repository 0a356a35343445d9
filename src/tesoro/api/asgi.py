"""An app factory for ASGI servers that start their own worker processes.

`uvicorn --factory tesoro.api.asgi:create_app_from_env --workers 4` imports this
in every worker; the settings come from `$TESORO_CONFIG` like every command's.
Workers do not migrate the schema (several processes would race to); run
`tesoro db upgrade` (or `tesoro serve` once) before starting them.
"""

from __future__ import annotations

from fastapi import FastAPI

from tesoro.api.app import create_app
from tesoro.settings import load_settings
from tesoro.store.db import open_store

__all__ = ["create_app_from_env"]


def create_app_from_env() -> FastAPI:
    settings = load_settings()
    return create_app(settings, open_store(settings, migrate=False))
