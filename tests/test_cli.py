"""The `tesoro` command line, end to end on a real SQLite file."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tesoro.cli.main import app
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.keys import create_key

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "import", "serve", "db", "sources"):
        assert command in result.output


def test_init_writes_a_loadable_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "tesoro.toml"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    assert "[[sources]]" in target.read_text()
    again = runner.invoke(app, ["init", str(target)])
    assert again.exit_code == 1 and "already exists" in again.output
    upgraded = runner.invoke(app, ["db", "upgrade", "-c", str(target)])
    assert upgraded.exit_code == 0, upgraded.output
    assert (tmp_path / "data" / "tesoro.db").exists()


def test_bad_config_exits_2_with_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = -1\n")
    result = runner.invoke(app, ["db", "upgrade", "-c", str(bad)])
    assert result.exit_code == 2
    assert "server.port" in result.output


def test_import_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n')
    rows = [
        {"id": str(i), "text": f"post {i}", "created_at": "2026-11-01T00:00:00Z", "author_handle": "ana"}
        for i in range(30)
    ]
    data = tmp_path / "posts.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    first = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert first.exit_code == 0, first.output
    assert "30 new, 0 updated, 1 bad rows" in first.output
    assert "line 31: not valid JSON" in first.output
    second = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert "0 new, 30 updated, 1 bad rows" in second.output


def test_import_of_only_bad_rows_fails(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n')
    data = tmp_path / "bad.jsonl"
    data.write_text('{"id": "1"}\n')
    result = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert result.exit_code == 1
    assert "line 1: `text` is missing" in result.output


def test_import_unknown_brand(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n')
    data = tmp_path / "p.jsonl"
    data.write_text("")
    result = runner.invoke(app, ["import", str(data), "-c", str(config), "--brand", "Nobody"])
    assert result.exit_code == 2 and "no brand named 'Nobody'" in result.output


def _viewer_key(db: Path) -> str:

    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_scope(engine) as session:
            return create_key(session, name="test", role="viewer").token
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(60)
def test_serve_answers_on_localhost(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n[server]\nrun_scheduler = false\n')
    port = _free_port()
    env = {**os.environ, "NO_PROXY": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tesoro", "serve", "-c", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 45
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
                assert time.monotonic() < deadline, "server did not answer in time"
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.2)  # a short pause that also notices an early exit
        assert response.status_code == 200 and response.json()["status"] == "ok"
        # The API needs a key (issue 7); make one in the store the server uses.
        assert httpx.get(f"http://127.0.0.1:{port}/api/posts").status_code == 401
        headers = {"X-API-Key": _viewer_key(tmp_path / "store.db")}
        assert httpx.get(f"http://127.0.0.1:{port}/api/posts", headers=headers).json() == {
            "total": 0,
            "items": [],
        }
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_on_a_taken_port_says_so_and_starts_nothing(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "-c", str(config), "--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "collecting from" not in result.output and "Tesoro serving" not in result.output
