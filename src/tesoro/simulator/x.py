"""X (Twitter) API v2 recent search, as `tweepy.Client` sees it.

Serves `GET /2/tweets/search/recent` with X's real JSON: `data` / `includes` /
`meta`, field selection through `tweet.fields` / `user.fields` / `media.fields`
(X returns only `id`, `text` and `edit_history_tweet_ids` unless asked, so the
collector must ask), `expansions`, newest-first paging with an opaque
`next_token`, `since_id` / `until_id`, X's error bodies and the
`x-rate-limit-*` headers on every answer. Faults are injected under the route
name `"x.search"`.

Tweets look as X sends them: every link in the text is a `t.co` link with its
`expanded_url` in `entities.urls`, a tweet with media ends with a `t.co` link to
its media page, the language is X's code (`in` for Indonesian, `iw` for Hebrew,
pseudo-codes such as `qme` as they are), `possibly_sensitive` follows the
post's flags and a quote names its tweet in `referenced_tweets`.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.common import fault_response, loose_match
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.state import SimState

__all__ = [
    "LOOKUP_MAX_IDS",
    "LOOKUP_PATH",
    "LOOKUP_ROUTE",
    "PATH",
    "RATE_LIMIT",
    "ROUTE",
    "routes",
    "t_co",
    "tweet_time",
    "x_escape",
    "x_lang",
]

ROUTE = "x.search"
PATH = "/2/tweets/search/recent"
# Tweet lookup (`GET /2/tweets?ids=`): up to 100 ids; a missing one comes back in `errors`.
LOOKUP_ROUTE = "x.lookup"
LOOKUP_PATH = "/2/tweets"
LOOKUP_MAX_IDS = 100
# App-only recent search: 450 requests per 15-minute window.
RATE_LIMIT = 450
RATE_WINDOW_S = 15 * 60
# How far ahead an injected 429 says the window resets; short so a demo recovers quickly.
RATE_LIMIT_RESET_S = 2
RECENT_WINDOW = timedelta(days=7)  # how far back /2/tweets/search/recent reaches

_DEFAULT_TWEET_FIELDS = frozenset({"id", "text", "edit_history_tweet_ids"})
_DEFAULT_USER_FIELDS = frozenset({"id", "name", "username"})
_DEFAULT_MEDIA_FIELDS = frozenset({"media_key", "type"})
_MEDIA_TYPES = {"photo": "photo", "video": "video", "gif": "animated_gif"}
_TOKEN_PREFIX = "b26v89c19zqg8o3f"

_UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
_TOO_MANY = {
    "title": "Too Many Requests",
    "detail": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
}
# The operator that asks for the replies to one tweet.
_REPLY_TO = re.compile(r"\bin_reply_to_tweet_id:(\d+)")
CREATE_ROUTE = "x.create"
_LINK = re.compile(r"https?://\S+")
_OPERATOR = re.compile(r"(?:^|\s)-\S+|\b[a-z_]+:\S+", re.IGNORECASE)
_LANG = re.compile(r"(?<!-)\blang:([a-z]{2,3})\b", re.IGNORECASE)
_HASHTAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"@(\w{1,15})")
_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?)]")
# X still sends some withdrawn ISO 639-1 codes: Indonesian as `in`, Hebrew as `iw`.
_X_LANGS = {"id": "in", "he": "iw"}
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class _BadRequest(Exception):
    """A parameter X would refuse; carries the parameter name and X's message."""

    def __init__(self, parameter: str, value: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value
        self.message = message


class _RateWindow:
    """Counts calls per 15-minute window so every answer carries truthful-looking headers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window_start = 0
        self._used = 0

    def count(self) -> dict[str, str]:
        now = int(time.time())
        with self._lock:
            if now >= self._window_start + RATE_WINDOW_S:
                self._window_start, self._used = now, 0
            self._used += 1
            remaining = max(RATE_LIMIT - self._used, 0)
            reset = self._window_start + RATE_WINDOW_S
        return {
            "x-rate-limit-limit": str(RATE_LIMIT),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(reset),
        }


@dataclass(frozen=True, slots=True)
class _Search:
    """The parsed query string of one search call."""

    query: str
    langs: frozenset[str]
    max_results: int
    since_id: int | None
    until_id: int | None
    below_id: int | None  # from next_token: only ids strictly below this one
    start_time: datetime | None
    end_time: datetime | None
    tweet_fields: frozenset[str]
    user_fields: frozenset[str]
    media_fields: frozenset[str]
    expansions: frozenset[str]


def x_escape(text: str) -> str:
    """X escapes `&`, `<` and `>` in tweet text (and nothing else); clients must undo it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tweet_time(moment: datetime) -> str:
    """X's timestamp format: UTC with milliseconds and a `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _encode_token(post_id: int) -> str:
    return _TOKEN_PREFIX + _base36(post_id)


def _decode_token(token: str) -> int:
    if not token.startswith(_TOKEN_PREFIX):
        raise _BadRequest("next_token", token, f"The `next_token` query parameter value [{token}] is invalid")
    try:
        return int(token[len(_TOKEN_PREFIX) :], 36)
    except ValueError:
        raise _BadRequest("next_token", token, "The `next_token` query parameter value is invalid") from None


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
        if value == 0:
            return out


def _id_param(params: Any, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise _BadRequest(name, raw, f"The `{name}` query parameter value [{raw}] is not valid")
    return int(raw)


def _time_param(params: Any, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _BadRequest(name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be ISO 8601") from None


def _csv(params: Any, name: str) -> frozenset[str]:
    return frozenset(part for part in params.get(name, "").split(",") if part)


def _parse(params: Any) -> _Search:
    query = params.get("query", "")
    if not query.strip():
        raise _BadRequest("query", "", "The `query` query parameter can not be empty")
    raw_max = params.get("max_results", "10")
    if not raw_max.isdigit() or not 10 <= int(raw_max) <= 100:
        raise _BadRequest(
            "max_results",
            raw_max,
            f"The `max_results` query parameter value [{raw_max}] is not between 10 and 100",
        )
    token = params.get("next_token") or params.get("pagination_token")
    return _Search(
        query=query,
        langs=frozenset(m.casefold() for m in _LANG.findall(query)),
        max_results=int(raw_max),
        since_id=_id_param(params, "since_id"),
        until_id=_id_param(params, "until_id"),
        below_id=_decode_token(token) if token else None,
        start_time=_time_param(params, "start_time"),
        end_time=_time_param(params, "end_time"),
        tweet_fields=_DEFAULT_TWEET_FIELDS | _csv(params, "tweet.fields"),
        user_fields=_DEFAULT_USER_FIELDS | _csv(params, "user.fields"),
        media_fields=_DEFAULT_MEDIA_FIELDS | _csv(params, "media.fields"),
        expansions=_csv(params, "expansions"),
    )


def _check_window(search: _Search, posts: list[SimPost], now: datetime) -> None:
    """Recent search reaches back 7 days: like X, refuse a `since_id` of a tweet older than that."""
    if search.since_id is None:
        return
    horizon = now - RECENT_WINDOW
    for post in posts:
        if post.id == search.since_id and post.created_at < horizon:
            raise _BadRequest(
                "since_id",
                str(search.since_id),
                f"Invalid 'since_id':'{search.since_id}'. 'since_id' must be a tweet id created after "
                f"{horizon.strftime('%Y-%m-%dT%H:%MZ')}.",
            )


def _matches(search: _Search, post: SimPost) -> bool:
    """X-like filtering: ids and times exactly, words loosely (operators are not words)."""
    if search.since_id is not None and post.id <= search.since_id:
        return False
    if search.until_id is not None and post.id >= search.until_id:
        return False
    if search.below_id is not None and post.id >= search.below_id:
        return False
    if search.start_time is not None and post.created_at < search.start_time:
        return False
    if search.end_time is not None and post.created_at >= search.end_time:
        return False
    if search.langs and not {post.lang.casefold(), x_lang(post.lang)} & search.langs:
        return False
    return loose_match(_OPERATOR.sub(" ", search.query), post.text)


def x_lang(code: str) -> str:
    """A post's language as X writes it (`in` for Indonesian, `iw` for Hebrew; pseudo-codes such
    as `qme` or `und` as they are)."""
    return _X_LANGS.get(code.casefold(), code.casefold())


def t_co(url: str, salt: str) -> str:
    """The `t.co` short link X writes in place of `url` (a new one for every tweet)."""
    value = int.from_bytes(hashlib.sha256(f"{salt}|{url}".encode()).digest()[:8], "big")
    chars = ""
    for _ in range(10):
        value, rest = divmod(value, 62)
        chars += _B62[rest]
    return "https://t.co/" + chars


def _display_url(url: str) -> str:
    bare = re.sub(r"^https?://(www\.)?", "", url)
    return bare if len(bare) <= 25 else bare[:24] + "\u2026"


def _shortened(post: SimPost) -> tuple[str, list[dict[str, Any]]]:
    """The text as X serves it, every link a `t.co` link, and its `entities.urls`.

    As on X, a tweet with photos or videos ends with one more `t.co` link, to its first media
    page, whose entity carries the `media_key`. Offsets count code points of the unescaped text.
    """
    parts: list[str] = []
    urls: list[dict[str, Any]] = []
    position = length = 0
    for match in _URL.finditer(post.text):
        before = post.text[position : match.start()]
        short = t_co(match.group(0), str(post.id))
        length += len(before)
        urls.append(
            {
                "start": length,
                "end": length + len(short),
                "url": short,
                "expanded_url": match.group(0),
                "display_url": _display_url(match.group(0)),
            }
        )
        parts += [before, short]
        length += len(short)
        position = match.end()
    parts.append(post.text[position:])
    text = "".join(parts)
    if post.media:
        first = post.media[0]
        kind = "video" if first.type == "video" else "photo"
        page = f"https://x.com/{post.author.handle}/status/{post.id}/{kind}/1"
        short = t_co(page, str(post.id))
        text = f"{text} {short}" if text else short
        urls.append(
            {
                "start": len(text) - len(short),
                "end": len(text),
                "url": short,
                "expanded_url": page,
                "display_url": f"pic.x.com/{short.rsplit('/', 1)[1]}",
                "media_key": first.key,
            }
        )
    return text, urls


def _entities(text: str) -> dict[str, Any]:
    entities: dict[str, Any] = {}
    hashtags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG.finditer(text)]
    mentions = [{"start": m.start(), "end": m.end(), "username": m.group(1)} for m in _MENTION.finditer(text)]
    if hashtags:
        entities["hashtags"] = hashtags
    if mentions:
        entities["mentions"] = mentions
    return entities


def _chains(posts: Iterable[SimPost]) -> dict[int, tuple[int, ...]]:
    """Each edited post's whole edit chain (original first, newest last), by every id in it."""
    chains: dict[int, tuple[int, ...]] = {}
    for post in sorted((p for p in posts if p.edit_history), key=lambda p: p.id):
        chain = (*post.edit_history, post.id)
        for version in chain:
            chains[version] = chain
    return chains


def _tweet(post: SimPost, chain: tuple[int, ...] = ()) -> dict[str, Any]:
    """Every field X can return for a tweet; `_select` trims it to what was asked.

    `edit_history_tweet_ids` lists every version of an edited tweet, the original first,
    whichever version this is (X API v2); a tweet never edited lists its own id.
    """
    text, urls = _shortened(post)
    tweet: dict[str, Any] = {
        "id": str(post.id),
        "text": x_escape(text),
        "edit_history_tweet_ids": [str(i) for i in (chain or (post.id,))],
        "author_id": str(post.author.id),
        "created_at": tweet_time(post.created_at),
        "lang": x_lang(post.lang),
        "conversation_id": str(post.reply_to or post.id),
        "possibly_sensitive": "nsfw" in post.flags or "sensitive" in post.flags,
        "reply_settings": "everyone",
        "public_metrics": {
            "retweet_count": post.reposts,
            "reply_count": post.replies,
            "like_count": post.likes,
            "quote_count": post.quotes,
            "bookmark_count": 0,
            "impression_count": post.views or 0,
        },
    }
    entities = _entities(text)
    if urls:
        entities["urls"] = urls
    if entities:
        tweet["entities"] = entities
    if post.media:
        tweet["attachments"] = {"media_keys": [m.key for m in post.media]}
    references = [
        {"type": kind, "id": str(ref)}
        for kind, ref in (("replied_to", post.reply_to), ("quoted", post.quote_of))
        if ref is not None
    ]
    if references:
        tweet["referenced_tweets"] = references
    return tweet


def _user(author: SimAuthor) -> dict[str, Any]:
    return {
        "id": str(author.id),
        "name": author.name,
        "username": author.handle,
        "verified": author.verified,
        "verified_type": "blue" if author.verified else "none",
        "description": author.bio,
        "created_at": "2015-03-02T10:00:00.000Z",
        "profile_image_url": f"https://pbs.twimg.com/profile_images/{author.id}/avatar_normal.jpg",
        "public_metrics": {
            "followers_count": author.followers,
            "following_count": author.following,
            "tweet_count": 0,
            "listed_count": 0,
        },
    }


def _media(media: SimMedia) -> dict[str, Any]:
    """X's media object: photos have `url`; videos and GIFs have `variants` and a preview."""
    item: dict[str, Any] = {
        "media_key": media.key,
        "type": _MEDIA_TYPES.get(media.type, media.type),
        "width": media.width,
        "height": media.height,
    }
    if media.alt_text:
        item["alt_text"] = media.alt_text
    if media.type == "photo":
        item["url"] = media.url
        return item
    item["preview_image_url"] = media.preview_url
    if media.type == "video":
        item["duration_ms"] = media.duration_ms or 0
        item["variants"] = [
            {"content_type": "application/x-mpegURL", "url": media.url + ".m3u8"},
            {"bit_rate": 832000, "content_type": "video/mp4", "url": media.url + "?tag=low"},
            {"bit_rate": 2176000, "content_type": "video/mp4", "url": media.url},
        ]
    else:
        item["variants"] = [{"bit_rate": 0, "content_type": "video/mp4", "url": media.url}]
    return item


def _select(obj: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key in fields}


def _includes(search: _Search, posts: Sequence[SimPost]) -> dict[str, Any]:
    includes: dict[str, Any] = {}
    if "author_id" in search.expansions:
        authors = {p.author.id: p.author for p in posts}
        includes["users"] = [_select(_user(a), search.user_fields) for a in authors.values()]
    if "attachments.media_keys" in search.expansions:
        media = {m.key: m for p in posts for m in p.media}
        if media:
            includes["media"] = [_select(_media(m), search.media_fields) for m in media.values()]
    return includes


def _body(
    search: _Search, page: Sequence[SimPost], more: bool, chains: dict[int, tuple[int, ...]] | None = None
) -> dict[str, Any]:
    if not page:
        return {"meta": {"result_count": 0}}
    meta: dict[str, Any] = {
        "newest_id": str(page[0].id),
        "oldest_id": str(page[-1].id),
        "result_count": len(page),
    }
    if more:
        meta["next_token"] = _encode_token(page[-1].id)
    chains = chains or {}
    data = [_select(_tweet(p, chains.get(p.id, ())), search.tweet_fields) for p in page]
    body: dict[str, Any] = {"data": data, "meta": meta}
    includes = _includes(search, page)
    if includes:
        body["includes"] = includes
    return body


def _search(posts: Iterable[SimPost], search: _Search) -> dict[str, Any]:
    """Matching tweets, newest first; of an edited tweet only its newest version is found."""
    posts = list(posts)
    chains = _chains(posts)
    current = (p for p in posts if p.id not in chains or chains[p.id][-1] == p.id)
    hits = sorted((p for p in current if _matches(search, p)), key=lambda p: p.id, reverse=True)
    page = hits[: search.max_results]
    return _body(search, page, more=len(hits) > len(page), chains=chains)


def _lookup(posts: Iterable[SimPost], ids: Sequence[str], search: _Search) -> dict[str, Any]:
    """X's tweet lookup: the tweets found, in the order asked, and a not-found error for each other id."""
    posts = list(posts)
    chains = _chains(posts)
    by_id = {str(p.id): p for p in posts}
    found = [by_id[i] for i in ids if i in by_id]
    body: dict[str, Any] = {}
    if found:
        body["data"] = [_select(_tweet(p, chains.get(p.id, ())), search.tweet_fields) for p in found]
        includes = _includes(search, found)
        if includes:
            body["includes"] = includes
    missing = [i for i in ids if i not in by_id]
    if missing:
        body["errors"] = [
            {
                "value": i,
                "detail": f"Could not find tweet with ids: [{i}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": i,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for i in missing
        ]
    return body


def _bad_request(error: _BadRequest) -> dict[str, Any]:
    return {
        "errors": [{"parameters": {error.parameter: [error.value]}, "message": error.message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def routes(state: SimState) -> list[BaseRoute]:
    """The X routes, bound to `state`."""
    window = _RateWindow()

    async def search_recent(request: Request) -> Response:
        headers = window.count()
        if request.headers.get("authorization") != f"Bearer {state.credentials.x_bearer}":
            return JSONResponse(_UNAUTHORIZED, status_code=401, headers=headers)
        faulted = await fault_response(
            state,
            ROUTE,
            rate_limit_headers={
                **headers,
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + RATE_LIMIT_RESET_S),
            },
            rate_limit_body=_TOO_MANY,
            auth_body=_UNAUTHORIZED,
            empty_body={"meta": {"result_count": 0}},
        )
        if faulted is not None:
            if faulted.status_code != 429:
                faulted.headers.update(headers)
            return faulted
        posts = state.world.posts("x")
        thread = _REPLY_TO.search(request.query_params.get("query", ""))
        if thread is not None:  # the replies under one tweet (a rights request's answers)
            posts = state.world.thread(int(thread.group(1)))
        try:
            search = _parse(request.query_params)
            _check_window(search, posts, datetime.now(UTC))
        except _BadRequest as error:
            return JSONResponse(_bad_request(error), status_code=400, headers=headers)
        return JSONResponse(_search(posts, search), headers=headers)

    async def lookup(request: Request) -> Response:
        headers = window.count()
        if request.headers.get("authorization") != f"Bearer {state.credentials.x_bearer}":
            return JSONResponse(_UNAUTHORIZED, status_code=401, headers=headers)
        faulted = await fault_response(
            state,
            LOOKUP_ROUTE,
            rate_limit_headers={
                **headers,
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + RATE_LIMIT_RESET_S),
            },
            rate_limit_body=_TOO_MANY,
            auth_body=_UNAUTHORIZED,
            empty_body={},
        )
        if faulted is not None:
            if faulted.status_code != 429:
                faulted.headers.update(headers)
            return faulted
        raw = request.query_params.get("ids", "")
        ids = [i for i in raw.split(",") if i]
        if not ids or len(ids) > LOOKUP_MAX_IDS or not all(i.isdigit() for i in ids):
            error = _BadRequest("ids", raw, f"ids must be 1 to {LOOKUP_MAX_IDS} comma-separated tweet ids")
            return JSONResponse(_bad_request(error), status_code=400, headers=headers)
        params = request.query_params
        search = _Search(
            query="",
            langs=frozenset(),
            max_results=LOOKUP_MAX_IDS,
            since_id=None,
            until_id=None,
            below_id=None,
            start_time=None,
            end_time=None,
            tweet_fields=_DEFAULT_TWEET_FIELDS | _csv(params, "tweet.fields"),
            user_fields=_DEFAULT_USER_FIELDS | _csv(params, "user.fields"),
            media_fields=_DEFAULT_MEDIA_FIELDS | _csv(params, "media.fields"),
            expansions=_csv(params, "expansions"),
        )
        return JSONResponse(_lookup(state.world.posts("x"), ids, search), headers=headers)

    async def create(request: Request) -> Response:
        """`POST /2/tweets`: the brand replies under a tweet (a rights request); its author answers."""
        headers = window.count()
        if request.headers.get("authorization") != f"Bearer {state.credentials.x_bearer}":
            return JSONResponse(_UNAUTHORIZED, status_code=401, headers=headers)
        faulted = await fault_response(
            state,
            CREATE_ROUTE,
            rate_limit_headers={**headers, "x-rate-limit-remaining": "0"},
            rate_limit_body=_TOO_MANY,
            auth_body=_UNAUTHORIZED,
            empty_body={},
        )
        if faulted is not None:
            return faulted
        try:
            body = await request.json()
        except ValueError:
            body = None
        text = str((body or {}).get("text") or "") if isinstance(body, dict) else ""
        parent = str(((body or {}).get("reply") or {}).get("in_reply_to_tweet_id") or "") if text else ""
        # X counts every link as 23 characters (its t.co length), whatever its own length.
        weighted = len(_LINK.sub("x" * 23, text))
        if not text or weighted > 280 or not parent.isdigit():
            error = _BadRequest(
                "text", text[:50], "a reply needs text (1 to 280 characters) and reply.in_reply_to_tweet_id"
            )
            return JSONResponse(_bad_request(error), status_code=400, headers=headers)
        try:
            post = state.world.reply(int(parent), text)
        except KeyError:
            return JSONResponse(
                {
                    "title": "Invalid Request",
                    "detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
                    "type": "about:blank",
                    "status": 403,
                },
                status_code=403,
                headers=headers,
            )
        return JSONResponse(
            {"data": {"id": str(post.id), "text": post.text, "edit_history_tweet_ids": [str(post.id)]}},
            status_code=201,
            headers=headers,
        )

    return [
        Route(PATH, search_recent, methods=["GET"]),
        Route(LOOKUP_PATH, lookup, methods=["GET"]),
        Route(LOOKUP_PATH, create, methods=["POST"]),
    ]
