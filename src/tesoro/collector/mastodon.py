"""Mastodon adapter: hashtag timelines and full-text search through Mastodon.py.

Mastodon has no Boolean search, so `query.to_mastodon` reduces the Tesoro query to
hashtag timelines and searches that together cover every match; each is a
*stream* here, read one after the other, and the runner's local re-check removes
the extras. A status found by several streams is emitted once per run.

Incremental and crash-safe
--------------------------
Every stream pages newest first, bounded below by the newest status it stored
last time (`since_id` for a timeline, `min_id` for search: both are "newer than"
filters applied by the server) and walking down with `max_id`. That walk is a
*pass*; a stream's cursor says where it stands::

    idle:     {"newest": M}
    mid-pass: {"newest": M, "pass": {"newest": N, "max_id": P, "floor": F}}
    done:     {"newest": N}

`M` is the newest status id stored before the pass (None before the first run),
`N` the newest id of this pass, `P` the oldest id handed out so far (the next page
is everything older than `P` and newer than `M`), and `F` (first pass only) the
epoch time below which the initial backfill stops. `N` replaces `M` only when a
page comes back empty (or reaches `M` or `F`), so a crash or a retry resumes at
`P` with nothing lost or repeated; statuses published meanwhile sit above `N`
and belong to the next pass. `max_pages` ends a run mid-pass; the next run
finishes that pass first.

Streams overlap (a status with the hashtag and two search words comes back three
times), so a fetch of 40 statuses often brings only a handful of new ones. The
new posts of several fetches are handed to the runner as one page
(`collector.base.coalesce_pages`: at least `store_batch` posts, or after
`store_fetches` fetches) with the cursor after the last of them.

The whole cursor is `{"v": 1, "streams": {"tag:<name>" | "search:<q>": stream}}`.
Status ids are compared as (length, string), which orders Mastodon's numeric
snowflakes and the fixed-width flake ids of other Fediverse servers alike.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlparse

import requests
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
    MastodonVersionError,
)

from tesoro.collector.base import (
    AuthFailed,
    CollectorError,
    RateLimited,
    ThreadReply,
    TransientError,
    coalesce_pages,
)
from tesoro.collector.boundary import normalize_guarded
from tesoro.collector.payload import as_utc_datetime
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

__all__ = ["MAX_PAGE_SIZE", "MastodonCollector", "html_to_text", "normalize_page", "normalize_status"]

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
MAX_PAGE_SIZE = 40  # Mastodon's own cap for timelines and search
USER_AGENT = "tesoro/0.1 (social listening)"
# When a 429 says nothing usable about its reset, wait out Mastodon's 5-minute window.
_DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=5)
_MEDIA_TYPES = {"image": MediaType.PHOTO, "video": MediaType.VIDEO, "gifv": MediaType.GIF}

# --------------------------------------------------------------------------- HTML -> text


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment: tags dropped, entities decoded, breaks kept.

    Content of <script>/<style> is dropped too: a hostile server could send them, and
    their text was never meant to be read. A mention link (`<a class="u-url mention"
    href="https://server/@user">@user</a>`) is written as `@user@server`: Mastodon shows
    only `@user`, but the fully qualified form is what tells two people apart and what
    a `@user@server` query matches.
    """

    _PARAGRAPHS = frozenset({"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"})
    _LINES = frozenset({"br", "li", "tr"})
    _HIDDEN = frozenset({"script", "style", "template", "noscript", "iframe", "object"})
    _VOID = frozenset({"br", "img", "hr", "wbr", "input", "meta", "link", "source"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._anchors: list[bool] = []  # per open <a>: is its text replaced?
        self._quote_inline: list[str] = []  # open tags inside a `quote-inline` fallback, outermost first

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._quote_inline or "quote-inline" in (dict(attrs).get("class") or "").split():
            # Mastodon 4.5 starts a quote's content with `<p class="quote-inline">RE: <link></p>` for
            # clients that cannot show quotes; the quote is stored as a quote, the fallback is dropped.
            if tag not in self._VOID:
                self._quote_inline.append(tag)
            return
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag == "a":
            mention = _qualified_mention(dict(attrs))
            if mention and not self._hidden:
                self.parts.append(mention)
            self._anchors.append(mention is not None)
        elif tag in self._LINES:
            self.parts.append("\n")
        elif tag in self._PARAGRAPHS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if self._quote_inline:
            if tag in self._quote_inline:
                del self._quote_inline[len(self._quote_inline) - 1 - self._quote_inline[::-1].index(tag) :]
            return
        if tag in self._HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag == "a":
            if self._anchors:
                self._anchors.pop()
        elif tag in self._PARAGRAPHS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden and not any(self._anchors) and not self._quote_inline:
            self.parts.append(data)


def _qualified_mention(attrs: Mapping[str, str | None]) -> str | None:
    """`@user@server` for a Mastodon mention link, None for any other link."""
    classes = (attrs.get("class") or "").split()
    if "mention" not in classes or "hashtag" in classes:
        return None
    href = urlparse(attrs.get("href") or "")
    user = href.path.strip("/")
    if not href.hostname or not user.startswith("@") or "/" in user or len(user) < 2:
        return None
    return f"{user}@{href.hostname}"


def html_to_text(fragment: str) -> str:
    """Plain text of a status's HTML `content` (or an account's `note`).

    The result is text, not markup: `&lt;script&gt;` becomes the characters `<script>`,
    which the UI must escape again like any other post text. Mastodon's hidden link
    parts (`<span class="invisible">https://</span>`) are kept, so links come out whole.

    Fragments of up to `_CACHED_HTML` characters are converted once per process (a pure function of
    the string): an account's `note` comes with each of its statuses, and Python's HTML parser was the
    largest share of a Mastodon run's CPU in a profile (`bench/collect.py`).
    """
    if len(fragment) <= _CACHED_HTML:
        return _cached_html_to_text(fragment)
    return _html_to_text(fragment)


_CACHED_HTML = 2_000


@lru_cache(maxsize=4096)
def _cached_html_to_text(fragment: str) -> str:
    return _html_to_text(fragment)


def _html_to_text(fragment: str) -> str:
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    text = "".join(parser.parts).replace("\r\n", "\n").replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------- cursor


def _order(status_id: str) -> tuple[int, str]:
    return (len(status_id), status_id)


def _newer(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if _order(a) >= _order(b) else b


@dataclass(frozen=True, slots=True)
class _Stream:
    """One timeline's or search's position: see the module docstring for the states."""

    newest: str | None = None
    pass_newest: str | None = None
    max_id: str | None = None
    floor: float | None = None

    @property
    def in_pass(self) -> bool:
        return self.max_id is not None

    def finished(self) -> _Stream:
        return _Stream(_newer(self.newest, self.pass_newest))

    def to_json(self) -> dict[str, Any]:
        state: dict[str, Any] = {"newest": self.newest}
        if self.in_pass:
            state["pass"] = {"newest": self.pass_newest, "max_id": self.max_id, "floor": self.floor}
        return state

    @classmethod
    def from_json(cls, value: Any) -> _Stream:
        if not isinstance(value, Mapping):
            return cls()
        newest = _id(value.get("newest"))
        running = value.get("pass")
        if not isinstance(running, Mapping) or _id(running.get("max_id")) is None:
            return cls(newest)
        floor = running.get("floor")
        return cls(
            newest,
            _id(running.get("newest")),
            _id(running.get("max_id")),
            float(floor) if isinstance(floor, int | float) and not isinstance(floor, bool) else None,
        )


# Fetches one page of a stream: (newer_than, older_than, limit) -> statuses, newest first.
_Fetch = Callable[[str | None, str | None, int], Sequence[Mapping[str, Any]]]


# --------------------------------------------------------------------------- collector


class _Json(dict[str, Any]):
    """A JSON object that also reads its keys as attributes (Mastodon.py reads a few answers so)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _json(value: Any) -> Any:
    """The answer as sent; a top-level object becomes a `_Json`, on which Mastodon.py sets its
    pagination attributes. Nested objects stay plain dicts: Tesoro reads them as mappings, and
    rebuilding every one of them had become the largest share of the adapter's CPU."""
    return _Json(value) if isinstance(value, dict) else value


def _session(base_url: str) -> requests.Session:
    """A requests session that reads the environment's proxy and CA settings once, not on every call.

    requests looks up `HTTPS_PROXY`/`NO_PROXY` (walking the whole environment) and `.netrc` for each
    request it sends when `trust_env` is on: a sixth of a Mastodon run's CPU in bench/collect.py. The
    proxy that applies to the server's URL and a CA bundle named by `REQUESTS_CA_BUNDLE` or
    `CURL_CA_BUNDLE` are taken here instead, as requests would have taken them; `.netrc` is not read
    (the access token authenticates every call).
    """
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


class _PlainMastodon(Mastodon):
    """Mastodon.py without its conversion of every answer into typed objects.

    Mastodon.py 2 casts each answer, field by field, into its typed classes (and parses every date);
    profiled in bench/collect.py that was about 85% of a Mastodon run's CPU (13 CPU seconds per 1,000
    statuses). The adapter reads statuses as plain mappings and pages by ids itself, so it keeps the
    JSON as sent. The override has Mastodon.py's own (name-mangled) name for the method.
    """

    def _Mastodon__try_cast_to_type(self, value: Any, override_type: Any = None) -> tuple[Any, None]:
        return _json(value), None


class MastodonCollector:
    """Collects statuses matching a Tesoro query from one Mastodon server.

    `base_url` is the server's root (`https://mastodon.social`; for the simulator
    `{sim.base_url}/mastodon`). `page_size` above Mastodon's cap of 40 is lowered to
    40 so the same source settings work for every platform.
    """

    platform: Platform = Platform.MASTODON
    # One call per status (300 calls per 5 minutes): small batches lose little to a rate limit.
    lookup_batch: int = 10
    # New posts of several fetches are stored together: at least this many, or after this many fetches.
    store_batch: int = 100
    store_fetches: int = 8

    def __init__(
        self,
        *,
        query: str,
        access_token: str,
        base_url: str,
        page_size: int = MAX_PAGE_SIZE,
        max_pages: int | None = None,
        backfill: timedelta | None = timedelta(days=7),
        timeout_s: float = 20.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.plan = tesoro_query.to_mastodon(tesoro_query.parse(query))
        self.page_size = min(page_size, MAX_PAGE_SIZE)
        self.max_pages = max_pages
        self.backfill = backfill
        self._clock = clock
        self._api = _PlainMastodon(
            api_base_url=base_url.rstrip("/"),
            access_token=access_token,
            ratelimit_method="throw",
            request_timeout=timeout_s,
            user_agent=USER_AGENT,
            session=_session(base_url),
        )

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        """Each stream in turn, newest first from where its cursor stands; fetches joined (see above)."""
        return coalesce_pages(
            self._fetched_pages(cursor), at_least=self.store_batch, at_most_pages=self.store_fetches
        )

    def _fetched_pages(self, cursor: Cursor | None) -> Iterator[Page]:
        """A page per fetch, with the cursor of every stream after it."""
        streams = self._decode(cursor)
        self._learn_version()
        seen: set[str] = set()
        for key, fetch in self._fetchers().items():
            for posts, rejected, state in self._walk(fetch, streams[key], seen):
                streams[key] = state
                yield Page(
                    posts,
                    {"v": CURSOR_VERSION, "streams": {k: s.to_json() for k, s in streams.items()}},
                    rejected=rejected,
                )

    def _learn_version(self) -> None:
        """Ask the server's version up front (Mastodon.py caches it).

        Search's `min_id`/`max_id` need Mastodon 2.8+, and Mastodon.py silently assumes
        1.0.0 when it cannot ask, which would surface later as a misleading version error;
        asking first makes an unreachable or refusing server fail here with its real cause.
        A server without the v2 instance document (before Mastodon 4.0) is fine.
        """
        try:
            self._api.retrieve_mastodon_version(fail_hard=True)
        except MastodonVersionError as exc:  # it wraps every failure, with the real one as cause
            if not (isinstance(exc.__cause__, MastodonNotFoundError) and self._api.mastodon_major > 1):
                raise _failure(exc, self._api) from exc

    def _fetchers(self) -> dict[str, _Fetch]:
        fetchers: dict[str, _Fetch] = {}
        for tag in self.plan.hashtags:
            fetchers[f"tag:{tag.casefold()}"] = self._tag_fetcher(tag)
        for q in self.plan.search:
            fetchers[f"search:{q}"] = self._search_fetcher(q)
        return fetchers

    def _decode(self, cursor: Cursor | None) -> dict[str, _Stream]:
        saved = (cursor or {}).get("streams")
        saved = saved if isinstance(saved, Mapping) else {}
        return {key: _Stream.from_json(saved.get(key)) for key in self._fetchers()}

    def _tag_fetcher(self, tag: str) -> _Fetch:
        def fetch(newer_than: str | None, older_than: str | None, limit: int) -> Sequence[Mapping[str, Any]]:
            statuses = self._call(
                lambda: self._api.timeline_hashtag(tag, since_id=newer_than, max_id=older_than, limit=limit)
            )
            if not isinstance(statuses, list):
                raise TransientError(f"Mastodon's #{tag} timeline is not a list: {str(statuses)[:200]!r}")
            return statuses

        return fetch

    def _search_fetcher(self, q: str) -> _Fetch:
        def fetch(newer_than: str | None, older_than: str | None, limit: int) -> Sequence[Mapping[str, Any]]:
            result = self._call(
                lambda: self._api.search_v2(
                    q,
                    resolve=False,
                    result_type="statuses",
                    min_id=newer_than,
                    max_id=older_than,
                    limit=limit,
                )
            )
            statuses = result.get("statuses") if isinstance(result, Mapping) else None
            if not isinstance(statuses, list):
                raise TransientError(
                    f"Mastodon search answered without a statuses list: {str(result)[:200]!r}"
                )
            return statuses

        return fetch

    def _walk(
        self, fetch: _Fetch, state: _Stream, seen: set[str]
    ) -> Iterator[tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...], _Stream]]:
        """Pages of one stream from `state` until the pass ends or `max_pages` is spent."""
        if not state.in_pass and state.newest is None and self.backfill is not None:
            state = replace(state, floor=(self._clock() - self.backfill).timestamp())
        fetched = 0
        while True:
            statuses = [
                s for s in fetch(state.newest, state.max_id, self.page_size) if isinstance(s, Mapping)
            ]
            fetched += 1
            fresh, reached = _fresh(statuses, state)
            newest = max(_ids(fresh), key=_order, default=None)
            state = replace(state, pass_newest=state.pass_newest or newest)
            posts, rejected = normalize_page(fresh, seen)
            oldest = min(_ids(statuses), key=_order, default=None)
            if reached or oldest is None:
                yield posts, rejected, state.finished()
                return
            state = replace(state, max_id=oldest)
            yield posts, rejected, state
            if self.max_pages is not None and fetched >= self.max_pages:
                return

    def gone(self, external_ids: Sequence[str]) -> frozenset[str]:
        """Which of these statuses the instance no longer serves (`GET /api/v1/statuses/:id`, one a call).

        A 404 means deleted, or its author suspended; a 410 too. Rate limits and other failures raise
        (`_failure`): nothing is concluded from a call that failed.
        """
        gone: set[str] = set()
        for status_id in dict.fromkeys(external_ids):
            if _id(status_id) is None:
                continue
            try:
                self._api.status(status_id)
            except MastodonNotFoundError:
                gone.add(status_id)
            except MastodonAPIError as exc:
                if len(exc.args) > 1 and exc.args[1] == 410:
                    gone.add(status_id)
                    continue
                raise _failure(exc, self._api) from exc
            except MastodonError as exc:
                raise _failure(exc, self._api) from exc
        return frozenset(gone)

    # --- usage rights (`tesoro.collector.base.RightsChannel`) ---------------------------------------

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]:
        """Reply under a status (`POST /api/v1/statuses` with `in_reply_to_id`); the reply's id and URL."""
        status = self._call(lambda: self._api.status_post(text, in_reply_to_id=post_external_id))
        reply_id = _id(_mapping(status).get("id"))
        if reply_id is None:
            raise TransientError("the server answered the reply without an id")
        return reply_id, _str(_mapping(status).get("url"))

    def fetch_replies(self, *, post_external_id: str, reply_id: str) -> list[ThreadReply]:
        """Every reply under Tesoro's reply (`GET /api/v1/statuses/:id/context`, its descendants)."""
        context = self._call(lambda: self._api.status_context(reply_id))
        out: list[ThreadReply] = []
        for status in _mappings(_mapping(context).get("descendants")):
            account = _mapping(status.get("account"))
            status_id, account_id = _id(status.get("id")), _id(account.get("id"))
            if status_id is None or account_id is None:
                continue
            created = status.get("created_at")
            out.append(
                ThreadReply(
                    external_id=status_id,
                    author_external_id=account_id,
                    author_handle=_str(account.get("acct")),
                    text=html_to_text(str(status.get("content") or "")),
                    url=_str(status.get("url")),
                    created_at=as_utc_datetime(created),
                )
            )
        return out

    def _call(self, call: Callable[[], Any]) -> Any:
        """Runs one Mastodon.py call and translates its failures into the runner's vocabulary."""
        try:
            return call()
        except MastodonError as exc:
            raise _failure(exc, self._api) from exc


def _fresh(statuses: Sequence[Mapping[str, Any]], state: _Stream) -> tuple[list[Mapping[str, Any]], bool]:
    """The statuses above the stored mark and the backfill floor, and whether the page
    reached either (the server already filters by the mark; this guards against one that
    does not)."""
    fresh: list[Mapping[str, Any]] = []
    reached = False
    for status in statuses:
        status_id = _id(status.get("id"))
        if status_id is None:
            continue
        created = as_utc_datetime(status.get("created_at"))
        below_mark = state.newest is not None and _order(status_id) <= _order(state.newest)
        below_floor = state.floor is not None and created is not None and created.timestamp() < state.floor
        if below_mark or below_floor:
            reached = True
        else:
            fresh.append(status)
    return fresh, reached


def _ids(statuses: Sequence[Mapping[str, Any]]) -> list[str]:
    return [i for i in (_id(s.get("id")) for s in statuses) if i is not None]


def normalize_page(
    statuses: Sequence[Mapping[str, Any]], seen: set[str]
) -> tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...]]:
    """The new posts of a page, and the statuses that could not be used (quarantined with the page).

    A boost is no post of its own (its original is collected where it matches), so it is skipped,
    not refused."""
    posts: list[NormalizedPost] = []
    rejected: list[RejectedItem] = []
    for status in statuses:
        if status.get("reblog") or _id(status.get("id")) in seen:
            continue  # a status an earlier stream of the run already gave is not normalised again
        got = normalize_guarded(
            Platform.MASTODON, status, status.get("id"), partial(normalize_status, status), _MALFORMED
        )
        if isinstance(got, RejectedItem):
            rejected.append(got)
            continue
        if got.external_id in seen:
            continue
        seen.add(got.external_id)
        posts.append(got)
    return tuple(posts), tuple(rejected)


_MALFORMED = "malformed status: no id, created_at or account (with an id and a username)"


# --------------------------------------------------------------------------- errors


def _failure(exc: MastodonError, api: Mastodon) -> CollectorError:
    """The runner's error for a Mastodon.py error (see `collector.base`)."""
    if isinstance(exc, MastodonVersionError):
        # Raised by the version check with the real failure (network, 5xx, 401...) as cause.
        cause = exc.__cause__
        return _failure(cause, api) if isinstance(cause, MastodonError) else _config(exc)
    if isinstance(exc, MastodonRatelimitError):
        return RateLimited(f"Mastodon rate limit: {exc}", retry_at=_reset_at(api))
    if isinstance(exc, MastodonUnauthorizedError):
        return AuthFailed(f"Mastodon refused the access token: {exc}")
    if isinstance(exc, MastodonNetworkError | MastodonServerError):
        return TransientError(f"Mastodon request failed: {exc}")
    if isinstance(exc, MastodonAPIError):
        return _api_error(exc, api)
    return _config(exc)


def _api_error(exc: MastodonAPIError, api: Mastodon) -> CollectorError:
    """Other API errors carry the HTTP status as their second argument; an unreadable body
    (invalid JSON) carries none and is worth a retry."""
    status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
    if status is None or status == 408:
        return TransientError(f"Mastodon sent an unreadable answer: {exc}")
    if status == 403:
        return AuthFailed(f"Mastodon refused the request: {exc}")
    if status == 429:
        return RateLimited(f"Mastodon rate limit: {exc}", retry_at=_reset_at(api))
    return _config(exc)


def _config(exc: Exception) -> CollectorError:
    return CollectorError(f"Mastodon refused the request (check base_url and the query): {exc}")


def _reset_at(api: Mastodon) -> datetime:
    now = datetime.now(UTC)
    reset = getattr(api, "ratelimit_reset", None)
    if isinstance(reset, int | float) and reset > now.timestamp():
        return datetime.fromtimestamp(reset, UTC)
    return now + _DEFAULT_RATE_LIMIT_WAIT


# --------------------------------------------------------------------------- normalization


def normalize_status(status: Mapping[str, Any]) -> NormalizedPost | None:
    """One Status as a NormalizedPost; None for a boost or a status missing essentials.

    The content warning (`spoiler_text`) becomes the title and leads the text, as a
    Reddit title does, so the local re-check sees it.
    """
    if status.get("reblog"):
        return None
    status_id = _id(status.get("id"))
    created_at = as_utc_datetime(status.get("created_at"))
    author = _author(_mapping(status.get("account")))
    if status_id is None or created_at is None or author is None:
        log.warning("skipping Mastodon status %r: id, created_at or account missing", status.get("id"))
        return None
    body = html_to_text(_str(status.get("content")) or "")
    warning = (_str(status.get("spoiler_text")) or "").strip() or None
    return NormalizedPost(
        platform=Platform.MASTODON,
        external_id=status_id,
        text=f"{warning}\n\n{body}".strip() if warning else body,
        created_at=created_at,
        author=author,
        lang=primary_language(status.get("language")),
        url=_str(status.get("url")) or _str(status.get("uri")),
        title=warning,
        media=tuple(m for m in map(_attachment, _mappings(status.get("media_attachments"))) if m is not None),
        metrics=PostMetrics(
            likes=_int(status.get("favourites_count")),
            reposts=_int(status.get("reblogs_count")),
            replies=_int(status.get("replies_count")),
            quotes=_int(status.get("quotes_count")),
        ),
        reply_to_id=_id(status.get("in_reply_to_id")),
        quote_of_id=_quoted_id(status.get("quote")),
        hashtags=tuple(t for t in (_str(tag.get("name")) for tag in _mappings(status.get("tags"))) if t),
        mentions=tuple(m for m in (_str(men.get("acct")) for men in _mappings(status.get("mentions"))) if m),
        content_flags=_flags(status, warning),
    )


def _quoted_id(quote: Any) -> str | None:
    """The id of the status a Mastodon 4.5 quote quotes: a `Quote` carries the whole
    `quoted_status` (null once it is deleted or the quote was revoked), a `ShallowQuote` (a
    quote inside a quote) only its `quoted_status_id`."""
    quote = _mapping(quote)
    return _id(_mapping(quote.get("quoted_status")).get("id")) or _id(quote.get("quoted_status_id"))


def _flags(status: Mapping[str, Any], warning: str | None) -> tuple[str, ...]:
    """`sensitive` with media is Mastodon's NSFW mark (the media are hidden behind a warning); a
    content warning (`spoiler_text`) is a spoiler. Mastodon also sets `sensitive` on every status with a
    content warning, so without media it says nothing more than the warning does."""
    flags = ["spoiler"] if warning else []
    if status.get("sensitive") is True and _mappings(status.get("media_attachments")):
        flags.append("sensitive")
    return content_flags(flags)


def _author(account: Mapping[str, Any]) -> NormalizedAuthor | None:
    """Handles are fully qualified (`user@server`) so one person is one handle everywhere."""
    account_id = _id(account.get("id"))
    acct = _str(account.get("acct")) or _str(account.get("username"))
    if account_id is None or not acct:
        return None
    profile_url = _str(account.get("url"))
    host = urlparse(profile_url).hostname if profile_url else None
    handle = acct if "@" in acct or not host else f"{acct}@{host}"
    return NormalizedAuthor(
        platform=Platform.MASTODON,
        external_id=account_id,
        handle=handle,
        display_name=_str(account.get("display_name")) or None,
        followers=_opt_int(account.get("followers_count")),
        following=_opt_int(account.get("following_count")),
        profile_url=profile_url,
        avatar_url=_str(account.get("avatar")),
        bio=html_to_text(_str(account.get("note")) or "") or None,
        gone=account.get("suspended") is True,
    )


def _attachment(item: Mapping[str, Any]) -> NormalizedMedia | None:
    media_type = _MEDIA_TYPES.get(str(item.get("type")))
    url = _str(item.get("url")) or _str(item.get("remote_url"))
    if media_type is None or not url:
        return None
    original = _mapping(_mapping(item.get("meta")).get("original"))
    duration = original.get("duration")
    seconds = (
        float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else None
    )
    return NormalizedMedia(
        type=media_type,
        url=url,
        preview_url=_str(item.get("preview_url")),
        width=_opt_int(original.get("width")),
        height=_opt_int(original.get("height")),
        duration_ms=round(seconds * 1000) if seconds is not None else None,
        alt_text=_str(item.get("description")) or None,
    )


def _id(value: Any) -> str | None:
    """Ids arrive as strings (Mastodon.py wraps them in a str subclass); old cursors may hold ints."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if text and text.isalnum() else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):  # int() raises on NaN and infinities
        return None
    return int(value)


def _int(value: Any) -> int:
    return _opt_int(value) or 0
