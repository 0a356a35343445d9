"""Meta's webhook notifications (Instagram `mentions`) as Tesoro reads them, and its answer."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Input, Schema

__all__ = ["MetaChange", "MetaEntry", "MetaNotification", "MetaWebhookResult"]

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
