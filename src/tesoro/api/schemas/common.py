"""Pieces every resource's schemas share: the base model, timestamps as the API writes them, and `iso`.

The bounded input types live here too, and every route uses them for what a client
sends: `Id` (a stored row's id: 1..2**31-1, PostgreSQL's `integer`), `Offset` (0..
`MAX_OFFSET`), and `Input`, the base of every request body, which refuses a NUL
character or a lone surrogate in any string it holds (neither can be stored on
every backend). A value out of bounds is a 422 that names the field, never a 500.

Many fields mean the same thing wherever they appear (`platform`, `created_at`,
`queue_state`...). Their descriptions are written once, in `FIELD_DOCS`, and
`Schema` adds them to any property of its JSON schema that has no description of
its own; a field whose meaning is particular to its model says so with
`Field(description=...)`, which wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, GetJsonSchemaHandler, WithJsonSchema, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "EARLIEST",
    "FIELD_DOCS",
    "LATEST",
    "MAX_ID",
    "MAX_OFFSET",
    "TIME_BOUNDS",
    "Id",
    "Input",
    "Moment",
    "Offset",
    "Schema",
    "Timestamp",
    "check_storable",
    "describe",
    "in_bounds",
    "iso",
    "unstorable",
]

# The largest id a client may send: PostgreSQL's `integer` (SQLite's are wider, but the store is both).
MAX_ID = 2_147_483_647
# The most entries a list may skip: paging deeper than this is a search that should be narrower.
MAX_OFFSET = 10_000

# A stored row's id in a path, a query or a body.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Entries skipped before a page.
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]

# The times a client may name (a window's ends, an event's time): a year that overflows a day's
# arithmetic (0001, 9999) or that no post can have is refused with the field named.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
TIME_BOUNDS = "between 1970-01-01 and 2099-12-31"


def in_bounds(moment: datetime) -> bool:
    """`moment` (naive: UTC) lies in [EARLIEST, LATEST)."""
    try:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return EARLIEST <= aware < LATEST
    except OverflowError:  # an offset that moves year 1 or 9999 out of range
        return False


def _bounded(moment: datetime) -> datetime:
    """Refuse a time before EARLIEST or one whose UTC instant overflows.

    A time in the future is the service's to judge (it knows what "now" allows).
    """
    try:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        early = aware < EARLIEST
        aware.astimezone(UTC)
    except OverflowError:
        early = True
    if early or moment.year > 9998:
        raise ValueError(f"must be {TIME_BOUNDS}")
    return moment


# A time in a request body (an event that happened: the service refuses the future with its own words).
Moment = Annotated[datetime, AfterValidator(_bounded)]

# A point in time as the API writes it: ISO 8601 with an explicit UTC offset ("2026-11-01T12:00:00+00:00").
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]

FIELD_DOCS: Mapping[str, str] = MappingProxyType(
    {
        # identities and places
        "id": "Tesoro's id of the thing",
        "post_id": "Tesoro's id of the post",
        "post_ids": "Tesoro's ids of the posts",
        "author_id": "Tesoro's id of the account",
        "author_ids": "Tesoro's ids of the accounts",
        "author_a": "one account's id",
        "author_b": "the other account's id",
        "other_id": "the other account's id",
        "person_id": "the person the account was linked to (accounts on several platforms), if any",
        "brand_id": "Tesoro's id of the brand",
        "product_id": "Tesoro's id of the product",
        "decision_id": "the entry in the decision log",
        "batch_id": "decisions made together share it and are undone together",
        "key_id": "the public part of a key (tso_<key_id>_<secret>)",
        "external_id": "the platform's id of the post",
        "platform": "x, reddit, bluesky, mastodon, youtube, file...",
        "brand": "the brand's name",
        "product": "the product",
        "name": "the name",
        "rule": "the alert rule's name",
        "channel": "where the alert went (a Slack channel or a webhook)",
        "type": "photo, video or gif",
        "kind": "what sort of thing it is",
        "title": "a title, where the platform has one (Reddit, YouTube)",
        "tag": "a label, compared without case or extra spaces",
        "tags": "labels a coordinator gave the post",
        "hashtags": "the post's hashtags, without #",
        "lang": "the language the platform reported, if any",
        # people
        "handle": "the account's handle on its platform",
        "display_name": "the account's display name; raw, escape it before showing it",
        "author_handle": "the author's handle",
        "followers": "followers when last collected",
        "following": "accounts it follows, when last collected",
        "verified": "the platform marks the account as verified",
        "profile_url": "the account's page; only http(s) links, else null",
        "author": "who posted it",
        "account": "one account",
        "other": "the other account",
        "accounts": "the person's accounts",
        "first_seen_at": "when Tesoro first collected one of its posts",
        "people": "people (linked accounts count once)",
        # posts and media
        "text": "raw text: escape it before showing it",
        "url": "a link; only http(s), else null",
        "preview_url": "a still of a video or gif, only on an allowed media host",
        "alt_text": "the author's description of the medium",
        "width": "pixels, where the platform says",
        "height": "pixels, where the platform says",
        "media": "photos, videos and gifs",
        "metrics": "engagement counts as last collected",
        "likes": "likes (favourites, upvotes) when last collected",
        "reposts": "reposts (retweets, boosts) when last collected",
        "replies": "replies when last collected",
        "quotes": "quote posts when last collected",
        "views": "views, where the platform counts them",
        "created_at": "when it was made",
        "updated_at": "when it last changed",
        "posts": "posts",
        "post_count": "posts collected",
        "total_posts": "posts collected",
        "total_authors": "accounts that posted",
        "posts_collected": "posts this source collected so far",
        "featured": "a coordinator featured it (shown first)",
        # review
        "queue_state": "new, approved, featured, rejected or archived",
        "rights_status": "none, requested, granted, declined or expired",
        "from_state": "the queue state before",
        "to_state": "the queue state after",
        "action": "approve, reject, feature, archive, reopen, note, tag, assign_product, set_rights...",
        "actor": "who did it: a key, as `key:<key_id> (<name>)`",
        "note": "free text for the log; raw, escape it before showing it",
        "add": "tags to add",
        "remove": "tags to remove",
        "add_tags": "tags to add",
        "remove_tags": "tags to remove",
        "applied": "what was done",
        "skipped": "what was not done, each with its reason",
        "restored": "posts put back as they were",
        "reason": "why, in words",
        "problem": "why it was skipped: not_found, invalid, conflict or unchanged",
        "decided_at": "when it was decided",
        "undone": "a later undo reverted it",
        "decisions": "decisions",
        "approvals": "decisions that approved or featured",
        "copies": "posts with the same words (duplicates), newest last",
        "copy_count": "how many duplicates it has",
        "treasure": "why the post ranks where it does",
        "sentiment": "positive, neutral or negative",
        "score": "the score",
        "rank": "1 for the best",
        # collections and paging
        "items": "the entries, in order",
        "total": "entries that match, over all pages",
        "limit": "entries per page asked for",
        "offset": "entries skipped before this page",
        "sort": "relevance, treasure or date",
        "count": "how many",
        "deleted": "what was removed",
        # keys and configuration
        "role": "admin, coordinator, viewer or gallery",
        "revoked_at": "when it was revoked; null while it works",
        "database": "the store the service runs on",
        "status": "where it stands",
        "enabled": "false: kept but not used",
        # rankers and jobs
        "blend": "the learned ranker's share of the score, 0..1",
        "learned_weights": "what the ranker learned, per feature",
        "trained": "a new model was trained",
        "ranked": "posts ranked",
        "seconds": "how long it took",
        # alerts
        "attempts": "delivery attempts so far",
        "last_error": "the last error, in words",
        "next_attempt_at": "the earliest next attempt",
        "delivered_at": "when it was delivered",
        "alert_count": "alerts the message carried",
        "http_status": "the channel's HTTP status",
        "error": "what went wrong, if it failed",
        "retries": "retries before it succeeded or gave up",
        "duration_ms": "how long the delivery took, in milliseconds",
        "attempt_at": "when it was sent",
        "last_evaluated_at": "when the rule last looked at new data",
        # sources
        "last_success_at": "the last run that worked",
        "last_run_at": "the last run",
        "consecutive_failures": "failed runs since the last one that worked",
        # relationships and KPIs
        "as_of": "the moment the score describes",
        "terms": "the four terms the score adds up",
        "events": "relationship events counted",
        "months_active": "months with at least one event",
        "last_event_at": "the latest event counted",
        "advocate_min_ror": "the ROR from which a person counts as an advocate",
        "link_suggestions": "accounts that are probably the same person",
        "logged_events": "events logged by hand, newest first",
        "occurred_at": "when it happened",
        "weight": "its value in ROR",
        "token": "what the two accounts share (a handle, a name)",
        "bucket": "day, week or month",
        "points": "one per bucket, oldest first",
        "series": "mentions and sentiment per bucket",
        "share": "a fraction of the whole, 0..1; null when the whole is zero",
        "share_of_voice": "the brand's mentions against each competitor's",
        "mentions": "posts that mention it",
        "engagement": "engagement rates per platform against their medians",
        "top_advocates": "people with the best ROR",
        "orders": "orders",
        "everyone_else": "the same metrics for everyone who is not an advocate",
        "positive": "posts scored positive",
        "neutral": "posts scored neutral",
        "negative": "posts scored negative",
        "unscored": "posts without a sentiment score yet",
        "median_rate": "the window's median engagement rate (interactions / views, else / followers)",
        "mean_rate": "the window's mean engagement rate",
        "platform_median": "the platform's median rate (a published benchmark, else derived from posts)",
        "median_source": "published or derived",
        "vs_median": "median_rate / platform_median",
    }
)


def describe(schema: JsonSchemaValue, docs: Mapping[str, str] = FIELD_DOCS) -> None:
    """Give every property of `schema` without a description the one `docs` has for its name."""
    for name, prop in schema.get("properties", {}).items():
        if isinstance(prop, dict) and "description" not in prop and name in docs:
            prop["description"] = docs[name]


class Schema(BaseModel):
    """The base of every API model: fields described in one place (`FIELD_DOCS`) unless they say more."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        describe(handler.resolve_ref_schema(schema))
        return schema


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored (a NUL, a lone surrogate), or None when it can."""
    if "\x00" in value:
        return "must not contain a NUL character"
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return "must not contain a lone surrogate (invalid Unicode)"
    return None


def check_storable(value: Any) -> None:
    """Raise ValueError if any string in `value` (lists and maps walked) cannot be stored."""
    if isinstance(value, str):
        if (reason := unstorable(value)) is not None:
            raise ValueError(reason)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key)
            check_storable(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_storable(item)


class Input(Schema):
    """The base of every request body: no string in it (nested ones too) holds a NUL or a lone surrogate."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        check_storable(value)
        return value


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with its UTC offset (the store's times are aware UTC)."""
    return None if value is None else value.isoformat()
