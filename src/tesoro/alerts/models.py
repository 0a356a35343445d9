"""The shapes the alerts area passes around: an alert on its way out, a message, a send result.

Channels (Slack webhook, Slack bot, generic JSON webhook) share one small protocol,
`Channel.send(Outgoing) -> SendResult`, so the outbox does not care how a message
travels and tests can swap in a fake channel where the network is not the point.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

__all__ = [
    "Channel",
    "Links",
    "Outgoing",
    "OutgoingAlert",
    "SendResult",
    "SendStatus",
]

# "uncertain": sent, but the channel did not answer in time; it may have posted the message, and it is
# not sent again (see docs/alerts.md, "Delivered once").
SendStatus = Literal["delivered", "uncertain", "failed", "rate_limited"]


@dataclass(frozen=True, slots=True)
class OutgoingAlert:
    """A stored alert as a channel sees it. `payload` is raw, untrusted data: channels escape it."""

    id: int
    rule: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime

    @property
    def kind(self) -> str:
        return str(self.payload.get("kind", ""))

    @property
    def rank(self) -> float:
        value = self.payload.get("rank", 0.0)
        return float(value) if isinstance(value, int | float) else 0.0


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: a single alert, a digest of many for one rule, or a test."""

    rule: str
    kind: Literal["alert", "digest", "test"]
    alerts: tuple[OutgoingAlert, ...] = ()
    note: str | None = None  # free text for a test message

    @property
    def delivery_key(self) -> str:
        """The same for every send of this message (the rule, the kind and the alerts it carries).

        Channels that can be asked whether a message arrived (Slack's bot token, through message
        metadata) or that pass it on (the JSON webhook's `Idempotency-Key`) use it so that a resend
        after a lost answer does not post the message twice. A test message has a fresh key per send.
        """
        if self.kind == "test":
            return f"test:{uuid.uuid4().hex}"
        ids = ",".join(str(a.id) for a in sorted(self.alerts, key=lambda a: a.id))
        digest = hashlib.sha256(f"{self.rule}\n{self.kind}\n{ids}".encode()).hexdigest()[:24]
        return f"{self.kind}:{digest}"


@dataclass(frozen=True, slots=True)
class SendResult:
    """How one message went on one channel. `retry_after_s` is the channel's own "come back later"."""

    status: SendStatus
    error: str | None = None
    http_status: int | None = None
    retry_after_s: float | None = None
    response: str | None = None  # e.g. Slack's message ts
    retries: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "delivered"

    @property
    def carried(self) -> bool:
        """Delivered, or probably delivered: either way not to be sent again."""
        return self.status in ("delivered", "uncertain")


class Channel(Protocol):
    """Somewhere alerts go. `key` names it in the delivery log ("slack:#community", "webhook:ENV")."""

    @property
    def key(self) -> str: ...

    def send(self, outgoing: Outgoing) -> SendResult: ...


@dataclass(frozen=True, slots=True)
class Links:
    """Where a message's buttons point inside Tesoro (the review queue)."""

    app_base_url: str = "http://127.0.0.1:8000"
    review_path: str = "/ui/queue"

    def review(self, *, post_id: int | None = None, **params: str) -> str:
        base = self.app_base_url.rstrip("/") + "/" + self.review_path.lstrip("/")
        query: dict[str, str] = dict(params)
        if post_id is not None:
            query["post"] = str(post_id)
        return f"{base}?{urlencode(query)}" if query else base
