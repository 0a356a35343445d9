"""YouTube adapter: the Data API v3 through `google-api-python-client`, with static discovery.

`build(..., static_discovery=True)` reads the discovery document shipped inside the package, so
nothing is fetched to build the client, and `client_options={"api_endpoint": base_url}` points it at
the simulator (or a gateway). Each page is one `search.list` call (the listening query, `type=video`,
`order=date`, `publishedAfter`), then one `videos.list` for the page's statistics, duration and
thumbnails, one `channels.list` for the authors (handle, subscribers, avatar), and, when
`include_comments`, one `commentThreads.list` per video for its newest top-level comments.

Quota: every call is charged to `self.spend` in YouTube's units before it is made (search 100, the
others 1); 10,000 units a day is the default allowance, which resets at midnight Pacific time.
A 403 `quotaExceeded` parks the source until then (`RateLimited`), a 403 `rateLimitExceeded` (or a
429) for a minute.

Incremental and crash-safe, as X's adapter: search pages newest first, so the run walks down from the
top to the previous run's newest `publishedAt`; that time becomes the next `publishedAfter` only when
the run's last page is saved:

    idle:     {"published_after": A}
    mid-run:  {"published_after": A, "run_newest": N, "page_token": T}
    run done: {"published_after": N}

`publishedAfter` is inclusive, so the videos of that very second come again and are updated, never
duplicated (posts are unique by platform and id).
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, assert_never
from zoneinfo import ZoneInfo

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tesoro.collector.base import (
    AuthFailed,
    CollectorError,
    RateLimited,
    Spend,
    ThreadReply,
    TransientError,
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
from tesoro.text.lang import primary_language
from tesoro.text.query import parse
from tesoro.text.query.broaden import Platform as SearchPlatform
from tesoro.text.query.broaden import quoted_unless_word, searchable
from tesoro.text.query.nodes import And, Atom, Hashtag, Lang, Mention, Node, Not, Or, Phrase, Term

__all__ = ["COSTS", "DAILY_QUOTA", "YOUTUBE_API", "YouTubeCollector", "normalize_video", "to_youtube"]

log = logging.getLogger(__name__)

YOUTUBE_API = "https://youtube.googleapis.com/"
# Quota units per call, as YouTube's quota table sets them, and the default daily allowance.
COSTS = {
    "search": 100,
    "videos": 1,
    "channels": 1,
    "commentThreads": 1,
    "comments": 1,
    "commentThreads.insert": 50,
    "comments.insert": 50,
}
DAILY_QUOTA = 10_000
# search.list and videos.list take at most 50 a page / 50 ids a call.
MAX_PAGE = 50
_QUOTA_TZ = ZoneInfo("America/Los_Angeles")
_RATE_LIMIT_WAIT = timedelta(minutes=1)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_THUMBNAIL_ORDER = ("maxres", "standard", "high", "medium", "default")


# Reasons that mean the key (or the project behind it) was refused: retrying will not help.
_AUTH_REASONS = frozenset(
    {"keyInvalid", "keyExpired", "accessNotConfigured", "ipRefererBlocked", "API_KEY_INVALID"}
)


class _BadPageToken(CollectorError):
    """YouTube refused the saved pageToken (400 invalidPageToken)."""


# --------------------------------------------------------------------------------------------
# The listening query as a YouTube search (`q`): `|` for OR, `-` for NOT, "phrases".
# --------------------------------------------------------------------------------------------

_YOUTUBE = SearchPlatform(
    name="YouTube",
    expresses=lambda atom: not isinstance(atom, Lang),
    negates=lambda atom: isinstance(atom, Term | Phrase),
)


def _atom(atom: Atom) -> str:
    match atom:
        case Term(text=text):
            return quoted_unless_word(text)
        case Phrase(text=text):
            return f'"{text}"'
        case Hashtag(name=name):
            return f"#{name}"
        case Mention(handle=handle):
            return quoted_unless_word(handle.split("@", 1)[0])
        case Lang():
            raise AssertionError("YouTube has no language filter; lang: is removed before rendering")
        case _:
            assert_never(atom)


def to_youtube(node: Node, *, max_length: int = 500) -> str:
    """Compile to a YouTube `search.list` `q`: words AND, `|` OR, `-` NOT, "phrases", #hashtags.

    Broader than the query where YouTube cannot follow it: no language filter (`relevanceLanguage`
    only ranks), an @mention is searched as the handle's word, and only words and phrases can be
    excluded. Tesoro re-checks every video against the full query, so broader only costs quota.
    """
    broad = searchable(node, _YOUTUBE)

    def grouped(part: Node) -> str:
        text = render(part)
        return f"({text})" if isinstance(part, And | Or) else text

    def render(part: Node) -> str:
        match part:
            case Not(child=child):
                return f"-{render(child)}"
            case And(children=children):
                return " ".join(grouped(c) for c in children)
            case Or(children=children):
                return " | ".join(grouped(c) for c in children)
            case Term() | Phrase() | Hashtag() | Mention() | Lang():
                return _atom(part)
            case _:
                raise AssertionError(f"unexpected query node {part!r}")

    text = render(broad)
    if len(text) > max_length:
        raise CollectorError(f"the YouTube query is {len(text)} characters long, over {max_length}")
    return text


# --------------------------------------------------------------------------------------------
# The cursor
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Position:
    published_after: str | None = None
    run_newest: str | None = None
    page_token: str | None = None

    @classmethod
    def from_cursor(cls, cursor: Cursor | None) -> _Position:
        if not cursor:
            return cls()
        after = _stamp(cursor.get("published_after"))
        token = cursor.get("page_token")
        if not isinstance(token, str) or not token:
            return cls(after)
        return cls(after, _stamp(cursor.get("run_newest")), token)

    def to_cursor(self) -> Cursor:
        if self.page_token is None:
            return {"published_after": self.published_after}
        return {
            "published_after": self.published_after,
            "run_newest": self.run_newest,
            "page_token": self.page_token,
        }

    def after(self, next_token: str | None, page_newest: str | None) -> _Position:
        newest = max((t for t in (self.run_newest, page_newest) if t), default=None)
        if next_token:
            return _Position(self.published_after, newest, next_token)
        return _Position(newest or self.published_after)


def _stamp(value: Any) -> str | None:
    """A saved time as YouTube's RFC 3339 form, or None when it is not one."""
    moment = as_utc_datetime(value) if isinstance(value, str) else None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


# --------------------------------------------------------------------------------------------
# The collector
# --------------------------------------------------------------------------------------------


class YouTubeCollector:
    """Collects videos (and, optionally, their newest top-level comments) matching a Tesoro query."""

    platform: Platform = Platform.YOUTUBE
    lookup_batch: int = MAX_PAGE

    def __init__(
        self,
        *,
        query: str,
        api_key: str,
        base_url: str = YOUTUBE_API,
        page_size: int = MAX_PAGE,
        max_pages: int | None = None,
        timeout_s: float = 15.0,
        include_comments: bool = False,
        comments_per_video: int = 20,
        lookback: timedelta = timedelta(days=7),
        oauth_token: str | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE} for YouTube, got {page_size}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        if not 1 <= comments_per_video <= 100:
            raise ValueError(f"comments_per_video must be between 1 and 100, got {comments_per_video}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.query = to_youtube(parse(query))
        self.page_size = page_size
        self.max_pages = max_pages
        self.include_comments = include_comments
        self.comments_per_video = comments_per_video
        self.lookback = lookback
        self.spend = Spend()
        endpoint = base_url if base_url.endswith("/") else base_url + "/"
        self._service: Any = build(
            "youtube",
            "v3",
            developerKey=api_key,
            static_discovery=True,
            cache_discovery=False,
            http=httplib2.Http(timeout=timeout_s),
            client_options={"api_endpoint": endpoint},
        )
        # Each `service.<resource>()` call builds its methods again from the discovery document
        # (most of the client's CPU per call, profiled): build each resource once.
        self._search_api: Any = self._service.search()
        self._videos: Any = self._service.videos()
        self._channels: Any = self._service.channels()
        self._threads: Any = self._service.commentThreads()
        self._replies: Any = self._service.comments()
        # Posting a comment needs the channel's OAuth 2.0 token (an API key only reads): the same
        # client, with the token on every request.
        self._writer: Any = (
            build(
                "youtube",
                "v3",
                developerKey=api_key,
                static_discovery=True,
                cache_discovery=False,
                http=_BearerHttp(oauth_token, timeout=timeout_s),
                client_options={"api_endpoint": endpoint},
            )
            if oauth_token
            else None
        )

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        position = _Position.from_cursor(cursor)
        fetched = 0
        while True:
            try:
                body = self._search(position)
            except _BadPageToken:
                if position.page_token is None:
                    raise
                log.warning(
                    "YouTube refused the saved pageToken; restarting the run after %s",
                    position.published_after,
                )
                position = _Position(position.published_after)
                continue
            items = [i for i in as_dicts(body.get("items")) if as_str(as_dict(i.get("id")).get("videoId"))]
            ids = list(dict.fromkeys(as_str(as_dict(i.get("id")).get("videoId")) or "" for i in items))
            page_newest = max(
                (t for t in (_stamp(as_dict(i.get("snippet")).get("publishedAt")) for i in items) if t),
                default=None,
            )
            posts, rejected = self._page(ids) if ids else ([], [])
            token = as_str(body.get("nextPageToken"))
            position = position.after(token, page_newest)
            fetched += 1
            yield Page(tuple(posts), position.to_cursor(), rejected=tuple(rejected))
            if position.page_token is None or (self.max_pages is not None and fetched >= self.max_pages):
                return

    def gone(self, external_ids: Sequence[str]) -> frozenset[str]:
        """Which of these videos YouTube no longer serves (videos.list leaves deleted, private ones out)."""
        wanted = [i for i in dict.fromkeys(external_ids) if _VIDEO_ID.fullmatch(i)]
        gone: set[str] = set()
        for start in range(0, len(wanted), MAX_PAGE):
            batch = wanted[start : start + MAX_PAGE]
            body = self._call("videos", self._videos.list(part="id", id=",".join(batch), maxResults=MAX_PAGE))
            served = {as_str(v.get("id")) for v in as_dicts(body.get("items"))}
            gone.update(i for i in batch if i not in served)
        return frozenset(gone)

    # -- rights requests --------------------------------------------------------------------------

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]:
        """The request as the brand channel's comment: a new top-level comment on a video
        (`commentThreads.insert`), or a reply under a top-level comment (`comments.insert`); 50 units.

        The reply's id is the comment's; under a comment it is `<thread id>.<own>`, YouTube's form.
        """
        if self._writer is None:
            raise AuthFailed(
                "posting on YouTube needs the channel's OAuth token: set credentials oauth_token_env"
            )
        if _VIDEO_ID.fullmatch(post_external_id):
            body = {
                "snippet": {
                    "videoId": post_external_id,
                    "topLevelComment": {"snippet": {"textOriginal": text}},
                }
            }
            made = self._call(
                "commentThreads.insert", self._writer.commentThreads().insert(part="snippet", body=body)
            )
            video = post_external_id
        else:
            body = {"snippet": {"parentId": post_external_id, "textOriginal": text}}
            made = self._call("comments.insert", self._writer.comments().insert(part="snippet", body=body))
            video = as_str(as_dict(made.get("snippet")).get("videoId")) or ""
        reply_id = as_str(made.get("id"))
        if not reply_id:
            raise TransientError("YouTube answered the comment without its id")
        return reply_id, f"https://www.youtube.com/watch?v={video}&lc={reply_id}" if video else None

    def fetch_replies(self, *, post_external_id: str, reply_id: str) -> list[ThreadReply]:
        """The replies under Tesoro's comment (`comments.list` with `parentId`, 1 unit).

        YouTube threads are one level deep: under a video, the replies to Tesoro's top-level comment;
        under a comment, the replies to that comment written after Tesoro's. A thread YouTube no longer
        has (the video deleted) has none.
        """
        under_video = _VIDEO_ID.fullmatch(post_external_id) is not None
        parent = reply_id if under_video else post_external_id
        request = self._replies.list(part="snippet", parentId=parent, maxResults=100, textFormat="plainText")
        try:
            body = self._call("comments", request)
        except _Refused as exc:
            if exc.reason in ("commentNotFound", "parentCommentNotFound", "videoNotFound", "forbidden"):
                return []
            raise
        items = as_dicts(body.get("items"))
        ours = next((i for i in items if as_str(i.get("id")) == reply_id), None)
        since = as_utc_datetime(as_dict(ours.get("snippet")).get("publishedAt")) if ours else None
        video = post_external_id if under_video else None
        out: list[ThreadReply] = []
        for item in items:
            comment_id, snippet = as_str(item.get("id")), as_dict(item.get("snippet"))
            channel = as_str(as_dict(snippet.get("authorChannelId")).get("value"))
            created = as_utc_datetime(snippet.get("publishedAt"))
            if not comment_id or comment_id == reply_id or not channel:
                continue
            if not under_video and (since is None or created is None or created < since):
                continue  # the conversation under the comment before Tesoro asked
            name = as_str(snippet.get("authorDisplayName")) or channel
            on = video or as_str(snippet.get("videoId"))
            out.append(
                ThreadReply(
                    external_id=comment_id,
                    author_external_id=channel,
                    author_handle=name.lstrip("@"),
                    text=as_str(snippet.get("textOriginal")) or as_str(snippet.get("textDisplay")) or "",
                    url=f"https://www.youtube.com/watch?v={on}&lc={comment_id}" if on else None,
                    created_at=created,
                )
            )
        return out

    # -- the calls ------------------------------------------------------------------------------

    def _search(self, position: _Position) -> dict[str, Any]:
        after = position.published_after or (datetime.now(UTC) - self.lookback).strftime("%Y-%m-%dT%H:%M:%SZ")
        params: dict[str, Any] = {
            "part": "snippet",
            "q": self.query,
            "type": "video",
            "order": "date",
            "publishedAfter": after,
            "maxResults": self.page_size,
        }
        if position.page_token is not None:
            params["pageToken"] = position.page_token
        return self._call("search", self._search_api.list(**params))

    def _page(self, ids: list[str]) -> tuple[list[NormalizedPost], list[RejectedItem]]:
        body = self._call(
            "videos",
            self._videos.list(
                part="snippet,statistics,contentDetails", id=",".join(ids), maxResults=MAX_PAGE
            ),
        )
        # In the search's order (newest first), whatever order videos.list answers in.
        rank = {video_id: i for i, video_id in enumerate(ids)}
        videos = sorted(as_dicts(body.get("items")), key=lambda v: rank.get(str(v.get("id")), len(rank)))
        channel_ids = list(
            dict.fromkeys(
                c for c in (as_str(as_dict(v.get("snippet")).get("channelId")) for v in videos) if c
            )
        )
        channels: dict[str, dict[str, Any]] = {}
        if channel_ids:
            answer = self._call(
                "channels",
                self._channels.list(
                    part="snippet,statistics", id=",".join(channel_ids[:MAX_PAGE]), maxResults=MAX_PAGE
                ),
            )
            channels = {c["id"]: c for c in as_dicts(answer.get("items")) if isinstance(c.get("id"), str)}
        posts: list[NormalizedPost] = []
        rejected: list[RejectedItem] = []
        for video in videos:
            got = normalize_guarded(
                Platform.YOUTUBE,
                video,
                video.get("id"),
                partial(normalize_video, video, channels=channels),
                _MALFORMED,
            )
            if isinstance(got, NormalizedPost):
                posts.append(got)
                if self.include_comments:
                    comments, refused = self._comments(got)
                    posts.extend(comments)
                    rejected.extend(refused)
            else:
                rejected.append(got)
        return posts, rejected

    def _comments(self, video: NormalizedPost) -> tuple[list[NormalizedPost], list[RejectedItem]]:
        """The video's newest top-level comments; a video with comments turned off has none."""
        request = self._threads.list(
            part="snippet",
            videoId=video.external_id,
            maxResults=self.comments_per_video,
            order="time",
            textFormat="plainText",
        )
        try:
            body = self._call("commentThreads", request)
        except _Refused as exc:
            if exc.reason in ("commentsDisabled", "videoNotFound", "forbidden"):
                return [], []
            raise
        posts: list[NormalizedPost] = []
        rejected: list[RejectedItem] = []
        for thread in as_dicts(body.get("items")):
            got = normalize_guarded(
                Platform.YOUTUBE,
                thread,
                thread.get("id"),
                partial(normalize_comment, thread, video=video),
                _MALFORMED_COMMENT,
            )
            if isinstance(got, NormalizedPost):
                posts.append(got)
            else:
                rejected.append(got)
        return posts, rejected

    def _call(self, method: str, request: Any) -> dict[str, Any]:
        """Charge the call's quota units, run it once (the runner retries), translate its failures."""
        self.spend.charge(COSTS[method])
        body = _execute(request)
        if not isinstance(body, dict):
            raise TransientError(f"YouTube answered {method} with a {type(body).__name__}, not a JSON object")
        return body


class _BearerHttp(httplib2.Http):  # type: ignore[misc]  # httplib2 ships no type hints
    """An `httplib2.Http` that sends the OAuth 2.0 access token with every request."""

    def __init__(self, token: str, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._authorization = f"Bearer {token}"

    def request(
        self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any
    ) -> Any:
        sent = dict(headers or {})
        sent["authorization"] = self._authorization
        return super().request(uri, method, body=body, headers=sent, **kwargs)


class _Refused(CollectorError):
    """A 4xx YouTube gave with a reason that the caller may accept (comments turned off)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _execute(request: Any) -> Any:
    try:
        return request.execute(num_retries=0)
    except HttpError as exc:
        raise _translate(exc) from exc
    except (httplib2.HttpLib2Error, OSError) as exc:  # timeouts (TimeoutError), refused connections
        raise TransientError(f"YouTube request failed: {type(exc).__name__}: {exc}") from exc
    except ValueError as exc:  # a body that is not JSON
        raise TransientError(f"YouTube sent an unreadable body: {exc}") from exc


def _reason(exc: HttpError) -> tuple[str, str]:
    """(reason, message) of Google's error body: `error.errors[0].reason`."""
    try:
        body = json.loads(exc.content.decode("utf-8", "replace")) if exc.content else {}
    except ValueError:
        body = {}
    error = as_dict(as_dict(body).get("error"))
    first = next(iter(as_dicts(error.get("errors"))), {})
    return as_str(first.get("reason")) or as_str(error.get("status")) or "", as_str(
        error.get("message")
    ) or str(exc)


def _translate(exc: HttpError) -> CollectorError:
    status = int(exc.resp.status)
    reason, message = _reason(exc)
    text = f"YouTube {status} {reason}: {html.unescape(re.sub(r'<[^>]+>', '', message))}"
    if reason in ("quotaExceeded", "dailyLimitExceeded"):
        return RateLimited(
            text + " (the daily quota resets at midnight Pacific time)", retry_at=next_quota_reset()
        )
    if reason in ("rateLimitExceeded", "userRateLimitExceeded") or status == 429:
        return RateLimited(text, retry_at=datetime.now(UTC) + _RATE_LIMIT_WAIT)
    if status == 401 or reason in _AUTH_REASONS:
        return AuthFailed(text)
    if status >= 500:
        return TransientError(text)
    if reason == "invalidPageToken":
        return _BadPageToken(text)
    return _Refused(text, reason)


def next_quota_reset(now: datetime | None = None) -> datetime:
    """Midnight Pacific time after `now`, when YouTube's daily quota starts again (in UTC)."""
    local = (now or datetime.now(UTC)).astimezone(_QUOTA_TZ)
    midnight = datetime(local.year, local.month, local.day, tzinfo=_QUOTA_TZ) + timedelta(days=1)
    return midnight.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Normalising
# --------------------------------------------------------------------------------------------

_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_MALFORMED = "malformed video: no id, snippet.publishedAt or snippet.channelId"
_MALFORMED_COMMENT = "malformed comment: no id, text, publishedAt or author channel"
_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_MENTION = re.compile(r"(?<![\w@])@([\w.-]{3,30})")


def _count(value: Any) -> int | None:
    """YouTube sends counts as decimal strings (`"1234"`); an int is taken too."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return as_int(value)


def duration_ms(value: Any) -> int | None:
    """`PT1H2M3S` (ISO 8601, YouTube's contentDetails.duration) in milliseconds."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    days, hours, minutes, seconds = match.groups()
    total = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    return int(total * 1000)


def _thumbnail(thumbnails: Mapping[str, Any]) -> dict[str, Any]:
    for name in _THUMBNAIL_ORDER:
        found = as_dict(thumbnails.get(name))
        if as_str(found.get("url")):
            return found
    return {}


def _channel_author(channel_id: str, title: str | None, channel: Mapping[str, Any]) -> NormalizedAuthor:
    snippet = as_dict(channel.get("snippet"))
    stats = as_dict(channel.get("statistics"))
    custom = as_str(snippet.get("customUrl"))
    handle = custom.lstrip("@") if custom else channel_id
    hidden = stats.get("hiddenSubscriberCount") is True
    return NormalizedAuthor(
        platform=Platform.YOUTUBE,
        external_id=channel_id,
        handle=handle,
        display_name=as_str(snippet.get("title")) or title,
        followers=None if hidden else _count(stats.get("subscriberCount")),
        profile_url=f"https://www.youtube.com/@{handle}"
        if custom
        else f"https://www.youtube.com/channel/{channel_id}",
        avatar_url=as_str(_thumbnail(as_dict(snippet.get("thumbnails"))).get("url")),
        bio=as_str(snippet.get("description")) or None,
    )


def normalize_video(
    video: Mapping[str, Any], *, channels: Mapping[str, Mapping[str, Any]]
) -> NormalizedPost | None:
    """One `videos.list` item (with its channel when known) as a NormalizedPost; None if malformed."""
    video_id = as_str(video.get("id"))
    snippet = as_dict(video.get("snippet"))
    created_at = as_utc_datetime(snippet.get("publishedAt"))
    channel_id = as_str(snippet.get("channelId"))
    if not video_id or not _VIDEO_ID.fullmatch(video_id) or created_at is None or not channel_id:
        log.warning("skipping malformed YouTube video %r", video.get("id"))
        return None
    title = as_str(snippet.get("title")) or ""
    description = as_str(snippet.get("description")) or ""
    stats = as_dict(video.get("statistics"))
    details = as_dict(video.get("contentDetails"))
    thumb = _thumbnail(as_dict(snippet.get("thumbnails")))
    tags = [t for t in as_list(snippet.get("tags")) if isinstance(t, str)]
    hashtags = list(
        dict.fromkeys(
            [*_HASHTAG.findall(f"{title}\n{description}"), *(t.lstrip("#") for t in tags if " " not in t)]
        )
    )
    rating = as_dict(details.get("contentRating"))
    return NormalizedPost(
        platform=Platform.YOUTUBE,
        external_id=video_id,
        text=description,
        title=title or None,
        created_at=created_at,
        author=_channel_author(channel_id, as_str(snippet.get("channelTitle")), channels.get(channel_id, {})),
        lang=primary_language(snippet.get("defaultAudioLanguage") or snippet.get("defaultLanguage")),
        url=f"https://www.youtube.com/watch?v={video_id}",
        media=(
            NormalizedMedia(
                type=MediaType.VIDEO,
                url=f"https://www.youtube.com/watch?v={video_id}",
                preview_url=as_str(thumb.get("url")),
                width=as_int(thumb.get("width")),
                height=as_int(thumb.get("height")),
                duration_ms=duration_ms(details.get("duration")),
            ),
        ),
        metrics=PostMetrics(
            likes=_count(stats.get("likeCount")) or 0,
            replies=_count(stats.get("commentCount")) or 0,
            views=_count(stats.get("viewCount")),
        ),
        hashtags=tuple(h for h in hashtags if h),
        mentions=tuple(dict.fromkeys(_MENTION.findall(description))),
        content_flags=content_flags(["nsfw"] if rating.get("ytRating") == "ytAgeRestricted" else []),
    )


def normalize_comment(thread: Mapping[str, Any], *, video: NormalizedPost) -> NormalizedPost | None:
    """One top-level comment (`commentThreads.list`, plainText) as a reply to its video."""
    top = as_dict(as_dict(thread.get("snippet")).get("topLevelComment"))
    comment_id = as_str(top.get("id")) or as_str(thread.get("id"))
    snippet = as_dict(top.get("snippet"))
    text = as_str(snippet.get("textOriginal")) or as_str(snippet.get("textDisplay"))
    created_at = as_utc_datetime(snippet.get("publishedAt"))
    channel = as_str(as_dict(snippet.get("authorChannelId")).get("value"))
    if not comment_id or text is None or created_at is None or not channel:
        log.warning("skipping malformed YouTube comment %r", thread.get("id"))
        return None
    name = as_str(snippet.get("authorDisplayName")) or channel
    handle = name.lstrip("@") if name.startswith("@") else channel
    return NormalizedPost(
        platform=Platform.YOUTUBE,
        external_id=comment_id,
        text=text,
        created_at=created_at,
        author=NormalizedAuthor(
            platform=Platform.YOUTUBE,
            external_id=channel,
            handle=handle,
            display_name=name,
            profile_url=as_str(snippet.get("authorChannelUrl")),
            avatar_url=as_str(snippet.get("authorProfileImageUrl")),
        ),
        url=f"https://www.youtube.com/watch?v={video.external_id}&lc={comment_id}",
        metrics=PostMetrics(likes=as_int(snippet.get("likeCount")) or 0),
        reply_to_id=video.external_id,
        conversation_id=video.external_id,
        hashtags=tuple(dict.fromkeys(_HASHTAG.findall(text))),
        mentions=tuple(dict.fromkeys(_MENTION.findall(text))),
    )
