"""The library API's sort and date filters: what the library page sends, and a clear 422 otherwise."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.settings import Settings
from tesoro.store.keys import Role
from worlds.api import BASE_TIME, Seeded, rank


@pytest.fixture
def ranked(sqlite_engine: Engine, api_settings: Settings, seeded: Seeded, client: TestClient) -> Seeded:
    rank(sqlite_engine, api_settings, seeded)
    return seeded


def _ids(body: dict[str, object]) -> list[int]:
    return [item["id"] for item in body["items"]]  # type: ignore[attr-defined, index]


def test_every_sort_the_page_offers(client: TestClient, ranked: Seeded) -> None:
    headers = ranked.headers(Role.COORDINATOR)
    library = {ranked.posts[k] for k in ("gal-photo", "gal-video", "gal-hostile", "no-rights")}
    for sort in ("treasure", "date", "engagement"):
        response = client.get(f"/api/curator/library?sort={sort}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["sort"] == sort and set(_ids(body)) == library
    newest = client.get("/api/curator/library?sort=date", headers=headers).json()
    assert [i["created_at"] for i in newest["items"]] == sorted(
        (i["created_at"] for i in newest["items"]), reverse=True
    )
    # Relevance without words or a meaning falls back to treasure, and says so.
    assert client.get("/api/curator/library?sort=relevance", headers=headers).json()["sort"] == "treasure"


def test_dates_narrow_the_library(client: TestClient, ranked: Seeded) -> None:
    headers = ranked.headers(Role.COORDINATOR)
    day = BASE_TIME.date().isoformat()
    same_day = client.get(f"/api/curator/library?date_from={day}&date_to={day}", headers=headers)
    assert same_day.status_code == 200 and same_day.json()["total"] == 4
    stamp = (BASE_TIME.replace(microsecond=0)).isoformat()
    before = client.get("/api/curator/library", params={"date_to": stamp}, headers=headers).json()
    # gal-photo is 5 minutes before BASE_TIME, and the rest older: an exact time keeps them all.
    assert before["total"] == 4
    later = client.get("/api/curator/library", params={"date_from": stamp}, headers=headers).json()
    assert later["total"] == 0 and later["items"] == []


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("sort=popularity", "sort", "'engagement'"),
        ("date_from=yesterday", "date_from", "not a date"),
        ("date_to=2026-13-01", "date_to", "not a date"),
        ("date_from=2026-11-02&date_to=2026-11-01", "date_to", "must not be before date_from"),
        ("date_from=1066-10-14", "date_from", "must be"),
    ],
)
def test_a_bad_sort_or_date_is_a_422_naming_the_field(
    client: TestClient, ranked: Seeded, query: str, field: str, words: str
) -> None:
    response = client.get(f"/api/curator/library?{query}", headers=ranked.headers(Role.COORDINATOR))
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"] == ["query", field] and words in error["msg"]


def test_the_tag_filter(client: TestClient, ranked: Seeded) -> None:
    headers = ranked.headers(Role.COORDINATOR)
    photo, video = ranked.posts["gal-photo"], ranked.posts["gal-video"]
    for post, tag in ((photo, "Trail  Hero"), (video, "rain")):
        response = client.post(f"/api/curator/posts/{post}/tags", json={"add": [tag]}, headers=headers)
        assert response.status_code == 200, response.text
    hero = client.get("/api/curator/library", params={"tag": "trail hero"}, headers=headers).json()
    assert _ids(hero) == [photo] and hero["items"][0]["tags"] == ["trail hero"]
    both = client.get("/api/curator/library", params={"tag": ["TRAIL HERO", "rain"]}, headers=headers).json()
    assert set(_ids(both)) == {photo, video}
    none = client.get("/api/curator/library", params={"tag": "unused"}, headers=headers).json()
    assert none["total"] == 0
    for bad in ("   ", "x" * 65):
        response = client.get("/api/curator/library", params={"tag": bad}, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", "tag"]
