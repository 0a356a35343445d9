"""Slack's `chat.postMessage` and incoming webhooks, as `slack_sdk` sees them.

slack_sdk talks to Slack through urllib, which HTTP mocks cannot intercept, so Tesoro's
alert sender is tested against these routes with the real `WebClient` and
`WebhookClient`:

| route | fault name |
| --- | --- |
| `POST /slack/api/chat.postMessage` | `slack.post` |
| `GET/POST /slack/api/conversations.history` | `slack.history` |
| `POST /slack/hooks/{a}/{b}/{c}` | `slack.webhook` |

What they do, as Slack does:

- `chat.postMessage` takes the bot token from `Authorization: Bearer` (or a `token`
  field in a form body) and answers every failure with HTTP 200 and
  `{"ok": false, "error": ...}`, which slack_sdk turns into `SlackApiError`:
  `not_authed` (no token), `invalid_auth` (wrong token), `invalid_json`,
  `invalid_blocks`, `channel_not_found` (no channel), `no_text` (no text, blocks or
  attachments). The body is JSON (slack_sdk's choice for this method) or a form,
  parsed with `urllib.parse.parse_qs` so the simulator needs no python-multipart; in a
  form, `blocks` and `attachments` are JSON strings, as Slack expects. A success is
  `{"ok": true, "channel": <id>, "ts": <unique, increasing>, "message": {...}}`.
- A webhook URL is valid only when `{a}/{b}/{c}` equals
  `credentials.slack_webhook_path`; otherwise 404 `no_service`. A good post answers
  the plain text `ok`; a bad payload 400 `invalid_payload`, a missing text 400 `no_text`.
- `chat.postMessage` keeps a message's `metadata` (`{"event_type", "event_payload"}`, a JSON
  object, or a JSON string in a form), and `conversations.history` (same token rules) answers
  the channel's `chat.postMessage` messages newest first, from `oldest` (exclusive) and at most
  `limit` (default 100), with their metadata only when `include_all_metadata` is true, as
  Slack does. This is what a sender uses to find out whether a post it got no answer to was made.
- The `slow_ok` fault (`Fault.SLOW_OK`) on `slack.post` or `slack.webhook` accepts and records
  the message, then holds the answer for `timeout_hold_s` (longer than the client's timeout):
  Slack's "200 that arrives after the client gave up".
- Faults: a 429 carries `Retry-After: 0` (so `RateLimitErrorRetryHandler` retries at
  once) and Slack's `{"ok": false, "error": "ratelimited"}`; 5xx, timeouts, malformed
  bodies come from `common.fault_response`. A faulted call records nothing.

Every accepted message is recorded with `SimState.record_slack` as a dict:
`route` ("chat.postMessage" or "webhook"), `channel` (the id answered, or the payload's
legacy `channel` for a webhook, else None), `text`, `blocks`, `attachments`,
`thread_ts`, `ts` (None for webhooks, which answer no ts), `metadata` and `payload` (all
fields received, token removed).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.common import fault_response
from tesoro.simulator.faults import Fault
from tesoro.simulator.state import SimState

__all__ = ["HISTORY_ROUTE", "POST_ROUTE", "WEBHOOK_ROUTE", "channel_id", "routes"]

POST_ROUTE = "slack.post"
HISTORY_ROUTE = "slack.history"
WEBHOOK_ROUTE = "slack.webhook"

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
_BOT_ID = "B0SIMBOT01"
_APP_ID = "A0SIMAPP01"
_TEAM_ID = "T0SIMTEAM1"
_RATE_LIMITED = {"ok": False, "error": "ratelimited"}
_INVALID_AUTH = {"ok": False, "error": "invalid_auth"}


class _PayloadError(Exception):
    """A request body Slack would refuse; carries Slack's error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def channel_id(channel: str) -> str:
    """The id Slack answers for a channel: ids pass through, names get a stable made-up id."""
    if _CHANNEL_ID.match(channel):
        return channel
    digest = hashlib.sha1(channel.lstrip("#").casefold().encode()).digest()
    return "C" + base64.b32encode(digest).decode()[:10]


def _form(body: bytes) -> dict[str, Any]:
    """A form body as a flat dict (the last value wins, as in Slack's own parsing)."""
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise _PayloadError("invalid_form_data") from exc
    return {key: values[-1] for key, values in fields.items()}


def _json_object(raw: bytes | str, code: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _PayloadError(code) from exc
    if not isinstance(data, dict):
        raise _PayloadError(code)
    return data


def _is_json(request: Request, body: bytes) -> bool:
    content_type = request.headers.get("content-type", "").casefold()
    if "json" in content_type:
        return True
    return not content_type and body.lstrip().startswith(b"{")


def _decode_nested(payload: dict[str, Any]) -> dict[str, Any]:
    """In a form body, `blocks` and `attachments` arrive as JSON strings."""
    for key in ("blocks", "attachments"):
        value = payload.get(key)
        if isinstance(value, str):
            if not value.strip():
                payload.pop(key)
                continue
            try:
                payload[key] = json.loads(value)
            except ValueError as exc:
                raise _PayloadError(f"invalid_{key}") from exc
        if key in payload and not isinstance(payload[key], list):
            raise _PayloadError(f"invalid_{key}")
    metadata = payload.get("metadata")
    if isinstance(metadata, str):
        metadata = payload["metadata"] = (
            _json_object(metadata, "invalid_metadata") if metadata.strip() else None
        )
    if metadata is not None and not (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    ):
        raise _PayloadError("invalid_metadata")
    return payload


def _has_content(payload: dict[str, Any]) -> bool:
    return bool(payload.get("text") or payload.get("blocks") or payload.get("attachments"))


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.casefold() == "bearer" and token.strip() else None


def _as_text(response: Response) -> Response:
    """Webhooks answer in plain text: turn a fault's JSON string body (`"rate_limited"`) into text."""
    if response.media_type != "application/json":
        return response
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        return response  # the MALFORMED fault: leave it broken on purpose
    if not isinstance(body, str):
        return response
    headers = {
        k: v for k, v in response.headers.items() if k.casefold() not in ("content-length", "content-type")
    }
    return PlainTextResponse(body, status_code=response.status_code, headers=headers)


def _recorded(route: str, channel: str | None, payload: dict[str, Any], ts: str | None) -> dict[str, Any]:
    """What `SimState.slack_messages` keeps of an accepted message (see the module docstring)."""
    return {
        "route": route,
        "channel": channel,
        "text": payload.get("text"),
        "blocks": payload.get("blocks"),
        "attachments": payload.get("attachments"),
        "thread_ts": payload.get("thread_ts"),
        "ts": ts,
        "metadata": payload.get("metadata"),
        "payload": payload,
    }


def _message(payload: dict[str, Any], ts: str) -> dict[str, Any]:
    """The posted message as Slack echoes it back in `chat.postMessage`'s answer."""
    message: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": payload.get("text") or "",
        "ts": ts,
        "bot_id": _BOT_ID,
        "app_id": _APP_ID,
        "team": _TEAM_ID,
        "username": payload.get("username") or "Tesoro",
    }
    for key in ("blocks", "attachments", "thread_ts"):
        if payload.get(key):
            message[key] = payload[key]
    return message


class _Slack:
    """The two Slack endpoints over one `SimState` (credentials, faults, the recorded inbox)."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self._ts_lock = threading.Lock()
        self._last_ts = 0.0

    def next_ts(self) -> str:
        # Slack's ts is unique per channel and increasing; one counter for all is simpler and stricter.
        with self._ts_lock:
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"

    async def post_message(self, request: Request) -> Response:
        slow = self.state.faults.take_if(POST_ROUTE, Fault.SLOW_OK)
        faulted = (
            None
            if slow
            else await fault_response(
                self.state,
                POST_ROUTE,
                rate_limit_headers={"Retry-After": "0"},
                rate_limit_body=_RATE_LIMITED,
                auth_body=_INVALID_AUTH,
                empty_body={"ok": True},
            )
        )
        if faulted is not None:
            return faulted
        answer = await self._post_message(request)
        if slow:
            await asyncio.sleep(self.state.timeout_hold_s)
        return answer

    async def _post_message(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = _json_object(body, "invalid_json") if _is_json(request, body) else _form(body)
            body_token = payload.pop("token", None)
            token = _bearer(request) or body_token
            if not token:
                return JSONResponse({"ok": False, "error": "not_authed"})
            if token != self.state.credentials.slack_bot_token:
                return JSONResponse(_INVALID_AUTH)
            payload = _decode_nested(payload)
        except _PayloadError as exc:
            return JSONResponse({"ok": False, "error": exc.code})
        channel = payload.get("channel")
        if not isinstance(channel, str) or not channel.strip():
            return JSONResponse({"ok": False, "error": "channel_not_found"})
        if not _has_content(payload):
            return JSONResponse({"ok": False, "error": "no_text"})
        answered_channel = channel_id(channel.strip())
        ts = self.next_ts()
        self.state.record_slack(_recorded("chat.postMessage", answered_channel, payload, ts))
        return JSONResponse(
            {"ok": True, "channel": answered_channel, "ts": ts, "message": _message(payload, ts)}
        )

    async def history(self, request: Request) -> Response:
        faulted = await fault_response(
            self.state,
            HISTORY_ROUTE,
            rate_limit_headers={"Retry-After": "0"},
            rate_limit_body=_RATE_LIMITED,
            auth_body=_INVALID_AUTH,
            empty_body={"ok": True, "messages": [], "has_more": False},
        )
        if faulted is not None:
            return faulted
        body = await request.body()
        try:
            fields: dict[str, Any] = dict(request.query_params)
            if body:
                fields.update(_json_object(body, "invalid_json") if _is_json(request, body) else _form(body))
        except _PayloadError as exc:
            return JSONResponse({"ok": False, "error": exc.code})
        token = _bearer(request) or fields.pop("token", None)
        if not token:
            return JSONResponse({"ok": False, "error": "not_authed"})
        if token != self.state.credentials.slack_bot_token:
            return JSONResponse(_INVALID_AUTH)
        channel = fields.get("channel")
        if not isinstance(channel, str) or not channel.strip():
            return JSONResponse({"ok": False, "error": "channel_not_found"})
        try:
            oldest = float(fields.get("oldest") or 0)
            limit = max(1, min(999, int(fields.get("limit") or 100)))
        except (TypeError, ValueError):
            return JSONResponse({"ok": False, "error": "invalid_arguments"})
        with_metadata = str(fields.get("include_all_metadata", "")).casefold() in ("1", "true")
        wanted = channel_id(channel.strip())
        found = [
            m
            for m in list(self.state.slack_messages)
            if m["route"] == "chat.postMessage" and m["channel"] == wanted and float(m["ts"]) > oldest
        ]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        messages = []
        for m in found[:limit]:
            message = _message(m["payload"], m["ts"])
            if with_metadata and m.get("metadata"):
                message["metadata"] = m["metadata"]
            messages.append(message)
        return JSONResponse({"ok": True, "messages": messages, "has_more": len(found) > limit})

    async def webhook(self, request: Request) -> Response:
        slow = self.state.faults.take_if(WEBHOOK_ROUTE, Fault.SLOW_OK)
        faulted = (
            None
            if slow
            else await fault_response(
                self.state,
                WEBHOOK_ROUTE,
                rate_limit_headers={"Retry-After": "0"},
                rate_limit_body="rate_limited",
                auth_body="invalid_token",
                empty_body="ok",
            )
        )
        if faulted is not None:
            return _as_text(faulted)
        answer = await self._webhook(request)
        if slow:
            await asyncio.sleep(self.state.timeout_hold_s)
        return answer

    async def _webhook(self, request: Request) -> Response:
        path = "/".join(request.path_params[part] for part in ("a", "b", "c"))
        if path != self.state.credentials.slack_webhook_path:
            return PlainTextResponse("no_service", status_code=404)
        body = await request.body()
        try:
            if _is_json(request, body):
                payload = _json_object(body, "invalid_payload")
            else:  # the legacy form: payload=<json>
                payload = _json_object(_form(body).get("payload", ""), "invalid_payload")
            payload = _decode_nested(payload)
        except _PayloadError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not _has_content(payload):
            return PlainTextResponse("no_text", status_code=400)
        channel = payload.get("channel")
        self.state.record_slack(
            _recorded("webhook", channel if isinstance(channel, str) else None, payload, None)
        )
        return PlainTextResponse("ok")


def routes(state: SimState) -> list[BaseRoute]:
    """The Slack routes, sharing `state` (credentials, faults, the recorded inbox)."""
    slack = _Slack(state)
    return [
        Route("/slack/api/chat.postMessage", slack.post_message, methods=["POST"]),
        Route("/slack/api/conversations.history", slack.history, methods=["GET", "POST"]),
        Route("/slack/hooks/{a}/{b}/{c}", slack.webhook, methods=["POST"]),
    ]
