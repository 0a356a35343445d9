"""The outbox: digests instead of floods, nothing lost, partial channels, missing configuration."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from tesoro.alerts.delivery import backoff, deliver_pending
from tesoro.alerts.jobs import alert_jobs
from tesoro.alerts.models import Links, Outgoing, OutgoingAlert
from tesoro.alerts.rules import evaluate_rules
from tesoro.alerts.webhook import JsonWebhookChannel, webhook_body
from tesoro.settings import Settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.slack import WEBHOOK_ROUTE
from tesoro.store.alerts import add_alerts, alert_status_counts, list_alerts, list_deliveries
from tesoro.store.engine import session_scope
from tesoro.store.tables import AlertDelivery, AlertDeliveryItem
from worlds.alerts import T0, Seeder, make_settings

SeederFor = Callable[[Settings], Seeder]
MIN = timedelta(minutes=1)


def no_sleep(_seconds: float) -> None:
    return None


def env_for(sim: SimulatorServer) -> dict[str, str]:
    return {"SLACK_WEBHOOK_URL": f"{sim.base_url}/slack/hooks/{sim.state.credentials.slack_webhook_path}"}


def burst_settings(**rule: object) -> Settings:
    return make_settings(
        [{"name": "mentions", "kind": "new_mention", "query": "andes", **rule}],
        slack={"webhook_url_env": "SLACK_WEBHOOK_URL"},
    )


def test_a_burst_of_1000_mentions_is_one_digest_and_every_alert_is_accounted_for(
    sim: SimulatorServer, seeder_for: SeederFor
) -> None:
    seeder = seeder_for(burst_settings())
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    seeder.posts([f"cumbre #{i} is here" for i in range(1000)], collected_at=T0 + MIN, handle="fan{i}")
    report = evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    assert report.alerts == 1000

    # The first attempt is rate-limited then refused by a server error past the retries: nothing lost.
    sim.state.faults.inject(WEBHOOK_ROUTE, Fault.RATE_LIMIT)
    sim.state.faults.inject(WEBHOOK_ROUTE, Fault.SERVER_ERROR, times=3)
    env = env_for(sim)
    first = deliver_pending(seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=env, sleep=no_sleep)
    assert (first.delivered, first.pending, first.messages) == (0, 1000, 0)
    second = deliver_pending(seeder.engine, seeder.settings, now=T0 + 5 * MIN, environ=env, sleep=no_sleep)
    assert (second.delivered, second.pending, second.messages, second.digests) == (1000, 0, 1, 1)

    [digest] = sim.state.slack_messages
    assert digest["blocks"][0]["text"]["text"] == "1000 alerts: New mention · andes"
    with session_scope(seeder.engine) as session:
        assert alert_status_counts(session) == {"delivered": 1000}
        delivered_ids = set(
            session.execute(
                select(col(AlertDeliveryItem.alert_id))
                .join(AlertDelivery, col(AlertDelivery.id) == col(AlertDeliveryItem.delivery_id))
                .where(col(AlertDelivery.status) == "delivered")
            ).scalars()
        )
        all_ids = {a.id for a in list_alerts(session, limit=5000)}
        log = [(d.kind, d.status, d.alert_count) for d in reversed(list_deliveries(session))]
    assert delivered_ids == all_ids and len(all_ids) == 1000
    assert log == [("digest", "failed", 1000), ("digest", "delivered", 1000)]

    # More arrive within the digest window: held back, then one more digest, not a flood.
    seeder.posts([f"cumbre late {i}" for i in range(30)], collected_at=T0 + 6 * MIN, handle="late{i}")
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 7 * MIN)
    held = deliver_pending(seeder.engine, seeder.settings, now=T0 + 8 * MIN, environ=env)
    assert (held.messages, held.pending) == (0, 30)
    with session_scope(seeder.engine) as session:
        waiting = list_alerts(session, status="pending", limit=100)
    assert {a.next_attempt_at for a in waiting} == {T0 + 5 * MIN + timedelta(minutes=10)}
    done = deliver_pending(seeder.engine, seeder.settings, now=T0 + 15 * MIN, environ=env)
    assert (done.messages, done.digests, done.delivered) == (1, 1, 30)
    assert len(sim.state.slack_messages) == 2


def test_a_few_alerts_go_one_by_one_then_the_rest_of_the_window_becomes_a_digest(
    sim: SimulatorServer, seeder_for: SeederFor
) -> None:
    seeder = seeder_for(burst_settings(digest_after=5, digest_window="10m"))
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    env = env_for(sim)
    seeder.posts([f"cumbre {i}" for i in range(3)], collected_at=T0 + MIN, handle="a{i}")
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    assert deliver_pending(seeder.engine, seeder.settings, now=T0 + 2 * MIN, environ=env).messages == 3
    seeder.posts([f"cumbre more {i}" for i in range(4)], collected_at=T0 + 3 * MIN, handle="b{i}")
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 4 * MIN)
    report = deliver_pending(seeder.engine, seeder.settings, now=T0 + 4 * MIN, environ=env)
    assert (report.messages, report.digests, report.delivered) == (1, 1, 4)
    headers = [m["blocks"][0]["text"]["text"] for m in sim.state.slack_messages]
    assert headers == ["New mention · andes"] * 3 + ["4 alerts: New mention · andes"]


def test_a_second_channel_failing_retries_only_that_channel(
    sim: SimulatorServer, seeder_for: SeederFor
) -> None:
    received: list[dict[str, object]] = []
    answers = iter([503, 503, 503, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 200:
            received.append(json.loads(request.content))
        return httpx.Response(status, text="ok" if status == 200 else "down")

    seeder = seeder_for(burst_settings(json_webhook_url_env="ACME_WEBHOOK_URL"))
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    seeder.posts(["cumbre"], collected_at=T0 + MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    env = {**env_for(sim), "ACME_WEBHOOK_URL": "https://hooks.example/tesoro"}
    transport = httpx.MockTransport(handler)

    first = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=env, sleep=no_sleep, transport=transport
    )
    assert (first.messages, first.failed_messages, first.pending) == (1, 1, 1)
    second = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 4 * MIN, environ=env, sleep=no_sleep, transport=transport
    )
    assert (second.messages, second.delivered) == (1, 1)
    assert len(sim.state.slack_messages) == 1, "Slack already had it: not sent twice"
    [body] = received
    assert body["type"] == "tesoro.alert" and body["rule"] == "mentions" and body["count"] == 1


def test_without_any_channel_alerts_wait_and_say_why(seeder_for: SeederFor) -> None:
    seeder = seeder_for(make_settings([{"name": "mentions", "kind": "new_mention", "query": "andes"}]))
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    seeder.posts(["cumbre"], collected_at=T0 + MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    report = deliver_pending(seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ={})
    assert (report.delivered, report.pending) == (0, 1)
    with session_scope(seeder.engine) as session:
        [alert] = list_alerts(session)
        [log] = list_deliveries(session)
    assert alert.status == "pending" and "no delivery channel" in (alert.last_error or "")
    assert alert.next_attempt_at == T0 + 3 * MIN + backoff(1)
    assert (log.channel, log.status, log.alert_count) == ("none", "failed", 1)


def test_a_missing_secret_keeps_the_alert_pending_naming_the_variable(
    sim: SimulatorServer, seeder_for: SeederFor
) -> None:
    seeder = seeder_for(burst_settings())
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    seeder.posts(["cumbre"], collected_at=T0 + MIN)
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    deliver_pending(seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ={})
    with session_scope(seeder.engine) as session:
        [alert] = list_alerts(session)
    assert alert.status == "pending"
    assert "SLACK_WEBHOOK_URL is not set" in (alert.last_error or "")
    # Once the operator exports it, the next due run delivers.
    later = deliver_pending(seeder.engine, seeder.settings, now=T0 + 10 * MIN, environ=env_for(sim))
    assert later.delivered == 1


def test_a_long_retry_after_reschedules_instead_of_sleeping(seeder_for: SeederFor) -> None:
    seeder = seeder_for(
        make_settings([{"name": "m", "kind": "new_mention", "json_webhook_url_env": "OPS_WEBHOOK_URL"}])
    )
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    with session_scope(seeder.engine) as session:
        add_alerts(session, rule="m", alerts=[("x", {"kind": "new_mention", "summary": "hi"})], now=T0)
    slept: list[float] = []
    transport = httpx.MockTransport(lambda request: httpx.Response(429, headers={"Retry-After": "120"}))
    report = deliver_pending(
        seeder.engine,
        seeder.settings,
        now=T0 + MIN,
        environ={"OPS_WEBHOOK_URL": "https://hooks.example/x"},
        sleep=slept.append,
        transport=transport,
    )
    assert report.pending == 1 and slept == []
    with session_scope(seeder.engine) as session:
        [alert] = list_alerts(session)
        [log] = list_deliveries(session)
    assert alert.next_attempt_at == T0 + MIN + timedelta(seconds=120)
    assert (log.status, log.http_status) == ("rate_limited", 429)


def test_the_json_webhook_body_carries_raw_data_and_an_escaped_text_line() -> None:
    alerts = tuple(
        OutgoingAlert(i, "m", f"post:{i}", {"title": "New mention", "summary": "<!here> hi", "rank": i}, T0)
        for i in range(1, 16)
    )
    body = webhook_body(Outgoing("m", "digest", alerts), Links("https://tesoro.example"))
    assert body["type"] == "tesoro.digest" and body["count"] == 15
    assert [a["id"] for a in body["alerts"]][:3] == [15, 14, 13]
    assert sum("payload" in a for a in body["alerts"]) == 10
    assert body["alerts"][0]["payload"]["summary"] == "<!here> hi", "raw for machines"
    assert "<!here>" not in body["text"] and "&lt;!here&gt;" in body["text"]


def test_the_json_webhook_retries_server_errors_with_backoff() -> None:
    answers = iter([500, 502, 200])
    slept: list[float] = []
    channel = JsonWebhookChannel(
        key="webhook:X",
        url="https://hooks.example/x",
        links=Links(),
        sleep=slept.append,
        transport=httpx.MockTransport(lambda request: httpx.Response(next(answers))),
    )
    result = channel.send(Outgoing("m", "test"))
    assert result.ok and result.retries == 2 and slept == [1.0, 2.0]


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_nothing_due_means_nothing_sent(seeder_for: SeederFor) -> None:
    seeder = seeder_for(burst_settings())
    assert deliver_pending(seeder.engine, seeder.settings, now=T0, environ={}).claimed == 0
    with session_scope(seeder.engine) as session:
        assert session.execute(select(func.count()).select_from(AlertDelivery)).scalar_one() == 0


def test_alert_jobs_evaluate_and_deliver(sim: SimulatorServer, seeder_for: SeederFor) -> None:
    seeder = seeder_for(burst_settings())
    jobs = alert_jobs(seeder.engine, seeder.settings, env_for(sim), evaluate_every_s=45, deliver_every_s=20)
    assert [(j.id, j.interval_s) for j in jobs] == [("alerts:evaluate", 45), ("alerts:deliver", 20)]
    evaluate, deliver = (j.func for j in jobs)
    evaluate()  # creates the rule "now": posts collected from here on are new
    seeder.posts(["cumbre live"], collected_at=datetime.now(UTC) + timedelta(seconds=1))
    assert evaluate().alerts == 1  # type: ignore[attr-defined]
    assert deliver().delivered == 1  # type: ignore[attr-defined]
    assert len(sim.state.slack_messages) == 1


def test_every_send_of_one_message_carries_the_same_idempotency_key() -> None:
    """A JSON webhook receiver can drop a repeat: the retry (and a later run's resend) repeat the key."""
    seen: list[tuple[str, str]] = []
    answers = iter([503, 200, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["Idempotency-Key"], json.loads(request.content)["delivery_key"]))
        return httpx.Response(next(answers))

    channel = JsonWebhookChannel(
        key="webhook:X",
        url="https://hooks.example/x",
        links=Links(),
        sleep=no_sleep,
        transport=httpx.MockTransport(handler),
    )
    alerts = tuple(OutgoingAlert(i, "m", f"post:{i}", {}, T0) for i in (3, 1, 2))
    assert channel.send(Outgoing("m", "digest", alerts)).ok
    assert channel.send(Outgoing("m", "digest", tuple(reversed(alerts)))).ok, "the next run, same alerts"
    assert len({key for pair in seen for key in pair}) == 1 and seen[0][0].startswith("digest:")
    other = Outgoing("m", "digest", alerts[:2]).delivery_key
    assert other != seen[0][0] and Outgoing("m", "test").delivery_key != Outgoing("m", "test").delivery_key
