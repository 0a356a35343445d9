"""TikTok API for Business, the brand-mentions calls (`business-api.tiktok.com/open_api/v1.3/`).

The shapes follow what docs/tiktok.md lists as documented, and its assumptions where TikTok's portal
could not be read (the error codes, the limits of `max_count` and the refresh answer's fields):

- `GET /open_api/v1.3/business/mention/video/list/` with the header `Access-Token` and the query
  `business_id`, `fields` (a JSON list), `sort_field` (`CREATE_TIME`, `LIKES`, `COMMENTS`, `SHARES`),
  `sort_type` (`ASC` / `DESC`), `number_of_days`, `cursor` (an offset), `max_count` (1-100). It answers
  TikTok's envelope `{"code": 0, "message": "OK", "request_id", "data": {"videos", "cursor",
  "has_more"}}` with the videos of the world's `tiktok` platform whose caption @mentions the brand
  (`WorldSpec.handle`) and that were created in the last `number_of_days` days, at most the top
  1,000. The list is live: a video posted between two pages shifts the offsets, as it would on TikTok.
- `POST /open_api/v1.3/tt_user/oauth2/refresh_token/` (JSON `client_id`, `client_secret`,
  `grant_type=refresh_token`, `refresh_token`) gives a new access token (`act.…`) that lives
  `SimState.tiktok_business_token_ttl_s`, and a new refresh token (the old one stays valid unless
  `SimState.tiktok_business_rotate_refresh`, which retires it).
- Errors are envelope codes with HTTP 200: 40105 (a wrong, expired or revoked token), 40001 (another
  business_id than the token's), 40002 (a parameter refused), 40100 (too many requests: the requests of
  `SimState.daily_limits["tiktok_business"]`, unset by default, are spent). Faults under
  `tiktok_business.mentions` and `tiktok_business.refresh` answer with HTTP status codes instead.

- Webhooks: `mention_webhook` builds the call TikTok would post when a video @mentions the brand, and
  `notify_mentions` posts it to `SimState.tiktok_business_webhook_url` (the demo's server grows the
  world and notifies as it goes). The envelope is TikTok's (`client_key`, `event`, `create_time`,
  `user_openid`, `content` as a JSON string), signed `TikTok-Signature: t=<unix s>,s=<hex HMAC-SHA256
  of "<t>.<body>" keyed by the app secret>`; the event name `mention.video` and the content
  `{"item_id", "create_time"}` are assumptions (docs/tiktok.md), since TikTok's are not public.

`SimState.tiktok_business_tokens` maps each valid access token to when it expires (`time.time()`):
tests expire or revoke the brand's token there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.common import fault_response
from tesoro.simulator.model import SimPost
from tesoro.simulator.state import SimState

__all__ = [
    "FIELDS",
    "MENTIONS_PATH",
    "MENTIONS_ROUTE",
    "MENTION_EVENT",
    "REFRESH_PATH",
    "REFRESH_ROUTE",
    "mention_webhook",
    "mentions",
    "notify_mentions",
    "routes",
]

log = logging.getLogger(__name__)

MENTIONS_PATH = "/open_api/v1.3/business/mention/video/list/"
REFRESH_PATH = "/open_api/v1.3/tt_user/oauth2/refresh_token/"
MENTIONS_ROUTE = "tiktok_business.mentions"
REFRESH_ROUTE = "tiktok_business.refresh"
TOP = 1_000
# The webhook event the simulator sends for a new mention (assumed: TikTok's names are not public).
MENTION_EVENT = "mention.video"
MAX_COUNT = 100
FIELDS = frozenset(
    {
        "item_id",
        "create_time",
        "video_link",
        "caption",
        "likes",
        "comments",
        "shares",
        "thumbnail_url",
        "creator_handle_name",
        "views",
        "reach",
    }
)
_SORTS = {
    "CREATE_TIME": lambda p: (p.created_at, p.id),
    "LIKES": lambda p: (p.likes, p.id),
    "COMMENTS": lambda p: (p.replies, p.id),
    "SHARES": lambda p: (p.reposts, p.id),
}


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _envelope(code: int, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": secrets.token_hex(12), "data": data or {}}


def mentions(post: SimPost, handle: str) -> bool:
    """Whether TikTok lists the video among the account's mentions: its caption @mentions the handle."""
    return (
        post.platform == "tiktok"
        and post.reply_to is None
        and f"@{handle}".casefold() in post.text.casefold()
    )


def mention_webhook(
    state: SimState, post: SimPost, *, at: datetime | None = None, event: str = MENTION_EVENT
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the webhook call TikTok posts when a video @mentions the brand's account."""
    moment = int((at or datetime.now(UTC)).timestamp())
    content = {"item_id": str(post.id), "create_time": int(post.created_at.timestamp())}
    payload = {
        "client_key": state.credentials.tiktok_app_id,
        "event": event,
        "create_time": moment,
        "user_openid": state.credentials.tiktok_business_id,
        "content": json.dumps(content),
    }
    body = json.dumps(payload).encode()
    secret = state.credentials.tiktok_app_secret.encode()
    digest = hmac.new(secret, f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "TikTok-Signature": f"t={moment},s={digest}",
        "Webhook-Schema-Version": "1.0",
        "X-Tt-Logid": secrets.token_hex(16),
    }
    return body, headers


def notify_mentions(state: SimState, posts: Sequence[SimPost]) -> int:
    """Post TikTok's signed mention webhook call to `state.tiktok_business_webhook_url` for each new
    TikTok video that @mentions the brand; returns the calls answered 2xx. A receiver that fails or is
    down is logged and skipped (TikTok would retry for 72 hours; the source's interval catches up)."""
    url = state.tiktok_business_webhook_url
    if url is None:
        return 0
    delivered = 0
    handle = state.world.spec.handle
    for post in posts:
        if not mentions(post, handle):
            continue
        body, headers = mention_webhook(state, post)
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=10.0)
        except httpx.HTTPError as exc:
            log.warning("simulator: the TikTok mention webhook to %s failed: %s", url, exc)
            continue
        if answer.status_code == 200:
            delivered += 1
        else:
            log.warning("simulator: the TikTok mention webhook to %s answered %s", url, answer.status_code)
    return delivered


def _video(post: SimPost, fields: frozenset[str]) -> dict[str, Any]:
    thumbnail = post.media[0].preview_url if post.media else ""
    video = {
        "item_id": str(post.id),
        "create_time": str(int(post.created_at.timestamp())),
        "video_link": f"https://www.tiktok.com/@{post.author.handle}/video/{post.id}",
        "caption": post.text,
        "likes": post.likes,
        "comments": post.replies,
        "shares": post.reposts,
        "thumbnail_url": thumbnail,
        "creator_handle_name": post.author.handle,
        "views": post.views or 0,
        "reach": (post.views or 0) * 3 // 4,
    }
    return {key: value for key, value in video.items() if key in fields}


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit():
        raise _Refused(40002, f"{name}: must be an integer")
    return int(raw)


def routes(state: SimState) -> list[BaseRoute]:
    """The TikTok API for Business mention routes, bound to `state`."""
    creds = state.credentials
    lock = threading.Lock()
    refresh_tokens = {creds.tiktok_business_refresh_token}
    with lock:
        state.tiktok_business_tokens.setdefault(
            creds.tiktok_business_token, time.time() + state.tiktok_business_token_ttl_s
        )

    async def video_list(request: Request) -> Response:
        faulted = await fault_response(
            state,
            MENTIONS_ROUTE,
            rate_limit_headers={},
            rate_limit_body=_envelope(40100, "Too many requests. Please retry in some time."),
            auth_body=_envelope(40105, "Access token is incorrect or has been revoked."),
            empty_body=_envelope(0, "OK", {"videos": [], "cursor": 0, "has_more": False}),
        )
        if faulted is not None:
            return faulted
        token = request.headers.get("access-token", "")
        with lock:
            expires = state.tiktok_business_tokens.get(token)
        if not token:
            return JSONResponse(_envelope(40104, "Access token is null."))
        if expires is None or expires <= time.time():
            return JSONResponse(_envelope(40105, "Access token is incorrect or has been revoked."))
        if not state.spend("tiktok_business", 1):
            return JSONResponse(_envelope(40100, "Too many requests. Please retry in some time."))
        try:
            return JSONResponse(_envelope(0, "OK", _answer(request)))
        except _Refused as exc:
            return JSONResponse(_envelope(exc.code, str(exc)))

    def _answer(request: Request) -> dict[str, Any]:
        query = request.query_params
        if query.get("business_id") != creds.tiktok_business_id:
            raise _Refused(40001, "No permission to operate this business_id.")
        try:
            fields = frozenset(json.loads(query.get("fields", '["item_id"]')))
        except (ValueError, TypeError):
            raise _Refused(40002, "fields: must be a JSON list of field names") from None
        if not fields or not fields <= FIELDS:
            raise _Refused(40002, f"fields: unknown {sorted(fields - FIELDS)}")
        sort_field = query.get("sort_field", "CREATE_TIME")
        sort_type = query.get("sort_type", "DESC")
        if sort_field not in _SORTS or sort_type not in ("ASC", "DESC"):
            raise _Refused(40002, "sort_field or sort_type: not a known value")
        days = _int(query.get("number_of_days"), "number_of_days", 7)
        count = _int(query.get("max_count"), "max_count", 20)
        offset = _int(query.get("cursor"), "cursor", 0)
        if days < 1 or not 1 <= count <= MAX_COUNT:
            raise _Refused(40002, "number_of_days must be positive and max_count between 1 and 100")
        since = datetime.now(UTC) - timedelta(days=days)
        handle = state.world.spec.handle
        found = [p for p in state.world.posts("tiktok") if p.created_at >= since and mentions(p, handle)]
        found.sort(key=_SORTS[sort_field], reverse=sort_type == "DESC")
        found = found[:TOP]
        chunk = found[offset : offset + count]
        return {
            "videos": [_video(p, fields) for p in chunk],
            "cursor": offset + len(chunk),
            "has_more": offset + len(chunk) < len(found),
        }

    async def refresh(request: Request) -> Response:
        faulted = await fault_response(
            state,
            REFRESH_ROUTE,
            rate_limit_headers={},
            rate_limit_body=_envelope(40100, "Too many requests. Please retry in some time."),
            auth_body=_envelope(40105, "Access token is incorrect or has been revoked."),
            empty_body=_envelope(0, "OK"),
        )
        if faulted is not None:
            return faulted
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse(_envelope(40002, "request body: not JSON"))
        if not isinstance(body, dict) or body.get("grant_type") != "refresh_token":
            return JSONResponse(_envelope(40002, "grant_type: must be refresh_token"))
        if (
            body.get("client_id") != creds.tiktok_app_id
            or body.get("client_secret") != creds.tiktok_app_secret
        ):
            return JSONResponse(_envelope(40001, "client_id or client_secret is incorrect."))
        with lock:
            if body.get("refresh_token") not in refresh_tokens:
                return JSONResponse(_envelope(40002, "refresh_token is invalid or expired."))
            token, renewed = "act." + secrets.token_urlsafe(32), "rft." + secrets.token_urlsafe(32)
            state.tiktok_business_tokens[token] = time.time() + state.tiktok_business_token_ttl_s
            refresh_tokens.add(renewed)
            if state.tiktok_business_rotate_refresh:
                refresh_tokens.discard(body["refresh_token"])
        data = {
            "access_token": token,
            "expires_in": int(state.tiktok_business_token_ttl_s),
            "refresh_token": renewed,
            "refresh_token_expires_in": 31_536_000,
            "open_id": creds.tiktok_business_id,
            "token_type": "Bearer",
        }
        return JSONResponse(_envelope(0, "OK", data))

    return [
        Route(MENTIONS_PATH, video_list, methods=["GET"]),
        Route(REFRESH_PATH, refresh, methods=["POST"]),
    ]
