"""Quota-aware scheduling end to end: the real X client (tweepy) against the simulator, on both stores,
with a fake clock. The plan stretches the interval to stay inside the budget (never below the
configured one) and says why; a run that spends the budget stops cleanly and resumes after the reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from tesoro.collector.quota import source_quota
from tesoro.jobs.scheduler import build_scheduler, collect_on_plan
from tesoro.jobs.tasks import collect_source
from tesoro.settings import Settings
from tesoro.simulator.demo import demo_environment, demo_settings
from tesoro.simulator.server import SimulatorServer
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts
from tesoro.store.sources import get_source
from tesoro.store.tables import Source


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def x_settings(sim: SimulatorServer, tmp_path: Path, quota: dict[str, Any], interval: int = 900) -> Settings:
    settings = demo_settings(tmp_path, sim.base_url)
    x = settings.source("demo-x").model_validate(
        {**settings.source("demo-x").model_dump(), "page_size": 10, "interval": interval, "quota": quota}
    )
    return settings.model_copy(update={"sources": [x]})


def setup(sim: SimulatorServer, engine: Engine, settings: Settings) -> dict[str, str]:
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    return demo_environment({}, sim.state.credentials, sim.base_url)


def source(engine: Engine) -> Source:
    with session_scope(engine) as session:
        row = get_source(session, "demo-x")
        assert row is not None
        session.expunge(row)
        return row


def test_the_plan_stretches_the_interval_to_stay_in_the_budget(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    sim.state.world.grow(40)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    reset = now + timedelta(hours=12)
    quota = {"limit": 1_000, "window": "day", "reset_time": reset.strftime("%H:%M")}
    settings = x_settings(sim, tmp_path, quota)
    environ = setup(sim, engine, settings)
    clock = Clock(now)

    first = collect_source(engine, settings, "demo-x", environ, clock=clock)
    # X bills every post it returns, the ones the local query check then drops too.
    assert first.status == "ok" and first.units == first.inserted + first.updated + first.filtered_out > 0
    row = source(engine)
    # 12 h to the reset at 15 minutes is 48 runs: more than what is left affords at this run's cost.
    planned = (row.planned_run_at - now).total_seconds()  # type: ignore[operator]
    expected = 12 * 3600 * first.units / (1_000 - first.units)
    assert abs(planned - expected) < 60 + 1, (planned, expected)
    assert planned > 900
    assert row.plan_note is not None and row.plan_note.startswith("stretched from 15m to ")

    clock.at = now + timedelta(minutes=15)  # the configured interval: held back
    held = collect_source(engine, settings, "demo-x", environ, clock=clock)
    assert held.status == "skipped" and held.error is not None and "quota plan: stretched" in held.error
    assert held.units == 0

    clock.at = row.planned_run_at  # type: ignore[assignment]
    sim.state.world.grow(5)
    again = collect_source(engine, settings, "demo-x", environ, clock=clock)
    assert again.status == "ok"


def test_a_budget_that_fits_runs_at_the_configured_interval(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    sim.state.world.grow(20)
    now = datetime.now(UTC)
    settings = x_settings(sim, tmp_path, {"plan": "pro"}, interval=3600)
    environ = setup(sim, engine, settings)
    assert collect_source(engine, settings, "demo-x", environ, clock=Clock(now)).status == "ok"
    row = source(engine)
    assert row.planned_run_at == now + timedelta(seconds=3600)
    assert row.plan_note == "every 1h as configured: the budget lasts"


def test_spending_the_budget_stops_the_run_cleanly_and_it_resumes_after_the_reset(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    sim.state.world.grow(60)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    reset = now + timedelta(hours=2)
    quota = {"limit": 30, "window": "day", "reset_time": reset.strftime("%H:%M")}
    settings = x_settings(sim, tmp_path, quota)
    environ = setup(sim, engine, settings)
    clock = Clock(now)

    first = collect_source(engine, settings, "demo-x", environ, clock=clock)
    # X bills the posts it returns, 10 a page: three pages spend the 30; the fourth call finds no
    # room and is never made.
    assert first.status == "quota_exhausted", first.error
    assert (first.units, first.calls, first.pages) == (30, 3, 3)
    row = source(engine)
    assert row.health == "ok" and row.next_allowed_at == reset and row.planned_run_at == reset
    assert row.plan_note is not None and "the 30 posts read are spent" in row.plan_note
    with session_scope(engine) as session:
        assert count_posts(session, platform="x") == first.inserted > 0

    clock.at = now + timedelta(minutes=30)
    waiting = collect_source(engine, settings, "demo-x", environ, clock=clock)
    assert waiting.status == "skipped" and "waits until" in (waiting.error or "")

    # After the reset the new day's 30 are spread over it: one run of 30 a day.
    clock.at = reset + timedelta(seconds=1)
    spread = collect_source(engine, settings, "demo-x", environ, clock=clock)
    assert spread.status == "skipped" and "stretched from 15m to 23h59m" in (spread.error or "")
    planned = source(engine).planned_run_at
    assert planned is not None and reset < planned
    assert abs((planned - (now + timedelta(days=1))).total_seconds()) < 2

    clock.at = planned
    resumed = collect_source(engine, settings, "demo-x", environ, clock=clock)
    # From the saved cursor: what is left of the world (30 posts) fits the new day's 30.
    assert resumed.status in ("ok", "quota_exhausted") and resumed.inserted > 0 and resumed.units <= 30
    with session_scope(engine) as session:
        assert count_posts(session, platform="x") == first.inserted + resumed.inserted, "nothing twice"


def test_the_embedded_scheduler_moves_a_stretched_source_to_its_planned_run(
    sim: SimulatorServer, sqlite_engine: Engine, tmp_path: Path
) -> None:
    sim.state.world.grow(20)
    settings = x_settings(sim, tmp_path, {"limit": 60, "window": "rolling_24h"})
    environ = setup(sim, sqlite_engine, settings)
    scheduler = build_scheduler(sqlite_engine, settings, environ)
    job = scheduler.get_job("collect:demo-x")
    assert job is not None and job.func.__wrapped__ is collect_on_plan
    before = job.next_run_time
    result = job.func(*job.args)
    assert result.status == "ok" and result.units > 0
    planned = source(sqlite_engine).planned_run_at
    assert planned is not None and planned > before + timedelta(seconds=900)
    moved = scheduler.get_job("collect:demo-x")
    assert moved is not None and moved.next_run_time == planned


def test_reddit_charges_each_listing_request_against_its_minute(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    sim.state.world.grow(30)
    settings = demo_settings(tmp_path, sim.base_url)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    environ = demo_environment({}, sim.state.credentials, sim.base_url)
    now = datetime.now(UTC)
    result = collect_source(engine, settings, "demo-reddit", environ, clock=Clock(now))
    assert result.status == "ok" and result.calls > 0
    assert result.units == result.calls, "one unit per request"
    with session_scope(engine) as session:
        row = get_source(session, "demo-reddit")
        assert row is not None
        quota = source_quota(session, settings.source("demo-reddit"), row, now=now)
    assert quota is not None and (quota.budget.unit, quota.budget.limit) == ("requests", 100)
    assert quota.used == result.units and quota.left == 100 - result.units
    assert quota.forecast.endswith("spent units free up as they leave its window")
