"""`GET /api/quarantine`: the items the collector boundary refused, for coordinators and admins
(issue 17 item 1). Their content is untrusted: it comes back as ASCII JSON text."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.models import RejectedItem
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.quarantine import quarantine
from worlds.api import Seeded


def _quarantine(engine: Engine) -> None:
    hostile = {"id": "h1", "text": "bad\x00 \ud800", "created_at": "2099-01-01T00:00:00Z", "likes": 10**30}
    with session_scope(engine) as session:
        quarantine(
            session,
            [RejectedItem("x", "h1", hostile, "`created_at` ... is in the future", line=2)],
            source="import:a.jsonl",
        )
        quarantine(session, [RejectedItem("file", None, "{broken", "not valid JSON")], source="feed")


def test_coordinators_read_the_quarantine_viewers_do_not(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine
) -> None:
    _quarantine(sqlite_engine)
    assert client.get("/api/quarantine", headers=seeded.headers(Role.VIEWER)).status_code == 403
    answer = client.get("/api/quarantine", headers=seeded.headers(Role.COORDINATOR))
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == 2 and {item["source"] for item in page["items"]} == {"import:a.jsonl", "feed"}
    [item] = [i for i in page["items"] if i["source"] == "import:a.jsonl"]
    assert (item["platform"], item["external_id"], item["kind"], item["line"]) == ("x", "h1", "row", 2)
    assert item["raw"].isascii() and json.loads(item["raw"])["text"] == "bad\x00 \ud800"
    assert "in the future" in item["reason"] and item["times_seen"] == 1 and item["last_seen_at"]


def test_the_quarantine_pages_and_filters_by_source(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine
) -> None:
    _quarantine(sqlite_engine)
    admin = seeded.headers(Role.ADMIN)
    only = client.get("/api/quarantine", params={"source": "feed"}, headers=admin).json()
    assert only["total"] == 1 and only["items"][0]["external_id"] is None
    paged = client.get("/api/quarantine", params={"limit": 1, "offset": 1}, headers=admin).json()
    assert paged["total"] == 2 and len(paged["items"]) == 1
    bad = client.get("/api/quarantine", params={"source": "a\x00b"}, headers=admin)
    assert bad.status_code == 422 and "source" in bad.text
    assert client.get("/api/quarantine", params={"limit": 501}, headers=admin).status_code == 422
