"""Warm-up at start-up: load the library index and the sentence encoder in a background thread.

Loading the encoder takes 8-20 s on a small machine; without the warm-up the first search
by meaning waited for it. The thread starts when the server starts (the app's lifespan)
and never holds it up: every route answers while it runs. A meaning search that comes
during the warm-up waits only for the rest of the load (the encoder loads once, under
its lock) and answers as it would afterwards. A failure is logged and kept here; the
search that needs the missing piece reports it as it always did.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from tesoro.search.library import Library

__all__ = ["WARM_TEXT", "Warmup"]

log = logging.getLogger(__name__)

# What the encoder embeds to load itself; any text does.
WARM_TEXT = "warm-up"


@dataclass
class Warmup:
    """One warm-up of `library` (index, then encoder); `start` runs it in a daemon thread."""

    library: Library
    done: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    seconds: float | None = None
    errors: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

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
            self.seconds = time.perf_counter() - began
            self.done.set()
            log.info("warm-up done in %.1f s", self.seconds)

    def _encoder(self) -> None:
        if self.library.encode is not None:
            self.library.encode([WARM_TEXT])
