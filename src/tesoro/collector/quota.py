"""Quota-aware planning: how much of its platform budget a source has used, what is left, when it
resets, when it runs out at this rate, and when the scheduler lets it run next.

Every metered run records what it spent (`store.spend`, written with each page). From those rows
and the source's `Budget` (`settings.quota`), `plan_quota` works out, at a given moment:

- `used` and `left` in the current window, and `resets_at`: the next reset of a fixed window (day,
  month), or, in a rolling window (minute, 24 hours, 7 days), when the oldest unit spent in it
  frees up again;
- `per_run`: what one run costs, averaged over the source's last runs;
- the forecast, `exhausted_at`: at the configured interval, the moment the budget left is gone, or
  None when it lasts until the reset;
- the plan: the interval that spreads what is left over the time to the reset (never shorter than
  the configured one), the next run it allows (`next_run_at`) and why (`reason`, `note`).

A run is never planned below its configured interval; a run is only held back when the budget would
not last. With nothing left, the source waits for the reset (or, in a rolling window, for the
oldest spent units to free up). Pure functions of their inputs and a `now`, so tests drive them
with a fake clock; `source_quota` reads the store for one source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tesoro.settings import Budget, Settings, SourceSettings
from tesoro.store.spend import SpendRow, recent_spend, spend_since
from tesoro.store.tables import Source

__all__ = [
    "ROLLING_SPANS",
    "QuotaStatus",
    "Window",
    "current_window",
    "describe_duration",
    "plan_quota",
    "quota_statuses",
    "source_quota",
]

# Rolling windows and how long a spent unit counts against them.
ROLLING_SPANS: dict[str, timedelta] = {
    "minute": timedelta(minutes=1),
    "rolling_24h": timedelta(hours=24),
    "rolling_7d": timedelta(days=7),
}
# How many of the source's last runs give the cost of one run.
RUNS_MEASURED = 10


@dataclass(frozen=True, slots=True)
class Window:
    """The budget window `now` falls in: spend after `start` counts; a fixed window ends at `reset_at`."""

    start: datetime
    reset_at: datetime | None  # None: a rolling window (units free up one by one)


def current_window(budget: Budget, now: datetime) -> Window:
    """The window of `budget` that holds `now` (fixed windows follow the reset time in its zone)."""
    span = ROLLING_SPANS.get(budget.window)
    if span is not None:
        return Window(now - span, None)
    zone = ZoneInfo(budget.reset_timezone)
    local = now.astimezone(zone)
    if budget.window == "day":
        start = _at(local.date(), budget, zone)
        if start > now:
            start = _at(local.date() - timedelta(days=1), budget, zone)
        return Window(start, _at(start.astimezone(zone).date() + timedelta(days=1), budget, zone))
    if budget.window == "month":
        start = _at(date(local.year, local.month, budget.reset_day), budget, zone)
        if start > now:
            start = _at(_add_months(local.year, local.month, -1, budget.reset_day), budget, zone)
        begun = start.astimezone(zone)
        return Window(start, _at(_add_months(begun.year, begun.month, 1, budget.reset_day), budget, zone))
    return Window(now, None)  # "none": nothing is counted


def _at(day: date, budget: Budget, zone: ZoneInfo) -> datetime:
    """`reset_time` on `day` in the budget's zone, as UTC (a time DST skips still maps to one instant)."""
    return datetime.combine(day, budget.reset_time, tzinfo=zone).astimezone(UTC)


def _add_months(year: int, month: int, delta: int, day: int) -> date:
    index = year * 12 + (month - 1) + delta
    return date(index // 12, index % 12 + 1, day)


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """One source's budget at one moment, with the scheduler's plan (see the module's docstring)."""

    budget: Budget
    used: int
    left: int
    resets_at: datetime | None
    per_run: float | None  # None until a run has been measured
    exhausted_at: datetime | None  # at the configured interval; None: lasts until the reset
    interval: int  # configured, seconds
    planned_interval: int  # what the scheduler keeps to (>= interval)
    next_run_at: datetime | None
    reason: str  # as_configured | stretched | waiting_for_reset | unmeasured
    note: str
    fits: bool  # False: coverage is lost (stretched past `stretch_alert`, or waiting long for a reset)
    # Rolling windows: the runs whose units free up within `slot_warning` (Instagram hashtag slots).
    expiring: tuple[SpendRow, ...] = ()

    @property
    def expiring_at(self) -> tuple[datetime, ...]:
        """When the units of `expiring` leave the rolling window (the hashtag slots expire)."""
        span = ROLLING_SPANS.get(self.budget.window)
        return tuple(r.at + span for r in self.expiring) if span is not None else ()

    @property
    def stretch(self) -> float:
        return self.planned_interval / self.interval if self.interval else 1.0

    @property
    def forecast(self) -> str:
        """'at this rate the youtube quota runs out at 14:20 UTC' (or lasts until the reset)."""
        name = self.budget.platform
        if self.per_run is None:
            return f"no run measured yet: the {name} quota's forecast starts after the first run"
        if self.exhausted_at is not None:
            return f"at this rate the {name} quota runs out at {_clock(self.exhausted_at)}"
        if self.budget.window in ROLLING_SPANS:
            return f"at this rate the {name} quota lasts: spent units free up as they leave its window"
        if self.resets_at is not None:
            return f"at this rate the {name} quota lasts until its reset at {_clock(self.resets_at)}"
        return f"at this rate the {name} quota lasts"


def _clock(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def describe_duration(seconds: float) -> str:
    """900 -> '15m', 5400 -> '1h30m', 90061 -> '1d1h' (coarse, for notes)."""
    seconds = max(0, round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def plan_quota(
    budget: Budget,
    *,
    interval: int,
    spent: Sequence[SpendRow],
    recent: Sequence[SpendRow],
    last_run_at: datetime | None,
    now: datetime,
    parked_until: datetime | None = None,
    stretch_alert: float = 2.0,
    slot_warning: int = 86400,
) -> QuotaStatus:
    """The budget's state and the next run it allows. `spent`: the source's runs in the window
    (any order); `recent`: its last runs (the average cost of those that made a call is a run's
    cost); `parked_until`: a wait the runner already decided (a rate limit, a spent allowance)."""
    window = current_window(budget, now)
    # A fixed window holds what was spent from its reset on; a rolling one frees a unit a span after.
    fixed = window.reset_at is not None
    in_window = sorted(
        (r for r in spent if r.units > 0 and (r.at >= window.start if fixed else r.at > window.start)),
        key=lambda r: r.at,
    )
    used = sum(r.units for r in in_window)
    left = max(0, budget.limit - used)
    measured = [r for r in recent if r.calls > 0]
    per_run = sum(r.units for r in measured) / len(measured) if measured else None
    span = ROLLING_SPANS.get(budget.window)
    if window.reset_at is not None:
        resets_at: datetime | None = window.reset_at
    else:
        resets_at = in_window[0].at + span if in_window and span is not None else None

    exhausted_at = None
    if per_run and left >= 0:
        rate = per_run / interval
        runs_out = now + timedelta(seconds=left / rate)
        if window.reset_at is not None:
            exhausted_at = runs_out if runs_out < window.reset_at else None
        elif span is not None and per_run * span.total_seconds() / interval > budget.limit:
            exhausted_at = runs_out  # faster than units free up: the window fills

    if not budget.paced:
        # Slots, not a pace (Instagram hashtags): a run costs nothing once its slots are taken.
        per_run, exhausted_at = None, None
    planned = interval
    wait_until: datetime | None = None
    if per_run:
        if window.reset_at is not None:
            to_reset = (window.reset_at - now).total_seconds()
            if left > 0 and to_reset / interval > left / per_run:
                planned = max(interval, math.ceil(to_reset * per_run / left))
        elif span is not None:
            planned = max(interval, math.ceil(per_run * span.total_seconds() / budget.limit))
    if left <= 0 and budget.paced:
        if window.reset_at is not None:
            wait_until = window.reset_at
        elif in_window and span is not None:
            need = min(float(budget.limit), max(1.0, per_run or 1.0))
            wait_until = _frees_up(in_window, span, need=need, short=used - budget.limit)
    if parked_until is not None and parked_until > now and (wait_until is None or parked_until > wait_until):
        wait_until = parked_until

    next_run_at = last_run_at + timedelta(seconds=planned) if last_run_at is not None else None
    if wait_until is not None and (next_run_at is None or wait_until > next_run_at):
        next_run_at = wait_until
    if next_run_at is not None and next_run_at < now and wait_until is None:
        next_run_at = now

    unit = budget.unit
    if not budget.paced:
        reason, note = (
            "as_configured",
            f"every {describe_duration(interval)} as configured: {left:,} of {budget.limit:,} {unit} "
            "free in the window (a run that needs one more is refused by the collector)",
        )
    elif per_run is None:
        reason, note = (
            "unmeasured",
            f"every {describe_duration(interval)} as configured (no run measured yet)",
        )
    elif wait_until is not None:
        reason = "waiting_for_reset"
        spent_all = f"the {budget.limit:,} {unit} are spent" if left <= 0 else f"{left:,} {unit} left"
        note = f"{spent_all}: the next run waits until {_clock(next_run_at or wait_until)}"
    elif planned > interval:
        reason = "stretched"
        until = f"until the reset at {_clock(window.reset_at)}" if window.reset_at else "as units free up"
        note = (
            f"stretched from {describe_duration(interval)} to {describe_duration(planned)}: "
            f"{left:,} {unit} left at {per_run:,.1f} a run {until}"
        )
    else:
        reason, note = "as_configured", f"every {describe_duration(interval)} as configured: the budget lasts"
    waiting_long = (
        left <= 0 and wait_until is not None and (wait_until - now).total_seconds() > stretch_alert * interval
    )
    fits = planned <= stretch_alert * interval and not waiting_long
    expiring: tuple[SpendRow, ...] = ()
    if span is not None and budget.window != "minute":
        horizon = now + timedelta(seconds=slot_warning)
        expiring = tuple(r for r in in_window if now < r.at + span <= horizon)
    return QuotaStatus(
        budget=budget,
        used=used,
        left=left,
        resets_at=resets_at,
        per_run=per_run,
        exhausted_at=exhausted_at,
        interval=interval,
        planned_interval=planned,
        next_run_at=next_run_at,
        reason=reason,
        note=note,
        fits=fits,
        expiring=expiring,
    )


def _frees_up(in_window: Sequence[SpendRow], span: timedelta, *, need: float, short: int) -> datetime:
    """When enough of the oldest spent units leave a rolling window for one run (oldest first)."""
    freed = 0
    for row in in_window:
        freed += row.units
        if freed - short >= need:
            return row.at + span
    return in_window[-1].at + span


def source_quota(
    session: Session, source: SourceSettings, row: Source, *, now: datetime
) -> QuotaStatus | None:
    """The budget of one configured source as the store has it (None: its platform meters nothing)."""
    budget = source.budget
    if not budget.metered or row.id is None:
        return None
    window = current_window(budget, now)
    since = min(window.start, now - ROLLING_SPANS.get(budget.window, timedelta(0)))
    return plan_quota(
        budget,
        interval=source.interval,
        spent=spend_since(session, source_ids=[row.id], since=since),
        recent=recent_spend(session, source_id=row.id, runs=RUNS_MEASURED),
        last_run_at=row.last_run_at,
        now=now,
        parked_until=row.next_allowed_at,
        stretch_alert=source.quota.stretch_alert,
        slot_warning=source.quota.slot_warning,
    )


def quota_statuses(
    session: Session, settings: Settings, rows: Sequence[Source], *, now: datetime
) -> dict[str, QuotaStatus]:
    """The budget of every stored source that is configured and metered, by source name."""
    configured = {s.name: s for s in settings.sources}
    out: dict[str, QuotaStatus] = {}
    for row in rows:
        source = configured.get(row.name)
        if source is None:
            continue
        status = source_quota(session, source, row, now=now)
        if status is not None:
            out[row.name] = status
    return out
