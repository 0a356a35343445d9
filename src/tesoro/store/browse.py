"""Read-only views over posts for the API, the web UI and the gallery.

These are the queries of the screens the curator's package does not own: a
post with its author and media, an author's page, the dashboard overview, and
the gallery's rights-cleared posts. Searching posts is the curator's library
(`tesoro.search.library`, `GET /api/curator/library`); the older LIKE scan that
lived here is gone. Every function returns frozen records built in a fixed
number of queries per page (never one query per post), so a page of 50 costs
the same as a page of 5.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func
from sqlmodel import Session, col, select

from tesoro.store.tables import Author, Brand, Media, Post, Product, QueueState, RightsState, Source

__all__ = [
    "AuthorDetail",
    "AuthorView",
    "MediaView",
    "Overview",
    "PostView",
    "author_detail",
    "brand_by_slug",
    "gallery_posts",
    "get_post_view",
    "overview",
    "post_views",
    "product_by_slug",
    "slugify",
]

GALLERY_STATES = (QueueState.APPROVED.value, QueueState.FEATURED.value)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def slugify(name: str) -> str:
    """'Andes Outdoor' -> 'andes-outdoor': the form brand and product names take in public URLs."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


@dataclass(frozen=True, slots=True)
class MediaView:
    type: str
    url: str
    preview_url: str | None
    width: int | None
    height: int | None
    alt_text: str | None


@dataclass(frozen=True, slots=True)
class AuthorView:
    id: int
    platform: str
    handle: str
    display_name: str | None
    followers: int | None
    verified: bool
    profile_url: str | None


@dataclass(frozen=True, slots=True)
class PostView:
    id: int
    platform: str
    external_id: str
    text: str
    title: str | None
    url: str | None
    lang: str | None
    created_at: datetime
    queue_state: str
    rights_status: str
    treasure_score: float | None
    brand_id: int | None
    product_id: int | None
    product_name: str | None
    likes: int
    reposts: int
    replies: int
    content_hash: str | None
    author: AuthorView
    media: tuple[MediaView, ...] = ()


def post_views(session: Session, posts: Sequence[Post]) -> list[PostView]:
    """Posts with their authors, media and product names, in three queries whatever the page size."""
    if not posts:
        return []
    post_ids = [p.id for p in posts if p.id is not None]
    author_ids = sorted({p.author_id for p in posts})
    product_ids = sorted({p.product_id for p in posts if p.product_id is not None})
    authors = {a.id: a for a in session.exec(select(Author).where(col(Author.id).in_(author_ids)))}
    products: dict[int | None, str] = {}
    if product_ids:
        for pid, pname in session.exec(
            select(col(Product.id), col(Product.name)).where(col(Product.id).in_(product_ids))
        ):
            products[pid] = pname
    media: dict[int, list[MediaView]] = {}
    for m in session.exec(select(Media).where(col(Media.post_id).in_(post_ids)).order_by(col(Media.id))):
        media.setdefault(m.post_id, []).append(
            MediaView(m.type, m.url, m.preview_url, m.width, m.height, m.alt_text)
        )
    out = []
    for p in posts:
        a = authors[p.author_id]
        assert p.id is not None and a.id is not None
        out.append(
            PostView(
                id=p.id,
                platform=p.platform,
                external_id=p.external_id,
                text=p.text,
                title=p.title,
                url=p.url,
                lang=p.lang,
                created_at=_aware(p.created_at) or p.created_at,
                queue_state=p.queue_state,
                rights_status=p.rights_status,
                treasure_score=p.treasure_score,
                brand_id=p.brand_id,
                product_id=p.product_id,
                product_name=products.get(p.product_id),
                likes=p.likes,
                reposts=p.reposts,
                replies=p.replies,
                content_hash=p.content_hash,
                author=AuthorView(
                    a.id, a.platform, a.handle, a.display_name, a.followers, a.verified, a.profile_url
                ),
                media=tuple(media.get(p.id, ())),
            )
        )
    return out


def get_post_view(session: Session, *, post_id: int) -> PostView | None:
    post = session.get(Post, post_id)
    return post_views(session, [post])[0] if post is not None else None


# --- authors --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorDetail:
    author: AuthorView
    bio: str | None
    avatar_url: str | None
    following: int | None
    first_seen_at: datetime | None
    person_id: int | None
    post_count: int
    approved_count: int
    posts: list[PostView]
    # (YYYY-MM, posts that month), oldest first: the activity history until ROR history exists.
    activity: list[tuple[str, int]]
    linked: list[AuthorView]


def author_detail(session: Session, *, author_id: int, limit: int = 50) -> AuthorDetail | None:
    a = session.get(Author, author_id)
    if a is None or a.id is None:
        return None
    post_count = int(session.exec(select(func.count()).where(col(Post.author_id) == author_id)).one())
    approved = int(
        session.exec(
            select(func.count()).where(
                col(Post.author_id) == author_id, col(Post.queue_state).in_(GALLERY_STATES)
            )
        ).one()
    )
    recent = list(
        session.exec(
            select(Post)
            .where(col(Post.author_id) == author_id)
            .order_by(col(Post.created_at).desc(), col(Post.id).desc())
            .limit(limit)
        )
    )
    months: Counter[str] = Counter()
    for created in session.exec(select(col(Post.created_at)).where(col(Post.author_id) == author_id)):
        months[(_aware(created) or created).strftime("%Y-%m")] += 1
    linked: list[AuthorView] = []
    if a.person_id is not None:
        for other in session.exec(
            select(Author).where(col(Author.person_id) == a.person_id, col(Author.id) != a.id)
        ):
            assert other.id is not None
            linked.append(
                AuthorView(
                    other.id,
                    other.platform,
                    other.handle,
                    other.display_name,
                    other.followers,
                    other.verified,
                    other.profile_url,
                )
            )
    return AuthorDetail(
        author=AuthorView(a.id, a.platform, a.handle, a.display_name, a.followers, a.verified, a.profile_url),
        bio=a.bio,
        avatar_url=a.avatar_url,
        following=a.following,
        first_seen_at=_aware(a.first_seen_at),
        person_id=a.person_id,
        post_count=post_count,
        approved_count=approved,
        posts=post_views(session, recent),
        activity=sorted(months.items()),
        linked=linked,
    )


# --- dashboard overview ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overview:
    total_posts: int
    total_authors: int
    by_state: dict[str, int]
    by_rights: dict[str, int]
    by_platform: dict[str, int]
    # Day (YYYY-MM-DD, UTC) -> platform -> posts, for the last `days` days.
    daily: dict[str, dict[str, int]]
    sources_by_health: dict[str, int]
    since: datetime


def _day(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", col(Post.created_at)), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", col(Post.created_at))


def _grouped(session: Session, column: Any, *where: Any) -> dict[str, int]:
    stmt = select(column, func.count()).select_from(Post).where(*where).group_by(column)
    return {"" if k is None else str(k): int(n) for k, n in session.exec(stmt)}


def overview(
    session: Session, *, brand_id: int | None = None, days: int = 30, now: datetime | None = None
) -> Overview:
    """Counts for the dashboard: posts by state, rights and platform, and daily volume per platform."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    scope = [col(Post.brand_id) == brand_id] if brand_id is not None else []
    day = _day(session)
    daily: dict[str, dict[str, int]] = {}
    stmt = (
        select(day, col(Post.platform), func.count())
        .where(col(Post.created_at) >= since, *scope)
        .group_by(day, col(Post.platform))
    )
    for d, platform, n in session.exec(stmt):
        daily.setdefault(str(d), {})[platform] = int(n)
    authors = int(session.exec(select(func.count(func.distinct(col(Post.author_id)))).where(*scope)).one())
    health = Counter(h for h in session.exec(select(col(Source.health)).where(col(Source.enabled).is_(True))))
    by_state = _grouped(session, col(Post.queue_state), *scope)
    return Overview(
        total_posts=sum(by_state.values()),
        total_authors=authors,
        by_state=by_state,
        by_rights=_grouped(session, col(Post.rights_status), *scope),
        by_platform=_grouped(session, col(Post.platform), *scope),
        daily=dict(sorted(daily.items())),
        sources_by_health=dict(health),
        since=since,
    )


# --- gallery --------------------------------------------------------------------------------------


def brand_by_slug(session: Session, slug: str) -> Brand | None:
    """A brand by its URL slug (or its exact name): brands are few, so this compares in Python."""
    wanted = slugify(slug)
    for brand in session.exec(select(Brand)):
        if brand.name == slug or slugify(brand.name) == wanted:
            return brand
    return None


def product_by_slug(session: Session, *, brand_id: int, slug: str) -> Product | None:
    wanted = slugify(slug)
    for product in session.exec(select(Product).where(col(Product.brand_id) == brand_id)):
        if product.name == slug or slugify(product.name) == wanted:
            return product
    return None


def gallery_posts(
    session: Session,
    *,
    brand_id: int,
    product_id: int | None = None,
    media_type: str | None = None,
    limit: int = 24,
) -> list[PostView]:
    """Posts a brand may show publicly: approved or featured, with usage rights granted.

    Featured first, then by treasure score and recency. `media_type` keeps posts
    with at least one medium of that type ("photo", "video", "gif"), or, for
    "text", posts without media.
    """
    where: list[Any] = [
        col(Post.brand_id) == brand_id,
        col(Post.queue_state).in_(GALLERY_STATES),
        col(Post.rights_status) == RightsState.GRANTED.value,
    ]
    if product_id is not None:
        where.append(col(Post.product_id) == product_id)
    if media_type == "text":
        where.append(~exists().where(col(Media.post_id) == col(Post.id)))
    elif media_type is not None:
        where.append(exists().where(col(Media.post_id) == col(Post.id), col(Media.type) == media_type))
    featured_first = case((col(Post.queue_state) == QueueState.FEATURED.value, 0), else_=1)
    stmt = (
        select(Post)
        .where(*where)
        .order_by(
            featured_first,
            col(Post.treasure_score).desc().nulls_last(),
            col(Post.created_at).desc(),
            col(Post.id).desc(),
        )
        .limit(limit)
    )
    return post_views(session, list(session.exec(stmt)))
