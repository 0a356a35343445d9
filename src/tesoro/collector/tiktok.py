"""TikTok adapter: the Research API video query, through Tesoro's small httpx client (`tiktok_api`).

The listening query becomes the API's structured query: every positive word, phrase or @mention
that covers the query goes into one `keyword IN [...]` condition and every #hashtag into one
`hashtag_name IN [...]`, joined by `or` (broader than the query; Tesoro re-checks each video).

The API searches by creation date in windows of at most 30 days (`start_date`..`end_date`, UTC days,
both inclusive) and pages a search by `cursor` and `search_id`. A run walks the windows from the
cursor's `since` day to today, one page per `Page`:

    idle:     {"since": D}
    mid-run:  {"since": D, "end": E, "search_id": S, "cursor": N}   (the window D..E, at offset N)

A window finished before today moves `since` past it; the run ends with `since` = yesterday, because
TikTok indexes videos with a delay and the last day is searched again (stored videos are updated,
never duplicated). A saved `search_id` TikTok no longer knows restarts that window.

Budget: every query is one of the Research API's 1,000 requests a day, charged to `self.spend`
before it is sent; when they are spent the source waits for 00:00 UTC.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tesoro.collector.base import CollectorError, Spend
from tesoro.collector.boundary import normalize_items
from tesoro.collector.payload import as_int, as_list, as_str
from tesoro.collector.tiktok_api import TIKTOK_API, InvalidParams, ResearchClient
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
)
from tesoro.text.query import parse
from tesoro.text.query.broaden import cover_of, nnf
from tesoro.text.query.nodes import Hashtag, Mention, Node, Phrase, Term

__all__ = ["DAILY_REQUESTS", "FIELDS", "MAX_WINDOW_DAYS", "TikTokCollector", "normalize_video", "to_tiktok"]

log = logging.getLogger(__name__)

DAILY_REQUESTS = 1_000
MAX_WINDOW_DAYS = 30
MAX_COUNT = 100
FIELDS = (
    "id",
    "video_description",
    "create_time",
    "region_code",
    "share_count",
    "view_count",
    "like_count",
    "comment_count",
    "hashtag_names",
    "username",
    "video_duration",
)
_MALFORMED = "malformed video: no id, create_time or username"


def to_tiktok(node: Node) -> dict[str, Any]:
    """The Research API `query` that finds every video the Tesoro query matches (and more)."""
    atoms = cover_of(nnf(node))
    if not atoms:
        raise CollectorError(
            "TikTok cannot search for this query: it needs at least one word, phrase, #hashtag or @mention "
            "that is not excluded"
        )
    keywords: list[str] = []
    hashtags: list[str] = []
    for atom in atoms:
        match atom:
            case Term(text=text) | Phrase(text=text):
                keywords.append(text)
            case Hashtag(name=name):
                hashtags.append(name.casefold())
            case Mention(handle=handle):
                keywords.append(handle.split("@", 1)[0])
    conditions = []
    if keywords:
        values = list(dict.fromkeys(keywords))
        conditions.append({"operation": "IN", "field_name": "keyword", "field_values": values})
    if hashtags:
        values = list(dict.fromkeys(hashtags))
        conditions.append({"operation": "IN", "field_name": "hashtag_name", "field_values": values})
    return {"or": conditions}


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 8 or not value.isdigit():
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


def _text(day: date) -> str:
    return day.strftime("%Y%m%d")


@dataclass(frozen=True, slots=True)
class _Position:
    since: date
    end: date | None = None
    search_id: str | None = None
    offset: int = 0

    def to_cursor(self) -> Cursor:
        if self.end is None or self.search_id is None:
            return {"since": _text(self.since)}
        return {
            "since": _text(self.since),
            "end": _text(self.end),
            "search_id": self.search_id,
            "cursor": self.offset,
        }


class TikTokCollector:
    """Collects TikTok videos matching a Tesoro query from the Research API."""

    platform: Platform = Platform.TIKTOK

    def __init__(
        self,
        *,
        query: str,
        client_key: str,
        client_secret: str,
        base_url: str = TIKTOK_API,
        page_size: int = MAX_COUNT,
        max_pages: int | None = None,
        timeout_s: float = 15.0,
        lookback_days: int = 7,
        today: Callable[[], date] | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_COUNT:
            raise ValueError(f"page_size must be between 1 and {MAX_COUNT} for TikTok, got {page_size}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        if lookback_days < 0:
            raise ValueError(f"lookback_days must not be negative, got {lookback_days}")
        self.query = to_tiktok(parse(query))
        self.page_size = page_size
        self.max_pages = max_pages
        self.lookback_days = lookback_days
        self.spend = Spend()
        self._today: Callable[[], date] = today or (lambda: datetime.now(UTC).date())
        self.client = ResearchClient(
            client_key=client_key, client_secret=client_secret, base_url=base_url, timeout_s=timeout_s
        )

    def _position(self, cursor: Cursor | None, today: date) -> _Position:
        since = _day((cursor or {}).get("since")) or today - timedelta(days=self.lookback_days)
        since = min(since, today)
        end = _day((cursor or {}).get("end"))
        search_id = as_str((cursor or {}).get("search_id"))
        offset = as_int((cursor or {}).get("cursor"))
        if end is None or not search_id or offset is None or offset < 0 or end < since:
            return _Position(since)
        return _Position(since, end, search_id, offset)

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        today = self._today()
        position = self._position(cursor, today)
        fetched = 0
        while True:
            end = position.end or min(position.since + timedelta(days=MAX_WINDOW_DAYS - 1), today)
            self.spend.charge(1)
            try:
                answer = self.client.query_videos(
                    query=self.query,
                    start=position.since,
                    end=end,
                    fields=FIELDS,
                    max_count=self.page_size,
                    cursor=position.offset if position.search_id else None,
                    search_id=position.search_id,
                )
            except InvalidParams:
                if position.search_id is None:
                    raise
                log.warning(
                    "TikTok no longer knows search %s; searching %s again", position.search_id, position.since
                )
                position = _Position(position.since)
                continue
            posts, rejected = _normalize_page(answer.videos)
            if answer.has_more and answer.search_id:
                position = _Position(position.since, end, answer.search_id, answer.cursor)
                done = False
            elif end < today:
                position = _Position(end + timedelta(days=1))
                done = False
            else:
                position = _Position(today - timedelta(days=1))
                done = True
            fetched += 1
            yield Page(posts, position.to_cursor(), rejected=rejected)
            if done or (self.max_pages is not None and fetched >= self.max_pages):
                return


def _normalize_page(videos: list[Any]) -> tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...]]:
    return normalize_items(
        Platform.TIKTOK,
        videos,
        id_key="id",
        normalize=normalize_video,
        malformed=_MALFORMED,
        not_an_object="not a video object",
    )


def _video_id(value: Any) -> str | None:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    return text if text.isdigit() and len(text) <= 20 else None


_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")


def _hashtags(video: Mapping[str, Any]) -> tuple[str, ...]:
    """`hashtag_names`, then any other #tag of the description (the API lists only some)."""
    named = [t for t in as_list(video.get("hashtag_names")) if isinstance(t, str) and t]
    written = _HASHTAG.findall(as_str(video.get("video_description")) or "")
    return tuple(dict.fromkeys(t.casefold() for t in (*named, *written)))


def normalize_video(video: Mapping[str, Any]) -> NormalizedPost | None:
    """One Research API video as a NormalizedPost; None when it has no id, time or author."""
    video_id = _video_id(video.get("id"))
    created = as_int(video.get("create_time"))
    username = as_str(video.get("username"))
    if video_id is None or created is None or not username:
        log.warning("skipping malformed TikTok video %r", video.get("id"))
        return None
    try:
        created_at = datetime.fromtimestamp(created, tz=UTC)
    except (OverflowError, OSError, ValueError):
        log.warning("skipping TikTok video %s: create_time %r is not a time", video_id, created)
        return None
    page = f"https://www.tiktok.com/@{username}/video/{video_id}"
    duration = as_int(video.get("video_duration"))
    return NormalizedPost(
        platform=Platform.TIKTOK,
        external_id=video_id,
        text=as_str(video.get("video_description")) or "",
        created_at=created_at,
        author=NormalizedAuthor(
            platform=Platform.TIKTOK,
            external_id=username,
            handle=username,
            profile_url=f"https://www.tiktok.com/@{username}",
        ),
        url=page,
        media=(
            NormalizedMedia(
                type=MediaType.VIDEO, url=page, duration_ms=duration * 1000 if duration is not None else None
            ),
        ),
        metrics=PostMetrics(
            likes=as_int(video.get("like_count")) or 0,
            reposts=as_int(video.get("share_count")) or 0,
            replies=as_int(video.get("comment_count")) or 0,
            views=as_int(video.get("view_count")),
        ),
        hashtags=_hashtags(video),
    )
