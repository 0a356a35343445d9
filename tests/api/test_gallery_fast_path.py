"""The gallery feed's fast path: a kept body answered before the app, exactly as the route would answer it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import create_app
from tesoro.api.gallery import FEED_MEDIA_TYPES, FeedFastPath
from tesoro.api.routes.gallery import MediaType
from tesoro.settings import Settings
from tesoro.store.keys import Role
from worlds.api import SHOP_ORIGIN, Seeded, make_settings, seed

FEED = "/gallery/andes-outdoor.json"


class Answered:
    """Counts the requests the fast path answered itself."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        answer = FeedFastPath._answer

        async def counted(path: FeedFastPath, *args: Any) -> None:
            self.count += 1
            await answer(path, *args)

        monkeypatch.setattr(FeedFastPath, "_answer", counted)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> Answered:
    return Answered(monkeypatch)


def _headers(response: Any) -> dict[str, str]:
    """The response's headers but its request id (a new one each time)."""
    return {k: v for k, v in response.headers.items() if k != "x-request-id"}


def _from_the_route(client: TestClient, path: str, **kwargs: Any) -> Any:
    """The route's own answer: with the cache cleared, the fast path has nothing to serve."""
    client.app.state.gallery_cache.clear()  # type: ignore[attr-defined]
    return client.get(path, **kwargs)


@pytest.mark.parametrize(
    "path, headers",
    [
        (FEED, {}),
        (FEED + "?limit=2&type=photo", {"Origin": SHOP_ORIGIN}),
        (FEED + "?product=cumbre-trail-runner", {"Origin": "https://evil.example"}),
        (FEED + "?limit=24&utm=ignored", {"X-Request-ID": "abc-123"}),
    ],
)
def test_the_fast_answer_is_the_routes_answer(
    client: TestClient, answered: Answered, path: str, headers: dict[str, str]
) -> None:
    slow = _from_the_route(client, path, headers=headers)
    assert slow.status_code == 200 and answered.count == 0
    fast = client.get(path, headers=headers)
    assert answered.count == 1
    assert fast.status_code == 200 and fast.content == slow.content
    assert _headers(fast) == _headers(slow)
    if "X-Request-ID" in headers:
        assert fast.headers["x-request-id"] == slow.headers["x-request-id"] == "abc-123"
    else:
        assert len(fast.headers["x-request-id"]) == 32
        assert fast.headers["x-request-id"] != slow.headers["x-request-id"]


def test_a_304_is_the_routes_304(client: TestClient, answered: Answered) -> None:
    etag = client.get(FEED).headers["etag"]
    ask = {"If-None-Match": etag, "Origin": SHOP_ORIGIN}
    slow = _from_the_route(client, FEED, headers=ask)
    before = answered.count
    fast = client.get(FEED, headers=ask)
    assert answered.count == before + 1
    assert slow.status_code == fast.status_code == 304 and fast.content == b""
    assert "content-length" not in fast.headers or fast.headers["content-length"] == "0"
    assert _headers(fast) == _headers(slow)


def test_etags_on_the_fast_path(client: TestClient, answered: Answered) -> None:
    etag = client.get(FEED).headers["etag"]
    assert client.get(FEED, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(FEED, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get(FEED, headers={"If-None-Match": "*"}).status_code == 304
    stale = client.get(FEED, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.headers["etag"] == etag
    assert answered.count == 4


def test_an_expired_body_goes_to_the_route_and_is_kept_again(
    client: TestClient, answered: Answered, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.get(FEED)
    client.get(FEED)
    assert answered.count == 1
    later = time.monotonic() + client.app.state.settings.gallery.cache_ttl_s + 1  # type: ignore[attr-defined]
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert client.get(FEED).status_code == 200
    assert answered.count == 1  # expired: rendered again by the route
    assert client.get(FEED).status_code == 200
    assert answered.count == 2  # and kept again


def test_a_rejected_post_leaves_the_feed_at_once(
    client: TestClient, seeded: Seeded, answered: Answered
) -> None:
    client.get(FEED)
    assert "Great grip on the Cumbre" in client.get(FEED).text and answered.count == 1
    url = f"/api/curator/posts/{seeded.posts['gal-photo']}/decision"
    coordinator = seeded.headers(Role.COORDINATOR)
    assert client.post(url, json={"action": "reject"}, headers=coordinator).status_code == 200
    assert "Great grip on the Cumbre" not in client.get(FEED).text


def test_revoked_rights_leave_the_feed_at_once(
    client: TestClient, seeded: Seeded, answered: Answered
) -> None:
    client.get(FEED)
    assert "Nube kept me dry" in client.get(FEED).text and answered.count == 1
    url = f"/api/curator/posts/{seeded.posts['gal-video']}/rights"
    coordinator = seeded.headers(Role.COORDINATOR)
    assert client.post(url, json={"status": "revoked"}, headers=coordinator).status_code == 200
    after = client.get(FEED)
    assert "Nube kept me dry" not in after.text
    assert "Nube kept me dry" not in client.get(FEED).text  # kept again, without it


def test_a_change_made_by_another_process_shows_within_the_ttl(
    client: TestClient,
    seeded: Seeded,
    sqlite_engine: Engine,
    api_settings: Settings,
    answered: Answered,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client.get(FEED)
    assert "Nube kept me dry" in client.get(FEED).text
    with TestClient(create_app(api_settings, sqlite_engine)) as other:  # another API process
        url = f"/api/curator/posts/{seeded.posts['gal-video']}/rights"
        assert other.post(
            url, json={"status": "revoked"}, headers=seeded.headers(Role.COORDINATOR)
        ).is_success
    assert "Nube kept me dry" in client.get(FEED).text  # this process still holds its body
    later = time.monotonic() + api_settings.gallery.cache_ttl_s + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert "Nube kept me dry" not in client.get(FEED).text


@pytest.mark.parametrize(
    "path, headers, status",
    [
        (FEED + "?type=bogus", {}, 422),
        (FEED + "?type=", {}, 422),
        (FEED + "?limit=0", {}, 422),
        (FEED + "?limit=101", {}, 422),
        (FEED + "?limit=ten", {}, 422),
        (FEED + "?product=" + "x" * 201, {}, 422),
        (FEED + "?product=a%00b", {}, 422),
        (FEED, {"Authorization": "Bearer tso_wrong_key"}, 401),
        (FEED, {"X-API-Key": "tso_wrong_key"}, 401),
        ("/gallery/no-such-brand.json", {}, 404),
    ],
)
def test_what_the_fast_path_leaves_to_the_app(
    client: TestClient, answered: Answered, path: str, headers: dict[str, str], status: int
) -> None:
    client.get(FEED)
    client.get(FEED.replace(".json", ".json?limit=24"))  # kept bodies the requests below could hit
    before = answered.count
    assert client.get(path, headers=headers).status_code == status
    assert answered.count == before


def test_other_methods_and_credentials_go_to_the_app(
    client: TestClient, seeded: Seeded, answered: Answered
) -> None:
    got = client.get(FEED)
    before = answered.count
    head = client.head(FEED)  # the app's answer: the route's headers, no body
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["cache-control"] == got.headers["cache-control"]
    preflight = client.options(FEED, headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 204
    keyed = client.get(FEED, headers={"X-API-Key": seeded.tokens[Role.GALLERY]})
    assert keyed.status_code == 200
    assert answered.count == before


def test_no_fast_path_when_the_feed_needs_a_key(tmp_path: Path, sqlite_engine: Engine) -> None:
    settings = make_settings(tmp_path, require_key=True)
    seeded = seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine)) as client:
        keyed = client.get(FEED, headers={"X-API-Key": seeded.tokens[Role.GALLERY]})
        assert keyed.status_code == 200
        assert client.get(FEED).status_code == 401  # a kept body is no way around the key


def test_the_fast_path_accepts_the_routes_types() -> None:
    assert get_args(MediaType) == FEED_MEDIA_TYPES
