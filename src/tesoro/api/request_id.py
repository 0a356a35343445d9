"""Every request gets an id: the caller's `X-Request-ID` when it is a sane token, else a new one.

It is answered in the `X-Request-ID` header and set in `tesoro.ops.logs.REQUEST_ID` while the
request is served, so each JSON log line written meanwhile carries it.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tesoro.ops.logs import REQUEST_ID

__all__ = ["RequestIdMiddleware", "request_id_for"]

# A proxy's id is kept only if it could not smuggle anything into a log line or a header.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_for(given: str) -> str:
    """The id a request is answered with: `given` (its X-Request-ID) when sane, else a new one."""
    return given if _SANE.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = request_id_for(given)
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
