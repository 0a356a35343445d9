"""A fetcher for untrusted image URLs: allowed hosts only, public addresses only, bounded in every way.

Post media URLs come from strangers, and Tesoro runs inside a company network, so a URL
is a server-side request forgery attempt until shown otherwise. `SafeFetcher.fetch`:

- accepts only http(s) URLs on a host of the allow-list (`host`, or `host:port` for a
  non-default port), with no user name or password in them;
- resolves the host itself, waiting at most `connect_timeout_s` for the answer (the system
  resolver has no timeout of its own), and refuses the fetch when *any* address it resolves to is
  private, loopback, link-local, multicast, reserved or otherwise not globally routable
  (IPv4-mapped IPv6 included), unless `host:port` is one of the `private_hosts` (the
  local simulator); it then connects to the address it checked, with the host name in
  the `Host` header and TLS SNI, so a DNS answer that changes between the check and
  the connection (rebinding) cannot send it elsewhere;
- follows at most `max_redirects` redirects, each to the same host and port only,
  checking each hop the same way;
- refuses a declared `Content-Length` over `max_bytes` before reading, stops reading at
  `max_bytes`, and gives up at `total_timeout_s` however slowly the bytes drip
  (a single read waits at most `read_timeout_s` more);
- sniffs the first bytes: only JPEG, PNG, GIF and WebP pass, whatever `Content-Type`
  claims.

Every refusal is a `FetchError` with a short `code` and whether trying again later could
help (`retry`): a timeout or a 503 may pass tomorrow, a private address never will.

This module is the one other features reuse (the gallery's kept copies): build a
`FetchPolicy` (`FetchPolicy.from_settings`) and call `SafeFetcher(policy).fetch(url)`.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimedOut
from dataclasses import dataclass, field

import httpx

from tesoro.settings import Settings

__all__ = [
    "FetchError",
    "FetchPolicy",
    "Fetched",
    "Resolver",
    "SafeFetcher",
    "sniff_image",
    "system_resolver",
]

# host, port -> the addresses it resolves to (as text).
Resolver = Callable[[str, int], Sequence[str]]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Statuses worth another try later: the server is busy, rate-limiting or briefly broken.
_TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})
_SNIFF_BYTES = 16


def sniff_image(head: bytes) -> str | None:
    """The image format the first bytes announce ('jpeg', 'png', 'gif', 'webp'), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    return None


# How long a host whose lookup failed is not asked about again by one fetcher.
DNS_FAILURE_S = 60.0
# Lookups run here so that a fetch can stop waiting for one (`getaddrinfo` cannot be interrupted: a
# lookup that hangs keeps its thread until the system resolver gives up, and at most this many hang).
_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tesoro-dns")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (IPv4 and IPv6), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class FetchError(Exception):
    """A fetch refused or failed: `code` names why, `retry` says whether a later try could pass."""

    def __init__(self, code: str, detail: str, *, retry: bool = False) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.retry = retry


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What a fetch may reach and how much it may take."""

    allowed_hosts: frozenset[str]
    private_hosts: frozenset[str] = frozenset()
    max_bytes: int = 8 * 1024 * 1024
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 20.0
    max_redirects: int = 3
    user_agent: str = "Tesoro media fetcher"

    @classmethod
    def from_settings(cls, settings: Settings, *, max_bytes: int | None = None) -> FetchPolicy:
        """The policy of `[gallery] media_hosts` and `[media]`; `max_bytes` overrides the size cap."""
        media = settings.media
        return cls(
            allowed_hosts=frozenset(h.lower() for h in settings.gallery.media_hosts),
            private_hosts=frozenset(h.lower() for h in media.private_hosts),
            max_bytes=max_bytes if max_bytes is not None else media.max_bytes,
            connect_timeout_s=media.connect_timeout_s,
            read_timeout_s=media.read_timeout_s,
            total_timeout_s=media.total_timeout_s,
            max_redirects=media.max_redirects,
            user_agent=media.user_agent,
        )


@dataclass(frozen=True, slots=True)
class Fetched:
    """An image's bytes, the format sniffed from them, and the URL they finally came from."""

    url: str
    body: bytes
    format: str
    content_type: str | None
    redirects: int = 0


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpx.URL
    host: str
    port: int
    key: str  # how the allow-lists name it: host, or host:port off the default port


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _target(raw: str | httpx.URL) -> _Target:
    try:
        url = raw if isinstance(raw, httpx.URL) else httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError("bad_url", f"not a URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise FetchError("bad_url", f"scheme {url.scheme!r} is not http or https")
    if url.userinfo:
        raise FetchError("bad_url", "user names and passwords in media URLs are refused")
    host = url.host.lower().rstrip(".")
    if not host:
        raise FetchError("bad_url", "the URL names no host")
    port = url.port or _default_port(url.scheme)
    key = host if url.port is None or url.port == _default_port(url.scheme) else f"{host}:{port}"
    return _Target(url, host, port, key)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass
class SafeFetcher:
    """Fetches one image at a time under a `FetchPolicy` (thread-safe: one client; the failed lookups
    below are the only shared state, behind a lock)."""

    policy: FetchPolicy
    resolver: Resolver = system_resolver
    # The transport httpx uses; tests may pass one, production leaves the default.
    transport: httpx.BaseTransport | None = None
    # How HTTPS certificates are verified: the system's trust store by default; tests pass a context
    # trusting their own authority. The name checked is the URL's host (sent as SNI), never the address.
    verify: ssl.SSLContext | bool = True
    _client: httpx.Client = field(init=False, repr=False)
    # Hosts whose lookup failed a moment ago (host -> until when, why): their next fetches fail at once
    # for DNS_FAILURE_S instead of each waiting out the system resolver, which has no timeout of its own
    # (a media run with a thousand previews on an unreachable CDN would take hours).
    _dns_failures: dict[str, tuple[float, str]] = field(init=False, default_factory=dict, repr=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        timeout = httpx.Timeout(
            connect=self.policy.connect_timeout_s,
            read=self.policy.read_timeout_s,
            write=self.policy.read_timeout_s,
            pool=self.policy.connect_timeout_s,
        )
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: we connect to the address we checked
            transport=self.transport,
            verify=self.verify,
            headers={
                "User-Agent": self.policy.user_agent,
                "Accept": "image/*",
                "Accept-Encoding": "identity",
            },
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SafeFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _address(self, target: _Target) -> str:
        """The checked address to connect to (an IP literal in the URL is checked the same way)."""
        if target.key not in self.policy.allowed_hosts:
            raise FetchError("host_not_allowed", f"{target.key} is not an allowed media host")
        try:
            addresses: Iterable[str] = [str(ipaddress.ip_address(target.host.strip("[]")))]
        except ValueError:
            addresses = self._resolve(target.host, target.port)
        found = list(addresses)
        if not found:
            raise FetchError("dns", f"{target.host} resolves to no address", retry=True)
        if target.key not in self.policy.private_hosts:
            for address in found:
                try:
                    public = _public(address)
                except ValueError:
                    public = False
                if not public:
                    raise FetchError(
                        "private_address", f"{target.host} resolves to {address}, which is not public"
                    )
        return found[0]

    def _resolve(self, host: str, port: int) -> Iterable[str]:
        with self._lock:
            failed = self._dns_failures.get(host)
        if failed is not None and time.monotonic() < failed[0]:
            raise FetchError("dns", f"{host} did not resolve a moment ago: {failed[1]}", retry=True)
        wait = self.policy.connect_timeout_s
        try:
            return _LOOKUPS.submit(self.resolver, host, port).result(timeout=wait)
        except LookupTimedOut:
            why = f"no answer within {wait:g} s"
        except (OSError, UnicodeError) as exc:
            why = str(exc)
        with self._lock:
            self._dns_failures[host] = (time.monotonic() + DNS_FAILURE_S, why)
        raise FetchError("dns", f"{host} does not resolve: {why}", retry=True)

    def fetch(self, url: str) -> Fetched:
        """The image at `url`, or a FetchError saying why not."""
        deadline = time.monotonic() + self.policy.total_timeout_s
        first = _target(url)
        target = first
        for hop in range(self.policy.max_redirects + 1):
            address = self._address(target)
            location = self._get(target, address, deadline)
            if isinstance(location, Fetched):
                return Fetched(url, location.body, location.format, location.content_type, hop)
            try:
                following = _target(target.url.join(location))
            except FetchError as exc:
                raise FetchError("redirect_off_host", f"redirect to an unusable URL: {exc.detail}") from None
            if (following.host, following.port) != (first.host, first.port):
                raise FetchError(
                    "redirect_off_host", f"redirect from {first.key} to {following.key} is not followed"
                )
            target = following
        raise FetchError("too_many_redirects", f"more than {self.policy.max_redirects} redirects")

    def _get(self, target: _Target, address: str, deadline: float) -> Fetched | str:
        """One request to `address`; a Fetched, or the Location of a redirect."""
        host_header = target.url.netloc.decode("ascii").rsplit("@", 1)[-1]
        request = self._client.build_request(
            "GET",
            target.url.copy_with(host=address),
            headers={"Host": host_header},
            extensions={"sni_hostname": target.host},
        )
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise FetchError("timeout", f"{target.key} did not answer in time", retry=True) from None
        except httpx.HTTPError as exc:
            raise FetchError("connection", f"{target.key}: {type(exc).__name__}", retry=True) from None
        try:
            if response.status_code in _REDIRECTS:
                location = str(response.headers.get("location") or "")
                if not location:
                    raise FetchError("http_status", f"{response.status_code} without a Location")
                return location
            if response.status_code != 200:
                raise FetchError(
                    "http_status",
                    f"{target.key} answered {response.status_code}",
                    retry=response.status_code in _TRANSIENT,
                )
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.policy.max_bytes:
                raise FetchError(
                    "too_large", f"{declared} bytes declared, the cap is {self.policy.max_bytes}"
                )
            body = self._read(response, target, deadline)
        finally:
            response.close()
        kind = sniff_image(body[:_SNIFF_BYTES])
        if kind is None:
            raise FetchError("not_image", "the body is not a JPEG, PNG, GIF or WebP image")
        return Fetched(str(target.url), body, kind, response.headers.get("content-type"))

    def _read(self, response: httpx.Response, target: _Target, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        sniffed = False
        try:
            for chunk in response.iter_bytes():  # as the bytes arrive, not buffered to a size
                size += len(chunk)
                if size > self.policy.max_bytes:
                    raise FetchError("too_large", f"more than {self.policy.max_bytes} bytes")
                chunks.append(chunk)
                if not sniffed and size >= _SNIFF_BYTES:
                    # Stop at once when the body is not an image: no need to read a whole HTML page.
                    if sniff_image(b"".join(chunks)[:_SNIFF_BYTES]) is None:
                        raise FetchError("not_image", "the body is not a JPEG, PNG, GIF or WebP image")
                    sniffed = True
                if time.monotonic() > deadline:
                    raise FetchError(
                        "timeout", f"{target.key} took over {self.policy.total_timeout_s}s", retry=True
                    )
        except httpx.TimeoutException:
            raise FetchError("timeout", f"{target.key} stopped sending", retry=True) from None
        except httpx.HTTPError as exc:
            raise FetchError("connection", f"{target.key}: {type(exc).__name__}", retry=True) from None
        return b"".join(chunks)
