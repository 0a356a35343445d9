"""Kept copies: the media of rights-cleared posts that Tesoro copied into its media store.

One row per (post, source URL): the object's key in the media store (a local folder or an S3
bucket, `tesoro.media.copies`), its ETag, type, size and pixels, or why the copy failed and
when to try again. The gallery serves `/gallery/media/{id}-{etag}.jpg` from these rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["KeptCopy"]


class KeptCopy(SQLModel, table=True):
    __tablename__ = "kept_copy"
    __table_args__ = (UniqueConstraint("post_id", "url_sha", name="uq_kept_copy_post_url"),)
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    url_sha: str = Field(max_length=64)
    url: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=8)  # ok, retry, failed
    object_key: str | None = Field(default=None, max_length=300)
    etag: str | None = Field(default=None, max_length=40)
    content_type: str | None = Field(default=None, max_length=40)
    size: int | None = None
    width: int | None = None
    height: int | None = None
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_attempt_at: datetime | None = timestamp()
    kept_at: datetime | None = timestamp()
