"""Every scheduled job on the RQ workers, against the real Redis: never twice at once, timeouts, retries,
and a worker killed with SIGKILL mid-job whose job another worker then finishes from the store's state.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job
from sqlalchemy.engine import Engine

from tesoro.jobs.scheduler import build_scheduler
from tesoro.jobs.tasks import collect_source
from tesoro.jobs.worker import enqueue_job, make_queue, run_job
from tesoro.ops.joblock import JobLedger
from tesoro.ops.metrics import render
from tesoro.settings import ConfigError, DatabaseSettings, Settings, load_settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.server import SimulatorServer
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts
from tesoro.store.sources import get_source
from worlds.common import eventually
from worlds.queue import clean, queue_name, redis_client, work, write_settings

pytestmark = pytest.mark.redis

SRC = Path(__file__).parents[2] / "src"
Make = Callable[..., Settings]


@pytest.fixture
def redis() -> Iterator[Redis]:
    with redis_client() as client:
        yield client


@pytest.fixture
def make(
    tmp_path: Path, sim: SimulatorServer, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Make]:
    """Settings for a queue of this test's own (`queue`, `source`, `extra`: see `write_settings`)."""
    name = queue_name()
    monkeypatch.setenv("SCALED_X_TOKEN", sim.state.credentials.x_bearer)
    had_clean_groups = bool(redis.exists("rq:clean_groups"))

    def settings(**parts: str) -> Settings:
        return write_settings(tmp_path, name, base_url=sim.base_url, environ={}, **parts)

    yield settings
    clean(redis, name, had_clean_groups=had_clean_groups)


def _posts(settings: Settings) -> int:
    engine = open_store(settings)
    try:
        with session_scope(engine) as session:
            return count_posts(session)
    finally:
        engine.dispose()


# About 20 s on a loaded 2-core machine (the encoder loads for scoring and training): `make test-all`
# runs it; the default suite keeps the skip, timeout, kill -9 and two-worker tests.
@pytest.mark.slow
def test_every_scheduled_job_runs_on_the_workers(make: Make, sim: SimulatorServer, redis: Redis) -> None:
    settings = make(extra='[gallery]\ncopies = true\ncopies_dir = "kept"\ncopies_interval = "2m"\n')
    sim.state.world.grow(20)
    engine = open_store(settings)
    inline = settings.model_copy(update={"queue": settings.queue.model_copy(update={"backend": "inline"})})
    scheduler = build_scheduler(engine, settings, {})
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.id for job in build_scheduler(engine, inline, {}).get_jobs()}, (
        "the same jobs in both modes"
    )
    assert {"gallery:copies", "ror-refresh", "media", "rights", "score"} <= set(jobs)
    source = f"collect:{settings.sources[0].name}"
    # The collection first, so that scoring and media find its posts.
    queued = {name: jobs[name].func(*jobs[name].args) for name in [source, *sorted(set(jobs) - {source})]}
    assert all(isinstance(job, Job) for job in queued.values()), queued
    assert make_queue(settings, redis).count == len(jobs)

    work(settings, redis)

    for name, job in queued.items():
        job.refresh()
        assert job.is_finished, (name, job.latest_result())
        assert job.return_value()["job"] == name and job.return_value()["outcome"] == "finished"
    assert queued[source].return_value()["result"]["inserted"] == _posts(settings) > 0
    assert queued["score"].return_value()["result"] == _posts(settings), "the collected posts were scored"
    counts = JobLedger(redis, settings.queue.name).counts()
    assert {name: counts.get((name, "finished")) for name in jobs} == dict.fromkeys(jobs, 1)
    assert make_queue(settings, redis).count == 0


def test_alerts_are_evaluated_and_delivered_on_the_workers_once(
    make: Make, sim: SimulatorServer, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox is the source of truth: a second evaluation and delivery on the workers sends nothing."""
    monkeypatch.setenv(
        "SLACK_WEBHOOK_URL", f"{sim.base_url}/slack/hooks/{sim.state.credentials.slack_webhook_path}"
    )
    settings = make(
        extra='[slack]\nwebhook_url_env = "SLACK_WEBHOOK_URL"\n\n'
        '[[alerts]]\nname = "mentions"\nkind = "new_mention"\nquery = "andes"\n'
    )
    queue = make_queue(settings, redis)
    source = settings.sources[0].name

    def cycle(*kinds: str) -> dict[str, dict[str, object]]:
        jobs = {
            kind: enqueue_job(queue, settings, kind, source if kind == "collect" else None) for kind in kinds
        }
        work(settings, redis)
        out = {}
        for kind, job in jobs.items():
            assert job is not None
            job.refresh()
            assert job.return_value()["outcome"] == "finished", (kind, job.latest_result())
            out[kind] = job.return_value()["result"]
        return out

    cycle("alerts:evaluate")  # the rule starts watching from now
    sim.state.world.grow(8)
    first = cycle("collect", "alerts:evaluate", "alerts:deliver")
    assert first["collect"]["inserted"] > 0

    def alerts(report: object) -> int:
        assert isinstance(report, dict)
        return sum(outcome["alerts"] for outcome in report["outcomes"])

    assert alerts(first["alerts:evaluate"]) == first["collect"]["inserted"]
    assert first["alerts:deliver"]["delivered"] == first["collect"]["inserted"]
    sent = len(sim.state.slack_messages)
    assert sent > 0
    again = cycle("collect", "alerts:evaluate", "alerts:deliver")
    assert alerts(again["alerts:evaluate"]) == 0 and again["alerts:deliver"]["claimed"] == 0
    assert len(sim.state.slack_messages) == sent, "nothing delivered twice"


def test_a_job_that_runs_is_skipped_and_counted(make: Make, redis: Redis) -> None:
    settings = make()
    queue = make_queue(settings, redis)
    ledger = JobLedger(redis, settings.queue.name)
    elsewhere = ledger.hold("sessions:purge", 30)  # a worker somewhere runs the purge
    assert elsewhere.acquire()
    try:
        assert enqueue_job(queue, settings, "sessions:purge") is None, "not queued behind the running one"
        assert queue.count == 0
        # A run that reached the queue anyway (a retry, say) does nothing when a worker takes it.
        stray = queue.enqueue(run_job, str(settings.source_file), "sessions:purge", None)
        work(settings, redis)
        stray.refresh()
        assert stray.return_value() == {"job": "sessions:purge", "outcome": "skipped_running", "result": None}
        assert ledger.holder("sessions:purge") == elsewhere.token, "the running one keeps its hold"
    finally:
        elsewhere.release()
    assert ledger.counts()[("sessions:purge", "skipped_running")] == 2

    first = enqueue_job(queue, settings, "sessions:purge")
    assert first is not None, "once it ended, the job is queued again"
    assert enqueue_job(queue, settings, "sessions:purge") is None, "one waiting run, not two"
    work(settings, redis)
    first.refresh()
    assert first.return_value()["outcome"] == "finished"
    assert not ledger.running("sessions:purge"), "the hold ends with the run"
    counts = ledger.counts()
    assert counts[("sessions:purge", "skipped_queued")] == 1 and counts[("sessions:purge", "finished")] == 1

    scrape = render(open_store(settings), settings, redis=redis).decode()
    assert 'tesoro_worker_jobs_total{job="sessions:purge",outcome="skipped_running"} 2.0' in scrape
    assert 'tesoro_worker_jobs_total{job="sessions:purge",outcome="finished"} 1.0' in scrape
    assert 'tesoro_worker_job_seconds_total{job="sessions:purge"}' in scrape


def test_job_timeouts_read_durations_and_refuse_mistakes(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[queue.timeouts]\ncollect = "20m"\nscore = 90\n', encoding="utf-8")
    timeouts = load_settings(config, environ={}).queue.timeouts
    assert timeouts.of("collect:x-mentions") == 1200 and timeouts.of("score") == 90
    assert timeouts.of("ror-refresh") == 1800, "the default where the file says nothing"
    for bad, reason in (
        ('colect = "20m"', "queue.timeouts.colect: unknown key"),
        ('collect = "soon"', "'soon' is not a duration"),
        ("collect = 0", "must be at least 1 second"),
    ):
        config.write_text(f"[queue.timeouts]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=reason):
            load_settings(config, environ={})


def test_mistakes_are_refused_with_the_reason(make: Make, redis: Redis, tmp_path: Path) -> None:
    settings = make()
    queue = make_queue(settings, redis)
    with pytest.raises(ValueError, match="no scheduled job is called 'colect'"):
        enqueue_job(queue, settings, "colect", settings.sources[0].name)
    with pytest.raises(ValueError, match="only a collection, names its source"):
        enqueue_job(queue, settings, "collect")
    with pytest.raises(ValueError, match="only a collection, names its source"):
        enqueue_job(queue, settings, "score", settings.sources[0].name)
    unfiled = Settings.model_validate({"data_dir": str(tmp_path), "queue": {"backend": "rq"}})
    with pytest.raises(ValueError, match="needs a settings file"):
        enqueue_job(queue, unfiled, "score")
    with pytest.raises(ValueError, match="needs a settings file"):
        build_scheduler(open_store(settings), unfiled, {})
    assert queue.count == 0
    with pytest.raises(ValueError, match="no scheduled job is called 'nope'"):
        run_job(str(settings.source_file), "nope")
    # A collection queued before its source left the settings does nothing, and says why.
    gone = run_job(str(settings.source_file), "collect", "gone-source")
    assert gone["outcome"] == "finished" and gone["result"]["status"] == "skipped"
    assert "not an enabled source in the settings" in gone["result"]["error"]
    assert not JobLedger(redis, settings.queue.name).running("collect:gone-source")


def test_a_job_past_its_timeout_is_stopped_and_retried_from_the_store(
    make: Make, sim: SimulatorServer, redis: Redis
) -> None:
    """The first run hangs on the platform past `timeouts.collect`; the retry collects everything.

    The runner catches `Exception` around a page (a collector bug must not stop the scheduler): the
    timeout gets through it, so the run really stops, and its hold is released for the retry.
    """
    settings = make(
        queue="retries = 1\nretry_after_s = 0\ntimeouts = { collect = 2 }", source="timeout_s = 30"
    )
    sim.state.timeout_hold_s = 6
    sim.state.world.grow(12)
    sim.state.faults.inject("x.search", Fault.TIMEOUT, times=1)
    name = f"collect:{settings.sources[0].name}"
    job = enqueue_job(make_queue(settings, redis), settings, "collect", settings.sources[0].name)
    assert job is not None and job.timeout == 2
    started = time.monotonic()

    work(settings, redis)

    assert time.monotonic() - started < 6, "the hung run was stopped, not waited for"
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert job.return_value()["result"]["inserted"] == _posts(settings) > 0, "the retry collected it all"
    counts = JobLedger(redis, settings.queue.name).counts()
    assert counts[(name, "timed_out")] == 1 and counts[(name, "finished")] == 1
    assert job.retries_left == 0, "the one retry was used"


# No scoring job: a forking worker would first import the model libraries for it (20-40 s here).
_NO_SCORING = '[models]\nscore_interval = "0"\n'


def _worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`tesoro worker` in a process of its own (forking: each job in a work horse)."""
    assert settings.source_file is not None
    return subprocess.Popen(
        [sys.executable, "-m", "tesoro", "worker", "--config", str(settings.source_file)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        env={**os.environ, "PYTHONPATH": str(SRC)},
        start_new_session=True,
    )


def _kill_9(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its work horses (each in a process group of its own), as a dying machine."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    proc.send_signal(signal.SIGKILL)
    for child in children:
        with contextlib.suppress(ProcessLookupError):  # the horse had ended
            os.kill(int(child), signal.SIGKILL)
    proc.wait(timeout=30)


def _until(what: Callable[[], bool], timeout: float, message: str, *, log: Path | None = None) -> None:
    """`eventually`, with the worker's log in the failure when there is one."""
    try:
        eventually(what, timeout=timeout, message=message)
    except AssertionError:
        raise AssertionError(message + (f"; the worker's log:\n{log.read_text()}" if log else "")) from None


def test_a_worker_killed_mid_job_leaves_it_to_another_worker(
    make: Make,
    sim: SimulatorServer,
    redis: Redis,
    tmp_path: Path,
    engine: Engine,
    migrated_sqlite: Callable[[Path], Path],
) -> None:
    """On SQLite and on PostgreSQL (the cluster's store)."""
    settings = make(
        queue="lock_ttl_s = 2\nretries = 0",
        source="page_size = 10\ntimeout_s = 60",
        database=engine.url.render_as_string(hide_password=False),
        extra=_NO_SCORING,
    )
    source = settings.sources[0].name
    name = f"collect:{source}"
    sim.state.timeout_hold_s = 5  # longer than it takes to kill the worker
    sim.state.world.grow(30)
    # Two pages of ten arrive, then the platform hangs on the third: the worker dies there.
    sim.state.faults.inject("x.search", Fault.TIMEOUT, times=1, after=2)
    queue = make_queue(settings, redis)
    ledger = JobLedger(redis, settings.queue.name)
    assert enqueue_job(queue, settings, "collect", source) is not None
    worker = _worker(settings, tmp_path / "worker.log")
    try:
        log = tmp_path / "worker.log"
        _until(lambda: sim.state.faults.calls["x.search"] == 3, 90, "the third page was never asked", log=log)
        before = _posts(settings)
        assert before > 0 and ledger.running(name)
        _kill_9(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)

    # The dead worker's hold outlives it until its expiry: the next schedule is skipped, counted ...
    assert enqueue_job(queue, settings, "collect", source) is None
    assert ledger.counts()[(name, "skipped_running")] == 1
    # ... and the hold expires within lock_ttl_s, since nobody renews it.
    ttl = settings.queue.lock_ttl_s
    _until(lambda: not ledger.running(name), 2 * ttl + 1, "the dead worker's hold stayed")
    again = enqueue_job(queue, settings, "collect", source)
    assert again is not None

    work(settings, redis)  # another worker

    again.refresh()
    result = again.return_value()["result"]
    assert result["status"] == "ok"
    assert result["pages"] == 1, "the run went on from the cursor the dead one saved, not from the start"
    assert _posts(settings) == before + result["inserted"]
    # The same world collected by one run that nobody killed stores as many posts: none lost or doubled.
    reference = settings.model_copy(
        update={"database": DatabaseSettings(path=migrated_sqlite(tmp_path / "reference.db"))}
    )
    sim.state.faults.clear()
    assert collect_source(open_store(reference), reference, source, dict(os.environ)).status == "ok"
    assert _posts(reference) == _posts(settings)
    with session_scope(open_store(settings)) as session:
        row = get_source(session, source)
        assert row is not None and row.cursor is not None and "next_token" not in row.cursor


def test_two_workers_never_run_one_job_at_once(
    make: Make, sim: SimulatorServer, redis: Redis, tmp_path: Path
) -> None:
    """A collection runs on a worker process while a second worker takes a second run of it."""
    settings = make(queue="retries = 0", source="page_size = 10\ntimeout_s = 60", extra=_NO_SCORING)
    source = settings.sources[0].name
    name = f"collect:{source}"
    sim.state.timeout_hold_s = 3
    sim.state.world.grow(30)
    sim.state.faults.inject("x.search", Fault.TIMEOUT, times=1, after=1)  # the first run is slow
    queue = make_queue(settings, redis)
    ledger = JobLedger(redis, settings.queue.name)
    first = enqueue_job(queue, settings, "collect", source)
    assert first is not None
    worker = _worker(settings, tmp_path / "worker.log")
    try:
        _until(lambda: ledger.running(name), 90, "the worker never started", log=tmp_path / "worker.log")
        # A second run reached the queue (a retry, an abandoned job put back): this worker takes it.
        second = queue.enqueue(run_job, str(settings.source_file), "collect", source)
        work(settings, redis)
        second.refresh()
        assert second.return_value()["outcome"] == "skipped_running"
        _until(lambda: first.refresh() or first.is_finished, 60, "the first run never finished")
    finally:
        _kill_9(worker)  # idle by now; a warm shutdown would wait for RQ's listener
    assert first.return_value()["outcome"] == "finished"
    assert first.return_value()["result"]["inserted"] == _posts(settings) > 0
    counts = ledger.counts()
    assert counts[(name, "finished")] == 1 and counts[(name, "skipped_running")] == 1
