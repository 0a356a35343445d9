"""The facts ROR is built from: posts, replies, decisions and logged events, read as numpy columns.

`relationship_facts` reads, in a handful of set-based queries, everything the
ROR formula needs about the posts of a brand (or of one person): when, how far
it reached, its latest sentiment, whether it is UGC, its queue and rights state,
whom it replies to and whether it mentions other people. The rows come back as
numpy columns, never as ORM objects: a million posts is one pass over a cursor.
Which facts become which events is decided in `tesoro.insights.relationship`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, ColumnElement, Text, and_, case, cast, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tesoro.store.sql import epoch_seconds, json_has, like_escape, numeric_matrix, table_of
from tesoro.store.tables import (
    Author,
    CurationDecision,
    Media,
    Post,
    RelationshipEvent,
    Score,
)

__all__ = [
    "LoggedFacts",
    "PostFacts",
    "RelationshipFacts",
    "ReplyFacts",
    "brand_account_ids",
    "relationship_facts",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class PostFacts:
    """One row per post about the brand, as columns. `person_id` is -1 for an unlinked account."""

    post_id: I64
    author_id: I64
    person_id: I64
    at: F64  # epoch seconds
    reach: F64  # views when reported, else the author's followers
    sentiment: F64  # +1 / 0 / -1 from the latest score set; NaN when unscored
    ugc: NDArray[np.bool_]
    queue: NDArray[np.int8]  # 0: other, 1: approved, 2: featured
    curated_at: F64  # when it was approved/featured, NaN when no decision says
    rights_granted: NDArray[np.bool_]
    rights_at: F64
    reply_to_brand: NDArray[np.bool_]
    reply_to_other: NDArray[np.bool_]
    mentions_others: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.post_id.shape[0])


@dataclass(frozen=True, slots=True)
class ReplyFacts:
    """A brand account replied (at `at`) to the post `post_id` by `author_id`."""

    author_id: I64
    person_id: I64
    post_id: I64
    at: F64


@dataclass(frozen=True, slots=True)
class LoggedFacts:
    """Rows of `relationship_event`: events someone logged by hand (or another stage wrote)."""

    author_id: I64
    person_id: I64
    post_id: I64
    kind: tuple[str, ...]
    weight: F64
    reach: F64
    at: F64


@dataclass(frozen=True, slots=True)
class RelationshipFacts:
    posts: PostFacts
    replies: ReplyFacts
    logged: LoggedFacts
    brand_author_ids: frozenset[int]


def _normal_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


def brand_account_ids(session: Session, *, handles: Iterable[Mapping[str, str]]) -> frozenset[int]:
    """Authors that are the brand's own accounts (`Brand.handles`: platform -> handle).

    Compared without '@' and case; a Mastodon handle written without its server
    matches the account on any server.
    """
    found: set[int] = set()
    for mapping in handles:
        for platform, handle in mapping.items():
            name = _normal_handle(handle)
            if not name:
                continue
            match = func.lower(col(Author.handle)) == name
            if platform == "mastodon" and "@" not in name:
                match = or_(match, func.lower(col(Author.handle)).like(f"{like_escape(name)}@%", escape="\\"))
            stmt = select(col(Author.id)).where(col(Author.platform) == platform, match)
            found.update(i for i in session.exec(stmt) if i is not None)
    return frozenset(found)


def _lookup(keys: I64, table_keys: I64, table_values: F64) -> F64:
    """table_values[table_keys == key] for each key (NaN where absent); `table_keys` sorted."""
    out = np.full(keys.shape[0], np.nan)
    if table_keys.shape[0] == 0 or keys.shape[0] == 0:
        return out
    idx = np.clip(np.searchsorted(table_keys, keys), 0, table_keys.shape[0] - 1)
    hit = table_keys[idx] == keys
    out[hit] = table_values[idx[hit]]
    return out


def _post_filters(brand_id: int | None, author_ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    """Which posts a computation reads.

    The brand test is written `coalesce(brand_id, -1) = :id` on purpose: a brand
    usually owns most of the posts, and an index lookup per row (what SQLite picks
    for a bare `brand_id = :id`) is several times slower than one scan.
    """
    filters: list[ColumnElement[bool]] = []
    if brand_id is not None:
        filters.append(func.coalesce(col(Post.brand_id), -1) == brand_id)
    if author_ids is not None:
        filters.append(col(Post.author_id).in_(list(author_ids)))
    return filters


def _latest_per_post(post_id: I64, score_id: I64) -> NDArray[np.intp]:
    """Row index of the highest score id of each post (its latest score set)."""
    if post_id.shape[0] == 0:
        return np.zeros(0, dtype=np.intp)
    order = np.lexsort((score_id, post_id))
    last = np.ones(order.shape[0], dtype=np.bool_)
    last[:-1] = post_id[order][1:] != post_id[order][:-1]
    picked: NDArray[np.intp] = order[last]
    return picked


def relationship_facts(
    session: Session,
    *,
    brand_id: int | None,
    brand_handles: Iterable[Mapping[str, str]],
    ugc_content_types: Sequence[str],
    author_ids: Sequence[int] | None = None,
    until: datetime | None = None,
    spam_threshold: float | None = None,
) -> RelationshipFacts:
    """Everything ROR needs about a brand's posts (all of them, or only those of `author_ids`).

    `brand_id=None` reads every post, whatever brand collected it. Posts whose latest
    spam score is at or above `spam_threshold` are left out: a bot repeating the
    brand's name a thousand times is not its best friend. Posts after `until` are
    dropped here too, although the formula ignores later events anyway.

    A handful of plain scans (posts, their authors, score sets, media, replies)
    joined in numpy by sorted ids: one big SQL join of the same tables lets the
    planner pick a nested loop per post, which measured three times slower on a
    million posts.
    """
    brand_ids = brand_account_ids(session, handles=brand_handles)
    brand_list = np.array(sorted(brand_ids), dtype=np.int64)
    filters = _post_filters(brand_id, author_ids)
    scoped = author_ids is not None
    scope = sa_select(col(Post.id)).where(*filters)

    brand_mentions: ColumnElement[int] = sum(
        (
            case((json_has(Post.mentions, variant, lower=True), 1), else_=0)
            for variant in _brand_mention_variants(brand_handles)
        ),
        start=cast(0, BigInteger),
    )
    posts_stmt = (
        sa_select(
            col(Post.id),
            col(Post.author_id),
            epoch_seconds(Post.created_at),
            func.coalesce(col(Post.views), -1),
            case((col(Post.queue_state) == "approved", 1), (col(Post.queue_state) == "featured", 2), else_=0),
            # A grant counts for the relationship, also once its term ended; a decline, a revocation
            # or no answer never counts against the author.
            case((col(Post.rights_status).in_(("granted", "expired")), 1), else_=0),
            case(
                # Most posts mention nobody: skip the JSON work for them.
                (cast(col(Post.mentions), Text) == "[]", 0),
                (func.json_array_length(col(Post.mentions)) > brand_mentions, 1),
                else_=0,
            ),
        )
        .where(*filters)
        .order_by(col(Post.id))
    )
    m = numeric_matrix(session, posts_stmt, 7)
    if until is not None:
        m = m[m[:, 2] <= until.timestamp()]
    post_id = m[:, 0].astype(np.int64)
    author = m[:, 1].astype(np.int64)

    # Authors: person and followers, looked up by id.
    authors_stmt = sa_select(
        col(Author.id), func.coalesce(col(Author.person_id), -1), func.coalesce(col(Author.followers), 0)
    ).order_by(col(Author.id))
    if scoped:
        authors_stmt = authors_stmt.where(col(Author.id).in_(list(author_ids or [])))
    a = numeric_matrix(session, authors_stmt, 3)
    a_ids = a[:, 0].astype(np.int64)
    person = np.nan_to_num(_lookup(author, a_ids, a[:, 1]), nan=-1.0).astype(np.int64)
    followers = np.nan_to_num(_lookup(author, a_ids, a[:, 2]), nan=0.0)

    # The latest score set of each post: sentiment, UGC content type, spam.
    ugc_type = or_(*(json_has(Score.content_types, kind) for kind in ugc_content_types))
    scores_stmt = sa_select(
        col(Score.post_id),
        col(Score.id),
        case(
            (col(Score.sentiment) == "positive", 1),
            (col(Score.sentiment) == "negative", -1),
            (col(Score.sentiment) == "neutral", 0),
            else_=None,
        ),
        case((cast(col(Score.content_types), Text) == "[]", 0), (ugc_type, 1), else_=0),
        col(Score.spam),
    )
    if scoped:
        scores_stmt = scores_stmt.where(col(Score.post_id).in_(scope))
    sc = numeric_matrix(session, scores_stmt, 5)
    sc = sc[_latest_per_post(sc[:, 0].astype(np.int64), sc[:, 1].astype(np.int64))]
    sc_post = sc[:, 0].astype(np.int64)
    sentiment = _lookup(post_id, sc_post, sc[:, 2])
    ugc_by_type = _lookup(post_id, sc_post, sc[:, 3]) > 0
    spam = _lookup(post_id, sc_post, sc[:, 4])

    media_stmt = sa_select(col(Media.post_id)).distinct()
    if scoped:
        media_stmt = media_stmt.where(col(Media.post_id).in_(scope))
    media_ids = np.sort(np.array(session.connection().execute(media_stmt).scalars().all(), dtype=np.int64))
    has_media = np.isin(post_id, media_ids, assume_unique=False)

    # Replies: whose post each reply answers (unknown parents stay -1).
    parent = table_of(Post).alias("parent")
    replies_stmt = (
        sa_select(col(Post.id), func.coalesce(parent.c.author_id, -1))
        .select_from(Post)
        .outerjoin(
            parent,
            and_(parent.c.platform == col(Post.platform), parent.c.external_id == col(Post.reply_to_id)),
        )
        .where(col(Post.reply_to_id).is_not(None), *filters)
        .order_by(col(Post.id))
    )
    r = numeric_matrix(session, replies_stmt, 2)
    r_ids = r[:, 0].astype(np.int64)
    has_reply = np.isin(post_id, r_ids)
    parent_author = np.nan_to_num(_lookup(post_id, r_ids, r[:, 1]), nan=-1.0).astype(np.int64)
    to_brand = has_reply & np.isin(parent_author, brand_list)

    keep = np.ones(post_id.shape[0], dtype=np.bool_)
    if spam_threshold is not None:
        keep = ~(spam >= spam_threshold)
    queue = m[:, 4].astype(np.int8)
    rights = m[:, 5] > 0
    views = m[:, 3]
    approved, featured, granted = _decision_times(session, filters)
    curated_at = np.where(queue == 2, _lookup(post_id, *featured), _lookup(post_id, *approved))
    posts = PostFacts(
        post_id=post_id[keep],
        author_id=author[keep],
        person_id=person[keep],
        at=m[keep, 2],
        reach=np.maximum(np.where(views > 0, views, followers), 0.0)[keep],
        sentiment=sentiment[keep],
        ugc=(has_media | ugc_by_type)[keep],
        queue=queue[keep],
        curated_at=np.where(queue > 0, curated_at, np.nan)[keep],
        rights_granted=rights[keep],
        rights_at=np.where(rights, _lookup(post_id, *granted), np.nan)[keep],
        reply_to_brand=to_brand[keep],
        reply_to_other=(has_reply & ~to_brand & (parent_author != author))[keep],
        mentions_others=(m[:, 6] > 0)[keep],
    )
    return RelationshipFacts(
        posts=posts,
        replies=_brand_replies(session, sorted(brand_ids), author_ids, until),
        logged=_logged_events(session, brand_id, author_ids, until),
        brand_author_ids=brand_ids,
    )


def _brand_mention_variants(brand_handles: Iterable[Mapping[str, str]]) -> list[str]:
    variants: set[str] = set()
    for mapping in brand_handles:
        for handle in mapping.values():
            name = _normal_handle(handle)
            if name:
                variants.add(name)
    return sorted(variants)


def _decision_times(
    session: Session, filters: list[ColumnElement[bool]]
) -> tuple[tuple[I64, F64], tuple[I64, F64], tuple[I64, F64]]:
    """When each post was last moved to approved / featured / granted (undone decisions ignored)."""
    stmt = (
        sa_select(
            col(CurationDecision.post_id),
            col(CurationDecision.to_state),
            func.max(epoch_seconds(CurationDecision.decided_at)),
        )
        .join(Post, col(Post.id) == col(CurationDecision.post_id))
        .where(
            col(CurationDecision.undone).is_(False),
            col(CurationDecision.to_state).in_(["approved", "featured", "granted"]),
            col(CurationDecision.decided_at).is_not(None),
            *filters,
        )
        .group_by(col(CurationDecision.post_id), col(CurationDecision.to_state))
        .order_by(col(CurationDecision.post_id))
    )
    by_state: dict[str, tuple[list[int], list[float]]] = {
        s: ([], []) for s in ("approved", "featured", "granted")
    }
    for post_id, state, at in session.execute(stmt):
        ids, times = by_state[state]
        ids.append(int(post_id))
        times.append(float(at))

    def arrays(state: str) -> tuple[I64, F64]:
        ids, times = by_state[state]
        return np.array(ids, dtype=np.int64), np.array(times, dtype=np.float64)

    return arrays("approved"), arrays("featured"), arrays("granted")


def _brand_replies(
    session: Session, brand_ids: list[int], author_ids: Sequence[int] | None, until: datetime | None
) -> ReplyFacts:
    if not brand_ids:
        empty = np.zeros(0, dtype=np.int64)
        return ReplyFacts(author_id=empty, person_id=empty, post_id=empty, at=np.zeros(0))
    reply = table_of(Post).alias("brand_reply")
    stmt = (
        sa_select(
            col(Post.author_id),
            func.coalesce(col(Author.person_id), -1),
            col(Post.id),
            epoch_seconds(reply.c.created_at),
        )
        .select_from(reply)
        .join(
            Post, and_(col(Post.platform) == reply.c.platform, col(Post.external_id) == reply.c.reply_to_id)
        )
        .join(Author, col(Author.id) == col(Post.author_id))
        .where(reply.c.author_id.in_(brand_ids), reply.c.reply_to_id.is_not(None))
    )
    if author_ids is not None:
        stmt = stmt.where(col(Post.author_id).in_(list(author_ids)))
    if until is not None:
        stmt = stmt.where(reply.c.created_at <= until)
    m = numeric_matrix(session, stmt, 4)
    return ReplyFacts(
        author_id=m[:, 0].astype(np.int64),
        person_id=m[:, 1].astype(np.int64),
        post_id=m[:, 2].astype(np.int64),
        at=m[:, 3].copy(),
    )


def _logged_events(
    session: Session, brand_id: int | None, author_ids: Sequence[int] | None, until: datetime | None
) -> LoggedFacts:
    stmt = (
        sa_select(
            col(RelationshipEvent.author_id),
            func.coalesce(col(Author.person_id), -1).label("person_id"),
            func.coalesce(col(RelationshipEvent.post_id), -1).label("post_id"),
            col(RelationshipEvent.kind),
            col(RelationshipEvent.weight),
            func.coalesce(col(RelationshipEvent.reach), 0).label("reach"),
            epoch_seconds(RelationshipEvent.occurred_at).label("at"),
        )
        .join(Author, col(Author.id) == col(RelationshipEvent.author_id))
        .outerjoin(Post, col(Post.id) == col(RelationshipEvent.post_id))
        .where(col(RelationshipEvent.occurred_at).is_not(None))
    )
    if brand_id is not None:
        stmt = stmt.where(or_(col(RelationshipEvent.post_id).is_(None), col(Post.brand_id) == brand_id))
    if author_ids is not None:
        stmt = stmt.where(col(RelationshipEvent.author_id).in_(list(author_ids)))
    if until is not None:
        stmt = stmt.where(col(RelationshipEvent.occurred_at) <= until)
    rows = session.execute(stmt).all()
    return LoggedFacts(
        author_id=np.array([r.author_id for r in rows], dtype=np.int64),
        person_id=np.array([r.person_id for r in rows], dtype=np.int64),
        post_id=np.array([r.post_id for r in rows], dtype=np.int64),
        kind=tuple(str(r.kind) for r in rows),
        weight=np.array([r.weight for r in rows], dtype=np.float64),
        reach=np.array([max(int(r.reach), 0) for r in rows], dtype=np.float64),
        at=np.array([r.at for r in rows], dtype=np.float64),
    )
