"""The collection runner: pages and cursors in one transaction, retries, rate limits, health."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tesoro.collector.base import AuthFailed, RateLimited, TransientError
from tesoro.collector.runner import RetryPolicy, RunResult, run_source
from tesoro.models import Cursor, NormalizedAuthor, NormalizedPost, Page, Platform
from tesoro.settings import Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts
from tesoro.store.sources import get_source
from tesoro.store.tables import Source

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def make_post(i: int, text: str = "love my cumbre") -> NormalizedPost:
    author = NormalizedAuthor(Platform.X, external_id="a1", handle="ana")
    return NormalizedPost(Platform.X, str(i), f"{text} {i}", NOW, author)


class Scripted:
    """A collector that serves numbered pages and raises the scripted error before page `fail_at`."""

    platform = Platform.X

    def __init__(
        self, pages: int, per_page: int = 3, errors: dict[int, list[Exception]] | None = None
    ) -> None:
        self.pages_total = pages
        self.per_page = per_page
        self.errors = errors or {}
        self.calls: list[Cursor | None] = []

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        self.calls.append(cursor)
        start = int((cursor or {}).get("page", 0))
        for page in range(start, self.pages_total):
            pending = self.errors.get(page)
            if pending:
                raise pending.pop(0)
            posts = tuple(make_post(page * self.per_page + k) for k in range(self.per_page))
            yield Page(posts, {"page": page + 1})


@pytest.fixture
def store(sqlite_engine: Engine) -> Engine:
    settings = Settings.model_validate(
        {
            "brands": [{"name": "Andes"}],
            "queries": [{"name": "q", "brand": "Andes", "query": "cumbre"}],
            "sources": [
                {"name": "s", "platform": "x", "query": "q", "credentials": {"bearer_token_env": "T"}}
            ],
        }
    )
    with session_scope(sqlite_engine) as session:
        sync_catalog(session, settings)
    return sqlite_engine


def run(engine: Engine, collector: Scripted, **kwargs: Any) -> tuple[RunResult, list[float]]:
    sleeps: list[float] = []
    result = run_source(
        engine,
        source_name="s",
        collector=collector,
        clock=lambda: NOW,
        sleep=sleeps.append,
        rng=random.Random(1),
        **kwargs,
    )
    return result, sleeps


def source_row(engine: Engine) -> Source:
    with session_scope(engine) as session:
        row = get_source(session, "s")
    assert row is not None
    return row


def test_all_pages_stored_and_cursor_saved(store: Engine) -> None:
    (result, _) = run(store, Scripted(pages=4))
    assert result.status == "ok" and result.pages == 4 and result.inserted == 12
    row = source_row(store)
    assert row.cursor == {"page": 4} and row.health == "ok" and row.posts_collected == 12
    (again, _) = run(store, Scripted(pages=4))
    assert again.inserted == 0 and again.pages == 0


def test_local_filter_drops_posts_that_do_not_match(store: Engine) -> None:
    (result, _) = run(store, Scripted(pages=2), keep=lambda p: int(p.external_id) % 2 == 0)
    assert result.inserted == 3 and result.filtered_out == 3


def test_transient_error_retries_from_the_last_saved_cursor(store: Engine) -> None:
    collector = Scripted(pages=4, errors={2: [TransientError("503"), TransientError("timeout")]})
    (result, sleeps) = run(store, collector, retry=RetryPolicy(attempts=4, base_delay_s=2))
    assert result.status == "ok" and result.retries == 2 and result.inserted == 12
    assert collector.calls == [None, {"page": 2}, {"page": 2}], "resumes where it stopped, never from scratch"
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 2 and 0 <= sleeps[1] <= 4, "exponential backoff with jitter"
    with session_scope(store) as session:
        assert count_posts(session) == 12


def test_gives_up_after_the_retry_budget_and_keeps_what_it_stored(store: Engine) -> None:
    collector = Scripted(pages=3, errors={1: [TransientError("503")] * 10})
    (result, _) = run(store, collector, retry=RetryPolicy(attempts=3))
    assert result.status == "failed" and result.inserted == 3
    row = source_row(store)
    assert row.health == "degraded" and "gave up after 3 tries: 503" in (row.last_error or "")
    assert row.cursor == {"page": 1}


def test_rate_limit_parks_the_source_until_reset(store: Engine) -> None:
    reset = NOW + timedelta(minutes=15)
    collector = Scripted(pages=3, errors={1: [RateLimited("429 Too Many Requests", retry_at=reset)]})
    (result, sleeps) = run(store, collector)
    assert result.status == "rate_limited" and result.inserted == 3 and sleeps == []
    row = source_row(store)
    assert row.health == "degraded" and row.next_allowed_at is not None
    assert row.next_allowed_at.replace(tzinfo=UTC) == reset
    (skipped, _) = run(store, Scripted(pages=3))
    assert skipped.status == "skipped"


def test_auth_failure_is_not_retried(store: Engine) -> None:
    collector = Scripted(pages=2, errors={0: [AuthFailed("401 Unauthorized")]})
    (result, sleeps) = run(store, collector)
    assert result.status == "failed" and sleeps == [] and collector.calls == [None]
    assert "authentication failed" in (source_row(store).last_error or "")


def test_unexpected_adapter_bug_is_contained_and_escalates_to_failing(store: Engine) -> None:
    for _ in range(3):
        (result, _) = run(store, Scripted(pages=1, errors={0: [KeyError("id")]}))
        assert result.status == "failed"
    row = source_row(store)
    assert row.health == "failing" and row.consecutive_failures == 3 and "KeyError" in (row.last_error or "")
    (ok, _) = run(store, Scripted(pages=1))
    assert ok.status == "ok" and source_row(store).health == "ok"


def test_unknown_source_is_a_clear_error(store: Engine) -> None:
    with pytest.raises(LookupError, match="no source named 'nope'"):
        run_source(store, source_name="nope", collector=Scripted(pages=1))
