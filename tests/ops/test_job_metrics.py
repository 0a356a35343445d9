"""Job timings and failures from a real APScheduler run, as Prometheus reads them."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from tesoro.ops.metrics import PROCESS, JobWatch, timed_job
from worlds.common import eventually


def _value(name: str, **labels: str) -> float:
    return PROCESS.get_sample_value(name, labels) or 0.0


def test_durations_failures_and_posts_scored() -> None:
    before = {
        "fail": _value("tesoro_job_failures_total", job="test:fail"),
        "count": _value("tesoro_job_duration_seconds_count", job="test:slow"),
        "seconds": _value("tesoro_job_duration_seconds_sum", job="test:slow"),
        "scored": _value("tesoro_posts_scored_total"),
    }

    spans: list[float] = []

    def slow() -> None:  # the job's own work, timed by itself: the metric's duration must cover it
        started = time.perf_counter()
        sum(i * i for i in range(300_000))
        spans.append(time.perf_counter() - started)

    def fail() -> None:
        raise RuntimeError("boom")

    def score() -> int:
        return 7

    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_listener(JobWatch(), JobWatch.mask())
    now = datetime.now(UTC)
    scheduler.add_job(timed_job("test:slow", slow), "date", run_date=now, id="test:slow")
    scheduler.add_job(timed_job("test:fail", fail), "date", run_date=now, id="test:fail")
    scheduler.add_job(timed_job("score", score), "date", run_date=now, id="score")
    scheduler.start()
    try:
        eventually(
            lambda: (
                _value("tesoro_job_duration_seconds_count", job="test:slow") != before["count"]
                and _value("tesoro_posts_scored_total") != before["scored"]
                and _value("tesoro_job_failures_total", job="test:fail") != before["fail"]
            ),
            timeout=10,
            message="the three jobs did not all report to the metrics within 10 s",
        )
    finally:
        scheduler.shutdown(wait=True)
    assert _value("tesoro_job_failures_total", job="test:fail") == before["fail"] + 1
    assert _value("tesoro_job_duration_seconds_count", job="test:slow") == before["count"] + 1
    measured = _value("tesoro_job_duration_seconds_sum", job="test:slow") - before["seconds"]
    # Timed inside the pool thread around the job: it covers all of the job's own work, and little more.
    assert len(spans) == 1 and spans[0] <= measured < spans[0] + 5, (measured, spans)
    assert _value("tesoro_job_failures_total", job="test:slow") == 0
    assert _value("tesoro_posts_scored_total") == before["scored"] + 7


def test_a_missed_run_is_counted_and_nothing_else_is() -> None:
    from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent

    before = _value("tesoro_job_missed_total", job="test:missed")
    watch = JobWatch()
    watch(JobExecutionEvent(EVENT_JOB_MISSED, "test:missed", "default", datetime.now(UTC)))
    assert _value("tesoro_job_missed_total", job="test:missed") == before + 1
    assert JobWatch.mask() == EVENT_JOB_MISSED
