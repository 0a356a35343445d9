"""JSON log lines: one object per line, with the request id while a request is served."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from tesoro.api.request_id import RequestIdMiddleware
from tesoro.ops.logs import REQUEST_ID, JsonFormatter


def _record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("tesoro.test", logging.WARNING, __file__, 1, message, args, info)


def test_one_object_per_line_with_the_fields() -> None:
    line = JsonFormatter().format(_record("scored %d posts\nsecond line \ud800", 3))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "tesoro.test"
    assert entry["message"] == "scored 3 posts\nsecond line \ud800"
    assert entry["time"].endswith("+00:00") and "request_id" not in entry


def test_request_id_and_traceback() -> None:
    token = REQUEST_ID.set("abc123")
    try:
        entry = json.loads(JsonFormatter().format(_record("failed", exc=True)))
    finally:
        REQUEST_ID.reset(token)
    assert entry["request_id"] == "abc123"
    assert "ValueError: boom" in entry["exc"]


def test_lines_logged_while_serving_carry_the_request_id() -> None:
    """The middleware sets the id for the request's duration: a line logged by a handler carries it."""
    lines: list[dict[str, object]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        logging.getLogger("tesoro.test.handler").warning("inside")
        await PlainTextResponse("ok")(scope, receive, send)

    logger = logging.getLogger("tesoro.test.handler")
    keep = Keep()
    logger.addHandler(keep)
    try:
        client = TestClient(RequestIdMiddleware(handler))  # no lifespan: a bare ASGI handler
        answer = client.get("/", headers={"X-Request-ID": "req-42"})
        fresh = client.get("/")
    finally:
        logger.removeHandler(keep)
    assert answer.headers["X-Request-ID"] == "req-42"
    assert [line["request_id"] for line in lines] == ["req-42", fresh.headers["X-Request-ID"]]
    assert REQUEST_ID.get() is None  # reset after the request


def test_cli_log_json_flag(tmp_path: Path) -> None:
    """`tesoro --log-json` writes JSON lines on stderr (here: a failed start's warning lines)."""
    config = tmp_path / "tesoro.toml"
    # At DEBUG, Alembic's lines while migrating are logged: each must be a JSON object.
    config.write_text('log_level = "DEBUG"\n[database]\npath = "t.db"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "tesoro", "--log-json", "db", "upgrade", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines, done.stderr
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(json.loads(line))
