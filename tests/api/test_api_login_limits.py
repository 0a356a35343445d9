"""Web logins: failed attempts are rate-limited, and dead sessions are deleted.

Clocks are injected (the limiter's and the authenticator's), so nothing sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from tesoro.api.app import create_app
from tesoro.api.auth import SESSION_COOKIE, Authenticator
from tesoro.api.security import LoginRateLimiter, client_network, login_buckets
from tesoro.settings import Settings
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role, create_session, verify_key
from tesoro.store.tables import ApiSession
from worlds.api import Seeded

WRONG_KEY = "tso_0123456789ab_wrong"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(client: TestClient) -> Clock:
    fake = Clock()
    limiter = client.app.state.login_limiter  # type: ignore[attr-defined]
    assert isinstance(limiter, LoginRateLimiter)
    limiter.clock = fake
    return fake


def _login(client: TestClient, key: str, **headers: str) -> tuple[int, dict[str, str], str]:
    """POST the login form with a fresh form token, signed out first; returns (status, headers, body)."""
    client.cookies.clear()
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    response = client.post(
        "/login",
        data={"csrf_token": match.group(1), "key": key, "next": "/ui/queue"},
        headers=headers,
        follow_redirects=False,
    )
    return response.status_code, dict(response.headers), response.text


def _other_client(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, base_url="http://testserver", client=(address, 40000))


# --- the rate limit -----------------------------------------------------------------------------------


def test_ten_failures_from_an_address_then_429_until_the_window_passes(
    client: TestClient, seeded: Seeded, clock: Clock
) -> None:
    for n in range(10):
        # Each a different malformed key: only the address is counted.
        assert _login(client, f"not-a-key-{n}")[0] == 401
    status, headers, body = _login(client, "not-a-key-10")
    assert status == 429 and headers["retry-after"] == "300"
    assert "too many failed sign-in attempts" in body
    # While blocked, even a good key waits (else the limit would not slow down guessing).
    assert _login(client, seeded.tokens[Role.VIEWER])[0] == 429
    clock.now += 120
    assert _login(client, "not-a-key-11")[1]["retry-after"] == "180"
    clock.now += 179
    assert _login(client, "not-a-key-12")[1]["retry-after"] == "1"
    clock.now += 1  # the failures have left the window: the limit has reset
    status, headers, _ = _login(client, seeded.tokens[Role.COORDINATOR])
    assert status == 303 and SESSION_COOKIE in headers["set-cookie"]
    for n in range(9):
        assert _login(client, f"again-{n}")[0] == 401
    assert _login(client, "again-9")[0] == 401
    assert _login(client, "again-10")[0] == 429


def test_guesses_at_one_key_from_many_addresses_never_lock_its_owner_out(
    client: TestClient, seeded: Seeded, clock: Clock
) -> None:
    """Key ids are public; the 256-bit secret is what protects a key. No lockout per key id."""
    key_id = seeded.tokens[Role.ADMIN].split("_")[1]
    guesses = [f"tso_{key_id}_guess{n}" for n in range(12)]
    app: FastAPI = client.app  # type: ignore[assignment]
    for n in range(12):
        with _other_client(app, f"198.51.100.{n}") as other:
            assert _login(other, guesses[n])[0] == 401
    with _other_client(app, "203.0.113.7") as owner:
        assert _login(owner, seeded.tokens[Role.ADMIN])[0] == 303
    # The guessing addresses themselves are still counted, each on its own.
    with _other_client(app, "198.51.100.1") as other:
        for n in range(9):
            assert _login(other, f"{guesses[n]}x")[0] == 401
        assert _login(other, guesses[0])[0] == 429


def test_successful_logins_are_not_counted(client: TestClient, seeded: Seeded, clock: Clock) -> None:
    for _ in range(25):
        assert _login(client, seeded.tokens[Role.VIEWER])[0] == 303
    for n in range(9):
        assert _login(client, f"bad-{n}")[0] == 401
    for _ in range(5):  # a success neither counts nor wipes the failures before it
        assert _login(client, seeded.tokens[Role.VIEWER])[0] == 303
    assert _login(client, "bad-9")[0] == 401
    assert _login(client, "bad-10")[0] == 429
    # A wrong form token (400) or a gallery key (403) is not a failed key either.
    clock.now += 301
    for _ in range(12):
        assert client.post("/login", data={"key": WRONG_KEY}, follow_redirects=False).status_code == 400
        assert _login(client, seeded.tokens[Role.GALLERY])[0] == 403
    assert _login(client, seeded.tokens[Role.VIEWER])[0] == 303


def test_browsers_get_a_page_in_their_language(client: TestClient, clock: Clock) -> None:
    for n in range(10):
        _login(client, f"x{n}")
    status, headers, body = _login(client, "x10", accept="text/html", **{"accept-language": "es"})
    assert status == 429 and headers["retry-after"] == "300"
    assert (
        headers["content-type"].startswith("text/html")
        and "script-src 'self'" in headers["content-security-policy"]
    )
    assert "Demasiados intentos fallidos" in body and "5 min" in body


def test_only_the_login_form_is_limited(client: TestClient, seeded: Seeded, clock: Clock) -> None:
    for n in range(10):
        _login(client, f"x{n}")
    assert _login(client, "x10")[0] == 429
    assert client.get("/login").status_code == 200
    assert client.get("/api/posts", headers=seeded.headers(Role.VIEWER)).status_code == 200


def _app(engine: Engine, settings: Settings, **api: object) -> FastAPI:
    changed = settings.model_copy(update={"api": settings.api.model_copy(update=api)})
    return create_app(changed, engine)


def test_the_limit_follows_the_settings(
    sqlite_engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    app = _app(sqlite_engine, api_settings, login_max_failures=3, login_failure_window=60)
    with TestClient(app, base_url="http://testserver") as client:
        assert [_login(client, f"k{n}")[0] for n in range(4)] == [401, 401, 401, 429]
        assert _login(client, "k4")[1]["retry-after"] in ("59", "60")
    off = _app(sqlite_engine, api_settings, login_max_failures=0)
    assert off.state.login_limiter is None
    with TestClient(off, base_url="http://testserver") as client:
        assert {_login(client, f"k{n}")[0] for n in range(15)} == {401}


def test_the_settings_parse_durations_and_refuse_negative_limits() -> None:
    settings = Settings.model_validate({"api": {"login_failure_window": "2m", "login_max_failures": 5}})
    assert (settings.api.login_failure_window, settings.api.login_max_failures) == (120, 5)
    defaults = Settings.model_validate({})
    assert (defaults.api.login_failure_window, defaults.api.login_max_failures) == (300, 10)
    with pytest.raises(ValueError):
        Settings.model_validate({"api": {"login_max_failures": -1}})


def test_limiter_counts_attempts_in_flight_and_bounds_its_memory() -> None:
    clock = Clock()
    limiter = LoginRateLimiter(max_failures=3, window_s=60, clock=clock, max_buckets=5)
    bucket = ["addr:10.0.0.1"]
    # A burst sent in parallel: three reserved, the fourth waits before any has failed.
    assert [limiter.acquire(bucket) for _ in range(3)] == [None, None, None]
    assert limiter.acquire(bucket) == 1
    limiter.release(bucket, failed=False)  # one was a success: its slot is free again
    assert limiter.acquire(bucket) is None
    for _ in range(3):
        clock.now += 1
        limiter.release(bucket, failed=True)
    assert limiter.retry_after(bucket) == 58  # the oldest failure (at +1 s) leaves at +61 s
    clock.now += 58
    assert limiter.retry_after(bucket) is None
    for n in range(20):
        limiter.failed([f"addr:10.0.1.{n}"])
    assert len(limiter) == 5 and limiter.retry_after(["addr:10.0.1.19"]) is None  # 1 of 3
    with pytest.raises(ValueError):
        LoginRateLimiter(max_failures=0, window_s=60)


def test_the_bucket_is_the_address_alone() -> None:
    def buckets(host: str | None, body: bytes) -> list[str]:
        scope = {"type": "http", "client": (host, 1234) if host else None}
        return login_buckets(scope, body)

    assert buckets("192.0.2.5", b"key=tso_ABC123_secret&csrf_token=x") == ["addr:192.0.2.5"]
    assert buckets("2001:db8:1:2:aaaa::1", b"key=nonsense") == ["addr:2001:db8:1:2::/64"]
    assert buckets("::ffff:192.0.2.5", b"") == ["addr:192.0.2.5"]
    assert buckets(None, b"key=" + b"&x=1" * 60) == ["addr:unknown"]
    assert client_network("testclient") == "testclient"


# --- dead sessions --------------------------------------------------------------------------------------


def _sessions(engine: Engine) -> list[ApiSession]:
    with session_scope(engine) as session:
        return list(session.exec(select(ApiSession)))


@pytest.fixture
def wall(client: TestClient) -> Iterator[list[datetime]]:
    """The authenticator's wall clock, movable: wall[0] is 'now'."""
    now = [datetime.now(UTC)]
    auth: Authenticator = client.app.state.auth  # type: ignore[attr-defined]
    auth.clock = lambda: now[0]
    yield now


def test_an_expired_session_is_deleted_and_refused(
    client: TestClient, seeded: Seeded, wall: list[datetime]
) -> None:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    assert _login(client, seeded.tokens[Role.VIEWER])[0] == 303
    assert client.get("/api/posts").status_code == 200
    assert len(_sessions(engine)) == 1
    ttl = client.app.state.settings.api.session_ttl  # type: ignore[attr-defined]
    wall[0] += timedelta(seconds=ttl + 1)
    assert client.get("/api/posts").status_code == 401
    assert _sessions(engine) == []  # gone from the store, not only refused
    assert client.get("/api/posts").status_code == 401  # and it stays refused


def test_a_login_purges_dead_sessions(client: TestClient, seeded: Seeded, wall: list[datetime]) -> None:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        key = verify_key(session, token=seeded.tokens[Role.COORDINATOR])
        assert key is not None
        for hours in (13, 48, 1000):  # sessions nobody came back to
            create_session(session, api_key=key, ttl_s=3600, now=wall[0] - timedelta(hours=hours))
        create_session(session, api_key=key, ttl_s=3600, now=wall[0])  # still live
    assert len(_sessions(engine)) == 4
    assert _login(client, seeded.tokens[Role.VIEWER])[0] == 303
    assert len(_sessions(engine)) == 2  # the live one and the new one


def test_cookie_requests_purge_every_few_minutes(
    client: TestClient, seeded: Seeded, wall: list[datetime]
) -> None:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    auth: Authenticator = client.app.state.auth  # type: ignore[attr-defined]
    assert _login(client, seeded.tokens[Role.VIEWER])[0] == 303
    with session_scope(engine) as session:
        key = verify_key(session, token=seeded.tokens[Role.ADMIN])
        assert key is not None
        create_session(session, api_key=key, ttl_s=60, now=wall[0] - timedelta(hours=1))
    assert client.get("/api/posts").status_code == 200
    assert len(_sessions(engine)) == 2  # the login purged a moment ago: not due yet
    auth.PURGE_EVERY_S = 0.0
    assert client.get("/api/posts").status_code == 200
    assert len(_sessions(engine)) == 1
    assert auth.purge() == 0
