"""bench/collect.py runs end to end on a small world and prints one table row per platform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_collection_bench_prints_a_row_per_platform_with_posts_stored() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "collect.py"),
            "--posts",
            "30",
            "--backend",
            "sqlite",
            "--platforms",
            "youtube,tiktok,instagram,threads,file",
        ],
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    rows = [
        line.split("|") for line in done.stdout.splitlines() if line.startswith("| ") and "sqlite" in line
    ]
    assert [r[1].strip() for r in rows] == ["youtube", "tiktok", "instagram", "threads", "file"], done.stdout
    for row in rows:
        assert int(row[3].replace(",", "")) > 0, row  # posts stored, and no error beside the platform
