"""Renewed platform tokens (`platform_token`): the newest access and refresh token of an account.

`renewed_token` returns the kept pair only while it descends from the secrets configured now (its
`origin`); `keep_renewed_token` writes the pair a renewal just gave, in its own transaction, before
the token is used, so a process killed right after a renewal that retired the old refresh token
still finds the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from tesoro.store.tables import PlatformToken

__all__ = ["RenewedToken", "keep_renewed_token", "renewed_token"]


@dataclass(frozen=True, slots=True)
class RenewedToken:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    renewed_at: datetime


def _row(session: Session, platform: str, account_id: str) -> PlatformToken | None:
    query = select(PlatformToken).where(
        PlatformToken.platform == platform, PlatformToken.account_id == account_id
    )
    return session.exec(query).first()


def renewed_token(session: Session, *, platform: str, account_id: str, origin: str) -> RenewedToken | None:
    """The account's newest renewed token, or None (none kept, or kept for other configured secrets)."""
    row = _row(session, platform, account_id)
    if row is None or row.origin != origin:
        return None
    return RenewedToken(row.access_token, row.refresh_token, row.expires_at, row.renewed_at)


def keep_renewed_token(
    session: Session,
    *,
    platform: str,
    account_id: str,
    origin: str,
    access_token: str,
    refresh_token: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """Keep what a renewal gave (replacing what was kept for the account)."""
    row = _row(session, platform, account_id) or PlatformToken(
        platform=platform, account_id=account_id, origin=origin, access_token=access_token, renewed_at=now
    )
    row.origin = origin
    row.access_token = access_token
    row.refresh_token = refresh_token
    row.expires_at = expires_at
    row.renewed_at = now
    session.add(row)
