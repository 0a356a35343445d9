"""Problem codes answer with one status everywhere: the curator's refusals over the real app, with keys.

A refused write leaves no trace in the decision log; the status comes from
`tesoro.api.problems.STATUS` whichever route or layer found the problem.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tesoro.api.problems import STATUS, Problem
from tesoro.store.keys import Role
from worlds.api import Seeded


def _decisions(client: TestClient, seeded: Seeded, post_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/curator/decisions?post_id={post_id}", headers=seeded.headers(Role.VIEWER))
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize(
    ("name", "path", "body", "status", "message"),
    [
        ("gal-photo", "decision", {"action": "approve"}, 409, "already approved"),
        ("gal-photo", "decision", {"action": "reopen"}, 409, "cannot be moved to new"),
        ("q-mid", "decision", {"action": "explode"}, 422, ""),
        (None, "decision", {"action": "approve"}, 404, "no post"),
        ("q-mid", "product", {"product_id": "Other Thing"}, 409, "another brand"),
        ("q-mid", "product", {"product_id": 999999}, 404, "no product"),
        ("gal-photo", "rights", {"status": "granted"}, 409, "nothing to change"),
        ("gal-photo", "rights", {"status": "maybe"}, 422, ""),
    ],
)
def test_refused_writes_answer_with_their_problems_status(
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
        f"/api/curator/posts/{post_id}/{path}", json=body, headers=seeded.headers(Role.COORDINATOR)
    )
    assert response.status_code == status, response.text
    assert message in str(response.json()["detail"])
    if name:
        assert _decisions(client, seeded, post_id) == []  # a refused write leaves no trace


def test_a_rejected_post_can_be_reopened(client: TestClient, seeded: Seeded) -> None:
    post_id = seeded.posts["was-rejected"]
    response = client.post(
        f"/api/curator/posts/{post_id}/decision",
        json={"action": "reopen"},
        headers=seeded.headers(Role.ADMIN),
    )
    assert response.status_code == 200 and response.json()["applied"][0]["to_state"] == "new"
    assert _decisions(client, seeded, post_id)[0]["action"] == "reopen"


def test_service_errors_map_to_the_same_statuses(client: TestClient, seeded: Seeded) -> None:
    viewer = seeded.headers(Role.VIEWER)
    unknown_brand = client.get("/api/kpis?brand=Nope", headers=viewer)
    assert unknown_brand.status_code == STATUS["not_found"] and "no brand named 'Nope'" in unknown_brand.text
    bad_date = client.get("/api/kpis?since=yesterday-ish", headers=viewer)
    assert bad_date.status_code == STATUS["bad_request"]
    assert client.get("/api/posts/999999", headers=viewer).json() == {"detail": "no post 999999"}
    assert client.post("/api/curator/decisions/undo", headers=seeded.headers(Role.ADMIN)).status_code == 409


def test_every_code_has_a_status_and_an_unknown_one_is_a_conflict() -> None:
    assert Problem("not_found", "x").status_code == 404
    assert Problem("unavailable", "x").status_code == 503
    assert Problem("something new", "x").status_code == 409
    assert all(400 <= status < 600 for status in STATUS.values())
