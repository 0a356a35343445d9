"""The media stage: fetch each due media item's preview, process it, record the outcome per item.

`process_media(engine, settings)` is what the media job runs (on the scheduler, or on an RQ
worker in the scaled-out mode). It takes up to `[media] batch` due items (never tried, or
waiting for a retry whose time has come), fetches them `[media] concurrency` at a time with
the safe fetcher, decodes and measures them (`tesoro.media.images`), and writes each outcome
on its item's `media_image` row, a few items per transaction:

- processed: the thumbnail, its ETag, dimensions, blurhash, perceptual hash, quality, and its
  image group (the near-copies it belongs to, `tesoro.media.dedupe`);
- a failure that may pass later (timeout, connection, DNS, HTTP 408, 425, 429, 500, 502, 503,
  504): `retry`, the next attempt `retry_base_s x 2^(attempts - 1)` later (capped at
  `retry_max_s`), until `max_attempts` tries have been spent;
- a refusal (host not allowed, private address, redirect to another host, too large, not an
  image, a decompression bomb, a corrupt file) or the last allowed attempt: `failed`, for good.

One bad item never stops the others: anything an item raises is recorded on that item. The
stage never touches scores: scoring and ranking run whether or not media were fetched, and a
post whose images arrive later is re-ranked then (`store.curation.items.rankable_ids`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from tesoro.media.dedupe import ImageGroups
from tesoro.media.fetch import FetchError, FetchPolicy, SafeFetcher
from tesoro.media.images import ImageError, ImageFacts, process_image
from tesoro.settings import MediaSettings, Settings
from tesoro.store.engine import session_scope
from tesoro.store.media import MediaTask, media_due, save_failure, save_processed, stored_hashes

__all__ = ["MediaReport", "Outcome", "process_media", "process_task", "retry_delay"]

log = logging.getLogger(__name__)
_WRITE_EVERY = 25


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one media item: its facts, or an error code, its detail and whether to retry."""

    task: MediaTask
    facts: ImageFacts | None = None
    error: str | None = None
    detail: str = ""
    retry: bool = False
    fetched_bytes: int = 0


@dataclass(slots=True)
class MediaReport:
    """Counts for the command line, the job log and the benchmark."""

    tried: int = 0
    processed: int = 0
    retrying: int = 0
    failed: int = 0
    fetched_bytes: int = 0
    seconds: float = 0.0
    errors: dict[str, int] | None = None


def retry_delay(attempts: int, settings: MediaSettings) -> float:
    """Seconds before the next try after `attempts` failed ones (1, 2, ...): doubling, capped."""
    return float(min(settings.retry_max_s, settings.retry_base_s * 2 ** max(0, attempts - 1)))


def process_task(fetcher: SafeFetcher, task: MediaTask, settings: MediaSettings) -> Outcome:
    """Fetch and process one item; never raises (an unexpected error is recorded as `internal`)."""
    try:
        fetched = fetcher.fetch(task.url)
    except FetchError as exc:
        return Outcome(task, error=exc.code, detail=exc.detail, retry=exc.retry)
    except Exception as exc:  # one broken item never stops the batch
        log.exception("media %s: fetching failed unexpectedly", task.media_id)
        return Outcome(task, error="internal", detail=type(exc).__name__, retry=True)
    size = (task.width, task.height) if task.width and task.height else None
    try:
        facts = process_image(
            fetched.body,
            max_pixels=settings.max_pixels,
            thumb_edge=settings.thumb_edge,
            thumb_quality=settings.thumb_quality,
            original_size=size,
        )
    except ImageError as exc:
        return Outcome(task, error=exc.code, detail=exc.detail, fetched_bytes=len(fetched.body))
    except Exception as exc:
        log.exception("media %s: processing failed unexpectedly", task.media_id)
        return Outcome(task, error="internal", detail=type(exc).__name__, fetched_bytes=len(fetched.body))
    return Outcome(task, facts=facts, fetched_bytes=len(fetched.body))


def _save(
    engine: Engine, outcomes: Sequence[Outcome], settings: MediaSettings, now: datetime, groups: ImageGroups
) -> None:
    with session_scope(engine) as session:
        for outcome in outcomes:
            task, facts = outcome.task, outcome.facts
            if facts is not None:
                q = facts.quality
                save_processed(
                    session,
                    task=task,
                    now=now,
                    width=facts.width,
                    height=facts.height,
                    format=facts.format,
                    thumb=facts.thumbnail,
                    thumb_width=facts.thumb_width,
                    thumb_height=facts.thumb_height,
                    thumb_etag=hashlib.blake2b(facts.thumbnail, digest_size=16).hexdigest(),
                    blurhash=facts.blurhash,
                    phash=facts.phash,
                    image_group=groups.assign(task.media_id, facts.phash),
                    sharpness=q.sharpness,
                    exposure=q.exposure,
                    resolution=q.resolution,
                    aspect=q.aspect,
                    quality=q.score,
                )
                continue
            attempts = task.attempts + 1
            retry_at = None
            if outcome.retry and attempts < settings.max_attempts:
                retry_at = now + timedelta(seconds=retry_delay(attempts, settings))
            save_failure(
                session,
                task=task,
                now=now,
                error=outcome.error or "internal",
                detail=outcome.detail,
                retry_at=retry_at,
            )


def process_media(
    engine: Engine,
    settings: Settings,
    *,
    limit: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    fetcher: SafeFetcher | None = None,
) -> MediaReport:
    """One run of the media stage over the due items (see the module doc)."""
    started = time.perf_counter()
    media = settings.media
    with session_scope(engine) as session:
        tasks = media_due(session, now=now(), limit=limit or media.batch)
        groups = ImageGroups.of(stored_hashes(session) if tasks else [], distance=media.duplicate_distance)
    report = MediaReport(errors={})
    if not tasks:
        report.seconds = time.perf_counter() - started
        return report
    own = fetcher is None
    active = fetcher or SafeFetcher(FetchPolicy.from_settings(settings))
    try:
        with ThreadPoolExecutor(max_workers=media.concurrency, thread_name_prefix="media") as pool:
            pending: list[Outcome] = []
            for outcome in pool.map(lambda t: process_task(active, t, media), tasks):
                pending.append(outcome)
                _count(report, outcome, media)
                if len(pending) >= _WRITE_EVERY:
                    _save(engine, pending, media, now(), groups)
                    pending = []
            if pending:
                _save(engine, pending, media, now(), groups)
    finally:
        if own:
            active.close()
    report.seconds = time.perf_counter() - started
    return report


def _count(report: MediaReport, outcome: Outcome, settings: MediaSettings) -> None:
    report.tried += 1
    report.fetched_bytes += outcome.fetched_bytes
    if outcome.facts is not None:
        report.processed += 1
        return
    assert report.errors is not None
    code = outcome.error or "internal"
    report.errors[code] = report.errors.get(code, 0) + 1
    if outcome.retry and outcome.task.attempts + 1 < settings.max_attempts:
        report.retrying += 1
    else:
        report.failed += 1
