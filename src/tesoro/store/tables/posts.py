"""Post tables: authors, posts, their media and their versioned score sets.

A post is unique by (platform, external_id): collecting it again updates its metrics.
Free-form, platform-specific extras are JSON columns so a new platform never needs a
migration just to keep one more field. `Post` is also the source of truth for what a
coordinator decided about it (queue state, rights status, product): other areas read
those columns instead of keeping copies.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = [
    "Author",
    "Media",
    "Post",
    "PostAlias",
    "PostVersion",
    "QueueState",
    "RightsState",
    "Score",
    "ScoreMark",
]


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
    REVOKED = "revoked"


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
    # Deleted or suspended on the platform: stored once per post (external_id "gone:<post id>"), never
    # linked to a person nor suggested as one.
    gone: bool = False
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    first_seen_at: datetime | None = timestamp()
    updated_at: datetime | None = timestamp()


class Post(SQLModel, table=True):
    """A collected post. Unique by (platform, external_id): collecting it again updates its metrics."""

    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_post_platform_external"),
        Index("ix_post_state_created", "queue_state", "created_at"),
        # The curator's queue: new posts by treasure score.
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
    created_at: datetime = timestamp(nullable=False, index=True)
    collected_at: datetime | None = timestamp()
    # Indexed: the library's in-memory index picks up changed posts by it.
    updated_at: datetime | None = timestamp(index=True)
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
    # Safety flags from the platform (models.CONTENT_FLAGS): "nsfw", "sensitive", "spoiler".
    content_flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    content_hash: str | None = Field(default=None, index=True)
    queue_state: str = Field(default=QueueState.NEW.value, max_length=16)
    rights_status: str = Field(default=RightsState.NONE.value, max_length=16, index=True)
    treasure_score: float | None = Field(default=None, index=True)
    # The content's version (1 until a decided post changes; see `PostVersion`).
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    # While a change waits for review: the approved version the gallery keeps serving.
    held_version: int | None = None
    # The platform deleted it (the gallery drops it; the row stays for history and metrics).
    deleted_at: datetime | None = timestamp()
    # When the gallery re-check last asked the platform whether it still has this post.
    checked_at: datetime | None = timestamp()
    # The end of the granted usage rights (None: no end date); the gallery stops showing the post then.
    rights_until: datetime | None = timestamp()


class PostVersion(SQLModel, table=True):
    """One version of a decided post's content (text, title, media as collected).

    Written only when re-collection brings new text or media for a post a
    coordinator had decided: the version that was approved and the new one, so the
    gallery keeps serving what was approved and the queue shows the difference.
    """

    __tablename__ = "post_version"
    __table_args__ = (UniqueConstraint("post_id", "version", name="uq_post_version"),)
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    version: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    title: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # [{type, url, preview_url, width, height, alt_text}, ...] in stored order.
    media: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The platform id this version arrived as (an X edit has its own id).
    external_id: str | None = None
    collected_at: datetime | None = timestamp()


class PostAlias(SQLModel, table=True):
    """Another platform id of the same post: every id of an X edit chain points at its one post."""

    __tablename__ = "post_alias"
    platform: str = Field(primary_key=True)
    external_id: str = Field(primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)


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
    # The multilingual USE embedding (512 float32), kept when a head read it; None otherwise.
    embedding_use: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    scored_at: datetime | None = timestamp()


class ScoreMark(SQLModel, table=True):
    """How far the posts are known to be scored for one model version (`store.scores`).

    Every post whose id is below `below_id` has a score set for `model_version`, so the search for
    unscored posts starts there instead of at the first post. `candidate_id` (one past the newest post
    when every post was scored, at `candidate_at`) becomes the mark once it is old enough that a
    collection which took an id below it before then has committed. Dropping a post's score (an edit)
    moves both down to that post.
    """

    __tablename__ = "score_mark"
    model_version: str = Field(primary_key=True)
    below_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    candidate_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    candidate_at: datetime | None = timestamp(nullable=True)
