"""The scaled-out mode's world: the real Redis, a settings file with the RQ backend, and cleaning up.

Every test gets a queue name of its own (`tesoro-test-<random>`), and every Redis key Tesoro or RQ
makes for it carries that name, so tests running at once never see each other's jobs, and the
clean-up removes exactly what the test made.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tesoro.jobs.worker import SimpleJobWorker, make_queue
from tesoro.settings import Settings, load_settings

REDIS_URL = "redis://127.0.0.1:6379/0"


@contextmanager
def redis_client() -> Iterator[Redis]:
    """The local Redis; skips the test where none answers."""
    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except RedisConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    try:
        yield client
    finally:
        client.close()


def queue_name() -> str:
    return f"tesoro-test-{uuid.uuid4().hex[:10]}"


def write_settings(
    tmp_path: Path,
    name: str,
    *,
    base_url: str,
    queue: str = "",
    source: str = "",
    extra: str = "",
    database: str | None = None,
    environ: dict[str, str],
) -> Settings:
    """A settings file for the RQ backend on `name`, with one X source on the simulator at `base_url`.

    `queue` adds keys to `[queue]`, `source` to the source; `extra` appends sections; `database` is
    a store's URL (default: a new SQLite file beside the settings). Workers read the file, so it is
    written to disk (`settings.source_file`).
    """
    store = f'url = "{database}"' if database else 'path = "scaled.db"'
    config = tmp_path / "scaled.toml"
    config.write_text(
        f"""
[database]
{store}

[queue]
backend = "rq"
redis_url = "{REDIS_URL}"
name = "{name}"
{queue}

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
base_url = "{base_url}"
credentials = {{ bearer_token_env = "SCALED_X_TOKEN" }}
# Pro's million posts a month last at this pace: the quota plan never holds the second run back.
quota = {{ plan = "pro" }}
{source}
{extra}
""",
        encoding="utf-8",
    )
    return load_settings(config, environ=environ)


def clean(redis: Redis, name: str, *, had_clean_groups: bool) -> None:
    """Remove every key of the queue `name`, and its workers from RQ's sets."""
    if not had_clean_groups:
        redis.delete("rq:clean_groups")  # RQ's bookkeeping key, created by our workers
    for key in redis.scan_iter(f"*{name}*"):
        redis.delete(key)
    redis.srem("rq:queues", f"rq:queue:{name}")
    for worker_set in redis.scan_iter("rq:workers*"):
        for member in redis.smembers(worker_set):
            if name.encode() in member:
                redis.srem(worker_set, member)


class BurstWorker(SimpleJobWorker):
    """A worker in the test's process, without the command channel (pubsub) a long-lived worker listens
    on: at the end of a burst, redis-py 8 waits for that listener's 60 s poll to end (30 s and more
    per burst here whenever a job ran long enough for the listener to start polling)."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def work(settings: Settings, redis: Redis) -> None:
    """One worker in this process until the queue is empty."""
    queue = make_queue(settings, redis)
    BurstWorker([queue], connection=redis, name=f"{queue.name}-inproc").work(burst=True, with_scheduler=False)
