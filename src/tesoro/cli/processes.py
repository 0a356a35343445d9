"""`tesoro serve --workers N`: N API processes on one port, each with its own `SO_REUSEPORT` listener.

uvicorn's own `--workers` share one listening socket, and whichever process wakes first accepts every
connection waiting: a browser's or a load balancer's keep-alive connections, opened together, can all
land on one process while the others sit idle (measured in docs/api.md: 34 requests/s with one worker
and with two). With a listener per process the kernel spreads new connections over the processes by a
hash of the client's address and port, as a proxy in front of separate processes would.

The process that runs `tesoro serve` is the first API process and the only one that runs the embedded
scheduler; it starts the other N-1 (API only), starts again any that dies, and stops them when it
stops. Each child asks the kernel to end it if the parent dies (Linux's parent-death signal), so no
orphan keeps the port. Linux only: elsewhere `SO_REUSEPORT` does not spread connections.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["ApiProcesses", "reuseport_listener", "supports_reuseport"]

log = logging.getLogger(__name__)

# A child that dies sooner than this after its start counts as a crash loop: wait longer each time.
_HEALTHY_AFTER_S = 10.0
_MAX_BACKOFF_S = 30.0
_PR_SET_PDEATHSIG = 1


def supports_reuseport() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reuseport_listener(host: str, port: int) -> socket.socket:
    """A bound socket sharing `port` with the other API processes (uvicorn calls listen on it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(False)
    return sock


def _end_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _serve_child(config: str | None, host: str, port: int, parent: int) -> None:
    """A child API process (spawned): the settings and store as the parent has them, no scheduler."""
    _end_with_parent()
    if os.getppid() != parent:  # the parent died before the signal was armed
        return
    import uvicorn

    from tesoro.api.app import create_app
    from tesoro.api.asgi import uvicorn_options
    from tesoro.api.warmup import settle_gc
    from tesoro.cli.kit import load_or_exit
    from tesoro.store.db import open_store

    settings = load_or_exit(Path(config) if config else None)  # the parent read the same file
    engine = open_store(settings, migrate=False)  # the parent migrated before starting children
    app = create_app(settings, engine, environ=dict(os.environ), warm_up=True)
    app.state.warmup.after = settle_gc  # a server process: its collector settles after the warm-up
    options = {**uvicorn_options(settings), "log_level": "warning"}
    options.pop("host"), options.pop("port")
    uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[reuseport_listener(host, port)])


class ApiProcesses:
    """The N-1 extra API processes of `tesoro serve --workers N`, kept running until `stop`."""

    def __init__(self, count: int, *, config: Path | None, host: str, port: int) -> None:
        self.count = count
        self._args = (str(config) if config else None, host, port, os.getpid())
        self._context = multiprocessing.get_context("spawn")
        self._children: list[Any] = []
        self._started_at: list[float] = []
        self._backoff: list[float] = []
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None

    def _spawn(self) -> Any:
        child = self._context.Process(target=_serve_child, args=self._args, name="tesoro-api", daemon=True)
        child.start()
        return child

    def start(self) -> None:
        for _ in range(self.count):
            self._children.append(self._spawn())
            self._started_at.append(time.monotonic())
            self._backoff.append(1.0)
        self._watch = threading.Thread(target=self._keep_running, name="tesoro-api-watch", daemon=True)
        self._watch.start()

    def pids(self) -> list[int]:
        return [c.pid for c in self._children if c.is_alive()]

    def _keep_running(self) -> None:
        while not self._stopping.wait(0.5):
            for i, child in enumerate(self._children):
                if child.is_alive() or self._stopping.is_set():
                    continue
                lived = time.monotonic() - self._started_at[i]
                self._backoff[i] = (
                    1.0 if lived > _HEALTHY_AFTER_S else min(self._backoff[i] * 2, _MAX_BACKOFF_S)
                )
                log.warning(
                    "API process %s ended (exit code %s) after %.0f s; starting another in %.0f s",
                    child.pid,
                    child.exitcode,
                    lived,
                    self._backoff[i],
                )
                if self._stopping.wait(self._backoff[i]):
                    return
                self._children[i] = self._spawn()
                self._started_at[i] = time.monotonic()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every child (SIGTERM: uvicorn finishes the requests in flight), then kill the laggards."""
        self._stopping.set()
        for child in self._children:
            if child.is_alive():
                child.terminate()
        deadline = time.monotonic() + timeout
        for child in self._children:
            child.join(max(0.0, deadline - time.monotonic()))
            if child.is_alive():
                child.kill()
                child.join(2)
