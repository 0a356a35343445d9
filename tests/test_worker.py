"""The scaled-out mode against the real Redis: the scheduler enqueues, an RQ worker collects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tesoro.jobs.scheduler import build_scheduler
from tesoro.jobs.worker import KINDS, enqueue_job, make_queue
from tesoro.settings import Settings
from tesoro.simulator.server import SimulatorServer
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts
from worlds.queue import clean, queue_name, redis_client, work, write_settings

pytestmark = pytest.mark.redis


@pytest.fixture
def redis() -> Iterator[Redis]:
    with redis_client() as client:
        yield client


@pytest.fixture
def settings(
    tmp_path: Path, sim: SimulatorServer, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    name = queue_name()
    monkeypatch.setenv("SCALED_X_TOKEN", sim.state.credentials.x_bearer)
    loaded = write_settings(tmp_path, name, base_url=sim.base_url, environ={})
    had_clean_groups = bool(redis.exists("rq:clean_groups"))
    yield loaded
    clean(redis, name, had_clean_groups=had_clean_groups)


def test_enqueued_collection_runs_on_a_worker(settings: Settings, sim: SimulatorServer, redis: Redis) -> None:
    sim.state.world.grow(30)
    engine = open_store(settings)
    source = settings.sources[0].name
    queue = make_queue(settings, redis)

    job = enqueue_job(queue, settings, "collect", source)
    assert job is not None
    assert enqueue_job(queue, settings, "collect", source) is None, "never two collections of a source queued"
    with session_scope(engine) as session:
        assert count_posts(session) == 0, "the scheduler only enqueues"

    work(settings, redis)
    job.refresh()
    assert job.is_finished, job.latest_result()
    value = job.return_value()
    assert value["job"] == f"collect:{source}" and value["outcome"] == "finished"
    assert value["result"]["status"] == "ok"
    with session_scope(engine) as session:
        stored = count_posts(session)
    assert stored > 0 and stored == value["result"]["inserted"]
    stored_job = b"".join(redis.hgetall(f"rq:job:{job.id}").values())
    assert sim.state.credentials.x_bearer.encode() not in stored_job, "no secret travels through Redis"

    sim.state.world.grow(5)
    again = enqueue_job(queue, settings, "collect", source)
    assert again is not None, "a finished job does not block the next run"
    work(settings, redis)
    again.refresh()
    assert again.return_value()["result"]["inserted"] > 0


def test_scheduler_in_rq_mode_enqueues(settings: Settings, redis: Redis) -> None:
    scheduler = build_scheduler(open_store(settings), settings, {})
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        f"collect:{settings.sources[0].name}",
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
    }
    assert all(job.func.__wrapped__ is enqueue_job for job in jobs.values()), "every job runs on the workers"
    for job in jobs.values():
        assert job.args[2] in KINDS, f"{job.id}: no worker knows how to run it"
        assert settings.queue.timeouts.of(job.id) > 0
    collect, score = jobs[f"collect:{settings.sources[0].name}"], jobs["score"]
    assert collect.args[2:] == ("collect", settings.sources[0].name)
    assert score.args[2:] == ("score", None)
    collect.func(*collect.args)
    score.func(*score.args)
    score.func(*score.args)
    assert make_queue(settings, redis).count == 2, "one collection and one (not two) scoring pass queued"
