"""A `tesoro collect` process killed with SIGKILL in the middle of a TikTok mentions run, just after
TikTok renewed its token and retired the configured refresh token: the restarted process starts from
the token the store kept, and stores every mention exactly once."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.collector.test_tiktok_mentions import add_video, expire_every_token, mentioned

from tesoro.simulator import tiktok_business as sim_tb
from tesoro.simulator.faults import Fault
from tesoro.simulator.server import SimulatorServer
from worlds.collect import collect_process

CONFIG = """
[database]
path = "{db}"

[[brands]]
name = "Andes Outdoor"

[[queries]]
name = "andes"
brand = "Andes Outdoor"
query = "@andesoutdoor OR andes OR cumbre"

[[sources]]
name = "crash-tiktok-mentions"
platform = "tiktok"
query = "andes"
account_id = "{business_id}"
base_url = "{url}"
page_size = 5
timeout_s = 30

[sources.credentials]
access_token_env = "CRASH_TT_TOKEN"
app_id_env = "CRASH_TT_APP"
app_secret_env = "CRASH_TT_SECRET"
refresh_token_env = "CRASH_TT_REFRESH"
"""


def _collect(config: Path, sim: SimulatorServer) -> subprocess.Popen[bytes]:
    creds = sim.state.credentials
    secrets = {
        "CRASH_TT_TOKEN": creds.tiktok_business_token,
        "CRASH_TT_APP": creds.tiktok_app_id,
        "CRASH_TT_SECRET": creds.tiktok_app_secret,
        "CRASH_TT_REFRESH": creds.tiktok_business_refresh_token,
    }
    return collect_process(config, secrets)


def _query(db: Path, sql: str) -> list[tuple[str, ...]]:
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        return list(conn.execute(sql))


@pytest.mark.timeout(120)
def test_kill_9_after_a_renewal_then_restart_keeps_the_token_and_every_mention(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    for i in range(30):
        add_video(sim.state, f"Cumbre {i} con @andesoutdoor", created_at=now - timedelta(hours=2 * i + 1))
    expected = mentioned(sim.state)
    assert len(expected) >= 30
    sim.state.tiktok_business_rotate_refresh = True
    expire_every_token(sim.state)
    # call 1 is refused (expired token) and renews it, calls 2 and 3 store two pages, call 4 is held
    sim.state.timeout_hold_s = 2.0
    sim.state.faults.inject(sim_tb.MENTIONS_ROUTE, Fault.TIMEOUT, after=3)
    db = tmp_path / "tesoro.db"
    config = tmp_path / "tesoro.toml"
    business_id = sim.state.credentials.tiktok_business_id
    config.write_text(CONFIG.format(db=db, url=sim.base_url, business_id=business_id))

    child = _collect(config, sim)
    deadline = time.monotonic() + 60
    # the 4th call is the held one: wait for it, checking now and then that the child still runs
    while not sim.state.faults.wait_for_calls(sim_tb.MENTIONS_ROUTE, 4, timeout=0.5):
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline, "the child never made its 4th call"
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    partial = _query(db, "SELECT external_id FROM post WHERE platform = 'tiktok'")
    assert len(partial) == 10, "killed with two pages stored"
    [(kept_refresh,)] = _query(db, "SELECT refresh_token FROM platform_token WHERE platform = 'tiktok'")
    assert kept_refresh != sim.state.credentials.tiktok_business_refresh_token

    expire_every_token(sim.state)  # the restart must renew again, from the kept refresh token
    restarted = _collect(config, sim)
    assert restarted.wait(timeout=60) == 0, restarted.stderr.read() if restarted.stderr else ""
    final = [row[0] for row in _query(db, "SELECT external_id FROM post WHERE platform = 'tiktok'")]
    assert len(final) == len(set(final)), "no duplicates"
    assert set(final) == expected, "nothing lost"
    [(health, renewed)] = _query(
        db,
        "SELECT s.health, t.refresh_token FROM source s, platform_token t "
        "WHERE s.name = 'crash-tiktok-mentions'",
    )
    assert health == "ok" and renewed != kept_refresh
