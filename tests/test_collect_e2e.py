"""End to end: settings -> scheduler jobs -> real client libraries -> simulator -> store.

Includes the crash test: a child process killed with SIGKILL in the middle of a
collection, then restarted, stores every post exactly once (compared with an
uninterrupted run over the same world).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tesoro.jobs.scheduler import build_scheduler
from tesoro.jobs.tasks import collect_once
from tesoro.settings import load_settings
from tesoro.simulator.demo import demo_environment, demo_settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import PLATFORMS, VIDEO_PLATFORMS
from tesoro.simulator.server import SimulatorServer
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts
from tesoro.store.sources import list_sources
from tesoro.store.tables import Post
from worlds.collect import collect_process, stored_posts


def test_collect_once_from_every_platform_then_only_new_posts(sim: SimulatorServer, tmp_path: Path) -> None:
    sim.state.world.grow(40, platforms=(*PLATFORMS, *VIDEO_PLATFORMS))
    settings = demo_settings(tmp_path, sim.base_url)
    environ = demo_environment({}, sim.state.credentials, sim.base_url)
    engine = open_store(settings)

    first = collect_once(engine, settings, environ)
    assert [r.status for r in first] == ["ok"] * 9, [r.error for r in first]
    platforms = ("x", "reddit", "bluesky", "mastodon", "instagram", "threads", "youtube", "tiktok")
    with session_scope(engine) as session:
        per_platform = {p: count_posts(session, platform=p) for p in platforms}
        assert all(n > 0 for n in per_platform.values()), per_platform
        assert {s.health for s in list_sources(session)} == {"ok"}
        brand_ids = set(session.execute(select(Post.brand_id)).scalars())
        assert len(brand_ids) == 1 and None not in brand_ids, "posts are attached to the query's brand"

    second = collect_once(engine, settings, environ)
    assert sum(r.inserted for r in second) == 0, "nothing new in the world, nothing new in the store"

    sim.state.world.grow(10, platforms=(*PLATFORMS, *VIDEO_PLATFORMS))
    third = collect_once(engine, settings, environ)
    assert sum(r.inserted for r in third) > 0
    with session_scope(engine) as session:
        assert sum(count_posts(session, platform=p) for p in per_platform) == sum(
            per_platform.values()
        ) + sum(r.inserted for r in third)


def test_a_rate_limited_source_does_not_block_the_others(sim: SimulatorServer, tmp_path: Path) -> None:
    sim.state.world.grow(20)
    settings = demo_settings(tmp_path, sim.base_url)
    engine = open_store(settings)
    sim.state.faults.inject("x.search", Fault.RATE_LIMIT)
    results = {
        r.source: r
        for r in collect_once(engine, settings, demo_environment({}, sim.state.credentials, sim.base_url))
    }
    assert results["demo-x"].status == "rate_limited"
    assert all(results[name].status == "ok" for name in ("demo-reddit", "demo-bluesky", "demo-mastodon"))
    with session_scope(engine) as session:
        health = {s.name: (s.health, s.next_allowed_at) for s in list_sources(session)}
    assert health["demo-x"][0] == "degraded" and health["demo-x"][1] is not None
    assert health["demo-bluesky"] == ("ok", None)


def test_missing_secret_marks_the_source_failing_with_the_variable_name(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    settings = demo_settings(tmp_path, sim.base_url)
    engine = open_store(settings)
    environ = demo_environment({}, sim.state.credentials, sim.base_url)
    del environ["TESORO_DEMO_X_BEARER"]
    results = {r.source: r for r in collect_once(engine, settings, environ, only="demo-x")}
    assert results["demo-x"].status == "failed"
    assert "TESORO_DEMO_X_BEARER" in (results["demo-x"].error or "")


def test_scheduler_has_one_coalesced_job_per_enabled_source(sim: SimulatorServer, tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, sim.base_url)
    engine = open_store(settings)
    scheduler = build_scheduler(engine, settings, {})
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "collect:demo-x",
        "collect:demo-tiktok-mentions",
        "collect:demo-reddit",
        "collect:demo-bluesky",
        "collect:demo-mastodon",
        "collect:demo-instagram",
        "collect:demo-threads",
        "collect:demo-youtube",
        "collect:demo-tiktok",
        "score",
        "alerts:evaluate",
        "alerts:deliver",
        "ror-refresh",
        "curator:train",
        "curator:rerank",
        "sessions:purge",
        "gallery:recheck",
        "media",
        "rights",
        "gallery:copies",
    }
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
    assert jobs["score"].trigger.interval.total_seconds() == 60
    # Deleted posts leave the gallery: the platforms are asked daily by default (issue 17).
    assert jobs["gallery:recheck"].trigger.interval.total_seconds() == 86400
    off = settings.model_copy(update={"gallery": settings.gallery.model_copy(update={"recheck_interval": 0})})
    assert "gallery:recheck" not in {job.id for job in build_scheduler(engine, off, {}).get_jobs()}
    assert jobs["rights"].trigger.interval.total_seconds() == settings.rights.interval_s
    no_rights = settings.model_copy(update={"rights": settings.rights.model_copy(update={"interval_s": 0})})
    assert "rights" not in {job.id for job in build_scheduler(engine, no_rights, {}).get_jobs()}
    assert jobs["collect:demo-x"].trigger.interval.total_seconds() == 15
    assert jobs["collect:demo-x"].trigger.jitter >= 1
    # Reading the ROR leaderboard never computes it: the scheduler stores it when it starts, then hourly.
    assert jobs["ror-refresh"].next_run_time <= datetime.now(UTC)
    assert jobs["ror-refresh"].trigger.interval.total_seconds() == 3600


CRASH_CONFIG = """
[database]
path = "{db}"

[[brands]]
name = "Andes Outdoor"

[[queries]]
name = "andes"
brand = "Andes Outdoor"
query = "andes OR andesoutdoor OR cumbre OR nube OR volcan"

[[sources]]
name = "crash-x"
platform = "x"
query = "andes"
base_url = "{url}"
page_size = 10
credentials = {{ bearer_token_env = "CRASH_X_TOKEN" }}

[[sources]]
name = "crash-mastodon"
platform = "mastodon"
query = "andes"
base_url = "{url}/mastodon"
page_size = 10
credentials = {{ access_token_env = "CRASH_MASTODON_TOKEN" }}
"""


def _collect_process(config: Path, sim: SimulatorServer) -> subprocess.Popen[bytes]:
    creds = sim.state.credentials
    return collect_process(
        config, {"CRASH_X_TOKEN": creds.x_bearer, "CRASH_MASTODON_TOKEN": creds.mastodon_token}
    )


@pytest.mark.timeout(180)
def test_kill_9_mid_collection_then_restart_loses_and_duplicates_nothing(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    sim.state.world.grow(600)
    crashed_db, clean_db = tmp_path / "crashed.db", tmp_path / "clean.db"
    crashed_cfg, clean_cfg = tmp_path / "crashed.toml", tmp_path / "clean.toml"
    crashed_cfg.write_text(CRASH_CONFIG.format(db=crashed_db, url=sim.base_url))
    clean_cfg.write_text(CRASH_CONFIG.format(db=clean_db, url=sim.base_url))

    # An uninterrupted run over the same (now frozen) world is the reference: the same collection in
    # this process (what `tesoro collect --once` runs), without paying for a third process start-up.
    clean = load_settings(clean_cfg)
    environ = {
        "CRASH_X_TOKEN": sim.state.credentials.x_bearer,
        "CRASH_MASTODON_TOKEN": sim.state.credentials.mastodon_token,
    }
    clean_engine = open_store(clean)
    reference = collect_once(clean_engine, clean, environ)
    clean_engine.dispose()
    assert [r.status for r in reference] == ["ok", "ok"], [r.error for r in reference]
    expected = stored_posts(clean_db)
    assert len(expected) > 200

    child = _collect_process(crashed_cfg, sim)
    deadline = time.monotonic() + 120
    while len(stored_posts(crashed_db)) < len(expected) // 4:
        assert child.poll() is None, "the child finished before it could be killed: make the world bigger"
        assert time.monotonic() < deadline
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.02)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    partial = stored_posts(crashed_db)
    assert 0 < len(partial) < len(expected), "killed in the middle"

    restarted = _collect_process(crashed_cfg, sim)
    assert restarted.wait(timeout=150) == 0, restarted.stderr.read() if restarted.stderr else ""
    final = stored_posts(crashed_db)
    assert len(final) == len(set(final)), "no duplicates"
    assert sorted(final) == sorted(expected), "nothing lost: same posts as the uninterrupted run"


def test_file_source_reads_new_rows_incrementally(tmp_path: Path) -> None:

    export = tmp_path / "export.jsonl"
    export.write_text(
        '{"id": "1", "text": "a", "created_at": "2026-11-01T00:00:00Z", "author_handle": "ana"}\n{broken\n'
    )
    config = tmp_path / "t.toml"
    config.write_text(
        '[database]\npath = "t.db"\n[[sources]]\nname = "dump"\nplatform = "file"\n'
        'path = "export.jsonl"\ninterval = "1h"\n'
    )
    settings = load_settings(config, environ={})
    engine = open_store(settings)
    assert [r.inserted for r in collect_once(engine, settings, {})] == [1]
    with export.open("a") as handle:
        handle.write(
            '{"id": "2", "text": "b", "created_at": "2026-11-02T00:00:00Z", "author_handle": "bo"}\n'
        )
    again = collect_once(engine, settings, {})
    assert [(r.status, r.inserted, r.updated) for r in again] == [("ok", 1, 0)], "only the appended row"
