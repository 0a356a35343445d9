"""The media pipeline's rows: which media items are due, what was learned of them, their thumbnails.

A media item is *due* when it has a URL to fetch and no `media_image` row yet, or its row
says `retry` and its `next_attempt_at` has come. The job saves one row per item, processed
(`save_processed`) or failed (`save_failure`), each in the caller's transaction; the API
reads thumbnails and placeholders (`thumbnail`, `media_facts`), the ranking reads hashes and
quality per post (`post_images`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, func, or_, select
from sqlmodel import Session, col

from tesoro.store.sql import any_of, chunks, dialect_insert, table_of
from tesoro.store.tables import Media, MediaImage, MediaStatus

__all__ = [
    "MediaFacts",
    "MediaTask",
    "PostImage",
    "media_due",
    "media_facts",
    "media_status_counts",
    "post_images",
    "save_failure",
    "save_processed",
    "stored_hashes",
    "thumbnail",
]

_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class MediaTask:
    """One media item to fetch: the preview when it has one (a video's poster), else its URL."""

    media_id: int
    post_id: int
    type: str
    url: str
    width: int | None
    height: int | None
    attempts: int


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the UI shows of a processed media item (no thumbnail bytes)."""

    media_id: int
    status: str
    blurhash: str | None
    thumb_width: int | None
    thumb_height: int | None
    thumb_etag: str | None
    quality: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class PostImage:
    """One processed image of a post, as the ranking reads it."""

    media_id: int
    phash: int
    group: int
    quality: float
    sharpness: float
    exposure: float
    resolution: float
    aspect: float


def media_due(session: Session, *, now: datetime, limit: int) -> list[MediaTask]:
    """Up to `limit` media items to fetch now: never tried first, then retries whose time has come."""
    image = table_of(MediaImage)
    stmt: Any = (
        select(
            col(Media.id),
            col(Media.post_id),
            col(Media.type),
            col(Media.url),
            col(Media.preview_url),
            col(Media.width),
            col(Media.height),
            image.c.attempts,
        )
        .outerjoin(image, image.c.media_id == col(Media.id))
        .where(
            or_(
                image.c.media_id.is_(None),
                and_(image.c.status == MediaStatus.RETRY, image.c.next_attempt_at <= now),
            ),
            # A video without a poster has nothing to fetch: the video file itself is never fetched.
            or_(col(Media.preview_url).is_not(None), col(Media.type) != "video"),
        )
        .order_by(image.c.media_id.is_not(None), col(Media.id))
        .limit(limit)
    )
    out: list[MediaTask] = []
    for row in session.execute(stmt):
        url = row.preview_url or (row.url if row.type != "video" else None)
        if not url:
            continue
        out.append(
            MediaTask(
                media_id=int(row.id),
                post_id=int(row.post_id),
                type=row.type,
                url=url,
                width=row.width,
                height=row.height,
                attempts=int(row.attempts or 0),
            )
        )
    return out


def _upsert(session: Session, values: dict[str, Any]) -> None:
    stmt = dialect_insert(session, table_of(MediaImage)).values(**values)
    updates = {k: stmt.excluded[k] for k in values if k != "media_id"}
    session.execute(stmt.on_conflict_do_update(index_elements=["media_id"], set_=updates))


def save_processed(
    session: Session,
    *,
    task: MediaTask,
    now: datetime,
    width: int,
    height: int,
    format: str,
    thumb: bytes,
    thumb_width: int,
    thumb_height: int,
    thumb_etag: str,
    blurhash: str,
    phash: int,
    image_group: int,
    sharpness: float,
    exposure: float,
    resolution: float,
    aspect: float,
    quality: float,
) -> None:
    """Record a processed media item (replacing any earlier failure)."""
    _upsert(
        session,
        {
            "media_id": task.media_id,
            "post_id": task.post_id,
            "status": MediaStatus.OK,
            "attempts": task.attempts + 1,
            "next_attempt_at": None,
            "error": None,
            "error_detail": None,
            "processed_at": now,
            "width": width,
            "height": height,
            "format": format[:8],
            "thumb": thumb,
            "thumb_width": thumb_width,
            "thumb_height": thumb_height,
            "thumb_etag": thumb_etag,
            "blurhash": blurhash,
            "phash": phash,
            "image_group": image_group,
            "sharpness": sharpness,
            "exposure": exposure,
            "resolution": resolution,
            "aspect": aspect,
            "quality": quality,
        },
    )


def save_failure(
    session: Session,
    *,
    task: MediaTask,
    now: datetime,
    error: str,
    detail: str,
    retry_at: datetime | None,
) -> None:
    """Record a failed attempt: `retry_at` None means for good."""
    _upsert(
        session,
        {
            "media_id": task.media_id,
            "post_id": task.post_id,
            "status": MediaStatus.RETRY if retry_at is not None else MediaStatus.FAILED,
            "attempts": task.attempts + 1,
            "next_attempt_at": retry_at,
            "error": error[:32],
            "error_detail": detail[:500],
            "processed_at": now,
        },
    )


def thumbnail(session: Session, *, media_id: int) -> tuple[bytes, str, int] | None:
    """(JPEG bytes, ETag, post id) of a processed media item's thumbnail, or None."""
    image = table_of(MediaImage)
    row = session.execute(
        select(image.c.thumb, image.c.thumb_etag, image.c.post_id).where(
            image.c.media_id == media_id, image.c.status == MediaStatus.OK
        )
    ).first()
    if row is None or row.thumb is None:
        return None
    return bytes(row.thumb), str(row.thumb_etag or ""), int(row.post_id)


def media_facts(session: Session, *, post_ids: Sequence[int]) -> dict[int, MediaFacts]:
    """Media id -> what the UI shows of it, for the media of these posts that were tried."""
    image = table_of(MediaImage)
    out: dict[int, MediaFacts] = {}
    for chunk in chunks(list(post_ids), _CHUNK):
        stmt = select(
            image.c.media_id,
            image.c.status,
            image.c.blurhash,
            image.c.thumb_width,
            image.c.thumb_height,
            image.c.thumb_etag,
            image.c.quality,
            image.c.error,
        ).where(any_of(session, image.c.post_id, chunk, element=Integer()))
        for row in session.execute(stmt):
            out[int(row.media_id)] = MediaFacts(
                int(row.media_id),
                row.status,
                row.blurhash,
                row.thumb_width,
                row.thumb_height,
                row.thumb_etag,
                row.quality,
                row.error,
            )
    return out


def post_images(session: Session, *, post_ids: Sequence[int]) -> dict[int, list[PostImage]]:
    """Post id -> its processed images (hash and quality), in media order."""
    image = table_of(MediaImage)
    out: dict[int, list[PostImage]] = {}
    for chunk in chunks(list(post_ids), _CHUNK):
        stmt = (
            select(
                image.c.post_id,
                image.c.media_id,
                image.c.phash,
                image.c.image_group,
                image.c.quality,
                image.c.sharpness,
                image.c.exposure,
                image.c.resolution,
                image.c.aspect,
            )
            .where(
                any_of(session, image.c.post_id, chunk, element=Integer()),
                image.c.status == MediaStatus.OK,
                image.c.phash.is_not(None),
            )
            .order_by(image.c.media_id)
        )
        for row in session.execute(stmt):
            out.setdefault(int(row.post_id), []).append(
                PostImage(
                    int(row.media_id),
                    int(row.phash),
                    int(row.image_group if row.image_group is not None else row.media_id),
                    float(row.quality or 0.0),
                    float(row.sharpness or 0.0),
                    float(row.exposure or 0.0),
                    float(row.resolution or 0.0),
                    float(row.aspect or 0.0),
                )
            )
    return out


def stored_hashes(session: Session) -> list[tuple[int, int, int]]:
    """(media id, phash, image group) of every processed image, for near-duplicate grouping."""
    image = table_of(MediaImage)
    stmt = select(image.c.media_id, image.c.phash, image.c.image_group).where(
        image.c.status == MediaStatus.OK, image.c.phash.is_not(None)
    )
    return [(int(m), int(h), int(g if g is not None else m)) for m, h, g in session.execute(stmt)]


def media_status_counts(session: Session) -> dict[str, int]:
    """How many media items are ok, waiting for a retry, failed for good, or not tried yet."""
    image = table_of(MediaImage)
    counts = {
        str(status): int(n)
        for status, n in session.execute(select(image.c.status, func.count()).group_by(image.c.status))
    }
    total = int(session.execute(select(func.count()).select_from(table_of(Media))).scalar_one())
    counts["pending"] = max(0, total - sum(counts.values()))
    return counts
