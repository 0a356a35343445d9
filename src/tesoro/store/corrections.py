"""Corrections: a coordinator's labels for a post's sentiment, product or content type.

A correction is stored once per post and field (`post_correction`; the latest
wins) and written through to the post's score sets and its ranked item in the
same transaction, so every reader (the queue, the library, insights) sees the
corrected value at once. The scorer applies stored corrections again whenever it
re-scores a post (`tesoro.scoring.corrections.apply_overrides`), so a new model
version never brings the model's value back. What the scorer had said
(`model_value`) stays on the correction for the before/after accuracy.

The brand calibrations learned from the labels (`correction_model`) are stored
here as JSON and read by the scoring pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, delete, select, update
from sqlmodel import Session, col

from tesoro.models import content_mask
from tesoro.store.sql import any_of, dialect_insert, table_of
from tesoro.store.tables import (
    CorrectionModel,
    CurationItem,
    Post,
    PostCorrection,
    Product,
    QueueState,
    Score,
)

__all__ = [
    "FIELDS",
    "CorrectionTarget",
    "correction_counts",
    "correction_target",
    "corrections_for",
    "delete_correction_model",
    "labelled_posts",
    "list_corrections",
    "load_correction_models",
    "reviewed_posts",
    "save_correction",
    "save_correction_model",
    "unreviewed_posts",
]

FIELDS = ("sentiment", "product", "content_type")


@dataclass(frozen=True, slots=True)
class CorrectionTarget:
    """A post as a correction sees it: its brand and the scorer's latest values."""

    post_id: int
    brand_id: int | None
    sentiment: str | None
    product_id: int | None
    content_types: tuple[str, ...]
    scored: bool
    # The product ids a correction may name: the brand's products (every product for a post of no brand).
    products: frozenset[int]

    def model_value(self, field: str) -> Any:
        if field == "sentiment":
            return self.sentiment
        if field == "product":
            return self.product_id
        return list(self.content_types)


def correction_target(session: Session, *, post_id: int) -> CorrectionTarget | None:
    """The post and its latest score set's values, or None when there is no such post.

    The scorer's value is read from the latest score set as it was before any
    correction: where a correction already exists, its stored `model_value`.
    """
    post = session.execute(select(col(Post.id), col(Post.brand_id)).where(col(Post.id) == post_id)).first()
    if post is None:
        return None
    brand_id = post.brand_id
    score = session.execute(
        select(col(Score.sentiment), col(Score.product_id), col(Score.content_types))
        .where(col(Score.post_id) == post_id)
        .order_by(col(Score.scored_at).desc(), col(Score.id).desc())
        .limit(1)
    ).first()
    earlier = select(PostCorrection).where(col(PostCorrection.post_id) == post_id)
    previous = {c.field: c.model_value for c in session.execute(earlier).scalars()}
    products_stmt = select(col(Product.id))
    if brand_id is not None:
        products_stmt = products_stmt.where(col(Product.brand_id) == brand_id)
    products = frozenset(int(p) for p in session.execute(products_stmt).scalars())
    sentiment = score.sentiment if score is not None else None
    product_id = score.product_id if score is not None else None
    types = tuple(score.content_types or ()) if score is not None else ()
    if "sentiment" in previous:
        sentiment = previous["sentiment"]
    if "product" in previous:
        product_id = previous["product"]
    if "content_type" in previous:
        types = tuple(previous["content_type"] or ())
    return CorrectionTarget(
        post_id=post_id,
        brand_id=brand_id,
        sentiment=sentiment,
        product_id=product_id,
        content_types=types,
        scored=score is not None,
        products=products,
    )


def save_correction(
    session: Session,
    *,
    target: CorrectionTarget,
    field: str,
    value: Any,
    actor: str,
    now: datetime | None = None,
) -> tuple[PostCorrection, Any]:
    """Store the label (replacing an earlier one for the field) and write it through; returns (row, before).

    `before` is the value readers saw until now: the earlier correction's, else the scorer's.
    The caller validated `value` and records the audit entry in the same transaction.
    """
    if field not in FIELDS:
        raise ValueError(f"unknown correction field {field!r}")
    now = now or datetime.now(UTC)
    existing = session.execute(
        select(PostCorrection).where(
            col(PostCorrection.post_id) == target.post_id, col(PostCorrection.field) == field
        )
    ).scalar_one_or_none()
    if existing is None:
        before = target.model_value(field)
        row = PostCorrection(
            post_id=target.post_id,
            brand_id=target.brand_id,
            field=field,
            value=value,
            model_value=target.model_value(field),
            actor=actor,
            corrected_at=now,
        )
        session.add(row)
    else:
        before = existing.value
        existing.value = value
        existing.actor = actor
        existing.corrected_at = now
        existing.brand_id = target.brand_id
        row = existing
    session.flush()
    _write_through(session, post_id=target.post_id, field=field, value=value)
    return row, before


def _write_through(session: Session, *, post_id: int, field: str, value: Any) -> None:
    """The corrected value on every score set of the post and on its ranked item."""
    if field == "sentiment":
        score_values: dict[str, Any] = {"sentiment": value}
        item_values: dict[str, Any] = {"sentiment": value}
    elif field == "product":
        score_values = {"product_id": value, "product_confidence": None if value is None else 1.0}
        item_values = {"product_id": value}
    else:
        types = list(value)
        score_values = {"content_types": types}
        item_values = {"content_types": types, "content_mask": content_mask(types)}
    session.execute(update(Score).where(col(Score.post_id) == post_id).values(**score_values))
    session.execute(update(CurationItem).where(col(CurationItem.post_id) == post_id).values(**item_values))


def corrections_for(session: Session, *, post_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """{post id: {field: corrected value}} for the posts that have corrections."""
    if not post_ids:
        return {}
    stmt = select(col(PostCorrection.post_id), col(PostCorrection.field), col(PostCorrection.value)).where(
        any_of(session, col(PostCorrection.post_id), post_ids, element=Integer())
    )
    found: dict[int, dict[str, Any]] = {}
    for post_id, field, value in session.execute(stmt):
        found.setdefault(int(post_id), {})[str(field)] = value
    return found


def list_corrections(
    session: Session,
    *,
    post_id: int | None = None,
    brand_id: int | None = None,
    field: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[PostCorrection]:
    """Corrections, most recent first."""
    stmt = select(PostCorrection)
    if post_id is not None:
        stmt = stmt.where(col(PostCorrection.post_id) == post_id)
    if brand_id is not None:
        stmt = stmt.where(col(PostCorrection.brand_id) == brand_id)
    if field is not None:
        stmt = stmt.where(col(PostCorrection.field) == field)
    stmt = stmt.order_by(col(PostCorrection.corrected_at).desc(), col(PostCorrection.id).desc())
    return list(session.execute(stmt.limit(limit).offset(offset)).scalars())


def correction_counts(session: Session) -> dict[tuple[int, str], tuple[int, int]]:
    """{(brand id, field): (corrections, of which the scorer had been right)} for posts of a brand."""
    counts: dict[tuple[int, str], list[int]] = {}
    stmt = select(
        col(PostCorrection.brand_id),
        col(PostCorrection.field),
        col(PostCorrection.value),
        col(PostCorrection.model_value),
    ).where(col(PostCorrection.brand_id).is_not(None))
    for brand_id, field, value, model_value in session.execute(stmt):
        entry = counts.setdefault((int(brand_id), str(field)), [0, 0])
        entry[0] += 1
        entry[1] += int(_same(value, model_value))
    return {k: (v[0], v[1]) for k, v in counts.items()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(a) == sorted(b)
    return bool(a == b)


def labelled_posts(session: Session, *, brand_id: int, field: str) -> list[tuple[int, Any]]:
    """(post id, corrected value) of a brand's corrections of one field, oldest first."""
    stmt = (
        select(col(PostCorrection.post_id), col(PostCorrection.value))
        .where(col(PostCorrection.brand_id) == brand_id, col(PostCorrection.field) == field)
        .order_by(col(PostCorrection.corrected_at), col(PostCorrection.id))
    )
    return [(int(p), v) for p, v in session.execute(stmt)]


def load_correction_models(session: Session) -> dict[tuple[int, str], CorrectionModel]:
    """Every stored calibration, by (brand id, head)."""
    return {(m.brand_id, m.head): m for m in session.execute(select(CorrectionModel)).scalars()}


def save_correction_model(
    session: Session,
    *,
    brand_id: int,
    head: str,
    model: dict[str, Any],
    labels: int,
    fingerprint: str,
    metrics: dict[str, Any],
    now: datetime,
) -> None:
    row = {
        "brand_id": brand_id,
        "head": head,
        "model": model,
        "labels": labels,
        "fingerprint": fingerprint,
        "metrics": metrics,
        "trained_at": now,
    }
    stmt = dialect_insert(session, table_of(CorrectionModel))
    stmt = stmt.on_conflict_do_update(
        index_elements=["brand_id", "head"],
        set_={k: getattr(stmt.excluded, k) for k in row if k not in ("brand_id", "head")},
    )
    session.connection().execute(stmt, [row])


def delete_correction_model(session: Session, *, brand_id: int, head: str) -> None:
    session.execute(
        delete(CorrectionModel).where(
            col(CorrectionModel.brand_id) == brand_id, col(CorrectionModel.head) == head
        )
    )


def reviewed_posts(session: Session, *, brand_id: int, limit: int) -> list[int]:
    """The brand's most recently decided posts (approved, rejected, featured), newest first.

    A coordinator who decided a post with its sentiment, product and type on the card and
    corrected none of them let those values stand: the calibration counts them, weakly.
    """
    stmt = (
        select(col(Post.id))
        .where(
            col(Post.brand_id) == brand_id,
            col(Post.queue_state).in_([QueueState.APPROVED, QueueState.REJECTED, QueueState.FEATURED]),
        )
        .order_by(col(Post.id).desc())
        .limit(limit)
    )
    return [int(p) for p in session.execute(stmt).scalars()]


def unreviewed_posts(session: Session, *, brand_id: int, limit: int) -> list[int]:
    """The brand's newest posts still waiting in the queue (state new), newest first."""
    stmt = (
        select(col(Post.id))
        .where(col(Post.brand_id) == brand_id, col(Post.queue_state) == QueueState.NEW)
        .order_by(col(Post.id).desc())
        .limit(limit)
    )
    return [int(p) for p in session.execute(stmt).scalars()]
