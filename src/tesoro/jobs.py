"""The scheduled jobs. Thin on purpose: they only decide *when*; the work is in collector/scoring/curator.

Embedded mode: a `BackgroundScheduler` inside `tesoro serve`. Scaled-out mode: a
single `tesoro scheduler` process with a `BlockingScheduler`. Either way there is
one job per enabled source at its interval, coalesced (missed runs collapse into
one), never two at once for the same source, with jitter so sources spread out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from tesoro.collector.registry import build_collector, build_filter
from tesoro.collector.runner import RetryPolicy, RunResult, run_source
from tesoro.settings import ConfigError, Settings
from tesoro.store.catalog import brand_by_name
from tesoro.store.engine import session_scope
from tesoro.store.sources import get_source, record_failure

__all__ = [
    "build_scheduler",
    "collect_once",
    "collect_source",
    "curator_rerank_job",
    "curator_train_job",
    "refresh_relationships",
    "score_job",
]

log = logging.getLogger(__name__)


def collect_source(
    engine: Engine,
    settings: Settings,
    name: str,
    environ: Mapping[str, str],
    *,
    retry: RetryPolicy = RetryPolicy(),
) -> RunResult:
    """One pass over one source. Configuration problems mark the source failing instead of raising."""
    source = settings.source(name)
    brand_id = None
    with session_scope(engine) as session:
        if source.query is not None:
            brand = brand_by_name(session, settings.query(source.query).brand)
            brand_id = brand.id if brand else None
    try:
        collector = build_collector(settings, source, environ)
        keep = build_filter(settings, source)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        with session_scope(engine) as session:
            row = get_source(session, name)
            if row is not None and row.id is not None:
                record_failure(session, source_id=row.id, at=datetime.now(UTC), error=str(exc))
        log.error("%s: %s", name, exc)
        return RunResult(name, "failed", error=str(exc))
    result = run_source(
        engine, source_name=name, collector=collector, keep=keep, brand_id=brand_id, retry=retry
    )
    log.info(
        "%s: %s, %d new, %d updated, %d not matching the query",
        name,
        result.status,
        result.inserted,
        result.updated,
        result.filtered_out,
    )
    return result


def collect_once(
    engine: Engine, settings: Settings, environ: Mapping[str, str], *, only: str | None = None
) -> list[RunResult]:
    """`tesoro collect --once`: every enabled source (or just `only`) one time, in order."""
    names = [only] if only else [s.name for s in settings.sources if s.enabled]
    if only is not None:
        settings.source(only)  # a clear KeyError for an unknown name
    return [collect_source(engine, settings, name, environ) for name in names]


def score_job(engine: Engine, settings: Settings) -> int:
    """Score what the collectors brought in since the last run (models load once per process)."""
    from tesoro.curator.ranking import rank_posts
    from tesoro.scoring.pipeline import score_pending

    scored = score_pending(engine, settings)
    if scored:
        log.info("scored %d posts", scored)
        rank_posts(engine, settings.curator)  # newly scored posts join the queue (or the filtered view)
    return scored


def curator_train_job(engine: Engine, settings: Settings) -> None:
    """Relearn each brand's relevance weights, then retrain its ranker, from the coordinator's latest
    decisions (cheap when nothing changed; refreshes and re-ranks what moved)."""
    from tesoro.curator.feedback import train_rankers
    from tesoro.curator.relevance_model import train_relevance

    try:
        for report in train_relevance(engine, settings):
            if report.status in ("learned", "reset"):
                log.info(
                    "relevance of brand %d: %s (%s); %d unreviewed posts rescored, %d re-ranked",
                    report.brand_id,
                    report.status,
                    report.summary,
                    report.refreshed,
                    report.reranked,
                )
    except Exception:  # the encoder may be missing, say: the rankers still learn
        log.exception("learning relevance weights failed")
    train_rankers(engine, settings.curator)


def curator_rerank_job(engine: Engine, settings: Settings) -> None:
    """Recompute every treasure score: recency decays and edited texts change."""
    from tesoro.curator.ranking import rank_posts

    rank_posts(engine, settings.curator, everything=True)


def refresh_relationships(engine: Engine, settings: Settings) -> None:
    """Recompute every brand's stored ROR leaderboard."""
    from tesoro.insights.service import refresh_ror

    for brand in settings.brands:
        refresh_ror(engine, settings, brand_name=brand.name)


def _add_alert_jobs(
    scheduler: BaseScheduler, engine: Engine, settings: Settings, environ: Mapping[str, str]
) -> None:
    """Alert evaluation and delivery are light; they run in the scheduler's process in both modes."""
    from tesoro.alerts.jobs import alert_jobs

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


def purge_sessions_job(engine: Engine, settings: Settings) -> int:
    """Delete dead web sessions even when nobody logs in (logins and cookie traffic purge too)."""
    from tesoro.store.keys import purge_sessions

    with session_scope(engine) as session:
        purged = purge_sessions(session)
    if purged:
        log.info("deleted %d expired or ended web sessions", purged)
    return purged


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
        from tesoro.worker import enqueue_collect, make_queue

        queue = make_queue(settings)
        func: Callable[..., object] = enqueue_collect
        args_for: Callable[[str], tuple[object, ...]] = lambda name: (queue, settings, name)  # noqa: E731
    else:
        func = collect_source
        args_for = lambda name: (engine, settings, name, environ)  # noqa: E731
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
        # The ROR leaderboard is stored; refreshing it hourly keeps the first request fast.
        scheduler.add_job(
            refresh_relationships,
            IntervalTrigger(hours=1, jitter=60),
            args=(engine, settings),
            id="ror-refresh",
            name="refresh Return on Relationship",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    if settings.models.score_interval:
        if settings.queue.backend == "rq":
            from tesoro.worker import enqueue_score

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
