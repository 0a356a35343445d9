"""Platform webhook notifications as Tesoro reads them, and its answers: Meta's (Instagram `mentions`)
and TikTok API for Business's (brand mentions)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Input, Schema

__all__ = [
    "MetaChange",
    "MetaEntry",
    "MetaNotification",
    "MetaWebhookResult",
    "TikTokNotification",
    "TikTokWebhookResult",
]

# Meta batches up to 1,000 changes a call; more than this many in one call is not a notification.
MAX_CHANGES = 1000


class MetaChange(Input):
    model_config = ConfigDict(extra="ignore")
    field: Annotated[str, Field(max_length=64)]
    value: dict[str, Any] = Field(default_factory=dict)


class MetaEntry(Input):
    model_config = ConfigDict(extra="ignore")
    id: Annotated[str, Field(max_length=64, description="the Instagram account the notification is for")]
    time: int | None = None
    changes: Annotated[list[MetaChange], Field(max_length=MAX_CHANGES)] = Field(default_factory=list)


class MetaNotification(Input):
    """`{"object": "instagram", "entry": [{"id", "time", "changes": [{"field", "value"}]}]}`."""

    model_config = ConfigDict(extra="ignore")
    object: Annotated[str, Field(max_length=32)]
    entry: Annotated[list[MetaEntry], Field(max_length=MAX_CHANGES)] = Field(default_factory=list)


class MetaWebhookResult(Schema):
    """What one webhook call collected: the mentions it named, stored new or again, and any skipped."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mentions": 2,
                    "inserted": 1,
                    "updated": 0,
                    "skipped": ["media 17895695668004550: the platform answered 404"],
                }
            ]
        }
    )
    mentions: int = Field(description="mention notifications in the call")
    inserted: int = Field(description="mentioned media stored for the first time")
    updated: int = Field(description="mentioned media already stored (a repeated notification)")
    skipped: list[str] = Field(
        default_factory=list, description="notifications not collected, each with why (at most 20)"
    )


class TikTokNotification(Input):
    """`{"client_key", "event", "create_time", "user_openid", "content"}`: `content` is a JSON document
    sent as a string (read twice). Its shape for mention events is not public, so only its being JSON
    is checked."""

    model_config = ConfigDict(extra="ignore", strict=True)
    client_key: Annotated[str, Field(max_length=128, description="the TikTok app the call is for")]
    event: Annotated[str, Field(min_length=1, max_length=128)]
    create_time: Annotated[int, Field(ge=0, description="when TikTok made the event, UTC epoch seconds")]
    user_openid: Annotated[
        str,
        Field(min_length=1, max_length=128, description="the account's open id (a business's business_id)"),
    ]
    content: Annotated[str, Field(max_length=1_048_576)]


class TikTokWebhookResult(Schema):
    """What Tesoro did with one TikTok notification. Every signed, well-formed call is answered 200
    (TikTok retries anything else for 72 hours); one that starts nothing says why in `ignored`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": True,
                    "event": "mention.video",
                    "source": "tiktok-brand-mentions",
                    "run": "started",
                },
                {
                    "accepted": False,
                    "event": "video.publish.complete",
                    "ignored": "event 'video.publish.complete' is not a mention",
                },
            ]
        }
    )
    accepted: bool = Field(description="a collection of the source was started, queued or already waiting")
    event: str = Field(description="the notification's event name")
    source: str | None = Field(None, description="the TikTok mentions source the notification is for")
    run: Literal["started", "queued", "coalesced"] | None = Field(
        None,
        description="started: a run began; queued: one follows the run in flight; coalesced: one was "
        "already waiting (repeated or bursting notifications cost one run)",
    )
    ignored: str | None = Field(None, description="why nothing was started")
