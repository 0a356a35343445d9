"""YouTube Data API v3, as `google-api-python-client` sees it (static discovery, `api_endpoint` here).

Serves `GET /youtube/v3/search` (videos only, newest first with `order=date`, `publishedAfter` /
`publishedBefore`, opaque `pageToken`s, at most 50 a page), `/youtube/v3/videos` (snippet,
statistics as strings, contentDetails with an ISO 8601 duration; up to 50 ids), `/youtube/v3/channels`
(the authors: `@handle`, subscribers, avatar) and `/youtube/v3/commentThreads` (top-level comments of a
video; a reply post of the world is a comment on its video).

Rights requests: `POST /youtube/v3/commentThreads` (a top-level comment on a video) and `POST
/youtube/v3/comments` (a reply to a top-level comment, `snippet.parentId`) post the brand's request;
both need the channel's OAuth token (`Authorization: Bearer`, 401 `authError` otherwise, as an API
key alone gets on YouTube) and cost 50 units. `GET /youtube/v3/comments?parentId=` lists the replies
under a top-level comment, oldest first (1 unit), where the asked author answers
(`tesoro.simulator.rights`); a thread whose video was deleted is 404 `commentNotFound`. Faults:
`youtube.insert`, `youtube.comments`.

Every read needs the API key (`key=`) and costs quota units as on YouTube: search 100, the others 1,
against `SimState.daily_limits["youtube"]` (10,000 by default). Errors have Google's JSON shape: 400
`keyInvalid` or `invalidPageToken`, 403 `quotaExceeded` (domain `youtube.quota`), 403
`rateLimitExceeded` (the RATE_LIMIT fault), 403 `commentsDisabled`, 404 `videoNotFound`. Faults are
injected under `youtube.search`, `youtube.videos`, `youtube.channels` and `youtube.commentThreads`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.common import fault_response, loose_match
from tesoro.simulator.faults import Fault
from tesoro.simulator.generator import youtube_video_id
from tesoro.simulator.model import SimAuthor, SimPost
from tesoro.simulator.state import SimState

__all__ = [
    "COSTS",
    "PREFIX",
    "ROUTES",
    "channel_id",
    "comment_id",
    "iso_duration",
    "routes",
    "video_id",
]

PREFIX = "/youtube/v3"
# Quota units per call (YouTube's own table: search.list 100, the list methods used here 1).
COSTS = {"search": 100, "videos": 1, "channels": 1, "commentThreads": 1, "comments": 1, "insert": 50}
ROUTES = {name: f"youtube.{name}" for name in COSTS}
_TOKEN_PREFIX = "CAoQ"
_QUOTA_MESSAGE = (
    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started'
    '#quota">quota</a>.'
)


class _ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, domain: str = "youtube.parameter") -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain


_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
}


def _error_response(error: _ApiError) -> JSONResponse:
    body = {
        "error": {
            "code": error.status,
            "message": error.message,
            "errors": [{"message": error.message, "domain": error.domain, "reason": error.reason}],
            "status": _STATUS_NAMES.get(error.status, "UNKNOWN"),
        }
    }
    return JSONResponse(body, status_code=error.status)


@lru_cache(maxsize=8192)
def channel_id(author_id: int) -> str:
    """A channel id in YouTube's shape: `UC` and 22 base64url characters."""
    digest = hashlib.sha256(f"sim-channel-{author_id}".encode()).digest()
    return "UC" + base64.urlsafe_b64encode(digest).decode()[:22]


def video_id(post: SimPost) -> str:
    return youtube_video_id(post.id)


def iso_duration(ms: int) -> str:
    """YouTube's contentDetails.duration: ISO 8601 (`PT1H2M3S`, `PT45S`, `P0D` for nothing)."""
    seconds = ms // 1000
    if seconds <= 0:
        return "P0D"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs or out == "PT":
        out += f"{secs}S"
    return out


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _title(post: SimPost) -> str:
    first = post.text.split("\n")[0].split(". ")[0]
    return first if len(first) <= 100 else first[:99].rsplit(" ", 1)[0] + "…"


def _thumbnails(video: str) -> dict[str, Any]:
    base = f"https://i.ytimg.com/vi/{video}"
    return {
        "default": {"url": f"{base}/default.jpg", "width": 120, "height": 90},
        "medium": {"url": f"{base}/mqdefault.jpg", "width": 320, "height": 180},
        "high": {"url": f"{base}/hqdefault.jpg", "width": 480, "height": 360},
    }


def _parse_time(params: Any, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _ApiError(400, "invalidPublishedAfter", f"Invalid value for {name}: {raw}") from None
    if moment.tzinfo is None:
        raise _ApiError(400, "invalidPublishedAfter", f"Invalid value for {name}: {raw}")
    return moment


def _max_results(params: Any, default: int, ceiling: int) -> int:
    raw = params.get("maxResults", str(default))
    if not raw.isdigit() or int(raw) > ceiling:
        raise _ApiError(400, "invalidParameter", f"Invalid value '{raw}' for maxResults (0 to {ceiling}).")
    return int(raw)


def _below(token: str | None) -> int | None:
    if not token:
        return None
    if not token.startswith(_TOKEN_PREFIX):
        raise _ApiError(400, "invalidPageToken", "The request specifies an invalid page token.")
    try:
        return int(token[len(_TOKEN_PREFIX) :], 36)
    except ValueError:
        raise _ApiError(400, "invalidPageToken", "The request specifies an invalid page token.") from None


def _token(post_id: int) -> str:
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while True:
        post_id, rest = divmod(post_id, 36)
        out = digits[rest] + out
        if not post_id:
            return _TOKEN_PREFIX + out


@lru_cache(maxsize=1 << 16)
def _found(query: str, text: str) -> bool:
    """Whether the loose search finds a video for `query` (memoised: a run pages over the same videos).

    The title is the description's first sentence, so matching the description matches both.
    """
    return loose_match(query, text)


def _search(state: SimState, params: Any) -> dict[str, Any]:
    if params.get("type", "video") != "video":
        raise _ApiError(400, "invalidSearchFilter", "Only type=video is served by the simulator.")
    query = params.get("q", "")
    after, before = _parse_time(params, "publishedAfter"), _parse_time(params, "publishedBefore")
    below = _below(params.get("pageToken"))
    size = _max_results(params, 5, 50)
    hits = [
        p
        for p in state.world.posts("youtube")
        if p.reply_to is None
        and (after is None or p.created_at >= after)
        and (before is None or p.created_at < before)
        and (below is None or p.id < below)
        and _found(query, p.text)
    ]
    hits.sort(key=lambda p: p.id, reverse=True)
    page = hits[:size]
    body: dict[str, Any] = {
        "kind": "youtube#searchListResponse",
        "etag": f"sim-{len(hits)}",
        "regionCode": "US",
        "pageInfo": {"totalResults": len(hits), "resultsPerPage": size},
        "items": [
            {
                "kind": "youtube#searchResult",
                "etag": f"sim-{p.id}",
                "id": {"kind": "youtube#video", "videoId": video_id(p)},
                "snippet": {
                    "publishedAt": _time(p.created_at),
                    "channelId": channel_id(p.author.id),
                    "title": html.escape(_title(p)),  # search snippets come HTML-escaped, as on YouTube
                    "description": html.escape(p.text[:160]),
                    "thumbnails": _thumbnails(video_id(p)),
                    "channelTitle": p.author.name,
                    "liveBroadcastContent": "none",
                    "publishTime": _time(p.created_at),
                },
            }
            for p in page
        ],
    }
    if len(hits) > len(page) and page:
        body["nextPageToken"] = _token(page[-1].id)
    return body


def _ids(params: Any, limit: int = 50) -> list[str]:
    ids = [i for i in params.get("id", "").split(",") if i]
    if len(ids) > limit:
        raise _ApiError(400, "invalidParameter", f"At most {limit} ids may be given.")
    return ids


def _video(post: SimPost, parts: frozenset[str], comments: int) -> dict[str, Any]:
    vid = video_id(post)
    item: dict[str, Any] = {"kind": "youtube#video", "etag": f"sim-{post.id}", "id": vid}
    duration = post.media[0].duration_ms if post.media and post.media[0].duration_ms else 0
    if "snippet" in parts:
        item["snippet"] = {
            "publishedAt": _time(post.created_at),
            "channelId": channel_id(post.author.id),
            "title": _title(post),
            "description": post.text,
            "thumbnails": _thumbnails(vid),
            "channelTitle": post.author.name,
            "tags": list(post.hashtags),
            "categoryId": "17",
            "liveBroadcastContent": "none",
            "defaultAudioLanguage": post.lang,
            "localized": {"title": _title(post), "description": post.text},
        }
    if "contentDetails" in parts:
        details: dict[str, Any] = {
            "duration": iso_duration(duration),
            "dimension": "2d",
            "definition": "hd",
            "caption": "false",
            "licensedContent": False,
            "contentRating": {},
            "projection": "rectangular",
        }
        if "nsfw" in post.flags:
            details["contentRating"] = {"ytRating": "ytAgeRestricted"}
        item["contentDetails"] = details
    if "statistics" in parts:
        stats = {"viewCount": str(post.views or 0), "favoriteCount": "0"}
        if post.author.followers % 9:  # a few channels hide their like counts
            stats["likeCount"] = str(post.likes)
        if not _comments_disabled(post):
            stats["commentCount"] = str(max(post.replies, comments))
        item["statistics"] = stats
    return item


def _comments_disabled(post: SimPost) -> bool:
    """Spammers turn comments off on their videos."""
    return post.author.is_bot


def _channel(author: SimAuthor, parts: frozenset[str]) -> dict[str, Any]:
    cid = channel_id(author.id)
    item: dict[str, Any] = {"kind": "youtube#channel", "etag": f"sim-{author.id}", "id": cid}
    if "snippet" in parts:
        item["snippet"] = {
            "title": author.name,
            "description": author.bio,
            "customUrl": f"@{author.handle}",
            "publishedAt": "2016-04-02T10:00:00Z",
            "thumbnails": {
                "default": {"url": f"https://yt3.ggpht.com/sim-{author.id}=s88-c-k-c0x00ffffff-no-rj"}
            },
        }
    if "statistics" in parts:
        hidden = author.followers % 7 == 0
        stats: dict[str, Any] = {"viewCount": str(author.followers * 40), "videoCount": "12"}
        stats["hiddenSubscriberCount"] = hidden
        if not hidden:
            stats["subscriberCount"] = str(author.followers)
        item["statistics"] = stats
    return item


def _comment(reply: SimPost, parent: SimPost, plain: bool) -> dict[str, Any]:
    cid = comment_id(reply.id)
    text = reply.text if plain else html.escape(reply.text).replace("\n", "<br>")
    return {
        "kind": "youtube#commentThread",
        "etag": f"sim-{reply.id}",
        "id": cid,
        "snippet": {
            "channelId": channel_id(parent.author.id),
            "videoId": video_id(parent),
            "topLevelComment": {
                "kind": "youtube#comment",
                "etag": f"sim-c-{reply.id}",
                "id": cid,
                "snippet": {
                    "channelId": channel_id(parent.author.id),
                    "videoId": video_id(parent),
                    "textDisplay": text,
                    "textOriginal": reply.text,
                    "authorDisplayName": f"@{reply.author.handle}",
                    "authorProfileImageUrl": f"https://yt3.ggpht.com/sim-{reply.author.id}=s48",
                    "authorChannelUrl": f"http://www.youtube.com/@{reply.author.handle}",
                    "authorChannelId": {"value": channel_id(reply.author.id)},
                    "canRate": True,
                    "viewerRating": "none",
                    "likeCount": reply.likes,
                    "publishedAt": _time(reply.created_at),
                    "updatedAt": _time(reply.created_at),
                },
            },
            "canReply": True,
            "totalReplyCount": 0,
            "isPublic": True,
        },
    }


def comment_id(post_id: int) -> str:
    """A top-level comment's (and its thread's) id in YouTube's shape."""
    return "Ug" + youtube_video_id(post_id) + "4AaABAg"


def _reply(reply: SimPost, parent_cid: str, video: str) -> dict[str, Any]:
    """A reply under a top-level comment (`comments.list` / `comments.insert`): id `<parent>.<own>`."""
    return {
        "kind": "youtube#comment",
        "etag": f"sim-r-{reply.id}",
        "id": f"{parent_cid}.{youtube_video_id(reply.id)}",
        "snippet": {
            "channelId": channel_id(reply.author.id),
            "videoId": video,
            "textDisplay": html.escape(reply.text),
            "textOriginal": reply.text,
            "parentId": parent_cid,
            "authorDisplayName": f"@{reply.author.handle}",
            "authorProfileImageUrl": f"https://yt3.ggpht.com/sim-{reply.author.id}=s48",
            "authorChannelUrl": f"http://www.youtube.com/@{reply.author.handle}",
            "authorChannelId": {"value": channel_id(reply.author.id)},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": _time(reply.created_at),
            "updatedAt": _time(reply.created_at),
        },
    }


def _parts(params: Any) -> frozenset[str]:
    parts = frozenset(p for p in params.get("part", "").split(",") if p)
    if not parts:
        raise _ApiError(400, "required", "Required parameter: part", domain="global")
    return parts


def routes(state: SimState) -> list[BaseRoute]:
    """The YouTube routes, bound to `state`."""

    # Top-level comments by id (the world's and the brand's), with the video each is on.
    threads: dict[str, tuple[SimPost, str]] = {}

    def top_level(cid: str) -> tuple[SimPost, str] | None:
        """The top-level comment `cid` and its video id: the brand's, or one of the world's."""
        if cid in threads:  # the brand's comment goes with its video
            post, video = threads[cid]
            return (post, video) if state.world.find(post.reply_to or 0) is not None else None
        posts = state.world.posts("youtube")
        videos = {p.id: p for p in posts if p.reply_to is None}
        for post in posts:
            if post.reply_to in videos and comment_id(post.id) == cid:
                return post, video_id(videos[post.reply_to])
        return None

    async def guarded(request: Request, name: str) -> Response | None:
        """The answer that stops this call before any work (key, fault, quota), or None."""
        if name == "insert":
            if request.headers.get("authorization") != f"Bearer {state.credentials.youtube_oauth_token}":
                return _error_response(
                    _ApiError(401, "authError", "Request had invalid authentication credentials.", "global")
                )
        elif request.query_params.get("key") != state.credentials.youtube_api_key:
            return _error_response(
                _ApiError(400, "keyInvalid", "API key not valid. Please pass a valid API key.", "global")
            )
        route = ROUTES[name]
        if state.faults.take_if(route, Fault.RATE_LIMIT):
            message = "The request cannot be completed because you have exceeded the rate limit."
            return _error_response(_ApiError(403, "rateLimitExceeded", message, "usageLimits"))
        faulted = await fault_response(
            state,
            route,
            rate_limit_headers={},
            rate_limit_body={"error": {"code": 429, "message": "Resource has been exhausted"}},
            auth_body={"error": {"code": 401, "message": "Request is missing required authentication."}},
            empty_body={"kind": f"youtube#{name}ListResponse", "items": []},
        )
        if faulted is not None:
            return faulted
        if not state.spend("youtube", COSTS[name]):
            return _error_response(_ApiError(403, "quotaExceeded", _QUOTA_MESSAGE, "youtube.quota"))
        return None

    async def search(request: Request) -> Response:
        stop = await guarded(request, "search")
        if stop is not None:
            return stop
        try:
            return JSONResponse(_search(state, request.query_params))
        except _ApiError as error:
            return _error_response(error)

    async def videos(request: Request) -> Response:
        stop = await guarded(request, "videos")
        if stop is not None:
            return stop
        try:
            parts, order = _parts(request.query_params), list(dict.fromkeys(_ids(request.query_params)))
        except _ApiError as error:
            return _error_response(error)
        posts = state.world.posts("youtube")
        comments: dict[int, int] = {}
        for p in posts:
            if p.reply_to is not None:
                comments[p.reply_to] = comments.get(p.reply_to, 0) + 1
        by_id = {video_id(p): p for p in posts if p.reply_to is None}
        # In the order asked, as YouTube answers; an unknown (deleted, private) id is left out.
        items = [_video(by_id[i], parts, comments.get(by_id[i].id, 0)) for i in order if i in by_id]
        return JSONResponse(
            {
                "kind": "youtube#videoListResponse",
                "etag": "sim",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            }
        )

    async def channels(request: Request) -> Response:
        stop = await guarded(request, "channels")
        if stop is not None:
            return stop
        try:
            parts, wanted = _parts(request.query_params), set(_ids(request.query_params))
        except _ApiError as error:
            return _error_response(error)
        authors = {channel_id(p.author.id): p.author for p in state.world.posts("youtube")}
        items = [_channel(authors[c], parts) for c in wanted if c in authors]
        return JSONResponse(
            {
                "kind": "youtube#channelListResponse",
                "etag": "sim",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            }
        )

    async def comment_threads(request: Request) -> Response:
        stop = await guarded(request, "commentThreads")
        if stop is not None:
            return stop
        params = request.query_params
        try:
            _parts(params)
            size = _max_results(params, 20, 100)
            below = _below(params.get("pageToken"))
            return JSONResponse(_threads(state.world.posts("youtube"), params, size, below))
        except _ApiError as error:
            return _error_response(error)

    async def insert_thread(request: Request) -> Response:
        """`commentThreads.insert`: the brand's top-level comment on a video (a rights request)."""
        stop = await guarded(request, "insert")
        if stop is not None:
            return stop
        try:
            snippet = _dict(_json_object(await request.body()).get("snippet"))
        except _ApiError as error:
            return _error_response(error)
        text = str(_dict(_dict(snippet.get("topLevelComment")).get("snippet")).get("textOriginal") or "")
        wanted = str(snippet.get("videoId") or "")
        if not text.strip() or len(text) > 10_000:
            return _error_response(_ApiError(400, "commentTextRequired", "The comment needs text."))
        video = next(
            (p for p in state.world.posts("youtube") if p.reply_to is None and video_id(p) == wanted), None
        )
        if video is None:
            return _error_response(
                _ApiError(404, "videoNotFound", "The video could not be found.", "youtube.commentThread")
            )
        if _comments_disabled(video):
            return _error_response(
                _ApiError(
                    403, "commentsDisabled", "The video has disabled comments.", "youtube.commentThread"
                )
            )
        try:
            mine = state.world.reply(video.id, text)
        except KeyError:
            return _error_response(_ApiError(404, "videoNotFound", "The video could not be found."))
        threads[comment_id(mine.id)] = (mine, wanted)
        return JSONResponse(_comment(mine, video, True))

    async def insert_reply(request: Request) -> Response:
        """`comments.insert`: the brand's reply under a top-level comment (a rights request)."""
        stop = await guarded(request, "insert")
        if stop is not None:
            return stop
        try:
            snippet = _dict(_json_object(await request.body()).get("snippet"))
        except _ApiError as error:
            return _error_response(error)
        text = str(snippet.get("textOriginal") or "")
        parent = str(snippet.get("parentId") or "")
        if not text.strip() or len(text) > 10_000:
            return _error_response(_ApiError(400, "commentTextRequired", "The comment needs text."))
        found = top_level(parent)
        if found is None:
            return _error_response(
                _ApiError(
                    404, "parentCommentNotFound", "The parent comment could not be found.", "youtube.comment"
                )
            )
        top, video = found
        try:
            mine = state.world.reply(top.id, text)
        except KeyError:
            return _error_response(_ApiError(404, "parentCommentNotFound", "The parent comment is gone."))
        return JSONResponse(_reply(mine, parent, video))

    async def comments(request: Request) -> Response:
        """`comments.list` with `parentId`: the replies under a top-level comment, oldest first."""
        stop = await guarded(request, "comments")
        if stop is not None:
            return stop
        params = request.query_params
        try:
            _parts(params)
        except _ApiError as error:
            return _error_response(error)
        parent = params.get("parentId", "")
        found = top_level(parent)
        if found is None:
            return _error_response(
                _ApiError(404, "commentNotFound", "The comment could not be found.", "youtube.comment")
            )
        top, video = found
        size = _max_results(params, 20, 100)
        replies = state.world.thread(top.id)[:size]
        return JSONResponse(
            {
                "kind": "youtube#commentListResponse",
                "etag": "sim",
                "pageInfo": {"totalResults": len(replies), "resultsPerPage": size},
                "items": [_reply(r, parent, video) for r in replies],
            }
        )

    return [
        Route(f"{PREFIX}/search", search, methods=["GET"]),
        Route(f"{PREFIX}/videos", videos, methods=["GET"]),
        Route(f"{PREFIX}/channels", channels, methods=["GET"]),
        Route(f"{PREFIX}/commentThreads", comment_threads, methods=["GET"]),
        Route(f"{PREFIX}/commentThreads", insert_thread, methods=["POST"]),
        Route(f"{PREFIX}/comments", comments, methods=["GET"]),
        Route(f"{PREFIX}/comments", insert_reply, methods=["POST"]),
    ]


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError as exc:
        raise _ApiError(400, "parseError", "This API does not support parsing form-encoded input.") from exc
    return value if isinstance(value, dict) else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _threads(posts: Sequence[SimPost], params: Any, size: int, below: int | None) -> dict[str, Any]:
    wanted = params.get("videoId", "")
    video = next((p for p in posts if p.reply_to is None and video_id(p) == wanted), None)
    if video is None:
        raise _ApiError(
            404,
            "videoNotFound",
            "The video identified by the videoId parameter could not be found.",
            "youtube.commentThread",
        )
    if _comments_disabled(video):
        raise _ApiError(
            403,
            "commentsDisabled",
            "The video identified by the videoId parameter has disabled comments.",
            "youtube.commentThread",
        )
    replies = sorted(
        (p for p in posts if p.reply_to == video.id and (below is None or p.id < below)),
        key=lambda p: p.id,
        reverse=True,
    )
    page = replies[:size]
    plain = params.get("textFormat", "html") == "plainText"
    body: dict[str, Any] = {
        "kind": "youtube#commentThreadListResponse",
        "etag": "sim",
        "pageInfo": {"totalResults": len(page), "resultsPerPage": size},
        "items": [_comment(r, video, plain) for r in page],
    }
    if len(replies) > len(page) and page:
        body["nextPageToken"] = _token(page[-1].id)
    return body
