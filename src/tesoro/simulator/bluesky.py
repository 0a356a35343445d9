"""Bluesky's XRPC API under `/bsky/xrpc`, as `atproto.Client` sees it.

Serves session creation and refresh, `app.bsky.actor.getProfile(s)` and
`app.bsky.feed.searchPosts` with Bluesky's JSON: PostView with its record,
facets, embed views and counts; offset cursors (what the search service hands
out, so new posts arriving between two pages shift the results, which the
collector has to cope with); `ratelimit-*` headers on every answer.

Post rkeys are TIDs (13 base32-sortable characters) built from the global,
increasing post id, so — as on the real network — comparing rkeys orders posts
by creation. Fault route names: `bluesky.login`, `bluesky.search`,
`bluesky.profiles`.

Records look as the Bluesky app writes them: a link in the text is shortened
(`example.com/some-long-pa...`) with the whole uri in a link facet; an `nsfw`
post carries the author's self-label `porn` and a `sensitive` one the moderation
service's `!warn` label; a quote embeds the quoted post (`recordWithMedia` when
it has media too), and a post may embed a starter pack, a list or a feed
generator instead (`SimPost.embeds_record`), which are no quotes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tesoro.simulator.common import fault_response, loose_match
from tesoro.simulator.generator import bluesky_did
from tesoro.simulator.model import BSKY_MEDIA_HOST, SimAuthor, SimMedia, SimPost
from tesoro.simulator.state import SimState

__all__ = [
    "PREFIX",
    "author_did",
    "author_handle",
    "decode_tid",
    "encode_tid",
    "post_uri",
    "routes",
]

PREFIX = "/bsky/xrpc"
RATE_LIMIT = 3000
RATE_WINDOW_S = 300
RATE_LIMIT_RESET_S = 2
ACCESS_TTL = timedelta(hours=2)
REFRESH_TTL = timedelta(days=60)

_S32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, as TIDs use
_B32 = "abcdefghijklmnopqrstuvwxyz234567"  # did:plc identifiers
_TID_EPOCH_US = 1_700_000_000_000_000  # makes the rkeys look like 2023-era TIDs
_HASHTAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"@([\w.-]+\w)")
_OPERATOR = re.compile(r"(?:^|\s)-\S+|\b[a-z_]+:\S+", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?)]")
# Bluesky's own moderation service, which applies labels such as `!warn` to posts.
MODERATION_DID = "did:plc:ar7c4by46qjdydhdevvrndac"
# What a post embeds when it is no post (`SimPost.embeds_record`): collection and view type.
_RECORD_EMBEDS = {
    "starter_pack": ("app.bsky.graph.starterpack", "app.bsky.graph.defs#starterPackViewBasic"),
    "list": ("app.bsky.graph.list", "app.bsky.graph.defs#listView"),
    "feed": ("app.bsky.feed.generator", "app.bsky.feed.defs#generatorView"),
}

_RATE_LIMITED = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
_AUTH_REQUIRED = {"error": "AuthenticationRequired", "message": "Authentication Required"}
_BAD_LOGIN = {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
_INVALID_TOKEN = {"error": "InvalidToken", "message": "Token could not be verified"}


def encode_tid(post_id: int) -> str:
    """A TID for a post id: microseconds-since-epoch << 10, in 13 base32-sortable characters."""
    value = (_TID_EPOCH_US + post_id) << 10
    out = ""
    for _ in range(13):
        value, rest = divmod(value, 32)
        out = _S32[rest] + out
    return out


def decode_tid(rkey: str) -> int:
    """The post id behind `encode_tid`; ValueError for anything that is not one."""
    if len(rkey) != 13 or any(c not in _S32 for c in rkey):
        raise ValueError(f"not a TID: {rkey!r}")
    value = 0
    for char in rkey:
        value = value * 32 + _S32.index(char)
    return (value >> 10) - _TID_EPOCH_US


def _b32_id(number: int, width: int = 24) -> str:
    out = ""
    for _ in range(width):
        number, rest = divmod(number, 32)
        out = _B32[rest] + out
    return out


def author_did(author: SimAuthor) -> str:
    """The author's DID; the generator uses the same function so media URLs name their owner."""
    return bluesky_did(author.id)


def author_handle(author: SimAuthor) -> str:
    """Bluesky handles are domain names: lower-case, no underscores."""
    return f"{author.handle.lower().replace('_', '-')}.bsky.social"


def post_uri(post: SimPost) -> str:
    return f"at://{author_did(post.author)}/app.bsky.feed.post/{encode_tid(post.id)}"


def _did_for_name(name: str) -> str:
    return f"did:plc:{_b32_id(int.from_bytes(hashlib.sha256(name.encode()).digest()[:15], 'big'))}"


def _cid(seed: str) -> str:
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower().rstrip("=")
    return "bafyrei" + digest[:52]


def _bsky_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(claims: dict[str, Any]) -> str:
    """An unsigned-in-spirit JWT: the client only decodes it to read `exp`."""
    header = _b64url(json.dumps({"typ": "at+jwt", "alg": "ES256K"}).encode())
    payload = _b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{_b64url(secrets.token_bytes(32))}"


class _RateWindow:
    """Counts calls per 5-minute window so every answer carries Bluesky's headers."""

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
            "ratelimit-limit": str(RATE_LIMIT),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
            "ratelimit-policy": f"{RATE_LIMIT};w={RATE_WINDOW_S}",
        }

    @staticmethod
    def exhausted() -> dict[str, str]:
        return {
            "ratelimit-limit": str(RATE_LIMIT),
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(int(time.time()) + RATE_LIMIT_RESET_S),
            "ratelimit-policy": f"{RATE_LIMIT};w={RATE_WINDOW_S}",
        }


class _Sessions:
    """Tokens this simulator issued; anything else is refused like a forged token."""

    def __init__(self, handle: str) -> None:
        self.handle = handle
        self.did = _did_for_name(handle)
        self._lock = threading.Lock()
        self._access: set[str] = set()
        self._refresh: set[str] = set()

    def create(self) -> dict[str, Any]:
        now = int(time.time())
        access = _jwt(
            {
                "scope": "com.atproto.access",
                "sub": self.did,
                "iat": now,
                "exp": now + int(ACCESS_TTL.total_seconds()),
                "aud": "did:web:sim.bsky",
            }
        )
        refresh = _jwt(
            {
                "scope": "com.atproto.refresh",
                "sub": self.did,
                "iat": now,
                "jti": secrets.token_hex(8),
                "exp": now + int(REFRESH_TTL.total_seconds()),
                "aud": "did:web:sim.bsky",
            }
        )
        with self._lock:
            self._access.add(access)
            self._refresh.add(refresh)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "did": self.did,
            "handle": self.handle,
            "active": True,
        }

    def check_access(self, request: Request) -> Response | None:
        """None when the bearer token is a live access token, else Bluesky's error answer."""
        token = _bearer(request)
        if token is None:
            return JSONResponse(_AUTH_REQUIRED, status_code=401)
        with self._lock:
            known = token in self._access
        return None if known else JSONResponse(_INVALID_TOKEN, status_code=400)

    def use_refresh(self, request: Request) -> bool:
        token = _bearer(request)
        with self._lock:
            if token is None or token not in self._refresh:
                return False
            self._refresh.discard(token)
            return True


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[len("Bearer ") :] if header.startswith("Bearer ") else None


def _invalid(message: str) -> JSONResponse:
    return JSONResponse({"error": "InvalidRequest", "message": message}, status_code=400)


@dataclass(frozen=True, slots=True)
class _Search:
    q: str
    limit: int
    offset: int
    sort: str
    lang: str | None
    tags: frozenset[str]
    author: str | None


def _parse_search(params: Any) -> _Search | Response:
    q = params.get("q", "")
    if not q.strip():
        return _invalid('Error: Params must have the property "q"')
    raw_limit = params.get("limit", "25")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        return _invalid("Error: limit must be between 1 and 100")
    raw_cursor = params.get("cursor") or "0"
    if not raw_cursor.isdigit():
        return _invalid("Error: malformed cursor")
    sort = params.get("sort", "latest")
    if sort not in ("latest", "top"):
        return _invalid("Error: sort must be one of latest, top")
    return _Search(
        q=q,
        limit=int(raw_limit),
        offset=int(raw_cursor),
        sort=sort,
        lang=params.get("lang"),
        tags=frozenset(t.casefold().lstrip("#") for t in params.getlist("tag")),
        author=params.get("author"),
    )


def _all_tags(post: SimPost) -> set[str]:
    return {t.casefold() for t in post.hashtags} | {t.casefold() for t in _HASHTAG.findall(post.text)}


def _matches(search: _Search, post: SimPost) -> bool:
    if search.lang and post.lang.casefold() != search.lang.casefold():
        return False
    if search.tags and not search.tags <= _all_tags(post):
        return False
    if search.author and search.author not in (author_did(post.author), author_handle(post.author)):
        return False
    return loose_match(_OPERATOR.sub(" ", search.q), post.text)


def _byte_span(text: str, start: int, end: int) -> dict[str, int]:
    """Facet indexes are UTF-8 byte offsets, not character offsets."""
    return {"byteStart": len(text[:start].encode()), "byteEnd": len(text[:end].encode())}


def short_link(url: str) -> str:
    """A link as the Bluesky app writes it in the text: no scheme, the path cut after 13
    characters with `...`; the whole uri goes into the link facet."""
    bare = re.sub(r"^https?://", "", url)
    host, slash, path = bare.partition("/")
    path = slash + path if path else ""
    return host + (path[:13] + "..." if len(path) > 15 else path)


def _shown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The record text with its links shortened as the app does, and their link facets."""
    parts: list[str] = []
    links: list[tuple[int, int, str]] = []
    position = length = 0
    for match in _URL.finditer(text):
        before, short = text[position : match.start()], short_link(match.group(0))
        parts += [before, short]
        length += len(before)
        links.append((length, length + len(short), match.group(0)))
        length += len(short)
        position = match.end()
    parts.append(text[position:])
    shown = "".join(parts)
    facets = [
        {
            "index": _byte_span(shown, start, end),
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
        }
        for start, end, uri in links
    ]
    return shown, facets


def _facets(text: str) -> list[dict[str, Any]]:
    facets = [
        {
            "index": _byte_span(text, m.start(), m.end()),
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": m.group(1)}],
        }
        for m in _HASHTAG.finditer(text)
    ]
    facets += [
        {
            "index": _byte_span(text, m.start(), m.end()),
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": _did_for_name(m.group(1))}],
        }
        for m in _MENTION.finditer(text)
    ]
    return facets


def _blob(media: SimMedia, mime: str) -> dict[str, Any]:
    return {
        "$type": "blob",
        "ref": {"$link": _cid(media.url)},
        "mimeType": mime,
        "size": media.size_bytes or 0,
    }


def _aspect(media: SimMedia) -> dict[str, int]:
    return {"width": media.width, "height": media.height}


def _embeds(post: SimPost) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(record embed, embed view): a video if there is one, else up to 4 images, else a GIF link card."""
    videos = [m for m in post.media if m.type == "video"]
    images = [m for m in post.media if m.type == "photo"][:4]
    gifs = [m for m in post.media if m.type == "gif"]
    if videos:
        video = videos[0]
        record: dict[str, Any] = {
            "$type": "app.bsky.embed.video",
            "video": _blob(video, "video/mp4"),
            "alt": video.alt_text or "",
            "aspectRatio": _aspect(video),
        }
        view: dict[str, Any] = {
            "$type": "app.bsky.embed.video#view",
            "cid": _cid(video.url),
            "playlist": video.url,
            "thumbnail": video.preview_url,
            "alt": video.alt_text or "",
            "aspectRatio": _aspect(video),
        }
        return record, view
    if images:
        record = {
            "$type": "app.bsky.embed.images",
            "images": [
                {"alt": m.alt_text or "", "image": _blob(m, "image/jpeg"), "aspectRatio": _aspect(m)}
                for m in images
            ],
        }
        view = {
            "$type": "app.bsky.embed.images#view",
            "images": [
                {
                    "thumb": m.preview_url,
                    "fullsize": m.url,
                    "alt": m.alt_text or "",
                    "aspectRatio": _aspect(m),
                }
                for m in images
            ],
        }
        return record, view
    if gifs:
        gif = gifs[0]
        external = {"uri": gif.url, "title": "GIF", "description": gif.alt_text or ""}
        return (
            {"$type": "app.bsky.embed.external", "external": external},
            {"$type": "app.bsky.embed.external#view", "external": {**external, "thumb": gif.preview_url}},
        )
    return None


def _strong_ref(post: SimPost) -> dict[str, str]:
    return {"uri": post_uri(post), "cid": _cid(post_uri(post))}


def _reply(post: SimPost, lookup: Callable[[int], SimPost | None]) -> dict[str, Any] | None:
    if post.reply_to is None:
        return None
    parent = lookup(post.reply_to)
    if parent is None:  # a parent on another platform or before the world began: still a valid-looking ref
        ref = {
            "uri": f"at://{_did_for_name(str(post.reply_to))}/app.bsky.feed.post/{encode_tid(post.reply_to)}",
            "cid": _cid(str(post.reply_to)),
        }
        return {"root": ref, "parent": ref}
    root = parent
    for _ in range(50):  # walk up to the thread's root; bounded in case of a cycle
        up = lookup(root.reply_to) if root.reply_to is not None else None
        if up is None:
            break
        root = up
    return {"root": _strong_ref(root), "parent": _strong_ref(parent)}


def _quoted_view(
    post: SimPost, lookup: Callable[[int], SimPost | None]
) -> tuple[dict[str, str], dict[str, Any]]:
    """(strong ref, view) of what `post` embeds as a record: the quoted post, or a starter pack,
    a list or a feed generator of its author."""
    if post.embeds_record is not None:
        collection, kind = _RECORD_EMBEDS[post.embeds_record]
        uri = f"at://{author_did(post.author)}/{collection}/{encode_tid(post.id + 1)}"
        view: dict[str, Any] = {
            "$type": kind,
            "uri": uri,
            "cid": _cid(uri),
            "creator": _profile_basic(post.author),
            "indexedAt": _bsky_time(post.created_at),
        }
        if post.embeds_record == "starter_pack":
            view["record"] = {
                "$type": collection,
                "name": "Trail people",
                "createdAt": _bsky_time(post.created_at),
            }
        elif post.embeds_record == "list":
            view |= {"name": "Trail people", "purpose": "app.bsky.graph.defs#curatelist"}
        else:
            view |= {"did": author_did(post.author), "displayName": "Trail feed", "likeCount": 3}
        return {"uri": uri, "cid": view["cid"]}, view
    assert post.quote_of is not None
    quoted = lookup(post.quote_of)
    if quoted is None:  # deleted since, or never in this world
        uri = f"at://{_did_for_name(str(post.quote_of))}/app.bsky.feed.post/{encode_tid(post.quote_of)}"
        return {"uri": uri, "cid": _cid(uri)}, {
            "$type": "app.bsky.embed.record#viewNotFound",
            "uri": uri,
            "notFound": True,
        }
    return _strong_ref(quoted), {
        "$type": "app.bsky.embed.record#viewRecord",
        **_strong_ref(quoted),
        "author": _profile_basic(quoted.author),
        "value": _record(quoted, lambda _: None, nested=True),
        "labels": [],
        "likeCount": quoted.likes,
        "replyCount": quoted.replies,
        "repostCount": quoted.reposts,
        "quoteCount": quoted.quotes,
        "indexedAt": _bsky_time(quoted.created_at + timedelta(milliseconds=350)),
    }


def _embed(
    post: SimPost, lookup: Callable[[int], SimPost | None], *, nested: bool = False
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(record embed, embed view): media (`_embeds`), an embedded record, or both
    (`recordWithMedia`). Inside a quote (`nested`) an embedded record is not followed again."""
    media = _embeds(post)
    if nested or (post.quote_of is None and post.embeds_record is None):
        return media
    ref, view = _quoted_view(post, lookup)
    if media is None:
        return (
            {"$type": "app.bsky.embed.record", "record": ref},
            {"$type": "app.bsky.embed.record#view", "record": view},
        )
    return (
        {
            "$type": "app.bsky.embed.recordWithMedia",
            "record": {"$type": "app.bsky.embed.record", "record": ref},
            "media": media[0],
        },
        {
            "$type": "app.bsky.embed.recordWithMedia#view",
            "record": {"$type": "app.bsky.embed.record#view", "record": view},
            "media": media[1],
        },
    )


_SELF_LABELS = {"nsfw": "porn"}  # what an author labels their own post with, per SimPost flag
_MODERATION_LABELS = {"sensitive": "!warn"}  # what the moderation service adds, per SimPost flag


def _labels(post: SimPost) -> list[dict[str, Any]]:
    """The labels of a PostView: the author's self-labels and the moderation service's."""
    uri = post_uri(post)
    labels = []
    for flag in post.flags:
        for table, source in ((_SELF_LABELS, author_did(post.author)), (_MODERATION_LABELS, MODERATION_DID)):
            if flag in table:
                labels.append(
                    {
                        "src": source,
                        "uri": uri,
                        "cid": _cid(uri),
                        "val": table[flag],
                        "cts": _bsky_time(post.created_at),
                    }
                )
    return labels


def _record(
    post: SimPost, lookup: Callable[[int], SimPost | None], *, nested: bool = False
) -> dict[str, Any]:
    text, links = _shown(post.text)
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": _bsky_time(post.created_at),
        "langs": [post.lang],
    }
    facets = _facets(text) + links
    if facets:
        record["facets"] = facets
    self_labels = [_SELF_LABELS[f] for f in post.flags if f in _SELF_LABELS]
    if self_labels:
        record["labels"] = {
            "$type": "com.atproto.label.defs#selfLabels",
            "values": [{"val": v} for v in self_labels],
        }
    in_text = {t.casefold() for t in _HASHTAG.findall(post.text)}
    extra_tags = [t for t in post.hashtags if t.casefold() not in in_text]
    if extra_tags:
        record["tags"] = extra_tags
    reply = _reply(post, lookup)
    if reply is not None:
        record["reply"] = reply
    embeds = _embed(post, lookup, nested=nested)
    if embeds is not None:
        record["embed"] = embeds[0]
    return record


def _profile_basic(author: SimAuthor, *, did: str | None = None, handle: str | None = None) -> dict[str, Any]:
    did = did or author_did(author)
    return {
        "did": did,
        "handle": handle or author_handle(author),
        "displayName": author.name,
        "avatar": f"https://{BSKY_MEDIA_HOST}/img/avatar/plain/{did}/{_cid(did)}@jpeg",
        "labels": [],
        "createdAt": "2023-04-12T09:00:00.000Z",
    }


def _profile_detailed(
    author: SimAuthor, *, did: str | None = None, handle: str | None = None
) -> dict[str, Any]:
    return {
        **_profile_basic(author, did=did, handle=handle),
        "description": author.bio,
        "followersCount": author.followers,
        "followsCount": author.following,
        "postsCount": 0,
        "indexedAt": "2024-01-01T00:00:00.000Z",
    }


def _post_view(post: SimPost, lookup: Callable[[int], SimPost | None]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "uri": post_uri(post),
        "cid": _cid(post_uri(post)),
        "author": _profile_basic(post.author),
        "record": _record(post, lookup),
        "replyCount": post.replies,
        "repostCount": post.reposts,
        "likeCount": post.likes,
        "quoteCount": post.quotes,
        "indexedAt": _bsky_time(post.created_at + timedelta(milliseconds=350)),
        "labels": _labels(post),
    }
    embeds = _embed(post, lookup)
    if embeds is not None:
        view["embed"] = embeds[1]
    return view


def _search(posts: Sequence[SimPost], search: _Search) -> dict[str, Any]:
    by_id = {p.id: p for p in posts}
    hits = [p for p in posts if _matches(search, p)]
    if search.sort == "top":
        hits.sort(key=lambda p: (p.likes + p.reposts, p.id), reverse=True)
    else:
        hits.sort(key=lambda p: p.id, reverse=True)
    page = hits[search.offset : search.offset + search.limit]
    body: dict[str, Any] = {"posts": [_post_view(p, by_id.get) for p in page], "hitsTotal": len(hits)}
    if search.offset + len(page) < len(hits):
        body["cursor"] = str(search.offset + len(page))
    return body


def _find_author(posts: Iterable[SimPost], actor: str) -> SimAuthor | None:
    for post in posts:
        if actor in (author_did(post.author), author_handle(post.author)):
            return post.author
    return None


class _Bluesky:
    """The Bluesky endpoints over one `SimState`: a rate window, the listener's sessions, the world."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.window = _RateWindow()
        self.sessions = _Sessions(state.credentials.bluesky_handle)
        self.account = SimAuthor(0, state.credentials.bluesky_handle, "Tesoro listener", 0, 0)

    async def faulted(self, route: str, headers: dict[str, str]) -> Response | None:
        response = await fault_response(
            self.state,
            route,
            rate_limit_headers=self.window.exhausted(),
            rate_limit_body=_RATE_LIMITED,
            auth_body=_AUTH_REQUIRED,
            empty_body={"posts": [], "profiles": []},
        )
        if response is not None and response.status_code != 429:
            response.headers.update(headers)
        return response

    def refused(self, request: Request, headers: dict[str, str]) -> Response | None:
        """The answer to a request without a valid access token, or None to go on."""
        refused = self.sessions.check_access(request)
        if refused is not None:
            refused.headers.update(headers)
        return refused

    def profile_of(self, actor: str) -> dict[str, Any] | None:
        sessions = self.sessions
        if actor in (sessions.handle, sessions.did):
            return _profile_detailed(self.account, did=sessions.did, handle=sessions.handle)
        author = _find_author(self.state.world.posts("bluesky"), actor)
        return _profile_detailed(author) if author else None

    async def create_session(self, request: Request) -> Response:
        headers = self.window.count()
        fault = await self.faulted("bluesky.login", headers)
        if fault is not None:
            return fault
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _answer({"error": "InvalidRequest", "message": "Input must be JSON"}, headers, 400)
        identifier = body.get("identifier") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if (
            identifier not in (self.sessions.handle, self.sessions.did)
            or password != self.state.credentials.bluesky_password
        ):
            return _answer(_BAD_LOGIN, headers, 401)
        return _answer(self.sessions.create(), headers)

    async def refresh_session(self, request: Request) -> Response:
        headers = self.window.count()
        if not self.sessions.use_refresh(request):
            return _answer({"error": "ExpiredToken", "message": "Token has been revoked"}, headers, 400)
        return _answer(self.sessions.create(), headers)

    async def get_profile(self, request: Request) -> Response:
        headers = self.window.count()
        refused = self.refused(request, headers)
        if refused is not None:
            return refused
        profile = self.profile_of(request.query_params.get("actor", ""))
        if profile is None:
            return _answer({"error": "InvalidRequest", "message": "Profile not found"}, headers, 400)
        return _answer(profile, headers)

    async def get_profiles(self, request: Request) -> Response:
        headers = self.window.count()
        refused = self.refused(request, headers)
        if refused is not None:
            return refused
        fault = await self.faulted("bluesky.profiles", headers)
        if fault is not None:
            return fault
        actors = request.query_params.getlist("actors")
        if not 1 <= len(actors) <= 25:
            return _answer(
                {"error": "InvalidRequest", "message": "actors must hold 1 to 25 items"}, headers, 400
            )
        profiles = [p for p in (self.profile_of(a) for a in actors) if p is not None]
        return _answer({"profiles": profiles}, headers)

    async def search_posts(self, request: Request) -> Response:
        headers = self.window.count()
        refused = self.refused(request, headers)
        if refused is not None:
            return refused
        fault = await self.faulted("bluesky.search", headers)
        if fault is not None:
            return fault
        search = _parse_search(request.query_params)
        if isinstance(search, Response):
            search.headers.update(headers)
            return search
        return _answer(_search(self.state.world.posts("bluesky"), search), headers)

    async def get_posts(self, request: Request) -> Response:
        """Post views by at-uri, up to 25: a deleted post, or one whose author is gone, is simply absent."""
        headers = self.window.count()
        refused = self.refused(request, headers)
        if refused is not None:
            return refused
        fault = await self.faulted("bluesky.posts", headers)
        if fault is not None:
            return fault
        uris = request.query_params.getlist("uris")
        if not 1 <= len(uris) <= 25:
            return _answer(
                {"error": "InvalidRequest", "message": "uris must hold 1 to 25 items"}, headers, 400
            )
        posts = self.state.world.posts("bluesky")
        by_id = {p.id: p for p in posts}
        by_uri = {post_uri(p): p for p in posts if not p.author.gone}
        found = [by_uri[u] for u in dict.fromkeys(uris) if u in by_uri]
        return _answer({"posts": [_post_view(p, by_id.get) for p in found]}, headers)

    async def create_record(self, request: Request) -> Response:
        """`com.atproto.repo.createRecord` of a post replying to a post: the brand's rights request."""
        headers = self.window.count()
        refused = self.refused(request, headers)
        if refused is not None:
            return refused
        fault = await self.faulted("bluesky.create", headers)
        if fault is not None:
            return fault
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        record = body.get("record") if isinstance(body, dict) else None
        text = record.get("text") if isinstance(record, dict) else None
        parent = ((record or {}).get("reply") or {}).get("parent") if isinstance(record, dict) else None
        uri = parent.get("uri") if isinstance(parent, dict) else None
        if not isinstance(text, str) or not text or len(text) > 300 or not isinstance(uri, str):
            return _answer(
                {"error": "InvalidRequest", "message": "a reply post needs text and reply.parent"},
                headers,
                400,
            )
        try:
            post = self.state.world.reply(decode_tid(uri.rsplit("/", 1)[-1]), text)
        except (KeyError, ValueError):
            return _answer(
                {"error": "InvalidRequest", "message": "Could not locate record: " + uri}, headers, 400
            )
        return _answer({"uri": post_uri(post), "cid": _cid(post_uri(post))}, headers)

    async def get_post_thread(self, request: Request) -> Response:
        """`app.bsky.feed.getPostThread`: a post and the replies under it, nested."""
        headers = self.window.count()
        refused = self.refused(request, headers)
        if refused is not None:
            return refused
        fault = await self.faulted("bluesky.thread", headers)
        if fault is not None:
            return fault
        uri = request.query_params.get("uri", "")
        try:
            root = self.state.world.find(decode_tid(uri.rsplit("/", 1)[-1]))
        except ValueError:
            root = None
        if root is None:
            return _answer({"error": "NotFound", "message": f"Post not found: {uri}"}, headers, 400)
        replies = self.state.world.thread(root.id)
        lookup = self.state.world.find

        def node(post: SimPost) -> dict[str, Any]:
            return {
                "$type": "app.bsky.feed.defs#threadViewPost",
                "post": _post_view(post, lookup),
                "replies": [node(r) for r in replies if r.reply_to == post.id],
            }

        return _answer({"thread": node(root)}, headers)


def _answer(body: object, headers: dict[str, str], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def routes(state: SimState) -> list[BaseRoute]:
    """The Bluesky routes, bound to `state`."""
    api = _Bluesky(state)
    return [
        Route(f"{PREFIX}/com.atproto.server.createSession", api.create_session, methods=["POST"]),
        Route(f"{PREFIX}/com.atproto.server.refreshSession", api.refresh_session, methods=["POST"]),
        Route(f"{PREFIX}/app.bsky.actor.getProfile", api.get_profile, methods=["GET"]),
        Route(f"{PREFIX}/app.bsky.actor.getProfiles", api.get_profiles, methods=["GET"]),
        Route(f"{PREFIX}/app.bsky.feed.searchPosts", api.search_posts, methods=["GET"]),
        Route(f"{PREFIX}/app.bsky.feed.getPosts", api.get_posts, methods=["GET"]),
        Route(f"{PREFIX}/app.bsky.feed.getPostThread", api.get_post_thread, methods=["GET"]),
        Route(f"{PREFIX}/com.atproto.repo.createRecord", api.create_record, methods=["POST"]),
    ]
