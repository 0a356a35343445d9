"""Browser-facing defences: signed session cookies, CSRF, security headers, CORS, URL allow-lists.

Post text, names and URLs come from strangers on the internet, and the gallery
runs inside the brand's own site, so the web layer assumes every string is
hostile: templates escape, scripts build the DOM with textContent, every page
carries a Content-Security-Policy that forbids inline script, and a media URL
is shown only when it points at a platform's own media host.

The middlewares here are plain ASGI (not `BaseHTTPMiddleware`) because they sit
on the gallery's hot path, which is benchmarked at thousands of requests a
second.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tesoro.settings import Settings

__all__ = [
    "CSRF_FORM_FIELD",
    "CSRF_HEADER",
    "SAFE_METHODS",
    "GalleryCorsMiddleware",
    "MediaFilter",
    "SecurityHeadersMiddleware",
    "SessionSigner",
    "check_csrf",
    "content_security_policy",
    "load_session_secret",
    "safe_link",
    "safe_next",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FORM_FIELD = "csrf_token"
# What every response gets unless a route set its own policy: nothing may load, nothing may frame it.
_DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


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
        raise HTTPException(status_code=403, detail="cross-site request refused")
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        supplied = form_fields(await request.body()).get(CSRF_FORM_FIELD)
    if not expected or not supplied or not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")


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
    """Keeps media URLs that point at an allowed platform media host, over http(s), on the default port."""

    def __init__(self, hosts: Iterable[str]) -> None:
        self.hosts = frozenset(h.lower() for h in hosts)

    def allowed(self, url: str | None) -> bool:
        link = safe_link(url)
        if link is None:
            return False
        parts = urlsplit(link)
        return parts.port is None and (parts.hostname or "").lower() in self.hosts

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


# --- middlewares --------------------------------------------------------------------------------------


class SecurityHeadersMiddleware:
    """Adds nosniff, a referrer policy and a deny-all CSP to every response that did not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "same-origin")
                if "content-security-policy" not in headers:
                    headers["content-security-policy"] = _DEFAULT_CSP
                    headers.setdefault("x-frame-options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class GalleryCorsMiddleware:
    """CORS for the gallery only: the brand's configured site origins may read it, nobody else.

    The rest of the API sends no CORS headers at all, so a page on another site can
    never read it with a visitor's cookie. `Vary: Origin` is always set on gallery
    responses so a shared cache never hands one origin's answer to another.
    """

    def __init__(self, app: ASGIApp, *, origins: Iterable[str], prefix: str = "/gallery/") -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.any_origin = "*" in self.origins
        self.prefix = prefix

    def _allowed(self, origin: str | None) -> bool:
        return origin is not None and (self.any_origin or origin.lower() in self.origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        allowed = self._allowed(origin)
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method") is not None:
            await self._preflight(send, origin if allowed else None)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")
                if allowed and origin is not None:
                    headers["access-control-allow-origin"] = "*" if self.any_origin else origin
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
