"""Quota planning with a fake clock: windows, used / left / reset, the forecast, the stretched interval."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tesoro.collector.base import QuotaExhausted, Spend
from tesoro.collector.quota import current_window, describe_duration, plan_quota
from tesoro.settings import PLATFORM_BUDGETS, QuotaSettings, Settings
from tesoro.settings.quota import resolve_budget
from tesoro.store.spend import SpendRow

# 12:00 UTC on a December Monday is 04:00 in Los Angeles (PST, UTC-8): YouTube's day began at 08:00 UTC.
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
YOUTUBE = PLATFORM_BUDGETS["youtube"]["default"]
INSTAGRAM = PLATFORM_BUDGETS["instagram"]["default"]
# A paced budget with Instagram's window and size, for the rolling-window arithmetic.
ROLLING_7D = replace(INSTAGRAM, paced=True)


def runs(*spent: tuple[datetime, int], calls: int = 2) -> list[SpendRow]:
    return [SpendRow(i + 1, 1, at, at, units, calls) for i, (at, units) in enumerate(spent)]


def every(start: datetime, count: int, step: timedelta, units: int) -> list[SpendRow]:
    return runs(*[(start + step * i, units) for i in range(count)])


def test_every_platform_has_a_budget_and_x_one_per_plan() -> None:
    for name in ("x", "reddit", "instagram", "youtube", "tiktok", "threads", "bluesky", "mastodon", "file"):
        assert name in PLATFORM_BUDGETS
    x = PLATFORM_BUDGETS["x"]
    assert (x["free"].limit, x["basic"].limit, x["pro"].limit) == (100, 15_000, 1_000_000)
    assert {b.window for b in x.values()} == {"month"}
    assert (YOUTUBE.limit, YOUTUBE.window, YOUTUBE.reset_timezone) == (10_000, "day", "America/Los_Angeles")
    assert (INSTAGRAM.limit, INSTAGRAM.window) == (30, "rolling_7d")
    assert PLATFORM_BUDGETS["tiktok"]["default"].limit == 1_000
    assert PLATFORM_BUDGETS["reddit"]["default"].window == "minute"
    assert not PLATFORM_BUDGETS["bluesky"]["default"].metered


def test_a_source_picks_a_plan_and_overrides_it() -> None:
    budget = resolve_budget("x", QuotaSettings(plan="pro", reset_day=15, reset_time="06:30"))
    assert (budget.limit, budget.reset_day, budget.reset_time.hour, budget.reset_time.minute) == (
        1_000_000,
        15,
        6,
        30,
    )
    assert resolve_budget("x", QuotaSettings()).plan == "basic"
    assert resolve_budget("youtube", QuotaSettings(limit=2_500)).limit == 2_500
    shared = resolve_budget("bluesky", QuotaSettings(limit=3_000, window="minute"))
    assert shared.metered


@pytest.mark.parametrize(
    ("quota", "message"),
    [
        ({"plan": "enterprise"}, "x has no plan 'enterprise'"),
        ({"reset_time": "25:00"}, "is not a time of day"),
        ({"reset_timezone": "Mars/Olympus"}, "not a known time zone"),
        ({"reset_day": 31}, "less than or equal to 28"),
        ({"window": "fortnight"}, "rolling_7d"),
        ({"limit": -1}, "greater than or equal to 0"),
        ({"limits": 5}, "Extra inputs"),
    ],
)
def test_bad_quota_settings_are_refused_at_load_time(quota: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings.model_validate(
            {
                "brands": [{"name": "Andes"}],
                "queries": [{"name": "q", "brand": "Andes", "query": "cumbre"}],
                "sources": [{"name": "s", "platform": "x", "query": "q", "quota": quota}],
            }
        )


def test_fixed_windows_follow_the_reset_time_in_its_zone() -> None:
    day = current_window(YOUTUBE, NOW)
    assert (day.start, day.reset_at) == (
        datetime(2026, 12, 7, 8, 0, tzinfo=UTC),
        datetime(2026, 12, 8, 8, 0, tzinfo=UTC),
    )
    early = current_window(YOUTUBE, datetime(2026, 12, 7, 7, 59, tzinfo=UTC))  # still the 6th in LA
    assert early.start == datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    summer = current_window(YOUTUBE, datetime(2026, 7, 1, 12, 0, tzinfo=UTC))  # PDT, UTC-7
    assert summer.start == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    x = resolve_budget("x", QuotaSettings(reset_day=10))
    month = current_window(x, NOW)
    assert (month.start, month.reset_at) == (
        datetime(2026, 11, 10, tzinfo=UTC),
        datetime(2026, 12, 10, tzinfo=UTC),
    )
    december = current_window(x, datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    assert december.reset_at == datetime(2027, 1, 10, tzinfo=UTC)
    rolling = current_window(INSTAGRAM, NOW)
    assert (rolling.start, rolling.reset_at) == (NOW - timedelta(days=7), None)


def test_the_forecast_says_when_the_quota_runs_out_at_this_rate() -> None:
    # 72 runs of 101 units since the day began: 7,272 used, 2,728 left, at 101 a run every 15 minutes.
    spent = every(datetime(2026, 12, 7, 8, 1, tzinfo=UTC), 72, timedelta(seconds=200), 101)
    q = plan_quota(YOUTUBE, interval=900, spent=spent, recent=spent[-10:], last_run_at=spent[-1].at, now=NOW)
    assert (q.used, q.left, q.per_run) == (7_272, 2_728, 101.0)
    assert q.resets_at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    # 2,728 units / (101 units per 900 s) = 24,309 s: 18:45 UTC, before the reset.
    assert q.exhausted_at is not None
    assert abs((q.exhausted_at - NOW).total_seconds() - 2_728 * 900 / 101) < 1
    assert q.forecast == "at this rate the youtube quota runs out at 2026-12-07 18:45 UTC"


def test_the_interval_is_stretched_to_last_until_the_reset_and_says_why() -> None:
    spent = every(datetime(2026, 12, 7, 8, 1, tzinfo=UTC), 72, timedelta(seconds=200), 101)
    last = spent[-1].at
    q = plan_quota(YOUTUBE, interval=900, spent=spent, recent=spent[-10:], last_run_at=last, now=NOW)
    # 20 h to the reset, 2,728 units at 101 a run: 27 runs, one every 72,000 * 101 / 2,728 s.
    assert q.planned_interval == 2_666
    assert q.reason == "stretched" and q.next_run_at == last + timedelta(seconds=2_666)
    assert "stretched from 15m to 44m26s" in q.note and "2,728 quota units left" in q.note
    assert q.fits is False  # 2.96 times the configured interval, past stretch_alert = 2
    # What the plan allows stays inside the budget until the reset.
    runs_left = (q.resets_at - NOW).total_seconds() / q.planned_interval  # type: ignore[operator]
    assert runs_left * 101 <= q.left


def test_a_budget_that_lasts_keeps_the_configured_interval_never_shorter() -> None:
    spent = every(datetime(2026, 12, 7, 8, 1, tzinfo=UTC), 10, timedelta(minutes=15), 101)
    q = plan_quota(YOUTUBE, interval=3600, spent=spent, recent=spent, last_run_at=spent[-1].at, now=NOW)
    assert q.planned_interval == 3600 and q.reason == "as_configured" and q.fits
    assert q.exhausted_at is None
    assert q.forecast.startswith("at this rate the youtube quota lasts until its reset at 2026-12-08 08:00")
    fresh = plan_quota(YOUTUBE, interval=900, spent=[], recent=[], last_run_at=None, now=NOW)
    assert (fresh.reason, fresh.per_run, fresh.next_run_at, fresh.left) == ("unmeasured", None, None, 10_000)


def test_a_spent_budget_waits_for_the_reset() -> None:
    spent = every(datetime(2026, 12, 7, 8, 1, tzinfo=UTC), 100, timedelta(seconds=100), 100)
    q = plan_quota(YOUTUBE, interval=900, spent=spent, recent=spent[-10:], last_run_at=spent[-1].at, now=NOW)
    assert (q.used, q.left) == (10_000, 0)
    assert q.reason == "waiting_for_reset" and q.next_run_at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    assert "the 10,000 quota units are spent" in q.note and not q.fits
    after = plan_quota(
        YOUTUBE,
        interval=900,
        spent=spent,
        recent=spent[-10:],
        last_run_at=spent[-1].at,
        now=datetime(2026, 12, 8, 8, 0, 1, tzinfo=UTC),
    )
    assert (after.used, after.left, after.reason) == (0, 10_000, "as_configured")


def test_a_rolling_window_frees_units_as_they_age_and_warns_of_expiring_slots() -> None:
    # A paced rolling 7-day budget of 30. Three runs of 10 units each, 6 days 12 h, 3 days and 1 hour
    # ago: all 30 taken.
    spent = runs(
        (NOW - timedelta(days=6, hours=12), 10), (NOW - timedelta(days=3), 10), (NOW - timedelta(hours=1), 10)
    )
    q = plan_quota(
        ROLLING_7D,
        interval=3600,
        spent=spent,
        recent=spent,
        last_run_at=spent[-1].at,
        now=NOW,
        slot_warning=86400,
    )
    assert (q.used, q.left) == (30, 0)
    first_free = spent[0].at + timedelta(days=7)
    assert q.resets_at == first_free and q.reason == "waiting_for_reset"
    assert [r.id for r in q.expiring] == [1] and q.expiring_at == (first_free,)
    # 10 slots a run, 30 per 7 days: one run per 2 days 8 h keeps inside the window (later than the
    # first slots free up, so that is the next run).
    assert q.planned_interval == 7 * 86400 * 10 // 30
    assert q.next_run_at == spent[-1].at + timedelta(days=2, hours=8) > first_free
    assert "waits until 2026-12-09 19:00 UTC" in q.note
    later = plan_quota(
        ROLLING_7D, interval=3600, spent=spent, recent=spent, last_run_at=spent[-1].at, now=first_free
    )
    assert (later.used, later.left) == (20, 10)


def test_instagram_hashtag_slots_are_never_paced_and_say_what_is_free() -> None:
    # Slots taken once and reused: a run after them costs nothing, so the source keeps its interval
    # (even with all 30 taken), gets no wait, and the expiring slots are still reported.
    spent = runs((NOW - timedelta(days=6, hours=12), 10), (NOW - timedelta(hours=1), 20))
    q = plan_quota(
        INSTAGRAM,
        interval=60,
        spent=spent,
        recent=spent,
        last_run_at=spent[-1].at,
        now=NOW,
        slot_warning=86400,
    )
    assert not INSTAGRAM.paced and (q.used, q.left) == (30, 0)
    assert (q.planned_interval, q.reason, q.exhausted_at) == (60, "as_configured", None)
    assert q.next_run_at == spent[-1].at + timedelta(seconds=60) or q.next_run_at == NOW
    assert "0 of 30 hashtags free" in q.note and q.fits
    assert q.expiring_at == (spent[0].at + timedelta(days=7),)


def test_runs_that_made_no_call_do_not_count_as_a_runs_cost() -> None:
    measured = runs((NOW - timedelta(hours=2), 101), (NOW - timedelta(hours=1), 101))
    idle = [SpendRow(9, 1, NOW, NOW, 0, 0)]
    q = plan_quota(YOUTUBE, interval=900, spent=measured, recent=idle + measured, last_run_at=NOW, now=NOW)
    assert q.per_run == 101.0


def test_spend_refuses_a_call_the_allowance_has_no_room_for() -> None:
    spend = Spend(allowance=150)
    spend.charge(100)
    with pytest.raises(QuotaExhausted, match="no room for a call costing 100"):
        spend.charge(100)
    assert (spend.units, spend.calls) == (100, 1)
    spend.charge(0)  # billed by the answer: needs one unit left
    spend.bill(50)
    with pytest.raises(QuotaExhausted):
        spend.charge(0)
    assert (spend.units, spend.calls) == (150, 2)
    unlimited = Spend()
    unlimited.charge(10_000)
    assert unlimited.units == 10_000


def test_durations_read_like_intervals() -> None:
    assert [describe_duration(s) for s in (45, 900, 2666, 5400, 90061, 86400)] == [
        "45s",
        "15m",
        "44m26s",
        "1h30m",
        "1d1h",
        "1d",
    ]
