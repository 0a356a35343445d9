"""The media job in the scaled-out mode: the scheduler enqueues it on Redis, an RQ worker runs it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from tesoro.jobs.tasks import collect_source
from tesoro.jobs.worker import enqueue_job, make_queue
from tesoro.settings import load_settings
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.store.catalog import sync_catalog
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from tesoro.store.tables import MediaImage
from worlds.queue import work

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


def test_an_rq_worker_runs_the_media_job(tmp_path: Path, redis: Redis) -> None:
    name = f"tesoro-media-{uuid.uuid4().hex[:10]}"
    state = SimState()
    state.world.grow(20)
    with SimulatorServer(state, serve_media=True) as sim:
        host = f"127.0.0.1:{sim.port}"
        config = tmp_path / "scaled.toml"
        config.write_text(f"""
[database]
path = "scaled.db"

[queue]
backend = "rq"
redis_url = "{REDIS_URL}"
name = "{name}"

[gallery]
media_hosts = ["{host}"]

[media]
private_hosts = ["{host}"]

[[brands]]
name = "Andes Outdoor"

[[queries]]
name = "andes"
brand = "Andes Outdoor"
query = "andes OR andesoutdoor OR cumbre OR nube OR volcan"

[[sources]]
name = "{name}-mastodon"
platform = "mastodon"
query = "andes"
base_url = "{sim.base_url}/mastodon"
credentials = {{ access_token_env = "SCALED_MASTODON_TOKEN" }}
""")
        settings = load_settings(
            config, environ={"SCALED_MASTODON_TOKEN": sim.state.credentials.mastodon_token}
        )
        engine = open_store(settings)
        with session_scope(engine) as session:
            sync_catalog(session, settings)
        environ = {"SCALED_MASTODON_TOKEN": sim.state.credentials.mastodon_token}
        assert collect_source(engine, settings, f"{name}-mastodon", environ).status == "ok"
        queue = make_queue(settings, redis)
        try:
            job = enqueue_job(queue, settings, "media")
            assert job is not None
            assert enqueue_job(queue, settings, "media") is None, "one media pass queued, not two"
            work(settings, redis)
            job.refresh()
            assert job.is_finished, job.latest_result()
            result = job.return_value()["result"]
            assert result["tried"] > 0 and result["processed"] > 0
            with session_scope(engine) as session:
                rows = list(session.execute(select(MediaImage)).scalars())
            assert len(rows) == result["tried"]
        finally:
            for key in redis.scan_iter(f"*{name}*"):
                redis.delete(key)
            redis.srem("rq:queues", f"rq:queue:{name}")
            for worker_set in redis.scan_iter("rq:workers*"):
                for member in redis.smembers(worker_set):
                    if name.encode() in member:
                        redis.srem(worker_set, member)
