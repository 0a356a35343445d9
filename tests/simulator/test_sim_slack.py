"""The simulator's Slack routes, driven by the real slack_sdk clients.

slack_sdk uses urllib, so only a real local server can stand in for Slack; these tests
pin what Tesoro's alert sender will rely on: accepted messages are recorded, auth and
payload errors look like Slack's, and 429/5xx behave as slack_sdk's retry handlers expect.
"""

from __future__ import annotations

import json

import httpx
import pytest
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from tesoro.simulator.faults import Fault
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.slack import HISTORY_ROUTE, POST_ROUTE, WEBHOOK_ROUTE

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*New treasure* from @lucia_trails"}}]


def web_client(sim: SimulatorServer, token: str | None = None, **options: object) -> WebClient:
    token = token if token is not None else sim.state.credentials.slack_bot_token
    return WebClient(token=token, base_url=f"{sim.base_url}/slack/api/", timeout=5, **options)  # type: ignore[arg-type]


def webhook_client(sim: SimulatorServer, path: str | None = None, **options: object) -> WebhookClient:
    path = path if path is not None else sim.state.credentials.slack_webhook_path
    return WebhookClient(f"{sim.base_url}/slack/hooks/{path}", timeout=5, **options)  # type: ignore[arg-type]


def test_chat_post_message_answers_like_slack_and_is_recorded(sim: SimulatorServer) -> None:
    client = web_client(sim)
    first = client.chat_postMessage(channel="#tesoro-alerts", text="New treasure found", blocks=BLOCKS)
    second = client.chat_postMessage(channel="C0123456789", text="Another one")

    assert first["ok"] is True
    assert first["channel"].startswith("C") and first["channel"] != "#tesoro-alerts"
    assert first["message"]["text"] == "New treasure found"
    assert first["message"]["blocks"] == BLOCKS
    assert second["channel"] == "C0123456789"
    assert float(second["ts"]) > float(first["ts"])

    recorded = sim.state.slack_messages
    assert [m["route"] for m in recorded] == ["chat.postMessage", "chat.postMessage"]
    assert recorded[0]["channel"] == first["channel"]
    assert recorded[0]["text"] == "New treasure found"
    assert recorded[0]["blocks"] == BLOCKS
    assert recorded[0]["ts"] == first["ts"]
    assert "token" not in recorded[0]["payload"]


def test_a_form_encoded_post_is_accepted_too(sim: SimulatorServer) -> None:
    response = web_client(sim).api_call(
        "chat.postMessage", data={"channel": "C0123456789", "text": "", "blocks": json.dumps(BLOCKS)}
    )
    assert response["ok"] is True
    assert sim.state.slack_messages[-1]["blocks"] == BLOCKS

    # Slack also takes the token as a form field instead of the Authorization header.
    with httpx.Client(trust_env=False, timeout=5) as http:
        raw = http.post(
            f"{sim.base_url}/slack/api/chat.postMessage",
            data={"token": sim.state.credentials.slack_bot_token, "channel": "alerts", "text": "hi"},
        )
    assert raw.status_code == 200 and raw.json()["ok"] is True
    assert sim.state.slack_messages[-1]["text"] == "hi"


@pytest.mark.parametrize(
    ("token", "fields", "error"),
    [
        ("xoxb-wrong", {"channel": "C0123456789", "text": "hi"}, "invalid_auth"),
        (None, {"text": "hi"}, "channel_not_found"),
        (None, {"channel": "C0123456789"}, "no_text"),
    ],
)
def test_refusals_raise_slack_api_error(
    sim: SimulatorServer, token: str | None, fields: dict[str, str], error: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        web_client(sim, token).api_call("chat.postMessage", json=fields)
    assert raised.value.response.status_code == 200
    assert raised.value.response["ok"] is False
    assert raised.value.response["error"] == error
    assert sim.state.slack_messages == []


def test_a_429_carries_retry_after_zero_and_the_rate_limit_handler_retries(sim: SimulatorServer) -> None:
    sim.state.faults.inject(POST_ROUTE, Fault.RATE_LIMIT)
    with pytest.raises(SlackApiError) as raised:
        web_client(sim).chat_postMessage(channel="C0123456789", text="too fast")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] in ("0", ["0"])
    assert raised.value.response["error"] == "ratelimited"
    assert sim.state.slack_messages == []

    sim.state.faults.inject(POST_ROUTE, Fault.RATE_LIMIT)
    patient = web_client(sim, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert patient.chat_postMessage(channel="C0123456789", text="eventually")["ok"] is True
    assert sim.state.faults.calls[POST_ROUTE] == 3
    assert [m["text"] for m in sim.state.slack_messages] == ["eventually"]


def test_a_server_error_surfaces_or_is_retried(sim: SimulatorServer) -> None:
    sim.state.faults.inject(POST_ROUTE, Fault.SERVER_ERROR)
    with pytest.raises(SlackApiError) as raised:
        web_client(sim).chat_postMessage(channel="C0123456789", text="boom")
    assert raised.value.response.status_code >= 500

    sim.state.faults.inject(POST_ROUTE, Fault.SERVER_ERROR)
    handler = ServerErrorRetryHandler(
        max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.0)
    )
    assert web_client(sim, retry_handlers=[handler]).chat_postMessage(channel="C0123456789", text="ok now")[
        "ok"
    ]
    assert [m["text"] for m in sim.state.slack_messages] == ["ok now"]


def test_webhook_delivers_and_is_recorded(sim: SimulatorServer) -> None:
    response = webhook_client(sim).send(text="Weekly digest ready", blocks=BLOCKS)
    assert (response.status_code, response.body) == (200, "ok")
    recorded = sim.state.slack_messages[-1]
    assert recorded["route"] == "webhook"
    assert recorded["text"] == "Weekly digest ready"
    assert recorded["blocks"] == BLOCKS


def test_webhook_wrong_path_is_404_no_service(sim: SimulatorServer) -> None:
    response = webhook_client(sim, "T000/B000/not-the-secret").send(text="hello?")
    assert (response.status_code, response.body) == (404, "no_service")
    assert sim.state.slack_messages == []


def test_webhook_without_text_is_400(sim: SimulatorServer) -> None:
    response = webhook_client(sim).send_dict({"unfurl_links": False})
    assert (response.status_code, response.body) == (400, "no_text")


def test_webhook_rate_limit_is_retried_by_the_handler(sim: SimulatorServer) -> None:
    sim.state.faults.inject(WEBHOOK_ROUTE, Fault.RATE_LIMIT)
    plain = webhook_client(sim).send(text="first try")
    assert plain.status_code == 429
    assert plain.headers["Retry-After"] in ("0", ["0"])

    sim.state.faults.inject(WEBHOOK_ROUTE, Fault.RATE_LIMIT)
    patient = webhook_client(sim, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    response = patient.send(text="second try")
    assert (response.status_code, response.body) == (200, "ok")
    assert [m["text"] for m in sim.state.slack_messages] == ["second try"]


def test_conversations_history_answers_the_channels_posts_with_their_metadata(sim: SimulatorServer) -> None:
    client = web_client(sim)
    meta = {"event_type": "tesoro_alert", "event_payload": {"delivery_key": "alert:abc"}}
    first = client.chat_postMessage(channel="#alerts", text="one", metadata=meta)
    client.chat_postMessage(channel="#elsewhere", text="other channel")
    second = client.chat_postMessage(channel="#alerts", text="two")

    history = client.conversations_history(channel="#alerts", include_all_metadata=True)
    assert [m["ts"] for m in history["messages"]] == [second["ts"], first["ts"]], "newest first, one channel"
    assert history["messages"][1]["metadata"] == meta and "metadata" not in history["messages"][0]
    assert sim.state.slack_messages[0]["metadata"] == meta
    # Without include_all_metadata Slack leaves the metadata out; `oldest` is exclusive.
    plain = client.conversations_history(channel="#alerts", oldest=first["ts"])
    assert [m["ts"] for m in plain["messages"]] == [second["ts"]] and "metadata" not in plain["messages"][0]
    with pytest.raises(SlackApiError) as refused:
        web_client(sim, token="xoxb-wrong").conversations_history(channel="#alerts")
    assert refused.value.response["error"] == "invalid_auth"
    sim.state.faults.inject(HISTORY_ROUTE, Fault.AUTH)
    with pytest.raises(SlackApiError):
        client.conversations_history(channel="#alerts")


def test_bad_metadata_is_refused_like_slack(sim: SimulatorServer) -> None:
    with pytest.raises(SlackApiError) as refused:
        web_client(sim).chat_postMessage(channel="#alerts", text="x", metadata={"event_type": "t"})
    assert refused.value.response["error"] == "invalid_metadata" and sim.state.slack_messages == []


@pytest.mark.parametrize("route", [POST_ROUTE, WEBHOOK_ROUTE])
def test_slow_ok_posts_the_message_and_answers_after_the_client_gave_up(
    sim: SimulatorServer, route: str
) -> None:
    sim.state.timeout_hold_s = 1.6
    sim.state.faults.inject(route, Fault.SLOW_OK)
    with pytest.raises(TimeoutError):
        if route == POST_ROUTE:
            token = sim.state.credentials.slack_bot_token
            WebClient(token=token, base_url=f"{sim.base_url}/slack/api/", timeout=1).chat_postMessage(
                channel="#alerts", text="late"
            )
        else:
            path = sim.state.credentials.slack_webhook_path
            WebhookClient(f"{sim.base_url}/slack/hooks/{path}", timeout=1).send(text="late")
    [message] = sim.state.slack_messages
    assert message["text"] == "late" and sim.state.faults.calls[route] == 1
    # The fault is used up: the next call answers at once.
    assert web_client(sim).chat_postMessage(channel="#alerts", text="next")["ok"] is True
