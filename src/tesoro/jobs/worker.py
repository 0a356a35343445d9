"""The scaled-out mode: the scheduler enqueues every scheduled job on Redis, RQ workers run them.

Why RQ: Tesoro's jobs are plain Python functions that already carry their own
retry, cursor and health bookkeeping in the store, so the queue only has to hand
a function call to a free worker. RQ does exactly that on the Redis the
deployment already runs, with no broker of its own to operate (Celery) and no
extra middleware layer (Dramatiq); its jobs are inspectable with `rq info`.

A job carries only the settings file's path, the job's kind and, for a collection, the source's
name: every worker loads the same settings file and secrets from its own environment, so nothing
secret ever sits in Redis, and nothing of a job's progress either: a run (first, retried, or the
next one after a worker died) starts from what the store says (cursors, the outbox, due media).

Never twice at once: a run takes its job's hold (`tesoro.ops.joblock`) before it starts and skips,
counted, when another run holds it; queueing a job that runs or already waits is skipped and
counted too, so a slow job never piles copies of itself up in the queue. Each kind has its own
timeout (`[queue.timeouts]`), and a failed or timed-out run is retried `queue.retries` times,
`queue.retry_after_s` apart (RQ's scheduler, which the workers run, puts the retries back).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Retry, SimpleWorker, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty
from sqlalchemy.engine import Engine

from tesoro.alerts.jobs import alert_jobs
from tesoro.collector.runner import RunResult
from tesoro.jobs.tasks import (
    collect_source,
    copies_job,
    curator_rerank_job,
    curator_train_job,
    index_snapshot_job,
    media_job,
    purge_sessions_job,
    recheck_gallery_job,
    refresh_relationships,
    run_rights,
    score_job,
)
from tesoro.ops.joblock import JobLedger
from tesoro.settings import Settings, load_settings
from tesoro.store.db import open_store
from tesoro.text.redact import mask_url

__all__ = [
    "KINDS",
    "JobTimedOut",
    "JobWorker",
    "QueueUnavailable",
    "SimpleJobWorker",
    "check_redis",
    "enqueue_job",
    "job_id",
    "job_name",
    "make_queue",
    "masked_url",
    "preload_job_modules",
    "run_job",
    "run_worker",
]

log = logging.getLogger(__name__)

# One engine per database URL per worker process: opening a pool per job would be wasteful.
_ENGINES: dict[str, Engine] = {}

# How long the note "this job waits in the queue" lasts at most: a job queued longer than a day
# (every worker down) may be queued once more.
_WAITING_TTL_S = 86400

Run = Callable[[Engine, Settings, Mapping[str, str], "str | None"], object]


def _collect(engine: Engine, settings: Settings, environ: Mapping[str, str], source: str | None) -> object:
    if source is None:
        raise ValueError("a collection needs the source's name")
    if not any(s.name == source and s.enabled for s in settings.sources):
        # Queued before the settings changed: nothing to do, and nothing a retry could fix.
        why = "not an enabled source in the settings (removed or disabled since it was queued)"
        log.warning("%s: %s; nothing collected", source, why)
        return RunResult(source, "skipped", error=why)
    return collect_source(engine, settings, source, environ)


def _alerts(job: str) -> Run:
    def run(engine: Engine, settings: Settings, environ: Mapping[str, str], source: str | None) -> object:
        return next(j for j in alert_jobs(engine, settings, environ) if j.id == job).func()

    return run


# What a worker runs, by kind: the scheduler's job id (a collection's is `collect:<source>`).
KINDS: dict[str, Run] = {
    "collect": _collect,
    "score": lambda engine, settings, environ, source: score_job(engine, settings),
    "media": lambda engine, settings, environ, source: media_job(engine, settings),
    "rights": lambda engine, settings, environ, source: run_rights(settings, engine, environ),
    "alerts:evaluate": _alerts("alerts:evaluate"),
    "alerts:deliver": _alerts("alerts:deliver"),
    "ror-refresh": lambda engine, settings, environ, source: refresh_relationships(engine, settings),
    "curator:train": lambda engine, settings, environ, source: curator_train_job(engine, settings),
    "curator:rerank": lambda engine, settings, environ, source: curator_rerank_job(engine, settings),
    "sessions:purge": lambda engine, settings, environ, source: purge_sessions_job(engine, settings),
    "gallery:recheck": lambda engine, settings, environ, source: recheck_gallery_job(
        engine, settings, environ
    ),
    "gallery:copies": lambda engine, settings, environ, source: copies_job(engine, settings),
    "index:snapshot": lambda engine, settings, environ, source: index_snapshot_job(engine, settings),
}


class JobTimedOut(BaseException):
    """A job ran past its `[queue.timeouts]` limit.

    A BaseException, as RQ's own `JobTimeoutException` is not: the stages catch `Exception` where one
    bad item must not stop the others (a page, a media item, a channel), and would otherwise swallow
    the timeout and carry on. RQ catches everything a job raises, so the run is failed and retried.
    """


class _DeathPenalty(UnixSignalDeathPenalty):
    """RQ's SIGALRM timeout, raising `JobTimedOut` for a job (the worker's own waits keep theirs)."""

    def handle_death_penalty(self, signum: int, frame: object) -> None:
        if isinstance(self._exception, type) and issubclass(self._exception, JobTimeoutException):
            raise JobTimedOut(f"the job ran past its timeout of {self._timeout} s")
        super().handle_death_penalty(signum, frame)  # type: ignore[no-untyped-call]


class JobWorker(Worker):
    """RQ's forking worker (each job in a work horse), with `JobTimedOut` for timeouts."""

    death_penalty_class = _DeathPenalty


class SimpleJobWorker(SimpleWorker):
    """RQ's worker that runs each job in its own process (no fork), with `JobTimedOut` for timeouts."""

    death_penalty_class = _DeathPenalty


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


def job_name(kind: str, source: str | None = None) -> str:
    """The scheduler's id of a job: the kind, or `collect:<source>` for a collection."""
    return f"{kind}:{source}" if source is not None else kind


def make_queue(settings: Settings, connection: Redis | None = None) -> Queue:
    redis = connection or Redis.from_url(settings.queue.redis_url)
    return Queue(settings.queue.name, connection=redis)


def _still_waiting(queue: Queue, rq_id: str) -> bool:
    try:
        status = Job.fetch(rq_id, connection=queue.connection).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def enqueue_job(queue: Queue, settings: Settings, kind: str, source: str | None = None) -> Job | None:
    """Queue one run of a scheduled job for the workers, unless one runs or already waits (None).

    This is the scaled-out twin of APScheduler's `max_instances=1`: a skipped run is counted in the
    ledger (`skipped_running`, `skipped_queued`) and the job's next schedule tries again.
    """
    if kind not in KINDS:
        raise ValueError(f"no scheduled job is called {kind!r}")
    if (kind == "collect") != (source is not None):
        raise ValueError("a collection, and only a collection, names its source")
    if settings.source_file is None:
        raise ValueError(
            "the scaled-out mode needs a settings file (-c or TESORO_CONFIG) that workers can read"
        )
    name = job_name(kind, source)
    ledger = JobLedger(queue.connection, queue.name)
    if ledger.running(name):
        ledger.count(name, "skipped_running")
        log.info("%s: a run is in progress on a worker; not queueing another", name)
        return None
    waiting = ledger.waiting(name)
    if waiting is not None and _still_waiting(queue, waiting):
        ledger.count(name, "skipped_queued")
        log.info("%s: a run already waits in the queue; not queueing another", name)
        return None
    rq_id = f"{job_id(queue.name, name)}-{uuid.uuid4().hex[:12]}"
    ledger.set_waiting(name, rq_id, ttl_s=_WAITING_TTL_S)
    retries = settings.queue.retries
    return queue.enqueue(
        run_job,
        str(settings.source_file),
        kind,
        source,
        job_id=rq_id,
        job_timeout=settings.queue.timeouts.of(name),
        retry=Retry(max=retries, interval=settings.queue.retry_after_s) if retries else None,
        result_ttl=3600,
        failure_ttl=86400,
        description=name,
    )


def _engine(settings: Settings) -> Engine:
    engine = _ENGINES.get(settings.database_url)
    if engine is None:
        engine = _ENGINES[settings.database_url] = open_store(settings)
    return engine


def _plain(value: object) -> object:
    """A job's report as plain data for the job's result in Redis."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def run_job(config_path: str, kind: str, source: str | None = None) -> dict[str, Any]:
    """What a worker runs: one scheduled job, with this worker's settings and secrets, under its hold.

    Returns `{"job", "outcome", "result"}`; a run whose job is already running elsewhere does
    nothing and returns the outcome `skipped_running`. A failure or a timeout raises (RQ records it,
    then retries); either way the hold is released and the run counted in the ledger.
    """
    if kind not in KINDS:
        raise ValueError(f"no scheduled job is called {kind!r}")
    settings = load_settings(Path(config_path))
    name = job_name(kind, source)
    current = get_current_job()
    redis = current.connection if current is not None else Redis.from_url(settings.queue.redis_url)
    ledger = JobLedger(redis, settings.queue.name)
    hold = ledger.hold(name, settings.queue.lock_ttl_s)
    taken = hold.acquire()
    if current is not None:
        ledger.taken(name, current.id)
    if not taken:
        ledger.count(name, "skipped_running")
        log.info("%s: already running (held by %s); this run is skipped", name, ledger.holder(name))
        return {"job": name, "outcome": "skipped_running", "result": None}
    started = time.monotonic()
    outcome = "failed"
    try:
        value = KINDS[kind](_engine(settings), settings, dict(os.environ), source)
        outcome = "finished"
        return {"job": name, "outcome": outcome, "result": _plain(value)}
    except (JobTimedOut, JobTimeoutException):
        outcome = "timed_out"
        log.error("%s: stopped after its timeout of %d s", name, settings.queue.timeouts.of(name))
        raise
    finally:
        hold.release()
        try:
            if hold.lost.is_set():
                ledger.count(name, "lock_lost")
            ledger.count(name, outcome, seconds=time.monotonic() - started)
        except RedisError as exc:  # the run's own ending (a result, a timeout) matters more than its count
            log.warning("%s: cannot count the run's outcome (%s): %s", name, outcome, exc)


# The libraries the scoring models are built with (`scoring.encoders`: sentence-transformers, which
# brings torch and transformers, and ONNX Runtime). Importing them takes 20-40 s on a busy 2-core machine.
_MODEL_LIBRARIES = ("sentence_transformers", "onnxruntime")


def preload_job_modules(settings: Settings) -> list[str]:
    """Import the model libraries once in a forking worker, before it takes jobs; the names imported.

    RQ's forking worker runs each job in a fresh work horse that exits after it, so every scoring
    run would import torch and transformers again before loading the encoder (the cluster benchmark
    measured 31 s of each run's load there, 6 s with the libraries imported in the worker first).
    Only modules are imported here: the models, their ONNX sessions and thread pools are still made
    in the work horse, after the fork, where they are safe. Without a scoring job nothing is imported;
    a library that fails to import is left to fail, with its own message, in the job that needs it.
    """
    if not settings.models.score_interval:
        return []
    done = []
    for name in _MODEL_LIBRARIES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # an optional backend missing, a broken install: the job says so
            log.warning("not preloading %s for the scoring jobs: %s", name, exc)
            continue
        done.append(name)
    return done


def run_worker(settings: Settings, *, burst: bool = False, forking: bool = True) -> None:
    """Process queued jobs until stopped (or, with `burst`, until the queue is empty).

    Every worker offers to run RQ's scheduler (one of them does, under RQ's own lock): it puts the
    retries of failed jobs back on the queue when their `queue.retry_after_s` has passed. A forking
    worker imports the model libraries first (`preload_job_modules`), so that its work horses start
    with them.
    """
    queue = make_queue(settings)
    check_redis(settings, queue.connection)
    if forking:
        started = time.monotonic()
        if preloaded := preload_job_modules(settings):
            log.info("preloaded %s in %.1f s", ", ".join(preloaded), time.monotonic() - started)
    worker_class = JobWorker if forking else SimpleJobWorker
    worker_class([queue], connection=queue.connection).work(burst=burst, with_scheduler=True)
