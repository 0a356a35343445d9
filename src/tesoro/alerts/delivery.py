"""The outbox: pending alerts out to their channels, never spamming and never dropping one.

`deliver_pending` is the scheduled job. One run:

1. claims the due pending alerts (`next_attempt_at` reached) with a lease, so a second
   deliverer skips them and a crashed run's alerts come back after the lease;
2. works out, per alert, the channels still owed (its rule's channels minus those the
   delivery log shows already delivered: a digest that reached Slack but not the JSON
   webhook is only retried on the webhook);
3. per (rule, channel): sends one message per alert while the rule has sent fewer than
   `digest_after` messages there within `digest_window`; beyond that, everything pending
   becomes one digest (counts + the top items), and at most one digest per window; the
   rest waits for the next window. A burst of a thousand mentions is one message;
4. writes each attempt to the delivery log (with the alerts it carried) as soon as it is
   made, then updates the alerts: delivered once every channel has them; otherwise still
   pending with `attempts`, `last_error` and a `next_attempt_at` from the channel's
   Retry-After or an exponential backoff (30 s doubling, at most an hour). Nothing is ever
   marked failed for good: a refused token or a missing secret keeps the alert waiting,
   visible in `tesoro alerts log`, until someone fixes it.

A channel that fails in a run is not tried again in that run (the next messages for it
wait for the same retry time), so a Slack outage costs one timeout, not one per alert.
Delivery is at-least-once, with the duplicates narrowed to what the channel allows: a
message Slack does not answer in time is looked up in the channel before it is sent again
(bot token), or logged "uncertain" and not sent again (webhook; `[slack]
resend_after_timeout` sends it again instead), and a JSON webhook repeats the message's
`Idempotency-Key`. A crash between Slack's answer and the log write can still repeat one
message after the lease; it cannot lose one. docs/alerts.md ("Delivered once") has the
whole window.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.engine import Engine

from tesoro.alerts.channels import channels_for as default_channels_for
from tesoro.alerts.models import Channel, Outgoing, OutgoingAlert, SendResult
from tesoro.settings import AlertRuleSettings, Settings
from tesoro.store.alerts import (
    claim_due_alerts,
    delivered_channels,
    delivery_window,
    finish_alerts,
    list_rules,
    record_delivery,
    reschedule_alerts,
    rule_config,
)
from tesoro.store.engine import session_scope
from tesoro.text.redact import mask_urls

__all__ = ["DeliveryReport", "backoff", "deliver_pending", "send_test"]

log = logging.getLogger(__name__)

# How long claimed alerts are hidden from other deliverers; longer than any run should take.
LEASE = timedelta(minutes=5)
_BACKOFF_BASE_S = 30.0
_BACKOFF_CAP_S = 3600.0
_DEFAULTS = AlertRuleSettings(name="defaults", kind="new_mention")

ChannelsFor = Callable[[AlertRuleSettings | None], list[Channel]]


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 30 s, 1 min, 2 min, ... at most 1 h."""
    return timedelta(seconds=min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0  # alerts now delivered on every channel
    pending: int = 0  # alerts left pending (failed, deferred or partly delivered)
    messages: int = 0  # messages that reached a channel
    digests: int = 0
    uncertain: int = 0  # messages sent with no answer in time, not sent again (counted in `messages`)
    failed_messages: int = 0
    errors: tuple[str, ...] = ()


@dataclass(slots=True)
class _Progress:
    """What happened to one alert in this run."""

    alert: OutgoingAlert
    attempts: int
    owed: set[str]
    sent_to: set[str] = field(default_factory=set)
    attempted: bool = False
    retry_at: datetime | None = None
    error: str | None = None

    def wait(self, until: datetime, error: str | None = None) -> None:
        self.retry_at = until if self.retry_at is None else min(self.retry_at, until)
        if error is not None:
            self.error = error


def _safe_send(channel: Channel, outgoing: Outgoing) -> tuple[SendResult, int]:
    started = time.perf_counter()
    try:
        result = channel.send(outgoing)
    except Exception as exc:  # a channel bug must not lose the run's bookkeeping
        error = mask_urls(f"{type(exc).__name__}: {exc}")
        log.error("alert channel %s raised %s", channel.key, error)
        result = SendResult("failed", error=error)
    return result, int((time.perf_counter() - started) * 1000)


def deliver_pending(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
    channels_for: ChannelsFor | None = None,
    limit: int = 5000,
) -> DeliveryReport:
    """Deliver what is due in the outbox (see the module docstring). Safe to run often and concurrently."""
    now = now or datetime.now(UTC)
    env = os.environ if environ is None else environ
    resolve: ChannelsFor = channels_for or (
        lambda rule: default_channels_for(rule, settings, env, sleep=sleep, transport=transport)
    )
    with session_scope(engine) as session:
        claimed = claim_due_alerts(session, now=now, lease_until=now + LEASE, limit=limit)
        if not claimed:
            return DeliveryReport()
        rules = {row.name: rule_config(row) for row in list_rules(session)}
        done = delivered_channels(session, alert_ids=[a.id for a in claimed if a.id is not None])

    routes = _Routes()
    channel_cache: dict[str, list[Channel]] = {}
    for row in claimed:
        assert row.id is not None
        alert = OutgoingAlert(row.id, row.rule, row.subject, dict(row.payload), row.created_at or now)
        if row.rule not in channel_cache:
            channel_cache[row.rule] = resolve(rules.get(row.rule))
        routes.add(alert, row.attempts, channel_cache[row.rule], done.get(row.id, set()))

    tally = _Tally()
    for rule_name, items in routes.unroutable.items():
        _hold_unroutable(engine, rule_name, items, now, tally)
    blocked: dict[str, datetime] = {}  # channel key -> when it may be tried again
    for (rule_name, key), items in routes.groups.items():
        conf = rules.get(rule_name) or _DEFAULTS
        _send_group(engine, rule_name, routes.channels[key], conf, items, now, blocked, tally)

    delivered, pending = _settle(engine, routes.progress, now)
    report = DeliveryReport(
        claimed=len(claimed),
        delivered=delivered,
        pending=pending,
        messages=tally.messages,
        digests=tally.digests,
        uncertain=tally.uncertain,
        failed_messages=tally.failed,
        errors=tuple(tally.errors),
    )
    if tally.messages or tally.failed:
        log.info(
            "alerts: %d delivered, %d pending, %d messages (%d digests), %d failed",
            delivered,
            pending,
            tally.messages,
            tally.digests,
            tally.failed,
        )
    return report


@dataclass(slots=True)
class _Routes:
    """Where this run's claimed alerts go: per (rule, channel key) the alerts still owed there."""

    progress: list[_Progress] = field(default_factory=list)
    groups: dict[tuple[str, str], list[_Progress]] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    unroutable: dict[str, list[_Progress]] = field(default_factory=dict)  # rule -> alerts with no channel

    def add(self, alert: OutgoingAlert, attempts: int, channels: list[Channel], done: set[str]) -> None:
        # With no channel at all the alert is owed to "none": it waits until one is configured.
        owed = {c.key for c in channels} - done if channels else {"none"}
        item = _Progress(alert, attempts, owed)
        self.progress.append(item)
        if not channels:
            self.unroutable.setdefault(alert.rule, []).append(item)
        for channel in channels:
            self.channels.setdefault(channel.key, channel)
            if channel.key in owed:
                self.groups.setdefault((alert.rule, channel.key), []).append(item)


@dataclass(slots=True)
class _Tally:
    """What this run sent, for the report and the log line."""

    messages: int = 0
    digests: int = 0
    uncertain: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _hold_unroutable(
    engine: Engine, rule_name: str, items: Sequence[_Progress], now: datetime, tally: _Tally
) -> None:
    """A rule with no channel: log the attempt and keep its alerts waiting, with the fix in the error."""
    error = (
        f"no delivery channel for rule {rule_name}: set [slack] bot_token_env (with a channel), "
        "[slack] webhook_url_env, or the rule's webhook_url_env / json_webhook_url_env"
    )
    _log_attempt(engine, rule_name, "none", "alert", SendResult("failed", error=error), items, now, 0)
    for item in items:
        item.attempted = True
        item.wait(now + backoff(item.attempts + 1), error)
    tally.errors.append(error)


def _send_group(
    engine: Engine,
    rule_name: str,
    channel: Channel,
    conf: AlertRuleSettings,
    items: Sequence[_Progress],
    now: datetime,
    blocked: dict[str, datetime],
    tally: _Tally,
) -> None:
    """Send one rule's alerts owed on one channel (singles or a digest), unless the channel failed already."""
    key = channel.key
    plan = _plan(engine, rule_name, key, conf, items, now)
    if isinstance(plan, datetime):
        for item in items:
            item.wait(plan)
        return
    for outgoing, members in plan:
        if key in blocked:
            for item in members:
                item.wait(blocked[key])
            continue
        result, elapsed_ms = _safe_send(channel, outgoing)
        _log_attempt(engine, rule_name, key, outgoing.kind, result, members, now, elapsed_ms)
        for item in members:
            item.attempted = True
        if result.carried:  # delivered, or "uncertain": never sent again either way
            tally.messages += 1
            tally.digests += outgoing.kind == "digest"
            tally.uncertain += result.status == "uncertain"
            for item in members:
                item.sent_to.add(key)
            if result.error:
                tally.errors.append(f"{key}: {result.error}")
            continue
        tally.failed += 1
        tally.errors.append(f"{key}: {result.error}")
        if result.status == "rate_limited":
            retry_at = now + timedelta(seconds=result.retry_after_s or 0.0)
        else:
            retry_at = now + backoff(max(item.attempts for item in members) + 1)
        blocked[key] = retry_at
        for item in members:
            item.wait(retry_at, f"{key}: {result.error}")


def _plan(
    engine: Engine,
    rule_name: str,
    key: str,
    conf: AlertRuleSettings,
    items: Sequence[_Progress],
    now: datetime,
) -> list[tuple[Outgoing, list[_Progress]]] | datetime:
    """Single messages within the rule's allowance, else one digest per window; or when to come back."""
    window = timedelta(seconds=conf.digest_window)
    with session_scope(engine) as session:
        recent = delivery_window(session, rule=rule_name, channel=key, since=now - window)
    allowance = conf.digest_after - recent.singles
    if len(items) <= allowance:
        return [(Outgoing(rule_name, "alert", (item.alert,)), [item]) for item in items]
    if recent.last_digest_at is not None and recent.last_digest_at > now - window:
        return recent.last_digest_at + window
    return [(Outgoing(rule_name, "digest", tuple(item.alert for item in items)), list(items))]


def _log_attempt(
    engine: Engine,
    rule_name: str,
    key: str,
    kind: str,
    result: SendResult,
    items: Sequence[_Progress],
    now: datetime,
    elapsed_ms: int,
) -> None:
    with session_scope(engine) as session:
        record_delivery(
            session,
            rule=rule_name,
            channel=key,
            kind=kind,
            status=result.status,
            alert_ids=[item.alert.id for item in items],
            at=now,
            http_status=result.http_status,
            error=result.error,
            response=result.response,
            retries=result.retries,
            duration_ms=elapsed_ms,
        )


def _settle(engine: Engine, progress: Sequence[_Progress], now: datetime) -> tuple[int, int]:
    """Write every claimed alert's outcome: delivered, or pending with when to try again."""
    finished_tried = [p.alert.id for p in progress if not (p.owed - p.sent_to) and p.attempted]
    finished_untried = [p.alert.id for p in progress if not (p.owed - p.sent_to) and not p.attempted]
    waiting: dict[tuple[datetime, str | None, bool], list[int]] = {}
    for p in progress:
        if p.owed - p.sent_to:
            retry_at = p.retry_at or now + backoff(p.attempts + 1)
            waiting.setdefault((retry_at, p.error, p.attempted), []).append(p.alert.id)
    with session_scope(engine) as session:
        finish_alerts(session, alert_ids=finished_tried, now=now, attempted=True)
        finish_alerts(session, alert_ids=finished_untried, now=now, attempted=False)
        for (retry_at, error, attempted), ids in waiting.items():
            reschedule_alerts(
                session, alert_ids=ids, next_attempt_at=retry_at, error=error, attempted=attempted
            )
    return len(finished_tried) + len(finished_untried), sum(len(ids) for ids in waiting.values())


def send_test(
    settings: Settings,
    rule: AlertRuleSettings | None,
    *,
    environ: Mapping[str, str],
    note: str | None = None,
    engine: Engine | None = None,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[tuple[str, SendResult]]:
    """Send a test message on every channel of `rule` (or the shared Slack set-up).

    Goes straight out, not through the outbox: the operator wants to see now whether the
    secrets and channels work. Logged in the delivery log (kind "test") when given an engine.
    """
    now = now or datetime.now(UTC)
    outgoing = Outgoing(rule.name if rule else "test", "test", note=note)
    results = []
    for channel in default_channels_for(rule, settings, environ, sleep=sleep):
        result, elapsed_ms = _safe_send(channel, outgoing)
        if engine is not None:
            _log_attempt(engine, outgoing.rule, channel.key, "test", result, [], now, elapsed_ms)
        results.append((channel.key, result))
    return results
