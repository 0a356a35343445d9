"""Repository functions of the learned models: training examples, item features, saved models.

A ranker is per brand (`brand_key` = the brand's id, 0 for posts of no brand)
because what one brand's coordinator approves says little about another's.
Examples are the coordinator's *latest* standing decision on each post: undone
decisions and notes or tags without a state change teach nothing.

The learned relevance weights (`curator.relevance_model`) are per brand too; they
read the text and the latest score set of decided posts (with the notes and tags
that may say "off-topic"), and rewrite the relevance of unreviewed posts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, and_, delete, exists, func, select
from sqlmodel import Session, col

from tesoro.store.curation import latest_scores
from tesoro.store.sql import any_of, bulk_update, dialect_insert, table_of
from tesoro.store.tables import (
    CurationDecision,
    CurationItem,
    CuratorRanker,
    CuratorRelevance,
    Post,
    PostTag,
    QueueState,
    Score,
)

__all__ = [
    "ItemFeatures",
    "RelevanceExample",
    "RelevanceInput",
    "delete_ranker",
    "delete_relevance_model",
    "item_features",
    "labelled_items",
    "load_rankers",
    "load_relevance_models",
    "mark_items_stale",
    "relevance_examples",
    "save_ranker",
    "save_relevance_model",
    "set_relevance",
    "unreviewed_for_relevance",
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
        post_id=int(row.post_id),
        brand_id=row.brand_id,
        base_score=float(row.base_score),
        components=dict(row.components or {}),
        content_mask=int(row.content_mask or 0),
        platform=row.platform,
        language=row.language,
        filtered=row.filtered,
        embedding=row.embedding,
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


def _latest_decisions() -> Any:
    """Subquery: each decision that is not undone and sets a state, numbered per post (n = 1: latest)."""
    return (
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


def labelled_items(session: Session, *, brand_key: int) -> list[tuple[ItemFeatures, int]]:
    """(features, 1 approved/featured or 0 rejected) for each post's latest standing decision."""
    latest = _latest_decisions()
    stmt = (
        select(*_FEATURE_COLUMNS, latest.c.to_state)
        .join(latest, and_(latest.c.post_id == col(CurationItem.post_id), latest.c.n == 1))
        .outerjoin(Score, col(Score.id) == col(CurationItem.score_id))
        .where(latest.c.to_state.in_(POSITIVE_STATES + NEGATIVE_STATES), *_brand_clause(brand_key))
        .order_by(col(CurationItem.post_id))
    )
    return [(_features(r), 1 if r.to_state in POSITIVE_STATES else 0) for r in session.execute(stmt)]


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
    stmt = dialect_insert(session, table_of(CuratorRanker))
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


# --------------------------------------------------------------------------- learned relevance

# `ranked_at` of an item whose inputs changed outside a scoring pass: older than any score set, so the
# next incremental `rank_posts` ranks it again.
STALE = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RelevanceInput:
    """A post with what relevance reads of its latest score set."""

    post_id: int
    brand_id: int | None
    score_id: int
    relevance: float | None
    text: str
    title: str | None
    language: str | None
    spam: float | None
    product_confidence: float | None
    embedding: bytes | None

    @property
    def scored_text(self) -> str:
        """The text the scorer reads (title and body, as `scoring.pipeline` joins them)."""
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass(frozen=True, slots=True)
class RelevanceExample:
    """A decided post: 1 approved or featured, 0 rejected, with the words that may say why."""

    post: RelevanceInput
    label: int
    notes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def _relevance_inputs(session: Session, post_ids: Sequence[int]) -> dict[int, RelevanceInput]:
    """The latest score set (most recently scored, any model version) of each post that has one."""
    if not post_ids:
        return {}
    latest = latest_scores(session, post_ids)
    stmt: Any = (
        select(
            col(Post.id).label("post_id"),
            col(Post.brand_id),
            col(Score.id).label("score_id"),
            col(Score.relevance),
            col(Post.text),
            col(Post.title),
            col(Score.language),
            col(Score.spam),
            col(Score.product_confidence),
            col(Score.embedding),
        )
        .join(Score, col(Score.post_id) == col(Post.id))
        .join(latest, and_(latest.c.score_id == col(Score.id), latest.c.n == 1))
    )
    return {
        int(r.post_id): RelevanceInput(
            post_id=int(r.post_id),
            brand_id=r.brand_id,
            score_id=int(r.score_id),
            relevance=r.relevance,
            text=r.text,
            title=r.title,
            language=r.language,
            spam=r.spam,
            product_confidence=r.product_confidence,
            embedding=r.embedding,
        )
        for r in session.execute(stmt)
    }


def relevance_examples(session: Session, *, brand_id: int) -> list[RelevanceExample]:
    """The brand's scored posts whose latest standing decision approved, featured or rejected them.

    Notes come from every decision on the post that is not undone (a note may be added
    after the rejection); tags are the post's current tags.
    """
    latest = _latest_decisions()
    stmt = (
        select(latest.c.post_id, latest.c.to_state)
        .join(Post, col(Post.id) == latest.c.post_id)
        .where(
            latest.c.n == 1,
            latest.c.to_state.in_(POSITIVE_STATES + NEGATIVE_STATES),
            col(Post.brand_id) == brand_id,
        )
        .order_by(latest.c.post_id)
    )
    states = {int(pid): state for pid, state in session.execute(stmt)}
    ids = list(states)
    inputs: dict[int, RelevanceInput] = {}
    notes: dict[int, list[str]] = {}
    tags: dict[int, list[str]] = {}
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        inputs.update(_relevance_inputs(session, chunk))
        for pid, note in session.execute(
            select(col(CurationDecision.post_id), col(CurationDecision.note))
            .where(
                any_of(session, col(CurationDecision.post_id), chunk, element=Integer()),
                col(CurationDecision.undone).is_(False),
                col(CurationDecision.note).is_not(None),
            )
            .order_by(col(CurationDecision.id))
        ):
            notes.setdefault(int(pid), []).append(note)
        for pid, tag in session.execute(
            select(col(PostTag.post_id), col(PostTag.tag))
            .where(any_of(session, col(PostTag.post_id), chunk, element=Integer()))
            .order_by(col(PostTag.tag))
        ):
            tags.setdefault(int(pid), []).append(tag)
    return [
        RelevanceExample(
            inputs[pid],
            1 if states[pid] in POSITIVE_STATES else 0,
            tuple(notes.get(pid, ())),
            tuple(tags.get(pid, ())),
        )
        for pid in ids
        if pid in inputs
    ]


def unreviewed_for_relevance(
    session: Session,
    *,
    brand_key: int,
    after_id: int = 0,
    limit: int = 2000,
    scored_since: datetime | None = None,
) -> tuple[int | None, list[RelevanceInput]]:
    """A page of scored posts still waiting for a decision (`new`: the queue or the filtered view).

    `brand_key` is a brand's id, or 0 for posts of no brand. With `scored_since`, only
    posts with a score set at least that recent. Returns (the last post id of the page,
    or None when there are no more, the posts with their latest score sets), in id order.
    """
    brand = col(Post.brand_id).is_(None) if brand_key == 0 else col(Post.brand_id) == brand_key
    scored = exists().where(col(Score.post_id) == col(Post.id))
    if scored_since is not None:
        scored = exists().where(col(Score.post_id) == col(Post.id), col(Score.scored_at) >= scored_since)
    ids = [
        int(pid)
        for pid in session.execute(
            select(col(Post.id))
            .where(col(Post.id) > after_id, col(Post.queue_state) == QueueState.NEW.value, brand, scored)
            .order_by(col(Post.id))
            .limit(limit)
        ).scalars()
    ]
    if not ids:
        return None, []
    inputs = _relevance_inputs(session, ids)
    return ids[-1], [inputs[pid] for pid in ids if pid in inputs]


def set_relevance(session: Session, rows: Sequence[tuple[int, float]]) -> int:
    """Rewrite the relevance of score sets: (score id, relevance) per row."""
    bulk_update(
        session,
        table_name="score",
        key="id",
        columns={"relevance": "float"},
        rows=[{"id": i, "relevance": r} for i, r in rows],
    )
    return len(rows)


def mark_items_stale(session: Session, *, post_ids: Sequence[int]) -> None:
    """Make the next incremental `rank_posts` rank these posts again (their relevance changed)."""
    rows = [{"post_id": p, "ranked_at": STALE} for p in post_ids]
    bulk_update(session, table_name="curation_item", key="post_id", columns={"ranked_at": "ts"}, rows=rows)


def load_relevance_models(session: Session) -> dict[int, CuratorRelevance]:
    """Every brand's stored learned relevance weights, by brand id."""
    return {r.brand_id: r for r in session.execute(select(CuratorRelevance)).scalars()}


def save_relevance_model(
    session: Session,
    *,
    brand_id: int,
    weights: dict[str, float],
    decisions: int,
    approvals: int,
    rejections: int,
    off_topic: int,
    fingerprint: str,
    metrics: dict[str, Any],
    now: datetime,
) -> None:
    row = {
        "brand_id": brand_id,
        "weights": weights,
        "decisions": decisions,
        "approvals": approvals,
        "rejections": rejections,
        "off_topic": off_topic,
        "fingerprint": fingerprint,
        "metrics": metrics,
        "trained_at": now,
    }
    stmt = dialect_insert(session, table_of(CuratorRelevance))
    stmt = stmt.on_conflict_do_update(
        index_elements=["brand_id"], set_={k: getattr(stmt.excluded, k) for k in row if k != "brand_id"}
    )
    session.connection().execute(stmt, [row])


def delete_relevance_model(session: Session, *, brand_id: int) -> None:
    """Forget a brand's learned weights: its relevance goes back to the hand-set defaults."""
    session.execute(delete(CuratorRelevance).where(col(CuratorRelevance.brand_id) == brand_id))
