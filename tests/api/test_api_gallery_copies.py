"""Kept copies of rights-cleared media (issue 20 item 4), on SQLite and PostgreSQL.

The gallery world's media live on pbs.twimg.com, which the tests must not reach: the real
`SafeFetcher` gets its bytes from the simulator's picture generator through a mock transport
(the one thing that would leave the machine). The copies job, the media store (a folder, or an
S3 bucket through boto3 against moto), the store and the gallery's routes are the real ones.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tesoro.api.app import create_app
from tesoro.curator.rights import set_rights
from tesoro.media.copies import LocalObjects, S3Objects, copy_image, open_media_store, sync_copies
from tesoro.media.fetch import FetchPolicy, SafeFetcher
from tesoro.media.images import ImageError
from tesoro.settings import Settings
from tesoro.simulator.images import render
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.tables import KeptCopy, Post
from worlds.api import Seeded, make_settings, seed

PHOTO_URL = "https://pbs.twimg.com/media/photo1.jpg"
POSTER_URL = "https://pbs.twimg.com/media/clip.jpg"


def _with_gps(width: int = 3000, height: int = 2000) -> bytes:
    """A JPEG that carries a camera make and a GPS position in its EXIF."""
    image = Image.new("RGB", (width, height), (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (40.0, 26.0, 46.0), 3: "W", 4: (79.0, 58.0, 56.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=80)
    return out.getvalue()


def _fetcher(answers: dict[str, Callable[[], httpx.Response]]) -> SafeFetcher:
    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.get(str(request.url).replace("93.184.216.34", request.headers["host"]))
        return answer() if answer else httpx.Response(404)

    policy = FetchPolicy(allowed_hosts=frozenset({"pbs.twimg.com"}), max_bytes=8 * 1024 * 1024)
    return SafeFetcher(
        policy, resolver=lambda host, port: ["93.184.216.34"], transport=httpx.MockTransport(handler)
    )


def _ok(body: bytes) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(200, content=body, headers={"Content-Type": "image/jpeg"})


GOOD = {
    PHOTO_URL: _ok(_with_gps()),
    POSTER_URL: _ok(render("https://pbs.twimg.com/media/clip.jpg", 1280, 720, edge=1280, poster=True)),
}


def _settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, copies=True, copies_dir=str(tmp_path / "kept"), copies_max_edge=1024)


def _rows(engine: Engine) -> dict[str, KeptCopy]:
    with session_scope(engine) as session:
        return {r.url.rsplit("/", 1)[-1]: r for r in session.exec(select(KeptCopy))}


def _feed(client: TestClient) -> dict[str, dict[str, object]]:
    return {i["text"]: i for i in client.get("/gallery/andes-outdoor.json").json()["items"]}


def _set_rights(engine: Engine, post_id: int, status: str) -> None:
    with session_scope(engine) as session:
        set_rights(session, post_ids=[post_id], status=status, actor="test")


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[Settings, Seeded]:
    settings = _settings(tmp_path)
    return settings, seed(engine, settings)


def test_granted_media_are_kept_and_served_without_metadata(
    engine: Engine, world: tuple[Settings, Seeded], tmp_path: Path
) -> None:
    settings, _ = world
    with TestClient(create_app(settings, engine)) as client:
        assert _feed(client) == {} or all(not i["media"] for i in _feed(client).values())  # nothing kept yet
        report = sync_copies(engine, settings, LocalObjects(tmp_path / "kept"), fetcher=_fetcher(GOOD))
        assert (report.kept, report.dropped) == (2, 0)
        assert report.failed == 1  # evil.example.net is not an allowed host: refused, never retried
        rows = _rows(engine)
        assert rows["photo1.jpg"].status == "ok" and rows["clip.jpg"].status == "ok"
        assert rows["track.gif"].status == "failed" and "host" in (rows["track.gif"].error or "")
        client.app.state.gallery_cache.clear()  # type: ignore[attr-defined]
        items = _feed(client)
        assert set(items) >= {"Great grip on the Cumbre", "Nube kept me dry"}
        photo = items["Great grip on the Cumbre"]["media"]
        assert isinstance(photo, list) and len(photo) == 1  # the disallowed one is dropped, as before
        url = photo[0]["url"]
        assert url.startswith("/gallery/media/") and url == photo[0]["preview_url"]
        assert (photo[0]["width"], photo[0]["height"]) == (1024, 683)  # capped at copies_max_edge
        assert "pbs.twimg.com" not in client.get("/gallery/andes-outdoor.json").text
        video = items["Nube kept me dry"]["media"][0]  # type: ignore[index]
        assert video["url"] is None and video["preview_url"].startswith("/gallery/media/")

        served = client.get(url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        etag = served.headers["etag"]
        assert etag.strip('"') in url
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        head = client.head(url)
        assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
        picture = Image.open(io.BytesIO(served.content))
        assert picture.size == (1024, 683)
        assert len(picture.getexif()) == 0 and b"SpyCam" not in served.content  # no EXIF, no GPS
        assert client.get(url.replace(".jpg", "0.jpg")).status_code == 404
        wrong_etag = url.split("-")[0] + "-" + "0" * 32 + ".jpg"
        assert client.get(wrong_etag).status_code == 404
        assert client.get("/gallery/media/..%2F..%2Fetc%2Fpasswd").status_code == 404
    again = sync_copies(engine, settings, LocalObjects(tmp_path / "kept"), fetcher=_fetcher(GOOD))
    assert (again.kept, again.failed, again.retrying) == (0, 0, 0)  # nothing left to do


@pytest.mark.parametrize("status", ["declined", "expired", "requested"])
def test_copies_are_deleted_when_rights_are_revoked_or_expire(
    engine: Engine, world: tuple[Settings, Seeded], tmp_path: Path, status: str
) -> None:
    settings, seeded = world
    store = LocalObjects(tmp_path / "kept")
    sync_copies(engine, settings, store, fetcher=_fetcher(GOOD))
    photo = _rows(engine)["photo1.jpg"]
    assert photo.object_key and store.get(photo.object_key)
    with TestClient(create_app(settings, engine)) as client:
        url = _feed(client)["Great grip on the Cumbre"]["media"][0]["url"]  # type: ignore[index]
        assert client.get(url).status_code == 200
        _set_rights(engine, seeded.posts["gal-photo"], status)
        client.app.state.copy_cache.clear()  # type: ignore[attr-defined]  (a rights change via the API does this)
        client.app.state.gallery_cache.clear()  # type: ignore[attr-defined]
        assert client.get(url).status_code == 404  # not served from the moment the rights go
        assert "Great grip on the Cumbre" not in _feed(client)
    report = sync_copies(engine, settings, store, fetcher=_fetcher(GOOD))
    assert report.dropped == 2  # the photo and the refused evil.example.net row
    assert store.get(photo.object_key) is None and not (tmp_path / "kept" / photo.object_key).exists()
    assert set(_rows(engine)) == {"clip.jpg"}  # the other post keeps its copy


def test_a_deleted_post_loses_its_copies(
    engine: Engine, world: tuple[Settings, Seeded], tmp_path: Path
) -> None:
    settings, seeded = world
    store = LocalObjects(tmp_path / "kept")
    sync_copies(engine, settings, store, fetcher=_fetcher(GOOD))
    with session_scope(engine) as session:
        post = session.get_one(Post, seeded.posts["gal-video"])
        post.deleted_at = post.created_at
        session.add(post)
    assert sync_copies(engine, settings, store, fetcher=_fetcher(GOOD)).dropped == 1
    assert "clip.jpg" not in _rows(engine)


def test_a_post_whose_copy_is_missing_is_not_shown(
    engine: Engine, world: tuple[Settings, Seeded], tmp_path: Path
) -> None:
    settings, _ = world
    answers = {PHOTO_URL: GOOD[PHOTO_URL], POSTER_URL: lambda: httpx.Response(503)}
    report = sync_copies(engine, settings, LocalObjects(tmp_path / "kept"), fetcher=_fetcher(answers))
    assert (report.kept, report.retrying) == (1, 1)  # the 503 waits for a retry; the photo is kept
    poster = _rows(engine)["clip.jpg"]
    assert poster.status == "retry" and poster.next_attempt_at is not None and poster.attempts == 1
    with TestClient(create_app(settings, engine)) as client:
        items = _feed(client)
        assert "Nube kept me dry" not in items  # its copy is missing
        assert "Great grip on the Cumbre" in items
        assert any("loved the Cumbre" in t for t in items)  # a post without media needs no copy
        embed = client.get("/gallery/andes-outdoor/embed").text
        assert "Nube kept me dry" not in embed and "pbs.twimg.com" not in embed
    # Not yet due: the next run leaves it alone; once due, it is fetched again.
    assert sync_copies(engine, settings, LocalObjects(tmp_path / "kept"), fetcher=_fetcher(GOOD)).kept == 0
    later = poster.next_attempt_at
    assert (
        sync_copies(engine, settings, LocalObjects(tmp_path / "kept"), fetcher=_fetcher(GOOD), now=later).kept
        == 1
    )


def test_a_corrupt_image_fails_for_good_without_stopping_the_others(
    engine: Engine, world: tuple[Settings, Seeded], tmp_path: Path
) -> None:
    settings, _ = world
    answers = {PHOTO_URL: _ok(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50), POSTER_URL: GOOD[POSTER_URL]}
    report = sync_copies(engine, settings, LocalObjects(tmp_path / "kept"), fetcher=_fetcher(answers))
    assert report.kept == 1 and report.failed == 2
    rows = _rows(engine)
    assert rows["photo1.jpg"].status == "failed" and rows["clip.jpg"].status == "ok"


def test_copy_image_caps_refuses_and_strips() -> None:
    body, width, height = copy_image(_with_gps(4000, 1000), max_pixels=40_000_000, max_edge=2048, quality=85)
    assert (width, height) == (2048, 512)
    assert len(Image.open(io.BytesIO(body)).getexif()) == 0
    with pytest.raises(ImageError):
        copy_image(b"not an image", max_pixels=40_000_000, max_edge=2048, quality=85)
    with pytest.raises(ImageError, match="over the cap"):
        copy_image(_with_gps(3000, 2000), max_pixels=1_000_000, max_edge=2048, quality=85)
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    body, _, _ = copy_image(out.getvalue(), max_pixels=1000, max_edge=2048, quality=85)
    assert Image.open(io.BytesIO(body)).getpixel((5, 5)) == pytest.approx((255, 255, 255), abs=3)


def test_local_store_keys_cannot_escape_its_folder(tmp_path: Path) -> None:
    store = LocalObjects(tmp_path / "kept")
    store.put("1/abc.jpg", b"x", "image/jpeg")
    assert store.get("1/abc.jpg") == b"x" and store.get("1/none.jpg") is None
    for bad in ("../x.jpg", "/etc/passwd", "1/../../x", "", "A.jpg"):
        with pytest.raises(ValueError):
            store.put(bad, b"x", "image/jpeg")
    store.delete("1/abc.jpg")
    store.delete("1/abc.jpg")  # gone already: fine
    assert store.get("1/abc.jpg") is None


def test_an_s3_bucket_as_the_media_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    moto = pytest.importorskip("moto", reason="moto is not installed (pip install 'moto[s3]')")
    settings = make_settings(
        tmp_path,
        copies=True,
        copies_store="s3",
        s3_bucket="tesoro-media",
        s3_region="eu-west-1",
        s3_access_key_env="T_KEY",
        s3_secret_key_env="T_SECRET",
    )
    with moto.mock_aws():
        store = open_media_store(settings, environ={"T_KEY": "testing", "T_SECRET": "testing"})
        assert isinstance(store, S3Objects)
        store.client.create_bucket(
            Bucket="tesoro-media", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        store.put("7/abc.jpg", b"jpeg bytes", "image/jpeg")
        head = store.client.head_object(Bucket="tesoro-media", Key="tesoro/7/abc.jpg")
        assert head["ContentType"] == "image/jpeg" and "immutable" in head["CacheControl"]
        assert store.get("7/abc.jpg") == b"jpeg bytes"
        assert store.get("7/missing.jpg") is None
        store.delete("7/abc.jpg")
        assert store.get("7/abc.jpg") is None
        with pytest.raises(ValueError):
            store.put("../escape.jpg", b"x", "image/jpeg")


def test_an_s3_store_needs_a_bucket(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="s3_bucket"):
        make_settings(tmp_path, copies=True, copies_store="s3")
    with pytest.raises(ValueError):
        make_settings(tmp_path, copies_quality=20)


def test_copies_off_keeps_the_platform_urls(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    seed(engine, settings)
    with TestClient(create_app(settings, engine)) as client:
        photo = _feed(client)["Great grip on the Cumbre"]["media"][0]  # type: ignore[index]
        assert photo["url"] == PHOTO_URL
        assert client.get("/gallery/media/1-" + "0" * 32 + ".jpg").status_code == 404
    with session_scope(engine) as session:
        assert list(session.exec(select(col(KeptCopy.id)))) == []


def test_copies_are_public_even_when_the_feed_needs_a_key(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, copies=True, copies_dir=str(tmp_path / "kept"), require_key=True)
    seeded = seed(engine, settings)
    sync_copies(engine, settings, LocalObjects(tmp_path / "kept"), fetcher=_fetcher(GOOD))
    with TestClient(create_app(settings, engine)) as client:
        assert client.get("/gallery/andes-outdoor.json").status_code == 401
        keyed = client.get("/gallery/andes-outdoor.json", headers={"X-API-Key": seeded.tokens[Role.GALLERY]})
        url = next(i for i in keyed.json()["items"] if i["media"])["media"][0]["preview_url"]
        assert client.get(url).status_code == 200  # an <img> on the brand's page sends no key
