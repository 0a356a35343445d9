"""X (Twitter) adapter: API v2 recent search through `tweepy.Client`.

Incremental and crash-safe. X pages newest first, so a run starts at the top
and walks down to the previous run's newest id (`since_id`). The newest id of
the run only becomes the next `since_id` once the run's last page is saved;
until then every page's cursor carries the `next_token` to resume from:

    idle:     {"since_id": S}
    mid-run:  {"since_id": S, "run_newest_id": N, "next_token": T}
    run done: {"since_id": N}

tweepy's host is hard-coded and it passes no timeout to requests, so a
transport adapter mounted on the client's session points it at `base_url` (the
simulator, or a gateway) and gives every request a timeout.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter
from requests.utils import should_bypass_proxies

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
from tesoro.text import query as tesoro_query
from tesoro.text.lang import primary_language

__all__ = ["X_API", "XCollector", "expand_links", "normalize_tweet"]

log = logging.getLogger(__name__)

X_API = "https://api.twitter.com"
TWEET_FIELDS = (
    "attachments",
    "author_id",
    "conversation_id",
    "created_at",
    "edit_history_tweet_ids",
    "entities",
    "lang",
    "possibly_sensitive",
    "public_metrics",
    "referenced_tweets",
)
USER_FIELDS = ("description", "profile_image_url", "public_metrics", "username", "verified")
MEDIA_FIELDS = ("alt_text", "duration_ms", "height", "preview_image_url", "type", "url", "variants", "width")
EXPANSIONS = ("author_id", "attachments.media_keys")
# When a 429 carries no reset header, wait a full window rather than hammer the API.
_DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)
_NO_RETWEETS = " -is:retweet"
# Tweet lookup takes up to 100 ids a call; a missing tweet is an error of this problem type.
LOOKUP_MAX_IDS = 100
_NOT_FOUND = "/problems/resource-not-found"
_MEDIA_TYPES = {"photo": MediaType.PHOTO, "video": MediaType.VIDEO, "animated_gif": MediaType.GIF}


class _RefusedParameters(CollectorError):
    """A 400: X refused some parameters (named in `parameters`); retrying as is will not help."""

    def __init__(self, message: str, parameters: frozenset[str]) -> None:
        super().__init__(message)
        self.parameters = parameters


class _XTransport(HTTPAdapter):
    """Rewrites `https://api.twitter.com/...` to `base_url` and enforces a timeout.

    Mounted on the tweepy session for the X prefix only, so any other URL the
    session might fetch is untouched.
    """

    def __init__(self, *, base_url: str, timeout_s: float) -> None:
        super().__init__()
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        if self._base_url != X_API and url.startswith(X_API + "/"):
            request.url = self._base_url + url[len(X_API) :]
            # Proxies were chosen for api.twitter.com; re-decide them for the real target.
            if proxies and should_bypass_proxies(request.url, no_proxy=proxies.get("no_proxy")):
                proxies = {}
        return super().send(
            request,
            stream=stream,
            timeout=self._timeout_s if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


@dataclass(frozen=True, slots=True)
class _Position:
    """Where a run stands; the decoded form of the cursor."""

    since_id: str | None = None
    run_newest_id: str | None = None
    next_token: str | None = None

    @classmethod
    def from_cursor(cls, cursor: Cursor | None) -> _Position:
        if not cursor:
            return cls()
        token = cursor.get("next_token")
        return cls(
            since_id=_id_or_none(cursor.get("since_id")),
            run_newest_id=_id_or_none(cursor.get("run_newest_id")) if token else None,
            next_token=str(token) if token else None,
        )

    def to_cursor(self) -> Cursor:
        if self.next_token is None:
            return {"since_id": self.since_id}
        return {"since_id": self.since_id, "run_newest_id": self.run_newest_id, "next_token": self.next_token}

    def after(self, meta: Mapping[str, Any], page_newest: str | None) -> _Position:
        """The position once a page with `meta` (and newest valid id `page_newest`) is saved."""
        newest = _max_id(self.run_newest_id, _id_or_none(meta.get("newest_id")) or page_newest)
        token = meta.get("next_token")
        if isinstance(token, str) and token:
            return _Position(self.since_id, newest, token)
        return _Position(newest or self.since_id)


class XCollector:
    """Collects tweets matching a Tesoro query from X's recent search (last 7 days)."""

    platform: Platform = Platform.X
    lookup_batch: int = LOOKUP_MAX_IDS

    def __init__(
        self,
        *,
        query: str,
        bearer_token: str,
        base_url: str = X_API,
        page_size: int = 100,
        max_pages: int | None = None,
        timeout_s: float = 15.0,
        include_retweets: bool = False,
        max_query_length: int = 512,
    ) -> None:
        if not 10 <= page_size <= 100:
            raise ValueError(f"page_size must be between 10 and 100 for X, got {page_size}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.query = _compile(query, include_retweets=include_retweets, max_length=max_query_length)
        self.page_size = page_size
        self.max_pages = max_pages
        # return_type=dict: tweepy's Tweet model raises on a malformed tweet and
        # would lose the whole page; we validate tweet by tweet instead.
        self._client = tweepy.Client(bearer_token=bearer_token, return_type=dict, wait_on_rate_limit=False)
        self._client.session.mount(X_API + "/", _XTransport(base_url=base_url, timeout_s=timeout_s))
        # X bills posts read: each search needs room for one, then is billed the posts it returned.
        self.spend = Spend()

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        """Everything newer than the cursor's `since_id`, newest first, one API page per `Page`."""
        position = _Position.from_cursor(cursor)
        fetched = 0
        while True:
            try:
                body = self._search(position)
            except _RefusedParameters as exc:
                if position.next_token is not None and "next_token" in exc.parameters:
                    # An expired or foreign next_token would fail this source forever: start the run
                    # again from since_id instead (posts already saved are updated, not duplicated).
                    log.warning(
                        "X refused the saved next_token; restarting the run above %s", position.since_id
                    )
                    position = _Position(position.since_id)
                    continue
                if position.since_id is not None and "since_id" in exc.parameters:
                    # Recent search reaches back 7 days; a source idle for longer has a since_id X
                    # refuses. Collect the whole window instead: what fell out of it cannot be had.
                    log.warning(
                        "X refused since_id %s (older than the 7-day search window); collecting the "
                        "last 7 days instead, posts between then and the last run are out of reach",
                        position.since_id,
                    )
                    position = _Position(None)
                    continue
                raise
            rejected: list[RejectedItem] = []
            posts, page_newest = _normalize_page(body, rejected)
            position = position.after(as_dict(body.get("meta")), page_newest)
            fetched += 1
            yield Page(posts, position.to_cursor(), rejected=tuple(rejected))
            if position.next_token is None or (self.max_pages is not None and fetched >= self.max_pages):
                return

    def gone(self, external_ids: Sequence[str]) -> frozenset[str]:
        """Which of these tweets X no longer has (`GET /2/tweets?ids=`, 100 ids a call).

        Only an id X answers with a `resource-not-found` error is gone; an id it does not mention, or
        withholds for another reason, is not. Rate limits and failures raise (`_call_x`): nothing is
        concluded from a call that failed.
        """
        gone: set[str] = set()
        wanted = [i for i in dict.fromkeys(external_ids) if _id_or_none(i) is not None]
        for start in range(0, len(wanted), LOOKUP_MAX_IDS):
            batch = wanted[start : start + LOOKUP_MAX_IDS]
            body = _call_x(partial(self._client.get_tweets, batch, tweet_fields=["id"]))
            if not isinstance(body, dict):
                raise TransientError(f"X answered with a {type(body).__name__}, not a JSON object")
            asked = set(batch)
            for error in as_dicts(body.get("errors")):
                resource = as_str(error.get("resource_id")) or as_str(error.get("value"))
                if str(error.get("type", "")).endswith(_NOT_FOUND) and resource in asked:
                    gone.add(resource)
        return frozenset(gone)

    # --- usage rights (`tesoro.collector.base.RightsChannel`) ---------------------------------------
    # Posting needs a user-context token (OAuth 2.0 with tweet.write): give the source one to ask.

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]:
        """Reply under a tweet (`POST /2/tweets` with `reply.in_reply_to_tweet_id`); its id and link."""
        body = _call_x(
            lambda: self._client.create_tweet(
                text=text, in_reply_to_tweet_id=post_external_id, user_auth=False
            )
        )
        data = body.get("data") if isinstance(body, dict) else None
        reply_id = as_str(data.get("id")) if isinstance(data, dict) else None
        if reply_id is None:
            raise TransientError("X answered the reply without an id")
        return reply_id, f"https://x.com/i/web/status/{reply_id}"

    def fetch_replies(self, *, post_external_id: str, reply_id: str) -> list[ThreadReply]:
        """The replies to Tesoro's reply (recent search `in_reply_to_tweet_id:`), with their authors."""
        body = _call_x(
            lambda: self._client.search_recent_tweets(
                f"in_reply_to_tweet_id:{reply_id}",
                max_results=100,
                tweet_fields=["created_at", "author_id"],
                user_fields=["username"],
                expansions=["author_id"],
            )
        )
        if not isinstance(body, dict):
            raise TransientError(f"X answered with a {type(body).__name__}, not a JSON object")
        users = {
            as_str(u.get("id")): as_str(u.get("username"))
            for u in as_dicts((body.get("includes") or {}).get("users"))
        }
        out: list[ThreadReply] = []
        for tweet in as_dicts(body.get("data")):
            tweet_id, author_id = as_str(tweet.get("id")), as_str(tweet.get("author_id"))
            if tweet_id is None or author_id is None:
                continue
            handle = users.get(author_id)
            out.append(
                ThreadReply(
                    external_id=tweet_id,
                    author_external_id=author_id,
                    author_handle=handle,
                    text=html.unescape(as_str(tweet.get("text")) or ""),
                    url=f"https://x.com/{handle or 'i/web'}/status/{tweet_id}",
                    created_at=as_utc_datetime(tweet.get("created_at")),
                )
            )
        return out

    def _search(self, position: _Position) -> dict[str, Any]:
        params: dict[str, Any] = {
            "max_results": self.page_size,
            "tweet_fields": list(TWEET_FIELDS),
            "user_fields": list(USER_FIELDS),
            "media_fields": list(MEDIA_FIELDS),
            "expansions": list(EXPANSIONS),
        }
        if position.since_id is not None:
            params["since_id"] = position.since_id
        if position.next_token is not None:
            params["next_token"] = position.next_token
        self.spend.charge(0)
        body = _call_x(lambda: self._client.search_recent_tweets(self.query, **params))
        if not isinstance(body, dict):
            raise TransientError(f"X answered with a {type(body).__name__}, not a JSON object")
        self.spend.bill(len(as_list(body.get("data"))))
        return body


def _compile(query: str, *, include_retweets: bool, max_length: int) -> str:
    """The X query for a Tesoro query; retweets repeat someone else's words, so they are left out."""
    if include_retweets:
        return tesoro_query.to_x(tesoro_query.parse(query), max_length=max_length)
    # Parenthesised: X binds AND tighter than OR, and the suffix must apply to the whole query.
    budget = max_length - len(_NO_RETWEETS) - 2
    return f"({tesoro_query.to_x(tesoro_query.parse(query), max_length=budget)}){_NO_RETWEETS}"


def _call_x(call: Callable[[], Any]) -> Any:
    """Runs one tweepy call and translates its failures into the runner's vocabulary."""
    try:
        return call()
    except tweepy.TooManyRequests as exc:
        raise RateLimited(f"X rate limit: {exc}", retry_at=_reset_at(exc)) from exc
    except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
        raise AuthFailed(f"X refused the bearer token: {exc}") from exc
    except tweepy.TwitterServerError as exc:
        raise TransientError(f"X server error: {exc}") from exc
    except tweepy.BadRequest as exc:
        raise _RefusedParameters(f"X refused the request: {exc}", _parameters(exc)) from exc
    except tweepy.HTTPException as exc:  # 404 and other refusals: the configuration needs fixing
        raise CollectorError(f"X refused the request: {exc}") from exc
    except requests.RequestException as exc:  # timeouts, dropped connections, invalid JSON
        raise TransientError(f"X request failed: {type(exc).__name__}: {exc}") from exc
    except ValueError as exc:  # JSON decoding errors not wrapped by requests
        raise TransientError(f"X sent an unreadable body: {exc}") from exc


def _parameters(exc: tweepy.BadRequest) -> frozenset[str]:
    """The parameter names X's 400 body blames (`errors[].parameters`)."""
    errors = getattr(exc, "api_errors", None)
    return frozenset(name for error in as_dicts(errors) for name in as_dict(error.get("parameters")))


def _reset_at(exc: tweepy.TooManyRequests) -> datetime:
    reset = getattr(exc, "reset_time", None)
    if isinstance(reset, int):
        return datetime.fromtimestamp(reset, tz=UTC)
    return datetime.now(UTC) + _DEFAULT_RATE_LIMIT_WAIT


def _normalize_page(
    body: Mapping[str, Any], rejected: list[RejectedItem] | None = None
) -> tuple[tuple[NormalizedPost, ...], str | None]:
    """The page's valid posts, and the newest tweet id seen (even on a skipped tweet); a tweet that
    cannot be used goes to `rejected`, for the runner to quarantine with the page."""
    includes = as_dict(body.get("includes"))
    users = {u["id"]: u for u in as_dicts(includes.get("users")) if isinstance(u.get("id"), str)}
    media = {
        m["media_key"]: m for m in as_dicts(includes.get("media")) if isinstance(m.get("media_key"), str)
    }
    posts: list[NormalizedPost] = []
    newest: str | None = None
    for tweet in as_dicts(body.get("data")):
        newest = _max_id(newest, _id_or_none(tweet.get("id")))
        got = normalize_guarded(
            Platform.X,
            tweet,
            tweet.get("id"),
            partial(normalize_tweet, tweet, users=users, media=media),
            _MALFORMED,
        )
        if isinstance(got, NormalizedPost):
            posts.append(got)
        elif rejected is not None:
            rejected.append(got)
    return tuple(posts), newest


_MALFORMED = "malformed tweet: no id, text, created_at or author (with an id and a username)"


def normalize_tweet(
    tweet: Mapping[str, Any],
    *,
    users: Mapping[str, Mapping[str, Any]],
    media: Mapping[str, Mapping[str, Any]],
) -> NormalizedPost | None:
    """One v2 tweet (with its expanded users and media) as a NormalizedPost; None if malformed."""
    tweet_id = _id_or_none(tweet.get("id"))
    text = tweet.get("text")
    user = users.get(str(tweet.get("author_id")))
    created_at = as_utc_datetime(tweet.get("created_at"))
    if tweet_id is None or not isinstance(text, str) or user is None or created_at is None:
        log.warning("skipping malformed tweet %r (id, text, author or created_at missing)", tweet.get("id"))
        return None
    author = _author(user)
    if author is None:
        log.warning("skipping tweet %s: its author has no id or username", tweet_id)
        return None
    metrics = as_dict(tweet.get("public_metrics"))
    entities = as_dict(tweet.get("entities"))
    references = {
        as_str(r.get("type")): _id_or_none(r.get("id")) for r in as_dicts(tweet.get("referenced_tweets"))
    }
    keys = [k for k in as_list(as_dict(tweet.get("attachments")).get("media_keys")) if isinstance(k, str)]
    return NormalizedPost(
        platform=Platform.X,
        external_id=tweet_id,
        text=expand_links(unescape_x(text), as_dicts(entities.get("urls"))),
        created_at=created_at,
        author=author,
        lang=primary_language(tweet.get("lang")),
        url=f"https://x.com/{author.handle}/status/{tweet_id}",
        media=tuple(m for m in (_media(media[k]) for k in keys if k in media) if m is not None),
        metrics=PostMetrics(
            likes=as_int(metrics.get("like_count")) or 0,
            reposts=as_int(metrics.get("retweet_count")) or 0,
            replies=as_int(metrics.get("reply_count")) or 0,
            quotes=as_int(metrics.get("quote_count")) or 0,
            views=as_int(metrics.get("impression_count")),
        ),
        reply_to_id=references.get("replied_to"),
        quote_of_id=references.get("quoted"),
        conversation_id=_id_or_none(tweet.get("conversation_id")),
        hashtags=tuple(t for t in (as_str(h.get("tag")) for h in as_dicts(entities.get("hashtags"))) if t),
        mentions=tuple(
            u for u in (as_str(m.get("username")) for m in as_dicts(entities.get("mentions"))) if u
        ),
        # X marks a tweet whose links or media may be sensitive; the media sit behind a warning.
        content_flags=content_flags(["sensitive"] if tweet.get("possibly_sensitive") is True else []),
        edit_ids=_edit_chain(tweet.get("edit_history_tweet_ids"), tweet_id),
    )


# X ids are 64-bit snowflakes (at most 19 digits), and a tweet can be edited 5 times: a longer
# history is not X's, and is ignored rather than stored as aliases.
_MAX_ID_DIGITS = 20
_MAX_EDITS = 16


def _edit_chain(value: Any, tweet_id: str) -> tuple[str, ...]:
    """An edited tweet's `edit_history_tweet_ids` (original first), or () for a tweet never edited.

    A history that does not name the tweet itself, or holds something other than ids, is
    ignored: the tweet is then stored under its own id.
    """
    chain = tuple(i for i in (_id_or_none(v) for v in as_list(value)) if i is not None)
    if len(chain) < 2 or tweet_id not in chain or len(set(chain)) != len(chain):
        return ()
    if any(len(i) > _MAX_ID_DIGITS for i in chain) or len(chain) > _MAX_EDITS:
        return ()
    return chain


def expand_links(text: str, urls: list[dict[str, Any]]) -> str:
    """The tweet text with each `t.co` link replaced by its `expanded_url`, as shown and searched.

    X shortens every link to `t.co`; `entities.urls` names the short link, where it sits and
    what it stands for. The link that X appends for the tweet's own photos and videos (an entity
    with a `media_key`) is dropped: the media are stored as media. Each short link is found by its
    text, at its `start` when it is there, else where it first occurs, so offsets counted on the
    escaped text (or in another unit) cannot cut the text in the wrong place; Tesoro keeps
    no offsets of its own for X, so nothing else has to move.
    """
    spans: list[tuple[int, int, str]] = []
    for entity in urls:
        short = as_str(entity.get("url"))
        expanded = as_str(entity.get("expanded_url"))
        media = entity.get("media_key") is not None
        if not short or (not expanded and not media):
            continue
        start = as_int(entity.get("start"))
        if start is None or text[start : start + len(short)] != short:
            taken = {s for s, _, _ in spans}
            start = next((i for i in _occurrences(text, short) if i not in taken), -1)
        if start < 0:
            continue
        spans.append((start, start + len(short), "" if media else expanded or ""))
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for start, end, replacement in sorted(spans):
        if start < position:  # overlapping entities: keep the first
            continue
        before = text[position:start]
        if not replacement:  # a dropped media link takes the blank before it along
            before = before.rstrip(" ")
        parts += [before, replacement]
        position = end
    parts.append(text[position:])
    return "".join(parts).rstrip() if any(not r for _, _, r in spans) else "".join(parts)


def _occurrences(text: str, needle: str) -> Iterator[int]:
    start = text.find(needle)
    while start >= 0:
        yield start
        start = text.find(needle, start + 1)


def unescape_x(text: str) -> str:
    """X escapes exactly `&`, `<` and `>` in tweet text; undo only those (`&amp;` last)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _author(user: Mapping[str, Any]) -> NormalizedAuthor | None:
    user_id, username = as_str(user.get("id")), as_str(user.get("username"))
    if not user_id or not username:
        return None
    metrics = as_dict(user.get("public_metrics"))
    return NormalizedAuthor(
        platform=Platform.X,
        external_id=user_id,
        handle=username,
        display_name=as_str(user.get("name")),
        followers=as_int(metrics.get("followers_count")),
        following=as_int(metrics.get("following_count")),
        verified=user.get("verified") is True,
        profile_url=f"https://x.com/{username}",
        avatar_url=as_str(user.get("profile_image_url")),
        bio=as_str(user.get("description")) or None,
    )


def _media(item: Mapping[str, Any]) -> NormalizedMedia | None:
    """Photos carry `url`; videos and GIFs carry mp4 `variants` (take the highest bit rate)."""
    media_type = _MEDIA_TYPES.get(str(item.get("type")))
    if media_type is None:
        return None
    preview = as_str(item.get("preview_image_url"))
    url = as_str(item.get("url")) if media_type is MediaType.PHOTO else _best_variant(item) or preview
    if not url:
        return None
    return NormalizedMedia(
        type=media_type,
        url=url,
        preview_url=preview,
        width=as_int(item.get("width")),
        height=as_int(item.get("height")),
        duration_ms=as_int(item.get("duration_ms")),
        alt_text=as_str(item.get("alt_text")),
    )


def _best_variant(item: Mapping[str, Any]) -> str | None:
    mp4s = [
        v
        for v in as_dicts(item.get("variants"))
        if v.get("content_type") == "video/mp4" and as_str(v.get("url"))
    ]
    if not mp4s:
        return None
    return as_str(max(mp4s, key=lambda v: as_int(v.get("bit_rate")) or 0).get("url"))


def _id_or_none(value: Any) -> str | None:
    """X ids are decimal strings (too big for JavaScript numbers); accept ints from old cursors."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    return text if text.isdigit() else None


def _max_id(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if int(a) >= int(b) else b
