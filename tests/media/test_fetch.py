"""The safe fetcher against a real local HTTP server: SSRF attempts, redirects, size, time, sniffing."""

from __future__ import annotations

import io
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from PIL import Image

from tesoro.media.fetch import DNS_FAILURE_S, FetchError, FetchPolicy, SafeFetcher, sniff_image


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.seen_hosts.append(self.headers.get("Host"))  # type: ignore[attr-defined]
        path = self.path
        if path == "/ok.png":
            self._send(200, PNG, {"Content-Type": "image/png"})
        elif path == "/lying.png":
            self._send(200, b"<html><script>alert(1)</script></html>", {"Content-Type": "image/png"})
        elif path == "/declared-big":
            self._send(200, PNG, {"Content-Length": str(10**9)})
        elif path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG)
            for _ in range(400):
                self.wfile.write(b"\0" * 4096)
        elif path == "/same-host":
            self._send(302, headers={"Location": "/ok.png"})
        elif path == "/other-host":
            self._send(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        elif path == "/other-port":
            port = self.server.server_address[1]  # type: ignore[index]
            self._send(302, headers={"Location": f"http://127.0.0.1:{port + 1}/ok.png"})
        elif path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif path == "/busy":
            self._send(503, b"busy")
        elif path == "/gone":
            self._send(404, b"gone")
        elif path == "/slow":  # holds the answer past any client timeout, until the tests are done
            if not self.server.release.wait(30):  # type: ignore[attr-defined]
                self._send(200, PNG)
        elif path == "/drip":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(PNG[:20])
            for _ in range(30):  # a byte every 0.1 s (the pace is what is tested), until released
                self.wfile.write(b"\0")
                self.wfile.flush()
                if self.server.release.wait(0.1):  # type: ignore[attr-defined]
                    break
        else:
            self._send(404)


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen_hosts = []  # type: ignore[attr-defined]
    httpd.release = threading.Event()  # type: ignore[attr-defined]  # ends the held answers
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()


def _hostport(server: ThreadingHTTPServer) -> str:
    return f"127.0.0.1:{server.server_address[1]}"


def _fetcher(server: ThreadingHTTPServer, **kw: object) -> SafeFetcher:
    hp = _hostport(server)
    options: dict[str, object] = {
        "allowed_hosts": frozenset({hp}),
        "private_hosts": frozenset({hp}),
        "max_bytes": 64 * 1024,
        # Generous, so a loaded test machine never turns a good fetch into a timeout; the timeout test
        # sets its own short limits.
        "connect_timeout_s": 5.0,
        "read_timeout_s": 5.0,
        "total_timeout_s": 10.0,
    }
    options.update(kw)
    return SafeFetcher(FetchPolicy(**options))  # type: ignore[arg-type]


def _code(fetcher: SafeFetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetcher.fetch(url)
    return info.value


def test_an_allowed_image_is_fetched_and_sniffed(server: ThreadingHTTPServer) -> None:
    got = _fetcher(server).fetch(f"http://{_hostport(server)}/ok.png")
    assert got.body == PNG and got.format == "png" and got.redirects == 0


def test_loopback_is_refused_unless_it_is_the_configured_private_host(server: ThreadingHTTPServer) -> None:
    fetcher = _fetcher(server, private_hosts=frozenset())
    error = _code(fetcher, f"http://{_hostport(server)}/ok.png")
    assert error.code == "private_address" and not error.retry


def test_a_host_off_the_allow_list_is_refused_before_any_lookup(server: ThreadingHTTPServer) -> None:
    looked_up: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["93.184.216.34"]

    fetcher = SafeFetcher(FetchPolicy(allowed_hosts=frozenset({"cdn.example"})), resolver=resolver)
    assert _code(fetcher, "https://evil.example/a.png").code == "host_not_allowed"
    # the default port only: the same host on another port is another host
    assert _code(fetcher, "https://cdn.example:8443/a.png").code == "host_not_allowed"
    assert looked_up == []


def test_a_host_that_did_not_resolve_fails_at_once_for_a_while_then_is_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without internet each lookup of a CDN name waits out the resolver: one fetcher asks once a minute."""
    looked_up: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    policy = FetchPolicy(allowed_hosts=frozenset({"cdn.example", "img.example"}))
    fetcher = SafeFetcher(policy, resolver=resolver)
    first = _code(fetcher, "https://cdn.example/a.jpg")
    again = _code(fetcher, "https://cdn.example/b.jpg")
    assert first.code == again.code == "dns" and first.retry and again.retry
    assert "a moment ago" in again.detail and "Temporary failure" in again.detail
    assert _code(fetcher, "https://img.example/c.jpg").code == "dns"  # another host is asked
    assert looked_up == ["cdn.example", "img.example"]
    later = time.monotonic() + DNS_FAILURE_S + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert _code(fetcher, "https://cdn.example/d.jpg").code == "dns"
    assert looked_up == ["cdn.example", "img.example", "cdn.example"]  # asked again after the pause


def test_a_lookup_that_hangs_is_given_up_after_the_connect_timeout() -> None:
    """Without internet the system resolver may wait 20 s or more per CDN name: the fetch stops waiting."""
    released = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        released.wait(10)
        return ["93.184.216.34"]

    policy = FetchPolicy(allowed_hosts=frozenset({"cdn.example"}), connect_timeout_s=0.2)
    fetcher = SafeFetcher(policy, resolver=hanging)
    try:
        started = time.monotonic()
        error = _code(fetcher, "https://cdn.example/a.jpg")
        assert error.code == "dns" and error.retry and "no answer within 0.2 s" in error.detail
        assert time.monotonic() - started < 3
        assert "a moment ago" in _code(fetcher, "https://cdn.example/b.jpg").detail  # not asked again
    finally:
        released.set()


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.1.2.3"],
        ["192.168.0.10"],
        ["169.254.169.254"],  # the cloud metadata service
        ["::1"],
        ["::ffff:127.0.0.1"],  # IPv4-mapped loopback
        ["fd00::1"],
        ["0.0.0.0"],
        ["93.184.216.34", "10.0.0.1"],  # one bad address among good ones is enough to refuse
    ],
)
def test_a_dns_name_resolving_to_a_private_address_is_refused(addresses: list[str]) -> None:
    fetcher = SafeFetcher(
        FetchPolicy(allowed_hosts=frozenset({"cdn.example"})), resolver=lambda host, port: addresses
    )
    error = _code(fetcher, "http://cdn.example/a.png")
    assert error.code == "private_address"


def test_ip_literals_are_checked_like_resolved_names() -> None:
    fetcher = SafeFetcher(FetchPolicy(allowed_hosts=frozenset({"127.0.0.1", "10.0.0.1"})))
    assert _code(fetcher, "http://127.0.0.1/a.png").code == "private_address"
    assert _code(fetcher, "http://10.0.0.1/a.png").code == "private_address"


def test_it_connects_to_the_address_it_checked_with_the_name_in_the_host_header(
    server: ThreadingHTTPServer,
) -> None:
    """A name no DNS knows reaches the server: the connection goes to the resolved, checked address."""
    port = server.server_address[1]
    name = f"media.invalid:{port}"
    fetcher = SafeFetcher(
        FetchPolicy(allowed_hosts=frozenset({name}), private_hosts=frozenset({name})),
        resolver=lambda host, p: ["127.0.0.1"],
    )
    assert fetcher.fetch(f"http://{name}/ok.png").body == PNG
    assert server.seen_hosts[-1] == name  # type: ignore[attr-defined]


def test_redirects_stay_on_the_same_host(server: ThreadingHTTPServer) -> None:
    fetcher = _fetcher(server)
    assert fetcher.fetch(f"http://{_hostport(server)}/same-host").redirects == 1
    assert _code(fetcher, f"http://{_hostport(server)}/other-host").code == "redirect_off_host"
    assert _code(fetcher, f"http://{_hostport(server)}/other-port").code == "redirect_off_host"
    assert _code(fetcher, f"http://{_hostport(server)}/loop").code == "too_many_redirects"


def test_size_caps_declared_and_streamed(server: ThreadingHTTPServer) -> None:
    fetcher = _fetcher(server)
    assert _code(fetcher, f"http://{_hostport(server)}/declared-big").code == "too_large"
    error = _code(fetcher, f"http://{_hostport(server)}/endless")
    assert error.code == "too_large" and not error.retry


def test_content_is_sniffed_not_trusted(server: ThreadingHTTPServer) -> None:
    error = _code(_fetcher(server), f"http://{_hostport(server)}/lying.png")
    assert error.code == "not_image" and not error.retry


def test_statuses_say_whether_to_retry(server: ThreadingHTTPServer) -> None:
    fetcher = _fetcher(server)
    busy = _code(fetcher, f"http://{_hostport(server)}/busy")
    gone = _code(fetcher, f"http://{_hostport(server)}/gone")
    assert (busy.code, busy.retry) == ("http_status", True)
    assert (gone.code, gone.retry) == ("http_status", False)


def test_slow_and_dripping_servers_time_out(server: ThreadingHTTPServer) -> None:
    fetcher = _fetcher(server, connect_timeout_s=1.0, read_timeout_s=0.5, total_timeout_s=1.0)
    slow = _code(fetcher, f"http://{_hostport(server)}/slow")
    assert (slow.code, slow.retry) == ("timeout", True)
    started = time.monotonic()
    drip = _code(fetcher, f"http://{_hostport(server)}/drip")
    assert drip.code == "timeout" and time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "gopher://cdn.example/", "http://user:pw@cdn.example/a.png", "http:///a.png", ""],
)
def test_unusable_urls_are_refused(url: str) -> None:
    fetcher = SafeFetcher(FetchPolicy(allowed_hosts=frozenset({"cdn.example"})))
    assert _code(fetcher, url).code in {"bad_url", "host_not_allowed"}


def test_sniffing_knows_the_four_formats() -> None:
    assert sniff_image(PNG) == "png"
    assert sniff_image(b"\xff\xd8\xff\xe0rest") == "jpeg"
    assert sniff_image(b"GIF89a....") == "gif"
    assert sniff_image(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert sniff_image(b"<svg xmlns=...") is None


# --------------------------------------------------------------------------- HTTPS to the checked address


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that refuses the certificate ends the handshake: expected here, not news


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[ThreadingHTTPServer, trustme.CA]]:
    """The same handler behind TLS, with a certificate for media.test from a test authority."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("media.test").configure_cert(context)
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.seen_hosts = []  # type: ignore[attr-defined]
    httpd.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, authority
    httpd.release.set()  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()


def _tls_fetcher(port: int, name: str, verify: ssl.SSLContext | bool) -> SafeFetcher:
    host = f"{name}:{port}"
    policy = FetchPolicy(
        allowed_hosts=frozenset({host}),
        private_hosts=frozenset({host}),
        connect_timeout_s=5.0,
        read_timeout_s=5.0,
        total_timeout_s=10.0,
    )
    return SafeFetcher(policy, resolver=lambda host, port: ["127.0.0.1"], verify=verify)


def _trusting(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


def test_https_connects_to_the_checked_address_and_verifies_the_urls_name(
    tls_server: tuple[ThreadingHTTPServer, trustme.CA],
) -> None:
    """The connection goes to the resolved address, yet TLS checks the certificate against the URL's host
    (sent as SNI), as a browser would: the pinning costs no certificate check."""
    server, authority = tls_server
    port = server.server_address[1]
    got = _tls_fetcher(port, "media.test", _trusting(authority)).fetch(f"https://media.test:{port}/ok.png")
    assert got.body == PNG and got.format == "png"
    assert server.seen_hosts[-1] == f"media.test:{port}"  # type: ignore[attr-defined]


def test_https_refuses_a_certificate_for_another_name_or_from_an_unknown_authority(
    tls_server: tuple[ThreadingHTTPServer, trustme.CA],
) -> None:
    server, authority = tls_server
    port = server.server_address[1]
    # The same address under another name: the certificate (for media.test) does not match.
    wrong_name = _tls_fetcher(port, "cdn.test", _trusting(authority))
    assert _code(wrong_name, f"https://cdn.test:{port}/ok.png").code == "connection"
    # The right name, but the system's trust store does not know the test authority.
    untrusted = _tls_fetcher(port, "media.test", True)
    assert _code(untrusted, f"https://media.test:{port}/ok.png").code == "connection"
