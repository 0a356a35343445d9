"""What Meta's two Graph APIs (Instagram and Threads) share in the simulator: errors, usage, paging.

- **Errors** are Graph API error objects, `{"error": {"message", "type", "code", "error_subcode",
  "fbtrace_id"}}`: an expired token is code 190 with subcode 463 (HTTP 400), any other refused
  token 190 without it; rate limits are codes 4 (app), 17 (user), 32 (page) or 613 (this call),
  HTTP 400, with Meta's usage headers (`X-App-Usage`, and `X-Business-Use-Case-Usage` whose
  `estimated_time_to_regain_access` is in minutes); a server fault is code 2 with `is_transient`
  (HTTP 500).
- **Usage**: each token may make `MetaState.calls_per_hour` calls per rolling hour (Meta's
  200-per-user figure scaled up so the demo never meets it); the next answers code 4 (or the code
  a test sets in `MetaState.rate_limit_code`) until the window moves on, or `reset_usage()`.
- **Tokens**: a token in `MetaState.expired` is answered as expired (190/463), as a long-lived
  token is 60 days after it was issued.
- **Fields** are honoured at the top level (`id,caption,children{media_url}` returns `id`,
  `caption` and `children`), as the real API returns only what was asked for.
- **Paging** is by opaque cursors: `paging.cursors.after` (and `paging.next`, a full URL) while
  more remain; `after` is the base64 of the last id handed out, so new posts never shift a page.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tesoro.simulator.faults import Fault

__all__ = [
    "MetaState",
    "graph_error",
    "graph_fault",
    "graph_time",
    "page_after",
    "requested_fields",
    "token_of",
]

RATE_LIMIT_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}
# How long (minutes) an injected or reached rate limit says access returns in: short for the demo.
REGAIN_MINUTES = 1


# A long-lived user token lasts about 60 days (Meta's access-token documentation).
LONG_LIVED_TOKEN_S = 60 * 24 * 3600


@dataclass
class MetaState:
    """Meta's per-token bookkeeping in the simulator; thread-safe."""

    calls_per_hour: int = 20_000
    # Threads: keyword queries per user per rolling 24 hours (Meta's documented figure).
    keyword_queries_per_day: int = 2_200
    rate_limit_code: int = 4
    expired: set[str] = field(default_factory=set)
    # When each token expires (unix seconds; 0: never), as debug_token reports it; a token not named
    # here is a long-lived one, 60 days from the moment it is asked about.
    token_expires: dict[str, float] = field(default_factory=dict)
    # Where Meta posts webhook calls (Tesoro's /api/webhooks/meta); None: nowhere.
    webhook_url: str | None = None
    # Instagram: per account, hashtag (folded) -> when it was first searched in its 7-day window.
    hashtag_searches: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    _calls: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def expires_at(self, token: str, now: float | None = None) -> int:
        """Meta's `expires_at` for `token`: unix seconds, 0 for a token that never expires."""
        now = time.time() if now is None else now
        with self._lock:
            return int(self.token_expires.get(token, now + LONG_LIVED_TOKEN_S))

    def spend(self, token: str, now: float | None = None) -> bool:
        """Count a call by `token`; False when its hour's calls are spent (the call is refused)."""
        now = time.time() if now is None else now
        with self._lock:
            calls = self._calls[token]
            while calls and calls[0] <= now - 3600:
                calls.popleft()
            if len(calls) >= self.calls_per_hour:
                return False
            calls.append(now)
            return True

    def spend_window(self, key: str, limit: int, window_s: float, now: float | None = None) -> bool:
        """Count one use of a budget of `limit` per rolling `window_s` (Threads' keyword queries)."""
        now = time.time() if now is None else now
        with self._lock:
            uses = self._calls[key]
            while uses and uses[0] <= now - window_s:
                uses.popleft()
            if len(uses) >= limit:
                return False
            uses.append(now)
            return True

    def reset_usage(self) -> None:
        """The hour moves on: every token may call again."""
        with self._lock:
            self._calls.clear()

    def search_hashtag(self, account: str, hashtag: str, now: float | None = None) -> bool:
        """Count a hashtag search for `account`; False when it would be an account's 31st unique
        hashtag in 7 days (a hashtag searched again inside its window costs nothing)."""
        now = time.time() if now is None else now
        week = 7 * 86400
        with self._lock:
            searched = self.hashtag_searches[account]
            for tag, at in list(searched.items()):
                if at <= now - week:
                    del searched[tag]
            if hashtag in searched:
                return True
            if len(searched) >= 30:
                return False
            searched[hashtag] = now
            return True


def token_of(request: Request) -> str:
    """The access token: `Authorization: Bearer|OAuth <token>`, or the `access_token` parameter."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.casefold() in ("bearer", "oauth") and value:
        return value.strip()
    return request.query_params.get("access_token", "")


def graph_error(
    status: int,
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
    headers: Mapping[str, str] | None = None,
    transient: bool = False,
) -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AsimTRACE0001"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    return JSONResponse({"error": error}, status_code=status, headers=dict(headers or {}))


def rate_limited(code: int, account: str) -> JSONResponse:
    usage = {
        account: [
            {
                "type": "instagram",
                "call_count": 100,
                "total_cputime": 25,
                "total_time": 25,
                "estimated_time_to_regain_access": REGAIN_MINUTES,
            }
        ]
    }
    headers = {
        "X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 20, "total_time": 20}),
        "X-Business-Use-Case-Usage": json.dumps(usage),
    }
    message = RATE_LIMIT_MESSAGES.get(code, RATE_LIMIT_MESSAGES[4])
    return graph_error(400, code, message, headers=headers, transient=True)


def expired_token() -> JSONResponse:
    return graph_error(
        400,
        190,
        "Error validating access token: Session has expired on Sunday, 06-Dec-26 12:00:00 PST.",
        subcode=463,
    )


def invalid_token() -> JSONResponse:
    return graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")


async def graph_fault(state: Any, route: str, account: str) -> Response | None:
    """The injected fault for `route` in Graph shapes (`state` is the SimState), or None."""
    fault = state.faults.take(route)
    if fault is None:
        return None
    if fault is Fault.RATE_LIMIT:
        return rate_limited(state.meta.rate_limit_code, account)
    if fault is Fault.AUTH:
        return expired_token()
    if fault is Fault.SERVER_ERROR:
        return graph_error(
            500, 2, "An unexpected error has occurred. Please retry your request later.", transient=True
        )
    if fault is Fault.TIMEOUT:
        await asyncio.sleep(state.timeout_hold_s)
        return JSONResponse({"error": "gateway timeout (injected)"}, status_code=504)
    if fault is Fault.MALFORMED:
        return Response('{"data": [ {"id": "1", "caption": ', media_type="application/json")
    return JSONResponse({"data": []})


def check_token(state: Any, request: Request, expected: str, account: str) -> Response | None:
    """None when the request's token is `expected`, live and within its hour's calls."""
    token = token_of(request)
    if token in state.meta.expired:
        return expired_token()
    if token != expected:
        return invalid_token()
    if not state.meta.spend(token):
        return rate_limited(state.meta.rate_limit_code, account)
    return None


def token_inspection(state: Any, request: Request, account: str, scopes: Sequence[str]) -> Response:
    """Meta's `debug_token` answer when a token asks about itself (Instagram and Threads alike): when it
    expires (0: never), whether it is valid and what it may do. Another token is refused, as Meta refuses
    one of another app."""
    token = request.query_params.get("input_token") or ""
    if token != token_of(request):
        return graph_error(400, 100, "(#100) input_token: only the caller's own token is inspected here")
    expires = state.meta.expires_at(token)
    data = {
        "app_id": "sim-app",
        "type": "USER",
        "application": "Tesoro (simulator)",
        "expires_at": expires,
        "data_access_expires_at": expires,
        "is_valid": True,
        "scopes": list(scopes),
        "user_id": account,
    }
    return JSONResponse({"data": data})


def graph_time(moment: datetime) -> str:
    """Meta's timestamp format: `2026-12-07T12:00:00+0000`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def requested_fields(request: Request, default: Sequence[str]) -> list[str]:
    """The top-level names in `fields` (nested `{...}` and `.modifier(...)` parts skipped)."""
    raw = request.query_params.get("fields")
    if not raw:
        return list(default)
    names: list[str] = []
    depth, current = 0, ""
    for char in raw:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(current)
            current = ""
            continue
        if depth == 0 and char not in "})":
            current += char
    names.append(current)
    return [name.split(".")[0].strip() for name in names if name.strip()]


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        return None


def limit_of(request: Request, default: int, most: int) -> int:
    try:
        return max(1, min(int(request.query_params.get("limit", default)), most))
    except ValueError:
        return default


def page_after(
    request: Request, items: Sequence[tuple[int, dict[str, Any]]], *, default: int, most: int
) -> dict[str, Any]:
    """One page of `items` ((sort key, rendered item), in the order served) after the request's cursor."""
    after = decode_cursor(request.query_params.get("after"))
    limit = limit_of(request, default, most)
    start = 0
    if after is not None:
        start = next((i + 1 for i, (key, _) in enumerate(items) if key == after), len(items))
    chunk = items[start : start + limit]
    body: dict[str, Any] = {"data": [item for _, item in chunk]}
    if chunk:
        cursors = {"before": encode_cursor(chunk[0][0]), "after": encode_cursor(chunk[-1][0])}
        body["paging"] = {"cursors": cursors}
        if start + limit < len(items):
            params = dict(request.query_params) | {"after": cursors["after"]}
            params.pop("access_token", None)
            body["paging"]["next"] = f"{request.url.replace(query='')}?{urlencode(params)}"
    return body
