"""Access tokens a platform renewed for an account, kept so a restarted process starts from them.

TikTok API for Business answers a token renewal with a new access token and, it may be, a new refresh
token that replaces the configured one. The configured secrets live in the environment, which Tesoro
never writes, so the newest pair is kept here, one row per (platform, account). `origin` is a SHA-256
of the configured secrets the pair descends from: when the operator configures new ones (the brand
authorised the app again), the row no longer matches and the configured secrets win.

The values are stored as given (they must be sent back to the platform): whoever can read the
database can read them, as they can read the environment of the process.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["PlatformToken"]


class PlatformToken(SQLModel, table=True):
    __tablename__ = "platform_token"
    __table_args__ = (UniqueConstraint("platform", "account_id", name="uq_platform_token_platform_account"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    account_id: str = Field(max_length=64)
    origin: str = Field(max_length=64)
    access_token: str = Field(sa_column=Column(Text, nullable=False))
    refresh_token: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    expires_at: datetime | None = timestamp(nullable=True)
    renewed_at: datetime = timestamp(nullable=False)
