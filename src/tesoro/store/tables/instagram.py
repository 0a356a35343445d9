"""Instagram's hashtag ledger: which hashtags each Instagram account searched, and when.

Meta lets one Instagram professional account query at most 30 unique hashtags in a rolling 7
days; a hashtag counts from its first query for 7 days, and querying it again inside that window
costs nothing (and does not restart it). One row per (account, hashtag): `searched_at` is the
start of its current window, `hashtag_id` the id `ig_hashtag_search` gave (static and global, so
a hashtag in its window is never searched again).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["InstagramHashtagSearch"]


class InstagramHashtagSearch(SQLModel, table=True):
    __tablename__ = "instagram_hashtag_search"
    __table_args__ = (
        UniqueConstraint("account_id", "hashtag", name="uq_instagram_hashtag_search_account_hashtag"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64)
    hashtag: str = Field(max_length=100)
    hashtag_id: str | None = Field(default=None, max_length=64)
    searched_at: datetime = timestamp(nullable=False, index=True)
