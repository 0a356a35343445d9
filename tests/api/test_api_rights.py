"""/api/rights and the public consent page: roles, 422s, receipts, and the page's defences."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tesoro.curator.rights_requests import sign_document, verify_document
from tesoro.store.keys import Role
from worlds.api import HOSTILE_IMG, Seeded

COORD = Role.COORDINATOR


def _ask(client: TestClient, seeded: Seeded, *names: str, **body: object) -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/api/rights/requests",
        json={"post_ids": [seeded.posts[n] for n in names], **body},
        headers=seeded.headers(COORD),
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_requests_roles_and_validation(client: TestClient, seeded: Seeded) -> None:
    body = {"post_ids": [seeded.posts["q-high"]]}
    assert client.post("/api/rights/requests", json=body).status_code == 401
    assert (
        client.post("/api/rights/requests", json=body, headers=seeded.headers(Role.VIEWER)).status_code == 403
    )
    for bad in (
        {"post_ids": []},
        {"post_ids": [0]},
        {"post_ids": [1] * 101},
        {"post_ids": [1], "scope": ["billboards"]},
        {"post_ids": [1], "duration_days": -1},
        {"post_ids": [1], "duration_days": 5000},
    ):
        response = client.post("/api/rights/requests", json=bad, headers=seeded.headers(COORD))
        assert response.status_code == 422, bad
    made = _ask(client, seeded, "q-high", "q-mid", scope=["paid_ads"], duration_days=30)
    assert [c["request"]["post_id"] for c in made["created"]] == [
        seeded.posts["q-high"],
        seeded.posts["q-mid"],
    ]
    first = made["created"][0]
    assert first["request"]["scope"] == ["paid_ads"] and first["request"]["status"] == "queued"
    assert first["consent_link"] in first["request"]["text"]
    again = _ask(client, seeded, "q-high")
    assert again["skipped"] == [{"post_id": seeded.posts["q-high"], "reason": "a request is open already"}]
    listed = client.get("/api/rights/requests?status=queued", headers=seeded.headers(Role.VIEWER)).json()
    assert len(listed["items"]) == 2
    assert (
        client.get("/api/rights/requests?status=bogus", headers=seeded.headers(Role.VIEWER)).status_code
        == 422
    )
    assert client.get("/api/rights/requests/999999", headers=seeded.headers(Role.VIEWER)).status_code == 404


def test_consent_page_grants_once_and_defends_itself(client: TestClient, seeded: Seeded) -> None:
    made = _ask(client, seeded, "q-hostile")
    path = _path(made["created"][0]["consent_link"])
    page = client.get(path + "?lang=es")
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert "Sí, acepto" in page.text and 'name="viewport"' in page.text
    assert HOSTILE_IMG not in page.text and "&lt;img" in page.text  # the post's text is escaped
    cookie = page.cookies.get("tesoro_consent")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert cookie and csrf and csrf.group(1) == cookie
    # No CSRF token, a wrong one, or another site's form: refused.
    client.cookies.clear()
    assert client.post(path, data={"answer": "approve"}).status_code == 403
    client.cookies.set("tesoro_consent", cookie, path="/rights/consent")
    assert client.post(path, data={"answer": "approve", "csrf_token": "nope"}).status_code == 403
    cross = client.post(
        path, data={"answer": "approve", "csrf_token": cookie}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert client.post(path, data={"answer": "maybe", "csrf_token": cookie}).status_code == 422
    done = client.post(path, data={"answer": "approve", "csrf_token": cookie, "future_posts": "on"})
    assert done.status_code == 200 and done.headers["x-frame-options"] == "DENY"
    # Replayed: the link is used up, whatever the form says.
    client.cookies.set("tesoro_consent", cookie, path="/rights/consent")
    replay = client.post(path, data={"answer": "decline", "csrf_token": cookie})
    assert replay.status_code == 410
    assert client.get(path).status_code == 410
    receipts = client.get(
        f"/api/rights/receipts?post_id={seeded.posts['q-hostile']}", headers=seeded.headers(Role.VIEWER)
    ).json()["items"]
    assert len(receipts) == 1 and receipts[0]["source"] == "consent_page" and receipts[0]["future_posts"]
    signed = client.get(
        f"/api/rights/receipts/{receipts[0]['id']}", headers=seeded.headers(Role.VIEWER)
    ).json()
    assert (
        signed["signature"]["alg"] == "HMAC-SHA256"
        and signed["receipt"]["consent"]["source"] == "consent_page"
    )
    html = client.get(f"/api/rights/receipts/{receipts[0]['id']}/html", headers=seeded.headers(Role.VIEWER))
    assert (
        html.status_code == 200 and "<script" not in html.text and signed["signature"]["value"] in html.text
    )
    assert "attachment" in html.headers["content-disposition"]


def test_forged_and_expired_links(client: TestClient, seeded: Seeded) -> None:
    made = _ask(client, seeded, "q-mid")
    path = _path(made["created"][0]["consent_link"])
    forged = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    assert client.get(forged).status_code == 404
    assert client.post(forged, data={"answer": "approve"}).status_code == 404
    request_id, _expires, nonce, _sig = path.rsplit("/", 1)[1].split(".")
    assert client.get(f"/rights/consent/{request_id}.1.{nonce}.{_sig}").status_code == 404  # re-dated: forged
    assert client.get("/rights/consent/" + "a" * 400).status_code == 404


def test_decisions_revoke_and_terms(client: TestClient, seeded: Seeded) -> None:
    made = _ask(client, seeded, "q-high")
    request_id = made["created"][0]["request"]["id"]
    decision = client.post(
        f"/api/rights/requests/{request_id}/decision", json={"grant": True}, headers=seeded.headers(COORD)
    )
    assert decision.status_code == 422  # queued, not sent yet: nothing to decide
    assert (
        client.post(
            f"/api/rights/requests/{request_id}/decision",
            json={"grant": "perhaps"},
            headers=seeded.headers(COORD),
        ).status_code
        == 422
    )
    before = client.get("/gallery/andes-outdoor.json").json()
    assert "Great grip on the Cumbre" in [p["text"] for p in before["items"]]
    revoked = client.post(
        f"/api/rights/posts/{seeded.posts['gal-photo']}/revoke",
        json={"reason": "the author wrote to us"},
        headers=seeded.headers(COORD),
    )
    assert revoked.status_code == 200
    feed = client.get("/gallery/andes-outdoor.json").json()
    assert "Great grip on the Cumbre" not in [p["text"] for p in feed["items"]]
    assert (
        client.post(
            "/api/rights/posts/999999/revoke", json={"reason": "x"}, headers=seeded.headers(COORD)
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/rights/posts/{seeded.posts['gal-photo']}/revoke",
            json={"reason": ""},
            headers=seeded.headers(COORD),
        ).status_code
        == 422
    )
    brand = seeded.brands["Andes Outdoor"]
    first = client.get(f"/api/rights/terms/{brand}", headers=seeded.headers(Role.VIEWER)).json()
    assert first["version"] == 1
    saved = client.put(
        f"/api/rights/terms/{brand}",
        json={"body": "New terms for Andes, version two."},
        headers=seeded.headers(COORD),
    ).json()
    assert saved["version"] == 2 and saved["sha256"] != first["sha256"]
    assert (
        client.put(
            f"/api/rights/terms/{brand}", json={"body": "short"}, headers=seeded.headers(COORD)
        ).status_code
        == 422
    )
    assert client.get("/api/rights/terms/999999", headers=seeded.headers(Role.VIEWER)).status_code == 404


def test_signed_documents_verify() -> None:
    signed = sign_document(b"k" * 32, {"a": 1, "b": ["x"]})
    assert verify_document(b"k" * 32, signed)
    assert not verify_document(b"k" * 32, {"receipt": {"a": 2, "b": ["x"]}, "signature": signed["signature"]})
    assert not verify_document(b"k" * 32, {"receipt": {}})
