"""TikTok brand mentions: the videos that mention the brand's business account, from TikTok API for Business.

A source of platform `tiktok` with an `account_id` (the brand's TikTok `business_id`) collects through
this adapter instead of the Research API: it lists the account's mentions (`tiktok_business_api`),
newest first, over the last `lookback_days` days (TikTok serves at most the top 1,000), and stops
paging once it reaches videos created a day before the newest one of the last finished run (TikTok
indexes mentions with a delay, so the last day is read again; stored videos are updated, never
duplicated). One page per `Page`:

    idle:     {"since": T}                          (T: the newest create_time stored, Unix seconds)
    mid-run:  {"since": T, "top": N, "offset": C}   (N: the newest seen this run; C: TikTok's cursor)

The video ids are TikTok's item ids, the same the Research API serves, so a video found by both sources
is one post. The mentions API has no daily request budget that TikTok documents publicly; each request
is still counted in `self.spend` (calls), and a 40100 answer parks the source for a minute.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tesoro.collector.base import Spend, TokenExpiry
from tesoro.collector.boundary import normalize_items
from tesoro.collector.payload import as_int, as_str
from tesoro.collector.tiktok_business_api import BUSINESS_API, BusinessClient, TokenKeeper
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

__all__ = ["MAX_COUNT", "MENTION_FIELDS", "TikTokMentionsCollector", "normalize_mention"]

log = logging.getLogger(__name__)

MAX_COUNT = 100
OVERLAP_S = 86_400
MENTION_FIELDS = (
    "item_id",
    "create_time",
    "video_link",
    "caption",
    "likes",
    "comments",
    "shares",
    "views",
    "thumbnail_url",
    "creator_handle_name",
)
_MALFORMED = "malformed mention: no item_id, create_time or creator_handle_name"
_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_HANDLE = re.compile(r"^[\w.]{1,64}$")


@dataclass(frozen=True, slots=True)
class _Position:
    since: int | None
    top: int | None = None
    offset: int = 0

    def to_cursor(self) -> Cursor:
        if self.offset <= 0:
            return {} if self.since is None else {"since": self.since}
        cursor: Cursor = {"offset": self.offset}
        if self.since is not None:
            cursor["since"] = self.since
        if self.top is not None:
            cursor["top"] = self.top
        return cursor


def _position(cursor: Cursor | None) -> _Position:
    raw = cursor or {}
    since, top, offset = as_int(raw.get("since")), as_int(raw.get("top")), as_int(raw.get("offset"))
    since = since if since is not None and since > 0 else None
    if offset is None or offset <= 0:
        return _Position(since)
    return _Position(since, top if top is not None and top > 0 else None, offset)


class TikTokMentionsCollector:
    """Collects the TikTok videos that mention a brand's business account (TikTok API for Business)."""

    platform: Platform = Platform.TIKTOK

    def __init__(
        self,
        *,
        access_token: str,
        business_id: str,
        app_id: str | None = None,
        app_secret: str | None = None,
        refresh_token: str | None = None,
        base_url: str = BUSINESS_API,
        page_size: int = MAX_COUNT,
        max_pages: int | None = None,
        timeout_s: float = 15.0,
        lookback_days: int = 7,
        keeper: TokenKeeper | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_COUNT:
            raise ValueError(
                f"page_size must be between 1 and {MAX_COUNT} for TikTok mentions, got {page_size}"
            )
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        if lookback_days < 1:
            raise ValueError(f"lookback_days must be at least 1, got {lookback_days}")
        if not business_id.strip():
            raise ValueError("a TikTok mentions source needs the brand's business_id")
        self.page_size = page_size
        self.max_pages = max_pages
        self.lookback_days = lookback_days
        self.spend = Spend()
        self.client = BusinessClient(
            access_token=access_token,
            business_id=business_id.strip(),
            app_id=app_id,
            app_secret=app_secret,
            refresh_token=refresh_token,
            base_url=base_url,
            timeout_s=timeout_s,
            keeper=keeper,
        )

    @property
    def token_expiry(self) -> TokenExpiry | None:
        """When the token this run used expires: known once Tesoro renewed it (TikTok said then)."""
        return self.client.token_expiry

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        position = _position(cursor)
        stop_at = position.since - OVERLAP_S if position.since is not None else None
        fetched = 0
        while True:
            self.spend.charge(1)
            answer = self.client.mention_videos(
                fields=MENTION_FIELDS,
                number_of_days=self.lookback_days,
                max_count=self.page_size,
                cursor=position.offset,
            )
            posts, rejected = _normalize_page(answer.videos)
            times = [int(p.created_at.timestamp()) for p in posts]
            top = max([t for t in (position.top, *times) if t is not None], default=None)
            reached_known = stop_at is not None and any(t < stop_at for t in times)
            done = not answer.has_more or reached_known or answer.cursor <= position.offset
            if done:
                newest = max([t for t in (position.since, top) if t is not None], default=None)
                position = _Position(newest)
            else:
                position = _Position(position.since, top, answer.cursor)
            fetched += 1
            yield Page(posts, position.to_cursor(), rejected=rejected)
            if done or (self.max_pages is not None and fetched >= self.max_pages):
                return


def _normalize_page(videos: list[Any]) -> tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...]]:
    return normalize_items(
        Platform.TIKTOK,
        videos,
        id_key="item_id",
        normalize=normalize_mention,
        malformed=_MALFORMED,
        not_an_object="not a mention object",
    )


def _digits(value: Any, *, longest: int) -> int | None:
    """An integer TikTok may send as a number or as a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= longest:
        return int(value)
    return None


def _count(value: Any) -> int:
    number = _digits(value, longest=18)
    return number if number is not None else 0


def normalize_mention(video: Mapping[str, Any]) -> NormalizedPost | None:
    """One mention video as a NormalizedPost; None when it has no id, time or author."""
    item = _digits(video.get("item_id"), longest=20)
    created = _digits(video.get("create_time"), longest=12)
    handle = (as_str(video.get("creator_handle_name")) or "").lstrip("@")
    if item is None or created is None or not _HANDLE.match(handle):
        log.warning("skipping malformed TikTok mention %r", video.get("item_id"))
        return None
    video_id = str(item)
    try:
        created_at = datetime.fromtimestamp(created, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    page = f"https://www.tiktok.com/@{handle}/video/{video_id}"
    link = as_str(video.get("video_link")) or ""
    url = link if link.startswith("https://www.tiktok.com/") else page
    thumbnail = as_str(video.get("thumbnail_url"))
    caption = as_str(video.get("caption")) or ""
    views = _digits(video.get("views"), longest=18)
    return NormalizedPost(
        platform=Platform.TIKTOK,
        external_id=video_id,
        text=caption,
        created_at=created_at,
        author=NormalizedAuthor(
            platform=Platform.TIKTOK,
            external_id=handle,
            handle=handle,
            profile_url=f"https://www.tiktok.com/@{handle}",
        ),
        url=url,
        media=(
            NormalizedMedia(
                type=MediaType.VIDEO,
                url=url,
                preview_url=thumbnail
                if thumbnail and thumbnail.startswith(("https://", "http://"))
                else None,
            ),
        ),
        metrics=PostMetrics(
            likes=_count(video.get("likes")),
            reposts=_count(video.get("shares")),
            replies=_count(video.get("comments")),
            views=views,
        ),
        hashtags=tuple(dict.fromkeys(t.casefold() for t in _HASHTAG.findall(caption))),
    )
