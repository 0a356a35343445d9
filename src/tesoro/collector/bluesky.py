"""Bluesky adapter: `app.bsky.feed.searchPosts` through `atproto.Client`.

Bluesky's search has no `since_id`, and its cursors are positions in a result
list that shifts as new posts arrive. So the adapter orders posts itself: a
post's key is its rkey (a TID, which sorts by creation time) then its uri, and
a run walks the `sort=latest` results down until it meets the newest post of
the previous run.

A Tesoro query with OR may compile into several Bluesky searches (one per
language or tag set). They are merged like sorted lists: each round fetches the
current page of every unfinished search, emits the posts that every search has
already covered (deduplicated by uri), and advances only the searches whose
page was fully emitted. The cursor therefore stays small and exact:

    idle:    {"newest_uri": W}
    mid-run: {"newest_uri": W, "run_newest_uri": R, "floor_uri": F, "plan": P,
              "streams": [{"cursor": C, "done": false}, ...]}

`floor_uri`: every post ordered at or above it has been emitted in this run.
`cursor`: the search cursor of the page holding the stream's first post not yet
emitted. `plan`: a fingerprint of the compiled searches; a mid-run cursor from a
different query restarts the run from W instead of mixing streams.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from atproto import Client, Request, models
from atproto import exceptions as at_exc

from tesoro.collector.base import (
    AuthFailed,
    CollectorError,
    RateLimited,
    ThreadReply,
    TransientError,
    coalesce_pages,
)
from tesoro.collector.boundary import normalize_guarded
from tesoro.collector.payload import as_dict, as_dicts, as_int, as_list, as_str, as_utc_datetime
from tesoro.models import (
    Cursor,
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Page,
    Platform,
    PostMetrics,
    RejectedItem,
    content_flags,
)
from tesoro.text import query as tesoro_query
from tesoro.text.lang import primary_language

__all__ = ["BSKY_API", "BlueskyCollector", "PostKey", "expand_links", "normalize_post_view", "post_key"]

log = logging.getLogger(__name__)

BSKY_API = "https://bsky.social"
# getPosts takes up to 25 uris a call.
_POSTS_BATCH = 25
_PROFILE_BATCH = 25  # app.bsky.actor.getProfiles accepts at most 25 actors
_PROFILE_CACHE_MAX = 10_000
_DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=5)
# Errors that mean "your session is not valid", whatever the status code.
_AUTH_ERRORS = frozenset({"AuthenticationRequired", "ExpiredToken", "InvalidToken", "AccountTakedown"})
_S32 = "234567abcdefghijklmnopqrstuvwxyz"
_POST_URI = re.compile(r"^at://(?P<did>[^/]+)/app\.bsky\.feed\.post/(?P<rkey>[^/]+)$")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, order=True)
class PostKey:
    """A total order of posts: creation (the rkey TID), then uri to break ties between authors."""

    tid: int
    uri: str


def post_key(uri: str) -> PostKey | None:
    """The key of a post uri; None when the uri is not a post or its rkey is not a TID."""
    match = _POST_URI.match(uri)
    if match is None:
        return None
    rkey = match["rkey"]
    if len(rkey) != 13 or any(c not in _S32 for c in rkey):
        return None
    value = 0
    for char in rkey:
        value = value * 32 + _S32.index(char)
    return PostKey(value, uri)


@dataclass(frozen=True, slots=True)
class _Stream:
    cursor: str | None = None  # None: the first page
    done: bool = False


@dataclass(frozen=True, slots=True)
class _Position:
    newest_uri: str | None = None
    run_newest_uri: str | None = None
    floor_uri: str | None = None
    streams: tuple[_Stream, ...] | None = None  # None: idle, between runs
    plan: str | None = None

    @classmethod
    def from_cursor(cls, cursor: Cursor | None, *, plan: str, n_streams: int) -> _Position:
        if not cursor:
            return cls()
        newest = _uri_or_none(cursor.get("newest_uri"))
        raw = cursor.get("streams")
        if cursor.get("plan") != plan or not isinstance(raw, list) or len(raw) != n_streams:
            return cls(newest)  # idle, or a run of another query: start a fresh run from W
        streams = tuple(
            _Stream(s.get("cursor") if isinstance(s.get("cursor"), str) else None, s.get("done") is True)
            for s in (item if isinstance(item, dict) else {} for item in raw)
        )
        return cls(
            newest,
            _uri_or_none(cursor.get("run_newest_uri")),
            _uri_or_none(cursor.get("floor_uri")),
            streams,
            plan,
        )

    def to_cursor(self) -> Cursor:
        if self.streams is None:
            return {"newest_uri": self.newest_uri}
        return {
            "newest_uri": self.newest_uri,
            "run_newest_uri": self.run_newest_uri,
            "floor_uri": self.floor_uri,
            "plan": self.plan,
            "streams": [{"cursor": s.cursor, "done": s.done} for s in self.streams],
        }


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One search page, reduced to what the merge needs."""

    posts: tuple[tuple[PostKey, dict[str, Any]], ...]  # newer than the previous run
    bottom: PostKey | None  # the lowest key on the page, previous-run posts included
    next_cursor: str | None
    exhausted: bool  # this search has nothing newer than the previous run past this page


@dataclass(frozen=True, slots=True)
class _Round:
    """What one merge round emits and where it leaves the run."""

    emitted: tuple[tuple[PostKey, dict[str, Any]], ...]
    position: _Position


class BlueskyCollector:
    """Collects Bluesky posts matching a Tesoro query through searchPosts (sort=latest)."""

    platform: Platform = Platform.BLUESKY
    lookup_batch: int = 100
    # The posts of several merge rounds are stored as one page (one transaction, the cursor after the
    # last round): at least `store_batch` posts, or after `store_rounds` rounds (rounds with nothing new
    # still save their cursor). A round emits at most a page of each search, often fewer.
    store_batch: int = 100
    store_rounds: int = 8

    def __init__(
        self,
        *,
        query: str,
        handle: str,
        password: str,
        base_url: str = BSKY_API,
        page_size: int = 100,
        max_pages: int | None = None,
        timeout_s: float = 15.0,
        fetch_profiles: bool = True,
    ) -> None:
        if not 1 <= page_size <= 100:
            raise ValueError(f"page_size must be between 1 and 100 for Bluesky, got {page_size}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.searches = tuple(tesoro_query.to_bluesky(tesoro_query.parse(query)))
        if not self.searches:
            raise ValueError(f"the query {query!r} compiles to no Bluesky search")
        self.page_size = page_size
        self.max_pages = max_pages
        self.fetch_profiles = fetch_profiles
        self._plan = _plan_fingerprint(self.searches)
        self._handle = handle
        self._password = password
        self._client = Client(base_url=base_url, request=Request(timeout=timeout_s))
        self._logged_in = False
        self._profiles: dict[str, dict[str, Any]] = {}

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        """Merge rounds until every search reached the previous run's newest post, joined into pages of
        at least `store_batch` posts (`collector.base.coalesce_pages`)."""
        return coalesce_pages(
            self._rounds(cursor), at_least=self.store_batch, at_most_pages=self.store_rounds
        )

    def _rounds(self, cursor: Cursor | None) -> Iterator[Page]:
        """A page per merge round."""
        position = _Position.from_cursor(cursor, plan=self._plan, n_streams=len(self.searches))
        if position.streams is None:
            position = replace(position, streams=(_Stream(),) * len(self.searches), plan=self._plan)
        cache: dict[tuple[int, str | None], _Fetched] = {}
        rounds = 0
        while True:
            fetched = {
                i: self._fetch(i, s.cursor, position, cache)
                for i, s in enumerate(position.streams or ())
                if not s.done
            }
            merged = _merge(position, fetched)
            position = merged.position
            rounds += 1
            rejected: list[RejectedItem] = []
            posts = self._normalize(merged.emitted, rejected)
            yield Page(posts, position.to_cursor(), rejected=tuple(rejected))
            if position.streams is None or (self.max_pages is not None and rounds >= self.max_pages):
                return

    def _fetch(
        self,
        index: int,
        cursor: str | None,
        position: _Position,
        cache: dict[tuple[int, str | None], _Fetched],
    ) -> _Fetched:
        """A search page (from this call's cache when a stream waits on the same page)."""
        if (index, cursor) not in cache:
            body = self._search(self.searches[index], cursor)
            cache[(index, cursor)] = _reduce_page(body, newest=_key_or_none(position.newest_uri))
        return cache[(index, cursor)]

    def _search(self, search: tesoro_query.BlueskyQuery, cursor: str | None) -> dict[str, Any]:
        self._ensure_login()
        params = models.AppBskyFeedSearchPosts.Params(
            q=search.q,
            limit=self.page_size,
            cursor=cursor,
            sort="latest",
            lang=search.lang or None,
            tag=list(search.tags) or None,
        )
        response = self._call(lambda: self._client.invoke_query("app.bsky.feed.searchPosts", params=params))
        return _json_object(response.content, "searchPosts")

    def _ensure_login(self) -> None:
        """Log in once per collector; atproto refreshes the session itself afterwards."""
        if not self._logged_in:
            self._call(lambda: self._client.login(self._handle, self._password), login=True)
            self._logged_in = True

    def _call(self, call: Callable[[], _T], *, login: bool = False) -> _T:
        try:
            return _call_bsky(call, login=login)
        except AuthFailed:
            self._logged_in = False  # the next run logs in afresh instead of reusing a dead session
            raise

    def _normalize(
        self, emitted: Sequence[tuple[PostKey, dict[str, Any]]], rejected: list[RejectedItem] | None = None
    ) -> tuple[NormalizedPost, ...]:
        """The posts of `emitted`; a view that cannot be used goes to `rejected` (quarantined)."""
        if self.fetch_profiles:
            self._load_profiles({as_str(as_dict(view.get("author")).get("did")) or "" for _, view in emitted})
        posts = []
        for _, view in emitted:
            did = as_str(as_dict(view.get("author")).get("did")) or ""
            profile = self._profiles.get(did)
            got = normalize_guarded(
                Platform.BLUESKY,
                view,
                view.get("uri"),
                partial(normalize_post_view, view, profile=profile),
                "malformed post view: no usable uri, text, author or createdAt",
            )
            if isinstance(got, NormalizedPost):
                posts.append(got)
            elif rejected is not None:
                rejected.append(got)
        return tuple(posts)

    def _load_profiles(self, dids: set[str]) -> None:
        """Follower counts are not in a PostView: fetch them, 25 authors per call, cached."""
        missing = sorted(d for d in dids if d and d not in self._profiles)
        if len(self._profiles) + len(missing) > _PROFILE_CACHE_MAX:
            self._profiles.clear()
        for start in range(0, len(missing), _PROFILE_BATCH):
            batch = missing[start : start + _PROFILE_BATCH]
            response = self._call(partial(self._get_profiles, batch))
            for profile in as_dicts(_json_object(response.content, "getProfiles").get("profiles")):
                did = as_str(profile.get("did"))
                if did:
                    self._profiles[did] = profile

    def gone(self, external_ids: Sequence[str]) -> frozenset[str]:
        """Which of these posts Bluesky no longer serves (`app.bsky.feed.getPosts`, 25 uris a call).

        getPosts leaves out a post that was deleted, or whose author was taken down or deleted the
        account: an asked uri absent from a successful answer is gone. A failed call raises
        (`_call_bsky`): nothing is concluded from it.
        """
        wanted = [
            u for u in dict.fromkeys(external_ids) if u.startswith("at://") and "/app.bsky.feed.post/" in u
        ]
        gone: set[str] = set()
        for start in range(0, len(wanted), _POSTS_BATCH):
            batch = wanted[start : start + _POSTS_BATCH]
            self._ensure_login()
            response = self._call(partial(self._get_posts, batch))
            body = _json_object(response.content, "getPosts")
            if not isinstance(body.get("posts"), list):
                raise TransientError("Bluesky answered getPosts without a posts list")
            served = {as_str(view.get("uri")) for view in as_dicts(body.get("posts"))}
            gone.update(uri for uri in batch if uri not in served)
        return frozenset(gone)

    # --- usage rights (`tesoro.collector.base.RightsChannel`) ---------------------------------------

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]:
        """Reply under a post (`com.atproto.repo.createRecord` of an `app.bsky.feed.post` with `reply`).

        The reply names its parent and the thread's root by uri and cid, read with getPosts first.
        """
        self._ensure_login()
        body = _json_object(self._call(partial(self._get_posts, [post_external_id])).content, "getPosts")
        views = as_dicts(body.get("posts"))
        if not views:
            raise TransientError(f"Bluesky no longer serves {post_external_id}: it cannot be answered")
        parent = {"uri": as_str(views[0].get("uri")), "cid": as_str(views[0].get("cid"))}
        root = as_dict(as_dict(as_dict(views[0].get("record")).get("reply")).get("root")) or parent
        reply_to = models.AppBskyFeedPost.ReplyRef(
            parent=models.ComAtprotoRepoStrongRef.Main(uri=str(parent["uri"]), cid=str(parent["cid"])),
            root=models.ComAtprotoRepoStrongRef.Main(uri=str(root["uri"]), cid=str(root["cid"])),
        )
        created = self._call(lambda: self._client.send_post(text=text, reply_to=reply_to))
        return created.uri, _web_url(created.uri)

    def fetch_replies(self, *, post_external_id: str, reply_id: str) -> list[ThreadReply]:
        """Every reply under Tesoro's reply (`app.bsky.feed.getPostThread`), at any depth."""
        self._ensure_login()
        params = models.AppBskyFeedGetPostThread.Params(uri=reply_id, depth=10)
        response = self._call(lambda: self._client.invoke_query("app.bsky.feed.getPostThread", params=params))
        pending = as_dicts(
            as_dict(_json_object(response.content, "getPostThread").get("thread")).get("replies")
        )
        out: list[ThreadReply] = []
        while pending:
            node = pending.pop(0)
            pending.extend(as_dicts(node.get("replies")))
            view = as_dict(node.get("post"))
            author = as_dict(view.get("author"))
            uri, did = as_str(view.get("uri")), as_str(author.get("did"))
            if uri is None or did is None:
                continue
            out.append(
                ThreadReply(
                    external_id=uri,
                    author_external_id=did,
                    author_handle=as_str(author.get("handle")),
                    text=as_str(as_dict(view.get("record")).get("text")) or "",
                    url=_web_url(uri),
                    created_at=as_utc_datetime(as_dict(view.get("record")).get("createdAt")),
                )
            )
        return out

    def _get_posts(self, uris: list[str]) -> Any:
        params = models.AppBskyFeedGetPosts.Params(uris=uris)
        return self._client.invoke_query("app.bsky.feed.getPosts", params=params)

    def _get_profiles(self, actors: list[str]) -> Any:
        params = models.AppBskyActorGetProfiles.Params(actors=actors)
        return self._client.invoke_query("app.bsky.actor.getProfiles", params=params)


def _web_url(uri: str) -> str | None:
    """The bsky.app link of a post's at-uri."""
    match = _POST_URI.match(uri)
    return f"https://bsky.app/profile/{match['did']}/post/{match['rkey']}" if match else None


def _call_bsky(call: Callable[[], _T], *, login: bool) -> _T:
    """Runs one atproto call and translates its failures into the runner's vocabulary."""
    try:
        return call()
    except at_exc.RateLimitExceededError as exc:
        raise RateLimited(f"Bluesky rate limit: {exc}", retry_at=_retry_at(exc)) from exc
    except (at_exc.UnauthorizedError, at_exc.LoginRequiredError) as exc:
        raise AuthFailed(f"Bluesky refused the credentials: {exc}") from exc
    except at_exc.BadRequestError as exc:
        if login or _error_name(exc) in _AUTH_ERRORS:
            raise AuthFailed(f"Bluesky refused the session: {exc}") from exc
        raise CollectorError(f"Bluesky refused the request: {exc}") from exc
    except at_exc.NetworkError as exc:  # timeouts, dropped connections, 502
        raise TransientError(f"Bluesky request failed: {type(exc).__name__}: {exc}") from exc
    except at_exc.RequestException as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status >= 500:
            raise TransientError(f"Bluesky server error: {exc}") from exc
        raise CollectorError(f"Bluesky refused the request: {exc}") from exc
    except httpx.TransportError as exc:  # what atproto does not wrap (protocol errors, ...)
        raise TransientError(f"Bluesky request failed: {type(exc).__name__}: {exc}") from exc
    except ValueError as exc:  # a body that is not valid JSON
        raise TransientError(f"Bluesky sent an unreadable body: {exc}") from exc


def _retry_at(exc: Any) -> datetime:
    reset_at = getattr(exc, "reset_at", None)
    if isinstance(reset_at, datetime):
        return reset_at
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        return datetime.now(UTC) + timedelta(seconds=retry_after)
    return datetime.now(UTC) + _DEFAULT_RATE_LIMIT_WAIT


def _error_name(exc: Any) -> str | None:
    content = getattr(getattr(exc, "response", None), "content", None)
    name = content.get("error") if isinstance(content, dict) else getattr(content, "error", None)
    return name if isinstance(name, str) else None


def _plan_fingerprint(searches: Sequence[tesoro_query.BlueskyQuery]) -> str:
    spec = [[s.q, s.lang, sorted(s.tags)] for s in searches]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]


def _json_object(content: Any, what: str) -> dict[str, Any]:
    if not isinstance(content, dict):
        raise TransientError(f"Bluesky {what} answered with {type(content).__name__}, not a JSON object")
    return content


def _reduce_page(body: Mapping[str, Any], *, newest: PostKey | None) -> _Fetched:
    """Keys the page's posts; a post at or below `newest` (the previous run's) ends the search."""
    keyed: list[tuple[PostKey, dict[str, Any]]] = []
    raw = as_dicts(body.get("posts"))
    for view in raw:
        key = _key_or_none(view.get("uri"))
        if key is None:
            log.warning("skipping Bluesky post with an unusable uri %r", view.get("uri"))
            continue
        keyed.append((key, view))
    fresh = tuple((k, v) for k, v in keyed if newest is None or k > newest)
    next_cursor = as_str(body.get("cursor")) or None
    return _Fetched(
        posts=fresh,
        bottom=min((k for k, _ in keyed), default=None),
        next_cursor=next_cursor,
        exhausted=not raw or next_cursor is None or len(fresh) < len(keyed),
    )


def _merge(position: _Position, fetched: Mapping[int, _Fetched]) -> _Round:
    """One round of the k-way merge: emit what every live search has covered, advance who is through."""
    floor = _key_or_none(position.floor_uri)
    live_bottoms = [f.bottom for f in fetched.values() if not f.exhausted and f.bottom is not None]
    boundary = max(live_bottoms) if live_bottoms else None  # None: everything fetched is covered
    pending = {i: [kv for kv in f.posts if floor is None or kv[0] < floor] for i, f in fetched.items()}
    emitted: dict[str, tuple[PostKey, dict[str, Any]]] = {}
    for posts in pending.values():
        for key, view in posts:
            if boundary is None or key >= boundary:
                emitted[key.uri] = (key, view)
    streams = list(position.streams or ())
    for i, f in fetched.items():
        lowest = min((k for k, _ in pending[i]), default=None)
        if lowest is None or boundary is None or lowest >= boundary:
            streams[i] = _Stream(done=True) if f.exhausted else _Stream(f.next_cursor)
    ordered = tuple(sorted(emitted.values(), key=lambda kv: kv[0], reverse=True))
    run_newest = max([k for k, _ in ordered] + _keys(position.run_newest_uri), default=None)
    if all(s.done for s in streams):
        newest = max([*_keys(position.newest_uri), *([run_newest] if run_newest else [])], default=None)
        return _Round(ordered, _Position(newest.uri if newest else None))
    new_floor = boundary if floor is None or boundary is None else min(floor, boundary)
    return _Round(
        ordered,
        _Position(
            newest_uri=position.newest_uri,
            run_newest_uri=run_newest.uri if run_newest else None,
            floor_uri=new_floor.uri if new_floor else position.floor_uri,
            streams=tuple(streams),
            plan=position.plan,
        ),
    )


def normalize_post_view(
    view: Mapping[str, Any], *, profile: Mapping[str, Any] | None = None
) -> NormalizedPost | None:
    """A PostView (plus the author's full profile, when fetched) as a NormalizedPost; None if malformed."""
    uri = as_str(view.get("uri")) or ""
    match = _POST_URI.match(uri)
    record = as_dict(view.get("record"))
    text = record.get("text")
    author = _author(as_dict(view.get("author")), profile or {})
    created_at = as_utc_datetime(record.get("createdAt")) or as_utc_datetime(view.get("indexedAt"))
    if match is None or not isinstance(text, str) or author is None or created_at is None:
        log.warning("skipping malformed Bluesky post %r (uri, text, author or createdAt missing)", uri)
        return None
    langs = [code for code in map(primary_language, as_list(record.get("langs"))) if code]
    reply = as_dict(record.get("reply"))
    return NormalizedPost(
        platform=Platform.BLUESKY,
        external_id=uri,
        text=expand_links(record, text),
        created_at=created_at,
        author=author,
        lang=langs[0] if langs else None,
        url=f"https://bsky.app/profile/{author.handle}/post/{match['rkey']}",
        media=_media(as_dict(view.get("embed")), as_dict(record.get("embed"))),
        metrics=PostMetrics(
            likes=as_int(view.get("likeCount")) or 0,
            reposts=as_int(view.get("repostCount")) or 0,
            replies=as_int(view.get("replyCount")) or 0,
            quotes=as_int(view.get("quoteCount")) or 0,
        ),
        reply_to_id=as_str(as_dict(reply.get("parent")).get("uri")),
        quote_of_id=_quoted_uri(as_dict(view.get("embed"))),
        conversation_id=as_str(as_dict(reply.get("root")).get("uri")) or uri,
        hashtags=_hashtags(record),
        mentions=_mentions(record, text),  # facet offsets count in the text as posted
        content_flags=_flags(view, record),
    )


def _author(basic: Mapping[str, Any], profile: Mapping[str, Any]) -> NormalizedAuthor | None:
    did, handle = as_str(basic.get("did")), as_str(basic.get("handle"))
    if not did or not handle:
        return None
    return NormalizedAuthor(
        platform=Platform.BLUESKY,
        external_id=did,
        handle=handle,
        display_name=as_str(basic.get("displayName")) or None,
        followers=as_int(profile.get("followersCount")),
        following=as_int(profile.get("followsCount")),
        verified=as_dict(basic.get("verification")).get("verifiedStatus") == "valid",
        profile_url=f"https://bsky.app/profile/{handle}",
        avatar_url=as_str(basic.get("avatar")),
        bio=as_str(profile.get("description")) or None,
    )


def _media(view: Mapping[str, Any], record: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    """Media from the embed view (URLs) and the record embed (blob sizes); quotes-with-media unwrapped."""
    kind = as_str(view.get("$type")) or ""
    if kind == "app.bsky.embed.recordWithMedia#view":
        return _media(as_dict(view.get("media")), as_dict(record.get("media")))
    if kind == "app.bsky.embed.images#view":
        blobs = as_dicts(record.get("images"))
        return tuple(
            m
            for m in (
                _image(img, blobs[i] if i < len(blobs) else {})
                for i, img in enumerate(as_dicts(view.get("images")))
            )
            if m
        )
    if kind == "app.bsky.embed.video#view":
        video = _video(view, as_dict(record.get("video")))
        return (video,) if video else ()
    if kind == "app.bsky.embed.external#view":
        gif = _gif(as_dict(view.get("external")))
        return (gif,) if gif else ()
    return ()


def _image(view: Mapping[str, Any], record: Mapping[str, Any]) -> NormalizedMedia | None:
    url = as_str(view.get("fullsize"))
    if not url:
        return None
    aspect = as_dict(view.get("aspectRatio"))
    return NormalizedMedia(
        type=MediaType.PHOTO,
        url=url,
        preview_url=as_str(view.get("thumb")),
        width=as_int(aspect.get("width")),
        height=as_int(aspect.get("height")),
        size_bytes=as_int(as_dict(record.get("image")).get("size")) or None,
        alt_text=as_str(view.get("alt")) or None,
    )


def _video(view: Mapping[str, Any], blob: Mapping[str, Any]) -> NormalizedMedia | None:
    url = as_str(view.get("playlist"))
    if not url:
        return None
    aspect = as_dict(view.get("aspectRatio"))
    return NormalizedMedia(
        type=MediaType.VIDEO,
        url=url,
        preview_url=as_str(view.get("thumbnail")),
        width=as_int(aspect.get("width")),
        height=as_int(aspect.get("height")),
        size_bytes=as_int(blob.get("size")) or None,
        alt_text=as_str(view.get("alt")) or None,
    )


def _gif(external: Mapping[str, Any]) -> NormalizedMedia | None:
    """Bluesky GIFs are link cards to a .gif (Tenor and friends); other link cards are not media."""
    url = as_str(external.get("uri")) or ""
    if not urlsplit(url).path.lower().endswith(".gif"):
        return None
    return NormalizedMedia(
        type=MediaType.GIF,
        url=url,
        preview_url=as_str(external.get("thumb")),
        alt_text=as_str(external.get("description")) or None,
    )


def _quoted_uri(view: Mapping[str, Any]) -> str | None:
    """The uri of the post this one embeds (quotes), None when the embedded record is no post.

    `app.bsky.embed.record` embeds any record: a post, but also a starter pack, a list, a feed
    generator or a labeler. Only a post is a quote; a quoted post that was since deleted or
    blocked (`#viewNotFound`, `#viewBlocked`, `#viewDetached`) still names its post uri.
    """
    kind = as_str(view.get("$type")) or ""
    if kind == "app.bsky.embed.record#view":
        uri = as_str(as_dict(view.get("record")).get("uri"))
        return uri if uri and _POST_URI.match(uri) else None
    if kind == "app.bsky.embed.recordWithMedia#view":
        return _quoted_uri(as_dict(view.get("record")))
    return None


# Label values (Bluesky's own moderation service and authors' self-labels) and the flag each is.
_NSFW_LABELS = frozenset({"porn", "sexual", "nudity", "graphic-media", "gore", "nsfl"})
_SENSITIVE_LABELS = frozenset(
    {
        "!hide",
        "!warn",
        "sexual-figurative",
        "self-harm",
        "sensitive",
        "intolerant",
        "threat",
        "rude",
        "illicit",
        "extremist",
        "security",
        "unsafe-link",
        "impersonation",
        "misleading",
        "scam",
        "spam",
        "engagement-farming",
    }
)


def _flags(view: Mapping[str, Any], record: Mapping[str, Any]) -> tuple[str, ...]:
    """The post's safety flags from its labels.

    An author's self-labels sit in the record (`labels.values[].val`); labels applied by the
    moderation service (and the self-labels again) come with the view (`labels[].val`), where a
    label with `neg` withdraws an earlier one of the same value. Adult and graphic content is
    `nsfw`; any other warning label is `sensitive`. Labels that only limit reach (such as
    `!no-unauthenticated`) say nothing about the content.
    """
    values = {as_str(v.get("val")) for v in as_dicts(as_dict(record.get("labels")).get("values"))}
    applied: set[str | None] = set()
    for label in as_dicts(view.get("labels")):
        if label.get("neg") is True:
            applied.discard(as_str(label.get("val")))
            values.discard(as_str(label.get("val")))
        else:
            applied.add(as_str(label.get("val")))
    values |= applied
    flags = ["nsfw" for v in values if v in _NSFW_LABELS]
    flags += ["sensitive" for v in values if v in _SENSITIVE_LABELS]
    return content_flags(flags)


def expand_links(record: Mapping[str, Any], text: str) -> str:
    """The post text with each link facet's shortened text replaced by the facet's full `uri`.

    The Bluesky app writes a long link as `example.com/some-long-pa...` and keeps the real uri
    in a link facet; the uri is what is shown and searched. Link text that is not a shortening
    of its uri (a client's anchor text) is left as written. Facets index UTF-8 bytes; offsets
    that overlap, fall outside the text or split a character leave the text as it is.
    """
    raw = text.encode("utf-8", "surrogatepass")
    spans = []
    for index, feature in _features(record, "app.bsky.richtext.facet#link"):
        start, end, uri = (
            as_int(index.get("byteStart")),
            as_int(index.get("byteEnd")),
            as_str(feature.get("uri")),
        )
        if start is not None and end is not None and uri and 0 <= start < end <= len(raw):
            spans.append((start, end, uri))
    out = bytearray()
    position = 0
    for start, end, uri in sorted(spans):
        if start < position:
            continue
        shown = raw[start:end].decode("utf-8", errors="replace")
        out += raw[position:start] + (
            uri.encode("utf-8", "surrogatepass") if _shortens(shown, uri) else raw[start:end]
        )
        position = end
    out += raw[position:]
    try:
        return bytes(out).decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return text


def _shortens(shown: str, uri: str) -> bool:
    """Whether `shown` is the app's short form of `uri` (no scheme, maybe cut with an ellipsis)."""

    def bare(value: str) -> str:
        value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.strip(), flags=re.IGNORECASE)
        return value.removeprefix("www.").casefold()

    short = bare(shown).removesuffix("...").removesuffix("\u2026")
    return "." in short and bare(uri).startswith(short)  # a host at least: anchor words stay


def _features(record: Mapping[str, Any], kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (as_dict(facet.get("index")), feature)
        for facet in as_dicts(record.get("facets"))
        for feature in as_dicts(facet.get("features"))
        if feature.get("$type") == kind
    ]


def _hashtags(record: Mapping[str, Any]) -> tuple[str, ...]:
    tags = [as_str(f.get("tag")) for _, f in _features(record, "app.bsky.richtext.facet#tag")]
    tags += [t for t in as_list(record.get("tags")) if isinstance(t, str)]
    return tuple(dict.fromkeys(t for t in tags if t))


def _mentions(record: Mapping[str, Any], text: str) -> tuple[str, ...]:
    """Mention facets carry a DID; the handle is the facet's slice of the text (UTF-8 byte offsets)."""
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate must not fail the post
    handles = []
    for index, _ in _features(record, "app.bsky.richtext.facet#mention"):
        start, end = as_int(index.get("byteStart")), as_int(index.get("byteEnd"))
        if start is not None and end is not None and 0 <= start < end <= len(raw):
            handles.append(raw[start:end].decode(errors="replace").lstrip("@"))
    return tuple(dict.fromkeys(h for h in handles if h))


def _key_or_none(value: Any) -> PostKey | None:
    return post_key(value) if isinstance(value, str) else None


def _keys(uri: str | None) -> list[PostKey]:
    key = _key_or_none(uri)
    return [key] if key else []


def _uri_or_none(value: Any) -> str | None:
    return value if _key_or_none(value) else None
