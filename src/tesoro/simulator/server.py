"""Run the simulator on 127.0.0.1 and a free port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from types import TracebackType

import uvicorn

from tesoro.simulator import tiktok_business
from tesoro.simulator.app import create_app
from tesoro.simulator.instagram import notify_mentions
from tesoro.simulator.model import PLATFORMS
from tesoro.simulator.state import SimState

__all__ = ["SimulatorServer"]


class SimulatorServer:
    """`with SimulatorServer() as sim: sim.base_url` — a live simulator for tests and the demo.

    With `grow_every_s`, a daemon thread adds `grow_n` posts per platform to the world at
    that interval while the server runs, so the demo's collectors see new mentions arrive
    the way a live feed would. Tests leave it off and grow the world explicitly.

    With `serve_media`, the posts' media URLs point at this server, which draws their pictures
    (`tesoro.simulator.mediahost`); without it they keep the platforms' real host names.
    """

    def __init__(
        self,
        state: SimState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        grow_every_s: float | None = None,
        grow_n: int = 3,
        platforms: Sequence[str] = PLATFORMS,
        serve_media: bool = False,
    ) -> None:
        if grow_every_s is not None and grow_every_s <= 0:
            raise ValueError(f"grow_every_s must be positive, got {grow_every_s}")
        if grow_n < 1:
            raise ValueError(f"grow_n must be at least 1, got {grow_n}")
        self.grow_every_s = grow_every_s
        self.grow_n = grow_n
        # What the grower adds posts to (the demo adds the video platforms).
        self.platforms = tuple(platforms)
        # Set by stop(); the grower waits on it, so stopping never waits out a whole interval.
        self._stop_growing = threading.Event()
        self._grower: threading.Thread | None = None
        self.state = state or SimState()
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        if serve_media:
            # Media URLs in the answers point at this server's own media host (`simulator.mediahost`).
            self.state.media_base = self.base_url
        config = uvicorn.Config(create_app(self.state), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimulatorServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the platform simulator did not start")
            time.sleep(0.01)
        if self.grow_every_s is not None:
            self._grower = threading.Thread(target=self._grow_forever, name="simulator-growth", daemon=True)
            self._grower.start()
        return self

    def _grow_forever(self) -> None:
        """Grow the world every `grow_every_s` seconds until stop()."""
        assert self.grow_every_s is not None
        while not self._stop_growing.wait(self.grow_every_s):
            added = self.state.world.grow(self.grow_n, platforms=self.platforms)
            notify_mentions(self.state, added)  # Meta's `mentions` webhook for new Instagram mentions
            tiktok_business.notify_mentions(self.state, added)  # TikTok's, for new TikTok mentions

    def stop(self) -> None:
        self._stop_growing.set()
        if self._grower is not None:
            self._grower.join(timeout=10)
            self._grower = None
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
