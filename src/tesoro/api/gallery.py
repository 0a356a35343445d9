"""The gallery's helpers (routes: `tesoro.api.routes.gallery`): feed cache, shop links, beacon guards.

The feed is what the marketing site hits on every page view, so each API process
keeps a rendered body and its ETag for `cache_ttl_s`; browsers and CDNs keep it for
`max_age` and revalidate with the ETag (304 without a body). `FeedFastPath` answers a
plain GET of a feed whose body is kept, before the app's middleware and routing, with the
same status, headers and body the route would send; every other request goes to the app.

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
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from tesoro.api.problems import Problem
from tesoro.api.request_id import request_id_for
from tesoro.api.schemas.gallery import (
    GalleryCountsOut,
    GalleryPerformance,
    PostPerformanceOut,
    ProductPerformanceOut,
)
from tesoro.api.security import DEFAULT_SECURITY_HEADERS, CorsPolicy
from tesoro.settings import GallerySettings
from tesoro.store.catalog import brand_by_slug
from tesoro.store.engine import session_scope
from tesoro.store.gallery import GalleryCounts, post_performance, product_performance
from tesoro.text.excerpt import excerpt

__all__ = [
    "FEED_MEDIA_TYPES",
    "BeaconLimiter",
    "CopyCache",
    "FeedFastPath",
    "GalleryCache",
    "Rendered",
    "etag_matches",
    "feed_cache_control",
    "feed_key",
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


# The feed's `type` filter (the route's `MediaType`).
FEED_MEDIA_TYPES = ("photo", "video", "gif", "text")
# The feed's `product` filter is at most this long, its `limit` within 1 to `FEED_MAX_LIMIT`.
FEED_MAX_PRODUCT = 200
FEED_MAX_LIMIT = 100


def feed_key(brand: str, product: str | None, media_type: str | None, count: int) -> tuple[str, ...]:
    """The `GalleryCache` key of a feed: what a request asked for, with the limit it got."""
    return (brand.lower(), (product or "").lower(), media_type or "", str(count))


def feed_cache_control(gallery: GallerySettings) -> str:
    return f"public, max-age={gallery.max_age}, stale-while-revalidate={gallery.max_age * 5}"


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (or is "*"); weak tags compare as strong."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


_FEED_PATH = re.compile(r"/gallery/([^/]+)\.json")
_FEED_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
# Headers that send a request to the app: credentials to check (a bad key is a 401 even on a public
# route; a session cookie may be renewed or dropped) and a body to bound.
_TO_THE_APP = frozenset({b"authorization", b"x-api-key", b"cookie", b"content-length", b"transfer-encoding"})
_READ = frozenset({b"origin", b"if-none-match", b"x-request-id"})


class FeedFastPath:
    """Answers `GET /gallery/{brand}.json` from the kept body, before the app's middleware and routing.

    The feed is the brand site's hot path: a kept body costs microseconds to send, while the
    middleware stack, the routing and the route's dependencies around it cost most of a
    request. This pure ASGI middleware (the outermost of the app's own) answers only what it
    can answer exactly as the route and the middlewares would: a GET of a feed on a public
    gallery whose body `GalleryCache` holds and has not expired, without credentials or a body,
    with filters the route accepts as they are. The answer is the route's (200 with the body,
    or 304 when If-None-Match names its ETag, with ETag and Cache-Control) with the headers the
    middlewares add (`Vary: Origin` and CORS for the allowed origins, the security headers, an
    X-Request-ID). Everything else goes to the app: a first or expired feed (the route renders
    it and keeps it), an invalid filter (its 422), credentials (checked), OPTIONS and HEAD.
    A review write clears the cache in this process, so a hidden post leaves the feed at once
    here and within `cache_ttl_s` in the other processes, as before.
    """

    def __init__(self, app: ASGIApp, *, state: Any, gallery: GallerySettings) -> None:
        self.app = app
        self.state = state  # the app's state: its `gallery_cache` is read per request
        self.default_limit = gallery.default_limit
        self.cache_control = feed_cache_control(gallery).encode("latin-1")
        self.cors = CorsPolicy(gallery.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            found = self._kept(scope)
            if found is not None:
                await self._answer(send, *found)
                return
        await self.app(scope, receive, send)

    def _kept(self, scope: Scope) -> tuple[Rendered, dict[bytes, str]] | None:
        """The kept body this request asks for and the request headers the answer needs, or None."""
        path: str = scope["path"]
        if not path.startswith("/gallery/") or scope.get("root_path") or "\x00" in path:
            return None
        match = _FEED_PATH.fullmatch(path)
        if match is None:
            return None
        asked: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in _TO_THE_APP:
                return None
            if name in _READ and name not in asked:
                asked[name] = bytes(value).decode("latin-1")
        params: dict[str, str] = {}
        query = bytes(scope.get("query_string", b""))
        if query:
            if b"%00" in query or b"\x00" in query:
                return None
            # As Starlette reads a query string.
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if name in ("product", "type", "limit"):
                    if name in params:
                        return None
                    params[name] = value
        product = params.get("product", "")
        media_type = params.get("type")
        limit = params.get("limit")
        if len(product) > FEED_MAX_PRODUCT or (media_type is not None and media_type not in FEED_MEDIA_TYPES):
            return None
        if limit is not None and (_FEED_LIMIT.fullmatch(limit) is None or int(limit) > FEED_MAX_LIMIT):
            return None
        count = int(limit) if limit is not None else self.default_limit
        cache: GalleryCache = self.state.gallery_cache
        item = cache.get(feed_key(match.group(1), product, media_type, count))
        return None if item is None else (item, asked)

    async def _answer(self, send: Send, item: Rendered, asked: dict[bytes, str]) -> None:
        fresh = etag_matches(asked.get(b"if-none-match"), item.etag)
        headers = [(b"etag", item.etag.encode("latin-1")), (b"cache-control", self.cache_control)]
        if not fresh:
            headers += [
                (b"content-length", str(len(item.body)).encode("latin-1")),
                (b"content-type", b"application/json"),
            ]
        headers.append((b"vary", b"Origin"))
        allow = self.cors.allow_origin(asked.get(b"origin"))
        if allow is not None:
            headers += [
                (b"access-control-allow-origin", allow.encode("latin-1")),
                (b"access-control-expose-headers", b"ETag"),
            ]
        headers += DEFAULT_SECURITY_HEADERS
        headers.append((b"x-request-id", request_id_for(asked.get(b"x-request-id", "")).encode("latin-1")))
        await send({"type": "http.response.start", "status": 304 if fresh else 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if fresh else item.body})


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
