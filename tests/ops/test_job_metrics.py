"""Job timings and failures from a real APScheduler run, as Prometheus reads them."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from tesoro.ops.metrics import PROCESS, JobWatch
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
    scheduler.add_job(slow, "date", run_date=now, id="test:slow")
    scheduler.add_job(fail, "date", run_date=now, id="test:fail")
    scheduler.add_job(score, "date", run_date=now, id="score")
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
    # The start is taken when APScheduler reports the job submitted, which can come a few milliseconds
    # after the pool thread began it: the metric may undercount by that much, never by the job's work.
    assert len(spans) == 1 and spans[0] - 0.02 <= measured < spans[0] + 5, (measured, spans)
    assert _value("tesoro_job_failures_total", job="test:slow") == 0
    assert _value("tesoro_posts_scored_total") == before["scored"] + 7
