"""The store's reads behind /readyz and /metrics, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tesoro.store.engine import session_scope
from tesoro.store.ops import ping, posts_collected_by_source
from tesoro.store.tables.catalog import Source


def test_posts_collected_by_source(engine: Engine) -> None:
    with session_scope(engine) as session:
        ping(session)
        assert posts_collected_by_source(session) == {}
        session.add(Source(name="masto-es", platform="mastodon", posts_collected=5_000_000_000))
        session.add(Source(name="bsky", platform="bluesky"))
    with session_scope(engine) as session:
        assert posts_collected_by_source(session) == {"masto-es": 5_000_000_000, "bsky": 0}
