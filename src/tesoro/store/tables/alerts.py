"""Alert tables: the outbox, editable rules, dedupe marks and the delivery log.

`alert` is an outbox: an alert is stored first as `pending`, then delivered. The
other tables hold what the outbox needs around it:

- `alert_rule`: the rules, mirrored from the settings file and editable through the API;
  each keeps its own evaluation state (cursors) so a restart neither repeats nor skips.
- `alert_mark`: "this rule has already handled this subject" (a post, usually), unique per
  (rule, subject) so two evaluators racing cannot both alert on the same post.
- `alert_delivery` + `alert_delivery_item`: one row per message attempt on one channel
  (single alert, digest or test) with its outcome, and which alerts it carried, so every
  alert can be accounted for: delivered by which message, or still pending and why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["Alert", "AlertDelivery", "AlertDeliveryItem", "AlertMark", "AlertRule"]


class Alert(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(index=True)
    subject: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime | None = timestamp(index=True)
    next_attempt_at: datetime | None = timestamp()
    delivered_at: datetime | None = timestamp()


class AlertRule(SQLModel, table=True):
    """A rule as the evaluator and the API see it.

    `config` is the rule's settings (`AlertRuleSettings` as JSON). `origin` says who owns it:
    "settings" rules are synced from the file, "api" rules exist only here. `settings_hash`
    fingerprints the file's version last applied: the file overwrites API edits only when
    that version changes, so an edit made in the UI survives restarts.
    """

    __tablename__ = "alert_rule"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    kind: str = Field(index=True)
    enabled: bool = True
    origin: str = Field(default="settings", max_length=16)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    settings_hash: str | None = None
    edited: bool = False
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime | None = timestamp()
    updated_at: datetime | None = timestamp()
    last_evaluated_at: datetime | None = timestamp()


class AlertMark(SQLModel, table=True):
    """A subject a rule has already handled (alerted on, or taken as the starting baseline)."""

    __tablename__ = "alert_mark"
    __table_args__ = (UniqueConstraint("rule", "subject", name="uq_alert_mark_rule_subject"),)
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(index=True)
    subject: str
    post_id: int | None = Field(default=None, index=True)
    marked_at: datetime | None = timestamp()


class AlertDelivery(SQLModel, table=True):
    """One message attempt on one channel: what was sent, and how it went."""

    __tablename__ = "alert_delivery"
    __table_args__ = (Index("ix_alert_delivery_rule_channel_at", "rule", "channel", "attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    rule: str
    channel: str
    kind: str = Field(max_length=16)  # "alert", "digest" or "test"
    status: str = Field(max_length=16, index=True)  # "delivered", "uncertain", "failed" or "rate_limited"
    alert_count: int = 0
    http_status: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    response: str | None = None
    retries: int = 0
    duration_ms: int = 0
    attempt_at: datetime = timestamp(nullable=False, index=True)


class AlertDeliveryItem(SQLModel, table=True):
    """Which alerts one delivery carried (a digest carries many)."""

    __tablename__ = "alert_delivery_item"
    delivery_id: int = Field(foreign_key="alert_delivery.id", primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", primary_key=True, index=True)
