"""Delivery through the real slack_sdk clients against the simulator's Slack routes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebhookClient

from tesoro.alerts.blocks import escape, render
from tesoro.alerts.delivery import deliver_pending, send_test
from tesoro.alerts.models import Links, Outgoing, OutgoingAlert
from tesoro.alerts.rules import evaluate_rules
from tesoro.alerts.slack import SlackWebhookChannel
from tesoro.settings import Settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.slack import HISTORY_ROUTE, POST_ROUTE, WEBHOOK_ROUTE
from tesoro.store.alerts import list_alerts, list_deliveries
from tesoro.store.engine import session_scope
from worlds.alerts import T0, Seeder, make_settings

SeederFor = Callable[[Settings], Seeder]
MIN = timedelta(minutes=1)
HOSTILE = "<script>alert(1)</script> <!channel> @here & <https://evil.example|Tesoro login> <@U0ADMIN>"


class Sleeps:
    """Records the waits a client asked for instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def slack_env(sim: SimulatorServer) -> dict[str, str]:
    creds = sim.state.credentials
    return {
        "SLACK_WEBHOOK_URL": f"{sim.base_url}/slack/hooks/{creds.slack_webhook_path}",
        "SLACK_BOT_TOKEN": creds.slack_bot_token,
    }


def webhook_settings(**rule: Any) -> Settings:
    return make_settings(
        [{"name": "mentions", "kind": "new_mention", "query": "andes", **rule}],
        slack={"webhook_url_env": "SLACK_WEBHOOK_URL", "app_base_url": "https://tesoro.example"},
    )


def bot_settings(sim: SimulatorServer, **rule: Any) -> Settings:
    return make_settings(
        [{"name": "mentions", "kind": "new_mention", "query": "andes", "channel": "#community", **rule}],
        slack={
            "bot_token_env": "SLACK_BOT_TOKEN",
            "api_base_url": f"{sim.base_url}/slack/api/",
            "default_channel": "#alerts",
            "app_base_url": "https://tesoro.example",
        },
    )


def one_mention(seeder: Seeder, text: str = "My Cumbre shoes are great") -> int:
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    [post_id] = seeder.posts([text], collected_at=T0 + MIN, followers=12_300, handle="lucia")
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    return post_id


def texts_in(blocks: Any) -> list[str]:
    """Every string inside a Block Kit structure."""
    if isinstance(blocks, str):
        return [blocks]
    if isinstance(blocks, dict):
        return [t for v in blocks.values() for t in texts_in(v)]
    if isinstance(blocks, list):
        return [t for v in blocks for t in texts_in(v)]
    return []


def test_an_alert_goes_out_through_the_incoming_webhook(sim: SimulatorServer, seeder_for: SeederFor) -> None:
    seeder = seeder_for(webhook_settings())
    post_id = one_mention(seeder)
    report = deliver_pending(seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=slack_env(sim))

    assert (report.delivered, report.pending, report.messages) == (1, 0, 1)
    [message] = sim.state.slack_messages
    assert message["route"] == "webhook"
    blocks = message["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "New mention · andes"}}
    body = "\n".join(texts_in(blocks))
    assert "> My Cumbre shoes are great" in body
    assert "12.3k followers" in body
    assert f"https://tesoro.example/ui/queue?post={post_id}" in texts_in(blocks)
    assert "https://x.com/lucia/status/1" in texts_in(blocks)
    assert message["payload"]["unfurl_links"] is False

    with session_scope(seeder.engine) as session:
        [alert] = list_alerts(session)
        [log] = list_deliveries(session)
    assert alert.status == "delivered" and alert.delivered_at == T0 + 3 * MIN and alert.attempts == 1
    assert (log.channel, log.kind, log.status, log.http_status) == (
        "slack:webhook:SLACK_WEBHOOK_URL",
        "alert",
        "delivered",
        200,
    )


def test_a_bot_token_posts_to_the_rules_channel(sim: SimulatorServer, seeder_for: SeederFor) -> None:
    seeder = seeder_for(bot_settings(sim))
    one_mention(seeder)
    deliver_pending(seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=slack_env(sim))
    [message] = sim.state.slack_messages
    assert message["route"] == "chat.postMessage"
    assert message["payload"]["channel"] == "#community"
    with session_scope(seeder.engine) as session:
        [log] = list_deliveries(session)
    assert log.channel == "slack:#community" and log.response == message["ts"]


def test_a_429_is_retried_after_retry_after_in_the_same_run(
    sim: SimulatorServer, seeder_for: SeederFor
) -> None:
    seeder = seeder_for(bot_settings(sim))
    one_mention(seeder)
    sim.state.faults.inject(POST_ROUTE, Fault.RATE_LIMIT, times=2)
    sleeps = Sleeps()
    report = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=slack_env(sim), sleep=sleeps
    )
    assert report.delivered == 1
    assert sleeps.calls == [0.0, 0.0], "Retry-After: 0 from the simulator, honoured twice"
    assert sim.state.faults.calls[POST_ROUTE] == 3
    assert len(sim.state.slack_messages) == 1
    with session_scope(seeder.engine) as session:
        [log] = list_deliveries(session)
    assert log.status == "delivered" and log.retries == 2


def test_a_5xx_is_retried_with_backoff_then_delivered(sim: SimulatorServer, seeder_for: SeederFor) -> None:
    seeder = seeder_for(webhook_settings())
    one_mention(seeder)
    sim.state.faults.inject(WEBHOOK_ROUTE, Fault.SERVER_ERROR, times=2)
    sleeps = Sleeps()
    report = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=slack_env(sim), sleep=sleeps
    )
    assert report.delivered == 1
    assert sleeps.calls == [1.0, 2.0]
    assert len(sim.state.slack_messages) == 1


def test_an_alert_that_keeps_failing_stays_pending_and_goes_out_on_a_later_run(
    sim: SimulatorServer, seeder_for: SeederFor
) -> None:
    seeder = seeder_for(webhook_settings())
    one_mention(seeder)
    env = slack_env(sim)
    sim.state.faults.inject(WEBHOOK_ROUTE, Fault.SERVER_ERROR, times=4)  # 1 try + 3 retries
    first = deliver_pending(seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=env, sleep=Sleeps())
    assert (first.delivered, first.pending, first.failed_messages) == (0, 1, 1)
    with session_scope(seeder.engine) as session:
        [alert] = list_alerts(session)
    assert alert.status == "pending" and alert.attempts == 1
    assert alert.next_attempt_at == T0 + 3 * MIN + timedelta(seconds=30)
    assert alert.last_error is not None and "503" in alert.last_error

    calls = sim.state.faults.calls[WEBHOOK_ROUTE]
    early = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 3 * MIN + timedelta(seconds=10), environ=env
    )
    assert early.claimed == 0 and sim.state.faults.calls[WEBHOOK_ROUTE] == calls, "not due yet: not tried"

    later = deliver_pending(seeder.engine, seeder.settings, now=T0 + 4 * MIN, environ=env, sleep=Sleeps())
    assert later.delivered == 1 and len(sim.state.slack_messages) == 1
    with session_scope(seeder.engine) as session:
        [alert] = list_alerts(session)
        statuses = [d.status for d in reversed(list_deliveries(session))]
    assert alert.status == "delivered" and alert.attempts == 2 and alert.last_error is None
    assert statuses == ["failed", "delivered"]


def test_hostile_post_text_is_inert_in_block_kit(sim: SimulatorServer, seeder_for: SeederFor) -> None:
    seeder = seeder_for(webhook_settings())
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    seeder.posts([f"cumbre {HOSTILE}"], collected_at=T0 + MIN, handle="mallory")
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + 2 * MIN)
    deliver_pending(seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=slack_env(sim))

    [message] = sim.state.slack_messages
    strings = [*texts_in(message["blocks"]), message["text"]]
    body = "\n".join(strings)
    for raw in ("<script>", "<!channel>", "<https://evil.example", "<@U0ADMIN>"):
        assert raw not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt;" in body
    assert "&amp;" in body
    assert "@here" not in body and "@\u2060here" in body
    # The only raw '<' left are our own links, to URLs we chose or checked.
    for text in strings:
        for chunk in text.split("<")[1:]:
            assert chunk.startswith(("https://x.com/", "https://tesoro.example/")), chunk


def test_escape_covers_slack_control_characters_and_broadcasts() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert (
        escape("@channel and @Everyone, not @hereford") == "@\u2060channel and @\u2060Everyone, not @hereford"
    )


def test_a_digest_renders_counts_and_top_items_within_slack_limits() -> None:
    alerts = tuple(
        OutgoingAlert(
            i,
            "mentions",
            f"post:{i}",
            {
                "kind": "new_mention",
                "title": "New mention",
                "rank": float(i),
                "post": {
                    "id": i,
                    "platform": "x",
                    "text": "<b>" * 400,
                    "author": {"handle": f"u{i}", "followers": i},
                },
            },
            T0 + timedelta(seconds=i),
        )
        for i in range(1, 301)
    )
    message = render(Outgoing("mentions", "digest", alerts), Links("https://tesoro.example"))
    assert message.blocks[0]["text"]["text"] == "300 alerts: New mention"
    body = "\n".join(texts_in(message.blocks))
    assert "*300* alerts for rule *mentions*" in body
    assert "@u300" in body and "@u291" in body and "@u290" not in body, "the 10 highest-ranked, by rank"
    assert "…and 290 more" in body
    assert "<b>" not in body
    assert len(message.blocks) <= 50
    assert all(len(t) <= 3000 for t in texts_in(message.blocks))


def test_send_test_reaches_every_channel_and_is_logged(sim: SimulatorServer, seeder_for: SeederFor) -> None:
    seeder = seeder_for(webhook_settings())
    results = send_test(
        seeder.settings, seeder.settings.alerts[0], environ=slack_env(sim), engine=seeder.engine
    )
    assert [(key, r.status) for key, r in results] == [("slack:webhook:SLACK_WEBHOOK_URL", "delivered")]
    assert sim.state.slack_messages[0]["blocks"][0]["text"]["text"] == "Tesoro test alert"
    with session_scope(seeder.engine) as session:
        [log] = list_deliveries(session)
    assert log.kind == "test" and log.alert_count == 0


@pytest.mark.parametrize("path", ["T000/B000/wrong"])
def test_a_refused_webhook_is_a_failure_with_slacks_reason(sim: SimulatorServer, path: str) -> None:
    channel = SlackWebhookChannel(
        key="k", url=f"{sim.base_url}/slack/hooks/{path}", links=Links(), sleep=Sleeps()
    )
    result = channel.send(Outgoing("r", "test"))
    assert result.status == "failed" and result.http_status == 404 and "no_service" in (result.error or "")
    # slack_sdk itself agrees the route exists and answers like Slack.
    assert WebhookClient(f"{sim.base_url}/slack/hooks/{path}").send(text="x").status_code == 404
    assert json.dumps(sim.state.slack_messages) == "[]"


# --- a 200 that arrives after the client's timeout: posted once (issue 17, item 11) -----------------


@pytest.fixture
def slow_sim(sim: SimulatorServer) -> SimulatorServer:
    """The simulator holding a slow answer 1.6 s: past the 1 s client timeout the settings below set."""
    sim.state.timeout_hold_s = 1.6
    return sim


def test_a_bot_post_answered_after_the_timeout_is_found_in_the_channel_not_posted_twice(
    slow_sim: SimulatorServer, seeder_for: SeederFor
) -> None:
    settings = bot_settings(slow_sim)
    settings = settings.model_copy(update={"slack": settings.slack.model_copy(update={"timeout_s": 1.0})})
    seeder = seeder_for(settings)
    one_mention(seeder)
    slow_sim.state.faults.inject(POST_ROUTE, Fault.SLOW_OK)
    sleeps = Sleeps()
    report = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=slack_env(slow_sim), sleep=sleeps
    )

    [message] = slow_sim.state.slack_messages
    assert message["metadata"]["event_type"] == "tesoro_alert"
    assert message["metadata"]["event_payload"]["delivery_key"].startswith("alert:")
    assert slow_sim.state.faults.calls[POST_ROUTE] == 1, "looked up, not posted again"
    assert slow_sim.state.faults.calls[HISTORY_ROUTE] == 1
    assert (report.delivered, report.messages, report.uncertain) == (1, 1, 0)
    with session_scope(seeder.engine) as session:
        [log] = list_deliveries(session)
        [alert] = list_alerts(session)
    assert log.status == "delivered" and (log.response or "").startswith(message["ts"])
    assert alert.status == "delivered"
    # Nothing is left to send: the next run posts nothing.
    deliver_pending(seeder.engine, seeder.settings, now=T0 + 10 * MIN, environ=slack_env(slow_sim))
    assert len(slow_sim.state.slack_messages) == 1


def test_a_bot_post_lost_before_slack_is_posted_again_with_the_same_key(
    sim: SimulatorServer, seeder_for: SeederFor
) -> None:
    """A timeout where Slack posted nothing (the TIMEOUT fault records nothing): looked up, then posted."""
    sim.state.timeout_hold_s = 1.6
    settings = bot_settings(sim)
    settings = settings.model_copy(update={"slack": settings.slack.model_copy(update={"timeout_s": 1.0})})
    seeder = seeder_for(settings)
    one_mention(seeder)
    sim.state.faults.inject(POST_ROUTE, Fault.TIMEOUT)
    report = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=slack_env(sim), sleep=Sleeps()
    )
    [message] = sim.state.slack_messages
    assert sim.state.faults.calls[POST_ROUTE] == 2 and sim.state.faults.calls[HISTORY_ROUTE] == 1
    assert report.delivered == 1
    with session_scope(seeder.engine) as session:
        [log] = list_deliveries(session)
    assert log.status == "delivered" and log.response == message["ts"] and log.retries == 1


def test_a_bot_post_that_cannot_be_looked_up_is_uncertain_and_not_posted_twice(
    slow_sim: SimulatorServer, seeder_for: SeederFor
) -> None:
    """Without the history scope (here: the lookup refused) the post is "uncertain", as a webhook's."""
    settings = bot_settings(slow_sim)
    settings = settings.model_copy(update={"slack": settings.slack.model_copy(update={"timeout_s": 1.0})})
    seeder = seeder_for(settings)
    one_mention(seeder)
    slow_sim.state.faults.inject(POST_ROUTE, Fault.SLOW_OK)
    slow_sim.state.faults.inject(HISTORY_ROUTE, Fault.AUTH)
    report = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=slack_env(slow_sim), sleep=Sleeps()
    )
    assert (report.delivered, report.uncertain) == (1, 1)
    with session_scope(seeder.engine) as session:
        [log] = list_deliveries(session)
    assert log.status == "uncertain" and "could not be checked" in (log.error or "")
    deliver_pending(seeder.engine, seeder.settings, now=T0 + 10 * MIN, environ=slack_env(slow_sim))
    assert len(slow_sim.state.slack_messages) == 1


@pytest.mark.parametrize("resend", [False, True])
def test_a_webhook_post_answered_after_the_timeout(
    slow_sim: SimulatorServer, seeder_for: SeederFor, resend: bool
) -> None:
    """A webhook cannot be asked: by default the post is "uncertain" and never sent again (one message);
    with resend_after_timeout it is sent again at the next run (the documented duplicate)."""
    settings = webhook_settings()
    slack = settings.slack.model_copy(update={"timeout_s": 1.0, "resend_after_timeout": resend})
    seeder = seeder_for(settings.model_copy(update={"slack": slack}))
    one_mention(seeder)
    slow_sim.state.faults.inject(WEBHOOK_ROUTE, Fault.SLOW_OK)
    sleeps = Sleeps()
    first = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 3 * MIN, environ=slack_env(slow_sim), sleep=sleeps
    )
    assert slow_sim.state.faults.calls[WEBHOOK_ROUTE] == 1, "a timeout is not retried in the run"
    assert len(slow_sim.state.slack_messages) == 1
    later = deliver_pending(
        seeder.engine, seeder.settings, now=T0 + 2 * 60 * MIN, environ=slack_env(slow_sim), sleep=sleeps
    )
    with session_scope(seeder.engine) as session:
        logs = list_deliveries(session)
        [alert] = list_alerts(session)
    if not resend:
        assert (first.delivered, first.uncertain, later.claimed) == (1, 1, 0)
        assert [log.status for log in logs] == ["uncertain"] and alert.status == "delivered"
        assert "not sent again" in (logs[0].error or "")
        assert len(slow_sim.state.slack_messages) == 1
    else:
        assert (first.pending, later.delivered) == (1, 1)
        assert [log.status for log in logs] == ["delivered", "failed"]
        assert "may appear twice" in (logs[1].error or "")
        assert len(slow_sim.state.slack_messages) == 2
