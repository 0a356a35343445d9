"""The older review API: its writes are the curator's decisions, its reads are retired with 410 Gone."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tesoro.store.keys import Role
from worlds.api import Seeded

RETIRED = {
    "/api/review/queue": "/api/curator/queue",
    "/api/review/products": "/api/curator/products",
    "/api/browse/search": "/api/curator/library",
}


def _decisions(client: TestClient, seeded: Seeded, post_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/curator/decisions?post_id={post_id}", headers=seeded.headers(Role.VIEWER))
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _state(client: TestClient, seeded: Seeded, post_id: int) -> dict[str, Any]:
    post: dict[str, Any] = client.get(f"/api/posts/{post_id}", headers=seeded.headers(Role.VIEWER)).json()
    return post


def test_an_old_path_decision_is_in_the_curator_log_and_undoable(client: TestClient, seeded: Seeded) -> None:
    coordinator = seeded.headers(Role.COORDINATOR)
    post_id = seeded.posts["q-high"]
    response = client.post(
        f"/api/review/posts/{post_id}/decision",
        json={"action": "feature", "note": "hero"},
        headers=coordinator,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["from_state"], body["to_state"]) == ("new", "featured")
    log = _decisions(client, seeded, post_id)
    assert len(log) == 1
    entry = log[0]
    assert entry["id"] == body["decision_id"] and entry["batch_id"] == body["batch_id"]
    assert entry["action"] == "feature" and entry["note"] == "hero" and entry["undone"] is False
    assert entry["actor"] == f"key:{seeded.tokens[Role.COORDINATOR].split('_')[1]} (test coordinator)"
    # The same key undoes it with the curator's undo, as if it had used the curator's route.
    undo = client.post("/api/curator/decisions/undo", headers=coordinator)
    assert undo.status_code == 200 and undo.json()["batch_id"] == body["batch_id"]
    assert _state(client, seeded, post_id)["queue_state"] == "new"
    actions = [(d["action"], d["undone"]) for d in _decisions(client, seeded, post_id)]
    assert actions == [("undo", False), ("feature", True)]


def test_old_product_and_rights_writes_are_curator_decisions(client: TestClient, seeded: Seeded) -> None:
    coordinator = seeded.headers(Role.COORDINATOR)
    post_id = seeded.posts["q-mid"]
    product_id = seeded.products["Nube Rain Jacket"]
    tagged = client.post(
        f"/api/review/posts/{post_id}/product", json={"product_id": product_id}, headers=coordinator
    )
    assert tagged.status_code == 200 and tagged.json()["product_id"] == product_id
    rights = client.post(
        f"/api/review/posts/{post_id}/rights", json={"status": "requested"}, headers=coordinator
    )
    assert rights.status_code == 200 and rights.json()["rights_status"] == "requested"
    log = _decisions(client, seeded, post_id)
    assert [d["action"] for d in log] == ["set_rights", "assign_product"]
    assert log[1]["product_id"] == product_id
    post = _state(client, seeded, post_id)
    assert post["product"]["id"] == product_id and post["rights_status"] == "requested"
    # Undo goes back one step at a time, whichever path made the decision.
    assert client.post("/api/curator/decisions/undo", headers=coordinator).json()["action"] == "set_rights"
    assert _state(client, seeded, post_id)["rights_status"] == "none"


@pytest.mark.parametrize(
    ("name", "path", "body", "status", "message"),
    [
        ("gal-photo", "decision", {"action": "approve"}, 409, "already approved"),
        ("gal-photo", "decision", {"action": "reset"}, 409, "cannot be moved to new"),
        ("q-mid", "decision", {"action": "explode"}, 422, ""),
        (None, "decision", {"action": "approve"}, 404, "no post"),
        ("q-mid", "product", {"product_id": "Other Thing"}, 409, "another brand"),
        ("q-mid", "product", {"product_id": 999999}, 404, "no product"),
        ("gal-photo", "rights", {"status": "granted"}, 409, "nothing to change"),
        ("gal-photo", "rights", {"status": "maybe"}, 422, ""),
    ],
)
def test_old_writes_answer_as_the_curator_does(
    client: TestClient,
    seeded: Seeded,
    name: str | None,
    path: str,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    post_id = seeded.posts[name] if name else 999999
    if body.get("product_id") == "Other Thing":
        body = {"product_id": seeded.products["Other Thing"]}
    response = client.post(
        f"/api/review/posts/{post_id}/{path}", json=body, headers=seeded.headers(Role.COORDINATOR)
    )
    assert response.status_code == status, response.text
    assert message in str(response.json()["detail"])
    if name:
        assert _decisions(client, seeded, post_id) == []  # a refused write leaves no trace


def test_reset_reopens_a_rejected_post(client: TestClient, seeded: Seeded) -> None:
    post_id = seeded.posts["was-rejected"]
    response = client.post(
        f"/api/review/posts/{post_id}/decision",
        json={"action": "reset"},
        headers=seeded.headers(Role.ADMIN),
    )
    assert response.status_code == 200 and response.json()["to_state"] == "new"
    assert _decisions(client, seeded, post_id)[0]["action"] == "reopen"


@pytest.mark.parametrize("old", sorted(RETIRED))
def test_retired_reads_answer_410_with_their_replacement(
    client: TestClient, seeded: Seeded, old: str
) -> None:
    new = RETIRED[old]
    response = client.get(f"{old}?q=cumbre&limit=5", headers=seeded.headers(Role.VIEWER))
    assert response.status_code == 410
    detail = response.json()["detail"]
    assert old in detail and f"use GET {new}" in detail and "retired" in detail
    assert response.headers["link"] == f'<{new}>; rel="successor-version"'
    assert client.get(new, headers=seeded.headers(Role.VIEWER)).status_code == 200
    # The role guards stay: 401 without a key, 403 for a gallery key, before any 410.
    assert client.get(old).status_code == 401
    assert client.get(old, headers=seeded.headers(Role.GALLERY)).status_code == 403


def test_openapi_marks_the_old_routes_deprecated(client: TestClient, seeded: Seeded) -> None:
    paths = client.get("/openapi.json", headers=seeded.headers(Role.VIEWER)).json()["paths"]
    for old, new in RETIRED.items():
        get = paths[old]["get"]
        assert get["deprecated"] is True and new in get["summary"]
        assert set(get["responses"]) == {"410"} and new in get["responses"]["410"]["description"]
    for write in ("decision", "product", "rights"):
        post = paths[f"/api/review/posts/{{post_id}}/{write}"]["post"]
        assert post["deprecated"] is True and f"/api/curator/posts/{{post_id}}/{write}" in post["summary"]
    docs = client.get("/docs", headers=seeded.headers(Role.VIEWER)).text
    assert "Retired (410): use GET /api/curator/library" in docs
