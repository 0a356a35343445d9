"""When the jobs run: one APScheduler for both modes.

Embedded mode: a `BackgroundScheduler` inside `tesoro serve`. Scaled-out mode: a
single `tesoro scheduler` process with a `BlockingScheduler`. Either way there is
one job per enabled source at its interval, coalesced (missed runs collapse into
one), never two at once for the same source, with jitter so sources spread out.
With `queue.backend = "rq"` the collection, scoring and media jobs only enqueue work for
the RQ workers (`tesoro.jobs.worker`).

A metered source keeps inside its platform budget (`collector.quota`): `collect_source` skips a run
its quota plan holds back, so a job still wakes at the configured interval but runs at the
stretched one, never below the configured. In the embedded mode the job is also moved to the
plan's next run, so a stretched source runs at that moment rather than at the next wake-up after it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from tesoro.alerts.jobs import alert_jobs
from tesoro.collector.runner import RunResult
from tesoro.jobs.tasks import (
    collect_source,
    copies_job,
    curator_rerank_job,
    curator_train_job,
    media_job,
    planned_run,
    purge_sessions_job,
    recheck_gallery_job,
    refresh_relationships,
    run_rights,
    score_job,
)
from tesoro.jobs.worker import enqueue_collect, enqueue_media, enqueue_score, make_queue
from tesoro.ops.lease import SchedulerLease
from tesoro.ops.metrics import SCHEDULER_LEADER, JobWatch
from tesoro.settings import Settings

__all__ = ["build_scheduler", "collect_on_plan", "run_scheduler"]

log = logging.getLogger(__name__)


def collect_on_plan(
    scheduler: BaseScheduler, engine: Engine, settings: Settings, name: str, environ: Mapping[str, str]
) -> RunResult:
    """One collection, then the source's job moved to the run its quota plan allows, if later."""
    result = collect_source(engine, settings, name, environ)
    planned = planned_run(engine, name)
    job = scheduler.get_job(f"collect:{name}")
    if planned is not None and job is not None:
        upcoming = getattr(job, "next_run_time", None)
        if upcoming is not None and planned > upcoming:  # None: the job is paused, leave it so
            scheduler.modify_job(job.id, next_run_time=planned)
    return result


def _add_alert_jobs(
    scheduler: BaseScheduler, engine: Engine, settings: Settings, environ: Mapping[str, str]
) -> None:
    """Alert evaluation and delivery are light; they run in the scheduler's process in both modes."""
    for job in alert_jobs(engine, settings, environ):
        scheduler.add_job(
            job.func,
            IntervalTrigger(seconds=job.interval_s, jitter=3),
            id=job.id,
            name=job.name,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
            misfire_grace_time=job.interval_s,
            replace_existing=True,
        )


def build_scheduler(
    engine: Engine, settings: Settings, environ: Mapping[str, str], *, blocking: bool = False
) -> BaseScheduler:
    """A scheduler with one collection job per enabled source; the caller starts it.

    With `queue.backend = "rq"` each job only enqueues the collection on Redis and
    RQ workers (`tesoro worker`) do the work; otherwise the job collects in-process.
    """
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone=UTC) if blocking else BackgroundScheduler(timezone=UTC)
    )
    if settings.queue.backend == "rq":
        queue = make_queue(settings)
        func: Callable[..., object] = enqueue_collect
        args_for: Callable[[str], tuple[object, ...]] = lambda name: (queue, settings, name)  # noqa: E731
    else:
        func = collect_on_plan
        args_for = lambda name: (scheduler, engine, settings, name, environ)  # noqa: E731
    for source in settings.sources:
        if not source.enabled:
            continue
        scheduler.add_job(
            func,
            IntervalTrigger(seconds=source.interval, jitter=max(1, min(60, source.interval // 10))),
            args=args_for(source.name),
            id=f"collect:{source.name}",
            name=f"collect {source.name}",
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),  # first run straight away, then every interval
            misfire_grace_time=source.interval,
            replace_existing=True,
        )
    _add_alert_jobs(scheduler, engine, settings, environ)
    for job_id, func, trigger in (
        ("curator:train", curator_train_job, IntervalTrigger(minutes=15, jitter=30)),
        ("curator:rerank", curator_rerank_job, IntervalTrigger(days=1, jitter=600)),
        ("sessions:purge", purge_sessions_job, IntervalTrigger(hours=6, jitter=300)),
    ):
        scheduler.add_job(
            func,
            trigger,
            args=(engine, settings),
            id=job_id,
            name=job_id.replace(":", " "),
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    if settings.brands:
        # The ROR leaderboard is stored and reading it never computes it: refresh it at start, then
        # hourly (the treasure score's relationship part reads it too).
        scheduler.add_job(
            refresh_relationships,
            IntervalTrigger(hours=1, jitter=60),
            args=(engine, settings),
            id="ror-refresh",
            name="refresh Return on Relationship",
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )
    if settings.gallery.recheck_interval:
        # Platforms other than Reddit never say during search that a post is gone: ask them.
        interval = settings.gallery.recheck_interval
        scheduler.add_job(
            recheck_gallery_job,
            IntervalTrigger(seconds=interval, jitter=max(1, min(600, interval // 10))),
            args=(engine, settings, environ),
            id="gallery:recheck",
            name="gallery recheck",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    if settings.gallery.copies and settings.gallery.copies_interval:
        # Kept copies of rights-cleared media; copies of revoked or expired rights are deleted.
        scheduler.add_job(
            copies_job,
            IntervalTrigger(
                seconds=settings.gallery.copies_interval,
                jitter=max(1, settings.gallery.copies_interval // 10),
            ),
            args=(engine, settings),
            id="gallery:copies",
            name="gallery kept copies",
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )
    if settings.media.interval:
        # Post media previews: fetched, checked and measured apart from scoring (docs/media.md).
        if settings.queue.backend == "rq":
            media_func: Callable[..., object] = enqueue_media
            media_args: tuple[object, ...] = (queue, settings)
        else:
            media_func, media_args = media_job, (engine, settings)
        scheduler.add_job(
            media_func,
            IntervalTrigger(seconds=settings.media.interval, jitter=max(1, settings.media.interval // 10)),
            args=media_args,
            id="media",
            name="fetch and process media",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    if settings.rights.interval_s:
        # Rights: send paced requests, read the authors' answers, expire ended rights.
        scheduler.add_job(
            run_rights,
            IntervalTrigger(seconds=settings.rights.interval_s, jitter=3),
            args=(settings, engine, environ),
            id="rights",
            name="usage rights",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    if settings.models.score_interval:
        if settings.queue.backend == "rq":
            score_func: Callable[..., object] = enqueue_score
            score_args: tuple[object, ...] = (queue, settings)
        else:
            score_func, score_args = score_job, (engine, settings)
        scheduler.add_job(
            score_func,
            IntervalTrigger(seconds=settings.models.score_interval),
            args=score_args,
            id="score",
            name="score new posts",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    return scheduler


def run_scheduler(
    engine: Engine, settings: Settings, environ: Mapping[str, str], *, stop: threading.Event | None = None
) -> None:
    """`tesoro scheduler`: schedule until `stop` is set (or forever).

    On PostgreSQL several may run: each waits for the lease (`tesoro.ops.lease`), schedules while it
    holds it, and stops scheduling at once when it loses it, then waits again. On SQLite (one machine)
    one scheduler runs, without a lease.
    """
    stop = stop or threading.Event()
    watch = JobWatch()
    if engine.dialect.name != "postgresql":
        scheduler = build_scheduler(engine, settings, environ)
        scheduler.add_listener(watch, JobWatch.mask())
        scheduler.start()
        SCHEDULER_LEADER.set(1)
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            SCHEDULER_LEADER.set(0)
        return
    lease = SchedulerLease(engine, settings.ops.scheduler_lease_s, stop=stop)
    try:
        while lease.wait():
            scheduler = build_scheduler(engine, settings, environ)
            scheduler.add_listener(watch, JobWatch.mask())
            scheduler.start()
            SCHEDULER_LEADER.set(1)
            log.info("leading: %d jobs scheduled", len(scheduler.get_jobs()))
            try:
                lease.hold()
            finally:
                scheduler.shutdown(wait=False)  # no new runs from here on; running ones finish
                SCHEDULER_LEADER.set(0)
                log.info("standing by")
    finally:
        lease.release()
