"""An app factory for ASGI servers that start their own worker processes.

`uvicorn --factory tesoro.api.asgi:create_app_from_env --workers 4` imports this
in every worker; the settings come from `$TESORO_CONFIG` like every command's.
Workers do not migrate the schema (several processes would race to); run
`tesoro db upgrade` (or `tesoro serve` once) before starting them.

`uvicorn_options` is how `tesoro serve` runs uvicorn: forwarded headers
(X-Forwarded-For, X-Forwarded-Proto) are believed only from the proxies named in
`[server] forwarded_allow_ips`, never by default. uvicorn's own default trusts
127.0.0.1, so a proxy on the same machine could not be told from a client
spoofing the header (and evading the login limit); started by hand, give uvicorn
`--forwarded-allow-ips` (or `--no-proxy-headers`) to match.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tesoro.api.app import create_app
from tesoro.api.warmup import settle_gc
from tesoro.settings import Settings, load_settings
from tesoro.store.db import open_store

__all__ = ["create_app_from_env", "uvicorn_options"]


def create_app_from_env() -> FastAPI:
    settings = load_settings()
    app = create_app(settings, open_store(settings, migrate=False), warm_up=True)
    app.state.warmup.after = settle_gc  # a server process: its collector settles after the warm-up
    return app


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's keyword arguments for `settings`: the address, and whose forwarded headers count."""
    trusted = settings.server.forwarded_allow_ips
    return {
        "host": settings.server.host,
        "port": settings.server.port,
        "proxy_headers": bool(trusted),
        # uvicorn reads "127.0.0.1" (or $FORWARDED_ALLOW_IPS) when this is None: say "none" explicitly.
        "forwarded_allow_ips": ",".join(trusted) if trusted else "",
    }
