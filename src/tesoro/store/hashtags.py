"""Instagram's hashtag ledger (`instagram_hashtag_search`): 30 unique hashtags per account per rolling 7 days.

`claim_hashtag` is the one decision: a hashtag searched inside its 7-day window is free (its stored
id is returned and nothing is spent); a new one takes a slot, written *before* the search is sent
(the caller commits it first), so a crash after Meta counted the search never loses the slot; with
all 30 slots taken it is refused. `hashtag_slots` lists the live slots with when each frees up, for
the sources view and the quota forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from tesoro.store.tables import InstagramHashtagSearch

__all__ = [
    "HASHTAG_LIMIT",
    "HASHTAG_WINDOW",
    "Claim",
    "HashtagSlot",
    "claim_hashtag",
    "hashtag_slots",
    "remember_hashtag_id",
]

HASHTAG_LIMIT = 30
HASHTAG_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Claim:
    """`granted`: the hashtag may be queried; `hashtag_id`: its id when already known (no search needed);
    `used`: slots taken in the window, this one included when granted; `frees_at`: when the oldest
    slot frees up (when refused)."""

    granted: bool
    hashtag_id: str | None
    used: int
    frees_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HashtagSlot:
    hashtag: str
    hashtag_id: str | None
    searched_at: datetime
    frees_at: datetime


def _live(session: Session, account_id: str, now: datetime) -> list[InstagramHashtagSearch]:
    since = now - HASHTAG_WINDOW
    rows = session.exec(
        select(InstagramHashtagSearch)
        .where(col(InstagramHashtagSearch.account_id) == account_id)
        .where(col(InstagramHashtagSearch.searched_at) > since)
        .order_by(col(InstagramHashtagSearch.searched_at))
    )
    return list(rows)


def claim_hashtag(session: Session, *, account_id: str, hashtag: str, now: datetime) -> Claim:
    """May `account_id` query `hashtag` now? Takes a slot for a hashtag new in the window (see module)."""
    hashtag = hashtag.casefold()
    live = _live(session, account_id, now)
    for row in live:
        if row.hashtag == hashtag:
            return Claim(True, row.hashtag_id, len(live))
    if len(live) >= HASHTAG_LIMIT:
        return Claim(False, None, len(live), live[0].searched_at + HASHTAG_WINDOW)
    old = session.exec(
        select(InstagramHashtagSearch)
        .where(col(InstagramHashtagSearch.account_id) == account_id)
        .where(col(InstagramHashtagSearch.hashtag) == hashtag)
    ).one_or_none()
    if old is None:
        session.add(InstagramHashtagSearch(account_id=account_id, hashtag=hashtag, searched_at=now))
        return Claim(True, None, len(live) + 1)
    old.searched_at = now  # searched before, but its window has passed: a new window, a new slot
    session.add(old)
    return Claim(True, old.hashtag_id, len(live) + 1)


def remember_hashtag_id(session: Session, *, account_id: str, hashtag: str, hashtag_id: str) -> None:
    row = session.exec(
        select(InstagramHashtagSearch)
        .where(col(InstagramHashtagSearch.account_id) == account_id)
        .where(col(InstagramHashtagSearch.hashtag) == hashtag.casefold())
    ).one_or_none()
    if row is not None:
        row.hashtag_id = hashtag_id
        session.add(row)


def hashtag_slots(session: Session, *, account_id: str, now: datetime) -> list[HashtagSlot]:
    """The account's hashtags in their 7-day window, oldest first."""
    return [
        HashtagSlot(r.hashtag, r.hashtag_id, r.searched_at, r.searched_at + HASHTAG_WINDOW)
        for r in _live(session, account_id, now)
    ]
