"""`/api/webhooks/tiktok`: signed mention notifications start one collection of the mentions source."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tesoro.api.app import create_app
from tesoro.api.source_runs import SourceRuns
from tesoro.settings import ConfigError, Settings, load_settings
from tesoro.simulator.demo import demo_settings, point_webhooks
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import SimAuthor, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.simulator.tiktok_business import MENTIONS_ROUTE, mention_webhook, notify_mentions
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.sources import get_source
from tesoro.store.tables import Post
from worlds.receiver import webhook_receiver

URL = "/api/webhooks/tiktok"
SOURCE = "tt-mentions"
LUCIA = SimAuthor(id=81, handle="lucia.cumbres", name="Lucía", followers=4200, following=180)


def settings_for(sim: SimulatorServer, tmp_path: Path, **webhook: Any) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "base_dir": tmp_path,
            "brands": [{"name": "Andes Outdoor"}],
            "queries": [{"name": "andes", "brand": "Andes Outdoor", "query": "@andesoutdoor OR cumbre"}],
            "sources": [
                {
                    "name": SOURCE,
                    "platform": "tiktok",
                    "query": "andes",
                    "account_id": sim.state.credentials.tiktok_business_id,
                    "base_url": sim.base_url,
                    "credentials": {"access_token_env": "TT_BIZ_TOKEN"},
                }
            ],
            "tiktok_webhook": {"app_secret_env": "TT_APP_SECRET", **webhook},
        }
    )


@pytest.fixture
def hook(sqlite_engine: Engine, sim: SimulatorServer, tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(sim, tmp_path)
    with session_scope(sqlite_engine) as session:
        sync_catalog(session, settings)
    environ = {
        "TT_BIZ_TOKEN": sim.state.credentials.tiktok_business_token,
        "TT_APP_SECRET": sim.state.credentials.tiktok_app_secret,
    }
    app = create_app(settings, sqlite_engine, environ=environ)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def runs(client: TestClient) -> SourceRuns:
    source_runs: SourceRuns = client.app.state.source_runs  # type: ignore[attr-defined]
    return source_runs


def settle(client: TestClient) -> None:
    assert runs(client).wait_idle(timeout=20), "the webhook's collection did not end"


def video(sim: SimulatorServer, text: str = "Subiendo con mis Cumbre @andesoutdoor") -> SimPost:
    post = SimPost(
        id=sim.state.world.next_id(),
        platform="tiktok",
        created_at=datetime.now(UTC) - timedelta(minutes=2),
        text=text,
        lang="es",
        author=LUCIA,
        kind="video",
        views=3000,
        likes=210,
    )
    sim.state.world.add(post)
    return post


def signed(sim: SimulatorServer, body: bytes, *, at: int | None = None) -> dict[str, str]:
    moment = int(time.time()) if at is None else at
    secret = sim.state.credentials.tiktok_app_secret.encode()
    digest = hmac.new(secret, f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return {"TikTok-Signature": f"t={moment},s={digest}", "Content-Type": "application/json"}


def notification(sim: SimulatorServer, **fields: Any) -> bytes:
    payload = {
        "client_key": sim.state.credentials.tiktok_app_id,
        "event": "mention.video",
        "create_time": int(time.time()),
        "user_openid": sim.state.credentials.tiktok_business_id,
        "content": json.dumps({"item_id": "1"}),
        **fields,
    }
    return json.dumps(payload).encode()


def stored(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.exec(select(Post.external_id).where(col(Post.platform) == "tiktok")))


def test_a_signed_mention_starts_a_collection_that_stores_the_video(
    hook: TestClient, sim: SimulatorServer, sqlite_engine: Engine
) -> None:
    post = video(sim)
    body, headers = mention_webhook(sim.state, post)
    answer = hook.post(URL, content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.json() == {
        "accepted": True,
        "event": "mention.video",
        "source": SOURCE,
        "run": "started",
        "ignored": None,
    }
    settle(hook)
    assert stored(sqlite_engine) == [str(post.id)]
    assert sim.state.faults.calls[MENTIONS_ROUTE] == 1
    with session_scope(sqlite_engine) as session:
        row = get_source(session, SOURCE)
        assert row is not None and row.health == "ok" and row.cursor
        brand = session.exec(select(Post.brand_id)).one()
        assert brand is not None, "the post belongs to the query's brand, as a scheduled run's would"


def test_bad_missing_or_stale_signatures_are_refused(
    hook: TestClient, sim: SimulatorServer, sqlite_engine: Engine
) -> None:
    body, headers = mention_webhook(sim.state, video(sim))
    good = headers["TikTok-Signature"]
    moment = good.split(",")[0].removeprefix("t=")
    forged = hmac.new(b"not-the-secret", f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    for signature in ("", f"t={moment},s={forged}", good[:-2], f"s={good.split('s=')[1]}", "sha256=abc"):
        answer = hook.post(URL, content=body, headers={"TikTok-Signature": signature})
        assert answer.status_code == 403, signature
    assert hook.post(URL, content=body).status_code == 403
    assert hook.post(URL, content=body.replace(b"mention", b"mentiom"), headers=headers).status_code == 403
    # Signed with the right secret, but too long ago (a replay) or too far ahead.
    for at in (int(time.time()) - 301, int(time.time()) + 3600):
        assert hook.post(URL, content=body, headers=signed(sim, body, at=at)).status_code == 403
    recent = signed(sim, body, at=int(time.time()) - 200)
    assert hook.post(URL, content=body, headers=recent).status_code == 200
    settle(hook)
    assert runs(hook).finished == 1


def test_hostile_payloads(hook: TestClient, sim: SimulatorServer, sqlite_engine: Engine) -> None:
    big = notification(sim, content=json.dumps({"pad": "x" * 70_000}))
    assert hook.post(URL, content=big, headers=signed(sim, big)).status_code == 413
    bodies = [
        b"not json",
        b"[1, 2]",
        b'{"event": "mention.video"}',
        notification(sim, content="{not json"),
        notification(sim, content={"item_id": "1"}),  # content must be a JSON document sent as a string
        notification(sim, create_time="1700000000"),
        notification(sim, user_openid=""),
        notification(sim, event="mention\x00"),
    ]
    for body in bodies:
        assert hook.post(URL, content=body, headers=signed(sim, body)).status_code == 400, body
    assert runs(hook).finished == 0 and not runs(hook).busy(SOURCE)
    assert stored(sqlite_engine) == []


def test_other_events_and_unknown_accounts_are_answered_200_and_ignored(
    hook: TestClient, sim: SimulatorServer
) -> None:
    for fields, reason in (
        ({"event": "video.publish.complete"}, "event 'video.publish.complete' is not a mention"),
        ({"user_openid": "-000SomeoneElse"}, "no TikTok mentions source for account '-000SomeoneElse'"),
    ):
        body = notification(sim, **fields)
        answer = hook.post(URL, content=body, headers=signed(sim, body))
        assert answer.status_code == 200
        assert answer.json()["accepted"] is False and answer.json()["ignored"] == reason
        assert answer.json()["run"] is None
    # Any event named for mentions counts, whatever TikTok calls it exactly.
    body = notification(sim, event="Business.MENTION.Comment")
    assert hook.post(URL, content=body, headers=signed(sim, body)).json()["run"] == "started"
    settle(hook)
    assert runs(hook).finished == 1


def test_repeated_and_bursting_notifications_cost_at_most_two_runs(
    hook: TestClient, sim: SimulatorServer, sqlite_engine: Engine
) -> None:
    posts = [video(sim, f"Cumbre número {i} @andesoutdoor") for i in range(5)]
    calls = [mention_webhook(sim.state, posts[i % 5]) for i in range(20)]
    calls.insert(1, calls[0])  # TikTok delivers at least once: the same call twice
    # Hold the store's write lock, so the first run cannot get past its first write while the burst
    # arrives: it is in flight for the whole burst, deterministically.
    database = sqlite_engine.url.database
    assert database is not None
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        answers = [hook.post(URL, content=body, headers=headers) for body, headers in calls]
        assert runs(hook).busy(SOURCE)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert all(a.status_code == 200 and a.json()["accepted"] for a in answers)
    assert [a.json()["run"] for a in answers] == ["started", "queued"] + ["coalesced"] * 19
    settle(hook)
    assert runs(hook).finished == 2
    assert sim.state.faults.calls[MENTIONS_ROUTE] == 2
    assert sorted(stored(sqlite_engine)) == sorted(str(p.id) for p in posts)


def test_a_failing_collection_shows_in_the_health_and_the_api_keeps_serving(
    hook: TestClient, sim: SimulatorServer, sqlite_engine: Engine
) -> None:
    sim.state.faults.inject(MENTIONS_ROUTE, Fault.AUTH)
    body, headers = mention_webhook(sim.state, video(sim))
    assert hook.post(URL, content=body, headers=headers).json()["run"] == "started"
    settle(hook)
    with session_scope(sqlite_engine) as session:
        row = get_source(session, SOURCE)
        assert row is not None and row.health == "degraded"
        assert "authentication failed" in (row.last_error or "")
    assert stored(sqlite_engine) == []
    assert hook.get("/healthz").status_code == 200
    # The next notification runs again, and this time collects.
    body, headers = mention_webhook(sim.state, video(sim, "otra Cumbre @andesoutdoor"))
    assert hook.post(URL, content=body, headers=headers).json()["run"] == "started"
    settle(hook)
    assert len(stored(sqlite_engine)) == 2
    with session_scope(sqlite_engine) as session:
        row = get_source(session, SOURCE)
        assert row is not None and row.health == "ok"


def test_an_unset_source_secret_marks_the_source_failing(
    sqlite_engine: Engine, sim: SimulatorServer, tmp_path: Path
) -> None:
    settings = settings_for(sim, tmp_path)
    with session_scope(sqlite_engine) as session:
        sync_catalog(session, settings)
    environ = {"TT_APP_SECRET": sim.state.credentials.tiktok_app_secret}  # no TT_BIZ_TOKEN
    with TestClient(create_app(settings, sqlite_engine, environ=environ)) as client:
        body, headers = mention_webhook(sim.state, video(sim))
        assert client.post(URL, content=body, headers=headers).json()["run"] == "started"
        settle(client)
    with session_scope(sqlite_engine) as session:
        row = get_source(session, SOURCE)
        assert row is not None and row.health == "degraded" and "TT_BIZ_TOKEN" in (row.last_error or "")


def test_without_its_secret_the_endpoint_is_not_there(
    sqlite_engine: Engine, sim: SimulatorServer, tmp_path: Path
) -> None:
    bare = Settings.model_validate({"data_dir": str(tmp_path), "base_dir": tmp_path})
    with TestClient(create_app(bare, sqlite_engine, environ={})) as client:
        assert client.post(URL, content=b"{}").status_code == 404
    # Configured, but the variable it names is not set.
    with TestClient(create_app(settings_for(sim, tmp_path), sqlite_engine, environ={})) as client:
        body = notification(sim)
        assert client.post(URL, content=body, headers=signed(sim, body)).status_code == 404


def test_the_settings_refuse_bad_values(sim: SimulatorServer, tmp_path: Path) -> None:
    for webhook, message in (
        ({"app_secret_env": "not a var"}, "is not an environment-variable name"),
        ({"max_body_bytes": 10}, "greater than or equal to 1024"),
        ({"signature_tolerance_s": 0}, "greater than or equal to 30"),
        ({"source": "nope"}, "tiktok_webhook.source: 'nope' is not a TikTok mentions source"),
        ({"app_secret": "x"}, "secrets may not be written in the file"),
        ({"tolerance_s": 60}, "tiktok_webhook.tolerance_s"),
    ):
        path = tmp_path / "tesoro.toml"
        table = ", ".join(f"{key} = {json.dumps(value)}" for key, value in webhook.items())
        path.write_text(f"tiktok_webhook = {{ {table} }}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_settings(path, environ={})
    chosen = settings_for(sim, tmp_path, source=SOURCE)
    assert chosen.tiktok_webhook.source == SOURCE and chosen.tiktok_webhook.signature_tolerance_s == 300


def test_a_configured_source_runs_whatever_the_account(
    sqlite_engine: Engine, sim: SimulatorServer, tmp_path: Path
) -> None:
    settings = settings_for(sim, tmp_path, source=SOURCE)
    with session_scope(sqlite_engine) as session:
        sync_catalog(session, settings)
    environ = {
        "TT_BIZ_TOKEN": sim.state.credentials.tiktok_business_token,
        "TT_APP_SECRET": sim.state.credentials.tiktok_app_secret,
    }
    with TestClient(create_app(settings, sqlite_engine, environ=environ)) as client:
        body = notification(sim, user_openid="an-open-id-that-is-not-the-business-id")
        assert client.post(URL, content=body, headers=signed(sim, body)).json()["source"] == SOURCE
        settle(client)


def test_the_simulator_posts_the_mention_webhook_as_tiktok_would(
    hook: TestClient, sim: SimulatorServer, sqlite_engine: Engine
) -> None:
    with webhook_receiver() as receiver:
        sim.state.tiktok_business_webhook_url = f"{receiver.base_url}{URL}"
        quiet = video(sim, "una Cumbre sin nombrar a nadie")
        loud = video(sim)
        assert notify_mentions(sim.state, [quiet, loud]) == 1
    [(body, headers)] = receiver.calls
    sent = json.loads(body)
    assert sent["user_openid"] == sim.state.credentials.tiktok_business_id
    assert json.loads(sent["content"])["item_id"] == str(loud.id)
    assert headers["Webhook-Schema-Version"] == "1.0" and headers["X-Tt-Logid"]
    # What the simulator sent is what Tesoro's endpoint accepts and collects.
    answer = hook.post(URL, content=body, headers={"TikTok-Signature": headers["TikTok-Signature"]})
    assert answer.json()["run"] == "started"
    settle(hook)
    assert stored(sqlite_engine) == [str(loud.id)]


def test_the_demo_points_the_simulator_at_its_endpoint_only_with_a_mentions_source(tmp_path: Path) -> None:
    state = SimState()
    settings = demo_settings(tmp_path, "http://127.0.0.1:40123")
    assert settings.tiktok_webhook.app_secret_env == "DEMO_TIKTOK_APP_SECRET"
    point_webhooks(state, settings, "http://127.0.0.1:8000")
    assert state.meta.webhook_url == "http://127.0.0.1:8000/api/webhooks/meta"
    assert state.tiktok_business_webhook_url == "http://127.0.0.1:8000/api/webhooks/tiktok"
    # Without a TikTok mentions source the simulator is not pointed at the endpoint.
    text = resources.files("tesoro").joinpath("data/demo.toml").read_text(encoding="utf-8")
    start = text.index('[[sources]]\nname = "demo-tiktok-mentions"')
    end = text.index("\n\n", start) + 2
    path = tmp_path / "demo.toml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    quiet = SimState()
    point_webhooks(quiet, load_settings(path, environ={}), "http://127.0.0.1:8000")
    assert quiet.meta.webhook_url is not None and quiet.tiktok_business_webhook_url is None
