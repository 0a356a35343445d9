"""What the platforms' webhook endpoints share: the process environment their secrets come from, and
reading a request body no larger than a limit (a larger one is refused while it streams, never held)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from fastapi import HTTPException, Request

__all__ = ["bounded_body", "environ_of"]


def environ_of(request: Request) -> Mapping[str, str]:
    """The environment the app reads secrets from (`app.state.environ` in tests, else the process's)."""
    environ: Mapping[str, str] = getattr(request.app.state, "environ", os.environ)
    return environ


async def bounded_body(request: Request, limit: int) -> bytes:
    """The raw body, or 413 as soon as the declared or streamed size is over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(status_code=413, detail=f"the body is over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(status_code=413, detail=f"the body is over {limit} bytes")
    return bytes(body)
