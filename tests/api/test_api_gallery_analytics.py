"""A gallery that sells: shop links with UTM, the anonymous beacon and its abuse, CTR per post and product."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.dates import format_date
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tesoro.api.app import create_app
from tesoro.api.gallery import BeaconLimiter, is_bot, with_utm
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.tables import GalleryStat, Media, MediaImage, MediaStatus
from worlds.api import SHOP_ORIGIN, Seeded, make_settings, seed

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
PHOTO, VIDEO, HOSTILE = "x:gal-photo", "x:gal-video", "x:gal-hostile"
BLURHASH = "L#G@C-|wsUJ,oLo1fQa|fQfQfQfQ"  # red on the left, green on the right (blurhash-python)


def _beacon(
    client: TestClient, events: list[tuple[str, str]], *, brand: str = "andes-outdoor", **kw: Any
) -> Any:
    headers = {"User-Agent": BROWSER, "Content-Type": "text/plain", **kw.pop("headers", {})}
    body = json.dumps({"brand": brand, "events": [{"key": k, "kind": kind} for k, kind in events]})
    return client.post("/gallery/beacon", content=body, headers=headers, **kw)


def _stats(engine: Engine) -> dict[int, tuple[int, int, int, int]]:
    with session_scope(engine) as session:
        return {
            r.post_id: (r.product_id, r.impressions, r.clicks, r.shop_clicks)
            for r in session.exec(select(GalleryStat))
        }


@pytest.fixture
def limited(tmp_path: Path, sqlite_engine: Engine) -> Iterator[tuple[TestClient, Seeded]]:
    settings = make_settings(tmp_path, beacon_per_minute=3, beacon_max_events=5, beacon_max_bytes=1024)
    seeded = seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine)) as client:
        yield client, seeded


# --- shop links ---


def test_tiles_carry_their_key_and_a_shop_link_with_utm(client: TestClient) -> None:
    items = {i["key"]: i for i in client.get("/gallery/andes-outdoor.json").json()["items"]}
    assert set(items) == {PHOTO, VIDEO, HOSTILE}
    shop = items[PHOTO]["shop"]
    assert shop["product"] == "Cumbre Trail Runner"
    url = urlsplit(shop["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{SHOP_ORIGIN}/cumbre"
    assert parse_qs(url.query) == {
        "color": ["red"],  # the shop's own parameter stays
        "utm_source": ["tesoro"],  # replaces the URL's own utm_source
        "utm_medium": ["ugc-gallery"],
        "utm_campaign": ["andes-outdoor"],
        "utm_content": [PHOTO],
    }
    assert items[VIDEO]["shop"] is None  # its product has no shop URL
    assert items[HOSTILE]["shop"] is None  # no product at all


def test_the_embed_page_shows_shop_links_and_tile_keys(client: TestClient) -> None:
    html = client.get("/gallery/andes-outdoor/embed?lang=es").text
    assert f'data-key="{PHOTO}"' in html and 'data-brand="andes-outdoor"' in html
    assert "Comprar: Cumbre Trail Runner" in html and "utm_content=x%3Agal-photo" in html


def test_utm_settings_are_validated_and_used(tmp_path: Path, sqlite_engine: Engine) -> None:
    with pytest.raises(ValueError, match="utm_source"):
        make_settings(tmp_path, utm_source="a b&c")
    settings = make_settings(tmp_path, utm_source="web", utm_medium="gallery", utm_campaign="fall-26")
    seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine)) as client:
        item = next(i for i in client.get("/gallery/andes-outdoor.json").json()["items"] if i["shop"])
    query = parse_qs(urlsplit(item["shop"]["url"]).query)
    assert query["utm_source"] == ["web"] and query["utm_medium"] == ["gallery"]
    assert query["utm_campaign"] == ["fall-26"]


def test_with_utm_keeps_fragments_and_other_parameters() -> None:
    url = with_utm(
        "https://s.example/p?a=1&utm_medium=x#top", source="s", medium="m", campaign="", content="k:1"
    )
    assert url == "https://s.example/p?a=1&utm_source=s&utm_medium=m&utm_content=k%3A1#top"


def test_a_shop_url_must_be_http(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="http"):
        make_settings(tmp_path).model_validate(
            {
                "brands": [{"name": "B"}],
                "products": [{"name": "P", "brand": "B", "shop_url": "javascript:alert(1)"}],
            }
        )


# --- the beacon ---


def test_beacon_counts_impressions_clicks_and_shop_clicks(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine
) -> None:
    events = [(PHOTO, "impression")] * 3 + [(PHOTO, "click"), (PHOTO, "shop"), (VIDEO, "impression")]
    response = _beacon(client, events)
    assert response.status_code == 204 and response.content == b""
    assert "set-cookie" not in response.headers
    assert _beacon(client, [(PHOTO, "impression")]).status_code == 204  # a second beacon adds up
    stats = _stats(sqlite_engine)
    cumbre = seeded.products["Cumbre Trail Runner"]
    nube = seeded.products["Nube Rain Jacket"]
    assert stats == {
        seeded.posts["gal-photo"]: (cumbre, 4, 1, 1),
        seeded.posts["gal-video"]: (nube, 1, 0, 0),
    }


def test_bad_ids_and_kinds_are_dropped_without_stopping_the_others(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine
) -> None:
    events = [
        ("x:does-not-exist", "impression"),
        ("x:other-brand", "impression"),  # another brand's post
        ("x:no-rights", "click"),  # rights not granted: never in the gallery
        ("nocolon", "impression"),
        (":", "impression"),
        ("x:" + "9" * 250, "impression"),
        ("x:'; DROP TABLE post; --", "impression"),
        (PHOTO, "purchase"),  # unknown kind
        (PHOTO, "impression"),  # the one good event
    ]
    assert _beacon(client, events).status_code == 204
    assert _stats(sqlite_engine) == {
        seeded.posts["gal-photo"]: (seeded.products["Cumbre Trail Runner"], 1, 0, 0)
    }
    assert _beacon(client, [(PHOTO, "impression")], brand="no-such-brand").status_code == 204
    assert _beacon(client, [(PHOTO, "impression")], brand="other-brand").status_code == 204  # not its post
    assert sum(v[1] for v in _stats(sqlite_engine).values()) == 1


@pytest.mark.parametrize(
    "agent",
    [
        "",
        "curl/8.5.0",
        "python-requests/2.32",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 Safari",
        "facebookexternalhit/1.1",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
    ],
)
def test_bots_are_answered_and_never_counted(client: TestClient, sqlite_engine: Engine, agent: str) -> None:
    response = _beacon(client, [(PHOTO, "impression")], headers={"User-Agent": agent})
    assert response.status_code == 204
    assert _stats(sqlite_engine) == {}


def test_a_prefetch_is_not_counted(client: TestClient, sqlite_engine: Engine) -> None:
    assert _beacon(client, [(PHOTO, "impression")], headers={"Sec-Purpose": "prefetch"}).status_code == 204
    assert _stats(sqlite_engine) == {}
    assert is_bot(BROWSER) is False and is_bot(None) is True


def test_a_flood_from_one_address_is_refused(
    limited: tuple[TestClient, Seeded], sqlite_engine: Engine
) -> None:
    client, _ = limited
    answers = [_beacon(client, [(PHOTO, "impression")]).status_code for _ in range(5)]
    assert answers == [204, 204, 204, 429, 429]
    assert sum(v[1] for v in _stats(sqlite_engine).values()) == 3  # nothing past the limit counted


def test_the_limiter_forgets_addresses_each_minute_and_stays_bounded() -> None:
    limiter = BeaconLimiter(2, max_clients=3)
    assert [limiter.allow("a", now=60.0) for _ in range(3)] == [True, True, False]
    assert limiter.allow("b", now=61.0) and limiter.allow("a", now=120.0)  # a new minute starts afresh
    for client in ("c", "d", "e", "f"):
        limiter.allow(client, now=121.0)
    assert len(limiter._counts) <= 3


def test_huge_bodies_and_too_many_events_are_refused(
    limited: tuple[TestClient, Seeded], sqlite_engine: Engine
) -> None:
    client, _ = limited
    assert _beacon(client, [(PHOTO, "impression")] * 6).status_code == 413  # over beacon_max_events
    huge = json.dumps({"brand": "andes-outdoor", "events": [], "pad": "x" * 5000})
    declared = client.post("/gallery/beacon", content=huge, headers={"User-Agent": BROWSER})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body is cut off as it streams
        yield b'{"brand": "andes-outdoor", "events": ['
        for _ in range(200):
            yield b'{"key": "x:gal-photo", "kind": "impression"},'

    streamed = client.post("/gallery/beacon", content=chunks(), headers={"User-Agent": BROWSER})
    assert streamed.status_code == 413
    assert _stats(sqlite_engine) == {}


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"brand": 1}', b'{"brand": "andes-outdoor", "events": "x"}', b"\xff\xfe"],
)
def test_malformed_beacons_are_refused(client: TestClient, sqlite_engine: Engine, body: bytes) -> None:
    response = client.post("/gallery/beacon", content=body, headers={"User-Agent": BROWSER})
    assert response.status_code == 422
    assert _stats(sqlite_engine) == {}


def test_the_beacon_can_be_turned_off(tmp_path: Path, sqlite_engine: Engine) -> None:
    settings = make_settings(tmp_path, beacon_enabled=False)
    seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine)) as client:
        assert _beacon(client, [(PHOTO, "impression")]).status_code == 204
        assert (
            "connect-src 'none'"
            in client.get("/gallery/andes-outdoor/embed").headers["content-security-policy"]
        )
    assert _stats(sqlite_engine) == {}


def test_the_beacon_is_public_even_when_the_feed_needs_a_key(tmp_path: Path, sqlite_engine: Engine) -> None:
    settings = make_settings(tmp_path, require_key=True)
    seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine)) as client:
        assert _beacon(client, [(PHOTO, "impression")]).status_code == 204
    assert len(_stats(sqlite_engine)) == 1


# --- performance ---


def test_performance_per_post_and_product_in_the_api_and_the_ui(client: TestClient, seeded: Seeded) -> None:
    _beacon(client, [(PHOTO, "impression")] * 10 + [(PHOTO, "click")] * 2 + [(PHOTO, "shop")])
    _beacon(client, [(VIDEO, "impression")] * 5 + [(VIDEO, "click"), (HOSTILE, "impression")])
    assert client.get("/api/gallery/performance?brand=andes-outdoor").status_code == 401
    response = client.get("/api/gallery/performance?brand=andes-outdoor", headers=seeded.headers(Role.VIEWER))
    assert response.status_code == 200
    body = response.json()
    assert body["brand"] == "Andes Outdoor"
    assert body["totals"] == {
        "impressions": 16,
        "clicks": 3,
        "shop_clicks": 1,
        "ctr": 0.1875,
        "shop_ctr": 0.0625,
    }
    posts = {p["key"]: p for p in body["posts"]}
    assert [p["key"] for p in body["posts"]] == [PHOTO, VIDEO, HOSTILE]  # most clicked first
    assert posts[PHOTO]["ctr"] == 0.2 and posts[PHOTO]["shop_ctr"] == 0.1
    assert posts[PHOTO]["product"] == "Cumbre Trail Runner" and posts[PHOTO]["author"] == "ana"
    assert posts[HOSTILE]["ctr"] == 0.0
    assert posts[PHOTO]["excerpt"] == "Great grip on the Cumbre"  # what the post says, not only its id
    products = {p["product"]: p for p in body["products"]}
    assert products["Cumbre Trail Runner"]["shop_clicks"] == 1
    assert products["Cumbre Trail Runner"]["shop_url"].startswith(SHOP_ORIGIN)
    assert products["Nube Rain Jacket"]["ctr"] == 0.2
    assert products[None]["impressions"] == 1 and body["products"][-1]["product"] is None
    missing = client.get("/api/gallery/performance?brand=nope", headers=seeded.headers(Role.VIEWER))
    assert missing.status_code == 404

    page = client.get("/ui/gallery?lang=es", headers=seeded.headers(Role.VIEWER))
    assert page.status_code == 200
    assert "Rendimiento de la galería" in page.text and "Cumbre Trail Runner" in page.text
    assert "20,0%" in page.text  # the photo's CTR, in Spanish
    assert ">Great grip on the Cumbre</a>" in page.text  # the row names the post by its words
    since = format_date(date.fromisoformat(body["since"]), format="medium", locale="es")
    assert f"Del {since} al " in page.text and body["since"] not in page.text  # days as Spanish writes them
    english = client.get(
        "/ui/gallery?brand=andes-outdoor&days=7&lang=en", headers=seeded.headers(Role.VIEWER)
    )
    assert "Gallery performance" in english.text and "18.8%" in english.text


# --- blurhash placeholders ---


def _with_blurhash(engine: Engine, post_id: int, placeholder: str) -> None:
    with session_scope(engine) as session:
        media = session.exec(select(Media).where(col(Media.post_id) == post_id)).all()
        photo = next(m for m in media if m.url.endswith("photo1.jpg"))
        assert photo.id is not None
        session.add(
            MediaImage(media_id=photo.id, post_id=post_id, status=MediaStatus.OK, blurhash=placeholder)
        )


def test_the_feed_carries_the_media_pipelines_blurhash(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine
) -> None:
    _with_blurhash(sqlite_engine, seeded.posts["gal-photo"], BLURHASH)
    client.app.state.gallery_cache.clear()  # type: ignore[attr-defined]
    items = {i["key"]: i for i in client.get("/gallery/andes-outdoor.json").json()["items"]}
    assert items[PHOTO]["media"][0]["blurhash"] == BLURHASH
    assert items[VIDEO]["media"][0]["blurhash"] is None  # not processed (yet)
