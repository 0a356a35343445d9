"""Web login: a key becomes a signed, HttpOnly session cookie; cookie writes need the CSRF token."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import col, select

from tesoro.api.auth import SESSION_COOKIE
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.tables import AuditLog, RorScore
from worlds.api import Seeded


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def _login(client: TestClient, token: str, next_url: str = "/ui/queue") -> tuple[int, str, str]:
    """Returns (status, Location, the Set-Cookie header) of a login POST."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"csrf_token": _form_token(page.text), "key": token, "next": next_url},
        follow_redirects=False,
    )
    return response.status_code, response.headers.get("location", ""), response.headers.get("set-cookie", "")


def _page_csrf(client: TestClient) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/ui/queue").text)
    assert match
    return match.group(1)


def test_login_sets_a_httponly_samesite_session_cookie(client: TestClient, seeded: Seeded) -> None:
    status, location, cookie = _login(client, seeded.tokens[Role.COORDINATOR], "/ui/library?q=shoe")
    assert status == 303 and location == "/ui/library?q=shoe"
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/" in lowered
    assert seeded.tokens[Role.COORDINATOR] not in cookie  # the key itself never goes in the cookie
    page = client.get("/ui/queue")
    assert page.status_code == 200 and "test coordinator" in page.text
    assert client.get("/api/curator/queue").status_code == 200


def test_wrong_key_and_missing_form_token_are_refused(client: TestClient, seeded: Seeded) -> None:
    status, _, cookie = _login(client, "tso_0123456789ab_wrong")
    assert status == 401 and SESSION_COOKIE not in cookie
    response = client.post("/login", data={"key": seeded.tokens[Role.ADMIN]}, follow_redirects=False)
    assert response.status_code == 400 and SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_gallery_keys_cannot_use_the_ui(client: TestClient, seeded: Seeded) -> None:
    status, _, cookie = _login(client, seeded.tokens[Role.GALLERY])
    assert status == 403 and f"{SESSION_COOKIE}=" not in cookie


def test_no_open_redirect_after_login(client: TestClient, seeded: Seeded) -> None:
    for target in ("//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com"):
        client.cookies.clear()
        _, location, _ = _login(client, seeded.tokens[Role.VIEWER], target)
        assert location == "/ui/queue", target


def test_pages_send_browsers_to_login_and_api_answers_401(client: TestClient) -> None:
    page = client.get("/ui/dashboard?x=1", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fui%2Fdashboard%3Fx%3D1"
    assert client.get("/api/posts").status_code == 401


def test_cookie_writes_need_the_csrf_token(client: TestClient, seeded: Seeded) -> None:
    _login(client, seeded.tokens[Role.COORDINATOR])
    post_id = seeded.posts["q-high"]
    url = f"/api/curator/posts/{post_id}/decision"
    assert client.post(url, json={"action": "approve"}).status_code == 403
    assert client.post(url, json={"action": "approve"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    token = _page_csrf(client)
    cross = client.post(
        url, json={"action": "approve"}, headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    ok = client.post(
        url, json={"action": "approve"}, headers={"X-CSRF-Token": token, "Origin": "http://testserver"}
    )
    assert ok.status_code == 200 and ok.json()["applied"][0]["to_state"] == "approved"
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        rows = list(session.exec(select(AuditLog).where(col(AuditLog.entity_id) == str(post_id))))
    assert len(rows) == 1 and "test coordinator" in rows[0].actor and rows[0].action == "curation.approve"
    assert rows[0].before is not None and rows[0].before["queue_state"] == "new"
    assert rows[0].after is not None and rows[0].after["queue_state"] == "approved"


def test_only_a_coordinators_post_with_the_csrf_token_recomputes_ror(
    client: TestClient, seeded: Seeded
) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]

    def computed() -> list[object]:
        with session_scope(engine) as session:
            return list(session.exec(select(col(RorScore.computed_at))))

    _login(client, seeded.tokens[Role.VIEWER])
    # A viewer's GET (or a cross-site link riding the cookie) reads the leaderboard and changes nothing.
    assert client.get("/api/ror/leaderboard", params={"refresh": "true"}).status_code == 200
    assert computed() == []
    assert client.post("/api/ror/refresh", headers={"X-CSRF-Token": _page_csrf(client)}).status_code == 403
    client.cookies.clear()
    _login(client, seeded.tokens[Role.COORDINATOR])
    assert client.post("/api/ror/refresh").status_code == 403  # no CSRF token
    assert computed() == []
    token = _page_csrf(client)
    refreshed = client.post(
        "/api/ror/refresh", headers={"X-CSRF-Token": token, "Origin": "http://testserver"}
    )
    assert refreshed.status_code == 200 and computed()


def test_key_requests_need_no_csrf_token(client: TestClient, seeded: Seeded) -> None:
    url = f"/api/curator/posts/{seeded.posts['q-mid']}/decision"
    response = client.post(url, json={"action": "reject"}, headers=seeded.headers(Role.COORDINATOR))
    assert response.status_code == 200


def test_a_tampered_cookie_is_anonymous(client: TestClient, seeded: Seeded) -> None:
    _login(client, seeded.tokens[Role.VIEWER])
    value = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/api/posts").status_code == 401


def test_revoking_the_key_ends_its_sessions(client: TestClient, seeded: Seeded) -> None:
    _login(client, seeded.tokens[Role.VIEWER])
    assert client.get("/api/posts").status_code == 200
    key_id = seeded.tokens[Role.VIEWER].split("_")[1]
    revoked = client.delete(f"/api/keys/{key_id}", headers=seeded.headers(Role.ADMIN))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/posts").status_code == 401
    assert client.get("/api/posts", headers=seeded.headers(Role.VIEWER)).status_code == 401


def test_logout_needs_the_token_and_ends_the_session(client: TestClient, seeded: Seeded) -> None:
    _login(client, seeded.tokens[Role.VIEWER])
    cookie = client.cookies[SESSION_COOKIE]
    assert client.post("/logout", follow_redirects=False).status_code == 403
    response = client.post("/logout", data={"csrf_token": _page_csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)  # replaying the old cookie does not work either
    assert client.get("/api/posts").status_code == 401
