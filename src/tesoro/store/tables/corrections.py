"""Corrections: a coordinator's labels for a post's sentiment, product or content type, and what they teach.

`PostCorrection` holds the current label for one post and one field (a later
correction of the same field replaces it; the audit log keeps every change).
`model_value` is what the scorer said when the coordinator corrected it, so the
accuracy of the unaided model on corrected posts can always be told.
`CorrectionModel` is a brand's learned calibration for one head
(`tesoro.scoring.corrections`), stored as JSON with the labels it was fitted on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["CorrectionModel", "PostCorrection"]


class PostCorrection(SQLModel, table=True):
    """A coordinator's label for one field of one post: it wins over the scorer's value."""

    __tablename__ = "post_correction"
    __table_args__ = (UniqueConstraint("post_id", "field", name="uq_post_correction_field"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(
        sa_column=Column(Integer, ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    brand_id: int | None = Field(default=None, index=True)
    # "sentiment" (a label), "product" (a product id or null: no product), "content_type" (a list of types).
    field: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    model_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    actor: str = Field(max_length=200)
    corrected_at: datetime | None = timestamp(index=True)


class CorrectionModel(SQLModel, table=True):
    """A brand's calibration of one head, learned from its corrections (`scoring.corrections`)."""

    __tablename__ = "correction_model"

    brand_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    head: str = Field(sa_column=Column(String(16), primary_key=True))
    model: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    labels: int = 0
    fingerprint: str = Field(default="", max_length=64)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    trained_at: datetime | None = timestamp()
