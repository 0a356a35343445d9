"""Issue 17, items 5-8: no request can tie up the server, read a body it may not send, or get a 500.

Bounded work (windows, series, pages), bodies refused before they are read (401
first, 413 over the limit), forwarded headers believed only from configured
proxies, and hostile input (huge integers, NULs, lone surrogates, dates out of
range) answered with a 422 that names the field, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import create_app
from tesoro.api.asgi import uvicorn_options
from tesoro.api.routes.insights import MAX_POINTS
from tesoro.api.schemas.common import MAX_ID, MAX_OFFSET
from tesoro.settings import Settings
from tesoro.store.keys import Role
from worlds.api import Seeded, make_settings, seed

SECURITY_HEADERS = ("x-content-type-options", "referrer-policy", "content-security-policy", "x-frame-options")


def _loc(response: Any) -> list[list[Any]]:
    """The `loc` of each error in a 422 (FastAPI's shape)."""
    assert response.status_code == 422, response.text
    return [error["loc"] for error in response.json()["detail"]]


@pytest.fixture
def client(shared_api: tuple[TestClient, Seeded]) -> TestClient:
    """One app for the module: its tests read, or send what is refused."""
    return shared_api[0]


@pytest.fixture
def seeded(shared_api: tuple[TestClient, Seeded]) -> Seeded:
    return shared_api[1]


# --- item 5: bounded work per request ---------------------------------------------------------------


def test_the_probe_window_is_refused_at_once_naming_the_field(client: TestClient, seeded: Seeded) -> None:
    viewer = seeded.headers(Role.VIEWER)
    probe = client.get(
        "/api/kpis/volume",
        params={"since": "0001-01-01", "until": "9999-12-30", "bucket": "day"},
        headers=viewer,
    )
    assert ["query", "since"] in _loc(probe)
    assert "1970-01-01" in probe.json()["detail"][0]["msg"]


def test_a_series_has_at_most_max_points_buckets(client: TestClient, seeded: Seeded) -> None:
    viewer = seeded.headers(Role.VIEWER)
    days = {"since": "2020-01-01", "until": "2026-01-01", "bucket": "day"}  # ~2,200 days
    for path in ("/api/kpis/volume", "/api/charts/volume.svg", "/api/charts/sentiment.svg"):
        refused = client.get(path, params=days, headers=viewer)
        assert _loc(refused) == [["query", "bucket"]], path
        assert str(MAX_POINTS) in refused.json()["detail"][0]["msg"]
    # The same window by month is 73 points, and a window chosen automatically stays under the limit too.
    months = client.get("/api/kpis/volume", params={**days, "bucket": "month"}, headers=viewer)
    assert months.status_code == 200 and len(months.json()["points"]) == 73
    auto = client.get(
        "/api/kpis/volume", params={"since": "1971-01-01", "until": "2099-12-31"}, headers=viewer
    )
    assert _loc(auto) == [["query", "since"]]  # 1,548 months
    assert client.get("/api/kpis/volume", params={"since": "40y"}, headers=viewer).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "999999y"}, "since"),
        ({"since": "200y"}, "since"),
        ({"until": "9999-12-31"}, "until"),
        ({"until": "9999-12-31T23:59:59+00:00"}, "until"),
        ({"since": "0001-01-01"}, "since"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since"),
        ({"since": "1969-12-31", "until": "1970-06-01"}, "since"),
    ],
)
def test_every_window_end_out_of_range_is_a_422_naming_it(
    client: TestClient, seeded: Seeded, params: dict[str, str], field: str
) -> None:
    viewer = seeded.headers(Role.VIEWER)
    for path in ("/api/kpis", "/api/kpis/volume", "/api/kpis/share-of-voice", "/api/kpis/purchases"):
        assert _loc(client.get(path, params=params, headers=viewer)) == [["query", field]], path


def test_pages_and_offsets_are_bounded(client: TestClient, seeded: Seeded) -> None:
    viewer = seeded.headers(Role.VIEWER)
    for path in (
        "/api/posts",
        "/api/curator/queue",
        "/api/curator/library",
        "/api/curator/decisions",
        "/api/alerts",
        "/api/alerts/deliveries",
        "/api/ror/leaderboard",
    ):
        for offset in (MAX_OFFSET + 1, 10**30):
            assert _loc(client.get(path, params={"offset": offset}, headers=viewer)) == [
                ["query", "offset"]
            ], (path, offset)
        assert client.get(path, params={"offset": MAX_OFFSET}, headers=viewer).status_code == 200, path


# --- item 8: a 422 naming the field, never a 500 -------------------------------------------------------


@pytest.fixture
def any_client(shared_api_any: tuple[TestClient, Seeded]) -> tuple[TestClient, Seeded]:
    """The API over SQLite and over PostgreSQL (whose `integer` ids and text refuse what SQLite takes).

    One app and store per backend for the module: every request here is refused, so nothing changes.
    """
    return shared_api_any


@pytest.mark.parametrize("number", [MAX_ID + 1, 2**63, 10**30, -(2**63) - 1, 0])
def test_ids_out_of_range_in_paths_queries_and_bodies(
    any_client: tuple[TestClient, Seeded], number: int
) -> None:
    client, seeded = any_client
    coordinator = seeded.headers(Role.COORDINATOR)
    post = seeded.posts["gal-photo"]
    reads = {
        f"/api/posts/{number}": ["path", "post_id"],
        f"/api/curator/posts/{number}": ["path", "post_id"],
        f"/api/authors/{number}/ror": ["path", "author_id"],
        f"/api/curator/queue?brand={number}": ["query", "brand"],
        f"/api/curator/library?product={number}": ["query", "product", 0],
        f"/api/curator/decisions?post_id={number}": ["query", "post_id"],
        f"/api/identity/suggestions?author_id={number}": ["query", "author_id"],
    }
    for path, loc in reads.items():
        assert _loc(client.get(path, headers=coordinator)) == [loc], path
    writes = {
        f"/api/curator/posts/{post}/decision": ({"action": "approve", "product_id": number}, "product_id"),
        f"/api/curator/posts/{post}/product": ({"product_id": number}, "product_id"),
        "/api/curator/decisions/bulk": ({"action": "reject", "post_ids": [number]}, "post_ids"),
        "/api/identity/unlink": ({"author_id": number}, "author_id"),
        "/api/identity/dismiss": ({"author_a": 1, "author_b": number}, "author_b"),
    }
    for path, (body, field) in writes.items():
        loc = _loc(client.post(path, json=body, headers=coordinator))
        assert [entry[:2] for entry in loc] == [["body", field]], path
    # The largest id is a plain "not found", on both backends.
    assert client.get(f"/api/posts/{MAX_ID}", headers=coordinator).status_code == 404


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"], ids=["nul", "lone-surrogate"])
def test_nul_and_lone_surrogates_in_notes_tags_and_rules(
    any_client: tuple[TestClient, Seeded], bad: str
) -> None:
    client, seeded = any_client
    coordinator, admin = seeded.headers(Role.COORDINATOR), seeded.headers(Role.ADMIN)
    post = seeded.posts["gal-photo"]
    cases = [
        (f"/api/curator/posts/{post}/decision", {"action": "note", "note": bad}, "note", coordinator),
        (
            f"/api/curator/posts/{post}/decision",
            {"action": "approve", "add_tags": [bad]},
            "add_tags",
            coordinator,
        ),
        (f"/api/curator/posts/{post}/tags", {"add": ["ok", bad]}, "add", coordinator),
        (f"/api/curator/posts/{post}/rights", {"status": "granted", "note": bad}, "note", coordinator),
        ("/api/identity/link", {"author_ids": [1, 2], "display_name": bad}, "display_name", coordinator),
        ("/api/keys", {"name": bad, "role": "viewer"}, "name", admin),
        ("/api/alerts/rules", {"name": bad, "kind": "volume_spike"}, None, admin),
    ]
    for path, body, field, headers in cases:
        # JSON escapes keep the surrogate as it is (httpx would refuse to encode it as UTF-8).
        raw = json.dumps(body, ensure_ascii=True)
        response = client.post(path, content=raw, headers={**headers, "content-type": "application/json"})
        loc = _loc(response)
        assert loc[0][0] == "body" and (field is None or loc[0][1] == field), (path, loc)
        assert response.headers["x-content-type-options"] == "nosniff"


def test_nul_in_filters_and_paths_is_a_422_naming_the_parameter(
    any_client: tuple[TestClient, Seeded],
) -> None:
    client, seeded = any_client
    coordinator = seeded.headers(Role.COORDINATOR)
    assert _loc(client.get("/api/curator/library?q=a%00b", headers=coordinator)) == [["query", "q"]]
    assert _loc(client.get("/api/curator/library?platform=x%00", headers=coordinator)) == [
        ["query", "platform"]
    ]
    assert _loc(client.get("/api/kpis?brand=%00", headers=coordinator)) == [["query", "brand"]]
    assert _loc(client.get("/api/alerts?rule=a%00", headers=coordinator)) == [["query", "rule"]]
    assert _loc(client.get("/gallery/andes%00outdoor.json")) == [["path"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"date_to": "9999-12-31"}, "date_to"), ({"date_from": "0001-01-01"}, "date_from")],
)
def test_library_dates_out_of_range(
    any_client: tuple[TestClient, Seeded], params: dict[str, str], field: str
) -> None:
    client, seeded = any_client
    response = client.get("/api/curator/library", params=params, headers=seeded.headers(Role.VIEWER))
    assert _loc(response) == [["query", field]]


@pytest.mark.parametrize("cooldown", ["null", "1e400", str(10**30), "[1]", '"99999999d"'])
def test_alert_rule_durations_that_are_no_duration(
    any_client: tuple[TestClient, Seeded], cooldown: str
) -> None:
    """Found by schemathesis: `"cooldown": null` was a TypeError (500); infinity an OverflowError."""
    client, seeded = any_client
    raw = '{"name": "probe", "kind": "new_mention", "cooldown": ' + cooldown + "}"
    headers = {**seeded.headers(Role.ADMIN), "content-type": "application/json"}
    response = client.post("/api/alerts/rules", content=raw, headers=headers)
    assert response.status_code == 422, response.text
    assert "cooldown" in response.text


def test_event_times_out_of_range(any_client: tuple[TestClient, Seeded]) -> None:
    client, seeded = any_client
    coordinator = seeded.headers(Role.COORDINATOR)
    path = "/api/authors/1/events"
    for when in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1900-01-01T00:00:00Z"):
        body = {"kind": "gift", "occurred_at": when}
        assert _loc(client.post(path, json=body, headers=coordinator))[0][:2] == ["body", "occurred_at"], when


def test_error_answers_carry_the_security_headers(sqlite_engine: Engine, api_settings: Settings) -> None:
    seeded = seed(sqlite_engine, api_settings)
    app = create_app(api_settings, sqlite_engine)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        answers = {
            500: client.get("/boom"),
            401: client.post("/api/curator/rank"),
            404: client.get("/api/posts/424242", headers=seeded.headers(Role.VIEWER)),
            413: client.post("/api/curator/rank", content=b"x" * (api_settings.api.max_body_bytes + 1)),
            422: client.get("/api/posts/0", headers=seeded.headers(Role.VIEWER)),
        }
    for status, response in answers.items():
        assert response.status_code == status, (status, response.text)
        for name in SECURITY_HEADERS:
            assert name in response.headers, (status, name)
    assert answers[500].json() == {"detail": "internal server error"}
    assert "a bug" not in answers[500].text


def test_the_documented_422_covers_both_shapes(client: TestClient, seeded: Seeded) -> None:
    spec = client.get("/openapi.json", headers=seeded.headers(Role.VIEWER)).json()
    schema = spec["paths"]["/api/kpis/volume"]["get"]["responses"]["422"]["content"]["application/json"][
        "schema"
    ]
    shapes = schema["anyOf"]
    assert shapes[0] == {"$ref": "#/components/schemas/HTTPValidationError"}
    assert shapes[1]["properties"]["detail"]["anyOf"][0] == {"type": "string"}


# --- item 6: bodies refused before they are read, and capped -------------------------------------------


class Body:
    """An ASGI `receive` that hands out `chunks` chunks of `size` bytes and counts what was taken."""

    def __init__(self, chunks: int, size: int = 1024 * 1024) -> None:
        self.chunks, self.size, self.taken = chunks, size, 0

    async def __call__(self) -> dict[str, Any]:
        self.taken += 1
        more = self.taken < self.chunks
        return {"type": "http.request", "body": b"{" * self.size, "more_body": more}


def _call(app: Any, method: str, path: str, headers: dict[str, str], receive: Body) -> tuple[int, bytes]:
    """Run one request through the ASGI app; returns (status, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    answer: dict[str, Any] = {"body": b""}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return answer["status"], answer["body"]


def test_an_unauthenticated_body_is_refused_before_a_byte_is_read(
    sqlite_engine: Engine, api_settings: Settings
) -> None:
    seed(sqlite_engine, api_settings)
    app = create_app(api_settings, sqlite_engine)
    for headers in (
        {},
        {"authorization": "Bearer tso_0123456789ab_wrong"},
        {"cookie": "tesoro_session=forged"},
    ):
        body = Body(chunks=200)  # 200 MB, as the probe sent
        status, answer = _call(app, "POST", "/api/curator/decisions/bulk", headers, body)
        assert status == 401, (headers, answer)
        assert body.taken == 0, headers
    # A wrong key is named as such; no key asks for one.
    assert (
        b"unknown or revoked"
        in _call(app, "POST", "/api/identity/link", {"x-api-key": "tso_0123456789ab_wrong"}, Body(1))[1]
    )


def test_bodies_over_the_limit_are_a_413_for_every_caller(tmp_path: Path, sqlite_engine: Engine) -> None:
    settings = Settings.model_validate(
        {**make_settings(tmp_path).model_dump(), "api": {"max_body_bytes": 4096}}
    )
    seeded = seed(sqlite_engine, settings)
    app = create_app(settings, sqlite_engine)
    coordinator = {"authorization": seeded.headers(Role.COORDINATOR)["Authorization"]}
    # Said up front: refused before reading.
    declared = Body(chunks=200)
    status, _ = _call(
        app, "POST", "/api/curator/decisions/bulk", {**coordinator, "content-length": "209715200"}, declared
    )
    assert (status, declared.taken) == (413, 0)
    # Streamed without a length: refused as soon as it passes the limit, not read to the end.
    streamed = Body(chunks=200, size=1024)
    status, answer = _call(app, "POST", "/api/curator/decisions/bulk", coordinator, streamed)
    assert status == 413 and b"max_body_bytes" in answer
    assert streamed.taken == 5
    # The login form is public but capped too, as is a form to any write.
    with TestClient(app) as client:
        login = client.post("/login", data={"key": "x" * 5000}, follow_redirects=False)
        assert login.status_code == 413
        form = client.post(
            f"/api/curator/posts/{seeded.posts['gal-photo']}/tags",
            data={"add": "y" * 5000},
            headers=seeded.headers(Role.COORDINATOR),
        )
        assert form.status_code == 413
        fits = client.post(
            f"/api/curator/posts/{seeded.posts['gal-photo']}/tags",
            json={"add": ["fits"]},
            headers=seeded.headers(Role.COORDINATOR),
        )
        assert fits.status_code == 200, fits.text


# --- item 7: forwarded headers -----------------------------------------------------------------------


async def _logins(app: Any, attempts: int) -> list[int]:
    """`attempts` failed web logins from 127.0.0.1, each claiming a fresh X-Forwarded-For."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    statuses = []
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for n in range(attempts):
            client.cookies.clear()
            page = await client.get("/login")
            match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert match
            response = await client.post(
                "/login",
                data={"csrf_token": match.group(1), "key": "tso_0123456789ab_wrong", "next": "/ui/queue"},
                headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
            )
            statuses.append(response.status_code)
    return statuses


def _served(settings: Settings, engine: Engine) -> Any:
    """The app as `tesoro serve` hands it to uvicorn (uvicorn's own wrapping included)."""
    config = uvicorn.Config(create_app(settings, engine), **uvicorn_options(settings))
    config.load()
    return config.loaded_app


def test_spoofed_forwarded_headers_do_not_evade_the_login_limit_by_default(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    settings = make_settings(tmp_path)
    seed(sqlite_engine, settings)
    assert settings.server.forwarded_allow_ips == []
    assert uvicorn_options(settings)["proxy_headers"] is False
    statuses = asyncio.run(_logins(_served(settings, sqlite_engine), 25))
    limit = settings.api.login_max_failures
    assert statuses[:limit] == [401] * limit
    assert set(statuses[limit:]) == {429}


def test_a_configured_proxy_is_believed(tmp_path: Path, sqlite_engine: Engine) -> None:
    settings = Settings.model_validate(
        {**make_settings(tmp_path).model_dump(), "server": {"forwarded_allow_ips": ["127.0.0.1"]}}
    )
    seed(sqlite_engine, settings)
    # Behind the proxy each client is its own address: 25 clients, one failure each, none blocked.
    statuses = asyncio.run(_logins(_served(settings, sqlite_engine), 25))
    assert set(statuses) == {401}


def test_forwarded_allow_ips_must_be_addresses() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        Settings.model_validate({"server": {"forwarded_allow_ips": ["proxy.example.com"]}})
    ok = Settings.model_validate({"server": {"forwarded_allow_ips": ["10.0.0.0/8", " ::1 "]}})
    assert ok.server.forwarded_allow_ips == ["10.0.0.0/8", "::1"]
