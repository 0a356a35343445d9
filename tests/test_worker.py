"""The scaled-out mode against the real Redis: the scheduler enqueues, an RQ worker collects."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import SimpleWorker
from rq.job import Job

from tesoro.jobs.scheduler import build_scheduler
from tesoro.jobs.worker import enqueue_collect, enqueue_media, enqueue_score, job_id, make_queue
from tesoro.settings import Settings, load_settings
from tesoro.simulator.server import SimulatorServer
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts

pytestmark = pytest.mark.redis

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis() -> Iterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except RedisConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def settings(
    tmp_path: Path, sim: SimulatorServer, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    name = f"tesoro-test-{uuid.uuid4().hex[:10]}"
    config = tmp_path / "scaled.toml"
    config.write_text(f"""
[database]
path = "scaled.db"

[queue]
backend = "rq"
redis_url = "{REDIS_URL}"
name = "{name}"

[[brands]]
name = "Andes Outdoor"

[[queries]]
name = "andes"
brand = "Andes Outdoor"
query = "andes OR andesoutdoor OR cumbre OR nube OR volcan"

[[sources]]
name = "{name}-x"
platform = "x"
query = "andes"
base_url = "{sim.base_url}"
credentials = {{ bearer_token_env = "SCALED_X_TOKEN" }}
""")
    monkeypatch.setenv("SCALED_X_TOKEN", sim.state.credentials.x_bearer)
    loaded = load_settings(config, environ={})
    had_clean_groups = bool(redis.exists("rq:clean_groups"))
    yield loaded
    if not had_clean_groups:
        redis.delete("rq:clean_groups")  # RQ's bookkeeping key, created by our workers
    for key in redis.scan_iter(f"*{name}*"):
        redis.delete(key)
    redis.srem("rq:queues", f"rq:queue:{name}")
    for worker_set in redis.scan_iter("rq:workers*"):
        for member in redis.smembers(worker_set):
            if name.encode() in member:
                redis.srem(worker_set, member)


def test_enqueued_collection_runs_on_a_worker(settings: Settings, sim: SimulatorServer, redis: Redis) -> None:
    sim.state.world.grow(30)
    engine = open_store(settings)
    source = settings.sources[0].name
    queue = make_queue(settings, redis)

    job = enqueue_collect(queue, settings, source)
    assert job is not None
    assert enqueue_collect(queue, settings, source) is None, "never two queued collections of one source"
    with session_scope(engine) as session:
        assert count_posts(session) == 0, "the scheduler only enqueues"

    SimpleWorker([queue], connection=redis, name=f"{queue.name}-worker").work(
        burst=True, with_scheduler=False
    )
    finished = Job.fetch(job_id(queue.name, f"collect-{source}"), connection=redis)
    assert finished.is_finished, finished.latest_result()
    assert finished.return_value()["status"] == "ok"
    with session_scope(engine) as session:
        stored = count_posts(session)
    assert stored > 0 and stored == finished.return_value()["inserted"]
    stored_job = b"".join(redis.hgetall(f"rq:job:{job_id(queue.name, f'collect-{source}')}").values())
    assert sim.state.credentials.x_bearer.encode() not in stored_job, "no secret travels through Redis"

    sim.state.world.grow(5)
    again = enqueue_collect(queue, settings, source)
    assert again is not None, "a finished job does not block the next run"
    SimpleWorker([queue], connection=redis, name=f"{queue.name}-worker").work(
        burst=True, with_scheduler=False
    )
    assert Job.fetch(job_id(queue.name, f"collect-{source}"), connection=redis).return_value()["inserted"] > 0


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
    }
    collect, score = jobs[f"collect:{settings.sources[0].name}"], jobs["score"]
    assert collect.func is enqueue_collect and score.func is enqueue_score
    assert jobs["media"].func is enqueue_media
    collect.func(*collect.args)
    score.func(*score.args)
    score.func(*score.args)
    assert make_queue(settings, redis).count == 2, "one collection and one (not two) scoring pass queued"
