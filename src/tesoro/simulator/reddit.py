"""Reddit's OAuth API as praw/prawcore see it, rendered from the simulator's world.

Routes (exact paths, trailing slashes included, because prawcore never follows a
redirect):

| route | fault name |
| --- | --- |
| `POST /api/v1/access_token` | `reddit.token` |
| `GET /r/{sub}/search/` | `reddit.search` |
| `GET /r/{sub}/new` | `reddit.new` |
| `GET /r/{sub}/comments/` | `reddit.comments` |
| `POST /api/comment/` | `reddit.comment` |
| `GET /comments/{id}/` | `reddit.thread` |

How the world is rendered:

- A Reddit `SimPost` without `reply_to` is a submission (`t3`) in `SimPost.subreddit`
  (the world's first subreddit when unset). One with `reply_to` is a comment (`t1`):
  `parent_id` is the post it answers and `link_id` the submission at the root of that
  chain (when the parent is not in the world, the parent is taken to be a submission).
  A comment lives in its submission's subreddit.
- Ids are base36 of `SimPost.id`, so "newer" is "larger id", as on Reddit.
- `{sub}` may be `all` (every subreddit) or a multireddit `a+b`. Search honours
  `restrict_sr` like Reddit: without it, a search on any subreddit covers the whole site.
  An unknown subreddit answers 404 as Reddit does for a banned or missing one.
- Media: a video becomes a `v.redd.it` post (`is_video`, `media.reddit_video`), several
  images a gallery (`is_gallery`, `media_metadata`), one image or GIF an `i.redd.it` link
  post with `preview.images` (a GIF also carries `variants.gif`/`variants.mp4`).
- A post with `media_inline` is a text post whose body holds its images and videos
  (`media_metadata` without `gallery_data`); one with `crosspost_of` is a crosspost: its own
  title, and the parent submission whole in `crosspost_parent_list`.
- `SimPost.flags` "nsfw" and "spoiler" are `over_18` and `spoiler`; an author who is `gone` is
  `[deleted]` with no `author_fullname`.
- Listings are newest first, paged with `after`/`before` fullnames; `limit` is clamped to
  1..100 (25 by default).

Rights requests: `POST /api/comment/` (`thing_id`, `text`) posts the brand's comment under a
submission or a comment, with a token of the password grant only (an app-only token gets
`USER_REQUIRED`, as on Reddit); the asked author then answers (`tesoro.simulator.rights`).
`GET /comments/{id}/` is the submission and its comment forest, the rights conversation included
(each comment's `replies` a nested Listing).

Every API answer carries `x-ratelimit-remaining`, `-used` and `-reset` together (prawcore
reads all three once it sees the first). The budget is deliberately generous: prawcore
paces its requests against it with real sleeps, and tests should only ever wait when they
inject a 429 on purpose. An injected 429 reports an exhausted budget and says to come
back (`retry-after`, `x-ratelimit-reset`) in `INJECTED_RESET_S` seconds, so the demo
recovers quickly.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.common import fault_response, loose_match
from tesoro.simulator.model import SimMedia, SimPost
from tesoro.simulator.state import SimState

__all__ = ["INJECTED_RESET_S", "RATE_LIMIT_BUDGET", "RATE_LIMIT_WINDOW_S", "ROUTES", "base36", "routes"]

ROUTES: tuple[str, ...] = (
    "reddit.token",
    "reddit.search",
    "reddit.new",
    "reddit.comments",
    "reddit.comment",
    "reddit.thread",
)

# Reddit allows ~1000 requests per 10-minute window; the simulator reports far more
# so that prawcore's pacing (it sleeps when the budget runs thin) never slows a test.
RATE_LIMIT_BUDGET = 100_000
RATE_LIMIT_WINDOW_S = 600
# How soon an injected 429 says to come back; short so the demo recovers quickly.
INJECTED_RESET_S = 5

TOKEN_TTL_S = 86_400
_DEFAULT_LIMIT = 25
_MAX_LIMIT = 100
_WWW_AUTHENTICATE = 'Bearer realm="reddit", error="invalid_token"'
_TIME_FILTERS: dict[str, int] = {
    "hour": 3_600,
    "day": 86_400,
    "week": 7 * 86_400,
    "month": 31 * 86_400,
    "year": 366 * 86_400,
}
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(number: int) -> str:
    """Reddit's id format: lowercase base36 (Python parses it back with `int(s, 36)`)."""
    if number < 0:
        raise ValueError("Reddit ids are never negative")
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
        if number == 0:
            return out


@dataclass
class _RateWindow:
    """Counts calls in fixed, clock-aligned windows, like Reddit's 10-minute buckets."""

    budget: int = RATE_LIMIT_BUDGET
    window_s: int = RATE_LIMIT_WINDOW_S
    _window_start: int = 0
    _used: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> dict[str, str]:
        """Record one answered call and return the headers that report it."""
        now = int(time.time())
        start = now - now % self.window_s
        with self._lock:
            if start != self._window_start:
                self._window_start, self._used = start, 0
            self._used += 1
            used = self._used
        return {
            "x-ratelimit-remaining": f"{max(self.budget - used, 0):.1f}",
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(start + self.window_s - now),
        }

    def exhausted(self) -> dict[str, str]:
        """The headers of an injected 429: nothing left, back in `INJECTED_RESET_S` seconds."""
        return {
            "x-ratelimit-remaining": "0.0",
            "x-ratelimit-used": str(self.budget),
            "x-ratelimit-reset": str(INJECTED_RESET_S),
            "retry-after": str(INJECTED_RESET_S),
        }


@dataclass
class _TokenBook:
    """The bearer tokens this simulator has issued (and so accepts)."""

    _tokens: set[str] = field(default_factory=set)
    # Tokens issued for an account (the password grant): only these may post a comment.
    _users: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, *, user: bool = False) -> str:
        token = "sim-reddit-" + secrets.token_urlsafe(12)
        with self._lock:
            self._tokens.add(token)
            if user:
                self._users.add(token)
        return token

    def of_user(self, authorization: str | None) -> bool:
        _, _, token = (authorization or "").partition(" ")
        with self._lock:
            return token.strip() in self._users

    def valid(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            return scheme.casefold() == "bearer" and token.strip() in self._tokens


@dataclass(frozen=True, slots=True)
class _Thing:
    """One post rendered as a Listing child, with the id used for ordering and paging."""

    post_id: int
    kind: str  # t1 | t3
    subreddit: str
    data: dict[str, Any]

    @property
    def fullname(self) -> str:
        return f"{self.kind}_{base36(self.post_id)}"

    def child(self) -> dict[str, Any]:
        return {"kind": self.kind, "data": self.data}


# --------------------------------------------------------------------------- rendering


def _slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.casefold())
    return "_".join(words)[:50].rstrip("_") or "post"


def _image_source(url: str, width: int, height: int) -> dict[str, Any]:
    return {"url": url, "width": width, "height": height}


def _preview(media: SimMedia, *, gif: bool = False) -> dict[str, Any]:
    image: dict[str, Any] = {
        "source": _image_source(media.preview_url if gif else media.url, media.width, media.height),
        "resolutions": [
            _image_source(media.preview_url, 108, max(1, media.height * 108 // max(media.width, 1)))
        ],
        "variants": {},
        "id": media.key,
    }
    if gif:
        image["variants"] = {
            "gif": {"source": _image_source(media.url, media.width, media.height), "resolutions": []},
            "mp4": {
                "source": _image_source(media.url + ".mp4", media.width, media.height),
                "resolutions": [],
            },
        }
    return {"images": [image], "enabled": True}


def _reddit_video(media: SimMedia) -> dict[str, Any]:
    return {
        "reddit_video": {
            "fallback_url": media.url,
            "width": media.width,
            "height": media.height,
            "duration": round((media.duration_ms or 0) / 1000),
            "hls_url": f"https://v.redd.it/{media.key}/HLSPlaylist.m3u8",
            "dash_url": f"https://v.redd.it/{media.key}/DASHPlaylist.mpd",
            "scrubber_media_url": media.preview_url,
            "bitrate_kbps": 2400,
            "is_gif": False,
            "transcoding_status": "completed",
        }
    }


def _gallery(media: Sequence[SimMedia]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    items: list[dict[str, Any]] = []
    for number, item in enumerate(media, start=1):
        source: dict[str, Any] = {"x": item.width, "y": item.height}
        if item.type == "gif":
            source |= {"gif": item.url, "mp4": item.url + ".mp4"}
        else:
            source["u"] = item.url
        metadata[item.key] = {
            "status": "valid",
            "e": "AnimatedImage" if item.type == "gif" else "Image",
            "m": "image/gif" if item.type == "gif" else "image/jpg",
            "s": source,
            "p": [{"u": item.preview_url, "x": 108, "y": max(1, item.height * 108 // max(item.width, 1))}],
            "id": item.key,
        }
        entry: dict[str, Any] = {"media_id": item.key, "id": number}
        if item.alt_text:
            entry["caption"] = item.alt_text
        items.append(entry)
    return {"is_gallery": True, "gallery_data": {"items": items}, "media_metadata": metadata}


def _media_fields(post_id: str, media: Sequence[SimMedia], permalink: str) -> dict[str, Any]:
    """The fields that say what a submission links to: itself, an image, a gallery or a video."""
    video = next((m for m in media if m.type == "video"), None)
    if video is not None:
        return {
            "is_self": False,
            "is_video": True,
            "post_hint": "hosted:video",
            "url": f"https://v.redd.it/{video.key}",
            "domain": "v.redd.it",
            "media": _reddit_video(video),
            "secure_media": _reddit_video(video),
            "preview": {
                "images": [
                    {
                        "source": _image_source(video.preview_url, video.width, video.height),
                        "resolutions": [],
                        "variants": {},
                        "id": video.key,
                    }
                ],
                "enabled": False,
            },
            "thumbnail": video.preview_url,
        }
    if len(media) > 1:
        return {
            "is_self": False,
            "is_video": False,
            "url": f"https://www.reddit.com/gallery/{post_id}",
            "domain": "reddit.com",
            "media": None,
            "thumbnail": media[0].preview_url,
            **_gallery(media),
        }
    if media:
        image = media[0]
        return {
            "is_self": False,
            "is_video": False,
            "post_hint": "image",
            "url": image.url,
            "domain": "i.redd.it",
            "media": None,
            "preview": _preview(image, gif=image.type == "gif"),
            "thumbnail": image.preview_url,
        }
    return {
        "is_self": True,
        "is_video": False,
        "url": "https://www.reddit.com" + permalink,
        "media": None,
        "thumbnail": "self",
    }


def _inline_media_fields(permalink: str, media: Sequence[SimMedia]) -> dict[str, Any]:
    """A text post with images or videos in its body: `media_metadata` without `gallery_data`."""
    metadata: dict[str, Any] = {}
    for item in media:
        preview = [{"u": item.preview_url, "x": 108, "y": max(1, item.height * 108 // max(item.width, 1))}]
        if item.type == "video":
            metadata[item.key] = {
                "status": "valid",
                "e": "RedditVideo",
                "dashUrl": f"https://v.redd.it/link/{item.key}/asset/DASHPlaylist.mpd",
                "hlsUrl": f"https://v.redd.it/link/{item.key}/asset/HLSPlaylist.m3u8",
                "id": item.key,
                "isGif": False,
                "x": item.width,
                "y": item.height,
            }
            continue
        animated = item.type == "gif"
        source: dict[str, Any] = {"x": item.width, "y": item.height}
        source |= {"gif": item.url, "mp4": item.url + ".mp4"} if animated else {"u": item.url}
        metadata[item.key] = {
            "status": "valid",
            "e": "AnimatedImage" if animated else "Image",
            "m": "image/gif" if animated else "image/jpg",
            "s": source,
            "p": preview,
            "id": item.key,
        }
    return {
        "is_self": True,
        "is_video": False,
        "url": "https://www.reddit.com" + permalink,
        "media": None,
        "thumbnail": "self",
        "media_metadata": metadata,
    }


def _author_fields(post: SimPost) -> dict[str, Any]:
    if post.author.gone:
        # A deleted account: Reddit keeps the posts, names the author `[deleted]` and drops its id.
        return {"author": "[deleted]", "author_flair_text": None}
    return {
        "author": post.author.handle,
        "author_fullname": f"t2_{base36(post.author.id)}",
        "author_premium": False,
        "author_flair_text": None,
    }


def _submission(post: SimPost, subreddit: str, parent: tuple[SimPost, str] | None = None) -> dict[str, Any]:
    """A `t3`; `parent` (the submission and its subreddit) makes it a crosspost of that one."""
    rid = base36(post.id)
    title = post.title or post.text
    selftext = post.text if post.title and parent is None else ""
    permalink = f"/r/{subreddit}/comments/{rid}/{_slug(title)}/"
    data: dict[str, Any] = {
        "id": rid,
        "name": f"t3_{rid}",
        "title": title,
        "selftext": selftext,
        "subreddit": subreddit,
        "subreddit_name_prefixed": f"r/{subreddit}",
        "subreddit_id": f"t5_{base36(sum(map(ord, subreddit.casefold())))}",
        "created_utc": post.created_at.timestamp(),
        "score": post.likes,
        "ups": post.likes,
        "upvote_ratio": 0.97,
        "num_comments": post.replies,
        "num_crossposts": post.reposts,
        "permalink": permalink,
        "domain": f"self.{subreddit}",
        "over_18": "nsfw" in post.flags,
        "spoiler": "spoiler" in post.flags,
        "stickied": False,
        "locked": False,
        "link_flair_text": None,
        "total_awards_received": 0,
        **_author_fields(post),
    }
    if parent is not None:
        # A crosspost shows its own title; body, media and NSFW mark belong to the parent.
        shared = _submission(*parent)
        data.update(
            {
                "is_self": False,
                "is_video": False,
                "url": shared["permalink"],
                "domain": f"self.{parent[1]}",
                "media": None,
                "thumbnail": "default",
                "crosspost_parent": shared["name"],
                "crosspost_parent_list": [shared],
            }
        )
    elif post.media_inline and post.media:
        data.update(_inline_media_fields(permalink, post.media))
    else:
        data.update(_media_fields(rid, post.media, permalink))
    return data


def _comment(
    post: SimPost, subreddit: str, parent_fullname: str, link: SimPost | None, link_id: str
) -> dict[str, Any]:
    rid = base36(post.id)
    link_title = (link.title or link.text) if link is not None else ""
    link_permalink = f"/r/{subreddit}/comments/{link_id[3:]}/{_slug(link_title)}/"
    return {
        "id": rid,
        "name": f"t1_{rid}",
        "body": post.text,
        "subreddit": subreddit,
        "subreddit_name_prefixed": f"r/{subreddit}",
        "link_id": link_id,
        "parent_id": parent_fullname,
        "link_title": link_title,
        "link_permalink": "https://www.reddit.com" + link_permalink,
        "link_author": link.author.handle if link is not None else "[deleted]",
        "created_utc": post.created_at.timestamp(),
        "score": post.likes,
        "ups": post.likes,
        "controversiality": 0,
        "permalink": f"{link_permalink}{rid}/",
        "replies": "",
        "stickied": False,
        "over_18": "nsfw" in post.flags,
        "total_awards_received": 0,
        **_author_fields(post),
    }


def _render(posts: Sequence[SimPost], default_subreddit: str) -> list[_Thing]:
    """Every Reddit post of the world as a submission or a comment, oldest first."""
    by_id = {p.id: p for p in posts}
    things: list[_Thing] = []
    for post in posts:
        if post.reply_to is None:
            subreddit = post.subreddit or default_subreddit
            shared = by_id.get(post.crosspost_of) if post.crosspost_of is not None else None
            crossposted = (shared, shared.subreddit or default_subreddit) if shared is not None else None
            things.append(_Thing(post.id, "t3", subreddit, _submission(post, subreddit, crossposted)))
            continue
        parent = by_id.get(post.reply_to)
        root: SimPost | None = parent
        while root is not None and root.reply_to is not None:
            root = by_id.get(root.reply_to)
        link_id = f"t3_{base36(root.id)}" if root is not None else f"t3_{base36(post.reply_to)}"
        parent_fullname = f"t1_{base36(post.reply_to)}" if parent is not None and parent.reply_to else link_id
        subreddit = (root.subreddit if root is not None else None) or post.subreddit or default_subreddit
        things.append(
            _Thing(post.id, "t1", subreddit, _comment(post, subreddit, parent_fullname, root, link_id))
        )
    return things


# --------------------------------------------------------------------------- listings


def _listing(children: Sequence[_Thing], after: str | None, before: str | None) -> dict[str, Any]:
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "before": before,
            "dist": len(children),
            "modhash": None,
            "geo_filter": "",
            "children": [thing.child() for thing in children],
        },
    }


def _fullname_id(fullname: str | None) -> int | None:
    if not fullname:
        return None
    _, _, rid = fullname.rpartition("_")
    try:
        return int(rid, 36)
    except ValueError:
        return None


def _limit(raw: str | None) -> int:
    try:
        return min(max(int(raw or _DEFAULT_LIMIT), 1), _MAX_LIMIT)
    except ValueError:
        return _DEFAULT_LIMIT


def _page(things: Sequence[_Thing], params: Any) -> dict[str, Any]:
    """Newest first; `after` walks to older things, `before` to newer ones, as on Reddit."""
    newest_first = sorted(things, key=lambda t: t.post_id, reverse=True)
    limit = _limit(params.get("limit"))
    after_id = _fullname_id(params.get("after"))
    before_id = _fullname_id(params.get("before"))
    if before_id is not None and after_id is None:
        newer = [t for t in newest_first if t.post_id > before_id]
        page = newer[-limit:]
        more_newer = len(newer) > limit
        older_exists = any(t.post_id <= before_id for t in newest_first)
        return _listing(
            page,
            page[-1].fullname if page and older_exists else None,
            page[0].fullname if page and more_newer else None,
        )
    if after_id is not None:
        newest_first = [t for t in newest_first if t.post_id < after_id]
    page = newest_first[:limit]
    more = len(newest_first) > limit
    return _listing(
        page,
        page[-1].fullname if page and more else None,
        page[0].fullname if page and after_id is not None else None,
    )


def _within(things: Iterable[_Thing], params: Any, now: float) -> list[_Thing]:
    horizon = _TIME_FILTERS.get(str(params.get("t", "all")))
    if horizon is None:
        return list(things)
    return [t for t in things if float(t.data["created_utc"]) >= now - horizon]


def _search_text(thing: _Thing) -> str:
    data = thing.data
    return f"{data.get('title', '')}\n{data.get('selftext', '')}"


# --------------------------------------------------------------------------- routes


Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message, "error": status}, status_code=status, headers=headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.casefold().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


_GRANTS = frozenset(
    {"client_credentials", "password", "refresh_token", "https://oauth.reddit.com/grants/installed_client"}
)


class _Reddit:
    """Reddit's endpoints over one `SimState`: a rate window, the issued tokens, the world."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.window = _RateWindow()
        self.tokens = _TokenBook()

    async def injected(self, route: str, empty: dict[str, Any]) -> Response | None:
        response = await fault_response(
            self.state,
            route,
            rate_limit_headers=self.window.exhausted(),
            rate_limit_body={"message": "Too Many Requests", "error": 429},
            auth_body={"message": "Unauthorized", "error": 401},
            empty_body=empty,
        )
        if response is not None and response.status_code == 401 and route != "reddit.token":
            response.headers["www-authenticate"] = _WWW_AUTHENTICATE
        return response

    async def access_token(self, request: Request) -> Response:
        fault = await self.injected("reddit.token", {})
        if fault is not None:
            return fault
        creds = self.state.credentials
        if _basic_credentials(request.headers.get("authorization")) != (
            creds.reddit_client_id,
            creds.reddit_client_secret,
        ):
            return _error(401, "Unauthorized")
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        grant = form.get("grant_type", [""])[0]
        if grant == "password" and not (form.get("username", [""])[0] and form.get("password", [""])[0]):
            return JSONResponse({"error": "invalid_grant"})
        if grant not in _GRANTS:
            return JSONResponse({"error": "unsupported_grant_type"})
        if grant == "password" and (form["username"][0], form["password"][0]) != (
            creds.reddit_username,
            creds.reddit_password,
        ):
            return JSONResponse({"error": "invalid_grant"})
        return JSONResponse(
            {
                "access_token": self.tokens.issue(user=grant == "password"),
                "token_type": "bearer",
                "expires_in": TOKEN_TTL_S,
                "scope": "*",
            }
        )

    def subreddit_scope(self, name: str) -> set[str] | None:
        """The subreddits `name` covers (None: all of them), or raise KeyError if unknown."""
        wanted = {part.casefold() for part in name.split("+") if part}
        if wanted & {"all", "popular"}:
            return None
        world = self.state.world
        known = {s.casefold() for s in world.spec.subreddits}
        known |= {p.subreddit.casefold() for p in world.posts("reddit") if p.subreddit}
        if not wanted or not wanted <= known:
            raise KeyError(name)
        return wanted

    def things(self, kind: str, scope: set[str] | None) -> list[_Thing]:
        world = self.state.world
        rendered = _render(world.posts("reddit"), world.spec.subreddits[0])
        return [t for t in rendered if t.kind == kind and (scope is None or t.subreddit.casefold() in scope)]

    def listing(self, route: str, kind: str, *, search: bool) -> Handler:
        """The handler of one listing (`/new`, `/comments/`, `/search/`) under `route`'s faults."""

        async def endpoint(request: Request) -> Response:
            fault = await self.injected(route, _listing([], None, None))
            if fault is not None:
                return fault
            if not self.tokens.valid(request.headers.get("authorization")):
                return _error(401, "Unauthorized", {"www-authenticate": _WWW_AUTHENTICATE})
            params = request.query_params
            try:
                scope = self.subreddit_scope(request.path_params["sub"])
            except KeyError:
                return _error(404, "Not Found", self.window.count())
            if search and params.get("restrict_sr", "").casefold() not in {"1", "true", "on"}:
                scope = None
            chosen = self.things(kind, scope)
            if search:
                query = params.get("q", "")
                chosen = [
                    t for t in _within(chosen, params, time.time()) if loose_match(query, _search_text(t))
                ]
            return JSONResponse(_page(chosen, params), headers=self.window.count())

        return endpoint

    async def info(self, request: Request) -> Response:
        """`/api/info?id=t3_x,t1_y` (up to 100 fullnames): a deleted post is still listed, its body
        `[deleted]`, its author `[deleted]` and `removed_by_category` "deleted", as Reddit does."""
        fault = await self.injected("reddit.info", _listing([], None, None))
        if fault is not None:
            return fault
        if not self.tokens.valid(request.headers.get("authorization")):
            return _error(401, "Unauthorized", {"www-authenticate": _WWW_AUTHENTICATE})
        wanted = [f for f in request.query_params.get("id", "").split(",") if f]
        if len(wanted) > 100:
            return _error(400, "Bad Request", self.window.count())
        world = self.state.world
        gone = {p.id for p in world.deleted("reddit")}
        every = sorted([*world.posts("reddit"), *world.deleted("reddit")], key=lambda p: p.id)
        things = _render(every, world.spec.subreddits[0])
        by_name = {t.fullname: t for t in things}
        found = [
            _emptied(by_name[f]) if by_name[f].post_id in gone else by_name[f] for f in wanted if f in by_name
        ]
        return JSONResponse(_listing(found, None, None), headers=self.window.count())

    async def comment(self, request: Request) -> Response:
        """`POST /api/comment/`: the brand comments under a submission or a comment (a rights request)."""
        fault = await self.injected("reddit.comment", {})
        if fault is not None:
            return fault
        authorization = request.headers.get("authorization")
        if not self.tokens.valid(authorization):
            return _error(401, "Unauthorized", {"www-authenticate": _WWW_AUTHENTICATE})
        if not self.tokens.of_user(authorization):
            return JSONResponse(
                {"json": {"errors": [["USER_REQUIRED", "Please log in to do that.", None]]}},
                headers=self.window.count(),
            )
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        text = form.get("text", [""])[0].strip()
        parent = _fullname_id(form.get("thing_id", [""])[0])
        if not text or len(text) > 10_000:
            return JSONResponse(
                {"json": {"errors": [["NO_TEXT", "we need something here", "text"]]}},
                headers=self.window.count(),
            )
        world = self.state.world
        try:
            mine = world.reply(parent or 0, text)
        except KeyError:
            return JSONResponse(
                {"json": {"errors": [["DELETED_COMMENT", "that comment has been deleted", "parent"]]}},
                headers=self.window.count(),
            )
        forest = self.forest(mine)
        thing = next(t for t in forest.values() if t.post_id == mine.id)
        return JSONResponse(
            {"json": {"errors": [], "data": {"things": [thing.child()]}}}, headers=self.window.count()
        )

    def forest(self, anchor: SimPost) -> dict[int, _Thing]:
        """Every comment of `anchor`'s submission (the world's and the rights conversation's), by id.

        A deleted submission or comment is still listed, emptied (`[deleted]`), as Reddit does."""
        world = self.state.world
        gone = {p.id for p in world.deleted("reddit")}
        posts = {p.id: p for p in (*world.posts("reddit"), *world.deleted("reddit"))}
        root = anchor
        while root.reply_to is not None:
            up = posts.get(root.reply_to) or world.find(root.reply_to)
            if up is None:
                break
            root = up
        everything = dict(posts)
        for post in list(posts.values()):
            everything.update((p.id, p) for p in world.thread(post.id))
        everything[anchor.id] = anchor
        members: set[int] = {root.id}
        for post in sorted(everything.values(), key=lambda p: p.id):
            if post.reply_to in members:
                members.add(post.id)
        chosen = sorted((everything[i] for i in members), key=lambda p: p.id)
        things = _render(chosen, world.spec.subreddits[0])
        return {t.post_id: _emptied(t) if t.post_id in gone else t for t in things}

    async def thread(self, request: Request) -> Response:
        """`GET /comments/{id}/`: the submission and its comment forest (nested `replies` Listings)."""
        fault = await self.injected("reddit.thread", {})
        if fault is not None:
            return fault
        if not self.tokens.valid(request.headers.get("authorization")):
            return _error(401, "Unauthorized", {"www-authenticate": _WWW_AUTHENTICATE})
        wanted = _fullname_id("t3_" + request.path_params["id"])
        world = self.state.world
        every = (*world.posts("reddit"), *world.deleted("reddit"))
        submission = next((p for p in every if p.id == wanted and p.reply_to is None), None)
        if submission is None:
            return _error(404, "Not Found", self.window.count())
        things = self.forest(submission)
        children: dict[str, list[_Thing]] = {}
        for thing in things.values():
            if thing.kind == "t1":
                children.setdefault(str(thing.data["parent_id"]), []).append(thing)

        def nested(thing: _Thing) -> dict[str, Any]:
            below = sorted(children.get(thing.fullname, []), key=lambda t: t.post_id)
            data = dict(thing.data)
            data["replies"] = (
                {
                    "kind": "Listing",
                    "data": {"after": None, "before": None, "children": [nested(t) for t in below]},
                }
                if below
                else ""
            )
            return {"kind": thing.kind, "data": data}

        top = things[submission.id]
        first = sorted(children.get(top.fullname, []), key=lambda t: t.post_id)
        body = [
            _listing([top], None, None),
            {
                "kind": "Listing",
                "data": {"after": None, "before": None, "children": [nested(t) for t in first]},
            },
        ]
        return JSONResponse(body, headers=self.window.count())


def _emptied(thing: _Thing) -> _Thing:
    """A deleted submission or comment as Reddit still serves it."""
    data = {k: v for k, v in thing.data.items() if k != "author_fullname"}
    data["author"] = "[deleted]"
    if thing.kind == "t3":
        data.update({"selftext": "[deleted]", "removed_by_category": "deleted"})
    else:
        data["body"] = "[deleted]"
    return _Thing(thing.post_id, thing.kind, thing.subreddit, data)


def routes(state: SimState) -> list[BaseRoute]:
    """Reddit's token endpoint, the three listings the collector reads, and `/api/info`."""
    api = _Reddit(state)
    return [
        Route("/api/v1/access_token", api.access_token, methods=["POST"]),
        Route("/r/{sub}/search/", api.listing("reddit.search", "t3", search=True), methods=["GET"]),
        Route("/r/{sub}/new", api.listing("reddit.new", "t3", search=False), methods=["GET"]),
        Route("/r/{sub}/comments/", api.listing("reddit.comments", "t1", search=False), methods=["GET"]),
        Route("/api/info", api.info, methods=["GET"]),
        Route("/api/info/", api.info, methods=["GET"]),
        Route("/api/comment/", api.comment, methods=["POST"]),
        Route("/api/comment", api.comment, methods=["POST"]),
        Route("/comments/{id}/", api.thread, methods=["GET"]),
        Route("/comments/{id}", api.thread, methods=["GET"]),
    ]
