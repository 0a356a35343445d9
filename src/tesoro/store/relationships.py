"""Repository functions for relationships: the facts ROR is built from, identities, ROR snapshots.

`relationship_facts` reads, in a handful of set-based queries, everything the
ROR formula needs about the posts of a brand (or of one person): when, how far
it reached, its latest sentiment, whether it is UGC, its queue and rights state,
whom it replies to and whether it mentions other people. The rows come back as
numpy columns, never as ORM objects: a million posts is one pass over a cursor.
Which facts become which events is decided in `tesoro.insights.relationship`.

Identity: accounts of the same human on several platforms share an
`Author.person_id`. Linking and unlinking are coordinator actions, written to
the audit log with the before and after state; suggestions come from bios that
name another stored account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    extract,
    func,
    or_,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tesoro.store.tables import (
    AuditLog,
    Author,
    CurationDecision,
    IdentityDismissal,
    Media,
    Person,
    Post,
    RelationshipEvent,
    RorScore,
    Score,
)

__all__ = [
    "LeaderboardRow",
    "LinkSuggestion",
    "LoggedFacts",
    "PostFacts",
    "RelationshipFacts",
    "ReplyFacts",
    "add_logged_event",
    "advocates",
    "brand_account_ids",
    "dismiss_suggestion",
    "epoch_seconds",
    "identity_author_ids",
    "join_latest_score",
    "json_has",
    "link_accounts",
    "linked_accounts",
    "logged_events",
    "numeric_matrix",
    "relationship_facts",
    "remove_logged_event",
    "replace_ror_scores",
    "ror_computed_at",
    "ror_for_authors",
    "ror_leaderboard",
    "suggest_links",
    "unlink_account",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def epoch_seconds(column: Any) -> ColumnElement[int]:
    """Seconds since 1970 (UTC) of a timestamp column, computed by the database on either backend.

    SQLAlchemy renders it as STRFTIME('%s') on SQLite and EXTRACT(EPOCH) on
    PostgreSQL; numbers are much cheaper to fetch than datetimes to parse.
    """
    return cast(extract("epoch", column), BigInteger)


def _table(model: type[Any]) -> Table:
    table = sa_inspect(model).local_table
    assert isinstance(table, Table)
    return table


def _post_table() -> Table:
    return _table(Post)


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def json_has(column: Any, value: str, *, lower: bool = False) -> ColumnElement[bool]:
    """Whether a JSON list column holds `value`, as a LIKE on its text (portable SQLite/PostgreSQL).

    The pattern is the value as Tesoro's JSON serializer writes it, quotes included,
    so "tutorial" does not match "tutorials".
    """
    text: ColumnElement[str] = cast(column, Text)
    if lower:
        text = func.lower(text)
        value = value.lower()
    return text.like(f"%{_like_literal(json.dumps(value))}%", escape="\\")


def join_latest_score(stmt: Any) -> Any:
    """`stmt` (selecting from post) LEFT JOINed to each post's latest score set, whatever its version.

    Written as a correlated MAX(id) per post rather than a GROUP BY over the whole
    score table: the per-post index lookup costs in proportion to the posts of the
    window, not to every score ever stored (4x faster for a 30-day window of 1M posts).
    """
    newer = _table(Score).alias("newer_score")
    latest = sa_select(func.max(newer.c.id)).where(newer.c.post_id == col(Post.id)).scalar_subquery()
    return stmt.outerjoin(Score, col(Score.id) == latest)


# --- facts ------------------------------------------------------------------------------------


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
                match = or_(
                    match, func.lower(col(Author.handle)).like(f"{_like_literal(name)}@%", escape="\\")
                )
            stmt = select(col(Author.id)).where(col(Author.platform) == platform, match)
            found.update(i for i in session.exec(stmt) if i is not None)
    return frozenset(found)


def numeric_matrix(session: Session, stmt: Any, width: int) -> F64:
    """Run `stmt` and return its rows of numbers (None -> NaN) as a float matrix.

    Executed on the connection (Core), not through the ORM session, and rows are
    turned into plain tuples before numpy reads them: on a million rows the ORM
    result machinery costs half a second and numpy reading Row objects through the
    generic sequence protocol costs several seconds more.
    """
    rows = [tuple(row) for row in session.connection().execute(stmt)]
    if not rows:
        return np.zeros((0, width))
    return np.array(rows, dtype=np.float64).reshape(len(rows), width)


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
            case((col(Post.rights_status) == "granted", 1), else_=0),
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
    media_ids = np.sort(np.array([r[0] for r in session.connection().execute(media_stmt)], dtype=np.int64))
    has_media = np.isin(post_id, media_ids, assume_unique=False)

    # Replies: whose post each reply answers (unknown parents stay -1).
    parent = _post_table().alias("parent")
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
    reply = _post_table().alias("brand_reply")
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
            func.coalesce(col(Author.person_id), -1),
            func.coalesce(col(RelationshipEvent.post_id), -1),
            col(RelationshipEvent.kind),
            col(RelationshipEvent.weight),
            func.coalesce(col(RelationshipEvent.reach), 0),
            epoch_seconds(RelationshipEvent.occurred_at),
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
        author_id=np.array([r[0] for r in rows], dtype=np.int64),
        person_id=np.array([r[1] for r in rows], dtype=np.int64),
        post_id=np.array([r[2] for r in rows], dtype=np.int64),
        kind=tuple(str(r[3]) for r in rows),
        weight=np.array([r[4] for r in rows], dtype=np.float64),
        reach=np.array([max(int(r[5]), 0) for r in rows], dtype=np.float64),
        at=np.array([r[6] for r in rows], dtype=np.float64),
    )


# --- identity ---------------------------------------------------------------------------------


def identity_author_ids(session: Session, *, author_id: int) -> list[int]:
    """Every account of the person behind `author_id` (just itself when it is not linked)."""
    author = session.get(Author, author_id)
    if author is None:
        return []
    if author.person_id is None:
        return [author_id]
    stmt = select(col(Author.id)).where(col(Author.person_id) == author.person_id).order_by(col(Author.id))
    return [i for i in session.exec(stmt) if i is not None]


def linked_accounts(session: Session, *, author_id: int) -> list[Author]:
    ids = identity_author_ids(session, author_id=author_id)
    if not ids:
        return []
    return list(session.exec(select(Author).where(col(Author.id).in_(ids)).order_by(col(Author.id))))


def _audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_id: str,
    before: Any,
    after: Any,
    entity: str = "person",
) -> None:
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            at=datetime.now(UTC),
        )
    )


def link_accounts(
    session: Session, *, author_ids: Sequence[int], actor: str, display_name: str | None = None
) -> int:
    """Make the given accounts one person; returns the person id. Audited.

    When some of them already belong to persons, those persons are merged into the
    oldest one (their other accounts come along): linking is transitive, so "A is B"
    and "B is C" must end with one person, not two.
    """
    wanted = sorted(set(author_ids))
    if len(wanted) < 2:
        raise ValueError("linking needs at least two different accounts")
    authors = list(session.exec(select(Author).where(col(Author.id).in_(wanted))))
    missing = sorted(set(wanted) - {a.id for a in authors if a.id is not None})
    if missing:
        raise LookupError(f"no account with id {missing}")
    persons = sorted({a.person_id for a in authors if a.person_id is not None})
    members = list(authors)
    if persons:
        others = select(Author).where(col(Author.person_id).in_(persons), col(Author.id).not_in(wanted))
        members.extend(session.exec(others))
        target = persons[0]
    else:
        first = min(authors, key=lambda a: a.id or 0)
        person = Person(
            display_name=display_name or first.display_name or first.handle, created_at=datetime.now(UTC)
        )
        session.add(person)
        session.flush()
        assert person.id is not None
        target = person.id
    before = {str(a.id): a.person_id for a in members}
    for author in members:
        author.person_id = target
        session.add(author)
    member_ids = sorted(a.id for a in members if a.id is not None)
    # The coordinator has now said they are the same: earlier "not the same" answers no longer hold.
    session.execute(
        delete(IdentityDismissal).where(
            col(IdentityDismissal.author_a).in_(member_ids), col(IdentityDismissal.author_b).in_(member_ids)
        )
    )
    if len(persons) > 1:
        session.flush()
        for merged in persons[1:]:
            row = session.get(Person, merged)
            if row is not None:
                session.delete(row)
    _audit(
        session,
        actor=actor,
        action="identity.link",
        entity_id=str(target),
        before={"person_of": before},
        after={"person_id": target, "author_ids": member_ids},
    )
    session.flush()
    return target


def unlink_account(session: Session, *, author_id: int, actor: str) -> None:
    """Detach one account from its person. Audited, and remembered as "not the same person".

    The dismissal keeps the suggestion that may have caused the link from coming back.
    """
    author = session.get(Author, author_id)
    if author is None:
        raise LookupError(f"no account with id {author_id}")
    if author.person_id is None:
        return
    person_id = author.person_id
    others = [i for i in identity_author_ids(session, author_id=author_id) if i != author_id]
    author.person_id = None
    session.add(author)
    now = datetime.now(UTC)
    for other in others:
        _dismiss(session, author_id, other, actor=actor, at=now)
    _audit(
        session,
        actor=actor,
        action="identity.unlink",
        entity_id=str(person_id),
        before={"person_id": person_id, "author_ids": sorted([author_id, *others])},
        after={"person_id": person_id, "author_ids": sorted(others), "detached": author_id},
    )
    session.flush()


def _dismiss(session: Session, a: int, b: int, *, actor: str, at: datetime) -> None:
    low, high = sorted((a, b))
    if session.get(IdentityDismissal, (low, high)) is None:
        session.add(IdentityDismissal(author_a=low, author_b=high, actor=actor, at=at))


def dismiss_suggestion(session: Session, *, author_a: int, author_b: int, actor: str) -> None:
    """Record that two accounts are different people, so they are never suggested again. Audited."""
    if author_a == author_b:
        raise ValueError("an account cannot be dismissed against itself")
    for author_id in (author_a, author_b):
        if session.get(Author, author_id) is None:
            raise LookupError(f"no account with id {author_id}")
    _dismiss(session, author_a, author_b, actor=actor, at=datetime.now(UTC))
    _audit(
        session,
        actor=actor,
        action="identity.dismiss",
        entity_id="-",
        before=None,
        after={"author_ids": sorted((author_a, author_b))},
    )
    session.flush()


@dataclass(frozen=True, slots=True)
class LinkSuggestion:
    """`author_id`'s bio names `other_id`'s handle on another platform."""

    author_id: int
    other_id: int
    token: str
    reason: str


# Handles written in bios: profile URLs per platform, then @handles and Bluesky domains.
_URL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("x", re.compile(r"(?:twitter|x)\.com/@?([A-Za-z0-9_]{1,15})\b", re.IGNORECASE)),
    ("reddit", re.compile(r"reddit\.com/(?:u|user)/([A-Za-z0-9_-]{3,20})", re.IGNORECASE)),
    ("bluesky", re.compile(r"bsky\.app/profile/([A-Za-z0-9.-]+[A-Za-z0-9])", re.IGNORECASE)),
    ("instagram", re.compile(r"instagram\.com/([A-Za-z0-9_.]+[A-Za-z0-9_])", re.IGNORECASE)),
    ("tiktok", re.compile(r"tiktok\.com/@([A-Za-z0-9_.]+[A-Za-z0-9_])", re.IGNORECASE)),
    ("youtube", re.compile(r"youtube\.com/@([A-Za-z0-9_.-]+[A-Za-z0-9_])", re.IGNORECASE)),
)
_MASTODON_URL = re.compile(r"https?://([A-Za-z0-9.-]+\.[A-Za-z]{2,})/@([A-Za-z0-9_]+)\b")
_AT_HANDLE = re.compile(
    r"(?<![\w.@/])@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_](?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)"
)
_BSKY_DOMAIN = re.compile(r"(?<![\w.@/])([A-Za-z0-9-]+\.bsky\.social)\b", re.IGNORECASE)


def _handles_in(bio: str) -> list[tuple[str | None, str]]:
    """(platform or None when any platform fits, handle) for every account a bio names."""
    found: list[tuple[str | None, str]] = []
    for platform, pattern in _URL_PATTERNS:
        found.extend((platform, m.group(1)) for m in pattern.finditer(bio))
    found.extend(("mastodon", f"{m.group(2)}@{m.group(1)}") for m in _MASTODON_URL.finditer(bio))
    for m in _AT_HANDLE.finditer(bio):
        handle = m.group(1)
        found.append(("mastodon" if "@" in handle else None, handle))
    found.extend(("bluesky", m.group(1)) for m in _BSKY_DOMAIN.finditer(bio))
    return found


def _candidates(
    session: Session, sources: Sequence[tuple[int, str, int | None, str]]
) -> list[tuple[int, int, str, str]]:
    """(source id, other id, token, source label) for stored accounts the sources' bios name."""
    wanted: dict[str, list[tuple[int, str | None, str, str, int | None]]] = {}
    for author_id, platform, person_id, bio in sources:
        for hint, handle in _handles_in(bio):
            key = handle.lower()
            wanted.setdefault(key, []).append((author_id, hint, platform, handle, person_id))
    if not wanted:
        return []
    names = sorted({*wanted, *(entry[3] for entries in wanted.values() for entry in entries)})
    out: list[tuple[int, int, str, str]] = []
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        stmt = select(col(Author.id), col(Author.platform), col(Author.handle), col(Author.person_id)).where(
            col(Author.handle).in_(chunk)
        )
        for other_id, other_platform, other_handle, other_person in session.exec(stmt):
            for source_id, hint, platform, token, person_id in wanted.get(other_handle.lower(), []):
                if other_id == source_id or other_platform == platform:
                    continue
                if hint is not None and hint != other_platform:
                    continue
                if person_id is not None and person_id == other_person:
                    continue
                if other_id is not None:
                    out.append((source_id, other_id, token, platform))
    return out


def suggest_links(session: Session, *, author_id: int | None = None, limit: int = 50) -> list[LinkSuggestion]:
    """Accounts that are probably the same person: one's bio names the other's handle elsewhere.

    With `author_id`, only suggestions involving that account (its bio, and bios that
    name it); without, a scan over every bio that could name an account, in id order,
    stopping at `limit`. Pairs already linked or dismissed are left out.
    """
    dismissed = {
        (a, b)
        for a, b in session.exec(select(col(IdentityDismissal.author_a), col(IdentityDismissal.author_b)))
    }
    results: dict[tuple[int, int], LinkSuggestion] = {}

    def add(rows: list[tuple[int, int, str, str]]) -> None:
        for source_id, other_id, token, platform in rows:
            pair = (min(source_id, other_id), max(source_id, other_id))
            if pair in dismissed or pair in results:
                continue
            results[pair] = LinkSuggestion(
                author_id=source_id,
                other_id=other_id,
                token=token,
                reason=f"the {platform} profile's bio names {token!r}",
            )

    bio_hint = or_(
        col(Author.bio).like("%@%"),
        col(Author.bio).like("%/%"),
        func.lower(col(Author.bio)).like("%.bsky.social%"),
    )
    columns = (col(Author.id), col(Author.platform), col(Author.person_id), col(Author.bio))
    if author_id is not None:
        me = session.get(Author, author_id)
        if me is None:
            return []
        own = [(author_id, me.platform, me.person_id, me.bio)] if me.bio else []
        add(_candidates(session, own))
        # Bios elsewhere that name this account.
        pattern = f"%{_like_literal(me.handle.lower())}%"
        stmt = select(*columns).where(
            func.lower(col(Author.bio)).like(pattern, escape="\\"), col(Author.id) != author_id
        )
        rows = [(i, p, pid, b) for i, p, pid, b in session.exec(stmt) if b and i is not None]
        add([r for r in _candidates(session, rows) if r[1] == author_id])
        return list(results.values())[:limit]

    after = 0
    while len(results) < limit:
        stmt = (
            select(*columns)
            .where(col(Author.id) > after, col(Author.bio).is_not(None), bio_hint)
            .order_by(col(Author.id))
            .limit(2000)
        )
        rows = [(i, p, pid, b) for i, p, pid, b in session.exec(stmt) if b and i is not None]
        if not rows:
            break
        after = rows[-1][0]
        add(_candidates(session, rows))
    return list(results.values())[:limit]


# --- ROR snapshots ----------------------------------------------------------------------------


def replace_ror_scores(session: Session, *, brand_id: int | None, rows: Sequence[Mapping[str, Any]]) -> int:
    """Replace the stored ROR of one brand (None: all brands) with `rows`, in the caller's transaction."""
    target = col(RorScore.brand_id).is_(None) if brand_id is None else col(RorScore.brand_id) == brand_id
    session.execute(delete(RorScore).where(target))
    if rows:
        table = RorScore.__table__  # type: ignore[attr-defined]
        connection = session.connection()
        for start in range(0, len(rows), 20_000):
            connection.execute(
                table.insert(), [dict(r, brand_id=brand_id) for r in rows[start : start + 20_000]]
            )
    return len(rows)


def ror_computed_at(session: Session, *, brand_id: int | None) -> datetime | None:
    target = col(RorScore.brand_id).is_(None) if brand_id is None else col(RorScore.brand_id) == brand_id
    # A refresh writes every row of a brand at once with the same time: any row tells it.
    value = session.exec(select(col(RorScore.computed_at)).where(target).limit(1)).first()
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    rank: int
    author_id: int
    person_id: int | None
    handle: str
    platform: str
    display_name: str | None
    followers: int | None
    accounts: int
    score: float
    events_term: float
    loyalty_term: float
    advocacy_term: float
    trend_term: float
    events: int
    months_active: int
    last_event_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        last = self.last_event_at
        return {
            "rank": self.rank,
            "author_id": self.author_id,
            "person_id": self.person_id,
            "handle": self.handle,
            "platform": self.platform,
            "display_name": self.display_name,
            "followers": self.followers,
            "accounts": self.accounts,
            "score": round(self.score, 4),
            "terms": {
                "events": round(self.events_term, 4),
                "loyalty": round(self.loyalty_term, 4),
                "advocacy": round(self.advocacy_term, 4),
                "sentiment_trend": round(self.trend_term, 4),
            },
            "events": self.events,
            "months_active": self.months_active,
            "last_event_at": (last if last.tzinfo else last.replace(tzinfo=UTC)).isoformat()
            if last
            else None,
        }


def ror_leaderboard(
    session: Session,
    *,
    brand_id: int | None,
    limit: int = 20,
    offset: int = 0,
    min_score: float | None = None,
) -> list[LeaderboardRow]:
    """The stored ROR, best first, with each person's representative account."""
    target = col(RorScore.brand_id).is_(None) if brand_id is None else col(RorScore.brand_id) == brand_id
    stmt = (
        select(RorScore, Author)
        .join(Author, col(Author.id) == col(RorScore.author_id))
        .where(target)
        .order_by(col(RorScore.score).desc(), col(RorScore.author_id))
        .limit(limit)
        .offset(offset)
    )
    if min_score is not None:
        stmt = stmt.where(col(RorScore.score) >= min_score)
    pairs = list(session.exec(stmt))
    persons = sorted({r.person_id for r, _ in pairs if r.person_id is not None})
    counts: dict[int, int] = {}
    if persons:
        count_stmt = (
            select(col(Author.person_id), func.count())
            .where(col(Author.person_id).in_(persons))
            .group_by(col(Author.person_id))
        )
        counts = {int(p): int(n) for p, n in session.exec(count_stmt) if p is not None}
    return [
        LeaderboardRow(
            rank=offset + i + 1,
            author_id=r.author_id,
            person_id=r.person_id,
            handle=a.handle,
            platform=a.platform,
            display_name=a.display_name,
            followers=a.followers,
            accounts=counts.get(r.person_id, 1) if r.person_id is not None else 1,
            score=r.score,
            events_term=r.events_term,
            loyalty_term=r.loyalty_term,
            advocacy_term=r.advocacy_term,
            trend_term=r.trend_term,
            events=r.events,
            months_active=r.months_active,
            last_event_at=r.last_event_at,
        )
        for i, (r, a) in enumerate(pairs)
    ]


def ror_for_authors(session: Session, *, brand_id: int | None, author_ids: Sequence[int]) -> dict[int, float]:
    """The stored ROR of each given account's person (for alert rules such as `min_ror`)."""
    if not author_ids:
        return {}
    target = col(RorScore.brand_id).is_(None) if brand_id is None else col(RorScore.brand_id) == brand_id
    authors = list(
        session.exec(select(col(Author.id), col(Author.person_id)).where(col(Author.id).in_(author_ids)))
    )
    persons = {int(p) for _, p in authors if p is not None}
    stmt = select(col(RorScore.author_id), col(RorScore.person_id), col(RorScore.score)).where(
        target,
        or_(col(RorScore.author_id).in_(list(author_ids)), col(RorScore.person_id).in_(sorted(persons))),
    )
    by_author: dict[int, float] = {}
    by_person: dict[int, float] = {}
    for a_id, p_id, score in session.exec(stmt):
        by_author[int(a_id)] = float(score)
        if p_id is not None:
            by_person[int(p_id)] = float(score)
    out: dict[int, float] = {}
    for author_id, person_id in authors:
        if author_id is None:
            continue
        if person_id is not None and person_id in by_person:
            out[author_id] = by_person[person_id]
        elif author_id in by_author:
            out[author_id] = by_author[author_id]
    return out


def advocates(session: Session, *, brand_id: int | None, min_score: float) -> list[tuple[int, int | None]]:
    """(representative author id, person id) of everyone whose stored ROR is at least `min_score`."""
    target = col(RorScore.brand_id).is_(None) if brand_id is None else col(RorScore.brand_id) == brand_id
    stmt = select(col(RorScore.author_id), col(RorScore.person_id)).where(
        target, col(RorScore.score) >= min_score
    )
    return [(a, p) for a, p in session.exec(stmt)]


# --- events logged by hand ----------------------------------------------------------------------


def _event_json(event: RelationshipEvent) -> dict[str, Any]:
    at = event.occurred_at
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return {
        "id": event.id,
        "author_id": event.author_id,
        "post_id": event.post_id,
        "kind": event.kind,
        "weight": event.weight,
        "occurred_at": at.isoformat() if at else None,
        "note": event.note,
    }


def add_logged_event(
    session: Session,
    *,
    author_id: int,
    kind: str,
    weight: float,
    occurred_at: datetime,
    actor: str,
    post_id: int | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Store an event someone logged by hand (a purchase, a meet-up, a gift...); audited.

    Unknown author or post: LookupError; a post by another account: ValueError. The kind,
    weight and date are taken as given (the insights service checks them).
    """
    if session.get(Author, author_id) is None:
        raise LookupError(f"no author with id {author_id}")
    if post_id is not None:
        post = session.get(Post, post_id)
        if post is None:
            raise LookupError(f"no post with id {post_id}")
        if post.author_id != author_id:
            raise ValueError(f"post {post_id} is not by author {author_id}")
    event = RelationshipEvent(
        author_id=author_id, post_id=post_id, kind=kind, weight=weight, occurred_at=occurred_at, note=note
    )
    session.add(event)
    session.flush()
    after = _event_json(event)
    _audit(
        session,
        actor=actor,
        action="relationship.log",
        entity="relationship_event",
        entity_id=str(event.id),
        before=None,
        after=after,
    )
    return after


def logged_events(session: Session, *, author_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The hand-logged events of these accounts, newest first."""
    if not author_ids:
        return []
    stmt = (
        select(RelationshipEvent)
        .where(col(RelationshipEvent.author_id).in_(list(author_ids)))
        .order_by(col(RelationshipEvent.occurred_at).desc(), col(RelationshipEvent.id).desc())
    )
    return [_event_json(e) for e in session.exec(stmt)]


def remove_logged_event(session: Session, *, author_id: int, event_id: int, actor: str) -> dict[str, Any]:
    """Delete a hand-logged event of this author (a mistake); audited with what it was."""
    event = session.get(RelationshipEvent, event_id)
    if event is None or event.author_id != author_id:
        raise LookupError(f"author {author_id} has no logged event {event_id}")
    before = _event_json(event)
    session.delete(event)
    _audit(
        session,
        actor=actor,
        action="relationship.unlog",
        entity="relationship_event",
        entity_id=str(event_id),
        before=before,
        after=None,
    )
    return before
