"""A local HTTP endpoint that records what is POSTed to it: the webhook calls a simulator sends."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Received:
    """The receiver's base URL (http://127.0.0.1:PORT) and each call's body and headers, in order."""

    base_url: str
    calls: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@contextmanager
def webhook_receiver() -> Iterator[Received]:
    received = Received("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.calls.append((body, dict(self.headers.items())))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    received.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
