"""GET /api/settings: the running configuration, every URL's credentials masked (issue 17, item 3)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import create_app
from tesoro.settings import Settings
from tesoro.store.keys import Role
from worlds.api import make_settings, seed

REDIS_PASSWORD = "hunter2-redis-password"
SOURCE_PASSWORD = "hunter2-source-password"


def test_urls_in_the_settings_are_shown_with_their_credentials_masked(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    base = make_settings(tmp_path).model_dump(exclude={"base_dir"})
    settings = Settings.model_validate(
        {
            **base,
            "base_dir": tmp_path,
            "queue": {"backend": "rq", "redis_url": f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0"},
            "queries": [{"name": "andes", "brand": "Andes Outdoor", "query": "andes"}],
            "sources": [
                {
                    "name": "x-andes",
                    "platform": "x",
                    "query": "andes",
                    "base_url": f"https://sim:{SOURCE_PASSWORD}@sim.internal/x?api_key={SOURCE_PASSWORD}",
                }
            ],
        }
    )
    seeded = seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine), base_url="http://testserver") as client:
        response = client.get("/api/settings", headers=seeded.headers(Role.ADMIN))
    assert response.status_code == 200, response.text
    assert REDIS_PASSWORD not in response.text and SOURCE_PASSWORD not in response.text
    body = response.json()
    assert body["queue"]["redis_url"] == "redis://:***@cache.internal:6379/0"
    assert body["sources"][0]["base_url"] == "https://sim:***@sim.internal/x?api_key=***"
    assert body["database"]["url"].startswith("sqlite:///")
