"""When the jobs run: one APScheduler for both modes.

Embedded mode: a `BackgroundScheduler` inside `tesoro serve`. Scaled-out mode: a
single `tesoro scheduler` process with a `BlockingScheduler`. Either way there is
one job per enabled source at its interval and one per other duty (scoring, media, rights,
alerts, ROR, training, re-ranking, the gallery's re-check and copies, the session purge, the
library index's snapshots), each coalesced (missed runs collapse into one), never two at once,
with jitter so they spread out.
With `queue.backend = "rq"` every job only enqueues its run for the RQ workers
(`tesoro.jobs.worker`), which keep "never two at once" across machines with a hold per job.

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
    index_snapshot_job,
    media_job,
    planned_run,
    purge_sessions_job,
    recheck_gallery_job,
    refresh_relationships,
    run_rights,
    score_job,
)
from tesoro.jobs.worker import enqueue_job, make_queue
from tesoro.ops.lease import SchedulerLease
from tesoro.ops.metrics import SCHEDULER_LEADER, JobWatch, timed_job
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


def build_scheduler(
    engine: Engine, settings: Settings, environ: Mapping[str, str], *, blocking: bool = False
) -> BaseScheduler:
    """A scheduler with every job the settings call for; the caller starts it.

    With `queue.backend = "rq"` each job only enqueues its run on Redis (`jobs.worker.enqueue_job`)
    and RQ workers (`tesoro worker`) do the work; otherwise the job runs in-process. Either way the
    jobs, their ids and their intervals are the same.
    """
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone=UTC) if blocking else BackgroundScheduler(timezone=UTC)
    )
    queue = make_queue(settings) if settings.queue.backend == "rq" else None
    if queue is not None and settings.source_file is None:
        raise ValueError(
            "the scaled-out mode needs a settings file (-c or TESORO_CONFIG) that workers can read"
        )

    def add(
        job_id: str,
        name: str,
        trigger: IntervalTrigger,
        inline: Callable[..., object],
        args: tuple[object, ...],
        *,
        source: str | None = None,
        grace: int | None = None,
        now: bool = False,
    ) -> None:
        if queue is not None:
            kind = "collect" if source is not None else job_id
            inline, args = enqueue_job, (queue, settings, kind, source)
        scheduler.add_job(
            timed_job(job_id, inline),
            trigger,
            args=args,
            id=job_id,
            name=name,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
            **({"next_run_time": datetime.now(UTC)} if now else {}),  # first run at once
            **({"misfire_grace_time": grace} if grace is not None else {}),
        )

    for source in settings.sources:
        if not source.enabled:
            continue
        add(
            f"collect:{source.name}",
            f"collect {source.name}",
            IntervalTrigger(seconds=source.interval, jitter=max(1, min(60, source.interval // 10))),
            collect_on_plan,
            (scheduler, engine, settings, source.name, environ),
            source=source.name,
            grace=source.interval,
            now=True,
        )
    # Alert evaluation and delivery (registered even without rules: rules can be added over HTTP).
    for job in alert_jobs(engine, settings, environ):
        add(
            job.id,
            job.name,
            IntervalTrigger(seconds=job.interval_s, jitter=3),
            job.func,
            (),
            grace=job.interval_s,
            now=True,
        )
    args = (engine, settings)
    add("curator:train", "curator train", IntervalTrigger(minutes=15, jitter=30), curator_train_job, args)
    add("curator:rerank", "curator rerank", IntervalTrigger(days=1, jitter=600), curator_rerank_job, args)
    add("sessions:purge", "sessions purge", IntervalTrigger(hours=6, jitter=300), purge_sessions_job, args)
    if settings.brands:
        # The ROR leaderboard is stored and reading it never computes it: refresh it at start, then
        # hourly (the treasure score's relationship part reads it too). KPIs are read live.
        trigger = IntervalTrigger(hours=1, jitter=60)
        add("ror-refresh", "refresh Return on Relationship", trigger, refresh_relationships, args, now=True)
    if settings.gallery.recheck_interval:
        # Platforms other than Reddit never say during search that a post is gone: ask them.
        interval = settings.gallery.recheck_interval
        trigger = IntervalTrigger(seconds=interval, jitter=max(1, min(600, interval // 10)))
        add("gallery:recheck", "gallery recheck", trigger, recheck_gallery_job, (*args, environ))
    if settings.gallery.copies and settings.gallery.copies_interval:
        # Kept copies of rights-cleared media; copies of revoked or expired rights are deleted.
        interval = settings.gallery.copies_interval
        trigger = IntervalTrigger(seconds=interval, jitter=max(1, interval // 10))
        add("gallery:copies", "gallery kept copies", trigger, copies_job, args, now=True)
    if settings.media.interval:
        # Post media previews: fetched, checked and measured apart from scoring (docs/media.md).
        interval = settings.media.interval
        trigger = IntervalTrigger(seconds=interval, jitter=max(1, interval // 10))
        add("media", "fetch and process media", trigger, media_job, args)
    if settings.rights.interval_s:
        # Rights: send paced requests, read the authors' answers, expire ended rights.
        trigger = IntervalTrigger(seconds=settings.rights.interval_s, jitter=3)
        add("rights", "usage rights", trigger, run_rights, (settings, engine, environ))
    if settings.models.score_interval:
        trigger = IntervalTrigger(seconds=settings.models.score_interval)
        add("score", "score new posts", trigger, score_job, args)
    if settings.search.snapshot_interval_s:
        # The library index in files that every API process of the machine maps (docs/operations.md).
        interval = settings.search.snapshot_interval_s
        trigger = IntervalTrigger(seconds=interval, jitter=max(1, min(60, interval // 10)))
        add("index:snapshot", "library index snapshot", trigger, index_snapshot_job, args, now=True)
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
