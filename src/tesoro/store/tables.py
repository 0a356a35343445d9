"""SQLModel tables for Tesoro's whole domain.

One table per entity; the columns the repository filters or sorts on are indexed.
Free-form, platform-specific extras are JSON columns so a new platform never needs
a migration just to keep one more field. Timestamps are stored in UTC.

Alembic owns the schema (`tesoro db upgrade`); these classes are the source that
migrations are generated from, not a `create_all` at start-up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "Alert",
    "AuditLog",
    "Author",
    "Brand",
    "CurationDecision",
    "ListeningQuery",
    "Media",
    "Person",
    "Post",
    "PostTag",
    "Product",
    "QueueState",
    "RelationshipEvent",
    "RightsState",
    "Score",
    "Source",
    "SourceHealth",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


class QueueState(StrEnum):
    NEW = "new"
    APPROVED = "approved"
    REJECTED = "rejected"
    FEATURED = "featured"
    ARCHIVED = "archived"


class RightsState(StrEnum):
    NONE = "none"
    REQUESTED = "requested"
    GRANTED = "granted"
    DECLINED = "declined"
    EXPIRED = "expired"


class SourceHealth(StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"


class Brand(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    handles: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    hashtags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    competitors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Product(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    name: str = Field(index=True, unique=True)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    line: str | None = Field(default=None, index=True)
    url: str | None = None


class ListeningQuery(SQLModel, table=True):
    __tablename__ = "listening_query"
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    name: str = Field(index=True, unique=True)
    query: str = Field(sa_column=Column(Text, nullable=False))


class Source(SQLModel, table=True):
    """A collection source with its cursor and health; the cursor is the adapter's opaque JSON."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    platform: str = Field(index=True)
    query_id: int | None = Field(default=None, foreign_key="listening_query.id")
    interval_s: int = 900
    enabled: bool = True
    cursor: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    health: str = Field(default=SourceHealth.UNKNOWN.value, max_length=16)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_run_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    next_allowed_at: datetime | None = _ts()
    consecutive_failures: int = 0
    posts_collected: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class Person(SQLModel, table=True):
    """One human behind one or more linked accounts; ROR is computed per person."""

    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = None
    created_at: datetime | None = _ts()


class Author(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_author_platform_external"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(index=True)
    external_id: str
    handle: str = Field(index=True)
    display_name: str | None = None
    followers: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    following: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    verified: bool = False
    profile_url: str | None = None
    avatar_url: str | None = None
    bio: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    first_seen_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class Post(SQLModel, table=True):
    """A collected post. Unique by (platform, external_id): collecting it again updates its metrics."""

    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_post_platform_external"),
        Index("ix_post_state_created", "queue_state", "created_at"),
        # The curator's queue: new posts by treasure score (curator_0002).
        Index("ix_post_state_treasure", "queue_state", "treasure_score"),
    )
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(index=True)
    external_id: str
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    author_id: int = Field(foreign_key="author.id", index=True)
    brand_id: int | None = Field(default=None, foreign_key="brand.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="product.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    title: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    lang: str | None = Field(default=None, index=True)
    url: str | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    collected_at: datetime | None = _ts()
    # Indexed (curator_0002): the library's in-memory index picks up changed posts by it.
    updated_at: datetime | None = _ts(index=True)
    likes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    reposts: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    replies: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    quotes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    views: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    reply_to_id: str | None = None
    quote_of_id: str | None = None
    conversation_id: str | None = None
    hashtags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mentions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    content_hash: str | None = Field(default=None, index=True)
    queue_state: str = Field(default=QueueState.NEW.value, max_length=16)
    rights_status: str = Field(default=RightsState.NONE.value, max_length=16, index=True)
    treasure_score: float | None = Field(default=None, index=True)


class Media(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("post_id", "url", name="uq_media_post_url"),)
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    type: str
    url: str
    preview_url: str | None = None
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    size_bytes: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    alt_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Score(SQLModel, table=True):
    """One versioned set of scores for a post; re-scoring adds a row with the new version."""

    __table_args__ = (UniqueConstraint("post_id", "model_version", name="uq_score_post_version"),)
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    model_version: str = Field(index=True)
    sentiment: str | None = Field(default=None, index=True)
    sentiment_probs: dict[str, float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    relevance: float | None = None
    product_id: int | None = Field(default=None, foreign_key="product.id")
    product_confidence: float | None = None
    content_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str | None = None
    safety: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    spam: float | None = None
    engagement_rate: float | None = None
    engagement_vs_median: float | None = None
    embedding: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    scored_at: datetime | None = _ts()


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
    decided_at: datetime | None = _ts(index=True)
    undone: bool = False


class RelationshipEvent(SQLModel, table=True):
    __tablename__ = "relationship_event"
    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="author.id", index=True)
    post_id: int | None = Field(default=None, foreign_key="post.id")
    kind: str = Field(index=True)
    weight: float = 1.0
    reach: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    occurred_at: datetime | None = _ts(index=True)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # why, when logged by hand


class Alert(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(index=True)
    subject: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime | None = _ts(index=True)
    next_attempt_at: datetime | None = _ts()
    delivered_at: datetime | None = _ts()


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    actor: str
    action: str = Field(index=True)
    entity: str
    entity_id: str
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    at: datetime | None = _ts(index=True)
