"""The quarantine: collected items the collector boundary refused, with why (`GET /api/quarantine`)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Schema, Timestamp, iso
from tesoro.store.tables import QuarantineItem

__all__ = ["QuarantineEntry", "QuarantinePage"]

_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "source": "import:backfill.jsonl",
    "platform": "x",
    "external_id": "1700000000000000001",
    "kind": "row",
    "line": 2,
    "reason": "`created_at` 2099-01-01T00:00:00+00:00 is in the future (now is 2026-12-07T06:00:00+00:00;"
    " at most 300 s of clock skew is accepted)",
    "raw": '{"id": "1700000000000000001", "text": "love my boots", "created_at": "2099-01-01T00:00:00Z"}',
    "times_seen": 1,
    "retries": 0,
    "first_seen_at": "2026-12-07T06:00:00+00:00",
    "last_seen_at": "2026-12-07T06:00:00+00:00",
}


class QuarantineEntry(Schema):
    """One refused item: where it came from, why, and its JSON as collected (untrusted text)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: int
    source: str = Field(description="the source's name, or import:FILE for `tesoro import`")
    platform: str
    external_id: str | None = Field(description="the platform's id of the item, when it had one")
    kind: str = Field(description="row (a file row) or post (a collected post)")
    line: int | None = Field(description="the file line, for a file row")
    reason: str = Field(description="why the boundary refused it")
    raw: str = Field(description="the item as JSON, ASCII only, cut at 64 k characters")
    times_seen: int = Field(description="how often collection met it again")
    retries: int = Field(description="retries that refused it again")
    first_seen_at: Timestamp = Field(description="when it was first refused")
    last_seen_at: Timestamp = Field(description="when collection last met it (or a retry refused it)")

    @classmethod
    def from_row(cls, item: QuarantineItem) -> QuarantineEntry:
        return cls(
            id=item.id or 0,
            source=item.source,
            platform=item.platform,
            external_id=item.external_id,
            kind=item.kind,
            line=item.line,
            reason=item.reason,
            raw=item.raw,
            times_seen=item.times_seen,
            retries=item.retries,
            first_seen_at=iso(item.first_seen_at) or "",
            last_seen_at=iso(item.last_seen_at) or "",
        )


class QuarantinePage(Schema):
    """A page of quarantined items, latest seen first, with the total that matched."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"total": 1, "items": [_EXAMPLE]}]})

    total: int = Field(description="items that match, over all pages")
    items: list[QuarantineEntry]
