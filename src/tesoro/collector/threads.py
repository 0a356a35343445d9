"""Threads adapter: keyword search for the listening query, and the brand profile's mentions.

Through the Threads API (`graph.threads.net/v1.0`) with `instagram_client.GraphClient`:

- **search**: Threads' keyword search has no Boolean operators, so the query is reduced to a
  cover (as for Mastodon: positive terms, one of which every match contains), and each term,
  phrase or hashtag name is one `GET /keyword_search?q=&search_type=RECENT` stream; the runner's
  local re-check removes the extras. Each query that finds something costs one of the user's
  2,200 a rolling 24 hours (`spend.units`).
- **mentions**: `GET /{threads-user-id}/mentions` (needs `threads_manage_mentions`).
- **token**: each run asks `GET /debug_token` when the token expires (`token_expiry`), so the
  source's health and the `coverage_lost` alert warn before a 60-day token lapses.

Both page newest first by Meta's cursors; the cursor of each stream is the one
`collector.instagram` keeps (`{"mark": T}` between runs, `{"mark", "pass": {"newest", "after"}}`
mid-pass), so a run killed at any point resumes at the page after the last one stored.

Search results carry no like, reply or follower counts (Meta gives those only to a post's owner,
through insights), so a Threads post's metrics are zero and its engagement rate is left empty.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from tesoro.collector.base import Spend, TokenExpiry
from tesoro.collector.boundary import normalize_guarded
from tesoro.collector.instagram import (
    Fetch,
    Stream,
    parse_graph_time,
    walk_newest_first,
)
from tesoro.collector.instagram_client import GraphClient
from tesoro.models import (
    Cursor,
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Page,
    Platform,
    RejectedItem,
)
from tesoro.text import query as tesoro_query
from tesoro.text.query.broaden import cover_of, nnf
from tesoro.text.query.errors import QueryCompileError
from tesoro.text.query.nodes import Hashtag, Mention, Phrase, Term

__all__ = ["THREADS_API", "ThreadsCollector", "keywords_of_query", "normalize_thread"]

log = logging.getLogger(__name__)

THREADS_API = "https://graph.threads.net/v1.0"
CURSOR_VERSION = 1
MAX_PAGE_SIZE = 100
FIELDS = (
    "id,text,media_type,media_url,thumbnail_url,permalink,timestamp,username,shortcode,"
    "is_reply,is_quote_post,children{id,media_type,media_url,thumbnail_url}"
)
RENEW = (
    "Renew it: refresh the long-lived Threads token (GET /refresh_access_token?grant_type=th_refresh_token) "
    "before its 60 days run out, or have the brand's Threads account log in to the app again; put the new "
    "token in the environment variable the source names (docs/threads.md)"
)
_TAG = re.compile(r"(?<![\w/#])#(\w+)", re.UNICODE)
_MENTION = re.compile(r"(?<![\w/@])@([A-Za-z0-9_.]+)")
_TYPES = {"IMAGE": MediaType.PHOTO, "VIDEO": MediaType.VIDEO}


def keywords_of_query(query: str) -> tuple[str, ...]:
    """The keyword searches that together find every match of `query` (see the module docstring)."""
    node = tesoro_query.parse(query)
    cover = cover_of(nnf(node))
    if cover is None:
        raise QueryCompileError(
            "Threads cannot collect this query: every alternative needs a term, phrase, #hashtag or "
            "@mention that is not excluded"
        )
    words: list[str] = []
    for atom in cover:
        if isinstance(atom, Term | Phrase):
            words.append(atom.text)
        elif isinstance(atom, Hashtag):
            words.append(atom.name)
        elif isinstance(atom, Mention):
            words.append(atom.handle)
    return tuple(dict.fromkeys(w.casefold() for w in words if w.strip()))


class ThreadsCollector:
    """Collects Threads posts that match a query, and those that mention the brand's profile."""

    platform: Platform = Platform.THREADS

    def __init__(
        self,
        *,
        query: str,
        access_token: str,
        account_id: str,
        include_mentions: bool = True,
        base_url: str = THREADS_API,
        page_size: int = 25,
        max_pages: int | None = None,
        timeout_s: float = 20.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not account_id.strip():
            raise ValueError("a Threads source needs the brand's Threads user id (account_id)")
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        self.keywords = keywords_of_query(query) if query else ()
        self.account_id = account_id.strip()
        self.include_mentions = include_mentions
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self.max_pages = max_pages
        # Units: keyword queries (Meta's 2,200 a rolling day); calls: every request.
        self.spend = Spend()
        self.token_expiry: TokenExpiry | None = None
        self.client = GraphClient(
            base_url=base_url,
            access_token=access_token,
            name="Threads",
            renew=RENEW,
            timeout_s=timeout_s,
            spend=self.spend,
            clock=clock,
        )

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        # When the token expires (the Threads host's own debug_token, one call a run), for the source's
        # health and the coverage alert: a long-lived Threads token lasts 60 days unless refreshed.
        self.token_expiry = self.client.token_expiry()
        saved = (cursor or {}).get("streams")
        saved = saved if isinstance(saved, Mapping) else {}
        streams = {k: Stream.from_json(v) for k, v in saved.items() if isinstance(k, str)}
        seen: set[str] = set()
        fetchers: dict[str, Fetch] = {f"search:{w}": self._search(w) for w in self.keywords}
        if self.include_mentions:
            fetchers["mentions"] = self._edge(f"{self.account_id}/mentions", {}, units=0)
        for key, fetch in fetchers.items():
            walk = walk_newest_first(fetch, streams.get(key, Stream()), seen, normalize_page, self.max_pages)
            for posts, rejected, state in walk:
                streams[key] = state
                yield Page(
                    posts,
                    {"v": CURSOR_VERSION, "streams": {k: s.to_json() for k, s in streams.items()}},
                    rejected=rejected,
                )

    def _search(self, keyword: str) -> Fetch:
        return self._edge("keyword_search", {"q": keyword, "search_type": "RECENT"}, units=1)

    def _edge(self, path: str, extra: Mapping[str, str], *, units: int) -> Fetch:
        def fetch(after: str | None) -> Mapping[str, Any]:
            params: dict[str, str | int] = {**extra, "fields": FIELDS, "limit": self.page_size}
            if after:
                params["after"] = after
            return self.client.get(path, params, units=units)

        return fetch


_MALFORMED = "malformed Threads post: no id, timestamp or username"


def normalize_page(
    items: Sequence[Mapping[str, Any]], seen: set[str]
) -> tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...]]:
    posts: list[NormalizedPost] = []
    rejected: list[RejectedItem] = []
    for item in items:
        if item.get("media_type") == "REPOST_FACADE":  # a repost: the original is collected where it matches
            continue
        got = normalize_guarded(
            Platform.THREADS, item, item.get("id"), partial(normalize_thread, item), _MALFORMED
        )
        if isinstance(got, RejectedItem):
            rejected.append(got)
        elif got.external_id not in seen:
            seen.add(got.external_id)
            posts.append(got)
    return tuple(posts), tuple(rejected)


def normalize_thread(item: Mapping[str, Any]) -> NormalizedPost | None:
    """One Threads media object as a post; None without an id, a timestamp or a username."""
    raw_id = item.get("id")
    post_id = str(raw_id).strip() if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else ""
    created = parse_graph_time(item.get("timestamp"))
    username = item.get("username")
    if not post_id.isdigit() or len(post_id) > 40 or created is None or not isinstance(username, str):
        return None
    if not username.strip():
        return None
    text = item.get("text") if isinstance(item.get("text"), str) else ""
    assert isinstance(text, str)
    return NormalizedPost(
        platform=Platform.THREADS,
        external_id=post_id,
        text=text,
        created_at=created,
        author=NormalizedAuthor(
            platform=Platform.THREADS,
            external_id=username,
            handle=username,
            profile_url=f"https://www.threads.net/@{username}",
        ),
        url=item.get("permalink") if isinstance(item.get("permalink"), str) else None,
        media=_media(item),
        hashtags=tuple(dict.fromkeys(t.casefold() for t in _TAG.findall(text))),
        mentions=tuple(dict.fromkeys(m.casefold().rstrip(".") for m in _MENTION.findall(text))),
    )


def _media(item: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    if item.get("media_type") == "CAROUSEL_ALBUM":
        children = item.get("children")
        data = children.get("data") if isinstance(children, Mapping) else None
        parts = [c for c in data if isinstance(c, Mapping)] if isinstance(data, list) else []
    else:
        parts = [item]
    found: list[NormalizedMedia] = []
    for part in parts:
        kind = _TYPES.get(str(part.get("media_type")))
        url = part.get("media_url")
        if kind is not None and isinstance(url, str) and url:
            thumb = part.get("thumbnail_url")
            found.append(NormalizedMedia(kind, url, thumb if isinstance(thumb, str) else None))
    return tuple(found)
