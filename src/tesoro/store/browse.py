"""Read-only views over posts for the API, the web UI and the gallery.

These are the queries the coordinator's screens need while the curator's
library (FTS, vectors, treasure ranking) is being built: a plain filtered
search with facet counts, an author's page, a dashboard overview, and the
gallery's rights-cleared posts. Every function returns frozen records built in
a fixed number of queries per page (never one query per post), so a page of 50
costs the same as a page of 5.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tesoro.store.tables import Author, Brand, Media, Post, Product, QueueState, RightsState, Source

__all__ = [
    "FACETS",
    "AuthorDetail",
    "AuthorView",
    "FacetCount",
    "MediaView",
    "Overview",
    "PostFilter",
    "PostView",
    "SearchPage",
    "author_detail",
    "brand_by_slug",
    "gallery_posts",
    "get_post_view",
    "overview",
    "post_views",
    "product_by_slug",
    "search_posts",
    "slugify",
]

# Facet name -> the post column it counts.
FACETS: dict[str, Any] = {
    "platform": col(Post.platform),
    "state": col(Post.queue_state),
    "rights": col(Post.rights_status),
    "lang": col(Post.lang),
    "product": col(Post.product_id),
}
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


# --- search with facets -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostFilter:
    """Filters of the post search; None means "any". `q` matches every word, case-insensitively."""

    q: str | None = None
    platform: str | None = None
    state: str | None = None
    rights: str | None = None
    lang: str | None = None
    product_id: int | None = None
    brand_id: int | None = None
    author_id: int | None = None


@dataclass(frozen=True, slots=True)
class FacetCount:
    value: str
    count: int
    label: str | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    items: list[PostView]
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_conditions(session: Session, f: PostFilter) -> list[Any]:
    """Words (each must appear in the text or title), brand and author: everything but the facets."""
    # SQLite's LIKE already ignores ASCII case and is much cheaper than lower(...) LIKE lower(...).
    sqlite = session.get_bind().dialect.name == "sqlite"
    where: list[Any] = []
    for word in (f.q or "").split()[:8]:
        pattern = _like(word)
        if sqlite:
            where.append(
                or_(col(Post.text).like(pattern, escape="\\"), col(Post.title).like(pattern, escape="\\"))
            )
        else:
            where.append(
                or_(col(Post.text).ilike(pattern, escape="\\"), col(Post.title).ilike(pattern, escape="\\"))
            )
    if f.brand_id is not None:
        where.append(col(Post.brand_id) == f.brand_id)
    if f.author_id is not None:
        where.append(col(Post.author_id) == f.author_id)
    return where


def _facet_values(f: PostFilter) -> dict[str, str]:
    """The facet filters that are set, as the strings the facet columns compare to."""
    values: dict[str, str | None] = {
        "platform": f.platform,
        "state": f.state,
        "rights": f.rights,
        "lang": f.lang,
        "product": None if f.product_id is None else str(f.product_id),
    }
    return {name: value for name, value in values.items() if value is not None}


def search_posts(
    session: Session, *, filters: PostFilter, limit: int = 50, offset: int = 0, facets: bool = True
) -> SearchPage:
    """A page of matching posts (newest first), the total, and per-facet counts.

    A facet's counts ignore that facet's own filter (and honour all the others), so
    the coordinator sees what choosing another value would give, as in any shop's
    filters. The text match is a scan, so it runs once: one query counts the text
    matches grouped by all facet columns together, Python folds those few groups
    into per-facet counts, and one more query reads the page. (The curator's
    library replaces this with full-text indexes.)
    """
    base = _text_conditions(session, filters)
    chosen = _facet_values(filters)
    page_where = base + [FACETS[name] == (int(v) if name == "product" else v) for name, v in chosen.items()]
    stmt = (
        select(Post)
        .where(*page_where)
        .order_by(col(Post.created_at).desc(), col(Post.id).desc())
        .limit(limit)
        .offset(offset)
    )
    items = post_views(session, list(session.exec(stmt)))
    if not facets:
        total = int(session.exec(select(func.count()).select_from(Post).where(*page_where)).one())
        return SearchPage(total=total, items=items)
    names = list(FACETS)
    counters: dict[str, Counter[str]] = {name: Counter() for name in names}
    total = 0
    rows = session.execute(sa_select(*FACETS.values()).where(*base))
    for row in rows:
        values = ["" if v is None else str(v) for v in row]
        misses = [
            name
            for name, value in zip(names, values, strict=True)
            if name in chosen and chosen[name] != value
        ]
        if not misses:
            total += 1
        for name, value in zip(names, values, strict=True):
            # Counted for this facet when every *other* chosen facet matches.
            if not misses or misses == [name]:
                counters[name][value] += 1
    counts = {name: [FacetCount(value, n) for value, n in counters[name].most_common(50)] for name in names}
    product_ids = [int(c.value) for c in counts["product"] if c.value]
    if product_ids:
        labels: dict[int | None, str] = {
            pid: pname
            for pid, pname in session.exec(
                select(col(Product.id), col(Product.name)).where(col(Product.id).in_(product_ids))
            )
        }
        counts["product"] = [
            FacetCount(c.value, c.count, labels.get(int(c.value)) if c.value else None)
            for c in counts["product"]
        ]
    return SearchPage(total=total, items=items, facets=counts)


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
