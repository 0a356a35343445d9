"""The runner's reading of `Spend`: each page's cost recorded with it (SQLite and PostgreSQL), a run
that spends its allowance stops cleanly and resumes after the reset, a crash keeps what was paid for."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tesoro.collector.base import Spend, TokenExpiry
from tesoro.collector.runner import Allowance, RunResult, run_source
from tesoro.models import Cursor, NormalizedAuthor, NormalizedPost, Page, Platform
from tesoro.settings import Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts
from tesoro.store.sources import get_source
from tesoro.store.spend import recent_spend
from tesoro.store.tables import Source, SourceSpend

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RESET = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


class Killed(BaseException):
    """Stands for SIGKILL: nothing of the runner's error handling runs after it."""


class Metered:
    """A collector whose platform bills `cost` units for each page's call, charged before the call."""

    platform = Platform.X

    def __init__(self, pages: int, cost: int = 10, kill_at: int | None = None) -> None:
        self.total = pages
        self.cost = cost
        self.kill_at = kill_at
        self.spend = Spend()
        self.token_expiry = TokenExpiry(NOW + timedelta(days=3))

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        for page in range(int((cursor or {}).get("page", 0)), self.total):
            self.spend.charge(self.cost)
            if page == self.kill_at:
                raise Killed
            author = NormalizedAuthor(Platform.X, external_id="a1", handle="ana")
            post = NormalizedPost(Platform.X, str(page), f"cumbre {page}", NOW - timedelta(hours=1), author)
            yield Page((post,), {"page": page + 1})


@pytest.fixture
def store(engine: Engine) -> Engine:
    settings = Settings.model_validate(
        {
            "brands": [{"name": "Andes"}],
            "queries": [{"name": "q", "brand": "Andes", "query": "cumbre"}],
            "sources": [{"name": "s", "platform": "x", "query": "q"}],
        }
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    return engine


def run(engine: Engine, collector: Metered, at: datetime = NOW, **kwargs: object) -> RunResult:
    return run_source(
        engine,
        source_name="s",
        collector=collector,
        clock=lambda: at,
        sleep=lambda _: None,
        rng=random.Random(1),
        **kwargs,  # type: ignore[arg-type]
    )


def row(engine: Engine) -> Source:
    with session_scope(engine) as session:
        source = get_source(session, "s")
        assert source is not None
        session.expunge(source)
        return source


def spends(engine: Engine) -> list[tuple[int, int]]:
    with session_scope(engine) as session:
        return [
            (r.units, r.calls)
            for r in session.execute(select(SourceSpend).order_by(SourceSpend.id)).scalars()
        ]


def test_each_run_records_what_it_spent_and_the_token_expiry(store: Engine) -> None:
    result = run(store, Metered(3))
    assert (result.status, result.units, result.calls, result.inserted) == ("ok", 30, 3, 3)
    assert spends(store) == [(30, 3)]
    assert row(store).token_expires_at == NOW + timedelta(days=3)
    run(store, Metered(5))  # resumes at page 3: two more calls
    assert spends(store) == [(30, 3), (20, 2)]
    with session_scope(store) as session:
        source_id = row(store).id
        assert source_id is not None
        assert [r.units for r in recent_spend(session, source_id=source_id)] == [20, 30]


def test_the_kept_token_expiry_follows_what_the_platform_last_said(store: Engine) -> None:
    """A run that could not ask keeps the expiry known; a token the platform now says never expires (a
    system user's, or one renewed as such) clears it, so the coverage alert stops warning."""
    run(store, Metered(1))
    assert row(store).token_expires_at == NOW + timedelta(days=3)
    unasked = Metered(2)
    unasked.token_expiry = None
    run(store, unasked)
    assert row(store).token_expires_at == NOW + timedelta(days=3)
    renewed = Metered(3)
    renewed.token_expiry = TokenExpiry(None)
    run(store, renewed)
    assert row(store).token_expires_at is None


def test_a_killed_run_has_recorded_what_its_saved_pages_cost(store: Engine) -> None:
    with pytest.raises(Killed):
        run(store, Metered(5, kill_at=2))
    # Pages 0 and 1 were stored with their cost; the call of page 2 died with the process.
    assert spends(store) == [(20, 2)]
    assert row(store).cursor == {"page": 2}
    with session_scope(store) as session:
        assert count_posts(session) == 2


def test_a_run_that_spends_its_allowance_stops_cleanly_and_resumes_after_the_reset(store: Engine) -> None:
    first = run(store, Metered(6), allowance=Allowance(25, RESET))
    # 10 units a page: pages 0 and 1 fit in 25, page 2's call is never made.
    assert (first.status, first.inserted, first.units) == ("quota_exhausted", 2, 20)
    assert first.error is not None and "waits until 2026-12-08T08:00:00+00:00" in first.error
    source = row(store)
    assert (source.cursor, source.health, source.next_allowed_at) == ({"page": 2}, "ok", RESET)
    assert source.planned_run_at == RESET and source.last_error is None
    assert spends(store) == [(20, 2)]

    early = run(store, Metered(6), at=RESET - timedelta(minutes=1), allowance=Allowance(1_000, RESET))
    assert early.status == "skipped" and early.units == 0
    assert spends(store) == [(20, 2)], "a skipped run opens no spend row"

    after = run(store, Metered(6), at=RESET + timedelta(seconds=1), allowance=Allowance(1_000, RESET))
    assert (after.status, after.inserted, after.units) == ("ok", 4, 40)
    assert row(store).cursor == {"page": 6} and row(store).next_allowed_at is None
    with session_scope(store) as session:
        assert count_posts(session) == 6, "nothing lost, nothing twice"


def test_an_allowance_with_no_room_for_one_call_stores_nothing_and_waits(store: Engine) -> None:
    result = run(store, Metered(3, cost=100), allowance=Allowance(50, RESET))
    assert (result.status, result.inserted, result.units, result.calls) == ("quota_exhausted", 0, 0, 0)
    assert row(store).next_allowed_at == RESET and row(store).cursor is None


def test_a_collector_without_spend_records_nothing(store: Engine) -> None:
    class Free:
        """An unmetered platform's collector (Bluesky, Mastodon, files): no `spend`."""

        platform = Platform.X

        def pages(self, cursor: Cursor | None) -> Iterator[Page]:
            author = NormalizedAuthor(Platform.X, external_id="a1", handle="ana")
            yield Page((NormalizedPost(Platform.X, "1", "cumbre", NOW, author),), {"page": 1})

    result = run_source(store, source_name="s", collector=Free(), clock=lambda: NOW)
    assert (result.status, result.units, result.calls) == ("ok", 0, 0)
    assert spends(store) == []
