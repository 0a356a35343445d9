"""A `tesoro collect` process killed with SIGKILL mid-run over Instagram and Threads, then restarted,
stores every post exactly once (compared with an uninterrupted run over the same world)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tesoro.simulator.server import SimulatorServer
from worlds.collect import collect_process, stored_posts

CONFIG = """
[database]
path = "{db}"

[[brands]]
name = "Andes Outdoor"

[[queries]]
name = "andes"
brand = "Andes Outdoor"
query = "#andesoutdoor OR andes OR cumbre OR nube OR volcan"

[[sources]]
name = "crash-instagram"
platform = "instagram"
query = "andes"
account_id = "{ig_account}"
base_url = "{url}/instagram/v21.0"
page_size = 10
credentials = {{ access_token_env = "CRASH_IG_TOKEN" }}

[[sources]]
name = "crash-threads"
platform = "threads"
query = "andes"
account_id = "{th_account}"
base_url = "{url}/threads/v1.0"
page_size = 10
credentials = {{ access_token_env = "CRASH_THREADS_TOKEN" }}
"""


def _config(path: Path, db: Path, sim: SimulatorServer) -> Path:
    credentials = sim.state.credentials
    path.write_text(
        CONFIG.format(
            db=db,
            url=sim.base_url,
            ig_account=credentials.instagram_user_id,
            th_account=credentials.threads_user_id,
        )
    )
    return path


def _collect(config: Path, sim: SimulatorServer) -> subprocess.Popen[bytes]:
    creds = sim.state.credentials
    return collect_process(
        config, {"CRASH_IG_TOKEN": creds.instagram_token, "CRASH_THREADS_TOKEN": creds.threads_token}
    )


# 14 s of CPU: `make test-all` runs it; the default suite keeps the runner's kill -9 test
# (test_collect_e2e.py).
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_kill_9_mid_collection_then_restart_loses_and_duplicates_nothing(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    sim.state.world.grow(500, platforms=("instagram", "threads"))
    clean_db, crashed_db = tmp_path / "clean.db", tmp_path / "crashed.db"
    clean = _config(tmp_path / "clean.toml", clean_db, sim)
    crashed = _config(tmp_path / "crashed.toml", crashed_db, sim)

    reference = _collect(clean, sim)
    assert reference.wait(timeout=200) == 0, reference.stderr.read() if reference.stderr else ""
    expected = stored_posts(clean_db)
    assert len(expected) > 300 and {p for p, _ in expected} == {"instagram", "threads"}

    child = _collect(crashed, sim)
    deadline = time.monotonic() + 150
    while len(stored_posts(crashed_db)) < len(expected) // 4:
        assert child.poll() is None, "the child finished before it could be killed: make the world bigger"
        assert time.monotonic() < deadline
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.02)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    partial = stored_posts(crashed_db)
    assert 0 < len(partial) < len(expected), "killed in the middle"

    restarted = _collect(crashed, sim)
    assert restarted.wait(timeout=200) == 0, restarted.stderr.read() if restarted.stderr else ""
    final = stored_posts(crashed_db)
    assert len(final) == len(set(final)), "no duplicates"
    assert sorted(final) == sorted(expected), "nothing lost: the same posts as the uninterrupted run"
