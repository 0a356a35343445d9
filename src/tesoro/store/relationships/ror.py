"""ROR snapshots: the last computed Return on Relationship per person, the leaderboard, advocates.

The leaderboard and alert rules read these rows instead of recomputing a million
posts per request; a refresh replaces a brand's rows in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from tesoro.store.tables import (
    Author,
    RorScore,
)

__all__ = [
    "LeaderboardRow",
    "advocates",
    "replace_ror_scores",
    "ror_computed_at",
    "ror_for_authors",
    "ror_leaderboard",
]


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
    return session.exec(select(col(RorScore.computed_at)).where(target).limit(1)).first()


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
            "last_event_at": last.isoformat() if last else None,
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
        # A deleted or suspended account is nobody to build a relationship with.
        .where(target, col(Author.gone).is_(False))
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
