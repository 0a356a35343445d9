"""A Mastodon instance's REST API as Mastodon.py sees it, rendered from the simulator's world.

Mounted under `/mastodon`, so the client's `api_base_url` is `{sim.base_url}/mastodon`:

| route | fault name |
| --- | --- |
| `GET /mastodon/api/v1/instance/`, `GET /mastodon/api/v2/instance/` | `mastodon.instance` |
| `GET /mastodon/api/v1/timelines/tag/{tag}` | `mastodon.tag` |
| `GET /mastodon/api/v2/search` | `mastodon.search` |

How the world is rendered:

- Every Mastodon `SimPost` is a public status on one instance, `INSTANCE_DOMAIN`; its id is
  `str(SimPost.id)` (numeric strings that grow with time, as Mastodon's snowflakes do).
  A post with `reply_to` carries `in_reply_to_id`; one with `quote_of` carries Mastodon 4.5's
  `quote` (a Quote with the quoted status, state `accepted`, or `deleted` and null when it is
  gone) and starts its `content` with the `<p class="quote-inline">RE: ...</p>` fallback.
- `content` is the HTML a Mastodon server produces: paragraphs in `<p>`, single line
  breaks as `<br />`, links, hashtags and mentions as `<a>`, and every other character
  escaped. A post whose text is `<script>` therefore arrives as `&lt;script&gt;`, exactly
  as a real server would send it.
- A status's tags are the `#hashtags` in its text plus `SimPost.hashtags`; a tag timeline
  holds the statuses carrying that tag (case-insensitive).
- Timelines follow Mastodon's id paging: `max_id` (older than), `since_id` (newer than,
  newest first), `min_id` (immediately newer than, i.e. the oldest page above it), newest
  first within a page, `limit` 20 by default and 40 at most, and a `Link` header with
  `rel="next"` (`max_id` = oldest id on the page) and `rel="prev"` (`min_id` = newest).
- Search (`type=statuses` or none) matches text with `common.loose_match`, newest first,
  and honours `min_id`, `max_id`, `offset` and `limit`.
- Timelines and search need `Authorization: Bearer <credentials.mastodon_token>`; the
  instance documents are public. Every answer carries `X-RateLimit-Limit/Remaining/Reset`
  (Reset an ISO date) over 5-minute windows; the simulator only answers 429 when a test
  injects it, and then says the window resets in `INJECTED_RESET_S` seconds.
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.common import fault_response, loose_match
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.state import SimState

__all__ = [
    "INJECTED_RESET_S",
    "INSTANCE_DOMAIN",
    "MASTODON_VERSION",
    "ROUTES",
    "routes",
    "status_html",
    "status_tags",
]

ROUTES: tuple[str, ...] = ("mastodon.instance", "mastodon.tag", "mastodon.search")
INSTANCE_DOMAIN = "mastodon.tesoro.test"
MASTODON_VERSION = "4.5.0"
PREFIX = "/mastodon"

RATE_LIMIT = 300
RATE_WINDOW_S = 300
# How soon an injected 429 says the window resets; short so the demo recovers quickly.
INJECTED_RESET_S = 5
_DEFAULT_LIMIT = 20
_MAX_LIMIT = 40
_BLURHASH = "UeKUpFxuo~R%0nW;WCnhF6RjaJt757oJodS$"
_MEDIA_TYPES = {"photo": "image", "video": "video", "gif": "gifv"}

# --------------------------------------------------------------------------- HTML

# Rails' `h()`: the five characters HTML gives meaning to, with ' as &#39; (not &#x27;).
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
_TOKEN = re.compile(
    r"(?P<url>https?://[^\s<>\"']+)"
    r"|(?<![\w/#])#(?P<tag>[^\W\d_][\w]*)"
    r"|(?<![\w/@])@(?P<user>[A-Za-z0-9_]+)(?:@(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+))?"
)
_TRAILING = ".,;:!?)]}'\""
_URL_SHOWN = 30


def _h(text: str) -> str:
    return text.translate(_ESCAPES)


def _link(url: str) -> str:
    scheme, _, rest = url.partition("://")
    shown, hidden = rest[:_URL_SHOWN], rest[_URL_SHOWN:]
    visible_class = "ellipsis" if hidden else ""
    return (
        f'<a href="{_h(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{_h(scheme)}://</span><span class="{visible_class}">{_h(shown)}</span>'
        f'<span class="invisible">{_h(hidden)}</span></a>'
    )


def _hashtag(tag: str) -> str:
    href = f"https://{INSTANCE_DOMAIN}/tags/{_h(tag.casefold())}"
    return f'<a href="{href}" class="mention hashtag" rel="tag">#<span>{_h(tag)}</span></a>'


def _mention(user: str, host: str | None) -> str:
    href = f"https://{_h(host or INSTANCE_DOMAIN)}/@{_h(user)}"
    return (
        f'<span class="h-card" translate="no"><a href="{href}" class="u-url mention">'
        f"@<span>{_h(user)}</span></a></span>"
    )


def _linkify(line: str) -> str:
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(line):
        start, end = match.span()
        if match.group("url"):
            url = match.group("url").rstrip(_TRAILING)
            end = start + len(url)
            html = _link(url)
        elif match.group("tag"):
            html = _hashtag(match.group("tag"))
        else:
            html = _mention(match.group("user"), match.group("host"))
        out.append(_h(line[position:start]))
        out.append(html)
        position = end
    out.append(_h(line[position:]))
    return "".join(out)


@lru_cache(maxsize=16_384)
def status_html(text: str) -> str:
    """Render plain text the way Mastodon's formatter does: <p> per paragraph, <br /> per line.

    Cached: a status is rendered again for every page and search that returns it."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br />".join(_linkify(line) for line in p.split("\n")) + "</p>" for p in paragraphs
    )


def status_tags(post: SimPost) -> list[str]:
    found = [m.group("tag") for m in _TOKEN.finditer(post.text) if m.group("tag")]
    seen: dict[str, str] = {}
    for tag in [*found, *(t.lstrip("#") for t in post.hashtags)]:
        seen.setdefault(tag.casefold(), tag.casefold())
    return list(seen.values())


# --------------------------------------------------------------------------- JSON shapes


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _account(author: SimAuthor) -> dict[str, Any]:
    url = f"https://{INSTANCE_DOMAIN}/@{author.handle}"
    avatar = f"https://files.{INSTANCE_DOMAIN}/accounts/avatars/{author.id}.png"
    return {
        "id": str(author.id),
        "username": author.handle,
        "acct": author.handle,
        "display_name": author.name,
        "locked": False,
        "bot": author.is_bot,
        "discoverable": True,
        "group": False,
        "created_at": "2022-11-01T00:00:00.000Z",
        "note": status_html(author.bio) if author.bio else "",
        "url": url,
        "uri": f"https://{INSTANCE_DOMAIN}/users/{author.handle}",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": f"https://{INSTANCE_DOMAIN}/headers/original/missing.png",
        "header_static": f"https://{INSTANCE_DOMAIN}/headers/original/missing.png",
        "followers_count": author.followers,
        "following_count": author.following,
        "statuses_count": 100 + author.id % 900,
        "last_status_at": "2024-05-01",
        "emojis": [],
        "fields": [],
        # Only a suspended account carries the attribute.
        **({"suspended": True} if author.gone else {}),
    }


def _size(width: int, height: int) -> dict[str, Any]:
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / max(height, 1)}


def _attachment(media: SimMedia) -> dict[str, Any]:
    original = _size(media.width, media.height)
    if media.type in {"video", "gif"}:
        original |= {"duration": (media.duration_ms or 0) / 1000, "frame_rate": "30/1", "bitrate": 1_200_000}
    small_w = min(media.width, 640)
    return {
        "id": str(zlib.crc32(media.key.encode())),
        "type": _MEDIA_TYPES.get(media.type, "unknown"),
        "url": media.url,
        "preview_url": media.preview_url,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {
            "original": original,
            "small": _size(small_w, max(1, media.height * small_w // max(media.width, 1))),
            "focus": {"x": 0.0, "y": 0.0},
        },
        "description": media.alt_text,
        "blurhash": _BLURHASH,
    }


def _mentions(text: str) -> list[dict[str, Any]]:
    mentions: list[dict[str, Any]] = []
    for match in _TOKEN.finditer(text):
        user = match.group("user")
        if not user:
            continue
        host = match.group("host")
        acct = f"{user}@{host}" if host else user
        mentions.append(
            {
                "id": str(zlib.crc32(acct.encode())),
                "username": user,
                "acct": acct,
                "url": f"https://{host or INSTANCE_DOMAIN}/@{user}",
            }
        )
    return mentions


def _status_url(post: SimPost) -> str:
    return f"https://{INSTANCE_DOMAIN}/@{post.author.handle}/{post.id}"


def _quote(post: SimPost, parents: dict[int, SimPost], *, nested: bool) -> dict[str, Any] | None:
    """Mastodon 4.5's `quote`: a Quote with the whole quoted status (null once it is gone), or
    inside a quoted status a ShallowQuote with only its id."""
    if post.quote_of is None:
        return None
    quoted = parents.get(post.quote_of)
    if nested:
        return {
            "state": "accepted" if quoted else "deleted",
            "quoted_status_id": str(post.quote_of) if quoted else None,
        }
    if quoted is None:
        return {"state": "deleted", "quoted_status": None}
    return {"state": "accepted", "quoted_status": _status(quoted, parents, nested=True)}


def _status(post: SimPost, parents: dict[int, SimPost], *, nested: bool = False) -> dict[str, Any]:
    handle = post.author.handle
    parent = parents.get(post.reply_to) if post.reply_to is not None else None
    content = status_html(post.text)
    quoted = parents.get(post.quote_of) if post.quote_of is not None else None
    if quoted is not None:  # the fallback 4.5 writes for clients that cannot show quotes
        url = _status_url(quoted)
        content = f'<p class="quote-inline">RE: <a href="{url}">{url}</a></p>' + content
    status = {
        "id": str(post.id),
        "created_at": _iso(post.created_at),
        "in_reply_to_id": str(post.reply_to) if post.reply_to is not None else None,
        "in_reply_to_account_id": str(parent.author.id) if parent is not None else None,
        "sensitive": "nsfw" in post.flags or "sensitive" in post.flags,
        "spoiler_text": post.title or "",
        "visibility": "public",
        "language": post.lang,
        "uri": f"https://{INSTANCE_DOMAIN}/users/{handle}/statuses/{post.id}",
        "url": f"https://{INSTANCE_DOMAIN}/@{handle}/{post.id}",
        "replies_count": post.replies,
        "reblogs_count": post.reposts,
        "favourites_count": post.likes,
        "quotes_count": post.quotes,
        "edited_at": None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "content": content,
        "filtered": [],
        "reblog": None,
        "application": None,
        "account": _account(post.author),
        "media_attachments": [_attachment(m) for m in post.media],
        "mentions": _mentions(post.text),
        "tags": [{"name": tag, "url": f"https://{INSTANCE_DOMAIN}/tags/{tag}"} for tag in status_tags(post)],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    if post.quote_of is not None:
        status["quote"] = _quote(post, parents, nested=nested)
    return status


def _instance_v1() -> dict[str, Any]:
    return {
        "uri": INSTANCE_DOMAIN,
        "title": "Tesoro simulated Mastodon",
        "short_description": "A local stand-in for a Mastodon instance, for tests and demos.",
        "description": "",
        "email": f"admin@{INSTANCE_DOMAIN}",
        "version": MASTODON_VERSION,
        "urls": {"streaming_api": f"wss://{INSTANCE_DOMAIN}"},
        "stats": {"user_count": 500, "status_count": 10_000, "domain_count": 1},
        "thumbnail": f"https://{INSTANCE_DOMAIN}/thumbnail.png",
        "languages": ["en", "es"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": {
            "statuses": {
                "max_characters": 500,
                "max_media_attachments": 4,
                "characters_reserved_per_url": 23,
            },
        },
        "contact_account": None,
        "rules": [],
    }


def _instance_v2() -> dict[str, Any]:
    access = {"local": "public", "remote": "public"}
    return {
        "domain": INSTANCE_DOMAIN,
        "title": "Tesoro simulated Mastodon",
        "version": MASTODON_VERSION,
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "A local stand-in for a Mastodon instance, for tests and demos.",
        "usage": {"users": {"active_month": 500}},
        "thumbnail": {"url": f"https://{INSTANCE_DOMAIN}/thumbnail.png"},
        "languages": ["en", "es"],
        "configuration": {
            "urls": {"streaming": f"wss://{INSTANCE_DOMAIN}"},
            "accounts": {"max_featured_tags": 10},
            "statuses": {
                "max_characters": 500,
                "max_media_attachments": 4,
                "characters_reserved_per_url": 23,
            },
            "media_attachments": {"image_size_limit": 16_777_216, "video_size_limit": 103_809_024},
            "polls": {"max_options": 4, "max_characters_per_option": 50},
            "translation": {"enabled": False},
            "timelines_access": {
                "live_feeds": access,
                "hashtag_feeds": access,
                "trending_link_feeds": access,
            },
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": f"admin@{INSTANCE_DOMAIN}", "account": None},
        "rules": [],
    }


# --------------------------------------------------------------------------- paging


@dataclass
class _RateWindow:
    """Mastodon's default budget: 300 calls per 5 minutes, reported on every answer."""

    _window_start: int = 0
    _used: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> dict[str, str]:
        """Record one answered call and return the headers that report it."""
        now = int(time.time())
        start = now - now % RATE_WINDOW_S
        with self._lock:
            if start != self._window_start:
                self._window_start, self._used = start, 0
            self._used += 1
            used = self._used
        return _rate_headers(max(RATE_LIMIT - used, 0), start + RATE_WINDOW_S)

    @staticmethod
    def exhausted() -> dict[str, str]:
        """The headers of an injected 429: nothing left, reset `INJECTED_RESET_S` seconds ahead."""
        return _rate_headers(0, int(time.time()) + INJECTED_RESET_S)


def _rate_headers(remaining: int, reset_epoch: int) -> dict[str, str]:
    reset = datetime.fromtimestamp(reset_epoch, UTC)
    return {
        "X-RateLimit-Limit": str(RATE_LIMIT),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def _int_param(params: Any, name: str) -> int | None:
    raw = params.get(name)
    if raw is None or not str(raw).strip().isdigit():
        return None
    return int(raw)


def _limit(params: Any) -> int:
    value = _int_param(params, "limit")
    return _DEFAULT_LIMIT if value is None else min(max(value, 1), _MAX_LIMIT)


def _id_window(posts: Sequence[SimPost], params: Any, *, limit: int | None) -> list[SimPost]:
    """Mastodon's `paginate_by_id`: newest first, or the oldest run above `min_id`."""
    max_id = _int_param(params, "max_id")
    since_id = _int_param(params, "since_id")
    min_id = _int_param(params, "min_id")
    chosen = [
        p
        for p in posts
        if (max_id is None or p.id < max_id)
        and (since_id is None or p.id > since_id)
        and (min_id is None or p.id > min_id)
    ]
    if min_id is not None:
        return sorted(sorted(chosen, key=lambda p: p.id)[:limit], key=lambda p: p.id, reverse=True)
    return sorted(chosen, key=lambda p: p.id, reverse=True)[:limit]


def _link_header(request: Request, page: Sequence[dict[str, Any]]) -> dict[str, str]:
    if not page:
        return {}
    keep = {k: v for k, v in request.query_params.items() if k not in {"max_id", "min_id", "since_id"}}
    base = str(request.url.replace(query=""))
    older = urlencode({**keep, "max_id": page[-1]["id"]})
    newer = urlencode({**keep, "min_id": page[0]["id"]})
    return {"Link": f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'}


def _truthy(value: str | None) -> bool:
    return (value or "").casefold() in {"1", "true", "on", "yes"}


# --------------------------------------------------------------------------- routes


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _Mastodon:
    """The instance's endpoints over one `SimState`: a rate window and the world's statuses."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.window = _RateWindow()
        # Search matches per query while the world is unchanged: a client pages through the same
        # query many times, and matching every status each time made the simulator the bottleneck
        # of bench/collect.py (13 ms per search in a world of 2,000 statuses).
        self._matches: dict[str, tuple[tuple[int, int], list[SimPost]]] = {}

    async def injected(self, route: str, empty: object) -> Response | None:
        return await fault_response(
            self.state,
            route,
            rate_limit_headers=self.window.exhausted(),
            rate_limit_body={"error": "Too many requests"},
            auth_body={"error": "The access token is invalid"},
            empty_body=empty,
        )

    def refused(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return _error(401, "This method requires an authenticated user", self.window.count())
        if scheme.casefold() != "bearer" or token.strip() != self.state.credentials.mastodon_token:
            return _error(401, "The access token is invalid", self.window.count())
        return None

    def statuses(self) -> tuple[list[SimPost], dict[int, SimPost]]:
        posts = self.state.world.posts("mastodon")
        return posts, {p.id: p for p in posts}

    def instance(self, document: dict[str, Any]) -> Callable[[Request], Awaitable[Response]]:
        """The handler that serves one instance document (v1 or v2)."""

        async def endpoint(request: Request) -> Response:
            fault = await self.injected("mastodon.instance", {})
            return fault or JSONResponse(document, headers=self.window.count())

        return endpoint

    async def tag_timeline(self, request: Request) -> Response:
        fault = await self.injected("mastodon.tag", [])
        if fault is not None:
            return fault
        denied = self.refused(request)
        if denied is not None:
            return denied
        tag = request.path_params["tag"].lstrip("#").casefold()
        posts, by_id = self.statuses()
        tagged = [p for p in posts if tag in status_tags(p)]
        if _truthy(request.query_params.get("only_media")):
            tagged = [p for p in tagged if p.media]
        window_posts = _id_window(tagged, request.query_params, limit=_limit(request.query_params))
        page = [_status(p, by_id) for p in window_posts]
        return JSONResponse(page, headers={**self.window.count(), **_link_header(request, page)})

    async def search(self, request: Request) -> Response:
        empty: dict[str, list[Any]] = {"accounts": [], "statuses": [], "hashtags": []}
        fault = await self.injected("mastodon.search", empty)
        if fault is not None:
            return fault
        denied = self.refused(request)
        if denied is not None:
            return denied
        params = request.query_params
        if params.get("type") not in {None, "statuses"}:
            return JSONResponse(empty, headers=self.window.count())
        query = params.get("q", "")
        stamp = self.state.world.stamp()
        posts, by_id = self.statuses()
        cached = self._matches.get(query)
        if cached is None or cached[0] != stamp:
            if len(self._matches) > 256:
                self._matches.clear()
            cached = (stamp, [p for p in posts if loose_match(query, p.text)])
            self._matches[query] = cached
        offset = _int_param(params, "offset") or 0
        matched = _id_window(cached[1], params, limit=None)
        page = matched[offset : offset + _limit(params)]
        return JSONResponse(
            {**empty, "statuses": [_status(p, by_id) for p in page]}, headers=self.window.count()
        )

    async def status(self, request: Request) -> Response:
        """One status by id; 404 when it was deleted, or its author suspended, as Mastodon answers."""
        fault = await self.injected("mastodon.status", {})
        if fault is not None:
            return fault
        denied = self.refused(request)
        if denied is not None:
            return denied
        _, by_id = self.statuses()
        wanted = _int_param(request.path_params, "id")
        post = by_id.get(wanted) if wanted is not None else None
        if post is None or post.author.gone:
            return _error(404, "Record not found", self.window.count())
        return JSONResponse(_status(post, by_id), headers=self.window.count())

    async def post_status(self, request: Request) -> Response:
        """`POST /api/v1/statuses`: the brand replies under a status (`in_reply_to_id`): a rights request."""
        fault = await self.injected("mastodon.post", {})
        if fault is not None:
            return fault
        denied = self.refused(request)
        if denied is not None:
            return denied
        if request.headers.get("content-type", "").startswith("application/json"):
            form: dict[str, Any] = dict(await request.json())
        else:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        text = str(form.get("status") or "").strip()
        parent = _int_param(form, "in_reply_to_id")
        if not text or len(text) > 500:
            return _error(
                422, "Validation failed: Text can't be blank or over 500 characters", self.window.count()
            )
        if parent is None:
            return _error(422, "Validation failed: only replies are simulated", self.window.count())
        try:
            post = self.state.world.reply(parent, text)
        except KeyError:
            return _error(404, "Record not found", self.window.count())
        return JSONResponse(_status(post, {}), headers=self.window.count())

    async def context(self, request: Request) -> Response:
        """`GET /api/v1/statuses/:id/context`: the replies under a status (its descendants), oldest first."""
        fault = await self.injected("mastodon.context", {"ancestors": [], "descendants": []})
        if fault is not None:
            return fault
        denied = self.refused(request)
        if denied is not None:
            return denied
        wanted = _int_param(request.path_params, "id")
        if wanted is None or self.state.world.find(wanted) is None:
            return _error(404, "Record not found", self.window.count())
        replies = self.state.world.thread(wanted)
        return JSONResponse(
            {"ancestors": [], "descendants": [_status(p, {}) for p in replies]}, headers=self.window.count()
        )


def routes(state: SimState) -> list[BaseRoute]:
    """The instance documents, the hashtag timeline, v2 search, one status by id, and rights replies."""
    api = _Mastodon(state)
    return [
        Route(f"{PREFIX}/api/v1/instance/", api.instance(_instance_v1()), methods=["GET"]),
        Route(f"{PREFIX}/api/v2/instance/", api.instance(_instance_v2()), methods=["GET"]),
        Route(f"{PREFIX}/api/v1/timelines/tag/{{tag}}", api.tag_timeline, methods=["GET"]),
        Route(f"{PREFIX}/api/v2/search", api.search, methods=["GET"]),
        Route(f"{PREFIX}/api/v1/statuses/{{id}}", api.status, methods=["GET"]),
        Route(f"{PREFIX}/api/v1/statuses/{{id}}/context", api.context, methods=["GET"]),
        Route(f"{PREFIX}/api/v1/statuses", api.post_status, methods=["POST"]),
    ]
