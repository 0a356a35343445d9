"""`tesoro serve --workers N`: N processes on one port, connections spread, a dead one started again."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from worlds.common import eventually

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreading is Linux's"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == pid and "spawn_main" in Path(f"/proc/{entry}/cmdline").read_text():
                    found.append(int(entry))
    return found


def _established_on(pid: int, port: int) -> int:
    """How many ESTABLISHED TCP connections to `port` the process `pid` holds (from /proc)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:
            count += 1
    return count


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.timeout(120)
def test_workers_share_the_port_and_a_killed_one_comes_back(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n[server]\nrun_scheduler = false\n')
    port = _free_port()
    env = {**os.environ, "NO_PROXY": "127.0.0.1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "tesoro", "serve", "-c", str(config), "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        eventually(
            lambda: server.poll() is None and len(_children(server.pid)) == 1 and _answers(port),
            timeout=90,
            message="the server and its second process did not start",
        )
        [child] = _children(server.pid)

        def spread() -> bool:
            # 24 new connections, held open while counted: the kernel hashes each to one listener.
            # (Fresh ones each try: the server closes keep-alive connections idle for 5 s.)
            clients = [httpx.Client(timeout=5) for _ in range(24)]
            try:
                for client in clients:
                    assert client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                return _established_on(server.pid, port) > 0 and _established_on(child, port) > 0
            finally:
                for client in clients:
                    client.close()

        eventually(spread, timeout=90, poll=1.0, message="connections did not reach both processes")

        os.kill(child, signal.SIGKILL)
        assert _answers(port), "the first process keeps serving while the other is down"
        eventually(
            lambda: [p for p in _children(server.pid) if p != child] != [],
            timeout=30,
            message="the killed process was not started again",
        )
        [replacement] = _children(server.pid)
        assert replacement != child
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    # uvicorn ends by raising the SIGTERM it caught again, after its graceful shutdown.
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "2 API processes share the port" in output
    assert "starting another" in output
    eventually(
        lambda: _children(server.pid) == [] and not _answers(port),
        timeout=20,
        message="stopping the server must stop every process",
    )


def test_workers_is_validated() -> None:
    from typer.testing import CliRunner

    from tesoro.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers" in result.output
