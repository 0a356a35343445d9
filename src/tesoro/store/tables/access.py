"""Access tables: API keys, web-login sessions and the audit log of who changed what.

Neither table holds a usable secret: a key or session token is stored only as
its SHA-256, so a copy of the database (a backup, a replica) cannot be used to
call the API. Keys are revoked, never deleted, so the audit log's actors stay
resolvable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["ApiKey", "ApiSession", "AuditLog"]


class ApiKey(SQLModel, table=True):
    """An API key: a public `key_id` (shown in lists and logs) and the hash of its secret part."""

    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(index=True, unique=True, max_length=32)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16, index=True)
    secret_hash: str = Field(max_length=64)
    created_by: str | None = Field(default=None, max_length=200)
    created_at: datetime | None = timestamp()
    last_used_at: datetime | None = timestamp()
    revoked_at: datetime | None = timestamp()


class ApiSession(SQLModel, table=True):
    """A web login made with a key; ends when it expires, on logout, or when its key is revoked."""

    __tablename__ = "api_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    api_key_id: int = Field(foreign_key="api_key.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime | None = timestamp()
    expires_at: datetime | None = timestamp(index=True)
    ended_at: datetime | None = timestamp()


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    actor: str
    action: str = Field(index=True)
    entity: str
    entity_id: str
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    at: datetime | None = timestamp(index=True)
