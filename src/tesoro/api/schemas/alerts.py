"""Alert rules, the outbox and the delivery log.

A rule is sent as the `[[alerts]]` keys of the settings file, as JSON. Its body is
checked against `AlertRuleSettings` by the route itself, not by FastAPI, so that a
refusal names the key and the reason the way the settings file's errors do
(`[{"loc": ["min_followers"], "msg": "..."}]`); the OpenAPI document still shows
the rule's schema. Durations may be written as in the file ("2h", "30m") or in seconds.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, GetJsonSchemaHandler, RootModel, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from tesoro.alerts.readable import MessagePart
from tesoro.api.schemas.common import Schema, Timestamp, check_storable, describe, iso
from tesoro.settings import AlertRuleSettings
from tesoro.store.tables import Alert, AlertDelivery, AlertRule
from tesoro.text.redact import mask_urls

__all__ = [
    "AlertPage",
    "AlertPublic",
    "DeliveryMessage",
    "DeliveryPublic",
    "MessageLinkPublic",
    "MessagePartPublic",
    "RuleCreate",
    "RulePublic",
    "RuleUpdate",
]

_RULE_DOCS = {
    "name": "the rule's name: lower-case letters, digits and dashes; it cannot change later",
    "kind": "what the rule watches for",
    "enabled": "false: kept but not evaluated",
    "brand": "only this brand's posts (a brand of the settings file)",
    "query": "only posts of this listening query (a [[queries]] name)",
    "filter": "an inline listening query (the [[queries]] language) that posts must also match",
    "min_followers": "negative_influencer: the least followers an author must have",
    "min_ror": "only authors with at least this Return on Relationship",
    "min_score": "new_treasure: the least treasure score",
    "channel": "the Slack channel to post to (default: the settings' alerts channel)",
    "webhook_url_env": "the env var that holds a Slack incoming-webhook URL",
    "json_webhook_url_env": "the env var that holds a generic JSON webhook's URL (a second channel)",
    "cooldown": "the least time between two alerts about the same subject: seconds, or '2h', '30m'",
    "window": "spike rules: the window tested, in whole hours ('1h', '3h') or seconds",
    "baseline_days": "spike rules: how many previous days form the baseline (3..28)",
    "min_volume": "spike rules: the least volume that may count as a spike",
    "threshold": "spike rules: how unusual the volume must be (robust z-score against the same hours before)",
    "max_age": "posts older than this when first seen are history, not news: seconds, or '1d'",
    "digest_after": "more alerts than this within digest_window become one digest message",
    "digest_window": "the digest's window: seconds, or '10m'",
}
_DURATIONS = ("cooldown", "window", "max_age", "digest_window")


def _rule_schema() -> dict[str, Any]:
    """The settings' schema of a rule, with every key described and durations also taken as strings."""
    schema: dict[str, Any] = AlertRuleSettings.model_json_schema(mode="validation")
    describe(schema, _RULE_DOCS)
    for key in _DURATIONS:
        prop = schema["properties"][key]
        schema["properties"][key] = {
            "anyOf": [{"type": "integer"}, {"type": "string", "examples": ["2h"]}],
            "description": prop["description"],
            "default": prop.get("default"),
        }
    return schema


_RULE_SCHEMA = _rule_schema()
_RULE_EXAMPLE: dict[str, Any] = {
    "name": "vip",
    "kind": "negative_influencer",
    "min_followers": 5000,
    "cooldown": "2h",
}


class RuleCreate(RootModel[dict[str, Any]]):
    """A whole rule: the `[[alerts]]` keys of the settings file, as JSON (checked by the route)."""

    @field_validator("root")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_storable(value)
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            **_RULE_SCHEMA,
            "title": "RuleCreate",
            "description": cls.__doc__,
            "examples": [_RULE_EXAMPLE],
        }


class RuleUpdate(RootModel[dict[str, Any]]):
    """The keys of a rule to change; the others keep their values (the name cannot change)."""

    @field_validator("root")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_storable(value)
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            **{k: v for k, v in _RULE_SCHEMA.items() if k != "required"},
            "title": "RuleUpdate",
            "description": cls.__doc__,
            "examples": [{"cooldown": "30m", "enabled": False}],
        }


class RulePublic(Schema):
    """A rule, where it comes from, and where its evaluation stands."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "vip",
                    "kind": "negative_influencer",
                    "enabled": True,
                    "origin": "api",
                    "edited": False,
                    "config": {**_RULE_EXAMPLE, "cooldown": 7200, "enabled": True},
                    "created_at": "2026-11-01T12:00:00+00:00",
                    "updated_at": "2026-11-01T12:00:00+00:00",
                    "last_evaluated_at": None,
                    "state": {},
                }
            ]
        }
    )

    name: str
    kind: str
    enabled: bool
    origin: str = Field(description="settings (from the file: edit or disable, not delete) or api")
    edited: bool = Field(description="a file rule changed through the API (kept until the file changes it)")
    config: dict[str, Any] = Field(description="every key of the rule, durations in seconds")
    created_at: Timestamp | None
    updated_at: Timestamp | None
    last_evaluated_at: Timestamp | None
    state: dict[str, Any] = Field(description="the rule's evaluation cursors")

    @classmethod
    def from_row(cls, row: AlertRule) -> RulePublic:
        return cls(
            name=row.name,
            kind=row.kind,
            enabled=row.enabled,
            origin=row.origin,
            edited=row.edited,
            config={**row.config, "enabled": row.enabled},
            created_at=iso(row.created_at),
            updated_at=iso(row.updated_at),
            last_evaluated_at=iso(row.last_evaluated_at),
            state=row.state,
        )


class AlertPublic(Schema):
    """One alert in the outbox."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 9,
                    "rule": "vip",
                    "subject": "post:42",
                    "status": "pending",
                    "attempts": 1,
                    "last_error": "HTTP 500 from Slack",
                    "created_at": "2026-11-01T12:00:00+00:00",
                    "next_attempt_at": "2026-11-01T12:01:00+00:00",
                    "delivered_at": None,
                    "deliveries": [3],
                    "payload": {"text": "A negative post by @ana (12,345 followers)"},
                }
            ]
        }
    )

    id: int
    rule: str
    subject: str = Field(description="what the alert is about (a post, a source, a spike...)")
    status: str = Field(description="pending or delivered")
    attempts: int
    last_error: str | None
    created_at: Timestamp | None
    next_attempt_at: Timestamp | None
    delivered_at: Timestamp | None
    deliveries: list[int] = Field(description="ids of the deliveries that carried it")
    payload: dict[str, Any] = Field(description="what the message says, as the rule built it")

    @classmethod
    def from_row(cls, row: Alert, deliveries: list[int]) -> AlertPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            rule=row.rule,
            subject=row.subject,
            status=row.status,
            attempts=row.attempts,
            last_error=mask_urls(row.last_error) if row.last_error else None,
            created_at=iso(row.created_at),
            next_attempt_at=iso(row.next_attempt_at),
            delivered_at=iso(row.delivered_at),
            deliveries=deliveries,
            payload=row.payload,
        )


class AlertPage(Schema):
    """Alerts, newest first, with the counts per status."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"counts": {"pending": 1, "delivered": 12}, "items": []}]}
    )

    counts: dict[str, int] = Field(description="status -> alerts (of the rule, if one was asked for)")
    items: list[AlertPublic]


_DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "rule": "vip",
    "channel": "slack:#social",
    "kind": "alert",
    "status": "delivered",
    "alert_count": 1,
    "http_status": 200,
    "error": None,
    "response": "ok",
    "retries": 0,
    "duration_ms": 42,
    "attempt_at": "2026-11-01T12:00:00+00:00",
}


class DeliveryPublic(Schema):
    """One attempt to deliver alerts to a channel."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DELIVERY_EXAMPLE]})

    id: int
    rule: str
    channel: str
    kind: str = Field(description="alert, digest or test")
    status: str = Field(
        description="delivered, uncertain (sent, no answer in time: not sent again), failed or rate_limited"
    )
    alert_count: int
    http_status: int | None
    error: str | None
    response: str | None = Field(description="the start of the channel's answer")
    retries: int
    duration_ms: int | None
    attempt_at: Timestamp | None

    @classmethod
    def from_row(cls, row: AlertDelivery) -> DeliveryPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            rule=row.rule,
            channel=row.channel,
            kind=row.kind,
            status=row.status,
            alert_count=row.alert_count,
            http_status=row.http_status,
            error=mask_urls(row.error) if row.error else None,
            response=mask_urls(row.response) if row.response else None,
            retries=row.retries,
            duration_ms=row.duration_ms,
            attempt_at=iso(row.attempt_at),
        )


class MessageLinkPublic(Schema):
    """A link or button of a message: its words and where it goes (http(s) only)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"label": "Open post", "url": "https://x.com/ana/status/1"}]}
    )

    label: str = Field(description="the link's words, or the button's label")
    url: str


class MessagePartPublic(Schema):
    """One block of a message as plain text (untrusted: escape it wherever it is shown)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "text",
                    "text": "Ana @ana · 12.3k followers · x",
                    "links": [{"label": "@ana", "url": "https://x.com/ana"}],
                }
            ]
        }
    )

    kind: str = Field(
        description="header, text, quote (the post's own words), context (small print) or actions"
    )
    text: str
    links: list[MessageLinkPublic] = Field(description="the links and buttons of this block")

    @classmethod
    def from_part(cls, part: MessagePart) -> MessagePartPublic:
        return cls(
            kind=part.kind,
            text=part.text,
            links=[MessageLinkPublic(label=link.label, url=link.url) for link in part.links],
        )


class DeliveryMessage(Schema):
    """The message one delivery sent, built again from the alerts it carried, as readable parts.

    `available` is false when the alerts it carried are gone (then `parts` is empty).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "delivery": _DELIVERY_EXAMPLE,
                    "available": True,
                    "fallback": "Negative post by an influencer: @ana (12.3k followers)",
                    "parts": [
                        {"kind": "header", "text": "Negative post by an influencer", "links": []},
                        {"kind": "quote", "text": "The sole came off after a week", "links": []},
                        {
                            "kind": "actions",
                            "text": "",
                            "links": [{"label": "Open post", "url": "https://x.com/ana/status/1"}],
                        },
                    ],
                    "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Negative post"}}],
                }
            ]
        }
    )

    delivery: DeliveryPublic = Field(description="the delivery-log line")
    available: bool = Field(description="false: the alerts it carried are no longer stored")
    fallback: str = Field(description="the notification line Slack shows, as plain text")
    parts: list[MessagePartPublic] = Field(description="the blocks in order, as plain text")
    blocks: list[dict[str, Any]] = Field(description="the Block Kit blocks as Slack received them")
