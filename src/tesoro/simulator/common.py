"""Helpers the platform modules share: fault answers and query matching."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache

from starlette.responses import JSONResponse, Response

from tesoro.simulator.faults import Fault
from tesoro.simulator.state import SimState

__all__ = ["fault_response", "loose_match"]


async def fault_response(
    state: SimState,
    route: str,
    *,
    rate_limit_headers: dict[str, str],
    rate_limit_body: object,
    auth_body: object,
    empty_body: object,
) -> Response | None:
    """Answer with the pending fault for `route`, or None to serve normally.

    Each platform passes its own 429 headers and error bodies so clients see the
    exact shapes they parse in production.
    """
    fault = state.faults.take(route)
    if fault is None:
        return None
    if fault is Fault.RATE_LIMIT:
        return JSONResponse(rate_limit_body, status_code=429, headers=rate_limit_headers)
    if fault is Fault.SERVER_ERROR:
        return JSONResponse({"error": "internal error (injected)"}, status_code=503)
    if fault is Fault.AUTH:
        return JSONResponse(auth_body, status_code=401)
    if fault is Fault.TIMEOUT:
        await asyncio.sleep(state.timeout_hold_s)
        return JSONResponse({"error": "gateway timeout (injected)"}, status_code=504)
    if fault is Fault.MALFORMED:
        return Response('{"data": [ {"id": "1", "text": ', media_type="application/json")
    return JSONResponse(empty_body)


_WORD = re.compile(r"[\w#@']+", re.UNICODE)


@lru_cache(maxsize=256)
def _loose_words(query: str) -> frozenset[str]:
    """The words `loose_match` looks for (a search pages through the world once per request, so the
    query is read once, not once per post)."""
    kept = " ".join(t for t in query.split() if not t.startswith("-") and ":" not in t)
    return frozenset({w.casefold().lstrip("#@") for w in _WORD.findall(kept)} - {"and", "or", "not", ""})


def loose_match(query: str, text: str) -> bool:
    """A deliberately broad search like a platform's own: any query word in the text.

    Operators, quotes and negations are ignored on purpose; Tesoro re-checks every
    match locally, and the simulator should exercise that re-check.
    """
    words = _loose_words(query)
    if not words:
        return True
    haystack = text.casefold()
    return any(w in haystack for w in words)
