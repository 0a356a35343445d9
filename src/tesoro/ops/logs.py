"""Structured logs: one JSON object per line, with the request id of the HTTP request being served.

`configure_json_logging` swaps the root handler's formatter; the API's request-id middleware sets
`REQUEST_ID` for the duration of a request, so every line logged while serving it carries the id.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = ["REQUEST_ID", "JsonFormatter", "configure_json_logging"]

REQUEST_ID: ContextVar[str | None] = ContextVar("tesoro_request_id", default=None)


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time (UTC, ISO 8601), level, logger, message, request_id, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # ensure_ascii: a lone surrogate in a post's text still makes a valid line.
        return json.dumps(entry, ensure_ascii=True, default=str)


def configure_json_logging(level: str) -> None:
    """Every handler on the root logger writes JSON lines (one is added on stderr if there is none)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    root.setLevel(level)
