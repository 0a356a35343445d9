"""The public gallery: only approved/featured posts with rights granted, public fields, safe media."""

from __future__ import annotations

import gzip
import re
from importlib import resources
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import create_app
from tesoro.api.security import MediaFilter, safe_link
from tesoro.store.keys import Role
from worlds.api import HOSTILE_IMG, HOSTILE_SCRIPT, SHOP_ORIGIN, Seeded, make_settings, seed

PUBLIC_FIELDS = {
    "key",
    "platform",
    "text",
    "author",
    "permalink",
    "created_at",
    "featured",
    "product",
    "shop",
    "media",
}


def test_only_approved_or_featured_posts_with_rights_granted(client: TestClient) -> None:
    response = client.get("/gallery/andes-outdoor.json")
    assert response.status_code == 200
    body = response.json()
    texts = [item["text"] for item in body["items"]]
    assert body["brand"] == "Andes Outdoor" and len(texts) == 3
    assert texts[0] == "Nube kept me dry"  # featured first
    assert "Great grip on the Cumbre" in texts and any(HOSTILE_IMG in t for t in texts)
    for hidden in ("Approved but no rights", "New but granted", "Rejected", "Other brand post"):
        assert hidden not in texts


def test_items_carry_only_public_fields(client: TestClient) -> None:
    for item in client.get("/gallery/andes-outdoor.json").json()["items"]:
        assert set(item) == PUBLIC_FIELDS
        assert set(item["author"]) == {"handle", "name"}
        serialized = str(item)
        for private in ("followers", "treasure", "queue_state", "rights", "external_id", "'id'"):
            assert private not in serialized


def test_media_only_from_allowed_hosts_and_links_only_http(client: TestClient) -> None:
    items = {i["text"]: i for i in client.get("/gallery/andes-outdoor.json").json()["items"]}
    photo = items["Great grip on the Cumbre"]
    assert [m["url"] for m in photo["media"]] == ["https://pbs.twimg.com/media/photo1.jpg"]
    assert photo["media"][0]["alt"] == "a shoe on a trail"
    video = items["Nube kept me dry"]["media"][0]
    assert video["type"] == "video" and video["preview_url"] == "https://pbs.twimg.com/media/clip.jpg"
    hostile = next(i for t, i in items.items() if HOSTILE_SCRIPT in t)
    assert hostile["permalink"] is None  # it was javascript:alert(1)
    assert hostile["author"]["name"] == HOSTILE_IMG  # data stays data; the widget renders it as text


def test_filters_product_type_and_limit(client: TestClient) -> None:
    by_product = client.get("/gallery/andes-outdoor.json?product=cumbre-trail-runner").json()["items"]
    assert [i["text"] for i in by_product] == ["Great grip on the Cumbre"]
    assert client.get("/gallery/Andes Outdoor.json?product=Nube Rain Jacket").json()["items"][0]["featured"]
    videos = client.get("/gallery/andes-outdoor.json?type=video").json()["items"]
    assert [i["text"] for i in videos] == ["Nube kept me dry"]
    texts = client.get("/gallery/andes-outdoor.json?type=text").json()["items"]
    assert len(texts) == 1 and HOSTILE_SCRIPT in texts[0]["text"]
    assert len(client.get("/gallery/andes-outdoor.json?limit=1").json()["items"]) == 1
    assert client.get("/gallery/andes-outdoor.json?limit=1000").status_code == 422
    assert client.get("/gallery/andes-outdoor.json?type=audio").status_code == 422
    assert client.get("/gallery/nobody.json").status_code == 404
    assert client.get("/gallery/andes-outdoor.json?product=nothing").status_code == 404


def test_etag_and_cache_control(client: TestClient) -> None:
    first = client.get("/gallery/andes-outdoor.json")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert "public" in first.headers["cache-control"] and "max-age=60" in first.headers["cache-control"]
    again = client.get("/gallery/andes-outdoor.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    weak = client.get("/gallery/andes-outdoor.json", headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    assert client.get("/gallery/andes-outdoor.json", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_a_review_decision_changes_the_feed_and_its_etag(client: TestClient, seeded: Seeded) -> None:
    before = client.get("/gallery/andes-outdoor.json")
    url = f"/api/curator/posts/{seeded.posts['gal-photo']}/decision"
    assert (
        client.post(url, json={"action": "reject"}, headers=seeded.headers(Role.COORDINATOR)).status_code
        == 200
    )
    after = client.get("/gallery/andes-outdoor.json", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert "Great grip on the Cumbre" not in after.text


def test_cors_only_for_the_configured_origins(client: TestClient) -> None:
    allowed = client.get("/gallery/andes-outdoor.json", headers={"Origin": SHOP_ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert "Origin" in allowed.headers["vary"]
    other = client.get("/gallery/andes-outdoor.json", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers and "Origin" in other.headers["vary"]
    preflight = client.options(
        "/gallery/andes-outdoor.json",
        headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == SHOP_ORIGIN
    refused = client.options(
        "/gallery/andes-outdoor.json",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    # The rest of the API never answers CORS, whatever the origin.
    api = client.get("/api/posts", headers={"Origin": SHOP_ORIGIN})
    assert "access-control-allow-origin" not in api.headers


def test_embed_page_escapes_text_and_has_a_strict_csp(client: TestClient) -> None:
    response = client.get("/gallery/andes-outdoor/embed")
    assert response.status_code == 200
    html = response.text
    assert HOSTILE_IMG not in html and HOSTILE_SCRIPT not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html and "evil.example.net" not in html
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "connect-src 'self'" in csp  # the beacon, to Tesoro only
    assert f"frame-ancestors {SHOP_ORIGIN}" in csp and "https://pbs.twimg.com" in csp
    assert "x-frame-options" not in response.headers


def test_ui_pages_cannot_be_framed(client: TestClient, seeded: Seeded) -> None:
    page = client.get("/ui/queue", headers=seeded.headers(Role.VIEWER))
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_widget_script_builds_no_html_from_data(client: TestClient) -> None:
    response = client.get("/gallery/widget.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    source = response.text
    assert "attachShadow" in source and "textContent" in source
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source


def test_no_script_of_the_ui_uses_an_html_sink() -> None:
    static = resources.files("tesoro.api").joinpath("static")
    for entry in static.iterdir():
        if entry.name.endswith(".js"):
            text = entry.read_text(encoding="utf-8")
            for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
                assert sink not in text, f"{entry.name} uses {sink}"


def test_a_gallery_key_can_be_required(tmp_path: Path, sqlite_engine: Engine) -> None:
    settings = make_settings(tmp_path, require_key=True)
    seeded = seed(sqlite_engine, settings)
    with TestClient(create_app(settings, sqlite_engine)) as client:
        assert client.get("/gallery/andes-outdoor.json").status_code == 401
        keyed = client.get("/gallery/andes-outdoor.json", headers={"X-API-Key": seeded.tokens[Role.GALLERY]})
        assert keyed.status_code == 200
        assert client.get("/gallery/widget.js").status_code == 200


def test_media_filter_and_safe_link() -> None:
    media = MediaFilter(["pbs.twimg.com", "i.redd.it"])
    assert media.allowed("https://pbs.twimg.com/media/a.jpg")
    assert media.allowed("http://i.redd.it/a.png")
    for bad in (
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "https://pbs.twimg.com.evil.net/a.jpg",
        "https://evil.net/pbs.twimg.com/a.jpg",
        "https://user@pbs.twimg.com/a.jpg",
        "https://pbs.twimg.com:8443/a.jpg",
        "//pbs.twimg.com/a.jpg",
        'https://pbs.twimg.com/a.jpg" onerror="x',
        None,
        "",
    ):
        assert not media.allowed(bad), bad
    assert safe_link("https://x.com/a/status/1") == "https://x.com/a/status/1"
    assert safe_link("JavaScript:alert(1)") is None and safe_link("ftp://x.com/") is None


def test_the_widget_script_stays_small() -> None:
    source = resources.files("tesoro.api").joinpath("static", "widget.js").read_bytes()
    # docs/gallery.md quotes the sizes: 16,422 bytes, 5,976 gzipped.
    assert len(source) < 18_000 and len(gzip.compress(source, 9)) < 6_500
