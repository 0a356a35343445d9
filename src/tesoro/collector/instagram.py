"""Instagram adapter: hashtag media, media the brand is tagged in, and media that @mention it.

Through the Instagram Graph API (Instagram API with Facebook Login), on behalf of the brand's
Instagram professional account (`account_id`), with `instagram_client.GraphClient`:

- **hashtags**: each hashtag the source names (or, without a list, the `#hashtags` of its query)
  is turned into its id with `ig_hashtag_search`, then read through `/{hashtag-id}/recent_media`
  (the last 24 hours, newest first, every page until the previous run's mark) and the first
  `top_pages` pages of `/{hashtag-id}/top_media` (the most popular; it changes slowly, so it is
  read at most once every `top_every`, 6 hours by default, not on every run). An account may query 30
  unique hashtags in a rolling 7 days: the `HashtagLedger` (the store's, see
  `instagram_ledger`) grants a slot before each search, reuses a hashtag's id inside its window,
  and refuses a 31st. A refused hashtag is skipped, the other streams are collected, and the run
  then ends with `HashtagLimitReached`, so the source's health names the hashtag and when a slot
  frees up.
- **tags**: `/{ig-user-id}/tags`, newest first, until the previous run's mark.
- **mentions**: Meta announces a caption that @mentions the account with a `mentions` webhook
  (`api/routes/meta_webhook.py`); `mentioned_media(media_id)` reads that media with
  `/{ig-user-id}?fields=mentioned_media.media_id(<id>){...}`.

Incremental and crash-safe: a stream's cursor is `{"mark": T}` between runs (T, epoch seconds:
the newest `timestamp` stored) and `{"mark": T, "pass": {"newest": N, "after": C}}` mid-pass (C:
Meta's `paging.cursors.after` for the next page). A page and its cursor are stored together, so
a run killed at any point resumes at the page after the last one stored. The whole cursor is
`{"v": 1, "streams": {"recent:<tag>" | "tags": stream}, "top": {"<tag>": T}}` (T: when that
hashtag's top media were last read, epoch seconds).

Hashtag media carry no owner (the API does not give it); such a post's author is a placeholder
of its own (`ig-media-<id>`) rather than one shared "unknown" person.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from tesoro.collector.base import CollectorError, Spend, ThreadReply, TokenExpiry
from tesoro.collector.boundary import normalize_guarded
from tesoro.collector.instagram_client import GraphClient, GraphError
from tesoro.models import (
    UNNAMED_AUTHOR_PREFIX,
    Cursor,
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Page,
    Platform,
    PostMetrics,
    RejectedItem,
)
from tesoro.text import query as tesoro_query
from tesoro.text.query.nodes import Hashtag, Node

__all__ = [
    "GRAPH_API",
    "UNKNOWN_OWNER",
    "Fetch",
    "HashtagClaim",
    "HashtagLedger",
    "HashtagLimitReached",
    "InstagramCollector",
    "MemoryLedger",
    "Normalizer",
    "Stream",
    "graph_items",
    "hashtags_of_query",
    "next_after",
    "normalize_media",
    "parse_graph_time",
    "walk_newest_first",
]

log = logging.getLogger(__name__)

GRAPH_API = "https://graph.facebook.com/v21.0"
CURSOR_VERSION = 1
MAX_PAGE_SIZE = 50  # Meta's cap for hashtag and tag edges
HASHTAG_LIMIT = 30
MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,media_url,thumbnail_url,permalink,timestamp,"
    "like_count,comments_count,children{id,media_type,media_url,thumbnail_url}"
)
RENEW = (
    "Renew it: exchange a fresh short-lived user token for a long-lived one (GET "
    "/oauth/access_token?grant_type=fb_exchange_token...), or refresh the long-lived token before its "
    "60 days run out; put the new token in the environment variable the source names (docs/instagram.md)"
)
_TAG = re.compile(r"(?<![\w/#])#(\w+)", re.UNICODE)
_MENTION = re.compile(r"(?<![\w/@])@([A-Za-z0-9_.]+)")
_MEDIA_ID = re.compile(r"\d{1,40}")
# The external id of a hashtag media's author starts so: the API does not name the owner, so nobody's
# answer can be told to be the owner's (until the tags or mentions edge names it: `store.posts`).
UNKNOWN_OWNER = UNNAMED_AUTHOR_PREFIX


class HashtagLimitReached(CollectorError):
    """A hashtag the source needs would be the account's 31st unique one in 7 days."""


@dataclass(frozen=True, slots=True)
class HashtagClaim:
    granted: bool
    hashtag_id: str | None = None
    used: int = 0
    frees_at: datetime | None = None


class HashtagLedger(Protocol):
    """Which hashtags an account searched when (see `store.hashtags` for the rules)."""

    def claim(self, account_id: str, hashtag: str, now: datetime) -> HashtagClaim: ...

    def remember(self, account_id: str, hashtag: str, hashtag_id: str) -> None: ...


@dataclass
class MemoryLedger:
    """The ledger of one process (for tests and tools; the service uses the store's)."""

    searched: dict[tuple[str, str], tuple[datetime, str | None]] = field(default_factory=dict)

    def claim(self, account_id: str, hashtag: str, now: datetime) -> HashtagClaim:
        week = timedelta(days=7)
        live = {k: v for k, v in self.searched.items() if k[0] == account_id and v[0] > now - week}
        key = (account_id, hashtag.casefold())
        if key in live:
            return HashtagClaim(True, live[key][1], len(live))
        if len(live) >= HASHTAG_LIMIT:
            return HashtagClaim(False, None, len(live), min(v[0] for v in live.values()) + week)
        self.searched[key] = (now, None)
        return HashtagClaim(True, None, len(live) + 1)

    def remember(self, account_id: str, hashtag: str, hashtag_id: str) -> None:
        key = (account_id, hashtag.casefold())
        if key in self.searched:
            self.searched[key] = (self.searched[key][0], hashtag_id)


def hashtags_of_query(query: str) -> tuple[str, ...]:
    """The `#hashtags` a listening query names (not under NOT), folded, in order."""
    found: list[str] = []

    def walk(node: Node, negated: bool) -> None:
        if isinstance(node, Hashtag):
            if not negated and node.name.casefold() not in found:
                found.append(node.name.casefold())
            return
        child = getattr(node, "child", None)
        if child is not None:
            walk(child, not negated)
        for part in getattr(node, "children", ()):
            walk(part, negated)

    walk(tesoro_query.parse(query), False)
    return tuple(found)


# --------------------------------------------------------------------------- cursor


@dataclass(frozen=True, slots=True)
class Stream:
    mark: float | None = None
    newest: float | None = None
    after: str | None = None

    def finished(self) -> Stream:
        marks = [m for m in (self.mark, self.newest) if m is not None]
        return Stream(max(marks) if marks else None)

    def to_json(self) -> dict[str, Any]:
        state: dict[str, Any] = {"mark": self.mark}
        if self.after is not None:
            state["pass"] = {"newest": self.newest, "after": self.after}
        return state

    @classmethod
    def from_json(cls, value: Any) -> Stream:
        if not isinstance(value, Mapping):
            return cls()
        mark = _number(value.get("mark"))
        running = value.get("pass")
        if not isinstance(running, Mapping) or not isinstance(running.get("after"), str):
            return cls(mark)
        return cls(mark, _number(running.get("newest")), running["after"])


# Fetches one page of a stream: after-cursor -> the Graph answer ({"data": [...], "paging": {...}}).
Fetch = Callable[[str | None], Mapping[str, Any]]


# A page's items -> its posts and refused items (`seen`: ids already handed out this run).
Normalizer = Callable[
    [Sequence[Mapping[str, Any]], set[str]], tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...]]
]


def walk_newest_first(
    fetch: Fetch, state: Stream, seen: set[str], normalize: Normalizer, max_pages: int | None
) -> Iterator[tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...], Stream]]:
    """Pages of one newest-first Graph edge from `state` until its mark (or `max_pages`), each with
    the stream's state after it. Items at the mark's second are kept (storing one again is harmless);
    the first item older than the mark ends the pass."""
    fetched = 0
    while True:
        answer = fetch(state.after)
        fetched += 1
        fresh: list[Mapping[str, Any]] = []
        reached = False
        newest = state.newest
        for item in graph_items(answer):
            moment = parse_graph_time(item.get("timestamp"))
            if state.mark is not None and moment is not None and moment.timestamp() < state.mark:
                reached = True
                continue
            fresh.append(item)
            if moment is not None and (newest is None or moment.timestamp() > newest):
                newest = moment.timestamp()
        state = replace(state, newest=newest)
        posts, rejected = normalize(fresh, seen)
        after = next_after(answer)
        if reached or after is None:
            yield posts, rejected, state.finished()
            return
        state = replace(state, after=after)
        yield posts, rejected, state
        if max_pages is not None and fetched >= max_pages:
            return


class InstagramCollector:
    """Collects an Instagram professional account's hashtag, tagged and mentioned media."""

    platform: Platform = Platform.INSTAGRAM

    def __init__(
        self,
        *,
        access_token: str,
        account_id: str,
        hashtags: Sequence[str] = (),
        include_tags: bool = True,
        ledger: HashtagLedger | None = None,
        base_url: str = GRAPH_API,
        page_size: int = 25,
        max_pages: int | None = None,
        top_pages: int = 1,
        top_every: timedelta = timedelta(hours=6),
        timeout_s: float = 20.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not account_id.strip():
            raise ValueError("an Instagram source needs the brand's Instagram account id (account_id)")
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        if top_pages < 0:
            raise ValueError(f"top_pages must be 0 or more, got {top_pages}")
        self.account_id = account_id.strip()
        self.hashtags = tuple(dict.fromkeys(h.lstrip("#").casefold() for h in hashtags if h.strip("# ")))
        self.include_tags = include_tags
        self.ledger: HashtagLedger = ledger if ledger is not None else MemoryLedger()
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self.max_pages = max_pages
        self.top_pages = top_pages
        self.top_every = top_every
        self._clock = clock
        # Units: hashtag searches that took a new slot (Meta's 30 a week); calls: every request.
        self.spend = Spend()
        self.token_expiry: TokenExpiry | None = None
        self.client = GraphClient(
            base_url=base_url,
            access_token=access_token,
            name="Instagram",
            renew=RENEW,
            timeout_s=timeout_s,
            spend=self.spend,
            clock=clock,
        )

    # ----------------------------------------------------------------------- collection

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        # When the token expires (Meta's debug_token, one call a run): the runner keeps it on the source,
        # `tesoro sources` shows it and the coverage_lost alert warns `token_warning` ahead.
        self.token_expiry = self.client.token_expiry()
        saved = (cursor or {}).get("streams")
        saved = saved if isinstance(saved, Mapping) else {}
        streams = {key: Stream.from_json(value) for key, value in saved.items() if isinstance(key, str)}
        kept_top = (cursor or {}).get("top")
        # When each hashtag's top media were last read (epoch seconds): they are read again after `top_every`.
        top_read: dict[str, int] = {
            tag: int(at)
            for tag, at in (kept_top.items() if isinstance(kept_top, Mapping) else ())
            if isinstance(tag, str) and isinstance(at, int | float)
        }
        seen: set[str] = set()
        refused: list[str] = []

        for tag in self.hashtags:
            hashtag_id = self._hashtag_id(tag, refused)
            if hashtag_id is None:
                continue
            key = f"recent:{tag}"
            yield from self._follow(
                key, self._edge(f"{hashtag_id}/recent_media", True), streams, seen, top_read
            )
            now = self._clock()
            if tag in top_read and now.timestamp() - top_read[tag] < self.top_every.total_seconds():
                continue  # read lately: the most popular media of a hashtag change slowly
            after: str | None = None
            for page in range(self.top_pages):
                answer = self._edge(f"{hashtag_id}/top_media", True)(after)
                posts, rejected = normalize_page(graph_items(answer), seen)
                after = next_after(answer)
                if page == self.top_pages - 1 or after is None:
                    top_read[tag] = int(now.timestamp())  # stored with the last page read
                yield Page(posts, _snapshot(streams, top_read), rejected=rejected)
                if after is None:
                    break
        if self.include_tags:
            key = "tags"
            yield from self._follow(
                key, self._edge(f"{self.account_id}/tags", False), streams, seen, top_read
            )
        if refused:
            raise HashtagLimitReached("; ".join(refused))

    def _follow(
        self, key: str, fetch: Fetch, streams: dict[str, Stream], seen: set[str], top_read: Mapping[str, int]
    ) -> Iterator[Page]:
        """One newest-first stream's pages, each with the whole cursor after it."""
        walk = walk_newest_first(fetch, streams.get(key, Stream()), seen, normalize_page, self.max_pages)
        for posts, rejected, after in walk:
            streams[key] = after
            yield Page(posts, _snapshot(streams, top_read), rejected=rejected)

    def _hashtag_id(self, tag: str, refused: list[str]) -> str | None:
        now = self._clock()
        claim = self.ledger.claim(self.account_id, tag, now)
        if not claim.granted:
            frees = claim.frees_at.isoformat(timespec="minutes") if claim.frees_at else "later"
            refused.append(
                f"#{tag} not searched: the Instagram account {self.account_id} has searched "
                f"{claim.used} unique hashtags in the last 7 days (Meta allows {HASHTAG_LIMIT}); "
                f"the next slot frees up at {frees}"
            )
            log.warning("instagram: %s", refused[-1])
            return None
        if claim.hashtag_id is not None:
            return claim.hashtag_id
        answer = self.client.get("ig_hashtag_search", {"user_id": self.account_id, "q": tag}, units=1)
        found = [str(d.get("id")) for d in graph_items(answer) if isinstance(d.get("id"), str | int)]
        if not found:
            raise CollectorError(f"Instagram found no hashtag #{tag}")
        self.ledger.remember(self.account_id, tag, found[0])
        return found[0]

    def _edge(self, path: str, hashtag: bool) -> Fetch:
        def fetch(after: str | None) -> Mapping[str, Any]:
            params: dict[str, str | int] = {"fields": MEDIA_FIELDS, "limit": self.page_size}
            if hashtag:
                params["user_id"] = self.account_id
            else:
                params["fields"] = MEDIA_FIELDS + ",username"
            if after:
                params["after"] = after
            return self.client.get(path, params)

        return fetch

    # ----------------------------------------------------------------------- rights requests

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]:
        """The request as the brand's comment on a media whose caption @mentions it
        (`POST /{ig-user-id}/mentions` with `media_id` and `message`).

        Meta allows a comment only there: on hashtag media (and media the brand is only tagged in)
        the API refuses, and the request is the coordinator's to paste (Tesoro asks through the API
        only for media that mention the brand). The comment's id is the reply's; Meta gives no link.
        """
        if not _MEDIA_ID.fullmatch(post_external_id):
            raise CollectorError(f"{post_external_id!r} is not an Instagram media id")
        answer = self.client.post(
            f"{self.account_id}/mentions", {"media_id": post_external_id, "message": text}
        )
        comment_id = _id(answer.get("id"))
        if comment_id is None:
            raise CollectorError("Instagram answered the comment without its id")
        return comment_id, None

    def fetch_replies(self, *, post_external_id: str, reply_id: str) -> list[ThreadReply]:
        """The replies under Tesoro's comment (`GET /{ig-comment-id}/replies`, every page); a comment
        Meta no longer has (the media deleted) has none."""
        out: list[ThreadReply] = []
        after: str | None = None
        for _ in range(20):  # at most 1,000 replies: a request's thread is a handful
            params: dict[str, str | int] = {"fields": "id,text,username,timestamp", "limit": 50}
            if after is not None:
                params["after"] = after
            try:
                answer = self.client.get(f"{reply_id}/replies", params)
            except GraphError as exc:
                if exc.code == 100:  # "does not exist": the comment went with its media
                    return out
                raise
            for item in graph_items(answer):
                comment_id, username = _id(item.get("id")), _str(item.get("username"))
                if comment_id is None or username is None:
                    continue
                out.append(
                    ThreadReply(
                        external_id=comment_id,
                        author_external_id=username,
                        author_handle=username,
                        text=_str(item.get("text")) or "",
                        created_at=parse_graph_time(item.get("timestamp")),
                    )
                )
            after = next_after(answer)
            if after is None:
                break
        return out

    # ----------------------------------------------------------------------- mentions

    def mentioned_media(self, media_id: str) -> Page:
        """One media that @mentions the account (from a `mentions` webhook), as a page without cursor."""
        if not re.fullmatch(r"\d{1,30}", media_id):
            raise CollectorError(f"not an Instagram media id: {media_id[:40]!r}")
        inner = MEDIA_FIELDS + ",username"
        answer = self.client.get(
            self.account_id, {"fields": f"mentioned_media.media_id({media_id}){{{inner}}}"}
        )
        media = answer.get("mentioned_media")
        posts, rejected = normalize_page([media] if isinstance(media, Mapping) else [], set())
        if not posts and not rejected:
            raise CollectorError(f"Instagram answered without the mentioned media {media_id}")
        return Page(posts, {}, rejected=rejected)


def _snapshot(streams: Mapping[str, Stream], top_read: Mapping[str, int]) -> Cursor:
    return {
        "v": CURSOR_VERSION,
        "streams": {k: s.to_json() for k, s in streams.items()},
        "top": dict(top_read),
    }


def graph_items(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = answer.get("data")
    if not isinstance(data, list):
        raise CollectorError(f"the Graph API answered without a data list: {str(answer)[:200]!r}")
    return [item for item in data if isinstance(item, Mapping)]


def next_after(answer: Mapping[str, Any]) -> str | None:
    """Meta's cursor for the next page, only while `paging.next` says there is one."""
    paging = answer.get("paging")
    if not isinstance(paging, Mapping) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, Mapping) else None
    return after if isinstance(after, str) and after else None


# --------------------------------------------------------------------------- normalization

_MALFORMED = "malformed Instagram media: no id or timestamp"
_TYPES = {"IMAGE": MediaType.PHOTO, "VIDEO": MediaType.VIDEO}


def normalize_page(
    items: Sequence[Mapping[str, Any]], seen: set[str]
) -> tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...]]:
    posts: list[NormalizedPost] = []
    rejected: list[RejectedItem] = []
    for item in items:
        got = normalize_guarded(
            Platform.INSTAGRAM, item, item.get("id"), partial(normalize_media, item), _MALFORMED
        )
        if isinstance(got, RejectedItem):
            rejected.append(got)
        elif got.external_id not in seen:
            seen.add(got.external_id)
            posts.append(got)
    return tuple(posts), tuple(rejected)


def parse_graph_time(value: Any) -> datetime | None:
    """Meta's `2026-12-07T12:00:00+0000` (or ISO 8601) as an aware UTC datetime."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S%z",):
        try:
            return datetime.strptime(value, pattern).astimezone(UTC)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def normalize_media(item: Mapping[str, Any]) -> NormalizedPost | None:
    """One IG Media object as a post; None without an id or a timestamp."""
    media_id = _id(item.get("id"))
    created = parse_graph_time(item.get("timestamp"))
    if media_id is None or created is None:
        return None
    caption = _str(item.get("caption")) or ""
    username = _str(item.get("username"))
    if username:
        author = NormalizedAuthor(
            platform=Platform.INSTAGRAM,
            external_id=username,
            handle=username,
            profile_url=f"https://www.instagram.com/{username}/",
        )
    else:  # hashtag media: Meta does not say whose it is
        author = NormalizedAuthor(
            platform=Platform.INSTAGRAM,
            external_id=f"{UNKNOWN_OWNER}{media_id}",
            handle=f"ig-media-{media_id}",
        )
    return NormalizedPost(
        platform=Platform.INSTAGRAM,
        external_id=media_id,
        text=caption,
        created_at=created,
        author=author,
        url=_str(item.get("permalink")),
        media=_media(item),
        metrics=PostMetrics(likes=_count(item.get("like_count")), replies=_count(item.get("comments_count"))),
        hashtags=tuple(dict.fromkeys(t.casefold() for t in _TAG.findall(caption))),
        mentions=tuple(dict.fromkeys(m.casefold().rstrip(".") for m in _MENTION.findall(caption))),
    )


def _media(item: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    kind = _str(item.get("media_type"))
    if kind == "CAROUSEL_ALBUM":
        children = item.get("children")
        data = children.get("data") if isinstance(children, Mapping) else None
        parts = [c for c in data if isinstance(c, Mapping)] if isinstance(data, list) else []
        return tuple(m for m in map(_one, parts) if m is not None)
    one = _one(item)
    return (one,) if one is not None else ()


def _one(item: Mapping[str, Any]) -> NormalizedMedia | None:
    media_type = _TYPES.get(_str(item.get("media_type")) or "")
    url = _str(item.get("media_url"))
    if media_type is None or not url:  # a video with copyrighted music comes without media_url
        return None
    return NormalizedMedia(type=media_type, url=url, preview_url=_str(item.get("thumbnail_url")))


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if text.isdigit() and len(text) <= 40 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
