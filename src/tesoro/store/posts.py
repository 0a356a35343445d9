"""Repository functions for posts, their authors and media.

Ingestion is idempotent: a post is unique by (platform, external_id). Saving it
again updates its metrics (and text, if the author edited it) and keeps one row.
Writes are batched into multi-row `INSERT ... ON CONFLICT` statements so that a
100,000-row import is a few hundred statements, not 100,000 round trips.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, func, tuple_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from tesoro.models import NormalizedAuthor, NormalizedPost
from tesoro.store.tables import Author, Media, Post

__all__ = [
    "UpsertResult",
    "content_hash",
    "count_posts",
    "get_post",
    "list_posts",
    "media_for",
    "upsert_posts",
]

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


def _table(model: type[SQLModel]) -> Table:
    """The Core `Table` a SQLModel table class is mapped to (typed, unlike `Model.__table__`)."""
    table = sa_inspect(model).local_table
    assert isinstance(table, Table), f"{model.__name__} is not mapped to a table"
    return table


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


def _upsert_statement(session: Session, table: Table, update: tuple[str, ...]) -> Any:
    """`INSERT ... ON CONFLICT (platform, external_id) DO UPDATE ... RETURNING id, platform, external_id`.

    Executed with a list of parameter sets, SQLAlchemy batches it into multi-row
    statements itself ("insertmanyvalues") and compiles it once, which is far
    cheaper than building a literal multi-row VALUES clause per chunk.
    """
    stmt = _insert(session, table)
    return stmt.on_conflict_do_update(
        index_elements=["platform", "external_id"],
        set_={name: getattr(stmt.excluded, name) for name in update},
    ).returning(table.c.id, table.c.platform, table.c.external_id)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
        "first_seen_at": now,
        "updated_at": now,
    }


def _upsert_authors(
    session: Session, authors: Iterable[NormalizedAuthor], now: datetime
) -> dict[tuple[str, str], int]:
    unique = {(a.platform.value, a.external_id): a for a in authors}
    ids: dict[tuple[str, str], int] = {}
    rows = [_author_row(a, now) for a in unique.values()]
    stmt = _upsert_statement(session, _table(Author), _AUTHOR_UPDATE)
    for author_id, platform, external_id in session.connection().execute(stmt, rows):
        ids[(platform, external_id)] = author_id
    return ids


def _post_row(
    post: NormalizedPost, author_id: int, source_id: int | None, brand_id: int | None, now: datetime
) -> dict[str, Any]:
    created = post.created_at if post.created_at.tzinfo else post.created_at.replace(tzinfo=UTC)
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
        "created_at": created.astimezone(UTC),
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
        "content_hash": content_hash(post.text),
        "queue_state": "new",
        "rights_status": "none",
    }


def _existing_keys(session: Session, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    if not keys:
        return set()
    stmt = select(col(Post.platform), col(Post.external_id)).where(
        tuple_(col(Post.platform), col(Post.external_id)).in_(keys)
    )
    return {(platform, external_id) for platform, external_id in session.exec(stmt)}


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
    latest = {(p.platform.value, p.external_id): p for p in posts}
    if not latest:
        return UpsertResult()
    author_ids = _upsert_authors(session, (p.author for p in latest.values()), now)
    result = UpsertResult()
    items = list(latest.items())
    for chunk in _chunks(items, _CHUNK):
        existing = _existing_keys(session, [key for key, _ in chunk])
        rows = [
            _post_row(
                post,
                author_ids[(post.author.platform.value, post.author.external_id)],
                source_id,
                brand_id,
                now,
            )
            for _, post in chunk
        ]
        stmt = _upsert_statement(session, _table(Post), _METRIC_COLUMNS)
        post_ids = {
            (platform, external_id): post_id
            for post_id, platform, external_id in session.connection().execute(stmt, rows)
        }
        _insert_media(session, [(post_ids[key], post) for key, post in chunk])
        result += UpsertResult(inserted=len(chunk) - len(existing), updated=len(existing))
    return result


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
        session.connection().execute(_insert(session, _table(Media)).on_conflict_do_nothing(), rows)


def get_post(session: Session, *, platform: str, external_id: str) -> Post | None:
    stmt = select(Post).where(col(Post.platform) == platform, col(Post.external_id) == external_id)
    return session.exec(stmt).one_or_none()


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
