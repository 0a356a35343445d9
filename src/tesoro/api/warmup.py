"""Warm-up at start-up: load the library index and the sentence encoder in a background thread.

Loading the encoder takes 8-20 s on a small machine; without the warm-up the first search
by meaning waited for it. The thread starts when the server starts (the app's lifespan)
and never holds it up: every route answers while it runs. A meaning search that comes
during the warm-up waits only for the rest of the load (the encoder loads once, under
its lock) and answers as it would afterwards. A failure is logged and kept here; the
search that needs the missing piece reports it as it always did.

When it is done, a server process (`tesoro serve`, the ASGI factory) calls `settle_gc`, which
puts what the process loaded out of the garbage collector's sight: the index and the encoder
are hundreds of thousands of long-lived objects that every full collection would walk again,
and a page of cards allocates thousands of short-lived ones (freed by reference counting)
that set off a young collection every 700; with the threshold at `GC_YOUNG_THRESHOLD` the
queue page spent about 0.4 ms less of its ~10 ms of CPU.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tesoro.search.library import Library

__all__ = ["GC_YOUNG_THRESHOLD", "WARM_TEXT", "Warmup", "settle_gc"]

log = logging.getLogger(__name__)

# What the encoder embeds to load itself; any text does.
WARM_TEXT = "warm-up"
# Allocations (less deallocations) between two young collections in a warmed server (Python: 700).
GC_YOUNG_THRESHOLD = 20_000


def settle_gc() -> None:
    """Collect once, move every object still alive to the permanent generation (`gc.freeze`),
    and collect the young generation less often. For a server process after its warm-up."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


@dataclass
class Warmup:
    """One warm-up of `library` (index, then encoder); `start` runs it in a daemon thread."""

    library: Library
    done: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    seconds: float | None = None
    errors: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None
    # Run once the warm-up is done (servers: `settle_gc`; tests leave the process's collector alone).
    after: Callable[[], None] | None = None

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self.thread = threading.Thread(target=self.run, name="tesoro-warmup", daemon=True)
        self.thread.start()

    def run(self) -> None:
        began = time.perf_counter()
        try:
            for name, step in (("library index", self.library.warm), ("encoder", self._encoder)):
                try:
                    step()
                except Exception as exc:  # one piece failing leaves the other warmed
                    self.errors.append(f"{name}: {exc}")
                    log.warning("warm-up of the %s failed: %s", name, exc)
        finally:
            if self.after is not None:
                self.after()
            self.seconds = time.perf_counter() - began
            self.done.set()
            log.info("warm-up done in %.1f s", self.seconds)

    def _encoder(self) -> None:
        if self.library.encode is not None:
            self.library.encode([WARM_TEXT])
