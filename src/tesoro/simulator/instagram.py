"""The Instagram Graph API (Instagram API with Facebook Login) as the brand's account sees it.

Mounted under `/instagram/v21.0`, so a client's base URL is `{sim.base_url}/instagram/v21.0`
(in production `https://graph.facebook.com/v21.0`):

| route | fault name |
| --- | --- |
| `GET /ig_hashtag_search?user_id=&q=` | `instagram.hashtag_search` |
| `GET /{hashtag-id}/recent_media?user_id=&fields=` | `instagram.recent_media` |
| `GET /{hashtag-id}/top_media?user_id=&fields=` | `instagram.top_media` |
| `GET /{ig-user-id}/tags?fields=` | `instagram.tags` |
| `GET /{ig-user-id}?fields=mentioned_media.media_id(<id>){...}` | `instagram.mentioned_media` |
| `POST /{ig-user-id}/mentions` (`media_id`, `message`) | `instagram.comment` |
| `GET /{ig-comment-id}/replies?fields=` | `instagram.replies` |

How the world is rendered (errors, usage, tokens, fields and paging: `instagram_graph`):

- Every Instagram `SimPost` is an IG Media object, id `MEDIA_BASE + SimPost.id`: one photo is an
  `IMAGE`, several a `CAROUSEL_ALBUM` (with `children`), a video a `VIDEO` (a vertical one is a
  reel, `media_product_type` `REELS`). `like_count` is left out for posts whose owner hides it
  (one in 17), as the real API does. Hashtag media never carry `username` (the API does not give
  the owner of media found by hashtag); tagged and mentioned media do.
- A hashtag's media are the posts with `#tag` in the caption or among `SimPost.hashtags`;
  `recent_media` holds those of the last 24 hours, newest first (as the real edge does),
  `top_media` the most liked first. At most 50 a page (25 by default).
- The account is tagged in one post in four (`tagged`) and mentioned wherever the caption says
  `@<WorldSpec.handle>`; a mention is read with `mentioned_media.media_id(<id>)`, and
  `mention_webhook` builds the signed `mentions` webhook call Meta would post for it, and
  `notify_mentions` posts it to `MetaState.webhook_url` (the demo's server grows the world and
  notifies as it goes).
- Rights requests: `POST /{ig-user-id}/mentions` comments on a media whose caption @mentions the
  account (any other media is refused with code 100, as Meta refuses comments on hashtag media);
  the comment's id is `COMMENT_BASE + SimPost.id`, and the asked author answers under it
  (`tesoro.simulator.rights`); `GET /{ig-comment-id}/replies` reads the answers (`id`, `text`,
  `username`, `timestamp`), oldest first; a comment whose media was deleted is code 100.
- `ig_hashtag_search` counts unique hashtags per account over a rolling 7 days and refuses a
  31st with a Graph error (code 24: Meta documents the limit, not the code it answers with, so
  Tesoro never relies on the code).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.instagram_graph import (
    check_token,
    graph_error,
    graph_fault,
    graph_time,
    page_after,
    requested_fields,
    token_inspection,
)
from tesoro.simulator.model import SimPost
from tesoro.simulator.state import SimState

__all__ = [
    "COMMENT_BASE",
    "MEDIA_BASE",
    "PREFIX",
    "ROUTES",
    "hashtag_id",
    "media_id",
    "mention_webhook",
    "notify_mentions",
    "post_hashtags",
    "routes",
    "tagged",
]

log = logging.getLogger(__name__)

PREFIX = "/instagram/v21.0"
ROUTES: tuple[str, ...] = (
    "instagram.comment",
    "instagram.replies",
    "instagram.hashtag_search",
    "instagram.recent_media",
    "instagram.top_media",
    "instagram.tags",
    "instagram.mentioned_media",
)
MEDIA_BASE = 17_840_000_000_000_000
COMMENT_BASE = 17_850_000_000_000_000
_HASHTAG_BASE = 17_843_000_000_000_000
_MEDIA_FIELDS = ("id",)
_TAG = re.compile(r"(?<![\w/#])#(\w+)", re.UNICODE)
_MENTIONED = re.compile(r"mentioned_media\.media_id\((\d+)\)")
_SHORTCODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def media_id(post: SimPost) -> str:
    return str(MEDIA_BASE + post.id)


def hashtag_id(tag: str) -> str:
    """Hashtag ids are static and global, as Meta's are."""
    return str(_HASHTAG_BASE + zlib.crc32(tag.casefold().encode()) % 10**9)


def post_hashtags(post: SimPost) -> set[str]:
    return {t.casefold() for t in _TAG.findall(post.text)} | {t.casefold() for t in post.hashtags}


def tagged(post: SimPost) -> bool:
    """Whether the brand's account is tagged in the post (one in four, by its id)."""
    return post.kind != "spam" and zlib.crc32(f"tag-{post.id}".encode()) % 4 == 0


def mentions(post: SimPost, handle: str) -> bool:
    return f"@{handle}".casefold() in post.text.casefold()


def _shortcode(post: SimPost) -> str:
    number, out = post.id * 7919 + 12345, ""
    while number:
        number, rest = divmod(number, 64)
        out += _SHORTCODE[rest]
    return out.ljust(11, "A")


def _kind(post: SimPost) -> tuple[str, str]:
    """(media_type, media_product_type)."""
    if len(post.media) > 1:
        return "CAROUSEL_ALBUM", "FEED"
    if post.media and post.media[0].type == "video":
        first = post.media[0]
        return "VIDEO", "REELS" if first.height > first.width else "FEED"
    return "IMAGE", "FEED"


def render(post: SimPost, fields: list[str], *, owner: bool) -> dict[str, Any]:
    """One IG Media object with the requested fields the API gives for it."""
    media_type, product = _kind(post)
    path = "reel" if product == "REELS" else "p"
    first = post.media[0] if post.media else None
    full: dict[str, Any] = {
        "id": media_id(post),
        "caption": post.text,
        "media_type": media_type,
        "media_product_type": product,
        "permalink": f"https://www.instagram.com/{path}/{_shortcode(post)}/",
        "timestamp": graph_time(post.created_at),
        "comments_count": post.replies,
    }
    if post.id % 17 != 0:  # the owner hid the like count
        full["like_count"] = post.likes
    if first is not None:
        full["media_url"] = first.url
        if first.type == "video":
            full["thumbnail_url"] = first.preview_url
    if media_type == "CAROUSEL_ALBUM":
        full["children"] = {
            "data": [
                {
                    "id": str(MEDIA_BASE + post.id * 10 + i),
                    "media_type": "VIDEO" if m.type == "video" else "IMAGE",
                    "media_url": m.url,
                }
                for i, m in enumerate(post.media)
            ]
        }
    if owner:
        full["username"] = post.author.handle
    return {name: full[name] for name in fields if name in full}


def mention_webhook(
    state: SimState, post: SimPost, *, at: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the `mentions` webhook call Meta posts when a caption @mentions the account."""
    moment = at or datetime.now(UTC)
    payload = {
        "object": "instagram",
        "entry": [
            {
                "id": state.credentials.instagram_user_id,
                "time": int(moment.timestamp()),
                "changes": [{"field": "mentions", "value": {"media_id": media_id(post)}}],
            }
        ],
    }
    body = json.dumps(payload).encode()
    digest = hmac.new(state.credentials.meta_app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def notify_mentions(state: SimState, posts: Sequence[SimPost]) -> int:
    """Post Meta's signed `mentions` webhook call to `state.meta.webhook_url` for each new Instagram post
    that @mentions the account, as Meta does when a caption mentions it; returns the calls answered 2xx.
    A receiver that fails or is down is logged and skipped, as Meta gives up on a call after retries."""
    url = state.meta.webhook_url
    if url is None:
        return 0
    delivered = 0
    handle = state.world.spec.handle
    for post in posts:
        if post.platform != "instagram" or not mentions(post, handle):
            continue
        body, headers = mention_webhook(state, post)
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=10.0)
        except httpx.HTTPError as exc:
            log.warning("simulator: the mentions webhook to %s failed: %s", url, exc)
            continue
        if answer.is_success:
            delivered += 1
        else:
            log.warning("simulator: the mentions webhook to %s answered %s", url, answer.status_code)
    return delivered


class _Instagram:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.account = state.credentials.instagram_user_id

    def _posts(self) -> list[SimPost]:
        return self.state.world.posts("instagram")

    async def _guard(self, request: Request, route: str) -> Response | None:
        fault = await graph_fault(self.state, route, self.account)
        if fault is not None:
            return fault
        return check_token(self.state, request, self.state.credentials.instagram_token, self.account)

    def _user_ok(self, value: str | None) -> Response | None:
        if value != self.account:
            return graph_error(
                400, 100, f"(#100) Invalid user id: {value!r} is not an Instagram professional account"
            )
        return None

    async def hashtag_search(self, request: Request) -> Response:
        refused = await self._guard(request, "instagram.hashtag_search")
        if refused is not None:
            return refused
        user = request.query_params.get("user_id")
        query = (request.query_params.get("q") or "").strip().lstrip("#").casefold()
        if (bad := self._user_ok(user)) is not None:
            return bad
        if not query or not re.fullmatch(r"\w+", query):
            return graph_error(400, 100, "(#100) The parameter q is required and must be a hashtag name")
        if not self.state.meta.search_hashtag(self.account, query):
            return graph_error(
                400,
                24,
                "(#24) This account has searched 30 unique hashtags in the last 7 days",
                subcode=2207024,
            )
        return JSONResponse({"data": [{"id": hashtag_id(query)}]})

    def _hashtag_edge(
        self, route: str, order: Callable[[list[SimPost]], list[SimPost]]
    ) -> Callable[[Request], Any]:
        async def edge(request: Request) -> Response:
            refused = await self._guard(request, route)
            if refused is not None:
                return refused
            if (bad := self._user_ok(request.query_params.get("user_id"))) is not None:
                return bad
            wanted = request.path_params["hashtag_id"]
            # Hashtag ids are static and global: one searched earlier (by another simulator run) still works.
            searched = set(self.state.meta.hashtag_searches.get(self.account, {}))
            known = searched.union(*(post_hashtags(p) for p in self._posts()))
            tag = next((t for t in known if hashtag_id(t) == wanted), None)
            if tag is None:
                return graph_error(
                    400, 100, f"(#100) Unsupported get request. Object {wanted!r} does not exist"
                )
            fields = requested_fields(request, _MEDIA_FIELDS)
            posts = order([p for p in self._posts() if tag in post_hashtags(p)])
            items = [(p.id, render(p, fields, owner=False)) for p in posts]
            return JSONResponse(page_after(request, items, default=25, most=50))

        return edge

    async def tags(self, request: Request) -> Response:
        refused = await self._guard(request, "instagram.tags")
        if refused is not None:
            return refused
        if (bad := self._user_ok(request.path_params["user_id"])) is not None:
            return bad
        fields = requested_fields(request, _MEDIA_FIELDS)
        posts = sorted((p for p in self._posts() if tagged(p)), key=lambda p: p.id, reverse=True)
        items = [(p.id, render(p, fields, owner=True)) for p in posts]
        return JSONResponse(page_after(request, items, default=25, most=50))

    async def debug_token(self, request: Request) -> Response:
        """Meta's token inspection, the token asking about itself: when it expires, what it may do."""
        refused = await self._guard(request, "instagram.debug_token")
        if refused is not None:
            return refused
        scopes = ("instagram_basic", "instagram_manage_comments", "pages_show_list")
        return token_inspection(self.state, request, self.account, scopes)

    async def user(self, request: Request) -> Response:
        refused = await self._guard(request, "instagram.mentioned_media")
        if refused is not None:
            return refused
        if (bad := self._user_ok(request.path_params["user_id"])) is not None:
            return bad
        raw = request.query_params.get("fields", "")
        found = _MENTIONED.search(raw)
        if found is None:
            return JSONResponse({"id": self.account})
        inner = _braced(raw[found.end() :]) or "id"
        wanted = int(found.group(1)) - MEDIA_BASE
        post = next((p for p in self._posts() if p.id == wanted), None)
        if post is None or not mentions(post, self.state.world.spec.handle):
            return graph_error(
                400, 100, f"(#100) Media {found.group(1)} does not mention this account or does not exist"
            )
        fields = _top_level(inner)
        return JSONResponse({"mentioned_media": render(post, fields, owner=True), "id": self.account})

    async def mention_comment(self, request: Request) -> Response:
        """`POST /{ig-user-id}/mentions`: the brand comments on a media that @mentions it (rights request)."""
        refused = await self._guard(request, "instagram.comment")
        if refused is not None:
            return refused
        if (bad := self._user_ok(request.path_params["user_id"])) is not None:
            return bad
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        message = form.get("message") or request.query_params.get("message") or ""
        raw = form.get("media_id") or request.query_params.get("media_id") or ""
        if not message.strip() or len(message) > 2200:
            return graph_error(
                400, 100, "(#100) The parameter message is required (at most 2,200 characters)"
            )
        wanted = int(raw) - MEDIA_BASE if raw.isdigit() else -1
        post = next((p for p in self._posts() if p.id == wanted), None)
        if post is None or not mentions(post, self.state.world.spec.handle):
            return graph_error(
                400,
                100,
                f"(#100) Media {raw!r} does not exist or does not @mention this account in its caption",
            )
        try:
            mine = self.state.world.reply(post.id, message)
        except KeyError:
            return graph_error(400, 100, f"(#100) Media {raw!r} does not exist")
        return JSONResponse({"id": str(COMMENT_BASE + mine.id)})

    async def replies(self, request: Request) -> Response:
        """`GET /{ig-comment-id}/replies`: the replies under one of the brand's comments, oldest first."""
        refused = await self._guard(request, "instagram.replies")
        if refused is not None:
            return refused
        raw = request.path_params["comment_id"]
        world = self.state.world
        mine = world.find(int(raw) - COMMENT_BASE) if raw.isdigit() else None
        if mine is None or mine.reply_to is None or world.find(mine.reply_to) is None:
            return graph_error(
                400, 100, f"(#100) Unsupported get request. Object with ID {raw!r} does not exist"
            )
        fields = requested_fields(request, ("id", "text", "timestamp"))
        items = []
        for reply in world.thread(mine.id):
            full = {
                "id": str(COMMENT_BASE + reply.id),
                "text": reply.text,
                "username": reply.author.handle,
                "timestamp": graph_time(reply.created_at),
            }
            items.append((reply.id, {k: full[k] for k in fields if k in full}))
        return JSONResponse(page_after(request, items, default=25, most=50))


def _braced(text: str) -> str | None:
    """What the `{...}` at the start of `text` holds (nested braces kept), or None."""
    if not text.startswith("{"):
        return None
    depth = 0
    for i, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return text[1:i]
    return None


def _top_level(fields: str) -> list[str]:
    """The top-level names of a Graph `fields` list (`a,b{c,d},e` -> a, b, e)."""
    names, depth, current = [], 0, ""
    for char in fields + ",":
        if char == "," and depth == 0:
            if current.strip():
                names.append(current.strip().split("{", 1)[0].split(".", 1)[0])
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current += char
    return names


def _recent(posts: list[SimPost]) -> list[SimPost]:
    since = datetime.now(UTC) - timedelta(hours=24)
    return sorted((p for p in posts if p.created_at >= since), key=lambda p: p.id, reverse=True)


def _top(posts: list[SimPost]) -> list[SimPost]:
    return sorted(posts, key=lambda p: (p.likes, p.id), reverse=True)


def routes(state: SimState) -> list[BaseRoute]:
    api = _Instagram(state)
    return [
        Route(f"{PREFIX}/ig_hashtag_search", api.hashtag_search, methods=["GET"]),
        Route(
            f"{PREFIX}/{{hashtag_id}}/recent_media",
            api._hashtag_edge("instagram.recent_media", _recent),
            methods=["GET"],
        ),
        Route(
            f"{PREFIX}/{{hashtag_id}}/top_media",
            api._hashtag_edge("instagram.top_media", _top),
            methods=["GET"],
        ),
        Route(f"{PREFIX}/{{user_id}}/tags", api.tags, methods=["GET"]),
        Route(f"{PREFIX}/{{user_id}}/mentions", api.mention_comment, methods=["POST"]),
        Route(f"{PREFIX}/{{comment_id}}/replies", api.replies, methods=["GET"]),
        Route(f"{PREFIX}/debug_token", api.debug_token, methods=["GET"]),
        Route(f"{PREFIX}/{{user_id}}", api.user, methods=["GET"]),
    ]
