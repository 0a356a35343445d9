"""A generic JSON webhook: the second alert channel, for incident tools, n8n, Zapier, your own code.

Each message is one POST of a JSON object:

    {"type": "tesoro.alert" | "tesoro.digest" | "tesoro.test",
     "delivery_key": "alert:3f0c…", "rule": "unhappy-influencer", "count": 1,
     "text": "…one line per alert, escaped for Slack-like receivers…",
     "alerts": [{"id", "rule", "kind", "subject", "created_at", "title", "summary",
                 "url", "review_url", "payload"}]}

`payload` is the alert's full raw data (untrusted post text included: the receiver
escapes what it displays). A digest lists every alert but carries `payload` only for
its top items, so a burst of a thousand stays a reasonable request. `text` is escaped
for Slack's mrkdwn because chat tools that accept "Slack-compatible" webhooks read it.

Every send of one message (a retry in the run, or the outbox's next try after a timeout or a 5xx)
carries the same `delivery_key`, also as the `Idempotency-Key` header: a receiver that keeps the keys
it has seen for a day drops the repeat of a message whose answer Tesoro never got.

Retries mirror the Slack channel: 429 with a short `Retry-After` and 5xx/connection
errors are retried in the run with backoff (through an injectable `sleep`); anything
longer goes back to the outbox.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tesoro.alerts.blocks import escape, safe_url
from tesoro.alerts.models import Links, Outgoing, OutgoingAlert, SendResult
from tesoro.alerts.slack import retry_after_seconds

__all__ = ["JsonWebhookChannel", "webhook_body"]

Sleep = Callable[[float], None]
_FULL_PAYLOADS = 10
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


def _item(alert: OutgoingAlert, links: Links, *, full: bool) -> dict[str, Any]:
    payload = alert.payload
    post = payload.get("post") if isinstance(payload.get("post"), dict) else None
    post_id = post.get("id") if post else None
    item: dict[str, Any] = {
        "id": alert.id,
        "rule": alert.rule,
        "kind": alert.kind,
        "subject": alert.subject,
        "created_at": alert.created_at.isoformat(),
        "title": payload.get("title"),
        "summary": payload.get("summary"),
        "url": safe_url(post.get("url")) if post else None,
        "review_url": links.review(post_id=post_id) if isinstance(post_id, int) else links.review(),
    }
    if full:
        item["payload"] = payload
    return item


def webhook_body(outgoing: Outgoing, links: Links, *, delivery_key: str | None = None) -> dict[str, Any]:
    """The JSON object one message posts (`delivery_key`: the message's, computed when not given)."""
    ranked = sorted(outgoing.alerts, key=lambda a: (-a.rank, a.id))
    full = {a.id for a in ranked[:_FULL_PAYLOADS]} if outgoing.kind == "digest" else {a.id for a in ranked}
    lines = [
        f"{a.payload.get('title') or a.rule}: {a.payload.get('summary') or a.subject}" for a in ranked[:20]
    ]
    if len(ranked) > 20:
        lines.append(f"…and {len(ranked) - 20} more")
    if outgoing.kind == "test":
        lines = [outgoing.note or "Test message from Tesoro."]
    return {
        "type": f"tesoro.{outgoing.kind}",
        "delivery_key": delivery_key or outgoing.delivery_key,
        "rule": outgoing.rule,
        "count": len(outgoing.alerts),
        "text": escape("\n".join(lines)),
        "alerts": [_item(a, links, full=a.id in full) for a in ranked],
    }


class JsonWebhookChannel:
    """POSTs `webhook_body` to a URL with httpx."""

    def __init__(
        self,
        *,
        key: str,
        url: str,
        links: Links,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        max_wait_s: float = 30.0,
        backoff_s: float = 1.0,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._key = key
        self._url = url
        self._links = links
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._max_wait_s = max_wait_s
        self._backoff_s = backoff_s
        self._sleep = sleep
        self._transport = transport

    @property
    def key(self) -> str:
        return self._key

    def send(self, outgoing: Outgoing) -> SendResult:
        delivery_key = outgoing.delivery_key
        body = webhook_body(outgoing, self._links, delivery_key=delivery_key)
        headers = {"User-Agent": "Tesoro alerts", "Idempotency-Key": delivery_key}
        retries = 0
        with httpx.Client(timeout=self._timeout_s, transport=self._transport) as client:
            while True:
                wait: float | None
                try:
                    response = client.post(self._url, json=body, headers=headers)
                except httpx.TransportError as exc:
                    if retries >= self._max_retries:
                        return SendResult("failed", error=f"connection error: {exc}", retries=retries)
                    wait = self._backoff_s * 2**retries
                else:
                    status = response.status_code
                    if 200 <= status < 300:
                        return SendResult(
                            "delivered", http_status=status, response=response.text[:100], retries=retries
                        )
                    error = f"HTTP {status}: {response.text.strip()[:300]}"
                    if status == 429:
                        wait = retry_after_seconds(response.headers)
                        if retries >= self._max_retries or (wait is not None and wait > self._max_wait_s):
                            return SendResult(
                                "rate_limited",
                                error=error,
                                http_status=429,
                                retry_after_s=60.0 if wait is None else wait,
                                retries=retries,
                            )
                        wait = self._backoff_s if wait is None else wait
                    elif status in _RETRYABLE_STATUS and retries < self._max_retries:
                        wait = self._backoff_s * 2**retries
                    else:
                        return SendResult("failed", error=error, http_status=status, retries=retries)
                retries += 1
                self._sleep(wait)
