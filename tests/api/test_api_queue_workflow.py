"""The queue page's API: archived and rejected views, arrivals since a page, notes and rights on the card,
bulk products. Through the real app, with a coordinator's key, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.api.app import create_app
from tesoro.api.i18n import MESSAGES
from tesoro.curator.queue import decide
from tesoro.models import Platform
from tesoro.settings import Settings
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.tables import Post
from worlds.api import Seeded, make_settings, rank, seed
from worlds.arrivals import arrive


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def seeded(engine: Engine, api_settings: Settings) -> Seeded:
    return seed(engine, api_settings)


def _client(engine: Engine, settings: Settings, seeded: Seeded) -> TestClient:
    rank(engine, settings, seeded)
    return TestClient(create_app(settings, engine), base_url="http://testserver")


def _queue(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/curator/queue", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_archive_and_reopen_through_the_views(engine: Engine, api_settings: Settings, seeded: Seeded) -> None:
    client = _client(engine, api_settings, seeded)
    coordinator = seeded.headers(Role.COORDINATOR)
    mid = seeded.posts["q-mid"]
    assert _queue(client, coordinator, state="archived")["items"] == []
    r = client.post(f"/api/curator/posts/{mid}/decision", json={"action": "archive"}, headers=coordinator)
    assert r.status_code == 200 and r.json()["applied"][0]["to_state"] == "archived"
    assert mid not in [i["id"] for i in _queue(client, coordinator)["items"]]
    archived = _queue(client, coordinator, state="archived")
    assert [i["id"] for i in archived["items"]] == [mid] and archived["total"] == 1
    assert archived["items"][0]["queue_state"] == "archived"
    r = client.post(f"/api/curator/posts/{mid}/decision", json={"action": "reopen"}, headers=coordinator)
    assert r.status_code == 200 and r.json()["applied"][0]["to_state"] == "new"
    assert mid in [i["id"] for i in _queue(client, coordinator)["items"]]
    assert _queue(client, coordinator, state="archived")["total"] == 0
    # Reopening a post of the queue is refused with the reason, not silently done.
    r = client.post(f"/api/curator/posts/{mid}/decision", json={"action": "reopen"}, headers=coordinator)
    assert r.status_code == 409 and "already new" in r.json()["detail"]
    # The rejected view holds the rejected posts; an unknown view is a 422 naming the choices.
    rejected = _queue(client, coordinator, state="rejected")
    assert [i["id"] for i in rejected["items"]] == []  # the seeded rejected post is not ranked
    r = client.get("/api/curator/queue", params={"state": "deleted"}, headers=coordinator)
    assert r.status_code == 422 and "archived" in r.text
    # A viewer reads the views but cannot archive.
    viewer = seeded.headers(Role.VIEWER)
    assert _queue(client, viewer, state="archived")["total"] == 0
    r = client.post(f"/api/curator/posts/{mid}/decision", json={"action": "archive"}, headers=viewer)
    assert r.status_code == 403


def test_arrivals_count_posts_that_entered_the_view_after_a_page(
    engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    client = _client(engine, api_settings, seeded)
    headers = seeded.headers(Role.VIEWER)
    page = _queue(client, headers, limit=1)
    latest = page["latest_id"]
    # The largest ranked id (the last seeded post), not the largest of the one card shown.
    assert len(page["items"]) == 1 and page["items"][0]["id"] == seeded.posts["q-high"]
    assert latest == seeded.posts["dup-bsky"] == max(seeded.posts.values())
    none = client.get("/api/curator/queue/arrivals", params={"after": latest}, headers=headers).json()
    assert none == {"count": 0, "latest_id": None}

    andes = seeded.brands["Andes Outdoor"]
    low = arrive(engine, andes, "late-low", "A late Cumbre post", relevance=0.4)
    high = arrive(engine, andes, "late-high", "A late and great Cumbre post", relevance=1.0)
    other = arrive(engine, seeded.brands["Other Brand"], "late-other", "Other Thing post", relevance=0.9)
    found = client.get(
        "/api/curator/queue/arrivals", params={"after": latest, "brand": andes}, headers=headers
    ).json()
    assert found == {"count": 2, "latest_id": high}
    everyone = client.get("/api/curator/queue/arrivals", params={"after": latest}, headers=headers).json()
    assert everyone["count"] == 3
    # The arrivals themselves, best first, and nothing the page had already.
    new = _queue(client, headers, after=latest, brand=andes)
    assert [i["id"] for i in new["items"]] == [high, low]
    assert new["latest_id"] == other  # the largest ranked id, whatever the view: the next page's start
    # A decided arrival is no longer new; the archived view counts it instead.
    coordinator = seeded.headers(Role.COORDINATOR)
    r = client.post(f"/api/curator/posts/{low}/decision", json={"action": "archive"}, headers=coordinator)
    assert r.status_code == 200
    params: dict[str, Any] = {"after": latest, "brand": andes}
    assert client.get("/api/curator/queue/arrivals", params=params, headers=headers).json()["count"] == 1
    params["state"] = "archived"
    assert client.get("/api/curator/queue/arrivals", params=params, headers=headers).json() == {
        "count": 1,
        "latest_id": low,
    }
    # A spam arrival waits in the filtered view: counted there, not in the queue.
    filtered_page = client.get("/api/curator/queue/filtered", headers=headers).json()
    spam = arrive(engine, andes, "late-spam", "Free crypto giveaway click here for Cumbre", spam=0.99)
    params = {"after": filtered_page["latest_id"] or 0, "filtered": "true"}
    assert client.get("/api/curator/queue/arrivals", params=params, headers=headers).json() == {
        "count": 1,
        "latest_id": spam,
    }
    assert (
        client.get(
            "/api/curator/queue/arrivals", params={"after": high, "brand": andes}, headers=headers
        ).json()["count"]
        == 0
    )
    later = client.get(
        "/api/curator/queue/filtered", params={"after": params["after"]}, headers=headers
    ).json()
    assert [i["id"] for i in later["items"]] == [spam]
    # Bad input is refused with the reason.
    for bad in ({}, {"after": -1}, {"after": "x"}, {"after": 1, "state": "gone"}):
        r = client.get("/api/curator/queue/arrivals", params=bad, headers=headers)
        assert r.status_code == 422, bad
    r = client.get(
        "/api/curator/queue/arrivals", params={"after": 1, "content_type": "nope"}, headers=headers
    )
    assert r.status_code == 422 and "nope" in r.text
    assert client.get("/api/curator/queue/arrivals", params={"after": 1}).status_code == 401


def test_pages_of_a_view_read_at_one_latest_id_leave_later_arrivals_out(
    engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    client = _client(engine, api_settings, seeded)
    headers = seeded.headers(Role.VIEWER)
    whole = _queue(client, headers, limit=200)
    ids = [i["id"] for i in whole["items"]]
    assert whole["total"] == len(ids) >= 3
    first = _queue(client, headers, limit=2)
    assert [i["id"] for i in first["items"]] == ids[:2] and first["total"] == len(ids)
    # A post that ranks first arrives while the coordinator reads the first page: the next page, read
    # up to the first page's latest id, goes on where the first stopped and counts what it counted.
    late = arrive(
        engine, seeded.brands["Andes Outdoor"], "late-best", "A late and great Cumbre post", relevance=1.0
    )
    rest = _queue(client, headers, limit=50, offset=2, until=first["latest_id"])
    assert [i["id"] for i in rest["items"]] == ids[2:] and rest["total"] == len(ids)
    now = _queue(client, headers, limit=200)
    assert now["items"][0]["id"] == late and now["total"] == len(ids) + 1
    for bad in ({"until": -1}, {"until": "x"}):
        assert client.get("/api/curator/queue", params=bad, headers=headers).status_code == 422


def test_the_kept_count_follows_decisions_here_and_in_other_processes(
    engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    client = _client(engine, api_settings, seeded)
    coordinator = seeded.headers(Role.COORDINATOR)
    page = _queue(client, coordinator, limit=1)
    total, first = page["total"], page["items"][0]["id"]
    assert total >= 3
    # A decision through the API: the next request counts without it (this process forgot its counts).
    r = client.post(f"/api/curator/posts/{first}/decision", json={"action": "approve"}, headers=coordinator)
    assert r.status_code == 200
    page = _queue(client, coordinator, limit=1)
    assert page["total"] == total - 1 and page["items"][0]["id"] != first
    # A decision by another process (the store written directly): its stamp moves, the count follows.
    second = page["items"][0]["id"]
    with session_scope(engine) as session:
        decide(session, post_ids=[second], action="reject", actor="another process")
    page = _queue(client, coordinator, limit=1)
    assert page["total"] == total - 2 and page["items"][0]["id"] != second
    # The count is kept: a change that moves no stamp (not one Tesoro makes) is not seen while it is
    # kept, then is once it expires. The cards are read afresh every time.
    third = page["items"][0]["id"]
    with session_scope(engine) as session:
        session.execute(update(Post).where(col(Post.id) == third).values(queue_state="archived"))
    page = _queue(client, coordinator, limit=1)
    assert page["total"] == total - 2 and page["items"][0]["id"] != third
    client.app.state.queue_counts.ttl_s = 0.0
    assert _queue(client, coordinator, limit=1)["total"] == total - 3
    # Undo through the API brings the approved post back, counted at once.
    client.app.state.queue_counts.ttl_s = 60.0
    _queue(client, coordinator, limit=1)
    assert client.post("/api/curator/decisions/undo", headers=coordinator).status_code == 200
    assert _queue(client, coordinator, limit=1)["total"] == total - 2


def test_the_latest_note_is_on_the_card_and_leaves_with_its_undo(
    engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    client = _client(engine, api_settings, seeded)
    coordinator = seeded.headers(Role.COORDINATOR)
    high, mid = seeded.posts["q-high"], seeded.posts["q-mid"]

    def card(post: int) -> dict[str, Any]:
        items = _queue(client, coordinator, state="rejected")["items"] + _queue(client, coordinator)["items"]
        return next(i for i in items if i["id"] == post)

    assert card(high)["note"] is None
    hostile = "<b>off-topic</b>: a mountain, not our shoe"
    r = client.post(
        f"/api/curator/posts/{high}/decision",
        json={"action": "note", "note": hostile, "add_tags": ["Needs  Check"]},
        headers=coordinator,
    )
    assert r.status_code == 200
    shown = card(high)
    assert shown["note"]["text"] == hostile  # raw: the UI escapes
    assert "coordinator" in shown["note"]["actor"] and shown["note"]["decided_at"]
    assert shown["tags"] == ["needs check"]
    # Rejecting two posts with one note in one batch: both cards carry it; the undo takes it away.
    r = client.post(
        "/api/curator/decisions/bulk",
        json={"action": "reject", "post_ids": [high, mid], "note": "fuera de tema", "add_tags": ["spam"]},
        headers=coordinator,
    )
    assert r.status_code == 200 and len(r.json()["applied"]) == 2
    assert card(high)["note"]["text"] == "fuera de tema" and card(mid)["note"]["text"] == "fuera de tema"
    assert client.post("/api/curator/decisions/undo", headers=coordinator).status_code == 200
    assert card(high)["note"]["text"] == hostile  # the earlier note again, not the undo's own
    assert card(mid)["note"] is None
    # An empty note alone is refused.
    r = client.post(
        f"/api/curator/posts/{mid}/decision", json={"action": "note", "note": " "}, headers=coordinator
    )
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    r = client.post(
        f"/api/curator/posts/{mid}/decision", json={"action": "note", "note": "x" * 5001}, headers=coordinator
    )
    assert r.status_code == 422


def test_bulk_product_skips_another_brands_post_and_undoes_in_one_step(
    engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    client = _client(engine, api_settings, seeded)
    coordinator = seeded.headers(Role.COORDINATOR)
    other = arrive(engine, seeded.brands["Other Brand"], "other-new", "Other Thing post")
    high, mid = seeded.posts["q-high"], seeded.posts["q-mid"]
    cumbre = seeded.products["Cumbre Trail Runner"]
    r = client.post(
        "/api/curator/decisions/bulk",
        json={"action": "assign_product", "post_ids": [high, mid, other], "product_id": cumbre},
        headers=coordinator,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(o["post_id"] for o in body["applied"]) == [high, mid]
    assert [(o["post_id"], o["problem"]) for o in body["skipped"]] == [(other, "invalid")]
    assert "another brand" in body["skipped"][0]["reason"]
    products = {i["id"]: i["product"] for i in _queue(client, coordinator, limit=200)["items"]}
    assert products[high]["id"] == cumbre and products[high]["assigned"] is True
    assert products[mid]["id"] == cumbre
    undo = client.post("/api/curator/decisions/undo", headers=coordinator).json()
    assert sorted(o["post_id"] for o in undo["restored"]) == [high, mid]
    products = {i["id"]: i["product"] for i in _queue(client, coordinator, limit=200)["items"]}
    assert products[high] is None and products[mid] is None


def test_the_card_carries_its_latest_rights_request(
    engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    client = _client(engine, api_settings, seeded)
    coordinator = seeded.headers(Role.COORDINATOR)
    andes = seeded.brands["Andes Outdoor"]
    insta = arrive(engine, andes, "ig-1", "Cumbre on Instagram", platform=Platform.INSTAGRAM)
    high = seeded.posts["q-high"]
    r = client.post("/api/rights/requests", json={"post_ids": [insta, high]}, headers=coordinator)
    assert r.status_code == 200, r.text
    link = next(c["consent_link"] for c in r.json()["created"] if c["request"]["post_id"] == insta)
    items = {i["id"]: i for i in _queue(client, coordinator, limit=200)["items"]}
    manual = items[insta]["rights_request"]
    assert items[insta]["rights_status"] == "requested"
    assert manual["channel"] == "manual" and manual["status"] == "sent"
    assert manual["consent_link"] == link and link in manual["text"]
    reply = items[high]["rights_request"]
    assert reply["channel"] == "reply" and reply["status"] == "queued"
    assert reply["text"] is None and reply["consent_link"] is None  # Tesoro posts it: nothing to paste
    assert items[seeded.posts["q-mid"]]["rights_request"] is None


def test_every_word_the_queue_script_says_is_in_both_languages() -> None:
    script = (Path(__file__).resolve().parents[2] / "src/tesoro/api/static/queue.js").read_text("utf-8")
    plain = set(re.findall(r"""\bt\("([a-z_.]+)"[,)]""", script))
    counted = set(re.findall(r"""\btn\("([a-z_.]+)",""", script))
    # Keys the script builds: a decision's toast, a request state's words, a queue or rights state.
    plain |= {f"queue.done.{a}" for a in ("approve", "reject", "feature", "archive", "reopen", "note", "tag")}
    plain |= {f"queue.rights_{s}" for s in ("needs_review", "no_response", "failed")}
    plain |= {f"rights.{s}" for s in ("none", "requested", "granted", "declined", "expired", "revoked")}
    plain |= {f"state.{s}" for s in ("new", "approved", "rejected", "featured", "archived")}
    assert len(plain) > 40 and len(counted) > 6
    for lang in ("en", "es"):
        missing = sorted(k for k in plain if k not in MESSAGES[lang])
        missing += sorted(
            k for k in counted if f"{k}.one" not in MESSAGES[lang] or f"{k}.other" not in MESSAGES[lang]
        )
        assert missing == [], (lang, missing)
