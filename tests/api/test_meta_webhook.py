"""`/api/webhooks/meta`: Meta's verification, signed mention notifications, hostile calls."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from tesoro.api.app import create_app
from tesoro.settings import Settings
from tesoro.simulator.instagram import media_id, mention_webhook, notify_mentions
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.tables import Post
from worlds.receiver import webhook_receiver

URL = "/api/webhooks/meta"
VERIFY = "a-verify-token"
MAYA = SimAuthor(id=79, handle="maya.trails", name="Maya", followers=1200, following=300)


@pytest.fixture
def hook(
    engine: Engine, sim: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("IG_TOKEN", sim.state.credentials.instagram_token)
    monkeypatch.setenv("META_VERIFY", VERIFY)
    monkeypatch.setenv("META_SECRET", sim.state.credentials.meta_app_secret)
    settings = Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "base_dir": tmp_path,
            "brands": [{"name": "Andes Outdoor"}],
            "queries": [{"name": "andes", "brand": "Andes Outdoor", "query": "#andesoutdoor"}],
            "sources": [
                {
                    "name": "ig",
                    "platform": "instagram",
                    "query": "andes",
                    "account_id": sim.state.credentials.instagram_user_id,
                    "base_url": f"{sim.base_url}/instagram/v21.0",
                    "credentials": {"access_token_env": "IG_TOKEN"},
                }
            ],
            "meta_webhook": {"verify_token_env": "META_VERIFY", "app_secret_env": "META_SECRET"},
        }
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client


def mention(sim: SimulatorServer, text: str = "Loving my Cumbre @andesoutdoor") -> SimPost:
    post = SimPost(
        id=sim.state.world.next_id(),
        platform="instagram",
        created_at=datetime.now(UTC),
        text=text,
        lang="en",
        author=MAYA,
        kind="photo",
        media=(SimMedia("k", "photo", "https://scontent.cdninstagram.com/v/m.jpg", "", 1080, 1080),),
    )
    sim.state.world.add(post)
    return post


def stored(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.exec(select(Post.external_id).where(col(Post.platform) == "instagram")))


def test_the_verification_handshake(hook: TestClient) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    answer = hook.get(URL, params=params)
    assert answer.status_code == 200 and answer.text == "1158201444"
    assert hook.get(URL, params=params | {"hub.verify_token": "guess"}).status_code == 403
    assert hook.get(URL, params=params | {"hub.mode": "unsubscribe"}).status_code == 403
    assert hook.get(URL, params=params | {"hub.challenge": "<script>"}).status_code == 400
    assert hook.get(URL, params=params | {"hub.challenge": "9" * 300}).status_code == 422


def test_a_signed_mention_is_collected_once_however_often_it_comes(
    hook: TestClient, sim: SimulatorServer, engine: Engine
) -> None:
    post = mention(sim)
    body, headers = mention_webhook(sim.state, post)
    first = hook.post(URL, content=body, headers=headers)
    assert first.status_code == 200 and first.json() == {
        "mentions": 1,
        "inserted": 1,
        "updated": 0,
        "skipped": [],
    }
    again = hook.post(URL, content=body, headers=headers)
    assert again.json()["inserted"] == 0 and again.json()["updated"] == 1
    assert stored(engine) == [media_id(post)]
    with session_scope(engine) as session:
        row = session.exec(select(Post).where(col(Post.external_id) == media_id(post))).one()
        assert row.text == "Loving my Cumbre @andesoutdoor"


def test_bad_or_missing_signatures_are_refused(
    hook: TestClient, sim: SimulatorServer, engine: Engine
) -> None:
    post = mention(sim)
    body, headers = mention_webhook(sim.state, post)
    forged = hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    for signature in (f"sha256={forged}", "", "sha1=abc", headers["X-Hub-Signature-256"][:-2]):
        answer = hook.post(URL, content=body, headers={"X-Hub-Signature-256": signature})
        assert answer.status_code == 403, signature
    tampered = body.replace(b"mentions", b"mentionz")
    assert hook.post(URL, content=tampered, headers=headers).status_code == 403
    assert stored(engine) == []


def sign(sim: SimulatorServer, body: bytes) -> dict[str, str]:
    digest = hmac.new(sim.state.credentials.meta_app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def test_hostile_payloads(hook: TestClient, sim: SimulatorServer, engine: Engine) -> None:
    big = b'{"object": "instagram", "entry": [], "pad": "' + b"x" * 70_000 + b'"}'
    assert hook.post(URL, content=big, headers=sign(sim, big)).status_code == 413
    for body in (b"not json", b"[1, 2]", b'{"entry": []}', b'{"object": "instagram", "entry": "x"}'):
        assert hook.post(URL, content=body, headers=sign(sim, body)).status_code == 400, body
    nul = json.dumps({"object": "instagram\x00", "entry": []}).encode()
    assert hook.post(URL, content=nul, headers=sign(sim, nul)).status_code == 400
    # One unreadable media never costs the good one beside it.
    good = mention(sim)
    account = sim.state.credentials.instagram_user_id
    payload = {
        "object": "instagram",
        "entry": [
            {
                "id": account,
                "changes": [
                    {"field": "mentions", "value": {"media_id": "../../etc/passwd"}},
                    {"field": "mentions", "value": {"media_id": "17840000000000001"}},
                    {"field": "mentions", "value": {}},
                    {"field": "comments", "value": {"id": "1"}},
                    {"field": "mentions", "value": {"media_id": media_id(good)}},
                ],
            },
            {"id": "999", "changes": [{"field": "mentions", "value": {"media_id": "1"}}]},
        ],
    }
    body = json.dumps(payload).encode()
    answer = hook.post(URL, content=body, headers=sign(sim, body))
    assert answer.status_code == 200
    result = answer.json()
    assert result["mentions"] == 5 and result["inserted"] == 1 and len(result["skipped"]) == 4
    assert any("no Instagram source for account 999" in s for s in result["skipped"])
    assert stored(engine) == [media_id(good)]
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Post)).one() == 1


def test_without_its_secrets_the_endpoint_is_not_there(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.model_validate({"data_dir": str(tmp_path), "base_dir": tmp_path})
    with TestClient(create_app(settings, sqlite_engine), raise_server_exceptions=False) as client:
        assert client.get(URL, params={"hub.mode": "subscribe"}).status_code == 404
        assert client.post(URL, content=b"{}").status_code == 404
    configured = Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "base_dir": tmp_path,
            "meta_webhook": {"app_secret_env": "UNSET_META_SECRET"},
        }
    )
    monkeypatch.delenv("UNSET_META_SECRET", raising=False)
    with TestClient(create_app(configured, sqlite_engine), raise_server_exceptions=False) as client:
        assert client.post(URL, content=b"{}").status_code == 404


def test_the_simulator_posts_the_mentions_webhook_as_meta_would(
    hook: TestClient, sim: SimulatorServer, engine: Engine
) -> None:
    with webhook_receiver() as receiver:
        sim.state.meta.webhook_url = f"{receiver.base_url}/api/webhooks/meta"
        quiet = mention(sim, "no mention here")
        loud = mention(sim)
        assert notify_mentions(sim.state, [quiet, loud]) == 1
    [(body, headers)] = receiver.calls
    assert json.loads(body)["entry"][0]["changes"] == [
        {"field": "mentions", "value": {"media_id": media_id(loud)}}
    ]
    # What Meta's simulator sent is what Tesoro's endpoint accepts and collects.
    answer = hook.post(URL, content=body, headers={"X-Hub-Signature-256": headers["X-Hub-Signature-256"]})
    assert answer.json()["inserted"] == 1 and stored(engine) == [media_id(loud)]
