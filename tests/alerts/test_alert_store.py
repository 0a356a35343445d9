"""The alerts' repository functions on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from tesoro.store.alerts import (
    add_alerts,
    claim_due_alerts,
    delivered_channels,
    delivery_window,
    failing_sources,
    first_post_at,
    hourly_counts,
    list_alerts,
    list_deliveries,
    mark_subjects,
    negative_candidates,
    recently_alerted,
    record_delivery,
)
from tesoro.store.engine import session_scope
from worlds.alerts import T0, Seeder, make_settings


def test_hourly_counts_are_anchored_at_now(engine: Engine) -> None:
    seeder = Seeder(engine, make_settings())
    seeder.sync()
    now = T0 + timedelta(minutes=20)
    # 3 posts 10 minutes ago, 2 posts 70 minutes ago, 1 post 25 hours ago, 1 in the future.
    seeder.posts(["a"] * 3, collected_at=now, created_at=now - timedelta(minutes=10))
    seeder.posts(["b"] * 2, collected_at=now, created_at=now - timedelta(minutes=70))
    seeder.posts(["c"], collected_at=now, created_at=now - timedelta(hours=25, minutes=1))
    seeder.posts(["d"], collected_at=now, created_at=now + timedelta(minutes=5))
    seeder.posts(["other brand"], collected_at=now, created_at=now - timedelta(minutes=5), brand=None)
    brand_id = seeder.brand_id()
    with session_scope(engine) as session:
        counts = hourly_counts(session, now=now, hours=26, brand_id=brand_id)
        everything = hourly_counts(session, now=now, hours=26)
        first = first_post_at(session, brand_id=brand_id)
    assert len(counts) == 26
    assert counts[-1] == 3 and counts[-2] == 2 and counts[0] == 1 and sum(counts) == 6
    assert everything[-1] == 4
    assert first == now - timedelta(hours=25, minutes=1)


def test_negative_only_counts_use_the_newest_score(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    seeder = Seeder(engine, make_settings())
    seeder.sync()
    ids = seeder.posts(["x", "y", "z"], collected_at=T0, created_at=T0 - timedelta(minutes=30))
    seeder.scores(ids, "negative", at=T0, version="v1")
    seeder.scores(ids[:1], "positive", at=T0, version="v2")  # re-scored: no longer negative
    with session_scope(engine) as session:
        assert hourly_counts(session, now=T0, hours=2, negative_only=True) == [0, 2]
        found = negative_candidates(
            session,
            scored_after=T0 - timedelta(hours=1),
            created_after=T0 - timedelta(days=1),
            brand_id=None,
            min_followers=None,
            after_post_id=0,
            limit=10,
        )
    assert [p.id for p in found] == ids[1:]
    assert all(p.sentiment == "negative" for p in found)


def test_marks_dedupe_and_cooldowns(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    with session_scope(engine) as session:
        first = mark_subjects(session, rule="r", items=[("post:1", 1), ("post:2", 2)], now=T0)
        again = mark_subjects(session, rule="r", items=[("post:2", 2), ("post:3", 3)], now=T0)
        other_rule = mark_subjects(session, rule="s", items=[("post:2", 2)], now=T0)
        add_alerts(session, rule="r", alerts=[("author:9", {"kind": "x"})], now=T0)
        cooling = recently_alerted(
            session, rule="r", subjects=["author:9", "author:8"], since=T0 - timedelta(hours=1)
        )
        cooled = recently_alerted(session, rule="r", subjects=["author:9"], since=T0 + timedelta(seconds=1))
    assert first == {"post:1", "post:2"} and again == {"post:3"} and other_rule == {"post:2"}
    assert cooling == {"author:9"} and cooled == set()


def test_outbox_bookkeeping_on_both_backends(engine: Engine) -> None:
    """Claims lease alerts (UPDATE ... RETURNING), marks dedupe (ON CONFLICT ... RETURNING)."""
    with session_scope(engine) as session:
        assert mark_subjects(session, rule="r", items=[("post:1", 1)], now=T0) == {"post:1"}
        assert mark_subjects(session, rule="r", items=[("post:1", 1), ("post:2", 2)], now=T0) == {"post:2"}
        ids = add_alerts(session, rule="r", alerts=[(f"s{i}", {}) for i in range(3)], now=T0)
    with session_scope(engine) as session:
        claimed = claim_due_alerts(session, now=T0, lease_until=T0 + timedelta(minutes=5), limit=2)
    with session_scope(engine) as session:
        second = claim_due_alerts(session, now=T0, lease_until=T0 + timedelta(minutes=5), limit=10)
    with session_scope(engine) as session:
        after_lease = claim_due_alerts(
            session, now=T0 + timedelta(minutes=6), lease_until=T0 + timedelta(minutes=11), limit=10
        )
    assert [a.id for a in claimed] == ids[:2]
    assert [a.id for a in second] == ids[2:]
    assert sorted(a.id for a in after_lease if a.id is not None) == ids, "a crashed run's alerts come back"


def test_delivered_channels_come_from_the_log(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    with session_scope(engine) as session:
        a, b = add_alerts(session, rule="r", alerts=[("s1", {}), ("s2", {})], now=T0)
        record_delivery(
            session, rule="r", channel="slack:x", kind="digest", status="delivered", alert_ids=[a, b], at=T0
        )
        record_delivery(
            session, rule="r", channel="webhook:Y", kind="alert", status="failed", alert_ids=[a], at=T0
        )
        record_delivery(
            session, rule="r", channel="webhook:Y", kind="alert", status="delivered", alert_ids=[b], at=T0
        )
        channels = delivered_channels(session, alert_ids=[a, b])
    assert channels == {a: {"slack:x"}, b: {"slack:x", "webhook:Y"}}


def test_reading_alerts_and_sources_never_writes_them_back(sqlite_engine: Engine) -> None:
    seeder = Seeder(sqlite_engine, make_settings())
    seeder.source("x-main", health="failing", last_run_at=T0)
    with session_scope(sqlite_engine) as session:
        add_alerts(session, rule="r", alerts=[("s", {})], now=T0)
        record_delivery(session, rule="r", channel="c", kind="test", status="delivered", alert_ids=[], at=T0)
    with session_scope(sqlite_engine) as session:
        [source] = failing_sources(session)
        [alert] = list_alerts(session)
        [delivery] = list_deliveries(session)
        assert not session.dirty and not session.new
    assert source.last_run_at == alert.created_at == delivery.attempt_at == T0
    assert source.last_run_at is not None and source.last_run_at.tzinfo is not None


def test_an_uncertain_message_counts_as_carried_on_both_backends(engine: Engine) -> None:
    """Sent with no answer in time: never sent again on that channel, and counted in the digest allowance."""
    with session_scope(engine) as session:
        a, b = add_alerts(session, rule="r", alerts=[("s1", {}), ("s2", {})], now=T0)
        record_delivery(
            session,
            rule="r",
            channel="slack:webhook:H",
            kind="alert",
            status="uncertain",
            alert_ids=[a],
            at=T0,
        )
        record_delivery(
            session, rule="r", channel="slack:webhook:H", kind="alert", status="failed", alert_ids=[b], at=T0
        )
        channels = delivered_channels(session, alert_ids=[a, b])
        window = delivery_window(
            session, rule="r", channel="slack:webhook:H", since=T0 - timedelta(minutes=1)
        )
    assert channels == {a: {"slack:webhook:H"}}
    assert window.singles == 1
