"""What the media pipeline keeps of each media item: its thumbnail, placeholder, hash, quality, failures.

One row per `media` row, written by the media job (`tesoro.media.pipeline`). The thumbnail
bytes live here, in the store, rather than in a folder under the data dir: they are small
(a 320-pixel JPEG, about 10 to 25 KB), the scaled-out mode runs RQ workers and API processes
on other machines that share the database but no disk, and a thumbnail then goes and comes
with its row (a re-collected post whose media changed drops both in one transaction).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["MediaImage", "MediaStatus"]


class MediaStatus:
    """`media_image.status`: ok (processed), retry (failed, will be tried again), failed (for good)."""

    OK = "ok"
    RETRY = "retry"
    FAILED = "failed"


class MediaImage(SQLModel, table=True):
    """One media item's preview as fetched and processed, or why it could not be."""

    __tablename__ = "media_image"
    __table_args__ = (Index("ix_media_image_status_next", "status", "next_attempt_at"),)

    media_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("media.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    post_id: int = Field(sa_column=Column(Integer, nullable=False, index=True))
    status: str = Field(max_length=8)
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp()
    error: str | None = Field(default=None, max_length=32)
    error_detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    processed_at: datetime | None = timestamp()
    width: int | None = None
    height: int | None = None
    format: str | None = Field(default=None, max_length=8)
    thumb: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    thumb_width: int | None = None
    thumb_height: int | None = None
    thumb_etag: str | None = Field(default=None, max_length=40)
    blurhash: str | None = Field(default=None, max_length=64)
    phash: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # The media id of the first stored near-copy of this image (its own id when none): posts whose
    # images share a group are near-duplicates (`tesoro.media.dedupe`).
    image_group: int | None = Field(default=None, index=True)
    sharpness: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    exposure: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    resolution: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    aspect: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    quality: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
