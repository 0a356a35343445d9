"""Browser-facing defences: signed session cookies, CSRF, security headers, CORS, URL allow-lists.

Post text, names and URLs come from strangers on the internet, and the gallery
runs inside the brand's own site, so the web layer assumes every string is
hostile: templates escape, scripts build the DOM with textContent, every page
carries a Content-Security-Policy that forbids inline script, and a media URL
is shown only when it points at a platform's own media host.

The middlewares here are plain ASGI (not `BaseHTTPMiddleware`) because they sit
on the gallery's hot path, which is benchmarked at thousands of requests a
second.

Failed web logins are limited per client address (`LoginRateLimiter`,
`LoginRateLimitMiddleware`): after `[api] login_max_failures`
failures within `login_failure_window`, POST /login answers 429 with Retry-After.
The address is the one the ASGI server reports: `tesoro serve` takes it from
X-Forwarded-For only for the proxies named in `[server] forwarded_allow_ips`.

`RequestGuardMiddleware` stands before everything that reads a request: a write
without valid credentials is a 401 before a byte of its body is read, a body over
`[api] max_body_bytes` is a 413 (from its Content-Length, or as it streams in), and a
NUL in the path or the query is a 422 naming the parameter.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tesoro.api.problems import Problem
from tesoro.settings import Settings

__all__ = [
    "CSRF_FORM_FIELD",
    "CSRF_HEADER",
    "DEFAULT_SECURITY_HEADERS",
    "SAFE_METHODS",
    "BodyTooLarge",
    "CorsPolicy",
    "GalleryCorsMiddleware",
    "LoginRateLimitMiddleware",
    "LoginRateLimiter",
    "MediaFilter",
    "RequestGuardMiddleware",
    "SecurityHeadersMiddleware",
    "SessionSigner",
    "check_csrf",
    "client_network",
    "content_security_policy",
    "load_session_secret",
    "login_buckets",
    "safe_link",
    "safe_next",
    "security_headers",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FORM_FIELD = "csrf_token"
# What every response gets unless a route set its own policy: nothing may load, nothing may frame it.
_DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The headers `security_headers` gives a response that set none of them, as raw ASGI headers (the
# gallery feed's fast path, `tesoro.api.gallery.FeedFastPath`, answers with them).
DEFAULT_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", _DEFAULT_CSP.encode("latin-1")),
    (b"x-frame-options", b"DENY"),
)


# --- session cookies --------------------------------------------------------------------------------


def load_session_secret(settings: Settings) -> bytes:
    """The cookie-signing secret: `api.session_secret` (env only), else a file in the data folder.

    The file fallback (created once, mode 0600) keeps the embedded mode a
    one-command start while letting every worker process on the machine share
    the secret; deployments on several machines set TESORO_API__SESSION_SECRET.
    """
    if settings.api.session_secret is not None:
        return settings.api.session_secret.get_secret_value().encode("utf-8")
    folder = settings.resolved(settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "session-secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    value = path.read_text(encoding="ascii").strip()
    if len(value) < 32:
        raise RuntimeError(f"{path} holds no usable secret; delete it to have a new one made")
    return value.encode("ascii")


class SessionSigner:
    """Signs the session token in the cookie, so a forged cookie is refused before any database lookup."""

    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="tesoro.session")

    def sign(self, token: str) -> str:
        return self._serializer.dumps(token)

    def unsign(self, value: str, *, max_age_s: int) -> str | None:
        try:
            token = self._serializer.loads(value, max_age=max_age_s)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None


# --- CSRF -------------------------------------------------------------------------------------------


def _same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site (Origin or Sec-Fetch-Site)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin.lower() == own.lower()


async def check_csrf(request: Request, expected: str | None) -> None:
    """Refuse a cookie-authenticated write without the session's CSRF token (header or form field).

    The token is the session's own random value, rendered into each page; a
    cross-site page can make the browser send the cookie but cannot read the
    token. The Origin check is a second, independent line.
    """
    if request.method in SAFE_METHODS:
        return
    if not _same_origin(request):
        raise Problem("forbidden", "cross-site request refused")
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        supplied = form_fields(await request.body()).get(CSRF_FORM_FIELD)
    if not expected or not supplied or not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise Problem("forbidden", "missing or wrong CSRF token; reload the page")


def form_fields(body: bytes) -> dict[str, str]:
    """An urlencoded form body as a dict (first value of each field); no multipart needed for ours."""
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=50)
    return {key: values[0] for key, values in parsed.items()}


def safe_next(target: str | None, default: str = "/ui/queue") -> str:
    """Where to go after login: a path on this site only, never another host (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


# --- URLs from posts --------------------------------------------------------------------------------


def safe_link(url: str | None) -> str | None:
    """A URL fit for an href: http(s) with a host and no credentials; None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    if any(ch in url for ch in "\x00\r\n\t \"'<>`\\"):
        return None
    return url.strip()


class MediaFilter:
    """Keeps media URLs that point at an allowed platform media host, over http(s).

    A host listed bare is allowed on the default port only; one listed as host:port (the local
    simulator's media host in the demo) on that port only.
    """

    def __init__(self, hosts: Iterable[str]) -> None:
        self.hosts = frozenset(h.lower() for h in hosts)

    def allowed(self, url: str | None) -> bool:
        link = safe_link(url)
        if link is None:
            return False
        parts = urlsplit(link)
        try:
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        return (host if port is None else f"{host}:{port}") in self.hosts

    def csp_sources(self) -> str:
        return " ".join(f"https://{h} http://{h}" for h in sorted(self.hosts))


def content_security_policy(
    *,
    media: MediaFilter,
    frame_ancestors: str = "'none'",
    connect_src: str = "'self'",
    script_src: str = "'self'",
) -> str:
    """The policy of an HTML page: scripts and styles only from files on this site, no inline code."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {script_src}",
            "style-src 'self'",
            f"img-src 'self' data: {media.csp_sources()}".rstrip(),
            f"media-src {media.csp_sources() or chr(39) + 'none' + chr(39)}",
            f"connect-src {connect_src}",
            "font-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


# --- login rate limit ---------------------------------------------------------------------------------


class LoginRateLimiter:
    """Failed logins per bucket (a client address, a key id) in a sliding window, in this process.

    An attempt may go ahead while each of its buckets holds fewer than `max_failures`
    failures younger than `window_s`, counting attempts still in flight (so a burst
    sent in parallel cannot slip past the check before its failures are recorded).
    Only failures are recorded: a successful login never uses up the allowance. Blocked
    attempts are not verified, so they are not recorded either, and a bucket opens
    again as soon as its oldest failure leaves the window.

    Memory is bounded: at most `max_buckets` buckets are kept (the least recently
    failed go first) and each holds at most `max_failures` times. `clock` is
    injectable (seconds, monotonic) so tests need not sleep.
    """

    def __init__(
        self,
        *,
        max_failures: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = 10_000,
    ) -> None:
        if max_failures < 1 or window_s <= 0:
            raise ValueError("a login limit needs max_failures >= 1 and a positive window")
        self.max_failures = max_failures
        self.window_s = float(window_s)
        self.clock = clock
        self.max_buckets = max_buckets
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()

    def _recent(self, bucket: str, now: float) -> deque[float] | None:
        times = self._failures.get(bucket)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[bucket]
            return None
        return times

    def retry_after(self, buckets: Sequence[str]) -> int | None:
        """Seconds until an attempt in `buckets` may go ahead, or None if it may now (nothing reserved)."""
        with self._lock:
            return self._wait(buckets, self.clock())

    def _wait(self, buckets: Sequence[str], now: float) -> int | None:
        wait: float | None = None
        for bucket in buckets:
            times = self._recent(bucket, now)
            used = (len(times) if times else 0) + self._pending.get(bucket, 0)
            if used < self.max_failures:
                continue
            # Blocked until enough failures leave the window (in-flight attempts: about a second).
            excess = used - self.max_failures
            opens = times[excess] + self.window_s - now if times and excess < len(times) else 1.0
            wait = max(wait or 0.0, opens)
        return None if wait is None else max(1, math.ceil(wait))

    def acquire(self, buckets: Sequence[str]) -> int | None:
        """Reserve an attempt in every bucket: None (go ahead, then call `release`), or seconds to wait."""
        with self._lock:
            wait = self._wait(buckets, self.clock())
            if wait is None:
                for bucket in buckets:
                    self._pending[bucket] = self._pending.get(bucket, 0) + 1
            return wait

    def release(self, buckets: Sequence[str], *, failed: bool) -> None:
        """End a reserved attempt; `failed` records it as a failure in each bucket."""
        with self._lock:
            now = self.clock()
            for bucket in buckets:
                left = self._pending.get(bucket, 0) - 1
                if left > 0:
                    self._pending[bucket] = left
                else:
                    self._pending.pop(bucket, None)
                if failed:
                    times = self._failures.get(bucket)
                    if times is None:
                        times = self._failures[bucket] = deque(maxlen=self.max_failures)
                    times.append(now)
                    self._failures.move_to_end(bucket)
            while len(self._failures) > self.max_buckets:
                self._failures.popitem(last=False)

    def failed(self, buckets: Sequence[str]) -> None:
        """Record a failure that was not reserved with `acquire` (tests, other callers)."""
        with self._lock:
            for bucket in buckets:
                self._pending[bucket] = self._pending.get(bucket, 0) + 1
        self.release(buckets, failed=True)

    def __len__(self) -> int:
        return len(self._failures)


BlockedPage = Callable[[Scope, int], Response | None]


class LoginRateLimitMiddleware:
    """Applies a `LoginRateLimiter` to POST `path` (the web login form).

    The bucket of an attempt is the client's address (`addr:...`, as the ASGI
    server reports it: behind a proxy, configure the server to take it from the
    forwarded headers; see `login_buckets` for why not the key id). A 401 from the
    login is a failed attempt; anything else (a login, a wrong form token, a gallery
    key) is not. A blocked attempt gets 429
    with Retry-After, before the key is even looked at: an HTML page from
    `blocked_page` for browsers, else JSON `{"detail": ...}` like every API error.
    """

    MAX_BODY = 64 * 1024

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: LoginRateLimiter,
        path: str = "/login",
        blocked_page: BlockedPage | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.path = path
        self.blocked_page = blocked_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.MAX_BODY:
                await JSONResponse({"detail": "the login form is too large"}, status_code=413)(
                    scope, receive, send
                )
                return
        buckets = login_buckets(scope, body)
        wait = self.limiter.acquire(buckets)
        if wait is not None:
            await self._blocked(scope, wait)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            self.limiter.release(buckets, failed=status == 401)

    def _blocked(self, scope: Scope, wait: int) -> Response:
        minutes = max(1, math.ceil(wait / 60))
        detail = (
            "too many failed sign-in attempts from this address or for this key; "
            f"try again in {wait} s (about {minutes} min)"
        )
        headers = {"Retry-After": str(wait), "Cache-Control": "no-store"}
        accept = _header(scope, b"accept") or ""
        page = self.blocked_page(scope, wait) if self.blocked_page and "text/html" in accept else None
        if page is None:
            return JSONResponse({"detail": detail}, status_code=429, headers=headers)
        page.status_code = 429
        page.headers.update(headers)
        return page


def client_network(host: str) -> str:
    """The address a limit counts: an IPv4 address, or an IPv6 address's /64 (one site's whole block)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def login_buckets(scope: Scope, body: bytes) -> list[str]:
    """The rate-limit buckets of a login attempt: its client address (its /64 for IPv6).

    Not the key id it names: a key's secret is 256 random bits, so no number of
    guesses from any number of addresses can find it, while a bucket per key id
    would let anyone who read a key id in a list or a log lock its owner out.
    """
    del body  # the form is not needed to pick the bucket
    client = scope.get("client")
    return [f"addr:{client_network(client[0]) if client else 'unknown'}"]


# --- middlewares --------------------------------------------------------------------------------------


def security_headers(headers: MutableHeaders) -> None:
    """Add the headers every response carries (pages, JSON, errors) unless it set its own policy."""
    headers.setdefault("x-content-type-options", "nosniff")
    headers.setdefault("referrer-policy", "same-origin")
    if "content-security-policy" not in headers:
        headers["content-security-policy"] = _DEFAULT_CSP
        headers.setdefault("x-frame-options", "DENY")


class SecurityHeadersMiddleware:
    """Adds nosniff, a referrer policy and a deny-all CSP to every response that did not set its own.

    A 500 is answered outside every middleware (Starlette's ServerErrorMiddleware); the app's
    handler for it adds the same headers with `security_headers`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                security_headers(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Problem):
    """A request body over the limit (413); raised while it streams in, so it is never held whole."""

    def __init__(self, limit: int) -> None:
        super().__init__("too_large", f"the request body is larger than {limit} bytes ([api] max_body_bytes)")


# Resolves the caller of a request from its headers (None: no credentials); raises a 401 problem
# for credentials that are wrong. `Authenticator.principal`, with a Request made from the scope.
Identify = Callable[[Scope], Awaitable[object | None]]


class RequestGuardMiddleware:
    """Refuse what no route should read: bodies of unauthenticated writes, bodies over a limit, NULs.

    - A write (any method but GET, HEAD, OPTIONS) to a path that is not in `public_writes`
      must carry valid credentials (a key, or a session cookie): `identify` resolves them
      before the body is read, so a client without them gets the 401 having sent only
      its headers. The caller it found is kept on the request, so the route's guard does
      not look it up again; the role and the CSRF token are still the guard's to check.
    - Every body (the public login form too) is capped at `max_body_bytes`: a larger
      Content-Length is a 413 at once, and a body that streams past it (chunked) stops
      with a 413 as soon as it does.
    - A NUL in the path or in the query string is a 422 naming the parameter (no backend
      can store one, and PostgreSQL refuses it with an error).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        identify: Identify | None = None,
        public_writes: Iterable[re.Pattern[str]] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.identify = identify
        self.public_writes = tuple(public_writes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (nul := _nul_parameter(scope)) is not None:
            await _validation_error(*nul)(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.max_body_bytes):
            too_large = BodyTooLarge(self.max_body_bytes)
            await JSONResponse({"detail": too_large.detail}, status_code=413)(scope, receive, send)
            return
        if (
            self.identify is not None
            and scope["method"] not in SAFE_METHODS
            and not any(p.fullmatch(scope["path"]) for p in self.public_writes)
        ):
            detail: Any = "an API key is required (Authorization: Bearer ... or X-API-Key)"
            try:
                caller = await self.identify(scope)
            except Problem as exc:  # a key that is unknown or revoked
                caller, detail = None, exc.detail
            if caller is None:
                await JSONResponse(
                    {"detail": detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )(scope, receive, send)
                return
        received = 0
        started = False

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped, watch)
        except BodyTooLarge as exc:
            if started:
                raise
            await JSONResponse({"detail": exc.detail}, status_code=413)(scope, receive, send)


def _nul_parameter(scope: Scope) -> tuple[str, str] | None:
    """("path", "") or ("query", name) when the path or a query parameter holds a NUL, else None."""
    if "\x00" in str(scope.get("path", "")):
        return "path", ""
    query = bytes(scope.get("query_string", b""))
    if b"%00" not in query.lower() and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return "query", name.replace("\x00", "")
    return None


def _validation_error(where: str, name: str) -> JSONResponse:
    """A 422 in FastAPI's shape (`{"detail": [{"loc", "msg", "type"}]}`), the one /docs documents."""
    loc = [where, name] if name else [where]
    error = {"type": "value_error", "loc": loc, "msg": "must not contain a NUL character"}
    return JSONResponse({"detail": [error]}, status_code=422)


class CorsPolicy:
    """Which origins may read the gallery (`[gallery] allowed_origins`; "*" for any)."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(origins)
        self.any_origin = "*" in self.origins

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and (self.any_origin or origin.lower() in self.origins)

    def allow_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for a request from `origin`, None when it may not read."""
        if origin is None or not self.allowed(origin):
            return None
        return "*" if self.any_origin else origin


class GalleryCorsMiddleware:
    """CORS for the gallery only: the brand's configured site origins may read it, nobody else.

    The rest of the API sends no CORS headers at all, so a page on another site can
    never read it with a visitor's cookie. `Vary: Origin` is always set on gallery
    responses so a shared cache never hands one origin's answer to another.
    """

    def __init__(self, app: ASGIApp, *, origins: Iterable[str], prefix: str = "/gallery/") -> None:
        self.app = app
        self.policy = CorsPolicy(origins)
        self.any_origin = self.policy.any_origin
        self.prefix = prefix

    def _allowed(self, origin: str | None) -> bool:
        return self.policy.allowed(origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method") is not None:
            await self._preflight(send, origin if self._allowed(origin) else None)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")
                allow = self.policy.allow_origin(origin)
                if allow is not None:
                    headers["access-control-allow-origin"] = allow
                    headers["access-control-expose-headers"] = "ETag"
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, send: Send, origin: str | None) -> None:
        headers: list[tuple[bytes, bytes]] = [(b"vary", b"Origin"), (b"content-length", b"0")]
        status = 403
        if origin is not None:
            status = 204
            headers += [
                (b"access-control-allow-origin", ("*" if self.any_origin else origin).encode("latin-1")),
                (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
                (b"access-control-allow-headers", b"X-API-Key, If-None-Match"),
                (b"access-control-max-age", b"600"),
            ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _header(scope: MutableMapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
