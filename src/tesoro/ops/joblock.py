"""Never twice at once on the RQ workers: a Redis hold per job, and the ledger of what became of each run.

Why a Redis lock rather than an advisory lock like the scheduler's lease: the workers may run on the
embedded SQLite store too, and Redis is always there with the RQ backend. The hold is a key set with
`SET NX PX` to a token of its own (host, process, a random part) and an expiry of `queue.lock_ttl_s`; a
thread of the process that runs the job renews it every third of that, so a job may run for hours,
while a worker killed with SIGKILL (or whose machine vanished) stops renewing and its hold ends within
`lock_ttl_s`. Renewing and releasing compare the token first (one Lua script each), so a process never
renews or frees a hold that is no longer its own.

A hold can still be lost while its job runs, when Redis is unreachable for longer than `lock_ttl_s`;
the job is not stopped (it could not report anyway), the loss is logged and counted as `lock_lost`,
and what keeps a second run harmless is the store's own bookkeeping: a collection's pages and cursor in
one transaction, the alert outbox's leases, the replace-in-one-transaction of the ROR leaderboard.

The ledger: per job, how many runs finished, failed, timed out or were skipped because one was
running (`skipped_running`) or waiting (`skipped_queued`), and the seconds they ran, in Redis hashes
that `tesoro.ops.metrics` reads at scrape time. Every key carries the queue's name, so deployments
sharing one Redis never see each other's holds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from redis import Redis

__all__ = ["OUTCOMES", "JobHold", "JobLedger"]

log = logging.getLogger(__name__)

# What became of a run (or of an attempt to queue one): the ledger's counters.
OUTCOMES = ("finished", "failed", "timed_out", "skipped_running", "skipped_queued", "lock_lost")

# Renew the expiry only while the key still holds our token.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# Delete the key only while it still holds our token (or value).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class JobLedger:
    """The Redis keys of one queue's jobs: holds, the job waiting for each, and the counts."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        self.redis = redis
        self.prefix = f"tesoro:{queue_name}"

    def hold_key(self, job: str) -> str:
        return f"{self.prefix}:hold:{job}"

    def waiting_key(self, job: str) -> str:
        return f"{self.prefix}:waiting:{job}"

    def running(self, job: str) -> bool:
        """Whether a worker holds `job` now (its hold has not ended or expired)."""
        return bool(self.redis.exists(self.hold_key(job)))

    def holder(self, job: str) -> str | None:
        value = self.redis.get(self.hold_key(job))
        return value.decode() if isinstance(value, bytes) else None

    def waiting(self, job: str) -> str | None:
        """The RQ job id queued last for `job`, until a worker takes it (None: none is known)."""
        value = self.redis.get(self.waiting_key(job))
        return value.decode() if isinstance(value, bytes) else None

    def set_waiting(self, job: str, rq_id: str, *, ttl_s: int) -> None:
        self.redis.set(self.waiting_key(job), rq_id, ex=max(1, ttl_s))

    def taken(self, job: str, rq_id: str) -> None:
        """A worker took the queued run `rq_id`: nothing of `job` waits any more (unless queued since)."""
        self.redis.eval(_RELEASE, 1, self.waiting_key(job), rq_id)

    def count(self, job: str, outcome: str, *, seconds: float | None = None) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(f"{self.prefix}:runs:{outcome}", job, 1)
            if seconds is not None:
                pipe.hincrbyfloat(f"{self.prefix}:seconds", job, seconds)
            pipe.execute()

    def counts(self) -> dict[tuple[str, str], int]:
        """(job, outcome) -> how many, for every outcome seen."""
        out: dict[tuple[str, str], int] = {}
        for outcome in OUTCOMES:
            for job, value in self.redis.hgetall(f"{self.prefix}:runs:{outcome}").items():
                out[(_text(job), outcome)] = int(value)
        return out

    def seconds(self) -> dict[str, float]:
        """job -> seconds its runs took on the workers, summed."""
        totals = self.redis.hgetall(f"{self.prefix}:seconds")
        return {_text(job): float(value) for job, value in totals.items()}

    def hold(self, job: str, ttl_s: int) -> JobHold:
        return JobHold(self.redis, self.hold_key(job), ttl_s)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class JobHold:
    """One run's hold on its job: `acquire()` once, `release()` when done (or let it expire).

    While held, a daemon thread renews the expiry every `ttl_s / 3` seconds; `lost` is set when a
    renewal finds the key gone or taken, or Redis has not answered for the whole `ttl_s`.
    """

    def __init__(self, redis: Redis, key: str, ttl_s: int) -> None:
        self.redis = redis
        self.key = key
        self.ttl_ms = int(ttl_s * 1000)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        if not self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return False
        self._thread = threading.Thread(target=self._renew, name=f"hold {self.key}", daemon=True)
        self._thread.start()
        return True

    def _renew(self) -> None:
        period = self.ttl_ms / 3000
        unanswered = 0.0
        while not self._done.wait(period):
            try:
                renewed = self.redis.eval(_RENEW, 1, self.key, self.token, self.ttl_ms)
            except Exception as exc:  # Redis unreachable: keep trying until the hold would have expired
                unanswered += period
                log.warning("cannot renew %s (%s)", self.key, str(exc).splitlines()[0] if str(exc) else exc)
                if unanswered * 1000 < self.ttl_ms:
                    continue
                renewed = 0
            else:
                unanswered = 0.0
            if not renewed:
                log.error("%s was lost while its job ran: another run may start", self.key)
                self.lost.set()
                return

    def release(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.redis.eval(_RELEASE, 1, self.key, self.token)
        except Exception as exc:  # the hold then ends by its expiry
            log.warning("cannot release %s (%s); it expires by itself", self.key, exc)
