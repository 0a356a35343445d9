"""Curation tables: decisions and tags, ranked items, duplicate bands, undo records, learned rankers.

`Post` stays the source of truth for what a coordinator decides (queue state,
rights status, assigned product, tags): other parts of Tesoro read and write those
columns. `CurationItem` holds only what the curator *derives* from a post and its
latest score set (the treasure score and its explanation, the filter reason, the
duplicate group, the search document), so it can always be recomputed by
`tesoro curate rank --all` and never disagrees with a decision made elsewhere.

Full-text search lives beside `curation_item.doc` and is created by the migration
per backend, so it has no class here: an FTS5 table `curation_fts` kept in sync by
triggers on SQLite, a generated `search_vector tsvector` column with a GIN index on
PostgreSQL (Alembic's autogenerate would propose dropping that column: keep it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Text,
)
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = [
    "CurationBand",
    "CurationChange",
    "CurationDecision",
    "CurationItem",
    "CuratorRanker",
    "CuratorRelevance",
    "PostTag",
]


class PostTag(SQLModel, table=True):
    __tablename__ = "post_tag"
    post_id: int = Field(foreign_key="post.id", primary_key=True)
    tag: str = Field(primary_key=True, index=True)


class CurationDecision(SQLModel, table=True):
    """Every coordinator action on a post, in order; the feedback ranker learns from these."""

    __tablename__ = "curation_decision"
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    action: str
    from_state: str | None = None
    to_state: str | None = None
    product_id: int | None = Field(default=None, foreign_key="product.id")
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    actor: str
    decided_at: datetime | None = timestamp(index=True)
    undone: bool = False


class CurationItem(SQLModel, table=True):
    """What the curator derived for one post; one row per ranked post.

    `post_id` is an INTEGER PRIMARY KEY, i.e. SQLite's rowid, which the FTS5 index
    uses as its key. `platform`, `brand_id` and `created_at` are copied from the
    post (they never change after ingestion) so filters and the in-memory index need
    no join for them.
    """

    __tablename__ = "curation_item"
    __table_args__ = (Index("ix_curation_item_brand_score", "brand_id", "score"),)

    post_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("post.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    brand_id: int | None = Field(default=None)
    platform: str = Field(max_length=16)
    created_at: datetime = timestamp(nullable=False)
    language: str | None = Field(default=None, max_length=16)
    sentiment: str | None = Field(default=None, max_length=16)
    # The product the scorer matched; a product the coordinator assigned (post.product_id) wins.
    product_id: int | None = Field(default=None)
    content_mask: int = Field(default=0, description="bit i set: CONTENT_TYPES[i] applies")
    content_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False, index=True))
    base_score: float = Field(sa_column=Column(Float, nullable=False))
    learned: float | None = Field(default=None, description="the brand ranker's approval probability")
    components: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    filtered: str | None = Field(default=None, max_length=200)
    duplicate_of: int | None = Field(default=None, index=True)
    skeleton: str | None = Field(default=None, max_length=40, index=True)
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    score_id: int | None = Field(default=None)
    doc: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    ranked_at: datetime | None = timestamp()
    updated_at: datetime | None = timestamp(index=True)


class CurationBand(SQLModel, table=True):
    """One locality-sensitive-hashing band of a post's MinHash signature (see `curator.dedupe`)."""

    __tablename__ = "curation_band"
    __table_args__ = (PrimaryKeyConstraint("key", "post_id", name="pk_curation_band"),)

    key: int = Field(sa_column=Column(BigInteger, nullable=False))
    post_id: int = Field(
        sa_column=Column(Integer, ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    )


class CurationChange(SQLModel, table=True):
    """How to undo one `CurationDecision`: the post's reviewable fields before and after it.

    Decisions made together (a bulk action) share a `batch_id`, so "undo" reverts the
    whole batch a coordinator last made, not one post of it.
    """

    __tablename__ = "curation_change"

    decision_id: int = Field(
        sa_column=Column(Integer, ForeignKey("curation_decision.id"), primary_key=True, autoincrement=False)
    )
    batch_id: str = Field(max_length=40, index=True)
    actor: str = Field(index=True)
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CuratorRanker(SQLModel, table=True):
    """A brand's learned ranker (`curator.feedback`): its weights as JSON and how it was trained.

    `brand_key` is the brand's id, or 0 for posts that belong to no brand.
    """

    __tablename__ = "curator_ranker"

    brand_key: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    model: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decisions: int = 0
    positives: int = 0
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    trained_at: datetime | None = timestamp()


class CuratorRelevance(SQLModel, table=True):
    """A brand's learned relevance weights (`curator.relevance_model`) and what taught them.

    No row: the brand's relevance uses the hand-set default weights. `fingerprint`
    identifies the decisions, score sets and brand profile the weights were fitted
    on, so retraining is skipped while none of them changed.
    """

    __tablename__ = "curator_relevance"

    brand_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    weights: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decisions: int = 0
    approvals: int = 0
    rejections: int = 0
    off_topic: int = 0
    fingerprint: str = Field(default="", max_length=64)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    trained_at: datetime | None = timestamp()
