"""The Threads API (`graph.threads.net/v1.0`): keyword search and the profile's mentions.

Mounted under `/threads/v1.0`:

| route | fault name |
| --- | --- |
| `GET /keyword_search?q=&search_type=RECENT\\|TOP&fields=` | `threads.keyword_search` |
| `GET /{threads-user-id}/mentions?fields=` | `threads.mentions` |
| `GET /debug_token?input_token=` (the caller's own token) | `threads.debug_token` |

Errors, usage, tokens, fields and paging are Meta's (`instagram_graph`). Every Threads `SimPost`
is a Threads media object, id `MEDIA_BASE + SimPost.id`: `TEXT_POST` without media, else
`IMAGE`, `VIDEO` or `CAROUSEL_ALBUM`, with `username`, `permalink`, `timestamp`, `shortcode`,
`is_reply`, `is_quote_post` and `has_replies`. Search results carry no like or reply counts (the
API gives those only to the post's owner, through insights). Keyword search matches the text
loosely (`common.loose_match`), `RECENT` newest first and `TOP` most liked first, at most 100 a
page (25 by default); each query that finds something costs one of the user's 2,200 a rolling
day (`MetaState.keyword_queries_per_day`), and the next answers rate-limit code 613. Mentions are
the posts that say `@<WorldSpec.handle>`, newest first.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.common import loose_match
from tesoro.simulator.instagram_graph import (
    check_token,
    graph_error,
    graph_fault,
    graph_time,
    page_after,
    rate_limited,
    requested_fields,
    token_inspection,
    token_of,
)
from tesoro.simulator.model import SimPost
from tesoro.simulator.state import SimState

__all__ = ["MEDIA_BASE", "PREFIX", "ROUTES", "routes", "thread_id"]

PREFIX = "/threads/v1.0"
ROUTES: tuple[str, ...] = ("threads.keyword_search", "threads.mentions")
MEDIA_BASE = 18_050_000_000_000_000
_SHORTCODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def thread_id(post: SimPost) -> str:
    return str(MEDIA_BASE + post.id)


def _shortcode(post: SimPost) -> str:
    number, out = post.id * 104729 + 777, ""
    while number:
        number, rest = divmod(number, 64)
        out += _SHORTCODE[rest]
    return out.ljust(11, "C")


def render(post: SimPost, fields: list[str]) -> dict[str, Any]:
    if not post.media:
        media_type = "TEXT_POST"
    elif len(post.media) > 1:
        media_type = "CAROUSEL_ALBUM"
    else:
        media_type = "VIDEO" if post.media[0].type == "video" else "IMAGE"
    code = _shortcode(post)
    full: dict[str, Any] = {
        "id": thread_id(post),
        "media_product_type": "THREADS",
        "media_type": media_type,
        "text": post.text,
        "username": post.author.handle,
        "permalink": f"https://www.threads.net/@{post.author.handle}/post/{code}",
        "shortcode": code,
        "timestamp": graph_time(post.created_at),
        "is_reply": post.reply_to is not None,
        "is_quote_post": post.quote_of is not None,
        "has_replies": post.replies > 0,
    }
    if post.media:
        full["media_url"] = post.media[0].url
        if post.media[0].type == "video":
            full["thumbnail_url"] = post.media[0].preview_url
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
    return {name: full[name] for name in fields if name in full}


class _Threads:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.account = state.credentials.threads_user_id

    async def _guard(self, request: Request, route: str) -> Response | None:
        fault = await graph_fault(self.state, route, self.account)
        if fault is not None:
            return fault
        return check_token(self.state, request, self.state.credentials.threads_token, self.account)

    async def keyword_search(self, request: Request) -> Response:
        refused = await self._guard(request, "threads.keyword_search")
        if refused is not None:
            return refused
        query = request.query_params.get("q", "").strip()
        search_type = request.query_params.get("search_type", "TOP").upper()
        if not query:
            return graph_error(400, 100, "(#100) The parameter q is required")
        if search_type not in ("TOP", "RECENT"):
            return graph_error(400, 100, f"(#100) search_type must be TOP or RECENT, not {search_type!r}")
        posts = [p for p in self.state.world.posts("threads") if loose_match(query, p.text)]
        if posts and not self.state.meta.spend_window(
            f"keyword:{token_of(request)}", self.state.meta.keyword_queries_per_day, 86_400
        ):
            return rate_limited(613, self.account)
        if search_type == "RECENT":
            posts.sort(key=lambda p: p.id, reverse=True)
        else:
            posts.sort(key=lambda p: (p.likes, p.id), reverse=True)
        fields = requested_fields(request, ("id",))
        items = [(p.id, render(p, fields)) for p in posts]
        return JSONResponse(page_after(request, items, default=25, most=100))

    async def mentions(self, request: Request) -> Response:
        refused = await self._guard(request, "threads.mentions")
        if refused is not None:
            return refused
        if request.path_params["user_id"] not in (self.account, "me"):
            return graph_error(400, 100, "(#100) Invalid user id")
        handle = f"@{self.state.world.spec.handle}".casefold()
        posts = sorted(
            (p for p in self.state.world.posts("threads") if handle in p.text.casefold()),
            key=lambda p: p.id,
            reverse=True,
        )
        fields = requested_fields(request, ("id",))
        items = [(p.id, render(p, fields)) for p in posts]
        return JSONResponse(page_after(request, items, default=25, most=100))

    async def debug_token(self, request: Request) -> Response:
        """The Threads host's own `debug_token`: the brand's token asking when it expires."""
        refused = await self._guard(request, "threads.debug_token")
        if refused is not None:
            return refused
        scopes = ("threads_basic", "threads_keyword_search")
        return token_inspection(self.state, request, self.account, scopes)


def routes(state: SimState) -> list[BaseRoute]:
    api = _Threads(state)
    return [
        Route(f"{PREFIX}/debug_token", api.debug_token, methods=["GET"]),
        Route(f"{PREFIX}/keyword_search", api.keyword_search, methods=["GET"]),
        Route(f"{PREFIX}/{{user_id}}/mentions", api.mentions, methods=["GET"]),
    ]
