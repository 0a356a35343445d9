"""Tables of the HTTP API: API keys and web-login sessions.

Neither table holds a usable secret: a key or session token is stored only as
its SHA-256, so a copy of the database (a backup, a replica) cannot be used to
call the API. Keys are revoked, never deleted, so the audit log's actors stay
resolvable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

__all__ = ["ApiKey", "ApiSession"]


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


class ApiKey(SQLModel, table=True):
    """An API key: a public `key_id` (shown in lists and logs) and the hash of its secret part."""

    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(index=True, unique=True, max_length=32)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16, index=True)
    secret_hash: str = Field(max_length=64)
    created_by: str | None = Field(default=None, max_length=200)
    created_at: datetime | None = _ts()
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


class ApiSession(SQLModel, table=True):
    """A web login made with a key; ends when it expires, on logout, or when its key is revoked."""

    __tablename__ = "api_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    api_key_id: int = Field(foreign_key="api_key.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime | None = _ts()
    expires_at: datetime | None = _ts(index=True)
    ended_at: datetime | None = _ts()
