"""Slack delivery through slack_sdk: an incoming webhook or a bot token (chat.postMessage).

Both clients get one retry handler (`PatientRetryHandler`) that does, inside a single
delivery run, what Slack asks of a polite sender:

- a 429 is retried after its `Retry-After` — but only when that wait is short
  (`max_wait_s`); a longer one is handed back to the outbox as `retry_after_s`, which
  reschedules the alert instead of blocking the scheduler's thread;
- a 5xx (500, 502, 503, 504) and a dropped connection are retried with exponential
  backoff;
- everything else (a refused token, an unknown channel, a bad payload) is not retried
  here: the outbox keeps the alert pending and tries again later with a longer backoff.

slack_sdk's `RateLimitErrorRetryHandler` does the 429 part, but sleeps with `time.sleep`
plus up to a second of random jitter and has no cap; ours takes the sleep function as an
argument so tests (and the benchmark) never sleep, and respects the cap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from tesoro.alerts.blocks import render
from tesoro.alerts.models import Links, Outgoing, SendResult

__all__ = [
    "METADATA_EVENT",
    "PatientRetryHandler",
    "SlackBotChannel",
    "SlackWebhookChannel",
    "retry_after_seconds",
]

Sleep = Callable[[float], None]
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


def retry_after_seconds(headers: Mapping[str, Any] | None) -> float | None:
    """The `Retry-After` header in seconds (slack_sdk hands headers as str or [str], any case)."""
    if not headers:
        return None
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(str(raw).strip()))
            except ValueError:
                return None
    return None


class PatientRetryHandler(RetryHandler):
    """Retries 429 (short Retry-After), 5xx and dropped connections, sleeping through `sleep`."""

    def __init__(
        self,
        *,
        max_retry_count: int = 3,
        max_wait_s: float = 30.0,
        backoff_s: float = 1.0,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_s = max_wait_s
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.retries = 0

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None:
            if response.status_code == 429:
                wait = retry_after_seconds(response.headers)
                return wait is None or wait <= self.max_wait_s
            return response.status_code in _RETRYABLE_STATUS
        if isinstance(error, HTTPError):
            return False
        if isinstance(error, TimeoutError):
            # Sent, and no answer in time: Slack may have posted it. Retrying blindly posts it twice,
            # so the channel decides (look it up, or leave it "uncertain").
            return False
        return isinstance(error, URLError | ConnectionError | RemoteDisconnected)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait: float | None = None
        if response is not None and response.status_code == 429:
            wait = retry_after_seconds(response.headers)
        if wait is None:
            wait = self.backoff_s * 2**state.current_attempt
        self.retries += 1
        self.sleep(wait)
        state.increment_current_attempt()


def _failure(status: int | None, error: str, headers: Mapping[str, Any] | None, retries: int) -> SendResult:
    if status == 429:
        wait = retry_after_seconds(headers)
        return SendResult(
            "rate_limited",
            error=error,
            http_status=429,
            retry_after_s=60.0 if wait is None else wait,
            retries=retries,
        )
    return SendResult("failed", error=error, http_status=status, retries=retries)


def _unanswered(timeout_s: float, *, resend: bool, why: str = "") -> SendResult:
    """A message sent with no answer in time (`why`: what the lookup found or could not)."""
    said = f"Slack did not answer within {timeout_s:g} s{why}"
    if resend:
        return SendResult("failed", error=f"{said}; sending it again later (it may appear twice)")
    return SendResult(
        "uncertain",
        error=f"{said}; it may have been posted, so it is not sent again ([slack] resend_after_timeout)",
    )


def _lookup_failure(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        code = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        return f"conversations.history: {code or exc.response.status_code}"
    return f"conversations.history: {exc}"


class SlackWebhookChannel:
    """An incoming webhook: the URL is the credential and decides the channel.

    A webhook cannot be asked whether a message arrived, so a post that Slack does not answer
    within `timeout_s` is not retried here: it is "uncertain" (not sent again), or, with
    `resend_after_timeout`, failed (sent again at the outbox's next try, maybe twice).
    """

    def __init__(
        self,
        *,
        key: str,
        url: str,
        links: Links,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        max_wait_s: float = 30.0,
        resend_after_timeout: bool = False,
        sleep: Sleep = time.sleep,
        logger: logging.Logger | None = None,
    ) -> None:
        self._key = key
        self._links = links
        self._timeout_s = max(1, round(timeout_s))
        self._resend = resend_after_timeout
        self._handler = PatientRetryHandler(max_retry_count=max_retries, max_wait_s=max_wait_s, sleep=sleep)
        options: dict[str, Any] = {"logger": logger} if logger else {}
        self._client = WebhookClient(url, timeout=self._timeout_s, retry_handlers=[self._handler], **options)

    @property
    def key(self) -> str:
        return self._key

    def send(self, outgoing: Outgoing) -> SendResult:
        message = render(outgoing, self._links)
        before = self._handler.retries
        try:
            response = self._client.send(
                text=message.text, blocks=message.blocks, unfurl_links=False, unfurl_media=False
            )
        except TimeoutError:
            return replace(
                _unanswered(self._timeout_s, resend=self._resend), retries=self._handler.retries - before
            )
        except (URLError, OSError) as exc:
            return SendResult(
                "failed", error=f"connection error: {exc}", retries=self._handler.retries - before
            )
        retries = self._handler.retries - before
        if response.status_code == 200:
            return SendResult(
                "delivered", http_status=200, response=(response.body or "")[:100], retries=retries
            )
        body = (response.body or "").strip()[:300]
        return _failure(
            response.status_code, f"HTTP {response.status_code}: {body}", response.headers, retries
        )


# chat.postMessage's message metadata: the delivery key rides on every message Tesoro posts.
METADATA_EVENT = "tesoro_alert"
# How far back (seconds, before the first try) the lookup after a timeout reads the channel.
_LOOKBACK_S = 60.0
_LOOKUP_PAGE = 200


class SlackBotChannel:
    """A bot token posting with chat.postMessage to a named channel, at most once per message.

    Every message carries its delivery key as message metadata (`tesoro_alert`). When Slack does not
    answer a post within `timeout_s`, the channel waits, reads the channel's recent history
    (conversations.history with the metadata) and posts again only when the message is not there:
    a 200 that arrived late is found and counted as delivered instead of posted twice. The lookup
    needs the `channels:history` scope (`groups:history` for a private channel); without it, an
    unanswered post is "uncertain" like a webhook's.
    """

    def __init__(
        self,
        *,
        key: str,
        token: str,
        channel: str,
        links: Links,
        base_url: str | None = None,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        max_wait_s: float = 30.0,
        backoff_s: float = 1.0,
        resend_after_timeout: bool = False,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        self._key = key
        self._channel = channel
        self._links = links
        self._timeout_s = max(1, round(timeout_s))
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._resend = resend_after_timeout
        self._sleep = sleep
        self._clock = clock
        self._handler = PatientRetryHandler(max_retry_count=max_retries, max_wait_s=max_wait_s, sleep=sleep)
        options: dict[str, Any] = {"base_url": base_url} if base_url else {}
        if logger:
            options["logger"] = logger
        self._client = WebClient(
            token=token, timeout=self._timeout_s, retry_handlers=[self._handler], **options
        )

    @property
    def key(self) -> str:
        return self._key

    def send(self, outgoing: Outgoing) -> SendResult:
        message = render(outgoing, self._links)
        delivery_key = outgoing.delivery_key
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"delivery_key": delivery_key}}
        before = self._handler.retries
        started = self._clock()
        reposts = 0
        while True:
            try:
                response = self._client.chat_postMessage(
                    channel=self._channel,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata=metadata,
                )
            except TimeoutError:
                # Posted or not? Give Slack a moment, then look before posting again.
                self._sleep(self._backoff_s * 2**reposts)
                retries = self._handler.retries - before + reposts
                try:
                    found = self._posted(delivery_key, since=started - _LOOKBACK_S)
                except (SlackApiError, URLError, OSError) as exc:
                    why = f", and the channel could not be checked ({_lookup_failure(exc)})"
                    return replace(
                        _unanswered(self._timeout_s, resend=self._resend, why=why), retries=retries
                    )
                if found is not None:
                    answer = f"{found} (the answer was lost; found in the channel)"
                    return SendResult("delivered", http_status=200, response=answer, retries=retries)
                if reposts >= self._max_retries:
                    return SendResult(
                        "failed",
                        error=f"Slack did not answer within {self._timeout_s:g} s and the message is not "
                        "in the channel: trying again later",
                        retries=retries,
                    )
                reposts += 1
                continue
            except SlackApiError as exc:
                status = exc.response.status_code
                code = exc.response.get("error") if isinstance(exc.response.data, dict) else None
                detail = code or str(exc.response.data)[:300]
                return _failure(
                    status,
                    f"HTTP {status}: {detail}",
                    exc.response.headers,
                    self._handler.retries - before + reposts,
                )
            except (URLError, OSError) as exc:
                return SendResult(
                    "failed",
                    error=f"connection error: {exc}",
                    retries=self._handler.retries - before + reposts,
                )
            return SendResult(
                "delivered",
                http_status=200,
                response=str(response.get("ts") or ""),
                retries=self._handler.retries - before + reposts,
            )

    def _posted(self, delivery_key: str, *, since: float) -> str | None:
        """The ts of the message carrying `delivery_key` in the channel since `since`, or None."""
        history = self._client.conversations_history(
            channel=self._channel, oldest=f"{since:.6f}", limit=_LOOKUP_PAGE, include_all_metadata=True
        )
        for item in history.get("messages") or []:
            meta = item.get("metadata") if isinstance(item, dict) else None
            if not isinstance(meta, dict) or meta.get("event_type") != METADATA_EVENT:
                continue
            payload = meta.get("event_payload")
            if isinstance(payload, dict) and payload.get("delivery_key") == delivery_key:
                return str(item.get("ts") or "")
        return None
