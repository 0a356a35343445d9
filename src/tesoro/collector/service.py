"""Collect one source end to end: its quota plan, its collector, the run, the plan after it.

The scheduler's job, the RQ worker, `tesoro collect` and a webhook that asks for a run all call
`collect_source`, so a run started any of these ways is held back, paced and recorded the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.collector.quota import ROLLING_SPANS, QuotaStatus, source_quota
from tesoro.collector.registry import build_collector, build_filter
from tesoro.collector.runner import Allowance, RetryPolicy, RunResult, run_source
from tesoro.settings import ConfigError, Settings
from tesoro.store.catalog import brand_by_name
from tesoro.store.engine import session_scope
from tesoro.store.sources import get_source, record_failure, save_plan
from tesoro.store.spend import prune_spend

__all__ = ["collect_source", "planned_run", "quota_now"]

log = logging.getLogger(__name__)


def collect_source(
    engine: Engine,
    settings: Settings,
    name: str,
    environ: Mapping[str, str],
    *,
    retry: RetryPolicy = RetryPolicy(),
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunResult:
    """One pass over one source. Configuration problems mark the source failing instead of raising.

    A metered source runs only when its quota plan allows (`collector.quota`): a run the plan holds
    back is skipped with the reason, never below the configured interval, and a run gets what is
    left of the budget as its allowance. The plan for the next run is saved after every run.
    """
    source = settings.source(name)
    brand_id = None
    now = clock()
    with session_scope(engine) as session:
        if source.query is not None:
            brand = brand_by_name(session, settings.query(source.query).brand)
            brand_id = brand.id if brand else None
        status = quota_now(session, source_name=name, settings=settings, now=now)
    allowance = None
    if status is not None:
        held = _held_back(status, now)
        if held is not None:
            with session_scope(engine) as session:
                row = get_source(session, name)
                if row is not None and row.id is not None:
                    save_plan(session, source_id=row.id, run_at=status.next_run_at, note=status.note)
            log.info("%s: %s", name, held)
            return RunResult(name, "skipped", error=held)
        if status.budget.paced:
            allowance = Allowance(status.left, _resume_at(status, now))
    try:
        collector = build_collector(settings, source, environ, engine=engine)
        keep = build_filter(settings, source)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        with session_scope(engine) as session:
            row = get_source(session, name)
            if row is not None and row.id is not None:
                record_failure(session, source_id=row.id, at=datetime.now(UTC), error=str(exc))
        log.error("%s: %s", name, exc)
        return RunResult(name, "failed", error=str(exc))
    result = run_source(
        engine,
        source_name=name,
        collector=collector,
        keep=keep,
        brand_id=brand_id,
        retry=retry,
        clock=clock,
        allowance=allowance,
    )
    if status is not None:
        with session_scope(engine) as session:
            after = quota_now(session, source_name=name, settings=settings, now=clock())
            row = get_source(session, name)
            if after is not None and row is not None and row.id is not None:
                save_plan(session, source_id=row.id, run_at=after.next_run_at, note=after.note)
    log.info(
        "%s: %s, %d new, %d updated, %d not matching the query, %d quarantined",
        name,
        result.status,
        result.inserted,
        result.updated,
        result.filtered_out,
        result.quarantined,
    )
    return result


def planned_run(engine: Engine, name: str) -> datetime | None:
    """The next run the source's quota plan allows (None: no plan, the configured interval holds)."""
    with session_scope(engine) as session:
        row = get_source(session, name)
        return row.planned_run_at if row is not None else None


# Spend rows older than this are past every window (the longest, a month, is at most 31 days).
_SPEND_KEPT = timedelta(days=40)


def quota_now(session: Session, *, source_name: str, settings: Settings, now: datetime) -> QuotaStatus | None:
    """The source's budget and plan now (None: unmetered, or not in the store yet)."""
    source = settings.source(source_name)
    if not source.budget.metered:
        return None
    row = get_source(session, source_name)
    if row is None or row.id is None:
        return None
    prune_spend(session, source_id=row.id, before=now - _SPEND_KEPT)
    return source_quota(session, source, row, now=now)


def _held_back(status: QuotaStatus, now: datetime) -> str | None:
    """Why the plan holds this run back (stretched, or waiting for the budget), or None to run now."""
    if status.next_run_at is None or status.next_run_at <= now:
        return None
    if status.reason not in ("stretched", "waiting_for_reset"):
        return None  # the configured interval is the scheduler's own business
    return f"quota plan: {status.note}; next run at {status.next_run_at.isoformat(timespec='seconds')}"


def _resume_at(status: QuotaStatus, now: datetime) -> datetime:
    """When a run that spends all that is left may run again: the reset, or as spent units free up."""
    if status.resets_at is not None and status.budget.window in ("day", "month"):
        return status.resets_at
    span = ROLLING_SPANS.get(status.budget.window, timedelta(minutes=1))
    return status.resets_at if status.resets_at is not None and status.resets_at > now else now + span
