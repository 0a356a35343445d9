"""Repository functions of the curator: what to rank, saving ranked items, duplicates, the queue.

The curator derives one `CurationItem` per scored post (`tesoro.curator.ranking`);
this module is the only place its queries are built. Reads return frozen records
assembled in a fixed number of queries per page (posts, authors, media, tags,
copies), never one query per post.

The review queue is `post.queue_state = 'new'` ordered by `post.treasure_score`,
restricted to clean originals (`curation_item.filtered IS NULL AND duplicate_of IS
NULL`); the filtered view is the same with a filter reason. `post.treasure_score`
of a filtered post is its score minus 1, so any reader that orders posts by it
(the simple review screen included) shows every clean post first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col

from tesoro.models import Fingerprint, StoredPost
from tesoro.store.posts import _insert, _table
from tesoro.store.tables import Author, CurationBand, CurationItem, Media, Post, PostTag, Product, Score

__all__ = [
    "CopyRef",
    "MediaRef",
    "PostCard",
    "QueueEntry",
    "QueuePage",
    "RankInput",
    "apply_group_changes",
    "as_utc",
    "copies_of",
    "copy_counts",
    "count_items",
    "duplicate_candidates",
    "get_item",
    "group_members",
    "groups_led_by",
    "list_queue",
    "post_cards",
    "posts_to_rank",
    "products_by_id",
    "queue_entries",
    "rankable_ids",
    "replace_bands",
    "save_items",
    "set_item_scores",
    "stored_posts",
]

_CHUNK = 2000


def as_utc(value: datetime) -> datetime:
    """SQLite returns stored UTC times without an offset; every record carries an aware one."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- ranking input


@dataclass(frozen=True, slots=True)
class RankInput:
    """One post with its latest score set: everything the treasure score and dedupe read."""

    post_id: int
    brand_id: int | None
    author_id: int
    platform: str
    created_at: datetime
    text: str
    title: str | None
    lang: str | None
    media_types: tuple[str, ...]
    score_id: int
    relevance: float | None
    sentiment: str | None
    sentiment_probs: dict[str, float] | None
    product_id: int | None
    content_types: tuple[str, ...]
    language: str | None
    safety: dict[str, float]
    spam: float | None
    engagement_vs_median: float | None
    embedding: bytes | None


def rankable_ids(
    session: Session, *, after_id: int, limit: int, everything: bool = False, brand_id: int | None = None
) -> list[int]:
    """Ids of scored posts whose item is missing or older than their latest score set, in id order.

    Not the post's own `updated_at`: collection refreshes metrics all the time, and the
    treasure score reads engagement from the score set anyway. With `everything`, every
    scored post (new weights, the daily recency refresh, an edited post's text).
    """
    has_score = exists().where(col(Score.post_id) == col(Post.id))
    stmt = (
        select(col(Post.id))
        .outerjoin(CurationItem, col(CurationItem.post_id) == col(Post.id))
        .where(col(Post.id) > after_id, has_score)
    )
    if brand_id is not None:
        stmt = stmt.where(col(Post.brand_id) == brand_id)
    if not everything:
        newer_score = exists().where(
            col(Score.post_id) == col(Post.id), col(Score.scored_at) > col(CurationItem.ranked_at)
        )
        stmt = stmt.where(or_(col(CurationItem.post_id).is_(None), newer_score))
    stmt = stmt.order_by(col(Post.id)).limit(limit)
    return [int(pid) for pid in session.execute(stmt).scalars()]


def latest_scores(session: Session, post_ids: Sequence[int]) -> Any:
    """Subquery: the score sets of `post_ids`, numbered per post from the most recent (n = 1)."""
    return (
        select(
            col(Score.id).label("score_id"),
            func.row_number()
            .over(
                partition_by=col(Score.post_id), order_by=(col(Score.scored_at).desc(), col(Score.id).desc())
            )
            .label("n"),
        )
        .where(_any_of(session, col(Score.post_id), post_ids, Integer()))
        .subquery()
    )


def posts_to_rank(session: Session, *, post_ids: Sequence[int]) -> list[RankInput]:
    """The posts, each with its latest score set (most recently scored, any model version)."""
    if not post_ids:
        return []
    latest = latest_scores(session, post_ids)
    stmt = (
        select(
            col(Post.id),
            col(Post.brand_id),
            col(Post.author_id),
            col(Post.platform),
            col(Post.created_at),
            col(Post.text),
            col(Post.title),
            col(Post.lang),
            col(Score.id),
            col(Score.relevance),
            col(Score.sentiment),
            col(Score.sentiment_probs),
            col(Score.product_id),
            col(Score.content_types),
            col(Score.language),
            col(Score.safety),
            col(Score.spam),
            col(Score.engagement_vs_median),
            col(Score.embedding),
        )
        .join(Score, col(Score.post_id) == col(Post.id))
        .join(latest, and_(latest.c.score_id == col(Score.id), latest.c.n == 1))
        .order_by(col(Post.id))
    )
    rows = session.execute(stmt).all()
    media: dict[int, list[str]] = {}
    for post_id, kind in session.execute(
        select(col(Media.post_id), col(Media.type))
        .where(_any_of(session, col(Media.post_id), post_ids, Integer()))
        .order_by(col(Media.id))
    ):
        media.setdefault(post_id, []).append(kind)
    return [
        RankInput(
            post_id=r[0],
            brand_id=r[1],
            author_id=r[2],
            platform=r[3],
            created_at=as_utc(r[4]),
            text=r[5],
            title=r[6],
            lang=r[7],
            media_types=tuple(media.get(r[0], ())),
            score_id=r[8],
            relevance=r[9],
            sentiment=r[10],
            sentiment_probs=r[11],
            product_id=r[12],
            content_types=tuple(r[13] or ()),
            language=r[14],
            safety=dict(r[15] or {}),
            spam=r[16],
            engagement_vs_median=r[17],
            embedding=r[18],
        )
        for r in rows
    ]


# --------------------------------------------------------------------------- saving items

_ITEM_UPDATE = (
    "brand_id",
    "platform",
    "created_at",
    "language",
    "sentiment",
    "product_id",
    "content_mask",
    "content_types",
    "score",
    "base_score",
    "learned",
    "components",
    "filtered",
    "skeleton",
    "signature",
    "score_id",
    "doc",
    "ranked_at",
    "updated_at",
)


def _queue_key(score: float, filtered: str | None) -> float:
    return score - 1.0 if filtered else score


def save_items(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or refresh items (every column but `duplicate_of`) and mirror their queue key on the post."""
    if not rows:
        return 0
    table = _table(CurationItem)
    stmt = _insert(session, table)
    # RETURNING makes SQLAlchemy batch the rows into multi-row statements ("insertmanyvalues").
    stmt = stmt.on_conflict_do_update(
        index_elements=["post_id"], set_={name: getattr(stmt.excluded, name) for name in _ITEM_UPDATE}
    ).returning(table.c.post_id)
    connection = session.connection()
    for chunk in _chunks(list(rows), 500):
        connection.execute(stmt, [dict(r) for r in chunk])
    _set_post_keys(session, [(int(r["post_id"]), float(r["score"]), r.get("filtered")) for r in rows])
    return len(rows)


_PG_ARRAY_TYPES = {
    "int": "integer[]",
    "bigint": "bigint[]",
    "float": "double precision[]",
    "ts": "timestamptz[]",
}


def _bulk_update(
    session: Session,
    table_name: str,
    key: str,
    columns: Mapping[str, str],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """`UPDATE table SET col = value WHERE key = id` for many rows at once.

    SQLite runs an executemany in C and is fast as it is. psycopg would send one
    statement per row, so on PostgreSQL the rows travel as arrays in one
    `UPDATE ... FROM unnest(...)` per chunk. `columns` maps each column to its
    kind ("int", "bigint", "float", "ts"); `key` is always an integer.
    """
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        table = SQLModel.metadata.tables[table_name]
        stmt = (
            update(table)
            .where(table.c[key] == bindparam("_key"))
            .values({name: bindparam(name) for name in columns})
        )
        session.connection().execute(stmt, [{"_key": r[key], **{n: r[n] for n in columns}} for r in rows])
        return
    names = list(columns)
    arrays = ", ".join(
        ["CAST(:_key AS integer[])"] + [f"CAST(:{n} AS {_PG_ARRAY_TYPES[columns[n]]})" for n in names]
    )
    sql = text(
        f"UPDATE {table_name} AS t SET "  # names come from this module, never from input
        + ", ".join(f"{n} = v.{n}" for n in names)
        + f" FROM unnest({arrays}) AS v(_key, {', '.join(names)}) WHERE t.{key} = v._key"
    )
    for chunk in _chunks(list(rows), 10000):
        params: dict[str, Any] = {"_key": [r[key] for r in chunk]}
        params.update({n: [r[n] for r in chunk] for n in names})
        session.execute(sql, params)


def _set_post_keys(session: Session, keys: Sequence[tuple[int, float, str | None]]) -> None:
    _bulk_update(
        session,
        "post",
        "id",
        {"treasure_score": "float"},
        [{"id": pid, "treasure_score": _queue_key(score, filtered)} for pid, score, filtered in keys],
    )


def set_item_scores(session: Session, rows: Sequence[tuple[int, float, float | None, str | None]]) -> int:
    """Re-weighted scores from a retrained ranker: (post_id, score, learned, filtered) per item.

    Stamped with the real write time (never a caller's logical "now"): the library's
    index finds changed items by it.
    """
    if not rows:
        return 0
    written = datetime.now(UTC)
    _bulk_update(
        session,
        "curation_item",
        "post_id",
        {"score": "float", "learned": "float", "updated_at": "ts"},
        [
            {"post_id": pid, "score": s, "learned": learned, "updated_at": written}
            for pid, s, learned, _ in rows
        ],
    )
    _set_post_keys(session, [(pid, s, filtered) for pid, s, _, filtered in rows])
    return len(rows)


def replace_bands(session: Session, bands: Mapping[int, Sequence[int]]) -> None:
    """Store each post's LSH band keys, replacing what it had (its text may have changed)."""
    ids = list(bands)
    for chunk in _chunks(ids, 10000):
        session.execute(
            delete(CurationBand).where(_any_of(session, col(CurationBand.post_id), chunk, Integer()))
        )
    rows = [(key, pid) for pid, keys in bands.items() for key in set(keys)]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        # Two array parameters instead of a placeholder per value (see `_any_of`).
        sql = text(
            "INSERT INTO curation_band (key, post_id) "
            "SELECT * FROM unnest(CAST(:keys AS bigint[]), CAST(:ids AS integer[])) ON CONFLICT DO NOTHING"
        )
        for chunk in _chunks(rows, 50000):
            session.execute(sql, {"keys": [k for k, _ in chunk], "ids": [p for _, p in chunk]})
        return
    table = _table(CurationBand)
    stmt = _insert(session, table).on_conflict_do_nothing()
    session.connection().execute(stmt, [{"key": k, "post_id": p} for k, p in rows])


def _any_of(session: Session, column: Any, values: Sequence[Any], element: Any) -> Any:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one parameter instead of thousands
    (psycopg parses every statement's placeholders in Python, which dominated ranking time)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(element)))
    return column.in_(list(values))


def _stored_posts(session: Session, where: Any, *, fingerprints: bool = True) -> list[StoredPost]:
    columns = [col(CurationItem.post_id), col(CurationItem.created_at), col(CurationItem.duplicate_of)]
    stmt = select(*columns)
    if fingerprints:
        stmt = stmt.add_columns(
            col(CurationItem.skeleton), col(CurationItem.signature), col(Score.embedding)
        ).outerjoin(Score, col(Score.id) == col(CurationItem.score_id))
    out: list[StoredPost] = []
    for row in session.execute(stmt.where(where)):
        post_id, created, original = int(row[0]), row[1], row[2]
        key = (as_utc(created).timestamp(), post_id)
        if not fingerprints:
            out.append(StoredPost(post_id, key, original))
            continue
        skeleton, signature, embedding = row[3], row[4], row[5]
        vector = np.frombuffer(embedding, dtype=np.float32) if embedding else None
        fp = Fingerprint(skeleton, Fingerprint.signature_from(signature), ())
        out.append(StoredPost(post_id, key, original, fp, vector))
    return out


def duplicate_candidates(
    session: Session, *, skeletons: Sequence[str], band_keys: Sequence[int], per_group: int = 3
) -> list[StoredPost]:
    """Stored items sharing a skeleton or an LSH band key, with fingerprints and embeddings.

    At most `per_group` per duplicate group (and skeleton): the members of a group
    match each other, so a few stand for all of them, and a bot farm's thousand
    copies do not all have to be loaded for every new copy.
    """
    kept: dict[tuple[int, str | None], list[int]] = {}

    def keep(rows: Iterable[Any], with_skeleton: bool) -> None:
        for post_id, original, skeleton in rows:
            group = original if original is not None else post_id
            slot = kept.setdefault((group, skeleton if with_skeleton else None), [])
            if post_id in slot:
                continue
            if post_id == group:
                slot.insert(0, post_id)  # the original first when it is among the matches
                del slot[per_group:]
            elif len(slot) < per_group:
                slot.append(post_id)

    light = (col(CurationItem.post_id), col(CurationItem.duplicate_of), col(CurationItem.skeleton))
    for chunk in _chunks(list(skeletons), 10000):
        where = _any_of(session, col(CurationItem.skeleton), chunk, String())
        keep(session.execute(select(*light).where(where).order_by(col(CurationItem.post_id))), True)
    for chunk in _chunks(list(band_keys), 10000):
        stmt = (
            select(*light)
            .join(CurationBand, col(CurationBand.post_id) == col(CurationItem.post_id))
            .where(_any_of(session, col(CurationBand.key), chunk, BigInteger()))
            .distinct()
            .order_by(col(CurationItem.post_id))
        )
        keep(session.execute(stmt), False)
    ids = sorted({pid for slot in kept.values() for pid in slot})
    out: list[StoredPost] = []
    for chunk in _chunks(ids, 10000):
        out.extend(_stored_posts(session, _any_of(session, col(CurationItem.post_id), chunk, Integer())))
    return out


def group_members(session: Session, *, originals: Sequence[int]) -> list[StoredPost]:
    """Every stored member of the groups led by `originals`, originals included (no fingerprints)."""
    out: list[StoredPost] = []
    for chunk in _chunks(list(originals), 10000):
        where = or_(
            _any_of(session, col(CurationItem.duplicate_of), chunk, Integer()),
            _any_of(session, col(CurationItem.post_id), chunk, Integer()),
        )
        out.extend(_stored_posts(session, where, fingerprints=False))
    return out


def stored_posts(session: Session, *, post_ids: Sequence[int]) -> list[StoredPost]:
    """The items themselves, without fingerprints (their dates and groups)."""
    out: list[StoredPost] = []
    for chunk in _chunks(list(post_ids), 10000):
        where = _any_of(session, col(CurationItem.post_id), chunk, Integer())
        out.extend(_stored_posts(session, where, fingerprints=False))
    return out


def groups_led_by(session: Session, *, originals: Sequence[int]) -> list[StoredPost]:
    """The copies of these originals, with fingerprints (their group is being rebuilt)."""
    out: list[StoredPost] = []
    for chunk in _chunks(list(originals), 10000):
        out.extend(_stored_posts(session, _any_of(session, col(CurationItem.duplicate_of), chunk, Integer())))
    return out


def apply_group_changes(
    session: Session, changes: Sequence[tuple[int, int | None]], *, now: datetime
) -> None:
    """Set `duplicate_of` (the group's original, None for an original) for each (post_id, original)."""
    _bulk_update(
        session,
        "curation_item",
        "post_id",
        {"duplicate_of": "int", "updated_at": "ts"},
        [{"post_id": p, "duplicate_of": o, "updated_at": now} for p, o in changes],
    )


def get_item(session: Session, *, post_id: int) -> CurationItem | None:
    return session.get(CurationItem, post_id)


def count_items(session: Session, *, brand_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(CurationItem)
    if brand_id is not None:
        stmt = stmt.where(col(CurationItem.brand_id) == brand_id)
    return int(session.execute(stmt).scalar_one())


# --------------------------------------------------------------------------- cards and the queue


@dataclass(frozen=True, slots=True)
class MediaRef:
    type: str
    url: str
    preview_url: str | None
    width: int | None
    height: int | None
    alt_text: str | None


@dataclass(frozen=True, slots=True)
class PostCard:
    """A post as the review screens show it (raw text: the UI escapes)."""

    id: int
    platform: str
    external_id: str
    url: str | None
    text: str
    title: str | None
    lang: str | None
    created_at: datetime
    brand_id: int | None
    author_id: int
    author_handle: str
    author_name: str | None
    author_followers: int | None
    author_verified: bool
    author_url: str | None
    likes: int
    reposts: int
    replies: int
    quotes: int
    views: int | None
    hashtags: tuple[str, ...]
    queue_state: str
    rights_status: str
    product_id: int | None  # assigned by a coordinator
    media: tuple[MediaRef, ...] = ()
    tags: tuple[str, ...] = ()


_CARD_COLUMNS = (
    col(Post.id),
    col(Post.platform),
    col(Post.external_id),
    col(Post.url),
    col(Post.text),
    col(Post.title),
    col(Post.lang),
    col(Post.created_at),
    col(Post.brand_id),
    col(Post.author_id),
    col(Author.handle),
    col(Author.display_name),
    col(Author.followers),
    col(Author.verified),
    col(Author.profile_url),
    col(Post.likes),
    col(Post.reposts),
    col(Post.replies),
    col(Post.quotes),
    col(Post.views),
    col(Post.hashtags),
    col(Post.queue_state),
    col(Post.rights_status),
    col(Post.product_id),
)


# A post's tags travel as one text joined by the unit separator, which no tag holds
# (`curator.queue.normalize_tag` turns every whitespace character, this one included, into a space).
_TAG_SEPARATOR = "\x1f"


def _tags_column() -> Any:
    return (
        select(func.aggregate_strings(col(PostTag.tag), _TAG_SEPARATOR))
        .where(col(PostTag.post_id) == col(Post.id))
        .scalar_subquery()
    )


def _media_column(session: Session) -> Any:
    """A post's media as one JSON array of [id, type, url, preview, width, height, alt] (any order)."""
    fields = (
        col(Media.id),
        col(Media.type),
        col(Media.url),
        col(Media.preview_url),
        col(Media.width),
        col(Media.height),
        col(Media.alt_text),
    )
    if session.get_bind().dialect.name == "postgresql":
        aggregate = func.json_agg(func.json_build_array(*fields))
    else:
        aggregate = func.json_group_array(func.json_array(*fields))
    return type_coerce(select(aggregate).where(col(Media.post_id) == col(Post.id)).scalar_subquery(), JSON)


def _media(found: list[list[Any]] | None) -> tuple[MediaRef, ...]:
    """The media column's entries as references, in the order they were stored."""
    return tuple(
        MediaRef(m[1], m[2], m[3], m[4], m[5], m[6]) for m in sorted(found or (), key=lambda m: m[0])
    )


def _card(r: Any) -> PostCard:
    """A card from a row of `_CARD_COLUMNS` followed by the tags and media columns."""
    pid = int(r[0])
    tags, media = r[len(_CARD_COLUMNS)], r[len(_CARD_COLUMNS) + 1]
    return PostCard(
        id=pid,
        platform=r[1],
        external_id=r[2],
        url=r[3],
        text=r[4],
        title=r[5],
        lang=r[6],
        created_at=as_utc(r[7]),
        brand_id=r[8],
        author_id=r[9],
        author_handle=r[10],
        author_name=r[11],
        author_followers=r[12],
        author_verified=bool(r[13]),
        author_url=r[14],
        likes=r[15] or 0,
        reposts=r[16] or 0,
        replies=r[17] or 0,
        quotes=r[18] or 0,
        views=r[19],
        hashtags=tuple(r[20] or ()),
        queue_state=r[21],
        rights_status=r[22],
        product_id=r[23],
        media=_media(media),
        tags=tuple(sorted(tags.split(_TAG_SEPARATOR))) if tags else (),
    )


def post_cards(session: Session, *, post_ids: Sequence[int]) -> dict[int, PostCard]:
    """Cards for the posts, in one query (posts with their authors, tags and media).

    Plain column selects, not ORM entities: a page of cards is read on every queue
    and library request, and building mapped objects would cost more than the queries.
    """
    if not post_ids:
        return {}
    rows: list[Any] = []
    for chunk in _chunks(list(post_ids)):
        rows.extend(
            session.execute(
                select(*_CARD_COLUMNS, _tags_column(), _media_column(session))
                .join(Author, col(Author.id) == col(Post.author_id))
                .where(_any_of(session, col(Post.id), chunk, Integer()))
            ).all()
        )
    return {int(r[0]): _card(r) for r in rows}


@dataclass(frozen=True, slots=True)
class CopyRef:
    """A duplicate shown under its original."""

    id: int
    platform: str
    author_handle: str
    url: str | None
    created_at: datetime
    queue_state: str


@dataclass(frozen=True, slots=True)
class QueueEntry:
    card: PostCard
    score: float
    base_score: float
    learned: float | None
    components: dict[str, Any]
    filtered: str | None
    duplicate_of: int | None
    content_types: tuple[str, ...]
    sentiment: str | None
    language: str | None
    scored_product_id: int | None
    copies: tuple[CopyRef, ...] = ()
    copy_count: int = 0

    @property
    def product_id(self) -> int | None:
        """The coordinator's product if they assigned one, else the scorer's match."""
        return self.card.product_id if self.card.product_id is not None else self.scored_product_id


@dataclass(frozen=True, slots=True)
class QueuePage:
    total: int
    items: list[QueueEntry] = field(default_factory=list)


def _copies(
    session: Session, originals: Sequence[int], limit: int | None
) -> tuple[dict[int, list[CopyRef]], dict[int, int]]:
    """The first `limit` copies of each original (oldest first) and how many it has in all.

    Two plain queries (copy ids by the duplicate_of index, then those posts by primary
    key) rather than one with a window function: the planner's guess for the latter
    turned a 1 ms lookup into a scan of every post.
    """
    kept: dict[int, list[int]] = {}
    counts: dict[int, int] = {}
    for chunk in _chunks(list(originals), 10000):
        stmt = (
            select(col(CurationItem.duplicate_of), col(CurationItem.post_id))
            .where(_any_of(session, col(CurationItem.duplicate_of), chunk, Integer()))
            .order_by(col(CurationItem.duplicate_of), col(CurationItem.created_at), col(CurationItem.post_id))
        )
        for original, post_id in session.execute(stmt):
            counts[original] = counts.get(original, 0) + 1
            if limit is None or counts[original] <= limit:
                kept.setdefault(original, []).append(int(post_id))
    ids = [pid for pids in kept.values() for pid in pids]
    details: dict[int, CopyRef] = {}
    for chunk in _chunks(ids, 10000):
        detail_stmt = (
            select(
                col(Post.id),
                col(Post.platform),
                col(Author.handle),
                col(Post.url),
                col(Post.created_at),
                col(Post.queue_state),
            )
            .join(Author, col(Author.id) == col(Post.author_id))
            .where(_any_of(session, col(Post.id), chunk, Integer()))
        )
        for pid, platform, handle, url, created, state in session.execute(detail_stmt):
            details[int(pid)] = CopyRef(int(pid), platform, handle, url, as_utc(created), state)
    copies = {o: [details[p] for p in pids if p in details] for o, pids in kept.items()}
    return copies, counts


def copies_of(
    session: Session, *, originals: Sequence[int], limit: int | None = None
) -> dict[int, list[CopyRef]]:
    """The copies of each original, oldest first (at most `limit` each; bot farms make thousands)."""
    return _copies(session, originals, limit)[0]


def copy_counts(session: Session, *, originals: Sequence[int]) -> dict[int, int]:
    """How many copies each original has."""
    out: dict[int, int] = {}
    for chunk in _chunks(list(originals), 10000):
        stmt = (
            select(col(CurationItem.duplicate_of), func.count())
            .where(_any_of(session, col(CurationItem.duplicate_of), chunk, Integer()))
            .group_by(col(CurationItem.duplicate_of))
        )
        out.update({int(o): int(n) for o, n in session.execute(stmt)})
    return out


_copy_item = aliased(CurationItem, name="copy_item")

_ITEM_COLUMNS = (
    col(CurationItem.post_id),
    col(CurationItem.score),
    col(CurationItem.base_score),
    col(CurationItem.learned),
    col(CurationItem.components),
    col(CurationItem.filtered),
    col(CurationItem.duplicate_of),
    col(CurationItem.content_types),
    col(CurationItem.sentiment),
    col(CurationItem.language),
    col(CurationItem.product_id),
)


def queue_entries(
    session: Session, *, post_ids: Sequence[int], with_copies: bool = True, copies_limit: int = 20
) -> list[QueueEntry]:
    """Entries for ranked posts, in the given order (unranked ids are left out).

    Each original lists its first `copies_limit` copies; `copy_count` has them all.
    """
    copy_count = (
        select(func.count())
        .select_from(_copy_item)
        .where(col(_copy_item.duplicate_of) == col(CurationItem.post_id))
        .scalar_subquery()
    )
    rows: dict[int, Any] = {}
    for chunk in _chunks(list(post_ids)):
        stmt = (
            select(*_CARD_COLUMNS, _tags_column(), _media_column(session), *_ITEM_COLUMNS, copy_count)
            .join(CurationItem, col(CurationItem.post_id) == col(Post.id))
            .join(Author, col(Author.id) == col(Post.author_id))
            .where(_any_of(session, col(Post.id), chunk, Integer()))
        )
        rows.update((int(r[0]), r) for r in session.execute(stmt))
    cards = {pid: _card(r) for pid, r in rows.items()}
    skip = len(_CARD_COLUMNS) + 2
    items = {pid: r[skip:] for pid, r in rows.items()}
    # Copies are looked up only for the originals that have some (most posts have none).
    counts = {pid: int(item[len(_ITEM_COLUMNS)] or 0) for pid, item in items.items()}
    originals = [pid for pid, item in items.items() if item[6] is None and counts[pid]]
    copies = _copies(session, originals, copies_limit)[0] if with_copies and originals else {}
    out: list[QueueEntry] = []
    for pid in post_ids:
        item, card = items.get(pid), cards.get(pid)
        if item is None or card is None:
            continue
        out.append(
            QueueEntry(
                card=card,
                score=float(item[1]),
                base_score=float(item[2]),
                learned=item[3],
                components=dict(item[4] or {}),
                filtered=item[5],
                duplicate_of=item[6],
                content_types=tuple(item[7] or ()),
                sentiment=item[8],
                language=item[9],
                scored_product_id=item[10],
                copies=tuple(copies.get(pid, ())),
                copy_count=counts.get(pid, 0),
            )
        )
    return out


def list_queue(
    session: Session,
    *,
    filtered: bool = False,
    state: str = "new",
    brand_id: int | None = None,
    product_id: int | None = None,
    platform: str | None = None,
    content_mask: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> QueuePage:
    """The review queue (clean originals, best first) or, with `filtered`, the filtered view.

    `content_mask` keeps posts having any of the mask's content types.
    """
    where: list[Any] = [
        col(Post.queue_state) == state,
        col(CurationItem.duplicate_of).is_(None),
        col(Post.treasure_score).is_not(None),
        col(CurationItem.filtered).is_not(None) if filtered else col(CurationItem.filtered).is_(None),
    ]
    if brand_id is not None:
        where.append(col(Post.brand_id) == brand_id)
    if product_id is not None:
        where.append(func.coalesce(col(Post.product_id), col(CurationItem.product_id)) == product_id)
    if platform is not None:
        where.append(col(Post.platform) == platform)
    if content_mask:
        where.append(col(CurationItem.content_mask).op("&")(content_mask) != 0)
    base = select(col(Post.id)).join(CurationItem, col(CurationItem.post_id) == col(Post.id)).where(*where)
    total = int(session.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    stmt = base.order_by(col(Post.treasure_score).desc(), col(Post.id).desc()).limit(limit).offset(offset)
    ids = [int(pid) for pid in session.execute(stmt).scalars()]
    return QueuePage(total=total, items=queue_entries(session, post_ids=ids))


def products_by_id(session: Session) -> dict[int, Product]:
    return {p.id: p for p in session.execute(select(Product)).scalars() if p.id is not None}
