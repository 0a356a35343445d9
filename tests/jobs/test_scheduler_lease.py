"""Scheduler failover: real `tesoro scheduler` processes on PostgreSQL, one lease, kill -9 the leader.

On SQLite one scheduler runs without a lease.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tesoro.jobs.scheduler import run_scheduler
from tesoro.ops.lease import LEASE_KEY
from tesoro.ops.metrics import PROCESS as REGISTRY_READ
from tesoro.settings import Settings
from tesoro.store.ops import advisory_lock_holder
from worlds.common import eventually

LEASE_S = 3
SRC = Path(__file__).parents[2] / "src"


def _leader() -> float:
    """This process's `tesoro_scheduler_leader` gauge, as Prometheus would read it."""
    value = REGISTRY_READ.get_sample_value("tesoro_scheduler_leader")
    return -1.0 if value is None else value


def _holder(engine: Engine) -> int | None:
    with engine.connect() as connection:
        name = advisory_lock_holder(connection, LEASE_KEY)
    return None if name is None else int(name.rsplit(":", 1)[1])


def _wait_for(engine: Engine, want: object, timeout: float, *, other_than: int | None = None) -> int:
    def holder() -> int | None:
        pid = _holder(engine)
        return pid if pid is not None and pid != other_than else None

    said = f"no scheduler took the lease within {timeout}s ({want})"
    found = eventually(holder, timeout=timeout, message=said)
    assert isinstance(found, int)
    return found


def _sessions(engine: Engine, pid: int) -> int:
    """How many database sessions the scheduler process `pid` has open (its lease connection)."""
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE :name"),
            {"name": f"%:{pid}"},
        ).scalar_one()
    return int(count)


def _events(log: Path) -> list[tuple[float, str]]:
    """(time, 'lead' | 'stop') from a scheduler's JSON log lines."""
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        stamp = time.mktime(time.strptime(entry["time"][:19], "%Y-%m-%dT%H:%M:%S")) + float(
            entry["time"][19:23]
        )
        if entry["message"].startswith("leading:"):
            out.append((stamp, "lead"))
        elif entry["message"] == "standing by":
            out.append((stamp, "stop"))
    return out


@pytest.fixture
def schedulers(
    engine: Engine, tmp_path: Path
) -> Iterator[tuple[Engine, list[subprocess.Popen[bytes]], list[Path]]]:
    if engine.dialect.name != "postgresql":
        pytest.skip("the lease is PostgreSQL's")
    config = tmp_path / "tesoro.toml"
    url = engine.url.render_as_string(hide_password=False)
    config.write_text(
        f'log_level = "INFO"\n[database]\nurl = "{url}"\n[ops]\nscheduler_lease_s = {LEASE_S}\n'
        '[models]\nscore_interval = "0"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    for n in range(2):
        log = tmp_path / f"scheduler-{n}.log"
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tesoro", "--log-json", "scheduler", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=log.open("wb"),
                env=env,
            )
        )
    try:
        yield engine, procs, logs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def _no_overlap(logs: list[Path], killed: dict[Path, float] | None = None) -> None:
    """Leadership intervals never overlap (a process killed while leading led until it was killed)."""
    intervals: list[tuple[float, float]] = []
    for log in logs:
        start = None
        for stamp, what in _events(log):
            if what == "lead":
                start = stamp
            elif start is not None:
                intervals.append((start, stamp))
                start = None
        if start is not None:
            intervals.append((start, (killed or {}).get(log, float("inf"))))
    intervals.sort()
    for (_, end), (next_start, _) in itertools.pairwise(intervals):
        assert next_start >= end, f"two schedulers led at once: {intervals}"


def test_standby_takes_over_after_kill_9(
    schedulers: tuple[Engine, list[subprocess.Popen[bytes]], list[Path]],
) -> None:
    engine, procs, logs = schedulers
    leader = _wait_for(engine, "first", 60)
    assert leader in {p.pid for p in procs}
    # Both running: the leader has started scheduling (after its grace period) and the standby is
    # connected and asking for the lock each period; the lease stays with the leader.
    leader_log = logs[[p.pid for p in procs].index(leader)]
    other = next(p.pid for p in procs if p.pid != leader)
    eventually(
        lambda: any(what == "lead" for _, what in _events(leader_log)) and _sessions(engine, other) > 0,
        timeout=30,
        message="the leader never scheduled, or the standby never connected",
    )
    assert _holder(engine) == leader
    killed = time.monotonic()
    killed_wall = time.time()
    os.kill(leader, signal.SIGKILL)
    standby = _wait_for(engine, "takeover", 30, other_than=leader)
    took = time.monotonic() - killed
    assert standby in {p.pid for p in procs} and standby != leader
    # The lock is taken within a poll period; scheduling starts one grace period later.
    assert took <= LEASE_S, f"the standby took the lease after {took:.1f}s"
    survivor = logs[[p.pid for p in procs].index(standby)]
    eventually(
        lambda: any(what == "lead" for _, what in _events(survivor)),
        timeout=2 * LEASE_S,
        message="the standby never scheduled",
    )
    lead_at = next(stamp for stamp, what in _events(survivor) if what == "lead")
    assert lead_at - killed_wall <= LEASE_S, (
        f"the standby scheduled {lead_at - killed_wall:.1f}s after the kill"
    )
    _no_overlap(logs, {logs[[p.pid for p in procs].index(leader)]: killed_wall})


# 13 s of real processes: `make test-all` runs it; the default suite keeps the kill -9 takeover test.
@pytest.mark.slow
def test_a_database_hiccup_fails_safe(
    schedulers: tuple[Engine, list[subprocess.Popen[bytes]], list[Path]],
) -> None:
    """The leader's session is cut: it stops scheduling, and one scheduler (never two) leads after."""
    engine, procs, logs = schedulers
    leader = _wait_for(engine, "first", 60)
    leader_log = logs[[p.pid for p in procs].index(leader)]
    eventually(
        lambda: any(what == "lead" for _, what in _events(leader_log)),
        timeout=30,
        message="the leader never scheduled",
    )
    with engine.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE :name"),
            {"name": f"%:{leader}"},
        )
        connection.commit()
    _wait_for(engine, "after the hiccup", 30)

    def events() -> list[str]:
        return [what for log in logs for _, what in _events(log)]

    # The cut leader stands by and one scheduler leads again (the same one or the other).
    eventually(
        lambda: events().count("lead") >= 2 and events().count("stop") >= 1,
        timeout=4 * LEASE_S,
        message=f"no clean hand-over after the hiccup: {events()}",
    )
    assert all(p.poll() is None for p in procs)  # nobody crashed
    assert events().count("lead") == 2 and events().count("stop") == 1
    _no_overlap(logs)


def test_sqlite_runs_one_scheduler_without_a_lease(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the embedded store")
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path), "base_dir": tmp_path, "models": {"score_interval": 0}}
    )
    stop = threading.Event()
    thread = threading.Thread(target=run_scheduler, args=(engine, settings, {}), kwargs={"stop": stop})
    thread.start()
    try:
        eventually(lambda: _leader() == 1, timeout=10, message="the embedded scheduler never led")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert _leader() == 0
