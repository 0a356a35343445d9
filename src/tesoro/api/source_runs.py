"""Collection runs a webhook asks for, in the background and coalesced per source.

A platform that notifies "something new" (TikTok's mention webhook) delivers at least once and in
bursts, and it wants its answer at once. `SourceRuns.request(name, run)` starts `run` on a thread of
its own and returns; while that source's run is in flight, the next request queues one more run
(what was mentioned after the running one read its first page is then collected too), and any
further request is folded into that queued run. However many notifications arrive, a source has at
most one run in flight and one waiting.

What a run does and records is the caller's (the collector runner writes each run's outcome to the
source's health); this only decides when it runs. An exception a run raises is logged, never raised.
The state is per process: two API processes may each run a source for the same burst.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Literal

__all__ = ["RunRequest", "SourceRuns"]

log = logging.getLogger(__name__)

# started: a run began; queued: one more run follows the one in flight; coalesced: a run was
# already waiting, so this request costs nothing; closing: the process is shutting down.
RunRequest = Literal["started", "queued", "coalesced", "closing"]


class SourceRuns:
    """At most one run in flight and one queued per source name; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # source name -> True when another run is queued behind the one in flight
        self._in_flight: dict[str, bool] = {}
        self._closing = False
        self.finished = 0  # runs ended (successful or not) since the process started

    def request(self, name: str, run: Callable[[], object]) -> RunRequest:
        """Run `run` for source `name` in the background, unless a run of it is already waiting."""
        with self._lock:
            if self._closing:
                return "closing"
            if name in self._in_flight:
                if self._in_flight[name]:
                    return "coalesced"
                self._in_flight[name] = True
                return "queued"
            self._in_flight[name] = False
            thread = threading.Thread(target=self._loop, args=(name, run), name=f"run:{name}", daemon=True)
        thread.start()
        return "started"

    def _loop(self, name: str, run: Callable[[], object]) -> None:
        while True:
            try:
                run()
            except Exception:  # a run must never take the API process down
                log.exception("%s: a webhook-started collection failed", name)
            with self._lock:
                self.finished += 1
                again = self._in_flight.get(name, False) and not self._closing
                if again:
                    self._in_flight[name] = False
                else:
                    del self._in_flight[name]
                self._changed.notify_all()
            if not again:
                return

    def busy(self, name: str) -> bool:
        with self._lock:
            return name in self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        """Block until no run is in flight (True) or `timeout` seconds pass (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._in_flight, timeout=timeout)

    def close(self, timeout: float) -> bool:
        """Take no more requests, drop the queued runs, and wait up to `timeout` s for those in flight.

        A run cut short by the process ending loses nothing: the runner saves each page with its cursor.
        """
        with self._lock:
            self._closing = True
            for name in self._in_flight:
                self._in_flight[name] = False
        return self.wait_idle(timeout)
