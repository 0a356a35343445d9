"""TikTok Research API v2 (`open.tiktokapis.com/v2/`), as its public documentation describes it.

- `POST /v2/oauth/token/` (form: `client_key`, `client_secret`, `grant_type=client_credentials`) gives
  a client access token (`clt.…`) that lives `SimState.tiktok_token_ttl_s` seconds (7,200 on TikTok);
  wrong credentials answer `{"error": "invalid_client", ...}`.
- `POST /v2/research/video/query/?fields=…` with a JSON body: `query` (`and` / `or` / `not` lists of
  conditions on `keyword`, `hashtag_name`, `username`, `region_code`, operations `IN` / `EQ`),
  `start_date` / `end_date` (`YYYYMMDD`, UTC, both inclusive, at most 30 days apart), `max_count`
  (at most 100), `cursor` and `search_id` for the next pages of the same search. Answers
  `{"data": {"videos", "cursor", "has_more", "search_id"}, "error": {"code": "ok", ...}}`; only the
  fields asked for are served.
- Errors in TikTok's envelope: 401 `access_token_invalid` (a wrong or expired token), 400
  `invalid_params`, 429 `rate_limit_exceeded` (the daily 1,000 requests of
  `SimState.daily_limits["tiktok"]` are spent, or the RATE_LIMIT fault). Faults are injected under
  `tiktok.token` and `tiktok.query`.

Every root post of the world's `tiktok` platform is a video; replies are not served.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.common import fault_response
from tesoro.simulator.model import SimPost
from tesoro.simulator.state import SimState

__all__ = ["FIELDS", "MAX_WINDOW_DAYS", "QUERY_PATH", "QUERY_ROUTE", "TOKEN_PATH", "TOKEN_ROUTE", "routes"]

TOKEN_PATH = "/v2/oauth/token/"
QUERY_PATH = "/v2/research/video/query/"
TOKEN_ROUTE = "tiktok.token"
QUERY_ROUTE = "tiktok.query"
MAX_WINDOW_DAYS = 30
MAX_COUNT = 100
FIELDS = frozenset(
    {
        "id",
        "video_description",
        "create_time",
        "region_code",
        "share_count",
        "view_count",
        "like_count",
        "comment_count",
        "music_id",
        "hashtag_names",
        "username",
        "effect_ids",
        "playlist_id",
        "voice_to_text",
        "is_stem_verified",
        "favourites_count",
        "video_duration",
    }
)
_CONDITION_FIELDS = frozenset(
    {"keyword", "hashtag_name", "username", "region_code", "video_id", "create_date"}
)


class _Invalid(Exception):
    pass


def _envelope(code: str, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"data": data or {}, "error": {"code": code, "message": message, "log_id": secrets.token_hex(10)}}


def _region(post: SimPost) -> str:
    return "ES" if post.lang == "es" and post.author.id % 3 else ("MX" if post.lang == "es" else "US")


def _video(post: SimPost, fields: frozenset[str]) -> dict[str, Any]:
    duration = post.media[0].duration_ms if post.media and post.media[0].duration_ms else 0
    video = {
        "id": post.id,
        "video_description": post.text,
        "create_time": int(post.created_at.timestamp()),
        "region_code": _region(post),
        "share_count": post.reposts,
        "view_count": post.views or 0,
        "like_count": post.likes,
        "comment_count": post.replies,
        "music_id": 7_000_000_000_000_000_000 + post.id,
        "hashtag_names": list(post.hashtags),
        "username": post.author.handle,
        "effect_ids": [],
        "playlist_id": 0,
        "voice_to_text": "",
        "is_stem_verified": False,
        "favourites_count": post.likes // 10,
        "video_duration": round(duration / 1000),
    }
    return {key: value for key, value in video.items() if key in fields}


def _day(raw: Any, name: str) -> date:
    if not isinstance(raw, str) or len(raw) != 8 or not raw.isdigit():
        raise _Invalid(f"Invalid {name}: must be a string of the form YYYYMMDD")
    try:
        return datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        raise _Invalid(f"Invalid {name}: {raw}") from None


def _conditions(query: Any, key: str) -> list[dict[str, Any]]:
    raw = query.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise _Invalid(f"Invalid query.{key}: must be a list of conditions")
    for condition in raw:
        if condition.get("field_name") not in _CONDITION_FIELDS:
            raise _Invalid(f"Invalid field_name: {condition.get('field_name')}")
        if condition.get("operation") not in ("IN", "EQ", "GT", "GTE", "LT", "LTE"):
            raise _Invalid(f"Invalid operation: {condition.get('operation')}")
        values = condition.get("field_values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise _Invalid("Invalid field_values: must be a non-empty list of strings")
    return raw


def _holds(condition: dict[str, Any], post: SimPost) -> bool:
    values = [v.casefold() for v in condition["field_values"]]
    name = condition["field_name"]
    if name == "keyword":
        text = post.text.casefold()
        return any(v in text for v in values)
    if name == "hashtag_name":
        return any(v.lstrip("#") in post.hashtags for v in values)
    if name == "username":
        return post.author.handle.casefold() in values
    if name == "region_code":
        return _region(post).casefold() in values
    if name == "video_id":
        return str(post.id) in values
    return True  # create_date: the window already bounds it


def _matches(query: dict[str, Any], post: SimPost) -> bool:
    ands, ors, nots = (_conditions(query, k) for k in ("and", "or", "not"))
    return (
        all(_holds(c, post) for c in ands)
        and (not ors or any(_holds(c, post) for c in ors))
        and not any(_holds(c, post) for c in nots)
    )


def routes(state: SimState) -> list[BaseRoute]:
    """The TikTok routes, bound to `state`."""
    tokens: dict[str, float] = {}  # access token -> when it expires (time.time())
    searches: dict[str, list[int]] = {}  # search_id -> the ids it found, in the order served
    lock = threading.Lock()

    async def token(request: Request) -> Response:
        faulted = await fault_response(
            state,
            TOKEN_ROUTE,
            rate_limit_headers={},
            rate_limit_body={"error": "rate_limit_exceeded", "error_description": "Too many requests"},
            auth_body={"error": "invalid_client", "error_description": "Client key or secret is incorrect."},
            empty_body={},
        )
        if faulted is not None:
            return faulted
        # A urlencoded form, read by hand (Starlette's form parser needs python-multipart).
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        creds = state.credentials
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "Grant type is not supported."},
                status_code=400,
            )
        if (
            form.get("client_key") != creds.tiktok_client_key
            or form.get("client_secret") != creds.tiktok_client_secret
        ):
            body = {
                "error": "invalid_client",
                "error_description": "Client key or secret is incorrect.",
                "log_id": secrets.token_hex(10),
            }
            return JSONResponse(body, status_code=401)
        value = "clt." + secrets.token_urlsafe(32)
        with lock:
            tokens[value] = time.time() + state.tiktok_token_ttl_s
        return JSONResponse(
            {"access_token": value, "expires_in": int(state.tiktok_token_ttl_s), "token_type": "Bearer"}
        )

    async def query(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        bearer = header[7:] if header.lower().startswith("bearer ") else ""
        with lock:
            expires = tokens.get(bearer)
        if expires is None or expires <= time.time():
            message = "The access token is invalid or not found in the request."
            return JSONResponse(_envelope("access_token_invalid", message), status_code=401)
        faulted = await fault_response(
            state,
            QUERY_ROUTE,
            rate_limit_headers={},
            rate_limit_body=_envelope("rate_limit_exceeded", "API rate limit exceeded, please retry later."),
            auth_body=_envelope(
                "access_token_invalid", "The access token is invalid or not found in the request."
            ),
            empty_body=_envelope("ok", "", {"videos": [], "cursor": 0, "has_more": False, "search_id": "0"}),
        )
        if faulted is not None:
            return faulted
        if not state.spend("tiktok", 1):
            message = "You have exceeded the daily request limit of the Research API. It resets at 00:00 UTC."
            return JSONResponse(_envelope("rate_limit_exceeded", message), status_code=429)
        try:
            return JSONResponse(_envelope("ok", "", _answer(state, request, await request.body())))
        except _Invalid as exc:
            return JSONResponse(_envelope("invalid_params", str(exc)), status_code=400)

    def _answer(state: SimState, request: Request, raw: bytes) -> dict[str, Any]:
        fields = frozenset(f for f in request.query_params.get("fields", "").split(",") if f)
        if not fields or not fields <= FIELDS:
            raise _Invalid(f"Invalid fields: {sorted(fields - FIELDS) or 'none given'}")
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Invalid("Invalid request body: not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("query"), dict):
            raise _Invalid("Invalid query: required")
        start, end = _day(body.get("start_date"), "start_date"), _day(body.get("end_date"), "end_date")
        if end < start or end - start > timedelta(days=MAX_WINDOW_DAYS):
            raise _Invalid("Invalid end_date: must be no more than 30 days after start_date")
        count = body.get("max_count", 20)
        if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            raise _Invalid("Invalid max_count: must be between 1 and 100")
        offset = body.get("cursor", 0)
        if not isinstance(offset, int) or offset < 0:
            raise _Invalid("Invalid cursor")
        query = body["query"]
        if not any(_conditions(query, k) for k in ("and", "or", "not")):
            raise _Invalid("Invalid query: at least one non-empty and, or or not list is required")
        search_id = body.get("search_id")
        with lock:
            found = searches.get(search_id) if isinstance(search_id, str) and search_id else None
        if search_id and found is None:
            raise _Invalid(f"Invalid search_id: {search_id}")
        if found is None:
            low = datetime(start.year, start.month, start.day, tzinfo=UTC)
            high = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
            found = [
                p.id
                for p in state.world.posts("tiktok")
                if p.reply_to is None and low <= p.created_at < high and _matches(query, p)
            ]
            search_id = str(7_200_000_000_000_000_000 + len(searches))
            with lock:
                searches[search_id] = found
        by_id = {p.id: p for p in state.world.posts("tiktok")}
        chunk = found[offset : offset + count]
        # A video deleted since the search began is left out, as on TikTok (fewer than max_count).
        videos = [_video(by_id[i], fields) for i in chunk if i in by_id]
        return {
            "videos": videos,
            "cursor": offset + len(chunk),
            "has_more": offset + len(chunk) < len(found),
            "search_id": search_id,
        }

    return [
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route(QUERY_PATH, query, methods=["POST"]),
    ]
