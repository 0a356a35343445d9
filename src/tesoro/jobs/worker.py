"""The scaled-out mode: the scheduler enqueues collection jobs on Redis, RQ workers run them.

Why RQ: Tesoro's jobs are plain Python functions that already carry their own
retry, cursor and health bookkeeping in the store, so the queue only has to hand
a function call to a free worker. RQ does exactly that on the Redis the
deployment already runs, with no broker of its own to operate (Celery) and no
extra middleware layer (Dramatiq); its jobs are inspectable with `rq info`.

A job carries only the settings file's path and the source's name: every worker
loads the same settings file and secrets from its own environment, so nothing
secret ever sits in Redis.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, Worker
from rq.job import Job, JobStatus
from sqlalchemy.engine import Engine

from tesoro.jobs.tasks import collect_source, media_job, score_job
from tesoro.settings import Settings, load_settings
from tesoro.store.db import open_store
from tesoro.text.redact import mask_url

__all__ = [
    "QueueUnavailable",
    "check_redis",
    "collect_task",
    "enqueue_collect",
    "enqueue_media",
    "enqueue_score",
    "job_id",
    "make_queue",
    "masked_url",
    "media_task",
    "run_worker",
    "score_task",
]

log = logging.getLogger(__name__)

# One engine per database URL per worker process: opening a pool per job would be wasteful.
_ENGINES: dict[str, Engine] = {}


class QueueUnavailable(Exception):
    """Redis cannot be reached; the message says where, why, and what to do."""


def masked_url(url: str) -> str:
    """A Redis URL with its credentials masked, safe to print (the one rule of `tesoro.text.redact`)."""
    return mask_url(url) or ""


def check_redis(settings: Settings, connection: Redis | None = None) -> None:
    """Ping the queue's Redis once; raise `QueueUnavailable` (one line) when it does not answer."""
    redis = connection or Redis.from_url(settings.queue.redis_url, socket_connect_timeout=5)
    try:
        redis.ping()
    except (RedisConnectionError, RedisTimeoutError) as exc:
        reason = str(exc).splitlines()[0].rstrip(".") if str(exc) else type(exc).__name__
        raise QueueUnavailable(
            f"cannot reach Redis at {masked_url(settings.queue.redis_url)}: {reason}; "
            "start Redis there or fix [queue] redis_url"
        ) from exc
    except RedisError as exc:
        raise QueueUnavailable(
            f"Redis at {masked_url(settings.queue.redis_url)} refused Tesoro: {exc}; "
            "check the password and database in [queue] redis_url"
        ) from exc


def job_id(queue_name: str, task: str) -> str:
    """Job ids are per queue, so deployments sharing one Redis never see each other's jobs."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{queue_name}-{task}")


def make_queue(settings: Settings, connection: Redis | None = None) -> Queue:
    redis = connection or Redis.from_url(settings.queue.redis_url)
    return Queue(settings.queue.name, connection=redis, default_timeout=settings.queue.job_timeout_s)


def enqueue_collect(queue: Queue, settings: Settings, source_name: str) -> Job | None:
    """Queue one collection of `source_name`, unless one is already waiting or running.

    This is the scaled-out twin of APScheduler's `max_instances=1`: a slow source
    never piles up copies of itself in the queue.
    """
    if settings.source_file is None:
        raise ValueError(
            "the scaled-out mode needs a settings file (-c or TESORO_CONFIG) that workers can read"
        )
    existing = (
        Job.fetch(job_id(queue.name, f"collect-{source_name}"), connection=queue.connection)
        if _exists(queue, source_name)
        else None
    )
    if existing is not None and existing.get_status() in (
        JobStatus.QUEUED,
        JobStatus.STARTED,
        JobStatus.DEFERRED,
    ):
        log.info("%s: a collection is already queued or running; not queueing another", source_name)
        return None
    if existing is not None:
        existing.delete()
    return queue.enqueue(
        collect_task,
        str(settings.source_file),
        source_name,
        job_id=job_id(queue.name, f"collect-{source_name}"),
        result_ttl=3600,
        failure_ttl=86400,
        description=f"collect {source_name}",
    )


def _exists(queue: Queue, source_name: str) -> bool:
    return bool(Job.exists(job_id(queue.name, f"collect-{source_name}"), connection=queue.connection))


def enqueue_score(queue: Queue, settings: Settings) -> Job | None:
    """Queue a scoring pass unless one is already waiting or running."""
    if settings.source_file is None:
        raise ValueError(
            "the scaled-out mode needs a settings file (-c or TESORO_CONFIG) that workers can read"
        )
    score_id = job_id(queue.name, "score")
    if Job.exists(score_id, connection=queue.connection):
        existing = Job.fetch(score_id, connection=queue.connection)
        if existing.get_status() in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED):
            return None
        existing.delete()
    return queue.enqueue(
        score_task,
        str(settings.source_file),
        job_id=score_id,
        result_ttl=3600,
        failure_ttl=86400,
        description="score new posts",
    )


def enqueue_media(queue: Queue, settings: Settings) -> Job | None:
    """Queue a media pass (fetch and process due previews) unless one is already waiting or running."""
    if settings.source_file is None:
        raise ValueError(
            "the scaled-out mode needs a settings file (-c or TESORO_CONFIG) that workers can read"
        )
    media_id = job_id(queue.name, "media")
    if Job.exists(media_id, connection=queue.connection):
        existing = Job.fetch(media_id, connection=queue.connection)
        if existing.get_status() in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED):
            return None
        existing.delete()
    return queue.enqueue(
        media_task,
        str(settings.source_file),
        job_id=media_id,
        result_ttl=3600,
        failure_ttl=86400,
        description="fetch and process media",
    )


def media_task(config_path: str) -> dict[str, Any]:
    """What a worker runs for media: the same stage as the embedded mode."""
    settings = load_settings(Path(config_path))
    report = media_job(_engine(settings), settings)
    return {
        "tried": report.tried,
        "processed": report.processed,
        "retrying": report.retrying,
        "failed": report.failed,
    }


def score_task(config_path: str) -> int:
    """What a worker runs to score: the same pipeline as the embedded mode."""
    settings = load_settings(Path(config_path))
    return score_job(_engine(settings), settings)


def _engine(settings: Settings) -> Engine:
    engine = _ENGINES.get(settings.database_url)
    if engine is None:
        engine = _ENGINES[settings.database_url] = open_store(settings)
    return engine


def collect_task(config_path: str, source_name: str) -> dict[str, Any]:
    """What a worker runs: one pass over one source, with this worker's settings and secrets."""
    settings = load_settings(Path(config_path))
    result = collect_source(_engine(settings), settings, source_name, dict(os.environ))
    return {
        "source": result.source,
        "status": result.status,
        "inserted": result.inserted,
        "updated": result.updated,
        "error": result.error,
    }


def run_worker(settings: Settings, *, burst: bool = False, forking: bool = True) -> None:
    """Process queued jobs until stopped (or, with `burst`, until the queue is empty)."""
    queue = make_queue(settings)
    check_redis(settings, queue.connection)
    worker_class = Worker if forking else SimpleWorker
    worker_class([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)
