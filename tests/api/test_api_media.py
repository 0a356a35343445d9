"""The thumbnail route and the media fields the pipeline adds to posts: ETag, 304, roles, 404."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.api.auth import Role
from tesoro.media.images import process_image
from tesoro.simulator.images import render
from tesoro.store.engine import session_scope
from tesoro.store.media import MediaTask, save_failure, save_processed
from tesoro.store.tables import Media
from worlds.api import Seeded

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _process(engine: Engine, post_id: int) -> tuple[int, int]:
    """Record the post's first media item as processed, its second (if any) as refused."""
    with session_scope(engine) as session:
        media = list(
            session.execute(
                select(Media).where(col(Media.post_id) == post_id).order_by(col(Media.id))
            ).scalars()
        )
        assert media
        facts = process_image(render("api-test-picture", 1080, 1350, edge=640))
        first = media[0]
        assert first.id is not None
        task = MediaTask(first.id, post_id, first.type, first.url, first.width, first.height, 0)
        save_processed(
            session,
            task=task,
            now=T0,
            width=facts.width,
            height=facts.height,
            format=facts.format,
            thumb=facts.thumbnail,
            thumb_width=facts.thumb_width,
            thumb_height=facts.thumb_height,
            thumb_etag="abc123",
            blurhash=facts.blurhash,
            phash=facts.phash,
            image_group=first.id,
            sharpness=facts.quality.sharpness,
            exposure=facts.quality.exposure,
            resolution=facts.quality.resolution,
            aspect=facts.quality.aspect,
            quality=facts.quality.score,
        )
        refused = media[1].id if len(media) > 1 and media[1].id is not None else -1
        if refused > 0:
            second = MediaTask(refused, post_id, media[1].type, media[1].url, None, None, 0)
            save_failure(session, task=second, now=T0, error="not_image", detail="html", retry_at=None)
        return first.id, refused


def test_a_processed_thumbnail_is_served_with_etag_and_cache_headers(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine
) -> None:
    media_id, refused = _process(sqlite_engine, seeded.posts["gal-photo"])
    viewer = seeded.headers(Role.VIEWER)
    answer = client.get(f"/api/media/{media_id}/thumbnail", headers=viewer)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["etag"] == '"abc123"' and "max-age=86400" in answer.headers["cache-control"]
    with Image.open(io.BytesIO(answer.content)) as thumb:
        assert thumb.format == "JPEG" and len(thumb.getexif()) == 0
    again = client.get(f"/api/media/{media_id}/thumbnail", headers={**viewer, "If-None-Match": '"abc123"'})
    assert again.status_code == 304 and again.content == b""
    assert client.get(f"/api/media/{media_id}/thumbnail").status_code == 401
    assert client.get(f"/api/media/{refused}/thumbnail", headers=viewer).status_code == 404
    assert client.get("/api/media/999999/thumbnail", headers=viewer).status_code == 404


def test_posts_carry_the_thumbnail_url_and_blurhash_once_processed(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine
) -> None:
    post_id = seeded.posts["gal-photo"]
    viewer = seeded.headers(Role.VIEWER)
    before = client.get(f"/api/posts/{post_id}", headers=viewer).json()["media"]
    assert all(m["thumbnail_url"] is None and m["blurhash"] is None for m in before)
    media_id, _ = _process(sqlite_engine, post_id)
    after = client.get(f"/api/posts/{post_id}", headers=viewer).json()["media"]
    assert after[0]["thumbnail_url"] == f"/api/media/{media_id}/thumbnail" and after[0]["blurhash"]
    assert all(m["thumbnail_url"] is None for m in after[1:])
