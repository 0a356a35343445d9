"""Per-route fault injection for the simulator.

A test says `faults.inject("x.search", Fault.RATE_LIMIT, times=2)` and the next
two calls to that route answer with the platform's own 429 shape and headers.
Route names are `<platform>.<endpoint>`, listed by each platform module.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from enum import StrEnum

__all__ = ["Fault", "FaultInjector"]


class Fault(StrEnum):
    RATE_LIMIT = "429"
    SERVER_ERROR = "500"
    TIMEOUT = "timeout"  # the server holds the request longer than any client timeout, then closes
    MALFORMED = "malformed"  # 200 with a body that is not valid JSON
    EMPTY = "empty"  # a valid but empty page
    AUTH = "401"
    # The server does the work (a Slack message is posted), then answers 200 only after holding the
    # request longer than any client timeout: the client never sees the success (Slack routes only).
    SLOW_OK = "slow_ok"


class FaultInjector:
    """A queue of pending faults per route; thread-safe."""

    def __init__(self) -> None:
        self._pending: dict[str, deque[Fault | None]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._counted = threading.Condition(self._lock)  # notified whenever a call is counted
        self.calls: dict[str, int] = defaultdict(int)

    def inject(self, route: str, fault: Fault, *, times: int = 1, after: int = 0) -> None:
        """The next `times` calls to `route` answer with `fault`, once `after` more calls were served."""
        with self._lock:
            self._pending[route].extend([None] * after + [fault] * times)

    def take(self, route: str) -> Fault | None:
        """Count a call to `route` and return the fault it must answer with, if any."""
        with self._lock:
            self.calls[route] += 1
            self._counted.notify_all()
            queue = self._pending.get(route)
            return queue.popleft() if queue else None

    def wait_for_calls(self, route: str, n: int, *, timeout: float) -> bool:
        """Block until `route` has had `n` calls (True), or `timeout` seconds pass (False)."""
        with self._counted:
            return self._counted.wait_for(lambda: self.calls[route] >= n, timeout=timeout)

    def take_if(self, route: str, fault: Fault) -> bool:
        """When `fault` is next for `route`, count the call and take it (True); otherwise change nothing.

        For faults a route acts out itself (SLOW_OK), before asking `fault_response` for the others.
        """
        with self._lock:
            queue = self._pending.get(route)
            if not queue or queue[0] is not fault:
                return False
            self.calls[route] += 1
            self._counted.notify_all()
            queue.popleft()
            return True

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
