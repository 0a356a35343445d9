"""A `tesoro collect --once` child process and what it stored: the kill -9 tests' shared parts."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["collect_process", "stored_posts"]


def collect_process(config: Path, secrets: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """`tesoro collect --once -c config` in a child process, with `secrets` added to its environment."""
    env = {**os.environ, **secrets, "NO_PROXY": "127.0.0.1,localhost"}
    return subprocess.Popen(
        [sys.executable, "-m", "tesoro", "collect", "--once", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stored_posts(db: Path) -> list[tuple[str, str]]:
    """(platform, external id) of every post in the SQLite store at `db` ([] before it has a schema)."""
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        try:
            return list(conn.execute("SELECT platform, external_id FROM post"))
        except sqlite3.OperationalError:  # schema not created yet
            return []
