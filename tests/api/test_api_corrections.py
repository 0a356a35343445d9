"""Corrections over HTTP on the real app: roles as for decisions, 422s for bad bodies, the label shown on
the post and in the queue at once, and the status and train routes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.settings import Settings
from tesoro.store.audit import audit_entries
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from worlds.api import Seeded, rank


def test_a_coordinator_corrects_and_everyone_sees_it(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine, api_settings: Settings
) -> None:
    rank(sqlite_engine, api_settings, seeded)
    post = seeded.posts["q-high"]
    url = f"/api/curator/posts/{post}/corrections"
    coordinator, viewer = seeded.headers(Role.COORDINATOR), seeded.headers(Role.VIEWER)
    nube = seeded.products["Nube Rain Jacket"]

    # Roles: a viewer reads but cannot correct; no key, no access; a gallery key neither.
    assert client.post(url, json={"sentiment": "negative"}, headers=viewer).status_code == 403
    assert client.post(url, json={"sentiment": "negative"}).status_code == 401
    assert client.get(url, headers=seeded.headers(Role.GALLERY)).status_code == 403

    r = client.post(
        url,
        json={"sentiment": "negative", "product_id": nube, "content_types": ["complaint", "photo"]},
        headers=coordinator,
    )
    assert r.status_code == 200, r.text
    items = {i["field"]: i for i in r.json()["items"]}
    assert items["sentiment"]["value"] == "negative"
    assert items["sentiment"]["model_value"] == items["sentiment"]["before"] == "positive"
    assert items["product"]["value"] == nube and items["product"]["model_value"] is None
    assert items["content_type"]["value"] == ["photo", "complaint"]
    assert items["sentiment"]["actor"].startswith("key:")

    # Shown on the post (detail, with the corrections) and in the queue, to a viewer too.
    detail = client.get(f"/api/curator/posts/{post}", headers=viewer).json()
    assert detail["sentiment"] == "negative"
    assert detail["product"]["id"] == nube
    assert detail["content_types"] == ["photo", "complaint"]
    assert {c["field"] for c in detail["corrections"]} == {"sentiment", "product", "content_type"}
    queue = client.get("/api/curator/queue", headers=viewer).json()
    card = next(i for i in queue["items"] if i["id"] == post)
    assert card["sentiment"] == "negative"
    listed = client.get(url, headers=viewer).json()["items"]
    assert len(listed) == 3
    by_brand = client.get(
        "/api/curator/corrections",
        params={"brand": seeded.brands["Andes Outdoor"], "field": "sentiment"},
        headers=viewer,
    ).json()["items"]
    assert [c["post_id"] for c in by_brand] == [post]
    with session_scope(sqlite_engine) as session:
        actions = {e.action for e in audit_entries(session, entity="post", entity_id=str(post))}
    assert actions >= {"correct_sentiment", "correct_product", "correct_content_type"}

    # "No product" is a correction too.
    r = client.post(url, json={"product_id": None}, headers=coordinator)
    assert r.status_code == 200 and r.json()["items"][0]["before"] == nube

    status = client.get("/api/curator/corrections/status", headers=viewer).json()["items"]
    andes = next(s for s in status if s["brand"] == "Andes Outdoor")
    assert andes["fields"]["sentiment"] == {"corrections": 1, "model_agreed": 0}
    assert andes["heads"] == {}


def test_bad_corrections_are_422_or_404_and_change_nothing(client: TestClient, seeded: Seeded) -> None:
    post = seeded.posts["q-high"]
    url = f"/api/curator/posts/{post}/corrections"
    headers = seeded.headers(Role.COORDINATOR)
    bad_bodies = [
        {},
        {"sentiment": "furious"},
        {"sentiment": None},
        {"content_types": []},
        {"content_types": None},
        {"content_types": ["review", "haiku"]},
        {"product_id": 0},
        {"product_id": "one"},
        {"mood": "happy"},
        {"sentiment": "negative", "extra": 1},
        {"content_types": ["review"] * 11},
    ]
    for body in bad_bodies:
        r = client.post(url, json=body, headers=headers)
        assert r.status_code == 422, (body, r.status_code, r.text)
    # Another brand's product: a well-formed body the post cannot take.
    other = seeded.products["Other Thing"]
    r = client.post(url, json={"product_id": other}, headers=headers)
    assert r.status_code == 422 and "brand" in r.json()["detail"]
    # One bad value in a body leaves the others unapplied (one transaction).
    r = client.post(url, json={"sentiment": "negative", "product_id": other}, headers=headers)
    assert r.status_code == 422
    assert (
        client.post(
            "/api/curator/posts/999999/corrections", json={"sentiment": "negative"}, headers=headers
        ).status_code
        == 404
    )
    assert client.get(url, headers=headers).json()["items"] == []
    assert (
        client.get("/api/curator/corrections", params={"field": "mood"}, headers=headers).status_code == 422
    )


def test_train_needs_a_coordinator_and_says_why_nothing_was_learned(
    client: TestClient, seeded: Seeded
) -> None:
    assert (
        client.post("/api/curator/corrections/train", headers=seeded.headers(Role.VIEWER)).status_code == 403
    )
    r = client.post("/api/curator/corrections/train", headers=seeded.headers(Role.COORDINATOR))
    assert r.status_code == 200
    assert {i["reason"] for i in r.json()["items"]} == {"no corrections yet"}
