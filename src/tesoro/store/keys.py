"""Repository functions for API keys and web-login sessions.

A key is `tso_<key_id>_<secret>`: the key id is public (it names the key in
lists, logs and the audit trail) and the 256-bit secret is shown once, at
creation, and stored only as its SHA-256. A fast hash is enough because the
secret is random, not a password: nobody can guess it, so there is nothing for
a slow hash to protect against. Lookups go by key id and the hashes are
compared in constant time.

Sessions are server-side rows so that revoking a key or logging out ends them
at once; the cookie carries only a random token (signed by the API layer). A
session that can no longer be used (expired, logged out, or of a revoked key) is
deleted: at once when its cookie is presented again (`drop_session`), and in bulk
by `purge_sessions`, which the API layer runs on login and every few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select, update

from tesoro.store.tables import ApiKey, ApiSession

__all__ = [
    "TOKEN_PREFIX",
    "CreatedKey",
    "Role",
    "create_key",
    "create_session",
    "drop_session",
    "end_session",
    "get_key",
    "hash_secret",
    "list_keys",
    "purge_sessions",
    "resolve_session",
    "revoke_key",
    "touch_key",
    "verify_key",
]

TOKEN_PREFIX = "tso"


class Role(StrEnum):
    """What a key may do; which routes each role reaches is `tesoro.api.auth.ROLE_MATRIX`."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    VIEWER = "viewer"
    GALLERY = "gallery"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: `token` is the only copy of the secret anywhere; show it once."""

    key: ApiKey
    token: str


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(
    session: Session,
    *,
    name: str,
    role: Role | str,
    created_by: str | None = None,
    now: datetime | None = None,
) -> CreatedKey:
    """Create a key with `role`; returns the row and the token, which is never stored."""
    role = Role(role)
    name = name.strip()
    if not name:
        raise ValueError("a key needs a name (who or what uses it)")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        key_id=key_id,
        name=name[:200],
        role=role.value,
        secret_hash=hash_secret(secret),
        created_by=created_by,
        created_at=_now(now),
    )
    session.add(row)
    session.flush()
    return CreatedKey(key=row, token=f"{TOKEN_PREFIX}_{key_id}_{secret}")


def _split(token: str) -> tuple[str, str] | None:
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def verify_key(session: Session, *, token: str) -> ApiKey | None:
    """The live key `token` belongs to, or None (unknown, malformed, wrong secret or revoked)."""
    parts = _split(token)
    if parts is None:
        return None
    key_id, secret = parts
    row = get_key(session, key_id=key_id)
    # Hash even when the key id is unknown, so both failures take the same time.
    candidate = hash_secret(secret)
    stored = row.secret_hash if row is not None else "0" * 64
    if not hmac.compare_digest(candidate, stored) or row is None or row.revoked_at is not None:
        return None
    return row


def get_key(session: Session, *, key_id: str) -> ApiKey | None:
    return session.exec(select(ApiKey).where(col(ApiKey.key_id) == key_id)).one_or_none()


def list_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))
    if not include_revoked:
        stmt = stmt.where(col(ApiKey.revoked_at).is_(None))
    return list(session.exec(stmt))


def revoke_key(session: Session, *, key_id: str, now: datetime | None = None) -> ApiKey | None:
    """Revoke a key and end its sessions; revoking twice keeps the first time. None if unknown."""
    row = get_key(session, key_id=key_id)
    if row is None:
        return None
    at = _now(now)
    if row.revoked_at is None:
        row.revoked_at = at
        session.add(row)
    session.execute(
        update(ApiSession)
        .where(col(ApiSession.api_key_id) == row.id, col(ApiSession.ended_at).is_(None))
        .values(ended_at=at)
    )
    session.flush()
    return row


def touch_key(session: Session, *, key_pk: int, now: datetime | None = None) -> None:
    """Record that a key was used (callers throttle this: it is a write)."""
    session.execute(update(ApiKey).where(col(ApiKey.id) == key_pk).values(last_used_at=_now(now)))


def create_session(
    session: Session, *, api_key: ApiKey, ttl_s: int, now: datetime | None = None
) -> tuple[str, ApiSession]:
    """Start a web login for a verified key; returns the session token (stored hashed) and the row."""
    if api_key.id is None:
        raise ValueError("the key is not saved")
    at = _now(now)
    token = secrets.token_urlsafe(32)
    row = ApiSession(
        token_hash=hash_secret(token),
        api_key_id=api_key.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=at,
        expires_at=at + timedelta(seconds=ttl_s),
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_session(
    session: Session, *, token: str, now: datetime | None = None
) -> tuple[ApiSession, ApiKey] | None:
    """The live session and its live key for a session token, or None."""
    stmt = (
        select(ApiSession, ApiKey)
        .join(ApiKey, col(ApiKey.id) == col(ApiSession.api_key_id))
        .where(col(ApiSession.token_hash) == hash_secret(token))
    )
    found = session.exec(stmt).one_or_none()
    if found is None:
        return None
    row, key = found
    expires = row.expires_at
    if row.ended_at is not None or key.revoked_at is not None or expires is None or expires <= _now(now):
        return None
    return row, key


def end_session(session: Session, *, token: str, now: datetime | None = None) -> bool:
    """Log out: end the session a token names. False if there was none still live."""
    result = session.execute(
        update(ApiSession)
        .where(col(ApiSession.token_hash) == hash_secret(token), col(ApiSession.ended_at).is_(None))
        .values(ended_at=_now(now))
    )
    return bool(getattr(result, "rowcount", 0))


def drop_session(session: Session, *, token: str) -> bool:
    """Delete the session a token names, live or not (its cookie was presented but no longer works)."""
    result = session.execute(delete(ApiSession).where(col(ApiSession.token_hash) == hash_secret(token)))
    return bool(getattr(result, "rowcount", 0))


def purge_sessions(session: Session, *, now: datetime | None = None) -> int:
    """Delete every session that can no longer be used: expired, or ended (logout, key revoked).

    One DELETE over a table that only ever holds recent sessions; returns how many rows
    went. Sessions are never read once dead, so nothing is lost (who did what stays in
    the audit log, by key).
    """
    at = _now(now).astimezone(UTC)
    stmt = delete(ApiSession).where(
        or_(
            col(ApiSession.expires_at) <= at,
            col(ApiSession.expires_at).is_(None),
            col(ApiSession.ended_at).is_not(None),
        )
    )
    # No in-Python matching of loaded rows: SQLite hands times back without an offset.
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
