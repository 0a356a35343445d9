"""The gallery's helpers (routes: `tesoro.api.routes.gallery`): feed cache, shop links, beacon guards.

The feed is what the marketing site hits on every page view, so each API process
keeps a rendered body and its ETag for `cache_ttl_s`; browsers and CDNs keep it for
`max_age` and revalidate with the ETag (304 without a body).

The beacon is anonymous and public, so it is guarded here: `BeaconLimiter` caps
beacons per client address and minute (the address lives in memory for that
minute only, never in the store), and `is_bot` tells crawlers, previews and
scripted clients apart by their User-Agent so they never count.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.engine import Engine

from tesoro.api.problems import Problem
from tesoro.api.schemas.gallery import (
    GalleryCountsOut,
    GalleryPerformance,
    PostPerformanceOut,
    ProductPerformanceOut,
)
from tesoro.store.catalog import brand_by_slug
from tesoro.store.engine import session_scope
from tesoro.store.gallery import GalleryCounts, post_performance, product_performance
from tesoro.text.excerpt import excerpt

__all__ = [
    "BeaconLimiter",
    "CopyCache",
    "GalleryCache",
    "Rendered",
    "is_bot",
    "performance_report",
    "with_utm",
]

# Crawlers, link previews, uptime checks, headless and scripted clients: their impressions are not people's.
_BOT = re.compile(
    r"bot|crawl|spider|slurp|scrap|preview|facebookexternalhit|embedly|headless|phantom|selenium|"
    r"puppeteer|playwright|lighthouse|pagespeed|pingdom|uptime|monitor|curl|wget|python|httpx|aiohttp|"
    r"go-http|java/|okhttp|libwww|node-fetch|axios|wrk|ab/|k6/|locust",
    re.IGNORECASE,
)


def is_bot(user_agent: str | None, purpose: str | None = None) -> bool:
    """True for a client whose events must not count: no browser User-Agent, a bot's, or a prefetch."""
    if purpose and "prefetch" in purpose.lower():
        return True
    if not user_agent or "mozilla/" not in user_agent.lower():
        return True
    return _BOT.search(user_agent) is not None


def with_utm(url: str, *, source: str, medium: str, campaign: str, content: str) -> str:
    """`url` with the gallery's UTM parameters set (replacing any of the same name it had)."""
    parts = urlsplit(url)
    utm = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign, "utm_content": content}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in utm]
    query = urlencode(kept + [(k, v) for k, v in utm.items() if v])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class CopyCache:
    """Kept copies' bytes per copy id, each for `ttl_s` seconds, at most `max_bytes` in all.

    The gallery's images are what a busy page asks for most; a few seconds of memory spare
    the store and the disk. A rights change in this process clears it; other processes stop
    serving a revoked copy within `ttl_s` (their next look-up finds the post not showable).
    """

    def __init__(self, ttl_s: float, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self._items: dict[int, tuple[str, str, bytes, float]] = {}
        self._size = 0
        self._lock = threading.Lock()

    def get(self, copy_id: int) -> tuple[str, str, bytes] | None:
        item = self._items.get(copy_id)
        if item is None or item[3] < time.monotonic():
            return None
        return item[0], item[1], item[2]

    def put(self, copy_id: int, etag: str, content_type: str, body: bytes) -> None:
        if self.ttl_s <= 0 or len(body) > self.max_bytes // 8:
            return
        with self._lock:
            if self._size + len(body) > self.max_bytes:
                self._items.clear()
                self._size = 0
            old = self._items.pop(copy_id, None)
            if old is not None:
                self._size -= len(old[2])
            self._items[copy_id] = (etag, content_type, body, time.monotonic() + self.ttl_s)
            self._size += len(body)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


class BeaconLimiter:
    """At most `per_minute` beacons per client address in each clock minute.

    The counts live in this process only and are dropped when the minute turns, so
    no address outlives it; past `max_clients` addresses in one minute the table
    starts afresh (a flood of distinct addresses cannot grow memory without bound).
    """

    def __init__(self, per_minute: int, *, max_clients: int = 50_000) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self._minute = -1
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        minute = int((time.time() if now is None else now) // 60)
        with self._lock:
            if minute != self._minute or len(self._counts) >= self.max_clients:
                self._minute, self._counts = minute, {}
            seen = self._counts.get(client, 0)
            if seen >= self.per_minute:
                return False
            self._counts[client] = seen + 1
            return True


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str
    expires: float


class GalleryCache:
    """Rendered gallery bodies per (brand, product, type, limit), each kept for `ttl_s` seconds.

    A review decision in this process clears it at once; other processes see the
    change within `ttl_s`, which is why the TTL is a few seconds, not minutes.

    `get_or_render` renders a body once per key however many requests miss together: when an entry
    expires under load (a marketing site's page views), one request renders it again while the others
    are answered with the expired body (for the length of one render); with nothing to fall back on
    (a cleared cache, a first request) they wait for that one render instead of each starting its own.
    """

    def __init__(self, ttl_s: float, max_entries: int = 512) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: dict[tuple[str, ...], Rendered] = {}
        self._renders: dict[tuple[str, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Rendered | None:
        item = self._items.get(key)
        if item is None or item.expires < time.monotonic():
            return None
        return item

    def get_or_render(self, key: tuple[str, ...], render: Callable[[], bytes]) -> Rendered:
        """The kept body of `key`, or one render of it shared by every request asking meanwhile."""
        if self.ttl_s <= 0:
            return self.put(key, render())
        item = self.get(key)
        if item is not None:
            return item
        with self._lock:
            rendering = self._renders.setdefault(key, threading.Lock())
            stale = self._items.get(key)
        if stale is not None and not rendering.acquire(blocking=False):
            return stale  # another request is rendering it: the expired body for that long
        if stale is None:
            rendering.acquire()
        try:
            item = self.get(key)  # rendered by the request this one waited for
            return item if item is not None else self.put(key, render())
        finally:
            rendering.release()

    def put(self, key: tuple[str, ...], body: bytes) -> Rendered:
        item = Rendered(
            body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', time.monotonic() + self.ttl_s
        )
        if self.ttl_s > 0:
            with self._lock:
                if len(self._items) >= self.max_entries:
                    self._items.clear()
                    self._renders.clear()
                self._items[key] = item
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _counts(c: GalleryCounts) -> dict[str, object]:
    return GalleryCountsOut.counts(c)


def performance_report(engine: Engine, brand: str, days: int, limit: int) -> GalleryPerformance:
    """The brand's gallery counts over the last `days` days (UTC), for the API and the UI page."""
    until = datetime.now(UTC).date()
    since = until - timedelta(days=days - 1)
    with session_scope(engine) as session:
        row = brand_by_slug(session, brand)
        if row is None or row.id is None:
            raise Problem("not_found", "no such brand")
        posts = post_performance(session, brand_id=row.id, since=since, until=until, limit=limit)
        products = product_performance(session, brand_id=row.id, since=since, until=until)
    total = GalleryCounts(
        sum(p.counts.impressions for p in products),
        sum(p.counts.clicks for p in products),
        sum(p.counts.shop_clicks for p in products),
    )
    return GalleryPerformance(
        brand=row.name,
        since=since.isoformat(),
        until=until.isoformat(),
        totals=GalleryCountsOut.model_validate(_counts(total)),
        posts=[
            PostPerformanceOut(
                post_id=p.post_id,
                key=f"{p.platform}:{p.external_id}",
                excerpt=excerpt(p.text),
                author=p.author_handle,
                product=p.product_name,
                **GalleryCountsOut.counts(p.counts),
            )
            for p in posts
        ],
        products=[
            ProductPerformanceOut(
                product=p.product_name,
                shop_url=p.shop_url,
                posts=p.posts,
                **GalleryCountsOut.counts(p.counts),
            )
            for p in products
        ],
    )
