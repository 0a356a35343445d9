"""Renewed platform tokens kept in the store (`store.tokens`), for the clients that renew their own.

`StoreTokens` is a `TokenKeeper` for one account: `load` gives the newest pair kept for the secrets
configured now, `keep` writes a renewal's pair in its own committed transaction before the client
uses it. Its `origin` is a SHA-256 of the configured secrets, so configuring new ones (the brand
authorised the app again) makes the configured secrets win over what was kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from tesoro.collector.tiktok_business_api import KeptToken
from tesoro.store.engine import session_scope
from tesoro.store.tokens import keep_renewed_token, renewed_token

__all__ = ["StoreTokens", "origin_of"]


def origin_of(configured: Sequence[str | None]) -> str:
    """The fingerprint of the configured secrets a kept token descends from."""
    digest = hashlib.sha256()
    for value in configured:
        digest.update((value or "").encode())
        digest.update(b"\0")
    return digest.hexdigest()


class StoreTokens:
    def __init__(
        self,
        engine: Engine,
        *,
        platform: str,
        account_id: str,
        configured: Sequence[str | None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.platform = platform
        self.account_id = account_id
        self.origin = origin_of(configured)
        self._clock = clock

    def load(self) -> KeptToken | None:
        with session_scope(self.engine) as session:
            kept = renewed_token(
                session, platform=self.platform, account_id=self.account_id, origin=self.origin
            )
        if kept is None:
            return None
        return KeptToken(kept.access_token, kept.refresh_token, kept.expires_at)

    def keep(self, token: KeptToken) -> None:
        """Write the pair; if another process inserted the account's first row meanwhile, replace it."""
        for attempt in range(2):
            try:
                with session_scope(self.engine) as session:
                    keep_renewed_token(
                        session,
                        platform=self.platform,
                        account_id=self.account_id,
                        origin=self.origin,
                        access_token=token.access_token,
                        refresh_token=token.refresh_token,
                        expires_at=token.expires_at,
                        now=self._clock(),
                    )
                return
            except IntegrityError:  # both found no row and inserted: the second attempt finds it, updates it
                if attempt:
                    raise
