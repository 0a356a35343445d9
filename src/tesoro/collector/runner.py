"""Runs one source once: pages from its collector into the store, with its cursor, safely.

Each page's posts and the cursor that covers them are written in one transaction,
so a process killed at any point resumes from the last saved page with nothing
lost and nothing stored twice. Errors never escape into the scheduler: a 429
parks the source until the platform's reset (other sources keep running), a
transient fault is retried with exponential backoff from the last saved cursor,
and anything else marks the source degraded, then failing, with the reason.

A collector whose platform meters a budget has a `spend` (`collector.base.Spend`): the runner opens
a `source_spend` row for the run and adds what each page cost in that page's transaction, so a
killed run has recorded what its saved pages spent. Given an `Allowance` (what is left of the
budget), the run stops cleanly before the call that would overspend (`QuotaExhausted`): its pages
are kept and the source waits until `resume_at`. A collector may also say when its token expires
(`token_expiry`); the runner keeps that on the source for the coverage alert, and clears it when the
platform says the token no longer expires.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlmodel import Session

from tesoro.collector.base import (
    AuthFailed,
    Collector,
    QuotaExhausted,
    RateLimited,
    Spend,
    TokenExpiry,
    TransientError,
)
from tesoro.collector.boundary import rejected_post, screen
from tesoro.models import Cursor, NormalizedPost, Page, RejectedItem
from tesoro.store.engine import session_scope
from tesoro.store.posts import UpsertResult, upsert_posts
from tesoro.store.quarantine import quarantine
from tesoro.store.sources import (
    get_source,
    record_failure,
    record_quota_wait,
    record_rate_limit,
    record_success,
    record_token_expiry,
    save_cursor,
)
from tesoro.store.spend import add_spend, open_spend

__all__ = ["Allowance", "PageResult", "RetryPolicy", "RunResult", "run_source", "store_page"]

log = logging.getLogger(__name__)

PostFilter = Callable[[NormalizedPost], bool]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter, so many sources never retry in lockstep."""
        return float(rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))))


@dataclass(frozen=True, slots=True)
class Allowance:
    """What one run may spend of its platform budget, and when the source may run again if it spends it."""

    units: int
    resume_at: datetime


@dataclass(frozen=True, slots=True)
class RunResult:
    source: str
    status: str  # ok | rate_limited | quota_exhausted | skipped | failed
    pages: int = 0
    inserted: int = 0
    updated: int = 0
    filtered_out: int = 0
    retries: int = 0
    error: str | None = None
    quarantined: int = 0
    units: int = 0  # of the platform budget, spent by this run
    calls: int = 0


@dataclass(slots=True)
class _Meter:
    """A run's spend row and how much of the collector's `Spend` it has recorded so far."""

    spend: Spend
    spend_id: int
    units: int
    calls: int
    start_units: int
    start_calls: int

    def pending(self) -> tuple[int, int]:
        return self.spend.units - self.units, self.spend.calls - self.calls

    def recorded(self, delta: tuple[int, int]) -> None:
        self.units += delta[0]
        self.calls += delta[1]


@dataclass(slots=True)
class _Progress:
    """How far one run got: the last cursor saved and the counts a `RunResult` reports."""

    cursor: Cursor | None
    pages: int = 0
    inserted: int = 0
    updated: int = 0
    filtered: int = 0
    retries: int = 0
    quarantined: int = 0
    meter: _Meter | None = None

    def result(self, source: str, status: str, error: str | None = None) -> RunResult:
        meter = self.meter
        units = meter.spend.units - meter.start_units if meter else 0
        calls = meter.spend.calls - meter.start_calls if meter else 0
        return RunResult(
            source,
            status,
            self.pages,
            self.inserted,
            self.updated,
            self.filtered,
            self.retries,
            error,
            self.quarantined,
            units,
            calls,
        )


def run_source(
    engine: Engine,
    *,
    source_name: str,
    collector: Collector,
    keep: PostFilter | None = None,
    brand_id: int | None = None,
    retry: RetryPolicy = RetryPolicy(),
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    allowance: Allowance | None = None,
) -> RunResult:
    """Collect everything new on `source_name` since its saved cursor.

    `keep` is the local re-check of the listening query: platforms interpret
    queries differently, so every post is matched again here before it is stored.
    A transient failure retries from the last saved cursor; a rate limit parks the
    source until the platform says; anything else marks it failing. With an `allowance`
    a metered collector stops before overspending it, and the source waits until its `resume_at`.
    """
    rng = rng or random.Random()
    with session_scope(engine) as session:
        source = get_source(session, source_name)
        if source is None:
            raise LookupError(f"no source named {source_name!r} in the store (is it in the settings?)")
        source_id = source.id
        progress = _Progress(cursor=source.cursor)
        parked_until = source.next_allowed_at
    assert source_id is not None
    if parked_until is not None and parked_until > clock():
        return RunResult(source_name, "skipped", error=f"waiting until {parked_until.isoformat()}")
    spend = getattr(collector, "spend", None)
    if isinstance(spend, Spend):
        if allowance is not None:
            spend.allowance = spend.units + max(0, allowance.units)
        with session_scope(engine) as session:
            spend_id = open_spend(session, source_id=source_id, at=clock())
        progress.meter = _Meter(spend, spend_id, spend.units, spend.calls, spend.units, spend.calls)

    while True:
        try:
            _store_pages(
                engine,
                collector,
                progress,
                keep=keep,
                source=source_name,
                source_id=source_id,
                brand_id=brand_id,
                clock=clock,
            )
        except QuotaExhausted as exc:
            resume_at = allowance.resume_at if allowance is not None else clock()
            note = f"{exc}; the run stopped cleanly and the source waits until {resume_at.isoformat()}"
            with session_scope(engine) as session:
                _end_run(session, collector, progress, source_id, clock())
                record_quota_wait(session, source_id=source_id, at=clock(), until=resume_at, note=note)
            log.warning("%s: budget spent; waiting until %s", source_name, resume_at.isoformat())
            return progress.result(source_name, "quota_exhausted", note)
        except RateLimited as exc:
            with session_scope(engine) as session:
                _end_run(session, collector, progress, source_id, clock())
                record_rate_limit(
                    session, source_id=source_id, at=clock(), retry_at=exc.retry_at, error=str(exc)
                )
            log.warning("%s: rate-limited until %s", source_name, exc.retry_at.isoformat())
            return progress.result(source_name, "rate_limited", str(exc))
        except TransientError as exc:
            progress.retries += 1
            if progress.retries < retry.attempts:
                delay = retry.delay(progress.retries, rng)
                log.info("%s: %s; retry %d in %.1fs", source_name, exc, progress.retries, delay)
                sleep(delay)
                continue
            error = f"gave up after {progress.retries} tries: {exc}"
            return _failed(
                engine, collector, source_id, source_name, clock, error, progress, retry_in=retry.max_delay_s
            )
        except AuthFailed as exc:
            return _failed(
                engine, collector, source_id, source_name, clock, f"authentication failed: {exc}", progress
            )
        except Exception as exc:  # an adapter bug must not take the scheduler down
            log.exception("%s: unexpected error", source_name)
            return _failed(
                engine, collector, source_id, source_name, clock, f"{type(exc).__name__}: {exc}", progress
            )
        break
    with session_scope(engine) as session:
        _end_run(session, collector, progress, source_id, clock())
        record_success(session, source_id=source_id, at=clock())
    return progress.result(source_name, "ok")


def _end_run(
    session: Session, collector: Collector, progress: _Progress, source_id: int, now: datetime
) -> None:
    """What the run spent after its last page, and the token expiry its collector reported."""
    meter = progress.meter
    if meter is not None:
        delta = meter.pending()
        add_spend(session, spend_id=meter.spend_id, units=delta[0], calls=delta[1], at=now)
        meter.recorded(delta)
    expiry = getattr(collector, "token_expiry", None)
    if isinstance(expiry, TokenExpiry):  # None: not asked, or the platform did not say; keep what was known
        record_token_expiry(session, source_id=source_id, expires_at=expiry.at)


def _store_pages(
    engine: Engine,
    collector: Collector,
    progress: _Progress,
    *,
    keep: PostFilter | None,
    source: str,
    source_id: int,
    brand_id: int | None,
    clock: Callable[[], datetime],
) -> None:
    """Each page's posts and the cursor after them in one transaction: a crash loses and repeats nothing."""
    meter = progress.meter
    for page in collector.pages(progress.cursor):
        delta = meter.pending() if meter is not None else (0, 0)
        result = store_page(
            engine,
            page,
            source=source,
            source_id=source_id,
            brand_id=brand_id,
            keep=keep,
            now=clock(),
            spend=(meter.spend_id, *delta) if meter is not None else None,
        )
        if meter is not None:
            meter.recorded(delta)
        progress.cursor = page.cursor
        progress.pages += 1
        progress.inserted += result.inserted
        progress.updated += result.updated
        progress.filtered += result.filtered
        progress.quarantined += result.quarantined


@dataclass(frozen=True, slots=True)
class PageResult:
    inserted: int = 0
    updated: int = 0
    filtered: int = 0
    quarantined: int = 0


# What a database says when one row's values cannot be stored (a bug in the boundary if it happens).
_ROW_ERRORS = (DBAPIError, StatementError, ValueError, OverflowError, UnicodeError)


def store_page(
    engine: Engine,
    page: Page,
    *,
    source: str,
    source_id: int | None = None,
    brand_id: int | None = None,
    keep: PostFilter | None = None,
    now: datetime | None = None,
    spend: tuple[int, int, int] | None = None,
) -> PageResult:
    """One page through the collector boundary into the store: good posts stored, refused items
    quarantined and (for a configured source, `source_id`) the cursor saved, in one transaction.

    Should the database still refuse the page (a value the boundary let through), the posts are
    stored one by one and the ones it refuses are quarantined with its message: one post never
    costs the page, and the cursor always moves on. `spend` (the run's spend row, units, calls) is
    what the page cost, recorded with it.
    """
    now = now or datetime.now(UTC)
    checked, rejected = screen(page, now=now)
    posts = checked if keep is None else tuple(p for p in checked if keep(p))
    try:
        with session_scope(engine) as session:
            result = upsert_posts(session, posts, source_id=source_id, brand_id=brand_id, now=now)
            _finish_page(session, page, rejected, source, source_id, brand_id, now, result.inserted, spend)
    except _ROW_ERRORS as exc:
        if _lost_connection(exc):
            raise
        log.warning("%s: the database refused a page (%s); storing its posts one by one", source, exc)
        result = UpsertResult()
        refused: list[RejectedItem] = []
        for post in posts:
            try:
                with session_scope(engine) as session:
                    result += upsert_posts(session, [post], source_id=source_id, brand_id=brand_id, now=now)
            except _ROW_ERRORS as one:
                if _lost_connection(one):
                    raise
                refused.append(rejected_post(post, f"the database refused it: {_first_line(one)}"))
        rejected = rejected + tuple(refused)
        with session_scope(engine) as session:
            _finish_page(session, page, rejected, source, source_id, brand_id, now, result.inserted, spend)
    return PageResult(result.inserted, result.updated, len(checked) - len(posts), len(rejected))


def _finish_page(
    session: Session,
    page: Page,
    rejected: tuple[RejectedItem, ...],
    source: str,
    source_id: int | None,
    brand_id: int | None,
    now: datetime,
    inserted: int,
    spend: tuple[int, int, int] | None = None,
) -> None:
    if rejected:
        quarantine(session, rejected, source=source, brand_id=brand_id, at=now)
        log.warning("%s: %d item(s) quarantined, first: %s", source, len(rejected), rejected[0].reason)
    if source_id is not None:
        save_cursor(session, source_id=source_id, cursor=page.cursor, collected=inserted)
    if spend is not None:
        add_spend(session, spend_id=spend[0], units=spend[1], calls=spend[2], at=now)


def _lost_connection(exc: BaseException) -> bool:
    """The database went away (not a value it refused): the runner's retry handles that."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__


def _failed(
    engine: Engine,
    collector: Collector,
    source_id: int,
    source_name: str,
    clock: Callable[[], datetime],
    error: str,
    progress: _Progress,
    retry_in: float | None = None,
) -> RunResult:
    at = clock()
    retry_at = at + timedelta(seconds=retry_in) if retry_in else None
    with session_scope(engine) as session:
        _end_run(session, collector, progress, source_id, at)
        record_failure(session, source_id=source_id, at=at, error=error, retry_at=retry_at)
    log.error("%s: %s", source_name, error)
    return progress.result(source_name, "failed", error)
