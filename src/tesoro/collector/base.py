"""The contract between a platform adapter and the collection runner.

An adapter knows one platform's client library and nothing about the store; the
runner (`collector.runner`) knows the store and nothing about platforms. They
meet here: an adapter yields `Page`s, each with the cursor that covers it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from tesoro.models import Cursor, NormalizedPost, Page, Platform, RejectedItem

__all__ = [
    "AuthFailed",
    "Collector",
    "CollectorError",
    "PostLookup",
    "QuotaExhausted",
    "RateLimited",
    "RightsChannel",
    "Spend",
    "ThreadReply",
    "TokenExpiry",
    "TransientError",
    "coalesce_pages",
]


@runtime_checkable
class Collector(Protocol):
    """Fetches everything new on one source since `cursor`.

    `pages(None)` starts from scratch. Pages come in the order they must be
    saved; the cursor of the last page is where the next run starts. An adapter
    that is interrupted mid-stream must be able to resume from any page's cursor.
    Malformed items are logged and skipped by the adapter; errors that stop the
    whole run are raised as the `CollectorError` subclasses below.

    Optional attributes the runner reads: `spend: Spend` (a metered platform's budget, below) and
    `token_expiry: TokenExpiry | None` (what the platform said of the token the run used: when it
    expires, or that it never does; None when it was not asked or did not say: the `coverage_lost`
    alert warns before the token expires). `QuotaExhausted`, raised by
    `Spend.charge`, must reach the runner: never catch it inside the adapter.
    """

    platform: Platform

    def pages(self, cursor: Cursor | None) -> Iterator[Page]: ...


@dataclass(frozen=True, slots=True)
class TokenExpiry:
    """What a platform said of a token: when it expires (`at`), or `at=None` for one that never does."""

    at: datetime | None


@dataclass(frozen=True, slots=True)
class ThreadReply:
    """One reply under Tesoro's rights request, as a platform reports it (the text as written)."""

    external_id: str
    author_external_id: str
    author_handle: str | None
    text: str
    url: str | None = None
    created_at: datetime | None = None


@runtime_checkable
class RightsChannel(Protocol):
    """A platform's way to ask an author for usage rights and to listen for the answer.

    `post_reply` posts `text` as a reply under the post (returns the new reply's id and link);
    `fetch_replies` returns every reply under Tesoro's reply `reply_id`, from anyone. A failure
    raises a `CollectorError` subclass. A platform whose API cannot post (imports) has none.
    """

    platform: Platform

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]: ...

    def fetch_replies(self, *, post_external_id: str, reply_id: str) -> list[ThreadReply]: ...


@runtime_checkable
class PostLookup(Protocol):
    """Asks the platform whether posts it served still exist (the gallery re-check).

    `gone` returns the ids the platform says it no longer has (deleted, or the author suspended,
    where its API says so); an id it did not answer for clearly is not gone. A failed call raises
    a `CollectorError` subclass below, and the caller concludes nothing from it.
    """

    platform: Platform
    # Ids the caller passes to one `gone` call: a failed call loses what it had learned of these.
    lookup_batch: int

    def gone(self, external_ids: Sequence[str]) -> frozenset[str]: ...


@dataclass
class Spend:
    """What an adapter has spent of its platform's budget since it was made, counted as it calls.

    `units` are the platform's own budget unit (YouTube quota units, TikTok requests, X posts read,
    Instagram hashtag searches); `calls` are HTTP requests. An adapter whose platform meters a budget
    has a `spend: Spend` attribute and charges it before each call; the runner reads it after a run.
    """

    units: int = 0
    calls: int = 0
    # What the runner lets this run spend (the budget left): a call that would go past it is never
    # made; `charge` raises `QuotaExhausted` instead. None: no limit (tests, backfills, the bench).
    allowance: int | None = None

    def charge(self, units: int = 1) -> None:
        """Count one call costing `units`, before making it; refused when the allowance has no room.

        A call the platform bills by its answer (X bills the posts it returns) charges 0 here, which
        still needs one unit left, then `bill`s what the answer held.
        """
        if self.allowance is not None and self.units + max(units, 1) > self.allowance:
            raise QuotaExhausted(
                f"the budget left for this run ({self.allowance} units) has no room for a call "
                f"costing {max(units, 1)} after {self.units} spent"
            )
        self.units += units
        self.calls += 1

    def bill(self, units: int) -> None:
        """Count units the platform billed by its answer (posts read), after the call; never refused."""
        self.units += units


class CollectorError(Exception):
    """Base of every error an adapter raises to the runner."""


class RateLimited(CollectorError):
    """The platform said to wait; `retry_at` comes from its rate-limit headers."""

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class QuotaExhausted(CollectorError):
    """The run's allowance of its platform budget is spent: it stops cleanly before the next call."""


class TransientError(CollectorError):
    """A 5xx, a timeout or a dropped connection: worth retrying with backoff."""


class AuthFailed(CollectorError):
    """Credentials were refused: retrying will not help until someone fixes them."""


def coalesce_pages(pages: Iterator[Page], *, at_least: int, at_most_pages: int) -> Iterator[Page]:
    """`pages` joined into larger ones: each holds at least `at_least` posts and refused items, or
    `at_most_pages` pages, with the cursor of the last page it took (which covers all of them); what is
    left at the end is one more page.

    For collectors whose fetches bring few new posts each (overlapping searches): one transaction per
    joined page instead of per fetch, and a crash repeats at most the fetches of one joined page.
    Only for unmetered platforms: the runner records a page's spend with that page.
    """
    posts: list[NormalizedPost] = []
    rejected: list[RejectedItem] = []
    held: Page | None = None
    count = 0
    for page in pages:
        posts.extend(page.posts)
        rejected.extend(page.rejected)
        held, count = page, count + 1
        if len(posts) + len(rejected) >= at_least or count >= at_most_pages:
            yield Page(tuple(posts), page.cursor, rejected=tuple(rejected))
            posts, rejected, held, count = [], [], None, 0
    if held is not None:
        yield Page(tuple(posts), held.cursor, rejected=tuple(rejected))
