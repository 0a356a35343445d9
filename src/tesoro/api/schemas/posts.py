"""Posts, their authors and media, sources and the dashboard overview, as the API shows them.

Media URLs leave the API only when they point at an allowed platform host, links
only when they are http(s): the `from_view` constructors apply both rules, so a
handler cannot forget them.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Schema, Timestamp, iso
from tesoro.api.security import MediaFilter, safe_link
from tesoro.collector.quota import QuotaStatus
from tesoro.store.posts import AuthorDetail, AuthorView, MediaView, Overview, PostView
from tesoro.store.tables import Post, Source

__all__ = [
    "UI_URL_DOC",
    "ActivityMonth",
    "AuthorDetailPublic",
    "AuthorPublic",
    "MediaPublic",
    "OverviewPublic",
    "PostMetrics",
    "PostPage",
    "PostPublic",
    "PostSummary",
    "ProductRef",
    "QuotaPublic",
    "SourcePublic",
    "post_ui_url",
]

UI_URL_DOC = "this post in the web UI, a path on this server: the review queue opened at the post"


def post_ui_url(post_id: int) -> str:
    """Where the web UI shows one post: the review queue, which selects it (or fetches it) from `?post=`."""
    return f"/ui/queue?post={post_id}"


_AUTHOR_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "platform": "x",
    "handle": "ana",
    "display_name": "Ana Trail",
    "followers": 12345,
    "verified": False,
    "profile_url": "https://x.com/ana",
}
_MEDIA_EXAMPLE: dict[str, Any] = {
    "type": "photo",
    "url": "https://pbs.twimg.com/media/photo1.jpg",
    "preview_url": None,
    "width": 1200,
    "height": 800,
    "alt_text": "a shoe on a trail",
    "blocked": False,
    "thumbnail_url": "/api/media/7/thumbnail",
    "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
}
_POST_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "platform": "x",
    "external_id": "1790000000000000000",
    "text": "Great grip on the Cumbre",
    "title": None,
    "url": "https://x.com/ana/status/1790000000000000000",
    "ui_url": "/ui/queue?post=42",
    "lang": "en",
    "created_at": "2026-11-01T11:55:00+00:00",
    "queue_state": "approved",
    "rights_status": "granted",
    "treasure_score": 0.7,
    "brand_id": 1,
    "product": {"id": 1, "name": "Cumbre Trail Runner"},
    "metrics": {"likes": 12, "reposts": 3, "replies": 1},
    "author": _AUTHOR_EXAMPLE,
    "media": [_MEDIA_EXAMPLE],
}

_SUMMARY_EXAMPLE: dict[str, Any] = {
    **{
        k: v
        for k, v in _POST_EXAMPLE.items()
        if k in ("id", "platform", "external_id", "text", "lang", "url", "ui_url")
    },
    "created_at": "2026-11-01T11:55:00+00:00",
    "likes": 12,
    "reposts": 3,
    "replies": 1,
    "queue_state": "approved",
}


class PostSummary(Schema):
    """One row of the post list: the text, where and when, its metrics and its review state."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    id: int = Field(description="Tesoro's id of the post")
    platform: str = Field(description="x, reddit, bluesky, mastodon, youtube, file...")
    external_id: str = Field(description="the platform's id of the post")
    text: str = Field(description="the post's text, raw: escape it before showing it")
    lang: str | None = Field(description="the language the platform reported, if any")
    url: str | None = Field(description="the post on its platform; only http(s) links, else null")
    ui_url: str = Field(description=UI_URL_DOC)
    created_at: Timestamp = Field(description="when it was posted")
    likes: int
    reposts: int
    replies: int
    queue_state: str = Field(description="new, approved, featured, rejected or archived")

    @classmethod
    def from_row(cls, p: Post) -> PostSummary:
        assert p.id is not None
        return cls(
            id=p.id,
            platform=p.platform,
            external_id=p.external_id,
            text=p.text,
            lang=p.lang,
            url=safe_link(p.url),
            ui_url=post_ui_url(p.id),
            created_at=iso(p.created_at) or "",
            likes=p.likes,
            reposts=p.reposts,
            replies=p.replies,
            queue_state=p.queue_state,
        )


class PostPage(Schema):
    """A page of collected posts, newest first, with the total that matched."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"total": 120, "items": [_SUMMARY_EXAMPLE]}]})

    total: int = Field(description="posts that match, over all pages")
    items: list[PostSummary]


class MediaPublic(Schema):
    """A photo, video or gif of a post; URLs off the allowed media hosts are null and `blocked` says so."""

    model_config = ConfigDict(json_schema_extra={"examples": [_MEDIA_EXAMPLE]})

    type: str = Field(description="photo, video or gif")
    url: str | None = Field(description="the medium, only on an allowed media host")
    preview_url: str | None = Field(description="a still of a video or gif, only on an allowed media host")
    width: int | None
    height: int | None
    alt_text: str | None = Field(description="the author's description of the medium")
    blocked: bool = Field(description="true when neither URL may be shown")
    thumbnail_url: str | None = Field(
        None, description="Tesoro's own thumbnail (metadata-free JPEG), once the media pipeline made it"
    )
    blurhash: str | None = Field(None, description="a blurhash placeholder to paint while the image loads")

    @classmethod
    def from_view(cls, m: MediaView, media: MediaFilter) -> MediaPublic:
        url = m.url if media.allowed(m.url) else None
        preview = m.preview_url if media.allowed(m.preview_url) else None
        return cls(
            type=m.type,
            url=url,
            preview_url=preview,
            width=m.width,
            height=m.height,
            alt_text=m.alt_text,
            blocked=url is None and preview is None,
            thumbnail_url=None if m.thumbnail_id is None else f"/api/media/{m.thumbnail_id}/thumbnail",
            blurhash=m.blurhash,
        )


class AuthorPublic(Schema):
    """An account on one platform."""

    model_config = ConfigDict(json_schema_extra={"examples": [_AUTHOR_EXAMPLE]})

    id: int = Field(description="Tesoro's id of the account")
    platform: str
    handle: str
    display_name: str | None = Field(description="raw: escape it before showing it")
    followers: int | None
    verified: bool
    profile_url: str | None = Field(description="only http(s) links, else null")

    @classmethod
    def from_view(cls, a: AuthorView) -> AuthorPublic:
        return cls(
            id=a.id,
            platform=a.platform,
            handle=a.handle,
            display_name=a.display_name,
            followers=a.followers,
            verified=a.verified,
            profile_url=safe_link(a.profile_url),
        )


class ProductRef(Schema):
    """The product a post was tagged with."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": 1, "name": "Cumbre Trail Runner"}]})

    id: int
    name: str | None


class PostMetrics(Schema):
    """Engagement counts as last collected."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"likes": 12, "reposts": 3, "replies": 1}]})

    likes: int
    reposts: int
    replies: int


class PostPublic(Schema):
    """One post with its author, media, product and review state."""

    model_config = ConfigDict(json_schema_extra={"examples": [_POST_EXAMPLE]})

    id: int
    platform: str
    external_id: str
    text: str = Field(description="raw: escape it before showing it")
    title: str | None = Field(description="a title, where the platform has one (Reddit, YouTube)")
    url: str | None = Field(description="only http(s) links, else null")
    ui_url: str = Field(description=UI_URL_DOC)
    lang: str | None
    created_at: Timestamp
    queue_state: str = Field(description="new, approved, featured, rejected or archived")
    rights_status: str = Field(description="none, requested, granted, declined or expired")
    treasure_score: float | None = Field(description="the curator's ranking score, 0..1; null until ranked")
    brand_id: int | None
    product: ProductRef | None
    metrics: PostMetrics
    author: AuthorPublic
    media: list[MediaPublic]

    @classmethod
    def from_view(cls, p: PostView, media: MediaFilter) -> PostPublic:
        product = ProductRef(id=p.product_id, name=p.product_name) if p.product_id is not None else None
        return cls(
            id=p.id,
            platform=p.platform,
            external_id=p.external_id,
            text=p.text,
            title=p.title,
            url=safe_link(p.url),
            ui_url=post_ui_url(p.id),
            lang=p.lang,
            created_at=iso(p.created_at) or "",
            queue_state=p.queue_state,
            rights_status=p.rights_status,
            treasure_score=p.treasure_score,
            brand_id=p.brand_id,
            product=product,
            metrics=PostMetrics(likes=p.likes, reposts=p.reposts, replies=p.replies),
            author=AuthorPublic.from_view(p.author),
            media=[MediaPublic.from_view(m, media) for m in p.media],
        )


class QuotaPublic(Schema):
    """A source's platform budget now: used, left, the reset, the forecast and the scheduler's plan."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "plan": "default",
                    "unit": "quota units",
                    "window": "day",
                    "limit": 10000,
                    "used": 7272,
                    "left": 2728,
                    "resets_at": "2026-11-02T08:00:00+00:00",
                    "per_run": 101.0,
                    "exhausted_at": "2026-11-01T14:20:00+00:00",
                    "forecast": "at this rate the youtube quota runs out at 2026-11-01 14:20 UTC",
                    "interval_s": 900,
                    "planned_interval_s": 2400,
                    "next_run_at": "2026-11-01T12:40:00+00:00",
                    "reason": "stretched",
                    "note": "stretched from 15m to 40m: 2,728 quota units left at 101.0 a run until the "
                    "reset at 2026-11-02 08:00 UTC",
                    "fits": False,
                    "expiring": [],
                }
            ]
        }
    )

    plan: str = Field(description="the platform plan the budget comes from (X: basic, free, pro)")
    unit: str = Field(description="what the platform counts: posts read, quota units, hashtags, requests")
    window: str = Field(description="minute, day, rolling_24h, rolling_7d or month")
    limit: int = Field(description="units per window (the plan's, or the source's own)")
    used: int = Field(description="spent in the current window")
    left: int = Field(description="what the window still allows (limit - used, never below 0)")
    resets_at: Timestamp | None = Field(
        description="a day or month window's next reset; in a rolling window, when the oldest spent "
        "unit frees up (null: nothing spent)"
    )
    per_run: float | None = Field(description="what one run costs, averaged over the last runs")
    exhausted_at: Timestamp | None = Field(
        description="at the configured interval, when the budget runs out (null: it lasts until the reset)"
    )
    forecast: str = Field(description="the forecast in words")
    interval_s: int = Field(description="the configured interval")
    planned_interval_s: int = Field(description="the interval the scheduler keeps to; never below interval_s")
    next_run_at: Timestamp | None = Field(description="the next run the plan allows")
    reason: str = Field(description="as_configured, stretched, waiting_for_reset or unmeasured")
    note: str = Field(description="why the next run is then, in words")
    fits: bool = Field(description="false: coverage is lost (see the coverage_lost alert)")
    expiring: list[Timestamp] = Field(
        description="rolling windows: when units spent soon leave the window (Instagram hashtag slots)"
    )

    @classmethod
    def from_status(cls, q: QuotaStatus) -> QuotaPublic:
        return cls(
            plan=q.budget.plan,
            unit=q.budget.unit,
            window=q.budget.window,
            limit=q.budget.limit,
            used=q.used,
            left=q.left,
            resets_at=iso(q.resets_at),
            per_run=round(q.per_run, 2) if q.per_run is not None else None,
            exhausted_at=iso(q.exhausted_at),
            forecast=q.forecast,
            interval_s=q.interval,
            planned_interval_s=q.planned_interval,
            next_run_at=iso(q.next_run_at),
            reason=q.reason,
            note=q.note,
            fits=q.fits,
            expiring=[iso(at) or "" for at in q.expiring_at],
        )


class SourcePublic(Schema):
    """A configured source (one query on one platform), its health and its platform budget."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "x-andes",
                    "platform": "x",
                    "enabled": True,
                    "health": "ok",
                    "last_error": None,
                    "last_success_at": "2026-11-01T12:00:00+00:00",
                    "last_run_at": "2026-11-01T12:00:00+00:00",
                    "consecutive_failures": 0,
                    "next_allowed_at": None,
                    "posts_collected": 1520,
                }
            ]
        }
    )

    name: str
    platform: str
    enabled: bool = Field(description="false once the source left the settings file")
    health: str = Field(description="ok, degraded, failing, rate_limited... as the collector last saw it")
    last_error: str | None = Field(description="the last error, raw: escape it before showing it")
    last_success_at: Timestamp | None
    last_run_at: Timestamp | None
    consecutive_failures: int
    next_allowed_at: Timestamp | None = Field(
        description="the earliest next run after a rate limit, or until the spent budget resets"
    )
    posts_collected: int
    token_expires_at: Timestamp | None = Field(
        None, description="when the token the collector last ran with expires, where the platform says"
    )
    quota: QuotaPublic | None = Field(None, description="the platform budget; null where none is metered")

    @classmethod
    def from_row(cls, s: Source, quota: QuotaStatus | None = None) -> SourcePublic:
        return cls(
            name=s.name,
            platform=s.platform,
            enabled=s.enabled,
            health=s.health,
            last_error=s.last_error,
            last_success_at=iso(s.last_success_at),
            last_run_at=iso(s.last_run_at),
            consecutive_failures=s.consecutive_failures,
            next_allowed_at=iso(s.next_allowed_at),
            posts_collected=s.posts_collected,
            token_expires_at=iso(s.token_expires_at),
            quota=QuotaPublic.from_status(quota) if quota is not None else None,
        )


class ActivityMonth(Schema):
    """Posts an author made in one month."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"month": "2026-11", "posts": 8}]})

    month: str = Field(description="YYYY-MM", examples=["2026-11"])
    posts: int


class AuthorDetailPublic(Schema):
    """An author's page: the account, its activity per month, linked accounts and recent posts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "author": _AUTHOR_EXAMPLE,
                    "bio": "Trail runner in the Andes",
                    "avatar_url": None,
                    "following": 310,
                    "first_seen_at": "2026-10-01T08:00:00+00:00",
                    "person_id": 3,
                    "post_count": 8,
                    "approved_count": 3,
                    "activity": [{"month": "2026-11", "posts": 8}],
                    "linked": [],
                    "posts": [_POST_EXAMPLE],
                }
            ]
        }
    )

    author: AuthorPublic
    bio: str | None = Field(description="raw: escape it before showing it")
    avatar_url: str | None = Field(description="only on an allowed media host, else null")
    following: int | None
    first_seen_at: Timestamp | None
    person_id: int | None = Field(description="the person this account was linked to, if any")
    post_count: int
    approved_count: int = Field(description="posts approved or featured")
    activity: list[ActivityMonth] = Field(description="posts per month, oldest first")
    linked: list[AuthorPublic] = Field(description="the same person's other accounts")
    posts: list[PostPublic] = Field(description="the latest posts, newest first")

    @classmethod
    def from_view(cls, d: AuthorDetail, media: MediaFilter) -> AuthorDetailPublic:
        return cls(
            author=AuthorPublic.from_view(d.author),
            bio=d.bio,
            avatar_url=d.avatar_url if media.allowed(d.avatar_url) else None,
            following=d.following,
            first_seen_at=iso(d.first_seen_at),
            person_id=d.person_id,
            post_count=d.post_count,
            approved_count=d.approved_count,
            activity=[ActivityMonth(month=month, posts=n) for month, n in d.activity],
            linked=[AuthorPublic.from_view(a) for a in d.linked],
            posts=[PostPublic.from_view(p, media) for p in d.posts],
        )


class OverviewPublic(Schema):
    """The dashboard's counts: posts by state, rights and platform, and daily volume per platform."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total_posts": 12,
                    "total_authors": 4,
                    "by_state": {"new": 6, "approved": 4, "featured": 1, "rejected": 1},
                    "by_rights": {"none": 5, "requested": 1, "granted": 6},
                    "by_platform": {"x": 11, "bluesky": 1},
                    "daily": {"2026-11-01": {"x": 11, "bluesky": 1}},
                    "sources_by_health": {"ok": 2},
                    "since": "2026-10-02T12:00:00+00:00",
                }
            ]
        }
    )

    total_posts: int
    total_authors: int
    by_state: dict[str, int] = Field(description="queue state -> posts")
    by_rights: dict[str, int] = Field(description="rights status -> posts")
    by_platform: dict[str, int] = Field(description="platform -> posts")
    daily: dict[str, dict[str, int]] = Field(description="day (YYYY-MM-DD, UTC) -> platform -> posts")
    sources_by_health: dict[str, int] = Field(description="health -> enabled sources")
    since: Timestamp = Field(description="the start of the daily window")

    @classmethod
    def from_view(cls, o: Overview) -> OverviewPublic:
        return cls(
            total_posts=o.total_posts,
            total_authors=o.total_authors,
            by_state=o.by_state,
            by_rights=o.by_rights,
            by_platform=o.by_platform,
            daily=o.daily,
            sources_by_health=o.sources_by_health,
            since=iso(o.since) or "",
        )
