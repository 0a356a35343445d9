"""The HTTP application: `create_app(settings, engine)`.

This is the service's front door; the review UI, library search, gallery and KPI
routes are added by their own modules as they land.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Query
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tesoro import __version__
from tesoro.settings import Settings
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts, list_posts
from tesoro.store.sources import list_sources

__all__ = ["create_app"]


def _iso(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit UTC offset (SQLite returns stored UTC times without one)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    app = FastAPI(title="Tesoro", version=__version__, description="Social listening and UGC curation.")
    app.state.settings = settings
    app.state.engine = engine

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    @app.get("/api/posts")
    def posts(
        platform: str | None = None,
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        with session_scope(engine) as session:
            rows = list_posts(session, platform=platform, limit=limit, offset=offset)
            total = count_posts(session, platform=platform)
            items = [
                {
                    "id": p.id,
                    "platform": p.platform,
                    "external_id": p.external_id,
                    "text": p.text,
                    "lang": p.lang,
                    "url": p.url,
                    "created_at": _iso(p.created_at),
                    "likes": p.likes,
                    "reposts": p.reposts,
                    "replies": p.replies,
                    "queue_state": p.queue_state,
                }
                for p in rows
            ]
        return {"total": total, "items": items}

    @app.get("/api/sources")
    def sources() -> list[dict[str, Any]]:
        with session_scope(engine) as session:
            return [
                {
                    "name": s.name,
                    "platform": s.platform,
                    "enabled": s.enabled,
                    "health": s.health,
                    "last_error": s.last_error,
                    "last_success_at": _iso(s.last_success_at),
                    "last_run_at": _iso(s.last_run_at),
                    "consecutive_failures": s.consecutive_failures,
                    "next_allowed_at": _iso(s.next_allowed_at),
                    "posts_collected": s.posts_collected,
                }
                for s in list_sources(session)
            ]

    return app
