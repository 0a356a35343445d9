"""The workers' hold on a job and the ledger, against the real Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from tesoro.ops.joblock import JobLedger
from worlds.common import eventually
from worlds.queue import redis_client

pytestmark = pytest.mark.redis


@pytest.fixture
def ledger() -> Iterator[JobLedger]:
    with redis_client() as redis:
        name = f"tesoro-test-{uuid.uuid4().hex[:10]}"
        yield JobLedger(redis, name)
        for key in redis.scan_iter(f"*{name}*"):
            redis.delete(key)


def test_one_hold_per_job_renewed_while_held_and_freed_by_its_owner_only(ledger: JobLedger) -> None:
    first, second = ledger.hold("score", 1), ledger.hold("score", 1)
    assert first.acquire()
    expiry = time.monotonic() + 1.0  # where the first hold would end if nobody renewed it
    assert not second.acquire(), "never two holds on one job"
    assert ledger.hold("media", 1).acquire(), "other jobs are free"
    # Held without a gap until well past that expiry: only the heartbeat's renewals can do that.
    gaps: list[object] = []

    def held_past_expiry() -> bool:
        holder = ledger.holder("score")
        if holder != first.token:
            gaps.append(holder)
        return time.monotonic() > expiry + 0.3

    eventually(held_past_expiry, timeout=5, message="the clock did not move")
    assert not gaps, f"the hold ended or changed hands while held: {gaps}"
    assert ledger.holder("score") == first.token and not first.lost.is_set()
    second.release()  # not its hold: nothing happens
    assert ledger.holder("score") == first.token
    first.release()
    assert not ledger.running("score")
    assert second.acquire(), "free again once released"
    second.release()


def test_a_hold_nobody_renews_expires_and_a_taken_over_hold_is_reported_lost(ledger: JobLedger) -> None:
    redis = ledger.redis
    redis.set(ledger.hold_key("rights"), "a dead worker", px=300)
    assert ledger.running("rights")
    eventually(
        lambda: not ledger.running("rights"), timeout=5, message="a dead worker's hold ends by its expiry"
    )

    hold = ledger.hold("rights", 1)
    assert hold.acquire()
    redis.set(ledger.hold_key("rights"), "someone else")  # e.g. it expired during a Redis outage
    assert hold.lost.wait(3), "the heartbeat notices the hold is not ours any more"
    hold.release()
    assert ledger.holder("rights") == "someone else", "a lost hold is never freed for its new owner"


def test_the_ledger_counts_outcomes_and_refuses_unknown_ones(ledger: JobLedger) -> None:
    ledger.count("collect:x", "finished", seconds=1.5)
    ledger.count("collect:x", "finished", seconds=2.0)
    ledger.count("collect:x", "skipped_running")
    assert ledger.counts() == {("collect:x", "finished"): 2, ("collect:x", "skipped_running"): 1}
    assert ledger.seconds() == {"collect:x": 3.5}
    with pytest.raises(ValueError, match="unknown outcome"):
        ledger.count("collect:x", "exploded")
