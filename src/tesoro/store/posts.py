"""Repository functions for posts, their authors and media.

Ingestion is idempotent: a post is unique by (platform, external_id). Saving it
again updates its metrics (and text, if the author edited it) and keeps one row;
an X edit chain is one post, and a decided post whose content changes keeps its
approved version for the gallery and goes back to review (`store.versions`).
Writes are batched into multi-row `INSERT ... ON CONFLICT` statements so that a
100,000-row import is a few hundred statements, not 100,000 round trips.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, case, exists, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from tesoro.models import UNNAMED_AUTHOR_PREFIX, NormalizedAuthor, NormalizedPost, content_flags
from tesoro.store.media import media_facts
from tesoro.store.sql import chunks, json_has, pg_upsert_returning, table_of
from tesoro.store.tables import Author, Media, MediaStatus, Post, Product, QueueState, RightsState, Source
from tesoro.store.versions import (
    StoredContent,
    apply_changes,
    canonical_links,
    canonical_posts,
    held_content,
    mark_deleted,
    read_stored,
    resolve_ids,
    save_aliases,
)

__all__ = [
    "GALLERY_BLOCKING_FLAGS",
    "GALLERY_STATES",
    "AuthorDetail",
    "AuthorView",
    "MediaView",
    "Overview",
    "PostView",
    "UpsertResult",
    "author_detail",
    "content_hash",
    "count_posts",
    "gallery_posts",
    "get_post",
    "get_post_view",
    "list_posts",
    "media_for",
    "overview",
    "post_views",
    "upsert_posts",
]

# Platform safety flags (`models.CONTENT_FLAGS`) that keep a post out of the public gallery.
GALLERY_BLOCKING_FLAGS = ("nsfw", "sensitive")
# Posts per existence check and upsert batch.
_CHUNK = 1000
_METRIC_COLUMNS = (
    "likes",
    "reposts",
    "replies",
    "quotes",
    "views",
    "text",
    "title",
    "content_hash",
    "content_flags",
    "updated_at",
)
_AUTHOR_UPDATE = (
    "handle",
    "display_name",
    "followers",
    "following",
    "verified",
    "profile_url",
    "avatar_url",
    "bio",
    "gone",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(self.inserted + other.inserted, self.updated + other.updated)


def content_hash(text: str) -> str:
    """A fingerprint of the words of a post, blind to case and spacing (exact-duplicate detection)."""
    return hashlib.sha1(" ".join(text.casefold().split()).encode("utf-8")).hexdigest()


def _upsert_statement(
    session: Session, table: Table, update: tuple[str, ...], fill: tuple[str, ...] = ()
) -> Any:
    """`INSERT ... ON CONFLICT (platform, external_id) DO UPDATE ... RETURNING id, platform, external_id`.

    Executed with a list of parameter sets, SQLAlchemy batches it into multi-row
    statements itself ("insertmanyvalues") and compiles it once, which is far
    cheaper than building a literal multi-row VALUES clause per chunk. The statement is
    built once per backend and table (statements are immutable): building it was a visible
    part of each collected page's CPU (`bench/collect.py`).
    """
    return _built_upsert(session.get_bind().dialect.name, table, update, fill)


@lru_cache(maxsize=32)
def _built_upsert(dialect: str, table: Table, update: tuple[str, ...], fill: tuple[str, ...]) -> Any:
    if dialect not in ("postgresql", "sqlite"):
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    set_: dict[str, Any] = {name: getattr(stmt.excluded, name) for name in update}
    # `fill` columns take the new value only where the stored one is empty.
    set_.update({name: func.coalesce(table.c[name], getattr(stmt.excluded, name)) for name in fill})
    return stmt.on_conflict_do_update(index_elements=["platform", "external_id"], set_=set_).returning(
        table.c.id, table.c.platform, table.c.external_id
    )


def _upsert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    update: tuple[str, ...],
    fill: tuple[str, ...] = (),
) -> Iterable[Any]:
    """`rows` upserted on (platform, external_id); the `(id, platform, external_id)` of each.

    PostgreSQL takes them as one JSON record set (`pg_upsert_returning`: one placeholder, not one per
    value); SQLite as SQLAlchemy's batched multi-row statement, which its driver binds in C."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_upsert_returning(
            session,
            table,
            rows,
            conflict=("platform", "external_id"),
            update=update,
            fill=fill,
            returning=("id", "platform", "external_id"),
        )
    return session.connection().execute(_upsert_statement(session, table, update, fill), list(rows))


def _author_row(author: NormalizedAuthor, now: datetime) -> dict[str, Any]:
    return {
        "platform": author.platform.value,
        "external_id": author.external_id,
        "handle": author.handle,
        "display_name": author.display_name,
        "followers": author.followers,
        "following": author.following,
        "verified": author.verified,
        "profile_url": author.profile_url,
        "avatar_url": author.avatar_url,
        "bio": author.bio,
        "gone": author.gone,
        "first_seen_at": now,
        "updated_at": now,
    }


def _upsert_authors(
    session: Session, authors: Iterable[NormalizedAuthor], now: datetime
) -> dict[tuple[str, str], int]:
    unique = {(a.platform.value, a.external_id): a for a in authors}
    ids: dict[tuple[str, str], int] = {}
    rows = [_author_row(a, now) for a in unique.values()]
    for row in _upsert_rows(session, table_of(Author), rows, _AUTHOR_UPDATE):
        ids[(row.platform, row.external_id)] = row.id
    return ids


def _stored_author(post: NormalizedPost) -> NormalizedAuthor:
    """The author as stored: a deleted or suspended account becomes one author per post.

    Reddit names every deleted account `[deleted]`, and a suspended account speaks for nobody any
    more; keyed by the post, such authors never pool their posts into one person for ROR, KPIs or
    identity suggestions.
    """
    author = post.author
    if not author.gone:
        return author
    return replace(author, external_id=f"gone:{post.external_id}")


def _post_row(
    post: NormalizedPost, author_id: int, source_id: int | None, brand_id: int | None, now: datetime
) -> dict[str, Any]:
    return {
        "platform": post.platform.value,
        "external_id": post.external_id,
        "source_id": source_id,
        "author_id": author_id,
        "brand_id": brand_id,
        "text": post.text,
        "title": post.title,
        "lang": post.lang,
        "url": post.url,
        "created_at": post.created_at,  # the column type stores it as UTC
        "collected_at": now,
        "updated_at": now,
        "likes": post.metrics.likes,
        "reposts": post.metrics.reposts,
        "replies": post.metrics.replies,
        "quotes": post.metrics.quotes,
        "views": post.metrics.views,
        "reply_to_id": post.reply_to_id,
        "quote_of_id": post.quote_of_id,
        "conversation_id": post.conversation_id,
        "hashtags": list(post.hashtags),
        "mentions": list(post.mentions),
        "content_flags": list(content_flags(post.content_flags)),
        "content_hash": content_hash(post.text),
        "queue_state": "new",
        "rights_status": "none",
    }


def upsert_posts(
    session: Session,
    posts: Sequence[NormalizedPost],
    *,
    source_id: int | None = None,
    brand_id: int | None = None,
    now: datetime | None = None,
) -> UpsertResult:
    """Insert new posts and refresh the metrics of known ones; returns how many of each.

    Runs inside the caller's transaction, so a collector can save posts and its
    cursor atomically. Within one call a repeated (platform, external_id) keeps
    its last version.
    """
    now = now or datetime.now(UTC)
    # One post per X edit chain, under the chain's first id (`store.versions`).
    latest, heads = canonical_posts(posts)
    if not latest:
        return UpsertResult()
    latest = canonical_links(session, latest)
    # A post the platform deleted is never stored; a stored one leaves the gallery.
    gone = [key for key, post in latest.items() if post.deleted]
    for platform in sorted({key[0] for key in gone}):
        mark_deleted(
            session, platform=platform, external_ids=[k[1] for k in gone if k[0] == platform], now=now
        )
    latest = {key: post for key, post in latest.items() if not post.deleted}
    if not latest:
        return UpsertResult()
    authors = {key: _stored_author(post) for key, post in latest.items()}
    author_ids = _upsert_authors(session, authors.values(), now)
    result = UpsertResult()
    items = list(latest.items())
    for chunk in chunks(items, _CHUNK):
        stored = read_stored(session, [key for key, _ in chunk])
        result += UpsertResult(inserted=len(chunk) - len(stored), updated=len(stored))
        # A superseded version of an edited post never overwrites the newer one stored.
        chunk = [(key, post) for key, post in chunk if heads[key] or key not in stored]
        if not chunk:
            continue
        rows = [
            _post_row(
                post,
                author_ids[(authors[key].platform.value, authors[key].external_id)],
                source_id,
                brand_id,
                now,
            )
            for key, post in chunk
        ]
        # A post stored without a brand gets the one it is saved with now; a set brand never moves.
        stored_rows = _upsert_rows(session, table_of(Post), rows, _METRIC_COLUMNS, fill=("brand_id",))
        post_ids = {(r.platform, r.external_id): r.id for r in stored_rows}
        incoming = {key: row["author_id"] for (key, _), row in zip(chunk, rows, strict=True)}
        _name_owners(session, stored, incoming)
        _insert_media(session, [(post_ids[key], post) for key, post in chunk])
        save_aliases(session, dict(chunk), post_ids)
        # A decided post whose content changed keeps its approved version and goes back to review.
        apply_changes(session, stored, dict(chunk), now=now)
    return result


def _name_owners(
    session: Session, stored: Mapping[tuple[str, str], StoredContent], authors: Mapping[tuple[str, str], int]
) -> None:
    """A stored post whose author was a stand-in (`UNNAMED_AUTHOR_PREFIX`: Instagram hashtag media) takes
    the named author a later answer gives it, so its ROR, author page and rights channel find the owner.

    Only posts whose incoming author differs from the stored one are looked at (none on most runs); a
    named author is never replaced (a deleted account's stand-in, say)."""
    moved = [
        {"moved_post": stored[key].id, "named_author": author_id}
        for key, author_id in authors.items()
        if key in stored and stored[key].author_id != author_id
    ]
    if not moved:
        return
    post, author = table_of(Post), table_of(Author)
    stand_in = author.c.external_id.startswith(UNNAMED_AUTHOR_PREFIX, autoescape=True)
    unnamed = select(author.c.id).where(stand_in)
    stmt = (
        post.update()
        .where(post.c.id == bindparam("moved_post"), post.c.author_id.in_(unnamed.scalar_subquery()))
        .values(author_id=bindparam("named_author"))
    )
    session.connection().execute(stmt, moved)


def _insert_media(session: Session, items: Sequence[tuple[int, NormalizedPost]]) -> None:
    rows = [
        {
            "post_id": post_id,
            "type": m.type.value,
            "url": m.url,
            "preview_url": m.preview_url,
            "width": m.width,
            "height": m.height,
            "duration_ms": m.duration_ms,
            "size_bytes": m.size_bytes,
            "alt_text": m.alt_text,
        }
        for post_id, post in items
        for m in post.media
    ]
    if rows:
        stmt = _media_insert(session.get_bind().dialect.name)
        session.connection().execute(stmt, rows)


@lru_cache(maxsize=4)
def _media_insert(dialect: str) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING` into media, built once per backend (see `_upsert_statement`)."""
    if dialect not in ("postgresql", "sqlite"):
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(
        table_of(Media)
    ).on_conflict_do_nothing()


def get_post(session: Session, *, platform: str, external_id: str) -> Post | None:
    """The post by its platform id, or by any id of its edit chain."""
    found = resolve_ids(session, platform=platform, external_ids=[external_id]).get(external_id)
    return session.get(Post, found) if found is not None else None


def count_posts(session: Session, *, platform: str | None = None, source_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(Post)
    if platform is not None:
        stmt = stmt.where(col(Post.platform) == platform)
    if source_id is not None:
        stmt = stmt.where(col(Post.source_id) == source_id)
    return int(session.exec(stmt).one())


def list_posts(
    session: Session,
    *,
    platform: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Post]:
    """Newest first; the library and queue views with their filters live in the curator's repository."""
    stmt = select(Post).order_by(col(Post.created_at).desc(), col(Post.id).desc()).limit(limit).offset(offset)
    if platform is not None:
        stmt = stmt.where(col(Post.platform) == platform)
    return list(session.exec(stmt))


def media_for(session: Session, *, post_id: int) -> list[Media]:
    stmt = select(Media).where(col(Media.post_id) == post_id).order_by(col(Media.id))
    return list(session.exec(stmt))


# --- read views: a post with its author and media, an author's page, the dashboard's counts -------
# Each is built in a fixed number of queries per page (never one query per post).

GALLERY_STATES = (QueueState.APPROVED.value, QueueState.FEATURED.value)


@dataclass(frozen=True, slots=True)
class MediaView:
    type: str
    url: str
    preview_url: str | None
    width: int | None
    height: int | None
    alt_text: str | None
    # From the media pipeline (`media_image`): the item's id when it has a thumbnail, and the
    # blurhash placeholder to paint while it loads.
    thumbnail_id: int | None = None
    blurhash: str | None = None


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
    facts = media_facts(session, post_ids=post_ids)
    for m in session.exec(select(Media).where(col(Media.post_id).in_(post_ids)).order_by(col(Media.id))):
        seen = facts.get(m.id) if m.id is not None else None
        ok = seen is not None and seen.status == MediaStatus.OK
        media.setdefault(m.post_id, []).append(
            MediaView(
                m.type,
                m.url,
                m.preview_url,
                m.width,
                m.height,
                m.alt_text,
                thumbnail_id=m.id if ok else None,
                blurhash=seen.blurhash if ok and seen is not None else None,
            )
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
                created_at=p.created_at,
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
        months[created.strftime("%Y-%m")] += 1
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
        first_seen_at=a.first_seen_at,
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


# --- the public gallery ------------------------------------------------------------------------


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
    "text", posts without media. A post whose content changed after approval shows
    its approved (held) version while the change waits for review; a post the
    platform deleted is never shown.
    """
    held = col(Post.held_version).is_not(None)
    where: list[Any] = [
        col(Post.brand_id) == brand_id,
        or_(col(Post.queue_state).in_(GALLERY_STATES), held),
        col(Post.rights_status) == RightsState.GRANTED.value,
        # Rights with an end date stop at that moment, whether or not the expiry job has run yet.
        or_(col(Post.rights_until).is_(None), col(Post.rights_until) > datetime.now(UTC)),
        col(Post.deleted_at).is_(None),
        # Never a post the platform marked NSFW or whose media it hides, even approved with rights.
        *(~json_has(Post.content_flags, flag) for flag in GALLERY_BLOCKING_FLAGS),
    ]
    if product_id is not None:
        where.append(col(Post.product_id) == product_id)
    # The media filter reads the stored media of current versions; held ones are filtered below.
    if media_type == "text":
        where.append(or_(held, ~exists().where(col(Media.post_id) == col(Post.id))))
    elif media_type is not None:
        where.append(
            or_(held, exists().where(col(Media.post_id) == col(Post.id), col(Media.type) == media_type))
        )
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
    views = post_views(session, list(session.exec(stmt)))
    approved = held_content(session, post_ids=[v.id for v in views])
    out: list[PostView] = []
    for view in views:
        version = approved.get(view.id)
        if version is not None:
            media = tuple(
                MediaView(m["type"], m["url"], m["preview_url"], m["width"], m["height"], m["alt_text"])
                for m in version.media
            )
            if media_type == "text" and media:
                continue
            if media_type not in (None, "text") and not any(m.type == media_type for m in media):
                continue
            view = replace(view, text=version.text, title=version.title, media=media)
        out.append(view)
    return out
