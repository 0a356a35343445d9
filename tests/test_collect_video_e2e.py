"""End to end for the video platforms: `tesoro collect --once` from YouTube and TikTok, killed with
SIGKILL in the middle, then restarted, stores every video exactly once (compared with a clean run)."""

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
query = "andes OR andesoutdoor OR cumbre OR nube OR volcan"

[[sources]]
name = "crash-youtube"
platform = "youtube"
query = "andes"
base_url = "{url}"
page_size = 10
include_comments = true
credentials = {{ api_key_env = "CRASH_YT_KEY" }}

[[sources]]
name = "crash-tiktok"
platform = "tiktok"
query = "andes"
base_url = "{url}"
page_size = 10
credentials = {{ client_key_env = "CRASH_TT_KEY", client_secret_env = "CRASH_TT_SECRET" }}
"""


def _collect(config: Path, sim: SimulatorServer) -> subprocess.Popen[bytes]:
    creds = sim.state.credentials
    secrets = {
        "CRASH_YT_KEY": creds.youtube_api_key,
        "CRASH_TT_KEY": creds.tiktok_client_key,
        "CRASH_TT_SECRET": creds.tiktok_client_secret,
    }
    return collect_process(config, secrets)


# 13 s of CPU: `make test-all` runs it; the default suite keeps the runner's kill -9 test
# (test_collect_e2e.py).
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_kill_9_mid_collection_then_restart_loses_and_duplicates_nothing(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    sim.state.world.grow(400, platforms=("youtube", "tiktok"))
    crashed_db, clean_db = tmp_path / "crashed.db", tmp_path / "clean.db"
    crashed_cfg, clean_cfg = tmp_path / "crashed.toml", tmp_path / "clean.toml"
    crashed_cfg.write_text(CONFIG.format(db=crashed_db, url=sim.base_url))
    clean_cfg.write_text(CONFIG.format(db=clean_db, url=sim.base_url))

    reference = _collect(clean_cfg, sim)
    assert reference.wait(timeout=200) == 0, reference.stderr.read() if reference.stderr else ""
    expected = stored_posts(clean_db)
    assert {platform for platform, _ in expected} == {"youtube", "tiktok"}
    assert len(expected) > 200

    child = _collect(crashed_cfg, sim)
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

    restarted = _collect(crashed_cfg, sim)
    assert restarted.wait(timeout=200) == 0, restarted.stderr.read() if restarted.stderr else ""
    final = stored_posts(crashed_db)
    assert len(final) == len(set(final)), "no duplicates"
    assert sorted(final) == sorted(expected), "nothing lost: same videos and comments as the clean run"
