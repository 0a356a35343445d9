"""Repository functions for the KPIs, ROE and orders: set-based aggregates, never a row per post.

Every function takes a time window (`since` included, `until` excluded), an
optional brand and an optional platform, and answers with one or a few GROUP BY
queries. Where a statistic cannot be computed portably in SQL (a median), the
function returns the few numeric columns it needs as numpy arrays instead of
rows of objects. Orders imported from a CSV live here too: they are joined to
authors by handle (or e-mail in a bio) so purchases can be compared between
advocates and everyone else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, case, exists, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tesoro.store.scores import join_latest_score
from tesoro.store.sql import dialect_insert, epoch_seconds, json_has, numeric_matrix, table_of
from tesoro.store.tables import Author, CustomerOrder, Media, Post, Score, Source
from tesoro.store.tables.types import as_utc

__all__ = [
    "Earned",
    "OrderIn",
    "TopPost",
    "Totals",
    "brand_posts_count",
    "competitor_counts",
    "daily_sentiment",
    "earned_engagement",
    "engagement_columns",
    "insert_orders",
    "link_orders",
    "normal_customer",
    "order_columns",
    "platform_totals",
    "post_filters",
    "potential_reach",
    "sentiment_counts",
    "top_ugc",
    "totals",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_DAY = 86_400


def post_filters(
    *,
    since: datetime | None,
    until: datetime | None,
    brand_id: int | None = None,
    platform: str | None = None,
    query_id: int | None = None,
    hashtag: str | None = None,
    exclude_authors: Sequence[int] = (),
) -> list[ColumnElement[bool]]:
    """The WHERE clauses for "posts about X in this window" shared by every KPI.

    `exclude_authors` leaves out the brand's own accounts: their posts are owned
    media, not mentions, and would inflate volume, reach and sentiment.
    """
    filters: list[ColumnElement[bool]] = []
    if exclude_authors:
        filters.append(col(Post.author_id).not_in(list(exclude_authors)))
    if since is not None:
        filters.append(col(Post.created_at) >= since)
    if until is not None:
        filters.append(col(Post.created_at) < until)
    if brand_id is not None:
        filters.append(col(Post.brand_id) == brand_id)
    if platform is not None:
        filters.append(col(Post.platform) == platform)
    if query_id is not None:
        filters.append(
            col(Post.source_id).in_(sa_select(col(Source.id)).where(col(Source.query_id) == query_id))
        )
    if hashtag is not None:
        filters.append(json_has(Post.hashtags, hashtag.lstrip("#"), lower=True))
    return filters


def _interactions() -> ColumnElement[int]:
    return col(Post.likes) + col(Post.reposts) + col(Post.replies) + col(Post.quotes)


@dataclass(frozen=True, slots=True)
class Totals:
    posts: int
    authors: int
    interactions: int
    potential_reach: int


def potential_reach(session: Session, filters: Sequence[ColumnElement[bool]]) -> int:
    """The followers of the window's unique authors, added up (each author once)."""
    reach = session.execute(
        sa_select(func.coalesce(func.sum(col(Author.followers)), 0)).where(
            col(Author.id).in_(sa_select(col(Post.author_id)).where(*filters))
        )
    ).scalar_one()
    return int(reach or 0)


def totals(session: Session, filters: Sequence[ColumnElement[bool]]) -> Totals:
    """Mention volume, unique authors, interactions and potential reach (followers of unique authors)."""
    posts, authors, interactions = session.execute(
        sa_select(
            func.count(), func.count(func.distinct(col(Post.author_id))), func.sum(_interactions())
        ).where(*filters)
    ).one()
    return Totals(
        int(posts or 0), int(authors or 0), int(interactions or 0), potential_reach(session, filters)
    )


def platform_totals(
    session: Session, filters: Sequence[ColumnElement[bool]]
) -> list[tuple[str, int, int, int]]:
    """(platform, posts, unique authors, interactions) per platform, busiest first."""
    stmt = (
        sa_select(
            col(Post.platform),
            func.count().label("posts"),
            func.count(func.distinct(col(Post.author_id))).label("authors"),
            func.sum(_interactions()).label("interactions"),
        )
        .where(*filters)
        .group_by(col(Post.platform))
        .order_by(func.count().desc(), col(Post.platform))
    )
    rows = session.execute(stmt)
    return [(str(r.platform), int(r.posts), int(r.authors), int(r.interactions or 0)) for r in rows]


def _sentiment_join(stmt: Any) -> Any:
    return join_latest_score(stmt)


def sentiment_counts(session: Session, filters: Sequence[ColumnElement[bool]]) -> dict[str | None, int]:
    """Posts per sentiment label of their latest score set (None: not scored yet)."""
    stmt = _sentiment_join(sa_select(col(Score.sentiment), func.count()).select_from(Post))
    stmt = stmt.where(*filters).group_by(col(Score.sentiment))
    return {label: int(n) for label, n in session.execute(stmt)}


def daily_sentiment(
    session: Session, filters: Sequence[ColumnElement[bool]]
) -> list[tuple[int, str | None, int]]:
    """(UTC day number since 1970, sentiment, posts) per day and label; weeks and months are sums of these."""
    day = (epoch_seconds(Post.created_at) // _DAY).label("day")
    stmt = _sentiment_join(sa_select(day, col(Score.sentiment), func.count()).select_from(Post))
    stmt = stmt.where(*filters).group_by(day, col(Score.sentiment)).order_by(day)
    return [(int(d), s, int(n)) for d, s, n in session.execute(stmt)]


def competitor_counts(
    session: Session,
    *,
    names: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    platform: str | None,
) -> dict[str, int]:
    """Posts in the window (any brand's collection) whose text names each competitor, case-insensitively.

    One scan for all names. A post naming two competitors counts for both.
    """
    if not names:
        return {}
    filters = post_filters(since=since, until=until, platform=platform)
    text = func.lower(col(Post.text))
    sums = [
        func.sum(case((text.like(f"%{_like(name.lower())}%", escape="\\"), 1), else_=0)).label(f"c{i}")
        for i, name in enumerate(names)
    ]
    row = session.execute(sa_select(*sums).where(*filters)).one()
    return {name: int(row[i] or 0) for i, name in enumerate(names)}


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def engagement_columns(
    session: Session, filters: Sequence[ColumnElement[bool]], *, platforms: Sequence[str]
) -> dict[str, tuple[I64, F64, F64]]:
    """(interactions, followers, views) of each platform's posts in the window, as arrays (NaN: unknown).

    One scan for every platform: the platform comes back as its index in `platforms`.
    """
    if not platforms:
        return {}
    code = case(*((col(Post.platform) == name, i) for i, name in enumerate(platforms)), else_=-1)
    stmt = sa_select(code, _interactions(), col(Post.author_id), col(Post.views)).where(*filters)
    m = numeric_matrix(session, stmt, 4)
    # Followers by author id, joined here: a scan of the authors beats a lookup per post.
    authors = numeric_matrix(
        session, sa_select(col(Author.id), col(Author.followers)).order_by(col(Author.id)), 2
    )
    ids = authors[:, 0].astype(np.int64)
    where = np.clip(np.searchsorted(ids, m[:, 2].astype(np.int64)), 0, max(ids.shape[0] - 1, 0))
    followers = authors[where, 1] if ids.shape[0] else np.full(m.shape[0], np.nan)
    out: dict[str, tuple[I64, F64, F64]] = {}
    for i, name in enumerate(platforms):
        rows = m[:, 0] == i
        out[name] = (m[rows, 1].astype(np.int64), followers[rows], m[rows, 3])
    return out


def _is_ugc(ugc_content_types: Sequence[str]) -> ColumnElement[bool]:
    return or_(
        exists().where(col(Media.post_id) == col(Post.id)),
        *(json_has(Score.content_types, kind) for kind in ugc_content_types),
    )


@dataclass(frozen=True, slots=True)
class TopPost:
    post_id: int
    platform: str
    url: str | None
    text: str
    created_at: datetime
    author_id: int
    handle: str
    followers: int | None
    interactions: int
    treasure_score: float | None
    queue_state: str
    rights_status: str

    def as_dict(self, *, text_chars: int = 280) -> dict[str, Any]:
        return {
            "post_id": self.post_id,
            "platform": self.platform,
            "url": self.url,
            "text": self.text[:text_chars],
            "created_at": self.created_at.isoformat(),
            "author_id": self.author_id,
            "handle": self.handle,
            "followers": self.followers,
            "interactions": self.interactions,
            "treasure_score": self.treasure_score,
            "queue_state": self.queue_state,
            "rights_status": self.rights_status,
        }


def top_ugc(
    session: Session,
    filters: Sequence[ColumnElement[bool]],
    *,
    ugc_content_types: Sequence[str],
    limit: int = 10,
) -> list[TopPost]:
    """The window's best UGC: treasure score first (when the curator has scored it), then interactions."""
    interactions = _interactions().label("interactions")
    stmt = _sentiment_join(
        sa_select(
            col(Post.id),
            col(Post.platform),
            col(Post.url),
            col(Post.text),
            col(Post.created_at),
            col(Post.author_id),
            col(Author.handle),
            col(Author.followers),
            interactions,
            col(Post.treasure_score),
            col(Post.queue_state),
            col(Post.rights_status),
        )
        .select_from(Post)
        .join(Author, col(Author.id) == col(Post.author_id))
    )
    stmt = (
        stmt.where(*filters, _is_ugc(ugc_content_types), col(Post.queue_state) != "rejected")
        .order_by(
            case((col(Post.treasure_score).is_(None), 1), else_=0),
            col(Post.treasure_score).desc(),
            interactions.desc(),
            col(Post.id).desc(),
        )
        .limit(limit)
    )
    return [TopPost(*row) for row in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class Earned:
    """What a brand/query/hashtag earned in a window: the numerator of ROE."""

    posts: int
    interactions: int
    ugc: int
    reach: int


def earned_engagement(
    session: Session, filters: Sequence[ColumnElement[bool]], *, ugc_content_types: Sequence[str]
) -> Earned:
    base = totals(session, filters)
    stmt = _sentiment_join(sa_select(func.count()).select_from(Post)).where(
        *filters, _is_ugc(ugc_content_types)
    )
    ugc = int(session.execute(stmt).scalar_one() or 0)
    return Earned(posts=base.posts, interactions=base.interactions, ugc=ugc, reach=base.potential_reach)


def brand_posts_count(
    session: Session, *, author_ids: Sequence[int], since: datetime | None, until: datetime | None
) -> int:
    """Posts the brand's own accounts published in the window (the default effort in ROE)."""
    if not author_ids:
        return 0
    filters = post_filters(since=since, until=until)
    stmt = sa_select(func.count()).where(*filters, col(Post.author_id).in_(list(author_ids)))
    return int(session.execute(stmt).scalar_one() or 0)


# --- orders -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderIn:
    """One order from a CSV: `customer` is a handle (any case, with or without '@') or an e-mail."""

    customer: str
    ordered_at: datetime
    amount: float
    order_id: str | None = None
    platform: str | None = None

    def key(self) -> str:
        if self.order_id:
            return f"id:{self.order_id}"
        raw = f"{normal_customer(self.customer)}|{as_utc(self.ordered_at).isoformat()}|{self.amount:.4f}"
        return "fp:" + hashlib.sha1(raw.encode("utf-8")).hexdigest()


def normal_customer(customer: str) -> str:
    return customer.strip().lstrip("@").lower()


def insert_orders(session: Session, orders: Sequence[OrderIn]) -> int:
    """Insert orders, skipping ones already stored (same order id, or same customer+time+amount)."""
    if not orders:
        return 0
    now = datetime.now(UTC)
    rows = {
        order.key(): {
            "order_key": order.key(),
            "customer": normal_customer(order.customer),
            "platform": order.platform,
            "author_id": None,
            "ordered_at": order.ordered_at,  # the column type stores it as UTC
            "amount": float(order.amount),
            "imported_at": now,
        }
        for order in orders
    }
    before = int(session.execute(sa_select(func.count()).select_from(CustomerOrder)).scalar_one())
    stmt = dialect_insert(session, table_of(CustomerOrder))
    stmt = stmt.on_conflict_do_nothing(index_elements=["order_key"])
    session.connection().execute(stmt, list(rows.values()))
    after = int(session.execute(sa_select(func.count()).select_from(CustomerOrder)).scalar_one())
    return after - before


def link_orders(session: Session) -> int:
    """Attach unlinked orders to authors: by handle (and platform when the CSV gave one), then by
    an e-mail written in an author's bio. Returns how many orders were linked.

    Runs again on every orders import and every ROR refresh (the scheduler's hourly one
    included), so orders whose customer shows up later (a new author collected) get linked
    then; a report's GET only reads.
    """
    customers = sorted(
        {
            (c, p)
            for c, p in session.execute(
                sa_select(col(CustomerOrder.customer), col(CustomerOrder.platform)).where(
                    col(CustomerOrder.author_id).is_(None)
                )
            )
        }
    )
    if not customers:
        return 0
    names = sorted({c for c, _ in customers})
    by_handle: dict[str, list[tuple[int, str]]] = {}
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        stmt = select(col(Author.id), col(Author.platform), func.lower(col(Author.handle))).where(
            func.lower(col(Author.handle)).in_(chunk)
        )
        for author_id, platform, handle in session.exec(stmt):
            if author_id is not None:
                by_handle.setdefault(handle, []).append((author_id, platform))
    emails = [c for c in names if "@" in c and "." in c.split("@", 1)[1] and c not in by_handle]
    by_email: dict[str, int] = {}
    for start in range(0, len(emails), 50):
        chunk = emails[start : start + 50]
        bio = func.lower(col(Author.bio))
        stmt2 = select(col(Author.id), bio).where(
            or_(*(bio.like(f"%{_like(e)}%", escape="\\") for e in chunk))
        )
        for author_id, text in session.exec(stmt2):
            for email in chunk:
                if author_id is not None and text and email in text:
                    by_email[email] = min(by_email.get(email, author_id), author_id)
    linked = 0
    for customer, platform in customers:
        candidates = [a for a, p in by_handle.get(customer, []) if platform is None or p == platform]
        author_id = min(candidates) if candidates else by_email.get(customer)
        if author_id is None:
            continue
        match = [col(CustomerOrder.customer) == customer, col(CustomerOrder.author_id).is_(None)]
        match.append(
            col(CustomerOrder.platform).is_(None)
            if platform is None
            else col(CustomerOrder.platform) == platform
        )
        result = session.execute(update(CustomerOrder).where(*match).values(author_id=author_id))
        linked += int(getattr(result, "rowcount", 0) or 0)
    return linked


def order_columns(
    session: Session, *, since: datetime | None, until: datetime | None
) -> tuple[list[str], I64, I64, F64]:
    """(customer, author id (-1: unlinked), person id (-1: none), amount) of every order in the window."""
    stmt = sa_select(
        col(CustomerOrder.customer),
        func.coalesce(col(CustomerOrder.author_id), -1).label("author_id"),
        func.coalesce(col(Author.person_id), -1).label("person_id"),
        col(CustomerOrder.amount),
    ).outerjoin(Author, col(Author.id) == col(CustomerOrder.author_id))
    if since is not None:
        stmt = stmt.where(col(CustomerOrder.ordered_at) >= since)
    if until is not None:
        stmt = stmt.where(col(CustomerOrder.ordered_at) < until)
    rows = session.execute(stmt).all()
    return (
        [str(r.customer) for r in rows],
        np.array([int(r.author_id) for r in rows], dtype=np.int64),
        np.array([int(r.person_id) for r in rows], dtype=np.int64),
        np.array([float(r.amount) for r in rows], dtype=np.float64),
    )
