"""Prometheus metrics (`prometheus-client`), one registry per process.

Why not the client's multiprocess mode: most of what an operator alerts on lives in the shared
store and in Redis (posts collected per source, the alert outbox, quota left, the queue's depth and
age), so `StoreCollector` reads it at scrape time and every API process answers the same figures;
nothing has to be summed across processes through a shared folder of mmap files that must be wiped
at each start. What only a process knows (its jobs' durations and failures, the posts it scored,
whether it holds the scheduler's lease) sits in `PROCESS`, this process's registry, and is labelled
by nothing more: each scheduler exposes its own (`tesoro scheduler --metrics-port`), the embedded
`tesoro serve` exposes its scheduler's on /metrics.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis import Redis
from rq import Queue
from sqlalchemy.engine import Engine

from tesoro.collector.quota import quota_statuses
from tesoro.ops.joblock import JobLedger
from tesoro.settings import Settings
from tesoro.store.alerts.outbox import alert_status_counts
from tesoro.store.engine import session_scope
from tesoro.store.ops import posts_collected_by_source
from tesoro.store.sources import list_sources

__all__ = ["PROCESS", "JobWatch", "StoreCollector", "render", "timed_job"]

T = TypeVar("T")

log = logging.getLogger(__name__)

PROCESS = CollectorRegistry(auto_describe=True)
JOB_SECONDS = Histogram(
    "tesoro_job_duration_seconds",
    "How long each scheduled job ran in this process",
    ["job"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
    registry=PROCESS,
)
JOB_FAILURES = Counter(
    "tesoro_job_failures", "Scheduled jobs that raised, in this process", ["job"], registry=PROCESS
)
JOB_MISSED = Counter(
    "tesoro_job_missed",
    "Scheduled runs skipped because they were too late, in this process",
    ["job"],
    registry=PROCESS,
)
POSTS_SCORED = Counter("tesoro_posts_scored", "Posts scored by this process's scoring job", registry=PROCESS)
SCHEDULER_LEADER = Gauge(
    "tesoro_scheduler_leader",
    "1 while this process holds the scheduler's lease and schedules",
    registry=PROCESS,
)


def timed_job(job_id: str, run: Callable[..., T]) -> Callable[..., T]:
    """`run` timed from the inside into `PROCESS`: its duration, a failure, posts scored (job "score").

    The timing starts and ends in the pool thread that runs the job, so it covers exactly the job's
    work (APScheduler's "submitted" event, the old start, could arrive after the thread had begun).
    """

    @functools.wraps(run)
    def timed(*args: Any, **kwargs: Any) -> T:
        started = time.monotonic()
        try:
            result = run(*args, **kwargs)
        except BaseException:
            JOB_FAILURES.labels(job_id).inc()
            raise
        finally:
            JOB_SECONDS.labels(job_id).observe(time.monotonic() - started)
        if job_id == "score" and isinstance(result, int) and not isinstance(result, bool):
            POSTS_SCORED.inc(result)
        return result

    return timed


class JobWatch:
    """An APScheduler listener: runs the scheduler skipped (`EVENT_JOB_MISSED`) into `PROCESS`.

    Durations and failures are counted by `timed_job`, inside each job.
    """

    def __call__(self, event: Any) -> None:
        JOB_MISSED.labels(str(event.job_id)).inc()

    @staticmethod
    def mask() -> int:
        # Deferred: only the processes that schedule load APScheduler's events.
        from apscheduler.events import EVENT_JOB_MISSED

        mask: int = EVENT_JOB_MISSED
        return mask


class StoreCollector(Collector):
    """The shared figures, read at scrape time from the store (and Redis with the RQ backend).

    Each part is read on its own: a part that fails (Redis down, a hostile source row) is left out
    and counted in `tesoro_metrics_errors{part}`, and the others are still answered.
    """

    def __init__(self, engine: Engine, settings: Settings, *, redis: Redis | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.redis = redis

    def collect(self) -> Iterator[Any]:
        errors = GaugeMetricFamily(
            "tesoro_metrics_errors", "1 for each part of this scrape that could not be read", labels=["part"]
        )
        for part, read in (
            ("posts", self._posts),
            ("alerts", self._alerts),
            ("quota", self._quota),
            ("queue", self._queue),
        ):
            try:
                yield from list(read())
            except Exception as exc:  # one part failing never hides the others
                log.warning("metrics: cannot read %s: %s", part, exc)
                errors.add_metric([part], 1)
        yield errors

    def _posts(self) -> Iterator[Any]:
        family = CounterMetricFamily(
            "tesoro_posts_collected",
            "Posts collected per source since it was first stored",
            labels=["source"],
        )
        with session_scope(self.engine) as session:
            for name, count in sorted(posts_collected_by_source(session).items()):
                family.add_metric([name], count)
        yield family

    def _alerts(self) -> Iterator[Any]:
        family = GaugeMetricFamily("tesoro_alert_outbox", "Alerts in the outbox by status", labels=["status"])
        with session_scope(self.engine) as session:
            counts = alert_status_counts(session)
        for status in sorted(counts):
            family.add_metric([status], counts[status])
        yield family

    def _quota(self) -> Iterator[Any]:
        left = GaugeMetricFamily(
            "tesoro_quota_left",
            "Units of the platform budget left in the current window",
            labels=["source", "unit"],
        )
        used = GaugeMetricFamily(
            "tesoro_quota_used",
            "Units of the platform budget spent in the current window",
            labels=["source", "unit"],
        )
        fits = GaugeMetricFamily(
            "tesoro_quota_fits",
            "1 when the source's plan keeps full coverage, 0 when it loses some",
            labels=["source"],
        )
        with session_scope(self.engine) as session:
            statuses = quota_statuses(session, self.settings, list_sources(session), now=datetime.now(UTC))
        for name in sorted(statuses):
            status = statuses[name]
            left.add_metric([name, status.budget.unit], status.left)
            used.add_metric([name, status.budget.unit], status.used)
            fits.add_metric([name], 1 if status.fits else 0)
        yield from (left, used, fits)

    def _queue(self) -> Iterator[Any]:
        if self.settings.queue.backend != "rq":
            return
        redis = self.redis or Redis.from_url(
            self.settings.queue.redis_url, socket_connect_timeout=2, socket_timeout=2
        )
        queue = Queue(self.settings.queue.name, connection=redis)
        depth = GaugeMetricFamily("tesoro_queue_depth", "Jobs waiting on the RQ queue", labels=["queue"])
        age = GaugeMetricFamily(
            "tesoro_queue_oldest_age_seconds",
            "How long the oldest waiting job has waited (0: none)",
            labels=["queue"],
        )
        failed = GaugeMetricFamily(
            "tesoro_queue_failed", "Jobs in the queue's failed registry", labels=["queue"]
        )
        depth.add_metric([queue.name], queue.count)
        oldest = 0.0
        first = queue.get_jobs(0, 1)
        if first and first[0].enqueued_at is not None:
            enqueued = first[0].enqueued_at
            if enqueued.tzinfo is None:
                enqueued = enqueued.replace(tzinfo=UTC)
            oldest = max(0.0, (datetime.now(UTC) - enqueued).total_seconds())
        age.add_metric([queue.name], oldest)
        failed.add_metric([queue.name], queue.failed_job_registry.count)
        yield from (depth, age, failed)
        ledger = JobLedger(redis, self.settings.queue.name)
        runs = CounterMetricFamily(
            "tesoro_worker_jobs",
            "Runs of each scheduled job on the RQ workers by outcome (finished, failed, timed_out, "
            "skipped_running, skipped_queued, lock_lost)",
            labels=["job", "outcome"],
        )
        for (job, outcome), count in sorted(ledger.counts().items()):
            runs.add_metric([job, outcome], count)
        seconds = CounterMetricFamily(
            "tesoro_worker_job_seconds", "Seconds each scheduled job ran on the RQ workers", labels=["job"]
        )
        for job, total in sorted(ledger.seconds().items()):
            seconds.add_metric([job], total)
        yield from (runs, seconds)


def render(engine: Engine, settings: Settings, *, redis: Redis | None = None) -> bytes:
    """The text exposition of this process's metrics and the shared ones, for one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine, settings, redis=redis))
    registry.register(PROCESS)
    return generate_latest(registry)
