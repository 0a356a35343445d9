"""Repository functions of the learned rankers: training examples, item features, saved models.

A ranker is per brand (`brand_key` = the brand's id, 0 for posts of no brand)
because what one brand's coordinator approves says little about another's.
Examples are the coordinator's *latest* standing decision on each post: undone
decisions and notes or tags without a state change teach nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlmodel import Session, col

from tesoro.store.posts import _insert, _table
from tesoro.store.tables import CurationDecision, Score
from tesoro.store.tables_curator import CurationItem, CuratorRanker

__all__ = [
    "ItemFeatures",
    "delete_ranker",
    "item_features",
    "labelled_items",
    "load_rankers",
    "save_ranker",
]

POSITIVE_STATES = ("approved", "featured")
NEGATIVE_STATES = ("rejected",)


@dataclass(frozen=True, slots=True)
class ItemFeatures:
    """What a ranker reads of one ranked post."""

    post_id: int
    brand_id: int | None
    base_score: float
    components: dict[str, Any]
    content_mask: int
    platform: str
    language: str | None
    filtered: str | None
    embedding: bytes | None


_FEATURE_COLUMNS = (
    col(CurationItem.post_id),
    col(CurationItem.brand_id),
    col(CurationItem.base_score),
    col(CurationItem.components),
    col(CurationItem.content_mask),
    col(CurationItem.platform),
    col(CurationItem.language),
    col(CurationItem.filtered),
    col(Score.embedding),
)


def _features(row: Any) -> ItemFeatures:
    return ItemFeatures(
        post_id=int(row[0]),
        brand_id=row[1],
        base_score=float(row[2]),
        components=dict(row[3] or {}),
        content_mask=int(row[4] or 0),
        platform=row[5],
        language=row[6],
        filtered=row[7],
        embedding=row[8],
    )


def _brand_clause(brand_key: int | None) -> list[Any]:
    if brand_key is None:
        return []
    if brand_key == 0:
        return [col(CurationItem.brand_id).is_(None)]
    return [col(CurationItem.brand_id) == brand_key]


def item_features(
    session: Session, *, brand_key: int | None = None, batch: int = 5000
) -> Iterator[list[ItemFeatures]]:
    """Every ranked item (of one brand, or all), in batches by post id (keyset pagination)."""
    after = 0
    while True:
        stmt = (
            select(*_FEATURE_COLUMNS)
            .outerjoin(Score, col(Score.id) == col(CurationItem.score_id))
            .where(col(CurationItem.post_id) > after, *_brand_clause(brand_key))
            .order_by(col(CurationItem.post_id))
            .limit(batch)
        )
        rows = [_features(r) for r in session.execute(stmt)]
        if not rows:
            return
        yield rows
        after = rows[-1].post_id


def labelled_items(session: Session, *, brand_key: int) -> list[tuple[ItemFeatures, int]]:
    """(features, 1 approved/featured or 0 rejected) for each post's latest standing decision."""
    latest = (
        select(
            col(CurationDecision.post_id).label("post_id"),
            col(CurationDecision.to_state).label("to_state"),
            func.row_number()
            .over(
                partition_by=col(CurationDecision.post_id),
                order_by=(col(CurationDecision.decided_at).desc(), col(CurationDecision.id).desc()),
            )
            .label("n"),
        )
        .where(col(CurationDecision.undone).is_(False), col(CurationDecision.to_state).is_not(None))
        .subquery()
    )
    stmt = (
        select(*_FEATURE_COLUMNS, latest.c.to_state)
        .join(latest, and_(latest.c.post_id == col(CurationItem.post_id), latest.c.n == 1))
        .outerjoin(Score, col(Score.id) == col(CurationItem.score_id))
        .where(latest.c.to_state.in_(POSITIVE_STATES + NEGATIVE_STATES), *_brand_clause(brand_key))
        .order_by(col(CurationItem.post_id))
    )
    return [(_features(r[:9]), 1 if r[9] in POSITIVE_STATES else 0) for r in session.execute(stmt)]


def load_rankers(session: Session) -> dict[int, CuratorRanker]:
    return {r.brand_key: r for r in session.execute(select(CuratorRanker)).scalars()}


def save_ranker(
    session: Session,
    *,
    brand_key: int,
    model: dict[str, Any],
    decisions: int,
    positives: int,
    metrics: dict[str, Any],
    now: datetime,
) -> None:
    row = {
        "brand_key": brand_key,
        "model": model,
        "decisions": decisions,
        "positives": positives,
        "metrics": metrics,
        "trained_at": now,
    }
    stmt = _insert(session, _table(CuratorRanker))
    stmt = stmt.on_conflict_do_update(
        index_elements=["brand_key"],
        set_={
            k: getattr(stmt.excluded, k) for k in ("model", "decisions", "positives", "metrics", "trained_at")
        },
    )
    session.connection().execute(stmt, [row])


def delete_ranker(session: Session, *, brand_key: int) -> None:
    """Forget a brand's ranker (its decisions were undone below the minimum)."""
    session.execute(delete(CuratorRanker).where(col(CuratorRanker.brand_key) == brand_key))
