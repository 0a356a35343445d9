"""Relationships and KPIs: ROR leaderboards and breakdowns, identities, logged events, KPIs, ROE, orders.

The insights service (`tesoro.insights.service`, shared with the command line)
builds these as plain dicts; the models here are their contract. Ratios are
fractions (0.25 is 25 %), null where the denominator is zero; times are ISO 8601
with an offset.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Id, Input, Moment, Schema, Timestamp

__all__ = [
    "AccountPublic",
    "DismissCreate",
    "DismissedPublic",
    "EngagementPublic",
    "EventCreate",
    "EventDeleted",
    "IdentityLink",
    "IdentityUnlink",
    "KpiReport",
    "LeaderboardPublic",
    "LinkSuggestion",
    "LinkedPublic",
    "LoggedEvent",
    "PersonRor",
    "PurchasesReport",
    "RefreshPublic",
    "RoeList",
    "RoePublic",
    "RorRow",
    "RorTerms",
    "SentimentShare",
    "SuggestionList",
    "SuggestionPublic",
    "UnlinkedPublic",
    "VoiceList",
    "VoiceShare",
    "VolumePoint",
    "VolumeSeries",
]

# --- requests ----------------------------------------------------------------------------------------


class IdentityLink(Input):
    """Accounts that are one person (on several platforms, or several accounts on one)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"author_ids": [7, 19], "display_name": "Ana"}]}
    )

    author_ids: list[Id] = Field(min_length=2, max_length=50)
    display_name: str | None = Field(None, max_length=200, description="the person's name; default: kept")


class IdentityUnlink(Input):
    """An account to detach from its person."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"author_id": 19}]})

    author_id: Id


class DismissCreate(Input):
    """Two accounts that are different people: they are not suggested again."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"author_a": 7, "author_b": 19}]})

    author_a: Id
    author_b: Id


class EventCreate(Input):
    """A relationship event Tesoro cannot see, logged by hand (a purchase, a meet-up, a gift...)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "purchase",
                    "weight": 2,
                    "occurred_at": "2026-11-01T12:00:00Z",
                    "note": "shop order 1182",
                }
            ]
        }
    )

    kind: str = Field(min_length=1, max_length=40, description="a short label: purchase, meet_up, gift...")
    weight: float = Field(1.0, description="the event's value in ROR (non-zero, -100..100)")
    occurred_at: Moment | None = Field(None, description="when it happened; default: now")
    post_id: Id | None = Field(None, description="one of the author's posts it relates to, if any")
    note: str | None = Field(None, max_length=500)


# --- ROR -------------------------------------------------------------------------------------------


class RorTerms(Schema):
    """The four terms that add up to a ROR score."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"events": 39.8328, "loyalty": 2.0794, "advocacy": 3.2599, "sentiment_trend": 0.0}]
        }
    )

    events: float = Field(description="decayed value of the person's events")
    loyalty: float = Field(description="months active, on a log scale")
    advocacy: float = Field(description="reach of what they posted about the brand")
    sentiment_trend: float = Field(description="recent sentiment against earlier sentiment")


class RorRow(Schema):
    """One person on the leaderboard."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rank": 1,
                    "author_id": 7,
                    "person_id": 3,
                    "handle": "ana",
                    "platform": "x",
                    "display_name": "Ana Trail",
                    "followers": 12345,
                    "accounts": 2,
                    "score": 45.1721,
                    "terms": {
                        "events": 39.8328,
                        "loyalty": 2.0794,
                        "advocacy": 3.2599,
                        "sentiment_trend": 0.0,
                    },
                    "events": 21,
                    "months_active": 1,
                    "last_event_at": "2026-11-01T11:55:00+00:00",
                }
            ]
        }
    )

    rank: int
    author_id: int = Field(description="the person's main account")
    person_id: int | None
    handle: str
    platform: str
    display_name: str | None
    followers: int | None
    accounts: int = Field(description="linked accounts counted together")
    score: float = Field(description="Return on Relationship: the sum of the terms")
    terms: RorTerms
    events: int
    months_active: int
    last_event_at: Timestamp | None


_ROR_ROW_EXAMPLE: dict[str, Any] = {
    "rank": 1,
    "author_id": 7,
    "person_id": 3,
    "handle": "ana",
    "platform": "x",
    "display_name": "Ana Trail",
    "followers": 12345,
    "accounts": 2,
    "score": 45.1721,
    "terms": {"events": 39.8328, "loyalty": 2.0794, "advocacy": 3.2599, "sentiment_trend": 0.0},
    "events": 21,
    "months_active": 1,
    "last_event_at": "2026-11-01T11:55:00+00:00",
}


class LeaderboardPublic(Schema):
    """People by Return on Relationship, best first, from the latest stored computation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand": "Andes Outdoor",
                    "computed_at": "2026-11-01T12:00:00+00:00",
                    "advocate_min_ror": 15.0,
                    "items": [_ROR_ROW_EXAMPLE],
                }
            ]
        }
    )

    brand: str | None
    computed_at: Timestamp | None = Field(description="when the stored scores were computed")
    advocate_min_ror: float = Field(description="the score from which a person counts as an advocate")
    items: list[RorRow]


class RefreshPublic(Schema):
    """What recomputing everyone's ROR did."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand": "Andes Outdoor",
                    "people": 4,
                    "events": 35,
                    "seconds": 0.012,
                    "as_of": "2026-11-01T12:00:00+00:00",
                }
            ]
        }
    )

    brand: str | None
    people: int
    events: int
    seconds: float
    as_of: Timestamp


class AccountPublic(Schema):
    """An account of a person."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "author_id": 7,
                    "platform": "x",
                    "handle": "ana",
                    "display_name": "Ana Trail",
                    "followers": 12345,
                    "profile_url": "https://x.com/ana",
                    "person_id": 3,
                }
            ]
        }
    )

    author_id: int
    platform: str
    handle: str
    display_name: str | None
    followers: int | None
    profile_url: str | None
    person_id: int | None


class LoggedEvent(Schema):
    """An event logged by hand."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "author_id": 7,
                    "post_id": None,
                    "kind": "purchase",
                    "weight": 2.0,
                    "occurred_at": "2026-11-01T12:00:00+00:00",
                    "note": "shop order 1182",
                }
            ]
        }
    )

    id: int
    author_id: int
    post_id: int | None
    kind: str
    weight: float
    occurred_at: Timestamp | None
    note: str | None = Field(description="raw: escape it before showing it")


class LinkSuggestion(Schema):
    """An account that is probably the same person as the author."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"author_id": 7, "other_id": 19, "token": "ana", "reason": "same handle on x and bluesky"}
            ]
        }
    )

    author_id: int
    other_id: int
    token: str = Field(description="what the two accounts share (a handle, a name)")
    reason: str


class PersonRor(Schema):
    """A person's ROR now, how it was built (terms and each event's part), its history and its accounts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand": None,
                    "author_id": 7,
                    "person_id": None,
                    "accounts": [
                        {
                            "author_id": 7,
                            "platform": "x",
                            "handle": "ana",
                            "display_name": "Ana Trail",
                            "followers": 12345,
                            "profile_url": "https://x.com/ana",
                            "person_id": None,
                        }
                    ],
                    "ror": {"as_of": "2026-11-01T12:00:00+00:00", "score": 43.1583, "events_total": 21},
                    "formula": {"text": "ROR = events + loyalty + advocacy + sentiment_trend"},
                    "history": {"every": "month", "points": []},
                    "link_suggestions": [],
                    "logged_events": [],
                }
            ]
        }
    )

    brand: str | None
    author_id: int
    person_id: int | None
    accounts: list[AccountPublic]
    ror: dict[str, Any] = Field(
        description="as_of, score, terms, months_active, recent/earlier sentiment, by_kind "
        "(kind -> count, contribution), events_total and the newest `events` events with their part"
    )
    formula: dict[str, Any] = Field(description="the formula in words and the weights it used")
    history: dict[str, Any] = Field(description="every (month or week) and points: [{at, score, terms}]")
    link_suggestions: list[LinkSuggestion]
    logged_events: list[LoggedEvent]


class EventDeleted(Schema):
    """The event a removal deleted."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "deleted": {
                        "id": 1,
                        "author_id": 7,
                        "post_id": None,
                        "kind": "purchase",
                        "weight": 2.0,
                        "occurred_at": "2026-11-01T12:00:00+00:00",
                        "note": None,
                    }
                }
            ]
        }
    )

    deleted: LoggedEvent


class LinkedPublic(Schema):
    """The person the accounts now belong to."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"person_id": 3, "author_ids": [7, 19]}]})

    person_id: int
    author_ids: list[int]


class UnlinkedPublic(Schema):
    """The account detached from its person."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"author_id": 19, "person_id": None}]})

    author_id: int
    person_id: None = Field(description="always null: the account belongs to no person now")


class DismissedPublic(Schema):
    """Two accounts marked as different people."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"dismissed": [7, 19]}]})

    dismissed: list[int] = Field(description="the two accounts, smaller id first")


class SuggestionPublic(Schema):
    """Two accounts that are probably one person."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account": {
                        "author_id": 7,
                        "platform": "x",
                        "handle": "ana",
                        "display_name": "Ana Trail",
                        "followers": 12345,
                        "profile_url": "https://x.com/ana",
                        "person_id": 3,
                    },
                    "other": None,
                    "token": "ana",
                    "reason": "same handle on x and bluesky",
                }
            ]
        }
    )

    account: AccountPublic | None
    other: AccountPublic | None
    token: str
    reason: str


class SuggestionList(Schema):
    """Pairs of accounts that are probably one person, best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "account": {
                                "author_id": 7,
                                "platform": "x",
                                "handle": "ana",
                                "display_name": "Ana Trail",
                                "followers": 12345,
                                "profile_url": "https://x.com/ana",
                                "person_id": 3,
                            },
                            "other": None,
                            "token": "ana",
                            "reason": "same handle on x and bluesky",
                        }
                    ]
                }
            ]
        }
    )

    items: list[SuggestionPublic]


# --- KPIs ------------------------------------------------------------------------------------------


class SentimentShare(Schema):
    """Posts per sentiment label, their shares among scored posts, and net sentiment (-1..1)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "positive": 2,
                    "neutral": 0,
                    "negative": 1,
                    "unscored": 0,
                    "share": {"positive": 0.6667, "neutral": 0.0, "negative": 0.3333},
                    "net": 0.3333,
                }
            ]
        }
    )

    positive: int
    neutral: int
    negative: int
    unscored: int
    share: dict[str, float | None] = Field(description="label -> fraction of the scored posts")
    net: float | None = Field(description="(positive - negative) / scored")


class VolumePoint(Schema):
    """Mentions and sentiment in one day, week or month."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2026-11-01T00:00:00+00:00",
                    "posts": 3,
                    "sentiment": {
                        "positive": 2,
                        "neutral": 0,
                        "negative": 1,
                        "unscored": 0,
                        "share": {"positive": 0.6667, "neutral": 0.0, "negative": 0.3333},
                        "net": 0.3333,
                    },
                }
            ]
        }
    )

    start: Timestamp = Field(description="the start of the day, week or month")
    posts: int
    sentiment: SentimentShare


class VolumeSeries(Schema):
    """Mentions and sentiment per day, week or month of the window."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "bucket": "day",
                    "points": [
                        {
                            "start": "2026-11-01T00:00:00+00:00",
                            "posts": 3,
                            "sentiment": {
                                "positive": 2,
                                "neutral": 0,
                                "negative": 1,
                                "unscored": 0,
                                "share": {"positive": 0.6667, "neutral": 0.0, "negative": 0.3333},
                                "net": 0.3333,
                            },
                        }
                    ],
                }
            ]
        }
    )

    bucket: Literal["day", "week", "month"]
    points: list[VolumePoint]


class VoiceShare(Schema):
    """One name's mentions and share of all the mentions compared."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Andes Outdoor", "is_brand": True, "mentions": 30, "share": 0.6}]
        }
    )

    name: str
    is_brand: bool = Field(description="true for the brand itself, false for a competitor")
    mentions: int
    share: float | None


class VoiceList(Schema):
    """The brand's mentions against each competitor's."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"name": "Andes Outdoor", "is_brand": True, "mentions": 30, "share": 0.6},
                        {"name": "Rival", "is_brand": False, "mentions": 20, "share": 0.4},
                    ]
                }
            ]
        }
    )

    items: list[VoiceShare]


class EngagementPublic(Schema):
    """A platform's median engagement rate in the window against that platform's median."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "platform": "x",
                    "posts": 30,
                    "rated_posts": 28,
                    "median_rate": 0.021,
                    "mean_rate": 0.034,
                    "platform_median": 0.015,
                    "median_source": "published",
                    "vs_median": 1.4,
                }
            ]
        }
    )

    platform: str
    posts: int
    rated_posts: int = Field(description="posts with views or followers to rate against")
    median_rate: float | None
    mean_rate: float | None
    platform_median: float | None
    median_source: Literal["published", "derived"] | None
    vs_median: float | None


class KpiReport(Schema):
    """Every KPI of a window, with the previous window of equal length for the trends."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand": "Andes Outdoor",
                    "platform": None,
                    "window": {
                        "since": "2026-10-02T00:00:00+00:00",
                        "until": "2026-11-01T00:00:00+00:00",
                        "bucket": "day",
                    },
                    "volume": {
                        "mentions": 30,
                        "unique_authors": 12,
                        "interactions": 410,
                        "potential_reach": 90000,
                    },
                    "by_platform": [
                        {"platform": "x", "mentions": 30, "unique_authors": 12, "interactions": 410}
                    ],
                    "sentiment": {"positive": 20, "neutral": 6, "negative": 4, "unscored": 0, "net": 0.5333},
                    "series": [],
                    "share_of_voice": [],
                    "engagement": [],
                    "top_advocates": [],
                    "top_ugc": [],
                }
            ]
        }
    )

    brand: str | None
    platform: str | None
    window: dict[str, Any] = Field(description="since, until and the bucket of the series")
    volume: dict[str, Any] = Field(
        description="mentions, unique_authors, interactions, potential_reach, with previous and change"
    )
    by_platform: list[dict[str, Any]] = Field(description="platform, mentions, unique_authors, interactions")
    sentiment: dict[str, Any] = Field(description="a sentiment share with `previous` and `net_change`")
    series: list[VolumePoint]
    share_of_voice: list[VoiceShare]
    engagement: list[EngagementPublic]
    top_advocates: list[RorRow]
    top_ugc: list[dict[str, Any]] = Field(
        description="the window's best UGC: post_id, platform, url, text, created_at, author_id, handle, "
        "followers, interactions, treasure_score, queue_state, rights_status"
    )


class PurchasesReport(Schema):
    """Orders of advocates (ROR at or above the threshold) against everyone else's."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand": "Andes Outdoor",
                    "window": {"since": "2025-11-01T00:00:00+00:00", "until": "2026-11-01T00:00:00+00:00"},
                    "advocate_min_ror": 15.0,
                    "orders": 120,
                    "linked_orders": 30,
                    "advocates": {
                        "customers": 10,
                        "orders": 25,
                        "revenue": 2500.0,
                        "purchase_frequency": 2.5,
                        "average_order_value": 100.0,
                        "repeat_purchase_rate": 0.6,
                    },
                    "everyone_else": {
                        "customers": 80,
                        "orders": 95,
                        "revenue": 7600.0,
                        "purchase_frequency": 1.1875,
                        "average_order_value": 80.0,
                        "repeat_purchase_rate": 0.15,
                    },
                }
            ]
        }
    )

    brand: str | None
    window: dict[str, str] = Field(description="since and until")
    advocate_min_ror: float
    orders: int
    linked_orders: int = Field(description="orders whose customer is linked to an account")
    advocates: dict[str, float | int | None] = Field(
        description="customers, orders, revenue, purchase_frequency, average_order_value, "
        "repeat_purchase_rate"
    )
    everyone_else: dict[str, float | int | None]


class RoePublic(Schema):
    """Return on Engagement of one declared effort: what it earned against what it cost."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "target": "#cumbre",
                    "start": "2026-10-01",
                    "end": "2026-10-31",
                    "earned": {
                        "posts_about": 40,
                        "interactions": 900,
                        "ugc": 6,
                        "reach": 50000,
                        "total": 1050.0,
                    },
                    "effort": {"posts": 8, "hours": 12.0, "spend": 300.0},
                    "roe": {"per_post": 131.25, "per_hour": 87.5, "per_spend": 3.5},
                    "trend": {"per_post": 0.12},
                }
            ]
        }
    )

    target: str = Field(description="query:<name>, #hashtag or brand:<name>")
    start: str = Field(description="first day (YYYY-MM-DD)")
    end: str = Field(description="last day (YYYY-MM-DD)")
    earned: dict[str, float | int | None] = Field(description="posts_about, interactions, ugc, reach, total")
    effort: dict[str, float | int | None] = Field(description="posts, hours, spend")
    roe: dict[str, float | int | None] = Field(description="earned per post, per hour and per unit of spend")
    trend: dict[str, float | int | None] = Field(description="change against the target's previous effort")


class RoeList(Schema):
    """ROE of every declared effort, oldest first per target, with the values it used."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ugc_value": 25.0, "reach_value": 0.0, "items": []}]}
    )

    ugc_value: float = Field(description="what one piece of UGC is worth (settings `roe.ugc_value`)")
    reach_value: float = Field(description="what one person reached is worth (settings `roe.reach_value`)")
    items: list[RoePublic]
