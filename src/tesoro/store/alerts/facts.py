"""What the rules look at: candidate posts as `PostFacts`, failing sources, stored ROR.

Reads return plain frozen records with exactly what a rule or a message needs, in
two queries per batch, never one per post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, and_, exists, or_, select
from sqlalchemy import column as sql_column
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import table as sql_table
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col
from sqlmodel import select as model_select

from tesoro.store.sql import table_of
from tesoro.store.tables import (
    AlertMark,
    Author,
    ListeningQuery,
    Post,
    Score,
    Source,
    SourceHealth,
    UtcDateTime,
)

__all__ = [
    "PostFacts",
    "facts_of",
    "failing_sources",
    "listening_query",
    "mention_candidates",
    "negative_candidates",
    "posts_select",
    "rights_candidates",
    "scoped",
    "stored_ror",
    "treasure_candidates",
]

# Ids per statement (parameter lists stay under the backends' limits).
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class PostFacts:
    """One post with its author and latest scores: what a rule tests and a message shows."""

    id: int
    platform: str
    external_id: str
    text: str
    title: str | None
    url: str | None
    lang: str | None
    created_at: datetime
    collected_at: datetime | None
    likes: int
    reposts: int
    replies: int
    quotes: int
    views: int | None
    brand_id: int | None
    source_id: int | None
    treasure_score: float | None
    rights_status: str
    author_id: int
    author_handle: str
    author_name: str | None
    author_followers: int | None
    author_url: str | None
    author_verified: bool
    sentiment: str | None = None
    relevance: float | None = None
    engagement_rate: float | None = None
    engagement_vs_median: float | None = None
    score_id: int | None = None

    @property
    def interactions(self) -> int:
        return self.likes + self.reposts + self.replies + self.quotes


# Labelled as the `PostFacts` fields they fill, so `_facts` reads a row by name.
_POST_COLUMNS: tuple[Any, ...] = (
    col(Post.id),
    col(Post.platform),
    col(Post.external_id),
    col(Post.text),
    col(Post.title),
    col(Post.url),
    col(Post.lang),
    col(Post.created_at),
    col(Post.collected_at),
    col(Post.likes),
    col(Post.reposts),
    col(Post.replies),
    col(Post.quotes),
    col(Post.views),
    col(Post.brand_id),
    col(Post.source_id),
    col(Post.treasure_score),
    col(Post.rights_status),
    col(Post.author_id),
    col(Author.handle).label("author_handle"),
    col(Author.display_name).label("author_name"),
    col(Author.followers).label("author_followers"),
    col(Author.profile_url).label("author_url"),
    col(Author.verified).label("author_verified"),
)


def _latest_scores(session: Session, post_ids: Sequence[int]) -> dict[int, Score]:
    out: dict[int, Score] = {}
    for start in range(0, len(post_ids), _CHUNK):
        chunk = list(post_ids[start : start + _CHUNK])
        stmt = select(Score).where(col(Score.post_id).in_(chunk)).order_by(col(Score.id))
        for score in session.execute(stmt).scalars():
            out[score.post_id] = score  # the newest score set wins
    return out


def facts_of(session: Session, stmt: Any) -> list[PostFacts]:
    """Run a `posts_select()` statement and add each post's newest score set: the rules' records."""
    rows = session.execute(stmt).all()
    scores = _latest_scores(session, [r.id for r in rows])
    facts: list[PostFacts] = []
    for r in rows:
        score = scores.get(r.id)
        facts.append(
            PostFacts(
                id=r.id,
                platform=r.platform,
                external_id=r.external_id,
                text=r.text,
                title=r.title,
                url=r.url,
                lang=r.lang,
                created_at=r.created_at,
                collected_at=r.collected_at,
                likes=r.likes or 0,
                reposts=r.reposts or 0,
                replies=r.replies or 0,
                quotes=r.quotes or 0,
                views=r.views,
                brand_id=r.brand_id,
                source_id=r.source_id,
                treasure_score=r.treasure_score,
                rights_status=r.rights_status,
                author_id=r.author_id,
                author_handle=r.author_handle,
                author_name=r.author_name,
                author_followers=r.author_followers,
                author_url=r.author_url,
                author_verified=bool(r.author_verified),
                sentiment=score.sentiment if score else None,
                relevance=score.relevance if score else None,
                engagement_rate=score.engagement_rate if score else None,
                engagement_vs_median=score.engagement_vs_median if score else None,
                score_id=score.id if score else None,
            )
        )
    return facts


def posts_select() -> Any:
    """Posts joined to their authors, selecting what `facts_of` reads."""
    return select(*_POST_COLUMNS).join(Author, col(Author.id) == col(Post.author_id))


def scoped(stmt: Any, *, brand_id: int | None, query_id: int | None) -> Any:
    """`stmt` narrowed to a brand's posts and/or the posts collected for a listening query."""
    if brand_id is not None:
        stmt = stmt.where(col(Post.brand_id) == brand_id)
    if query_id is not None:
        sources = select(col(Source.id)).where(col(Source.query_id) == query_id)
        stmt = stmt.where(col(Post.source_id).in_(sources))
    return stmt


def mention_candidates(
    session: Session,
    *,
    collected_after: datetime,
    created_after: datetime,
    brand_id: int | None,
    after_id: int,
    limit: int,
) -> list[PostFacts]:
    """Posts first stored after `collected_after` and written after `created_after`, by id."""
    stmt = (
        scoped(posts_select(), brand_id=brand_id, query_id=None)
        .where(
            col(Post.id) > after_id,
            col(Post.collected_at) > collected_after,
            col(Post.created_at) >= created_after,
        )
        .order_by(col(Post.id))
        .limit(limit)
    )
    return facts_of(session, stmt)


def negative_candidates(
    session: Session,
    *,
    scored_after: datetime,
    created_after: datetime,
    brand_id: int | None,
    min_followers: int | None,
    after_post_id: int,
    limit: int,
) -> list[PostFacts]:
    """Recent posts whose newest score set, scored after `scored_after`, says "negative"."""
    newer = table_of(Score).alias("newer")
    latest_negative = exists().where(
        col(Score.post_id) == col(Post.id),
        col(Score.sentiment) == "negative",
        col(Score.scored_at) > scored_after,
        ~exists().where(newer.c.post_id == col(Score.post_id), newer.c.id > col(Score.id)),
    )
    stmt = scoped(posts_select(), brand_id=brand_id, query_id=None).where(
        col(Post.id) > after_post_id, col(Post.created_at) >= created_after, latest_negative
    )
    if min_followers is not None:
        stmt = stmt.where(col(Author.followers) >= min_followers)
    return facts_of(session, stmt.order_by(col(Post.id)).limit(limit))


def _unmarked(rule: str) -> Any:
    return ~exists().where(col(AlertMark.rule) == rule, col(AlertMark.post_id) == col(Post.id))


def treasure_candidates(
    session: Session,
    *,
    rule: str,
    min_score: float,
    created_after: datetime | None,
    brand_id: int | None,
    after_id: int,
    limit: int,
) -> list[PostFacts]:
    """Posts at or above `min_score` that `rule` has not handled yet."""
    stmt = scoped(posts_select(), brand_id=brand_id, query_id=None).where(
        col(Post.id) > after_id, col(Post.treasure_score) >= min_score, _unmarked(rule)
    )
    if created_after is not None:
        stmt = stmt.where(col(Post.created_at) >= created_after)
    return facts_of(session, stmt.order_by(col(Post.id)).limit(limit))


def rights_candidates(
    session: Session,
    *,
    rule: str,
    brand_id: int | None,
    after_id: int,
    limit: int,
    status: str = "granted",
    ending: tuple[datetime, datetime] | None = None,
) -> list[PostFacts]:
    """Posts whose usage rights have `status` and that `rule` has not handled yet.

    With `ending` (from, to): only those whose rights end in that window (rights about to expire).
    """
    stmt = scoped(posts_select(), brand_id=brand_id, query_id=None).where(
        col(Post.id) > after_id, col(Post.rights_status) == status, _unmarked(rule)
    )
    if ending is not None:
        stmt = stmt.where(col(Post.rights_until) > ending[0], col(Post.rights_until) <= ending[1])
    return facts_of(session, stmt.order_by(col(Post.id)).limit(limit))


def failing_sources(session: Session) -> list[Source]:
    """Enabled sources whose health is "failing" (three failed runs in a row)."""
    stmt = (
        model_select(Source)
        .where(col(Source.health) == SourceHealth.FAILING.value, col(Source.enabled).is_(True))
        .order_by(col(Source.name))
    )
    return list(session.exec(stmt))


def listening_query(session: Session, name: str) -> ListeningQuery | None:
    """A listening query by name (rules made through the API name queries the file defines)."""
    return session.exec(model_select(ListeningQuery).where(col(ListeningQuery.name) == name)).one_or_none()


def stored_ror(session: Session, author_ids: Sequence[int], brand_id: int | None) -> dict[int, float]:
    """Each author's last computed ROR, where the relationships area has stored one; else nothing.

    Reads the `ror_score` table by name (brand-specific row first, then the all-brands row;
    an author linked to a person gets the person's score) without importing that area, so
    alerts work with or without it. Any problem reading it means "ROR unknown", inside a
    savepoint so the rule's transaction survives.
    """
    ids = sorted(set(author_ids))
    if not ids or not sa_inspect(session.connection()).has_table("ror_score"):
        return {}
    ror = sql_table(
        "ror_score",
        sql_column("author_id", Integer),
        sql_column("person_id", Integer),
        sql_column("brand_id", Integer),
        sql_column("score", Float),
        sql_column("computed_at", UtcDateTime()),
    )
    linked = or_(
        ror.c.author_id == col(Author.id),
        and_(ror.c.person_id.is_not(None), ror.c.person_id == col(Author.person_id)),
    )
    brands = (
        ror.c.brand_id.is_(None)
        if brand_id is None
        else or_(ror.c.brand_id.is_(None), ror.c.brand_id == brand_id)
    )
    stmt = (
        select(col(Author.id), ror.c.brand_id, ror.c.score)
        .join(ror, linked)
        .where(col(Author.id).in_(ids), brands)
        .order_by(ror.c.computed_at)
    )
    found: dict[int, tuple[bool, float]] = {}
    try:
        with session.begin_nested():
            for author_id, row_brand, score in session.execute(stmt):
                specific = row_brand is not None
                if author_id not in found or specific or not found[author_id][0]:
                    found[author_id] = (specific, float(score))
    except SQLAlchemyError:
        return {}
    return {author_id: score for author_id, (_, score) in found.items()}
