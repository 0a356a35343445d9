"""The gallery's cache of rendered feed bodies (the routes are `tesoro.api.routes.gallery`).

The feed is what the marketing site hits on every page view, so each API process
keeps a rendered body and its ETag for `cache_ttl_s`; browsers and CDNs keep it for
`max_age` and revalidate with the ETag (304 without a body).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

__all__ = ["GalleryCache", "Rendered"]


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str
    expires: float


class GalleryCache:
    """Rendered gallery bodies per (brand, product, type, limit), each kept for `ttl_s` seconds.

    A review decision in this process clears it at once; other processes see the
    change within `ttl_s`, which is why the TTL is a few seconds, not minutes.
    """

    def __init__(self, ttl_s: float, max_entries: int = 512) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: dict[tuple[str, ...], Rendered] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Rendered | None:
        item = self._items.get(key)
        if item is None or item.expires < time.monotonic():
            return None
        return item

    def put(self, key: tuple[str, ...], body: bytes) -> Rendered:
        item = Rendered(
            body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', time.monotonic() + self.ttl_s
        )
        if self.ttl_s > 0:
            with self._lock:
                if len(self._items) >= self.max_entries:
                    self._items.clear()
                self._items[key] = item
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
