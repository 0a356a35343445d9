"""bench/cluster.py: the example process files it starts, and a short run of the whole cluster.

The bench starts every Tesoro process from deploy/Procfile's command lines, so a short run tests the
Procfile; the systemd units must run the same commands (checked here without starting anything).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cluster_bench", ROOT / "bench" / "cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_procfile_runs_two_apis_two_schedulers_three_workers_from_one_settings_file() -> None:
    bench = _bench()
    entries = bench.read_procfile(ROOT / "deploy" / "Procfile")
    kinds = sorted(re.sub(r"\d+$", "", name) for name in entries)
    assert kinds == ["api", "api", "scheduler", "scheduler", "worker", "worker", "worker"]
    env = {"TESORO_CONFIG": "/etc/t.toml"}
    for name, argv in entries.items():
        command = bench.procfile_command(argv, tesoro=["/venv/bin/tesoro"], env=env)
        assert command[0] == "/venv/bin/tesoro"
        assert command[command.index("--config") + 1] == "/etc/t.toml", name
    api = bench.procfile_command(entries["api1"], tesoro=["tesoro"], env=env)
    assert bench.with_option(api, "--port", "1234")[-2:] == ["--port", "1234"]
    with pytest.raises(KeyError, match="TESORO_SECRET"):
        bench.procfile_command(["tesoro", "$TESORO_SECRET"], tesoro=["tesoro"], env=env)


def test_a_malformed_procfile_line_is_refused_with_its_line_number(tmp_path: Path) -> None:
    bench = _bench()
    procfile = tmp_path / "Procfile"
    procfile.write_text("# a comment\n\nweb: tesoro serve\nnot a process line\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"Procfile:4: not a `name: command` line"):
        bench.read_procfile(procfile)


def _systemd(kind: str) -> list[str]:
    unit = (ROOT / "deploy" / "systemd" / f"tesoro-{kind}@.service").read_text(encoding="utf-8")
    line = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


@pytest.mark.parametrize("kind", ["api", "scheduler", "worker"])
def test_the_systemd_units_run_the_procfile_commands(kind: str) -> None:
    """The same subcommand and options as the Procfile's; only paths, ports and instance names differ."""
    bench = _bench()
    procfile = bench.read_procfile(ROOT / "deploy" / "Procfile")[f"{kind}1"]
    unit = _systemd(kind)

    def shape(argv: list[str]) -> list[str]:
        out = []
        for arg in argv[1:]:
            if arg.startswith(("/", "$")) or re.fullmatch(r"[\d%i]+", arg):
                arg = "<value>"
            out.append(arg)
        return out

    assert Path(unit[0]).name == procfile[0] == "tesoro"
    assert shape(unit) == shape(procfile)


def _postgres_answers() -> bool:
    try:
        psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


# About two minutes of eight real processes: `make test-all` runs it.
@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(600)
def test_a_short_cluster_run_loses_and_duplicates_nothing_through_a_worker_kill_and_a_redis_drop(
    tmp_path: Path,
) -> None:
    if shutil.which("redis-server") is None or not _postgres_answers():
        pytest.skip("needs PostgreSQL on 127.0.0.1:5432 and the redis-server binary")
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "cluster.py"),
            "--duration",
            "45",
            "--rate",
            "3",
            "--faults",
            "worker,redis",
            "--no-score",
            "--drain-s",
            "180",
            "--json",
            str(out),
        ],
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["reference"] > 50, results
    assert results["lost"] == 0 and results["unexpected"] == 0, results
    assert results["duplicated"] == 0, results
    assert results["alerts"]["lost"] == 0 and results["alerts"]["undelivered"] == 0, results
    assert results["drained"], results
    assert [f["fault"] for f in results["faults"]] == ["SIGKILL a worker", "CLIENT KILL TYPE normal on Redis"]
    assert results["exited"] == [], results  # the killed worker was started again; nobody else died
    assert "| posts lost (in the reference, not in the cluster's store) | 0 |" in done.stdout
