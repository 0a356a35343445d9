"""The scheduler's lease: a PostgreSQL advisory lock held on a connection of its own.

Why an advisory lock rather than a Redis lock with fencing tokens: the lock lives exactly as long as
the holder's database session, so a scheduler killed with SIGKILL (or whose machine vanishes: TCP
keepalives end the session) gives it up with no expiry to tune, and there is no token that every job
would have to carry and check to be safe; the scaled-out mode needs PostgreSQL anyway, while Redis
is only there with the RQ backend.

`SchedulerLease.wait()` polls `pg_try_advisory_lock` every `lease_s / 3` seconds; once it has the
lock it waits one more check period (x1.2) before it schedules. `hold()` checks the lock on its
connection every `lease_s / 3` and returns as soon as the check fails or errs. So a standby
schedules within about `0.74 * lease_s` of the leader's session ending, and a leader whose session
ended while it lived (a database hiccup, `pg_terminate_backend`) has stopped before the next one
starts: the lease fails safe, never two schedulers at once; after the hiccup one takes over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from tesoro.store.ops import holds_advisory_lock, try_advisory_lock

__all__ = ["LEASE_KEY", "SchedulerLease"]

log = logging.getLogger(__name__)

# The advisory lock's key: "TSOR" in ASCII, under 2**31 so it reads the same in pg_locks' objid.
LEASE_KEY = 0x54534F52


class SchedulerLease:
    def __init__(
        self, engine: Engine, lease_s: int, *, key: int = LEASE_KEY, stop: threading.Event | None = None
    ):
        self.key = key
        self.period = max(0.5, lease_s / 3)
        self.name = f"tesoro-scheduler:{socket.gethostname()}:{os.getpid()}"
        keepalive = max(1, int(self.period))
        # A connection of its own, outside the pool: the lock is this session's, and nothing else may
        # borrow it. Keepalives end the session on the server when this machine stops answering.
        self._engine = create_engine(
            engine.url,
            poolclass=NullPool,
            connect_args={
                "application_name": self.name,
                "connect_timeout": keepalive * 3,
                "keepalives": 1,
                "keepalives_idle": keepalive,
                "keepalives_interval": keepalive,
                "keepalives_count": 3,
            },
        )
        self._connection: Connection | None = None
        self.stop = stop or threading.Event()

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # the connection is already gone
                log.debug("closing the lease connection failed", exc_info=True)
            self._connection = None

    def wait(self) -> bool:
        """Block until this process holds the lease (True) or `stop` is set (False)."""
        while not self.stop.is_set():
            try:
                if self._connection is None:
                    self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                if try_advisory_lock(self._connection, self.key):
                    # A grace of one check period before scheduling: a previous holder whose session
                    # ended without it dying (a database hiccup) has noticed by then and stopped.
                    if self.stop.wait(self.period * 1.2) or not holds_advisory_lock(
                        self._connection, self.key
                    ):
                        self._close()
                        continue
                    log.info("scheduler lease taken by %s", self.name)
                    return True
            except Exception as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("scheduler lease: database unreachable (%s); retrying", reason)
                self._close()
            self.stop.wait(self.period)
        return False

    def hold(self) -> None:
        """Return as soon as the lease is lost (or `stop` is set); check it every `period` seconds."""
        while not self.stop.wait(self.period):
            try:
                assert self._connection is not None
                if holds_advisory_lock(self._connection, self.key):
                    continue
                log.error("scheduler lease lost by %s: stopping scheduling", self.name)
            except Exception as exc:
                log.error(
                    "scheduler lease: cannot confirm it (%s): stopping scheduling", str(exc).splitlines()[0]
                )
            self._close()  # ends the session, so the lock is surely free for the next holder
            return

    def release(self) -> None:
        self._close()
        self._engine.dispose()
