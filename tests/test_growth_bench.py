"""bench/growth.py at a tiny size: every measure of every part is printed, one column per size.

The real run (PostgreSQL, 100,000 to 3,000,000 posts) is in docs/operations.md; this checks the
script's shape on SQLite in seconds: the seeded store, the library's writer and API processes, the
insights and scoring processes, the table sizes and the results file that keeps them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "growth.py"), *args],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.timeout(300)
def test_a_tiny_growth_run_prints_every_measure_for_each_size_and_keeps_them(tmp_path: Path) -> None:
    results = tmp_path / "growth.json"
    done = _run(
        *("--sizes", "1500", "--backend", "sqlite", "--profile", "fast"),
        *("--queries", "3", "--batch", "100", "--results", str(results)),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert table[0] == "| measure | 1,500 posts |"
    labels = [line.split(" | ")[0].removeprefix("| ") for line in table[2:]]
    for wanted in (
        "library: index build from the store (one process), s",
        "library: API process RSS / USS after searching, MB",
        "search: meaning p50 / p95, ms",
        "ROR refresh (job), s",
        "KPI report 30 d / 365 d, s",
        "scoring: posts/s",
        "scoring: next search for new posts, from the score mark / from the first post, s",
        "size: post (with indexes), MB",
        "size: database (with indexes), MB",
        "load average before / after",
    ):
        assert wanted in labels, labels
    assert all(line.count("|") == 3 for line in table), table  # one value per row, no gaps
    kept = json.loads(results.read_text(encoding="utf-8"))
    assert [r["posts"] for r in kept] == [1500]
    row = kept[0]
    assert row["scored"] == 100 and row["posts_per_s"] > 0
    assert row["search_from_mark_s"] >= 0 and row["search_from_start_s"] >= 0
    assert row["ror_events"] > 0 and row["kpi365_mentions"] > 0
    assert row["api_loaded"]["uss"] > 0 and row["build_rss_mb"] > 0
    assert row["sizes"]["post"] > 0 and row["sizes"]["score"] > row["sizes"]["media"]
