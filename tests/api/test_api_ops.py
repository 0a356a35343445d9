"""The probes and the metrics: /healthz, /readyz (and its 503s), /metrics (roles, content), request ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from tesoro.api.app import create_app
from tesoro.settings import Settings
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.tables.catalog import Source
from worlds.api import Seeded, make_settings, seed
from worlds.common import eventually


def _settings(tmp_path: Path, **sections: dict[str, object]) -> Settings:
    """The API world's settings with some sections' keys changed (settings are frozen)."""
    base = make_settings(tmp_path)
    update = {name: getattr(base, name).model_copy(update=keys) for name, keys in sections.items()}
    return base.model_copy(update=update)


def _add_sources(engine: Engine, **collected: int) -> None:
    with session_scope(engine) as session:
        for name, count in collected.items():
            session.add(Source(name=name, platform="mastodon", posts_collected=count))


def _ready(client: TestClient) -> dict[str, object]:
    """/readyz until the index has loaded (the first probe starts the load)."""
    answer = eventually(
        lambda: (r := client.get("/readyz")).status_code == 200 and r,
        timeout=20,
        message=lambda: client.get("/readyz").text,
    )
    body: dict[str, object] = answer.json()  # type: ignore[attr-defined]
    return body


def test_healthz_answers_without_the_database(tmp_path: Path, api_settings: Settings) -> None:
    # A database that does not exist: the process is alive all the same, and not ready.
    dead = create_engine(f"sqlite:///{tmp_path}/missing/nothing.db")
    with TestClient(create_app(api_settings, dead)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        answer = client.get("/readyz")
    assert answer.status_code == 503
    checks = {c["name"]: c for c in answer.json()["checks"]}
    assert answer.json()["status"] == "not_ready"
    assert checks["database"]["ok"] is False and "OperationalError" in checks["database"]["detail"]
    assert checks["index"]["ok"] is False


def test_readyz_waits_for_the_index_then_is_ready(client: TestClient) -> None:
    first = client.get("/readyz")
    assert first.status_code in (200, 503)
    if first.status_code == 503:  # the load started in the background
        assert {c["name"]: c["ok"] for c in first.json()["checks"]} == {"database": True, "index": False}
    body = _ready(client)
    assert body == {
        "status": "ready",
        "checks": [
            {"name": "database", "ok": True, "detail": ""},
            {"name": "index", "ok": True, "detail": ""},
        ],
    }


def test_readyz_names_redis_when_the_queue_is_rq_and_redis_is_down(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    # Nothing listens on port 1.
    settings = _settings(tmp_path, queue={"backend": "rq", "redis_url": "redis://127.0.0.1:1/0"})
    seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine)) as client:

        def index_ready() -> Any:
            got = client.get("/readyz")
            return got if {c["name"]: c for c in got.json()["checks"]}["index"]["ok"] else None

        answer = eventually(index_ready, timeout=10, message="the library index never became ready")
    checks = {c["name"]: c for c in answer.json()["checks"]}
    assert answer.status_code == 503
    assert checks["database"]["ok"] and checks["index"]["ok"]
    assert checks["redis"]["ok"] is False and "Connection" in checks["redis"]["detail"]


def test_readyz_checks_redis_when_it_answers(sqlite_engine: Engine, tmp_path: Path) -> None:
    settings = _settings(tmp_path, queue={"backend": "rq"})
    seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine)) as client:
        body = _ready(client)
    assert {"name": "redis", "ok": True, "detail": ""} in body["checks"]  # type: ignore[operator]


def test_metrics_need_an_admin_key_by_default(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=seeded.headers(Role.VIEWER)).status_code == 403
    answer = client.get("/metrics", headers=seeded.headers(Role.ADMIN))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(("access", "anonymous"), [("public", 200), ("off", 404)])
def test_metrics_access_setting(sqlite_engine: Engine, tmp_path: Path, access: str, anonymous: int) -> None:
    settings = _settings(tmp_path, ops={"metrics_access": access})
    seeded = seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine)) as client:
        assert client.get("/metrics").status_code == anonymous
        assert client.get("/metrics", headers=seeded.headers(Role.ADMIN)).status_code == anonymous


def test_metrics_content(client: TestClient, seeded: Seeded, sqlite_engine: Engine) -> None:
    _add_sources(sqlite_engine, **{"masto-es": 1234, "masto-en": 0})
    text = client.get("/metrics", headers=seeded.headers(Role.ADMIN)).text
    assert "# TYPE tesoro_posts_collected_total counter" in text
    assert 'tesoro_posts_collected_total{source="masto-es"} 1234.0' in text
    assert 'tesoro_posts_collected_total{source="masto-en"} 0.0' in text
    assert "# TYPE tesoro_alert_outbox gauge" in text
    assert "# TYPE tesoro_job_duration_seconds histogram" in text
    assert "tesoro_scheduler_leader 0.0" in text
    assert "tesoro_metrics_errors{" not in text  # every part was read
    assert "tesoro_queue_depth" not in text  # the inline backend has no queue


def test_metrics_survive_a_part_that_fails(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Redis down: the queue part is left out and counted, the store's figures still answer."""
    settings = _settings(
        tmp_path,
        queue={"backend": "rq", "redis_url": "redis://127.0.0.1:1/0"},
        ops={"metrics_access": "public"},
    )
    seed(sqlite_engine, settings)
    _add_sources(sqlite_engine, **{"masto-es": 3})
    with TestClient(create_app(settings, sqlite_engine)) as client:
        text = client.get("/metrics").text
    assert 'tesoro_metrics_errors{part="queue"} 1.0' in text
    assert 'tesoro_posts_collected_total{source="masto-es"} 3.0' in text


def test_request_id_is_answered_and_kept_only_when_sane(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    assert given.headers["X-Request-ID"] == "lb-1234.abc"
    hostile = client.get(
        "/healthz", headers={"X-Request-ID": 'x"\n{"level":"ERROR"}'[:20].replace("\n", " ")}
    )
    assert hostile.headers["X-Request-ID"] != 'x" {"level":"ERROR"}'
    assert len(hostile.headers["X-Request-ID"]) == 32
    fresh = client.get("/healthz")
    assert (
        len(fresh.headers["X-Request-ID"]) == 32
        and fresh.headers["X-Request-ID"] != hostile.headers["X-Request-ID"]
    )
