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

import time
from collections.abc import Callable, Mapping
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

__all__ = ["PatientRetryHandler", "SlackBotChannel", "SlackWebhookChannel", "retry_after_seconds"]

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
        return isinstance(error, URLError | ConnectionError | RemoteDisconnected | TimeoutError)

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


class SlackWebhookChannel:
    """An incoming webhook: the URL is the credential and decides the channel."""

    def __init__(
        self,
        *,
        key: str,
        url: str,
        links: Links,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        max_wait_s: float = 30.0,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._key = key
        self._links = links
        self._handler = PatientRetryHandler(max_retry_count=max_retries, max_wait_s=max_wait_s, sleep=sleep)
        self._client = WebhookClient(url, timeout=max(1, round(timeout_s)), retry_handlers=[self._handler])

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


class SlackBotChannel:
    """A bot token posting with chat.postMessage to a named channel."""

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
        sleep: Sleep = time.sleep,
    ) -> None:
        self._key = key
        self._channel = channel
        self._links = links
        self._handler = PatientRetryHandler(max_retry_count=max_retries, max_wait_s=max_wait_s, sleep=sleep)
        options: dict[str, Any] = {"base_url": base_url} if base_url else {}
        self._client = WebClient(
            token=token, timeout=max(1, round(timeout_s)), retry_handlers=[self._handler], **options
        )

    @property
    def key(self) -> str:
        return self._key

    def send(self, outgoing: Outgoing) -> SendResult:
        message = render(outgoing, self._links)
        before = self._handler.retries
        try:
            response = self._client.chat_postMessage(
                channel=self._channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            code = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            detail = code or str(exc.response.data)[:300]
            return _failure(
                status, f"HTTP {status}: {detail}", exc.response.headers, self._handler.retries - before
            )
        except (URLError, OSError) as exc:
            return SendResult(
                "failed", error=f"connection error: {exc}", retries=self._handler.retries - before
            )
        return SendResult(
            "delivered",
            http_status=200,
            response=str(response.get("ts") or ""),
            retries=self._handler.retries - before,
        )
