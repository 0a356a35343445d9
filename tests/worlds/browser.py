"""What the browser tests share: a test server in a thread, the seeded site, login, axe-core.

The fixtures that use these (`browser`, `site`, `page`) are in `tests/api/conftest.py`; each browser
test module gets its own site (a seeded SQLite store, Tesoro on one port and a shop page on another).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.tables import Post
from worlds.api import Seeded

# [gallery] cache_ttl_s of the browser tests' site (`site` in tests/api/conftest.py).
GALLERY_CACHE_TTL_S = 1.0

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


class Server:
    """An ASGI app on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: ASGIApp, port: int = 0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> Server:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline and self._thread.is_alive(), "test server did not start"
            self._thread.join(timeout=0.01)  # waits a moment, and returns at once if the server thread died
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Site:
    """Tesoro on one port and a marketing page on another (a different origin)."""

    def __init__(self, tesoro: Server, shop: Server, seeded: Seeded, engine: Engine) -> None:
        self.tesoro, self.shop, self.seeded, self.engine = tesoro, shop, seeded, engine


def shop_app(tesoro_url: str) -> Starlette:
    hostile_css = (
        "<style>p, li, ul, div, tesoro-gallery, .tesoro-gallery"
        " { color: rgb(255, 0, 0) !important; display: none !important; font-size: 3px !important; }"
        " body { font-size: 40px; color: rgb(255, 0, 0); }</style>"
    )

    def page(request: Any) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang='es'><head><title>Shop</title>"
            + hostile_css
            + "</head><body><h1>Andes shop</h1><section id='ugc'></section>"
            + f"<script src='{tesoro_url}/gallery/widget.js' data-brand='andes-outdoor' data-target='#ugc'"
            + " async></script></body></html>"
        )

    def framed(request: Any) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html><body><iframe id='g' title='gallery' width='900' height='600' "
            f"src='{tesoro_url}/gallery/andes-outdoor/embed'></iframe></body></html>"
        )

    def hostile(request: Any) -> HTMLResponse:
        # A host page that tries its worst: global CSS with !important on every element the widget uses,
        # prototypes polluted with fields of a gallery item, a <base> elsewhere, a global `T` and `node`.
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><title>Hostile shop</title><base href='https://evil.example/'>"
            + hostile_css
            + "<style>button, img, a, dialog, section, time { display: none !important; visibility: hidden"
            " !important; } * { all: unset !important; }</style>"
            + "<script>Object.prototype.featured = true; Object.prototype.shop = {url: 'javascript:alert(1)',"
            " product: 'pwned'}; Object.prototype.permalink = 'javascript:alert(2)';"
            " Array.prototype.evil = 1;"
            " window.T = 'x'; window.node = function () { alert(3); }; window.seen = null;</script>"
            + "</head><body><main><h1>Shop</h1>"
            + f"<script src='{tesoro_url}/gallery/widget.js' data-brand='andes-outdoor'></script>"
            + "</main></body></html>"
        )

    def steady(request: Any) -> HTMLResponse:
        # The widget as a synchronous script between two blocks: nothing may move once it has painted.
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><title>Steady shop</title></head><body><main>"
            "<h1>Shop</h1><p>Our customers</p>"
            f"<script src='{tesoro_url}/gallery/widget.js' data-brand='andes-outdoor'"
            " data-limit='3'></script>"
            "<footer id='below' style='height:400px'>Footer</footer></main></body></html>"
        )

    return Starlette(
        routes=[
            Route("/", page),
            Route("/framed", framed),
            Route("/hostile", hostile),
            Route("/steady", steady),
        ]
    )


def login(page: Any, site: Site, role: Role = Role.COORDINATOR) -> None:
    page.goto(f"{site.tesoro.url}/ui/queue")
    assert "/login" in page.url  # sent to the login form first
    page.fill("#key", site.seeded.tokens[role])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.tesoro.url}/ui/queue")


def queue_states(site: Site, names: list[str]) -> dict[str, tuple[str, int | None]]:
    with session_scope(site.engine) as session:
        rows = session.exec(select(Post).where(col(Post.external_id).in_(names)))
        return {p.external_id: (p.queue_state, p.product_id) for p in rows}


AXE = Path(__file__).parent.parent / "api" / "vendor" / "axe-core-4.14.1.min.js"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def axe(page: Any, context: Any) -> list[dict[str, Any]]:
    """axe-core's violations (WCAG 2.x A/AA and best practices) inside `context`."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (context) => (await axe.run(context, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))",
        context,
    )
    return list(result)
