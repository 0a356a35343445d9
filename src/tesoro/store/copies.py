"""Kept copies of rights-cleared media: which to make, which to drop, and what the gallery serves.

A post's media need a kept copy while the gallery may show the post: rights granted, not
deleted, approved or featured (or holding an approved version). The copies job
(`tesoro.media.copies.sync_copies`) asks `copies_due` for the media without a copy,
`stale_copies` for copies whose post lost its rights (revoked, declined, expired) or was
deleted, and records each outcome here; the gallery reads `kept_for_posts` and
`copy_to_serve`. The copied picture is the photo itself, or a video's poster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from tesoro.store.posts import GALLERY_STATES
from tesoro.store.sql import chunks
from tesoro.store.tables import KeptCopy, Media, Post, RightsState
from tesoro.store.versions import held_content

__all__ = [
    "CopyTask",
    "KeptView",
    "ServedCopy",
    "copies_due",
    "copy_to_serve",
    "delete_copies",
    "kept_for_posts",
    "record_copy",
    "record_copy_failure",
    "source_url",
    "stale_copies",
    "url_sha",
]


def url_sha(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def source_url(media_type: str, url: str | None, preview_url: str | None) -> str | None:
    """The picture a kept copy is made from: a photo itself, else (video, gif) its preview."""
    return url if media_type == "photo" and url else preview_url


@dataclass(frozen=True, slots=True)
class CopyTask:
    post_id: int
    url: str
    url_sha: str
    attempts: int


@dataclass(frozen=True, slots=True)
class KeptView:
    id: int
    etag: str
    width: int | None
    height: int | None


@dataclass(frozen=True, slots=True)
class ServedCopy:
    object_key: str
    etag: str
    content_type: str


def _showable() -> list[Any]:
    return [
        col(Post.rights_status) == RightsState.GRANTED.value,
        col(Post.deleted_at).is_(None),
        or_(col(Post.queue_state).in_(GALLERY_STATES), col(Post.held_version).is_not(None)),
    ]


def copies_due(session: Session, *, now: datetime, limit: int) -> list[CopyTask]:
    """Media of showable posts without a kept copy (or whose retry is due), at most `limit`."""
    post_ids = [pid for pid in session.exec(select(col(Post.id)).where(*_showable())) if pid is not None]
    wanted: dict[tuple[int, str], str] = {}
    for part in chunks(post_ids, 1000):
        for post_id, mtype, url, preview in session.exec(
            select(col(Media.post_id), col(Media.type), col(Media.url), col(Media.preview_url)).where(
                col(Media.post_id).in_(list(part))
            )
        ):
            src = source_url(mtype, url, preview)
            if src:
                wanted[(post_id, url_sha(src))] = src
        for post_id, held in held_content(session, post_ids=list(part)).items():
            for m in held.media:
                src = source_url(str(m.get("type")), m.get("url"), m.get("preview_url"))
                if src:
                    wanted[(post_id, url_sha(src))] = src
    if not wanted:
        return []
    known: dict[tuple[int, str], KeptCopy] = {}
    for part in chunks(post_ids, 1000):
        for row in session.exec(select(KeptCopy).where(col(KeptCopy.post_id).in_(list(part)))):
            known[(row.post_id, row.url_sha)] = row
    out: list[CopyTask] = []
    for key, src in sorted(wanted.items()):
        have = known.get(key)
        if have is not None and (
            have.status in ("ok", "failed")
            or (have.next_attempt_at is not None and have.next_attempt_at > now)
        ):
            continue
        out.append(CopyTask(key[0], src, key[1], have.attempts if have is not None else 0))
        if len(out) >= limit:
            break
    return out


def stale_copies(session: Session, *, limit: int = 1000) -> list[tuple[int, str | None]]:
    """(copy id, object key) of copies whose post may no longer be shown: rights not granted, or deleted."""
    stmt = (
        select(col(KeptCopy.id), col(KeptCopy.object_key))
        .join(Post, col(Post.id) == col(KeptCopy.post_id))
        .where(
            or_(
                col(Post.rights_status) != RightsState.GRANTED.value,
                col(Post.deleted_at).is_not(None),
            )
        )
        .limit(limit)
    )
    return [(cid, key) for cid, key in session.exec(stmt) if cid is not None]


def delete_copies(session: Session, *, copy_ids: Sequence[int]) -> None:
    for part in chunks(list(copy_ids), 1000):
        session.execute(delete(KeptCopy).where(col(KeptCopy.id).in_(list(part))))


def _row(session: Session, post_id: int, sha: str, url: str) -> KeptCopy:
    found = session.exec(
        select(KeptCopy).where(col(KeptCopy.post_id) == post_id, col(KeptCopy.url_sha) == sha)
    ).first()
    return found or KeptCopy(post_id=post_id, url_sha=sha, url=url, status="retry")


def record_copy(
    session: Session,
    *,
    task: CopyTask,
    object_key: str,
    etag: str,
    content_type: str,
    size: int,
    width: int,
    height: int,
    now: datetime,
) -> None:
    row = _row(session, task.post_id, task.url_sha, task.url)
    row.status, row.object_key, row.etag, row.content_type = "ok", object_key, etag, content_type
    row.size, row.width, row.height, row.kept_at = size, width, height, now
    row.error, row.next_attempt_at, row.attempts = None, None, task.attempts + 1
    session.add(row)


def record_copy_failure(
    session: Session, *, task: CopyTask, error: str, retry_in: timedelta | None, now: datetime
) -> None:
    """A failed copy: tried again after `retry_in`, or never (None: it cannot pass later)."""
    row = _row(session, task.post_id, task.url_sha, task.url)
    row.status = "retry" if retry_in is not None else "failed"
    row.error = error[:1000]
    row.attempts = task.attempts + 1
    row.next_attempt_at = now + retry_in if retry_in is not None else None
    session.add(row)


def kept_for_posts(session: Session, *, post_ids: Sequence[int]) -> dict[tuple[int, str], KeptView]:
    """(post id, source URL hash) -> its kept copy, for the copies that are there."""
    out: dict[tuple[int, str], KeptView] = {}
    for part in chunks(sorted(set(post_ids)), 1000):
        rows = session.exec(
            select(KeptCopy).where(col(KeptCopy.post_id).in_(list(part)), col(KeptCopy.status) == "ok")
        )
        for row in rows:
            if row.id is not None and row.etag:
                out[(row.post_id, row.url_sha)] = KeptView(row.id, row.etag, row.width, row.height)
    return out


def copy_to_serve(session: Session, *, copy_id: int) -> ServedCopy | None:
    """The copy behind a gallery media URL, if its post may still be shown (else None: a 404)."""
    row = session.exec(
        select(col(KeptCopy.object_key), col(KeptCopy.etag), col(KeptCopy.content_type))
        .join(Post, col(Post.id) == col(KeptCopy.post_id))
        .where(col(KeptCopy.id) == copy_id, col(KeptCopy.status) == "ok", *_showable())
    ).first()
    if row is None or not row[0] or not row[1]:
        return None
    return ServedCopy(row[0], row[1], row[2] or "image/jpeg")
