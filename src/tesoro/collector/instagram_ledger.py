"""The Instagram hashtag ledger kept in the store, shared by every source and process of an account.

Each claim is its own committed transaction, made before the search it allows is sent: a process
killed after Meta counted a search still finds the slot taken (see `store.hashtags`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from tesoro.collector.instagram import HashtagClaim
from tesoro.store.engine import session_scope
from tesoro.store.hashtags import claim_hashtag, remember_hashtag_id

__all__ = ["StoreLedger"]


class StoreLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, account_id: str, hashtag: str, now: datetime) -> HashtagClaim:
        try:
            with session_scope(self.engine) as session:
                got = claim_hashtag(session, account_id=account_id, hashtag=hashtag, now=now)
        except IntegrityError:  # another process claimed the same new hashtag first: read its claim
            with session_scope(self.engine) as session:
                got = claim_hashtag(session, account_id=account_id, hashtag=hashtag, now=now)
        return HashtagClaim(got.granted, got.hashtag_id, got.used, got.frees_at)

    def remember(self, account_id: str, hashtag: str, hashtag_id: str) -> None:
        with session_scope(self.engine) as session:
            remember_hashtag_id(session, account_id=account_id, hashtag=hashtag, hashtag_id=hashtag_id)
