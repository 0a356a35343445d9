"""Kept copies of rights-cleared media: the media store (a local folder or an S3 bucket) and its job.

When a post's usage rights are granted, the gallery must stop hot-linking the platform's
media (Instagram and TikTok URLs expire within days) and serve its own copy; when the
rights are revoked, declined or expire, or the platform deletes the post, the copy goes.
`sync_copies` does both, from the store's state, so it is the one place that reacts to a
rights change whoever made it (a coordinator, the rights workflow, an undo):

- drop: every copy whose post may no longer be shown is deleted from the media store,
  then its row;
- keep: every medium of a showable post without a copy is fetched with the media
  pipeline's `SafeFetcher` (allowed hosts, public addresses, size cap `copies_max_bytes`),
  decoded safely, scaled to at most `copies_max_edge` pixels and re-encoded as a JPEG
  from its pixels alone (no EXIF, GPS, XMP or comments survive), stored under
  `{post}/{hash}.jpg`, and recorded with its ETag. A failure is recorded on its item and
  retried with doubling backoff (or never, for an image that can never decode); one bad
  item never stops the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.engine import Engine

from tesoro.media.fetch import FetchPolicy, SafeFetcher
from tesoro.media.images import ImageError
from tesoro.settings import Settings
from tesoro.store.copies import (
    CopyTask,
    copies_due,
    delete_copies,
    record_copy,
    record_copy_failure,
    stale_copies,
)
from tesoro.store.engine import session_scope

__all__ = [
    "CopyReport",
    "LocalObjects",
    "MediaObjects",
    "S3Objects",
    "copy_image",
    "open_media_store",
    "sync_copies",
]

log = logging.getLogger(__name__)
_KEY = re.compile(r"^[a-z0-9][a-z0-9/_.-]{0,250}$")
_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")


class MediaObjects(Protocol):
    """Where kept copies live: bytes by key."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def delete(self, key: str) -> None: ...


def _checked(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"not a media store key: {key!r}")
    return key


class LocalObjects:
    """A folder: each key a file under `root`, written atomically (a reader never sees half a file)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Objects:
    """An S3 bucket (or any S3-compatible service) through boto3, under `prefix`."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + _checked(key),
            Body=data,
            ContentType=content_type,
            CacheControl="public, max-age=31536000, immutable",
        )

    def get(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _checked(key))
        except self.client.exceptions.NoSuchKey:
            return None
        body: bytes = answer["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + _checked(key))


def open_media_store(settings: Settings, environ: dict[str, str] | None = None) -> MediaObjects:
    """The media store `[gallery]` names: a folder (default: media-copies in the data dir) or a bucket."""
    gs = settings.gallery
    if gs.copies_store == "s3":
        import boto3  # type: ignore[import-untyped]  # deferred: only an S3 store needs it (extra `s3`)

        env = os.environ if environ is None else environ
        options: dict[str, Any] = {}
        if gs.s3_endpoint_url:
            options["endpoint_url"] = gs.s3_endpoint_url
        if gs.s3_region:
            options["region_name"] = gs.s3_region
        if gs.s3_access_key_env:
            options["aws_access_key_id"] = env.get(gs.s3_access_key_env)
        if gs.s3_secret_key_env:
            options["aws_secret_access_key"] = env.get(gs.s3_secret_key_env)
        return S3Objects(boto3.client("s3", **options), gs.s3_bucket, gs.s3_prefix)
    # A relative copies_dir is inside the data dir, like the store's other files.
    root = Path(settings.data_dir) / (gs.copies_dir or "media-copies")
    return LocalObjects(root)


def copy_image(data: bytes, *, max_pixels: int, max_edge: int, quality: int) -> tuple[bytes, int, int]:
    """`data` decoded safely, at most `max_edge` on its longer side, as a metadata-free JPEG."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=_FORMATS)
            width, height = opened.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise ImageError("bomb", f"{width}x{height} pixels is over the cap of {max_pixels}")
            opened.seek(0)
            opened.load()
            image: Image.Image = opened
            # A broken EXIF block only costs the orientation.
            with contextlib.suppress(OSError, SyntaxError, ValueError, KeyError, TypeError):
                image = ImageOps.exif_transpose(opened)
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                rgba = image.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                image = flat
            else:
                image = image.convert("RGB")
            image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS, reducing_gap=3.0)
            # A new image from the pixels alone: nothing of the file's metadata can ride along.
            clean = Image.frombytes("RGB", image.size, image.tobytes())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("bomb", str(exc)) from None
    except UnidentifiedImageError:
        raise ImageError("unsupported", "not a JPEG, PNG, GIF or WebP image") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageError("corrupt", f"cannot decode: {exc}") from None
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue(), clean.width, clean.height


@dataclass
class CopyReport:
    kept: int = 0
    dropped: int = 0
    retrying: int = 0
    failed: int = 0
    seconds: float = 0.0


def _retry_in(attempts: int, base_s: float, max_s: float) -> timedelta:
    return timedelta(seconds=min(max_s, base_s * 2 ** max(attempts, 0)))


def _keep_one(
    task: CopyTask, fetcher: SafeFetcher, objects: MediaObjects, settings: Settings
) -> tuple[str, str, int, int, int]:
    fetched = fetcher.fetch(task.url)
    gs = settings.gallery
    body, width, height = copy_image(
        fetched.body,
        max_pixels=settings.media.max_pixels,
        max_edge=gs.copies_max_edge,
        quality=gs.copies_quality,
    )
    key = f"{task.post_id}/{task.url_sha[:40]}.jpg"
    objects.put(key, body, "image/jpeg")
    etag = hashlib.sha256(body).hexdigest()[:32]
    return key, etag, len(body), width, height


def sync_copies(
    engine: Engine,
    settings: Settings,
    objects: MediaObjects,
    *,
    fetcher: SafeFetcher | None = None,
    now: datetime | None = None,
) -> CopyReport:
    """Drop the copies whose post lost its rights, then keep up to `copies_batch` missing ones."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    report = CopyReport()
    with session_scope(engine) as session:
        stale = stale_copies(session)
    for copy_id, key in stale:
        try:
            if key:
                objects.delete(key)
        except Exception as exc:  # the store is down: keep the row, try again next run
            log.warning("kept copy %s could not be deleted: %s", copy_id, exc)
            continue
        with session_scope(engine) as session:
            delete_copies(session, copy_ids=[copy_id])
        report.dropped += 1
    with session_scope(engine) as session:
        tasks = copies_due(session, now=now, limit=settings.gallery.copies_batch)
    if not tasks:
        report.seconds = time.perf_counter() - started
        return report
    own = fetcher is None
    fetch = fetcher or SafeFetcher(
        FetchPolicy.from_settings(settings, max_bytes=settings.gallery.copies_max_bytes)
    )
    media = settings.media
    try:
        for task in tasks:
            try:
                key, etag, size, width, height = _keep_one(task, fetch, objects, settings)
            except Exception as exc:  # FetchError, ImageError, the store's errors: recorded on the item
                retry = getattr(exc, "retry", not isinstance(exc, ImageError))
                retry_in = (
                    _retry_in(task.attempts, media.retry_base_s, media.retry_max_s)
                    if retry and task.attempts + 1 < media.max_attempts
                    else None
                )
                with session_scope(engine) as session:
                    record_copy_failure(session, task=task, error=str(exc), retry_in=retry_in, now=now)
                if retry_in is None:
                    report.failed += 1
                else:
                    report.retrying += 1
                continue
            with session_scope(engine) as session:
                record_copy(
                    session,
                    task=task,
                    object_key=key,
                    etag=etag,
                    content_type="image/jpeg",
                    size=size,
                    width=width,
                    height=height,
                    now=now,
                )
            report.kept += 1
    finally:
        if own:
            fetch.close()
    report.seconds = time.perf_counter() - started
    return report
