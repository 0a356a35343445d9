"""Repository of the usage-rights workflow: terms versions, requests, the replies read, receipts.

The workflow itself (templates, pacing, reading replies, what a grant writes) is
`tesoro.curator.rights_requests`; this module only reads and writes rows. A request's
status moves with `update_request`, which applies a change only while the request is still
in the status the caller read (two readers of the same reply cannot both grant).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from tesoro.store.sql import table_of
from tesoro.store.tables import Author, Post, RightsReceipt, RightsReply, RightsRequest, RightsTerms

__all__ = [
    "add_receipt",
    "add_reply",
    "add_request",
    "author_external_id",
    "derived_receipts",
    "expired_grants",
    "expiring_receipts",
    "get_receipt",
    "get_request",
    "later_posts",
    "latest_terms",
    "list_receipts",
    "list_requests",
    "open_receipt",
    "post_mentions",
    "replies_of",
    "request_by_nonce",
    "revoke_receipts",
    "save_terms",
    "sent_since",
    "set_rights_until",
    "standing_consents",
    "terms_by_id",
    "update_request",
]


def _now() -> datetime:
    return datetime.now(UTC)


# --- terms ----------------------------------------------------------------------------------------


def latest_terms(session: Session, *, brand_id: int) -> RightsTerms | None:
    stmt = (
        select(RightsTerms)
        .where(col(RightsTerms.brand_id) == brand_id)
        .order_by(col(RightsTerms.version).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def terms_by_id(session: Session, *, terms_id: int) -> RightsTerms | None:
    return session.get(RightsTerms, terms_id)


def save_terms(session: Session, *, brand_id: int, body: str, now: datetime | None = None) -> RightsTerms:
    """The brand's terms with this text: the latest version when unchanged, else a new version."""
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    latest = latest_terms(session, brand_id=brand_id)
    if latest is not None and latest.sha256 == digest:
        return latest
    terms = RightsTerms(
        brand_id=brand_id,
        version=(latest.version + 1) if latest is not None else 1,
        body=body,
        sha256=digest,
        created_at=now or _now(),
    )
    session.add(terms)
    session.flush()
    return terms


# --- requests -------------------------------------------------------------------------------------


def add_request(session: Session, **fields: Any) -> RightsRequest:
    request = RightsRequest(**fields)
    session.add(request)
    session.flush()
    return request


def get_request(session: Session, *, request_id: int) -> RightsRequest | None:
    return session.get(RightsRequest, request_id)


def request_by_nonce(session: Session, *, nonce_hash: str) -> RightsRequest | None:
    stmt = select(RightsRequest).where(col(RightsRequest.consent_nonce_hash) == nonce_hash)
    return session.exec(stmt).first()


def list_requests(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    post_id: int | None = None,
    author_id: int | None = None,
    platform: str | None = None,
    limit: int = 100,
) -> list[RightsRequest]:
    """Requests, newest first, filtered by status, post, author and platform."""
    stmt = select(RightsRequest)
    if statuses:
        stmt = stmt.where(col(RightsRequest.status).in_(list(statuses)))
    if post_id is not None:
        stmt = stmt.where(col(RightsRequest.post_id) == post_id)
    if author_id is not None:
        stmt = stmt.where(col(RightsRequest.author_id) == author_id)
    if platform is not None:
        stmt = stmt.where(col(RightsRequest.platform) == platform)
    stmt = stmt.order_by(col(RightsRequest.asked_at).desc(), col(RightsRequest.id).desc()).limit(limit)
    return list(session.exec(stmt))


def sent_since(session: Session, *, platform: str, since: datetime) -> int:
    """How many requests went out on `platform` through its API since `since` (the daily cap)."""
    stmt = select(func.count()).where(
        col(RightsRequest.platform) == platform,
        col(RightsRequest.channel) == "reply",
        col(RightsRequest.sent_at) >= since,
    )
    return int(session.exec(stmt).one())


def update_request(session: Session, *, request_id: int, expected_status: str | None, **changes: Any) -> bool:
    """Change a request; with `expected_status`, only while it still has that status."""
    table = table_of(RightsRequest)
    stmt = update(table).where(table.c.id == request_id)
    if expected_status is not None:
        stmt = stmt.where(table.c.status == expected_status)
    done = bool(session.execute(stmt.values(**changes)).rowcount)  # type: ignore[attr-defined]
    if done:
        stored = session.get(RightsRequest, request_id)
        if stored is not None:
            session.refresh(stored)
    return done


# --- replies --------------------------------------------------------------------------------------


def add_reply(session: Session, **fields: Any) -> RightsReply | None:
    """Keep one reply read under a request; None when it was read before (same request and id)."""
    stmt = select(RightsReply.id).where(
        col(RightsReply.request_id) == fields["request_id"],
        col(RightsReply.external_id) == fields["external_id"],
    )
    if session.exec(stmt).first() is not None:
        return None
    reply = RightsReply(**fields)
    session.add(reply)
    session.flush()
    return reply


def replies_of(session: Session, *, request_id: int) -> list[RightsReply]:
    stmt = select(RightsReply).where(col(RightsReply.request_id) == request_id).order_by(col(RightsReply.id))
    return list(session.exec(stmt))


# --- receipts -------------------------------------------------------------------------------------


def add_receipt(session: Session, **fields: Any) -> RightsReceipt:
    receipt = RightsReceipt(**fields)
    session.add(receipt)
    session.flush()
    return receipt


def get_receipt(session: Session, *, receipt_id: int) -> RightsReceipt | None:
    return session.get(RightsReceipt, receipt_id)


def list_receipts(
    session: Session,
    *,
    post_id: int | None = None,
    author_id: int | None = None,
    brand_id: int | None = None,
    limit: int = 100,
) -> list[RightsReceipt]:
    """Receipts, newest grant first, per post, author or brand."""
    stmt = select(RightsReceipt)
    if post_id is not None:
        stmt = stmt.where(col(RightsReceipt.post_id) == post_id)
    if author_id is not None:
        stmt = stmt.where(col(RightsReceipt.author_id) == author_id)
    if brand_id is not None:
        stmt = stmt.where(col(RightsReceipt.brand_id) == brand_id)
    stmt = stmt.order_by(col(RightsReceipt.granted_at).desc(), col(RightsReceipt.id).desc()).limit(limit)
    return list(session.exec(stmt))


def open_receipt(session: Session, *, post_id: int) -> RightsReceipt | None:
    """The post's newest receipt that is not revoked."""
    stmt = (
        select(RightsReceipt)
        .where(col(RightsReceipt.post_id) == post_id, col(RightsReceipt.revoked_at).is_(None))
        .order_by(col(RightsReceipt.granted_at).desc(), col(RightsReceipt.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def standing_consents(session: Session, *, now: datetime) -> list[RightsReceipt]:
    """Receipts of a consent "for my future posts as well" still in force (not revoked, not ended)."""
    stmt = (
        select(RightsReceipt)
        .where(
            col(RightsReceipt.future_posts).is_(True),
            col(RightsReceipt.parent_receipt_id).is_(None),
            col(RightsReceipt.revoked_at).is_(None),
            col(RightsReceipt.author_id).is_not(None),
            or_(col(RightsReceipt.ends_at).is_(None), col(RightsReceipt.ends_at) > now),
        )
        .order_by(col(RightsReceipt.id))
    )
    return list(session.exec(stmt))


def later_posts(
    session: Session,
    *,
    author_id: int,
    brand_id: int,
    after: datetime,
    until: datetime | None,
    open_statuses: Sequence[str],
    limit: int,
) -> list[int]:
    """Ids of an author's posts for a brand made after `after` (and before `until`), oldest first,
    that nobody has decided about: rights status "none", not deleted, no request in `open_statuses`."""
    asked = select(RightsRequest.id).where(
        col(RightsRequest.post_id) == col(Post.id), col(RightsRequest.status).in_(list(open_statuses))
    )
    stmt = select(Post.id).where(
        col(Post.author_id) == author_id,
        col(Post.brand_id) == brand_id,
        col(Post.created_at) > after,
        col(Post.rights_status) == "none",
        col(Post.deleted_at).is_(None),
        ~asked.exists(),
    )
    if until is not None:
        stmt = stmt.where(col(Post.created_at) < until)
    stmt = stmt.order_by(col(Post.created_at), col(Post.id)).limit(limit)
    return [int(i) for i in session.exec(stmt) if i is not None]


def derived_receipts(session: Session, *, parent_ids: Sequence[int]) -> list[RightsReceipt]:
    """Open receipts granted under these receipts' consent for future posts."""
    if not parent_ids:
        return []
    stmt = select(RightsReceipt).where(
        col(RightsReceipt.parent_receipt_id).in_(list(parent_ids)), col(RightsReceipt.revoked_at).is_(None)
    )
    return list(session.exec(stmt.order_by(col(RightsReceipt.id))))


def revoke_receipts(session: Session, *, post_id: int, reason: str, now: datetime) -> int:
    """Mark the post's open receipts revoked (they are kept: the grant happened); how many."""
    table = table_of(RightsReceipt)
    result = session.execute(
        update(table)
        .where(table.c.post_id == post_id, table.c.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def expiring_receipts(session: Session, *, now: datetime, until: datetime) -> list[RightsReceipt]:
    """Open receipts whose rights end between `now` and `until`, soonest first."""
    stmt = (
        select(RightsReceipt)
        .where(
            col(RightsReceipt.revoked_at).is_(None),
            col(RightsReceipt.ends_at) > now,
            col(RightsReceipt.ends_at) <= until,
        )
        .order_by(col(RightsReceipt.ends_at))
    )
    return list(session.exec(stmt))


# --- the post's rights window ---------------------------------------------------------------------


def set_rights_until(session: Session, *, post_id: int, until: datetime | None) -> None:
    post = table_of(Post)
    session.execute(update(post).where(post.c.id == post_id).values(rights_until=until, updated_at=_now()))


def expired_grants(session: Session, *, now: datetime) -> list[int]:
    """Ids of posts whose granted rights have ended (`rights_until` passed), oldest end first."""
    stmt = (
        select(Post.id)
        .where(
            col(Post.rights_status) == "granted",
            col(Post.rights_until).is_not(None),
            col(Post.rights_until) <= now,
        )
        .order_by(col(Post.rights_until))
    )
    return [int(i) for i in session.exec(stmt) if i is not None]


def post_mentions(session: Session, *, post_id: int) -> list[str]:
    """The accounts a post @mentions, as collected (an Instagram caption's mentions decide whether
    the brand may comment there)."""
    post = session.get(Post, post_id)
    return list(post.mentions) if post is not None else []


def author_external_id(session: Session, *, author_id: int) -> str | None:
    """The platform's id of an author (what a reply's author is compared with)."""
    author = session.get(Author, author_id)
    return author.external_id if author is not None else None
