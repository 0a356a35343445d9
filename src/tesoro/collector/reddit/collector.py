"""The Reddit collector: subreddit search (and optionally the comment stream) through praw.

praw/prawcore do the OAuth token, the rate-limit pacing and their own short
retries; this module asks for one Listing per request with `Reddit.request` and
reads the JSON itself. Going through praw's lazy models instead would turn any
missing field into an extra per-item fetch (`GET /comments/{id}`), which a
listing collector must never do.

Where a run stands between pages is `cursor`'s business; turning listing items into posts is
`normalize`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import praw
import praw.exceptions
import prawcore
import requests

from tesoro.collector.base import (
    AuthFailed,
    CollectorError,
    RateLimited,
    Spend,
    ThreadReply,
    TransientError,
)
from tesoro.collector.reddit.cursor import Stream, decode, encode, first_marker, fresh_children
from tesoro.collector.reddit.normalize import REDDIT_WEB, is_gone, normalize_page
from tesoro.models import Cursor, NormalizedPost, Page, Platform, RejectedItem
from tesoro.text import query as tesoro_query

__all__ = ["DEFAULT_USER_AGENT", "RedditCollector"]

REDDIT_OAUTH = "https://oauth.reddit.com"
REDDIT_SHORT = "https://redd.it"
DEFAULT_USER_AGENT = "tesoro/0.1 (social listening; +https://github.com/tesoro)"
_MAX_PAGE_SIZE = 100
# When a 429 says nothing about when to come back, wait out Reddit's 10-minute window.
_DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=10)
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
# `/api/info` takes up to 100 fullnames (a submission `t3_…` or a comment `t1_…`).
_INFO_BATCH = 100
_FULLNAME = re.compile(r"t[13]_[0-9a-z]{1,13}")


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
    lookup_batch: int = _INFO_BATCH

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
        username: str | None = None,
        password: str | None = None,
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
        # The brand's account (a script app's password grant): posting a comment needs a user; reading
        # does not.
        self._username = username
        self._password = password
        self._user_agent = user_agent
        self._base_url = base_url.rstrip("/") if base_url else None
        self._timeout_s = timeout_s
        self._clock = clock
        # Reddit allows 100 requests a minute per OAuth client: each listing request is charged.
        self.spend = Spend()

    @property
    def _multireddit(self) -> str:
        return "+".join(self.subreddits)

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        """Everything newer than the cursor: submissions first, then comments, newest first."""
        streams = decode(cursor)
        session = _TimeoutSession(self._timeout_s)
        reddit = self._reddit(session)
        try:
            for name in self._stream_names():
                for posts, rejected, state in self._walk(reddit, name, streams[name]):
                    streams[name] = state
                    yield Page(posts, encode(streams), rejected=rejected)
        finally:
            session.close()

    def gone(self, external_ids: Sequence[str]) -> frozenset[str]:
        """Which of these submissions and comments Reddit says are deleted or removed (`/api/info`,
        100 fullnames a call, through praw's authenticated requestor).

        Reddit keeps listing a deleted thing: its body reads `[deleted]` or `[removed]`, or
        `removed_by_category` says who removed it. A fullname Reddit does not list is not concluded
        gone. A failed call raises (`_call_reddit`): nothing is concluded from it.
        """
        wanted = [f for f in dict.fromkeys(external_ids) if _FULLNAME.fullmatch(f)]
        if not wanted:
            return frozenset()
        gone: set[str] = set()
        session = _TimeoutSession(self._timeout_s)
        reddit = self._reddit(session)
        try:
            for start in range(0, len(wanted), _INFO_BATCH):
                batch = wanted[start : start + _INFO_BATCH]
                params: dict[str, str | int] = {"id": ",".join(batch), "raw_json": 1}
                body = _call_reddit(partial(reddit.request, method="GET", path="api/info/", params=params))
                for child in _parse_listing(body).children:
                    data = child.get("data")
                    if isinstance(data, Mapping) and data.get("name") in batch and is_gone(data):
                        gone.add(str(data["name"]))
        finally:
            session.close()
        return frozenset(gone)

    # ----------------------------------------------------------------------- rights requests

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]:
        """Comment under a submission or a comment as the brand's account (`POST /api/comment/`).

        The reply's id is its fullname, with `@` and its submission's fullname when the post is a
        comment (the conversation is read from that submission's comment forest).
        """
        if not (self._username and self._password):
            raise AuthFailed(
                "posting on Reddit needs the brand account: set credentials username_env and password_env"
            )
        if not _FULLNAME.fullmatch(post_external_id):
            raise CollectorError(f"{post_external_id!r} is not a Reddit submission or comment")
        kind, _, rid = post_external_id.partition("_")
        session = _TimeoutSession(self._timeout_s)
        reddit = self._reddit(session, user=True)
        try:
            target = reddit.submission(id=rid) if kind == "t3" else reddit.comment(id=rid)
            self.spend.charge(1)
            made = _call_reddit(lambda: _api_errors(lambda: target.reply(body=text)))
        finally:
            session.close()
        data = vars(made) if made is not None else {}
        name, link = _str(data.get("name")), _str(data.get("link_id"))
        if name is None or link is None:
            raise TransientError("Reddit answered the comment without its id")
        permalink = _str(data.get("permalink"))
        reply_id = name if kind == "t3" else f"{name}@{link}"
        return reply_id, f"{REDDIT_WEB}{permalink}" if permalink else None

    def fetch_replies(self, *, post_external_id: str, reply_id: str) -> list[ThreadReply]:
        """Every comment under Tesoro's comment, at any depth, from the submission's comment forest
        (`GET /comments/{id}/`, "more comments" expanded); a submission Reddit no longer has: none."""
        ours, _, link = reply_id.partition("@")
        submission_id = (link or post_external_id).removeprefix("t3_")
        session = _TimeoutSession(self._timeout_s)
        reddit = self._reddit(session)

        def forest() -> list[Any]:
            submission = reddit.submission(id=submission_id)
            submission.comment_sort = "old"
            submission.comments.replace_more(limit=0)
            return list(submission.comments.list())

        try:
            self.spend.charge(1)
            comments = _call_reddit(forest)
        except CollectorError as exc:
            if isinstance(exc.__cause__, prawcore.NotFound):
                return []  # the submission is gone (Reddit lists deleted ones, emptied; this one not at all)
            raise
        finally:
            session.close()
        members = {ours}
        out: list[ThreadReply] = []
        for comment in comments:  # breadth first: a parent comes before its replies
            data = vars(comment)
            name, parent = _str(data.get("name")), _str(data.get("parent_id"))
            if name is None or parent not in members:
                continue
            members.add(name)
            author = data.get("author")
            handle = str(author) if author is not None else "[deleted]"
            created = data.get("created_utc")
            permalink = _str(data.get("permalink"))
            out.append(
                ThreadReply(
                    external_id=name,
                    author_external_id=_str(data.get("author_fullname")) or f"name:{handle}",
                    author_handle=handle,
                    text=str(data.get("body") or ""),
                    url=f"{REDDIT_WEB}{permalink}" if permalink else None,
                    created_at=datetime.fromtimestamp(float(created), UTC)
                    if isinstance(created, int | float)
                    else None,
                )
            )
        return out

    def _stream_names(self) -> tuple[str, ...]:
        return ("submissions", "comments") if self.include_comments else ("submissions",)

    def _reddit(self, session: requests.Session, *, user: bool = False) -> praw.Reddit:
        """A fresh client per run: its token and rate-limit pacing belong to this run only.

        `user`: as the brand's account (the password grant), which posting needs."""
        account: dict[str, Any] = {"username": self._username, "password": self._password} if user else {}
        return praw.Reddit(
            **account,
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
        self, reddit: praw.Reddit, name: str, state: Stream
    ) -> Iterator[tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...], Stream]]:
        """Pages of one stream from `state` until the pass ends or `max_pages` is spent."""
        if not state.in_pass and state.newest is None and self.backfill is not None:
            state = replace(state, floor=(self._clock() - self.backfill).timestamp())
        fetched = 0
        while True:
            listing = self._fetch(reddit, name, state.after)
            fetched += 1
            fresh, reached = fresh_children(listing.children, state)
            state = replace(state, pass_newest=state.pass_newest or first_marker(fresh))
            posts, rejected = normalize_page(fresh)
            if reached or listing.after is None or not listing.children:
                yield posts, rejected, state.finished()
                return
            state = replace(state, after=listing.after)
            yield posts, rejected, state
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
        self.spend.charge(1)
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


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _api_errors(call: Callable[[], Any]) -> Any:
    """Reddit's errors inside a 200 answer (`json.errors`), in the runner's vocabulary."""
    try:
        return call()
    except praw.exceptions.RedditAPIException as exc:
        codes = {item.error_type for item in exc.items}
        if codes & {"USER_REQUIRED", "INVALID_USER"}:
            raise AuthFailed(f"Reddit refused to comment as the brand's account: {exc}") from exc
        if codes & {"RATELIMIT"}:
            raise RateLimited(
                f"Reddit rate limit: {exc}", retry_at=datetime.now(UTC) + timedelta(minutes=10)
            ) from exc
        raise CollectorError(f"Reddit refused the comment: {exc}") from exc


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
