"""Reddit adapter: subreddit search (and optionally the comment stream) through praw.

praw/prawcore do the OAuth token, the rate-limit pacing and their own short
retries; this module asks for one Listing per request with `Reddit.request` and
reads the JSON itself. Going through praw's lazy models instead would turn any
missing field into an extra per-item fetch (`GET /comments/{id}`), which a
listing collector must never do.

Incremental and crash-safe without `since_id`
---------------------------------------------
Reddit has no "newer than" parameter: listings come newest first and page
backwards with `after`. Each stream (submissions found by search; comments, when
enabled) therefore walks down from the top until it meets the newest item it
stored last time (compared by id: base36 ids grow with time). That walk is a
*pass*, and the stream's cursor says where it stands::

    idle:     {"newest": M}
    mid-pass: {"newest": M, "pass": {"newest": N, "after": A, "floor": F}}
    done:     {"newest": N}

`M` is the newest item already stored before the pass (`{"fullname", "created_utc"}`,
or None before the first run); `N` the newest item of this pass (its first item);
`A` Reddit's `after` for the next page; `F` (first pass only) the `created_utc`
below which the initial backfill stops. `N` only replaces `M` once the pass has
reached `M` (or the end of the listing, or `F`), so a crash or a retry resumes
from `A` with nothing lost and nothing repeated: items published while the pass
runs sit above `N` and are picked up by the next pass. `max_pages` ends a run
mid-pass; the next run continues the same pass before starting a new one.

The whole cursor is `{"v": 1, "submissions": stream, "comments": stream}`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import praw
import prawcore
import requests

from tesoro.collector.base import AuthFailed, CollectorError, RateLimited, TransientError
from tesoro.models import (
    Cursor,
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Page,
    Platform,
    PostMetrics,
)
from tesoro.text import query as tesoro_query

__all__ = [
    "DEFAULT_USER_AGENT",
    "REDDIT_WEB",
    "RedditCollector",
    "normalize_comment",
    "normalize_submission",
    "reddit_media",
]

log = logging.getLogger(__name__)

REDDIT_WEB = "https://www.reddit.com"
REDDIT_OAUTH = "https://oauth.reddit.com"
REDDIT_SHORT = "https://redd.it"
DEFAULT_USER_AGENT = "tesoro/0.1 (social listening; +https://github.com/tesoro)"
CURSOR_VERSION = 1
_MAX_PAGE_SIZE = 100
# When a 429 says nothing about when to come back, wait out Reddit's 10-minute window.
_DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=10)
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
_HASHTAG = re.compile(r"(?<![\w#&/])#([^\W\d_]\w*)")
_USER_MENTION = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})")
_GONE = frozenset({"[deleted]", "[removed]"})


# --------------------------------------------------------------------------- cursor


@dataclass(frozen=True, slots=True)
class _Marker:
    """One listing item, as far as ordering is concerned."""

    fullname: str
    created_utc: float

    @property
    def rank(self) -> int:
        return int(self.fullname.partition("_")[2], 36)

    def to_json(self) -> dict[str, Any]:
        return {"fullname": self.fullname, "created_utc": self.created_utc}

    @classmethod
    def from_json(cls, value: Any) -> _Marker | None:
        if not isinstance(value, Mapping):
            return None
        return _marker(value.get("fullname"), value.get("created_utc"))


def _marker(fullname: Any, created_utc: Any) -> _Marker | None:
    """A marker from raw values, or None when they are not a Reddit fullname and a time."""
    if (
        not isinstance(fullname, str)
        or not isinstance(created_utc, int | float)
        or isinstance(created_utc, bool)
    ):
        return None
    kind, sep, rid = fullname.partition("_")
    if not sep or not kind or not rid.isalnum():
        return None
    return _Marker(fullname, float(created_utc))


def _newer(a: _Marker | None, b: _Marker | None) -> _Marker | None:
    if a is None or b is None:
        return a or b
    return a if a.rank >= b.rank else b


@dataclass(frozen=True, slots=True)
class _Stream:
    """One listing's position: see the module docstring for the three states."""

    newest: _Marker | None = None
    pass_newest: _Marker | None = None
    after: str | None = None
    floor: float | None = None

    @property
    def in_pass(self) -> bool:
        return self.after is not None

    def to_json(self) -> dict[str, Any]:
        state: dict[str, Any] = {"newest": self.newest.to_json() if self.newest else None}
        if self.in_pass:
            state["pass"] = {
                "newest": self.pass_newest.to_json() if self.pass_newest else None,
                "after": self.after,
                "floor": self.floor,
            }
        return state

    @classmethod
    def from_json(cls, value: Any) -> _Stream:
        if not isinstance(value, Mapping):
            return cls()
        newest = _Marker.from_json(value.get("newest"))
        running = value.get("pass")
        if not isinstance(running, Mapping) or not isinstance(running.get("after"), str):
            return cls(newest)
        floor = running.get("floor")
        return cls(
            newest,
            _Marker.from_json(running.get("newest")),
            running["after"],
            float(floor) if isinstance(floor, int | float) and not isinstance(floor, bool) else None,
        )

    def finished(self) -> _Stream:
        return _Stream(_newer(self.newest, self.pass_newest))


# --------------------------------------------------------------------------- collector


class _TimeoutSession(requests.Session):
    """A session that never reads proxies/.netrc from the environment and always times out.

    prawcore passes its own module-wide timeout (16 s) to every API call, ignoring the
    requestor's; forcing it here makes `timeout_s` hold for the token call and the listings.
    """

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.trust_env = False
        self._timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = self._timeout_s
        return super().request(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class _Listing:
    children: list[Mapping[str, Any]]
    after: str | None


class RedditCollector:
    """Collects Reddit submissions (and optionally comments) matching a Tesoro query.

    Submissions come from `/r/{subs}/search/` (sorted by new, Lucene syntax); one
    multireddit request (`a+b`) covers all configured subreddits. Comments cannot be
    searched on Reddit, so `include_comments` reads the subreddits' comment stream and
    leaves matching to the runner's local re-check; it is refused for r/all, whose
    comment stream is the whole site.
    """

    platform: Platform = Platform.REDDIT

    def __init__(
        self,
        *,
        query: str,
        client_id: str,
        client_secret: str,
        user_agent: str = DEFAULT_USER_AGENT,
        subreddits: Sequence[str] = ("all",),
        include_comments: bool = False,
        base_url: str | None = None,
        page_size: int = 100,
        max_pages: int | None = None,
        backfill: timedelta | None = timedelta(days=7),
        timeout_s: float = 20.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not 1 <= page_size <= _MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {_MAX_PAGE_SIZE} for Reddit, got {page_size}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.subreddits = _subreddits(subreddits)
        if include_comments and self.subreddits == ("all",):
            raise ValueError(
                "include_comments needs named subreddits: r/all's comment stream is all of Reddit"
            )
        self.query = tesoro_query.to_reddit(tesoro_query.parse(query))
        self.include_comments = include_comments
        self.page_size = page_size
        self.max_pages = max_pages
        self.backfill = backfill
        self._client_id = client_id
        self._client_secret = client_secret
        self._user_agent = user_agent
        self._base_url = base_url.rstrip("/") if base_url else None
        self._timeout_s = timeout_s
        self._clock = clock

    @property
    def _multireddit(self) -> str:
        return "+".join(self.subreddits)

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        """Everything newer than the cursor: submissions first, then comments, newest first."""
        streams = _decode(cursor)
        session = _TimeoutSession(self._timeout_s)
        reddit = self._reddit(session)
        try:
            for name in self._stream_names():
                for posts, state in self._walk(reddit, name, streams[name]):
                    streams[name] = state
                    yield Page(posts, _encode(streams))
        finally:
            session.close()

    def _stream_names(self) -> tuple[str, ...]:
        return ("submissions", "comments") if self.include_comments else ("submissions",)

    def _reddit(self, session: requests.Session) -> praw.Reddit:
        """A fresh client per run: its token and rate-limit pacing belong to this run only."""
        return praw.Reddit(
            client_id=self._client_id,
            client_secret=self._client_secret,
            user_agent=self._user_agent,
            check_for_updates=False,
            check_for_async=False,
            requestor_kwargs={"session": session, "timeout": self._timeout_s},
            oauth_url=self._base_url or REDDIT_OAUTH,
            reddit_url=self._base_url or REDDIT_WEB,
            short_url=self._base_url or REDDIT_SHORT,
        )

    # ----------------------------------------------------------------------- one pass

    def _walk(
        self, reddit: praw.Reddit, name: str, state: _Stream
    ) -> Iterator[tuple[tuple[NormalizedPost, ...], _Stream]]:
        """Pages of one stream from `state` until the pass ends or `max_pages` is spent."""
        if not state.in_pass and state.newest is None and self.backfill is not None:
            state = replace(state, floor=(self._clock() - self.backfill).timestamp())
        fetched = 0
        while True:
            listing = self._fetch(reddit, name, state.after)
            fetched += 1
            fresh, reached = _fresh(listing.children, state)
            state = replace(state, pass_newest=state.pass_newest or _first_marker(fresh))
            posts = _normalize_all(fresh)
            if reached or listing.after is None or not listing.children:
                yield posts, state.finished()
                return
            state = replace(state, after=listing.after)
            yield posts, state
            if self.max_pages is not None and fetched >= self.max_pages:
                return

    def _fetch(self, reddit: praw.Reddit, name: str, after: str | None) -> _Listing:
        params: dict[str, str | int] = {"limit": self.page_size}
        if name == "submissions":
            path = f"r/{self._multireddit}/search/"
            restrict = self.subreddits != ("all",)
            params |= {
                "q": self.query,
                "restrict_sr": int(restrict),
                "sort": "new",
                "syntax": "lucene",
                "t": "all",
            }
        else:
            path = f"r/{self._multireddit}/comments/"
        if after is not None:
            params["after"] = after
        body = _call_reddit(lambda: reddit.request(method="GET", path=path, params=params))
        return _parse_listing(body)


def _subreddits(names: Sequence[str]) -> tuple[str, ...]:
    cleaned = [n.strip().removeprefix("/").removeprefix("r/") for n in names if n.strip()]
    if not cleaned or any(n.casefold() == "all" for n in cleaned):
        return ("all",)
    bad = [n for n in cleaned if not _SUBREDDIT.fullmatch(n)]
    if bad:
        raise ValueError(f"not subreddit names: {', '.join(map(repr, bad))}")
    return tuple(dict.fromkeys(cleaned))


def _decode(cursor: Cursor | None) -> dict[str, _Stream]:
    cursor = cursor or {}
    return {name: _Stream.from_json(cursor.get(name)) for name in ("submissions", "comments")}


def _encode(streams: Mapping[str, _Stream]) -> Cursor:
    return {"v": CURSOR_VERSION, **{name: state.to_json() for name, state in streams.items()}}


def _fresh(children: Sequence[Mapping[str, Any]], state: _Stream) -> tuple[list[Mapping[str, Any]], bool]:
    """The children newer than the stored mark (and above the backfill floor), and whether
    the page reached either, which ends the pass."""
    fresh: list[Mapping[str, Any]] = []
    reached = False
    for child in children:
        data = child.get("data")
        marker = _marker(data.get("name"), data.get("created_utc")) if isinstance(data, Mapping) else None
        if marker is None:
            log.warning("skipping a Reddit listing item without a fullname or time: %r", child.get("kind"))
            continue
        if _covered(marker, state):
            reached = True
        else:
            fresh.append(child)
    return fresh, reached


def _covered(marker: _Marker, state: _Stream) -> bool:
    """Already stored (at or below the mark), or older than the first run's backfill floor."""
    if state.newest is not None and marker.rank <= state.newest.rank:
        return True
    return state.floor is not None and marker.created_utc < state.floor


def _first_marker(children: Sequence[Mapping[str, Any]]) -> _Marker | None:
    markers = (_marker(c["data"].get("name"), c["data"].get("created_utc")) for c in children)
    return max((m for m in markers if m is not None), key=lambda m: m.rank, default=None)


def _parse_listing(body: Any) -> _Listing:
    if (
        not isinstance(body, Mapping)
        or body.get("kind") != "Listing"
        or not isinstance(body.get("data"), Mapping)
    ):
        raise TransientError(f"Reddit answered with something other than a Listing: {str(body)[:200]!r}")
    data = body["data"]
    children = [c for c in data.get("children") or [] if isinstance(c, Mapping)]
    after = data.get("after")
    return _Listing(children, after if isinstance(after, str) and after else None)


# --------------------------------------------------------------------------- errors


def _call_reddit(call: Callable[[], Any]) -> Any:
    """Runs one praw call and translates its failures into the runner's vocabulary."""
    try:
        return call()
    except prawcore.TooManyRequests as exc:
        raise RateLimited(
            f"Reddit rate limit: {exc}", retry_at=_retry_at(exc.response, exc.retry_after)
        ) from exc
    except prawcore.OAuthException as exc:
        raise AuthFailed(f"Reddit refused the app credentials: {exc}") from exc
    except (prawcore.InvalidToken, prawcore.Forbidden, prawcore.InsufficientScope) as exc:
        raise AuthFailed(f"Reddit refused the request: {exc}") from exc
    except (prawcore.BadJSON, prawcore.ServerError, prawcore.RequestException) as exc:
        raise TransientError(f"Reddit request failed: {exc}") from exc
    except prawcore.ResponseException as exc:
        raise _by_status(exc) from exc
    except ValueError as exc:  # a body requests could not decode
        raise TransientError(f"Reddit sent an unreadable body: {exc}") from exc


def _by_status(exc: prawcore.ResponseException) -> CollectorError:
    """The token endpoint's failures arrive as plain ResponseExceptions; sort them by status."""
    status = exc.response.status_code
    if status in (401, 403):
        return AuthFailed(f"Reddit refused the app credentials ({status})")
    if status == 429:
        return RateLimited("Reddit rate limit on the token endpoint", retry_at=_retry_at(exc.response, None))
    if status >= 500 or status == 408:
        return TransientError(f"Reddit answered {status}")
    return CollectorError(f"Reddit refused the request ({status}): check the subreddits and the query")


def _retry_at(response: requests.Response, retry_after: str | None) -> datetime:
    """When to come back: `retry-after`, else the window's `x-ratelimit-reset`, else a full window."""
    now = datetime.now(UTC)
    for value in (
        retry_after,
        response.headers.get("retry-after"),
        response.headers.get("x-ratelimit-reset"),
    ):
        seconds = _seconds(value)
        if seconds is not None:
            return now + timedelta(seconds=seconds)
    return now + _DEFAULT_RATE_LIMIT_WAIT


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- normalization


def _normalize_all(children: Sequence[Mapping[str, Any]]) -> tuple[NormalizedPost, ...]:
    posts: list[NormalizedPost] = []
    for child in children:
        data = child.get("data")
        if not isinstance(data, Mapping):
            continue
        normalize = _NORMALIZERS.get(str(child.get("kind")))
        if normalize is None:
            continue
        try:
            post = normalize(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("skipping malformed Reddit item %r: %s", data.get("name"), exc)
            continue
        if post is not None:
            posts.append(post)
    return tuple(posts)


def normalize_submission(data: Mapping[str, Any]) -> NormalizedPost | None:
    """One `t3` listing item as a NormalizedPost; None when it was deleted or removed."""
    title = _str(data.get("title")) or ""
    selftext = _str(data.get("selftext")) or ""
    if selftext in _GONE:
        selftext = ""
    if not title:
        return None
    text = f"{title}\n\n{selftext}" if selftext else title
    return NormalizedPost(
        platform=Platform.REDDIT,
        external_id=str(data["name"]),
        text=text,
        created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
        author=_author(data),
        url=_permalink_url(data),
        title=title,
        media=reddit_media(data),
        metrics=PostMetrics(
            likes=_int(data.get("score")),
            reposts=_int(data.get("num_crossposts")),
            replies=_int(data.get("num_comments")),
        ),
        conversation_id=str(data["name"]),
        hashtags=_hashtags(text),
        mentions=_mentions(text),
    )


def normalize_comment(data: Mapping[str, Any]) -> NormalizedPost | None:
    """One `t1` listing item; `reply_to_id` is its parent, `conversation_id` its submission."""
    body = _str(data.get("body")) or ""
    if not body or body in _GONE:
        return None
    return NormalizedPost(
        platform=Platform.REDDIT,
        external_id=str(data["name"]),
        text=body,
        created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
        author=_author(data),
        url=_permalink_url(data),
        metrics=PostMetrics(likes=_int(data.get("score"))),
        reply_to_id=_str(data.get("parent_id")) or _str(data.get("link_id")),
        conversation_id=_str(data.get("link_id")),
        hashtags=_hashtags(body),
        mentions=_mentions(body),
    )


_NORMALIZERS: dict[str, Callable[[Mapping[str, Any]], NormalizedPost | None]] = {
    "t3": normalize_submission,
    "t1": normalize_comment,
}


def _author(data: Mapping[str, Any]) -> NormalizedAuthor:
    name = _str(data.get("author")) or "[deleted]"
    gone = name in _GONE
    return NormalizedAuthor(
        platform=Platform.REDDIT,
        external_id=_str(data.get("author_fullname")) or f"name:{name}",
        handle=name,
        profile_url=None if gone else f"{REDDIT_WEB}/user/{name}/",
    )


def _permalink_url(data: Mapping[str, Any]) -> str | None:
    permalink = _str(data.get("permalink"))
    return REDDIT_WEB + permalink if permalink and permalink.startswith("/") else None


def reddit_media(data: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    """What a submission shows: a hosted video, a gallery, or one previewed image or GIF."""
    video = _video(data)
    if video is not None:
        return (video,)
    if data.get("is_gallery"):
        return _gallery(data)
    image = _image(data)
    return (image,) if image is not None else ()


def _video(data: Mapping[str, Any]) -> NormalizedMedia | None:
    holder = _mapping(data.get("secure_media")) or _mapping(data.get("media"))
    video = _mapping(holder.get("reddit_video"))
    url = _str(video.get("fallback_url"))
    if not url:
        return None
    duration = _opt_int(video.get("duration"))
    return NormalizedMedia(
        type=MediaType.GIF if video.get("is_gif") else MediaType.VIDEO,
        url=url,
        preview_url=_preview_source(data),
        width=_opt_int(video.get("width")),
        height=_opt_int(video.get("height")),
        duration_ms=duration * 1000 if duration is not None else None,
    )


def _gallery(data: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    metadata = _mapping(data.get("media_metadata"))
    items = [i for i in _mapping(data.get("gallery_data")).get("items") or [] if isinstance(i, Mapping)]
    media: list[NormalizedMedia] = []
    for item in items:
        meta = _mapping(metadata.get(str(item.get("media_id"))))
        if meta.get("status", "valid") != "valid":
            continue
        source = _mapping(meta.get("s"))
        animated = meta.get("e") == "AnimatedImage"
        url = (_str(source.get("gif")) or _str(source.get("mp4"))) if animated else _str(source.get("u"))
        if not url:
            continue
        previews = [p for p in meta.get("p") or [] if isinstance(p, Mapping)]
        media.append(
            NormalizedMedia(
                type=MediaType.GIF if animated else MediaType.PHOTO,
                url=url,
                preview_url=_str(previews[0].get("u")) if previews else None,
                width=_opt_int(source.get("x")),
                height=_opt_int(source.get("y")),
                alt_text=_str(item.get("caption")),
            )
        )
    return tuple(media)


def _image(data: Mapping[str, Any]) -> NormalizedMedia | None:
    if data.get("post_hint") != "image":
        return None
    images = [i for i in _mapping(data.get("preview")).get("images") or [] if isinstance(i, Mapping)]
    if not images:
        return None
    first = images[0]
    source = _mapping(first.get("source"))
    gif = _mapping(_mapping(_mapping(first.get("variants")).get("gif")).get("source"))
    resolutions = [r for r in first.get("resolutions") or [] if isinstance(r, Mapping)]
    url = _str(gif.get("url")) if gif else (_str(data.get("url")) or _str(source.get("url")))
    if not url:
        return None
    return NormalizedMedia(
        type=MediaType.GIF if gif else MediaType.PHOTO,
        url=url,
        preview_url=_str(resolutions[0].get("url")) if resolutions else _str(source.get("url")),
        width=_opt_int(source.get("width")),
        height=_opt_int(source.get("height")),
    )


def _preview_source(data: Mapping[str, Any]) -> str | None:
    images = [i for i in _mapping(data.get("preview")).get("images") or [] if isinstance(i, Mapping)]
    return _str(_mapping(images[0].get("source")).get("url")) if images else None


def _hashtags(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_HASHTAG.findall(text)))


def _mentions(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_USER_MENTION.findall(text)))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _int(value: Any) -> int:
    return _opt_int(value) or 0
