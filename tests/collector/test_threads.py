"""ThreadsCollector through its Graph client against the simulator's Threads routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tesoro.collector.base import AuthFailed, RateLimited, TokenExpiry, TransientError
from tesoro.collector.instagram_client import TokenExpired
from tesoro.collector.threads import ThreadsCollector, keywords_of_query, normalize_thread
from tesoro.models import MediaType, Page, Platform
from tesoro.simulator.common import loose_match
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.threads import thread_id
from tesoro.text.query.errors import QueryCompileError

TOKEN = "sim-threads-token"
QUERY = "cumbre OR #andesoutdoor"
MAYA = SimAuthor(id=78, handle="maya.trails", name="Maya", followers=1200, following=300)


def make(sim: SimulatorServer, **overrides: Any) -> ThreadsCollector:
    values: dict[str, Any] = {
        "query": QUERY,
        "access_token": TOKEN,
        "account_id": sim.state.credentials.threads_user_id,
        "base_url": f"{sim.base_url}/threads/v1.0",
        "page_size": 10,
        "timeout_s": 5.0,
    } | overrides
    return ThreadsCollector(**values)


def ids(pages: list[Page]) -> list[str]:
    return [p.external_id for page in pages for p in page.posts]


def add(sim: SimulatorServer, text: str, **fields: Any) -> SimPost:
    world = sim.state.world
    values: dict[str, Any] = {
        "id": world.next_id(),
        "platform": "threads",
        "created_at": datetime.now(UTC),
        "text": text,
        "lang": "es",
        "author": MAYA,
        "kind": "review",
    } | fields
    post = SimPost(**values)
    world.add(post)
    return post


def test_keyword_searches_and_mentions_page_then_collect_only_new(sim: SimulatorServer) -> None:
    sim.state.world.grow(150, platforms=("threads",))
    collector = make(sim)
    assert collector.keywords == ("cumbre", "andesoutdoor")
    pages = list(collector.pages(None))
    got = ids(pages)
    assert len(got) == len(set(got))
    posts = sim.state.world.posts("threads")
    want = {
        thread_id(p)
        for p in posts
        if loose_match("cumbre", p.text)
        or loose_match("andesoutdoor", p.text)
        or "@andesoutdoor" in p.text.lower()
    }
    assert set(got) == want and len(pages) > 4
    assert collector.spend.units >= len(collector.keywords)  # every keyword page is a query
    assert collector.spend.units < collector.spend.calls  # the mentions edge costs no query
    fresh = add(sim, "Las Cumbre aguantan todo")
    later = ids(list(make(sim).pages(pages[-1].cursor)))
    assert thread_id(fresh) in later and len(later) < len(got) // 2


def test_a_run_cut_by_max_pages_resumes_with_exactly_the_rest(sim: SimulatorServer) -> None:
    sim.state.world.grow(120, platforms=("threads",))
    full = ids(list(make(sim, include_mentions=False).pages(None)))
    first = list(make(sim, include_mentions=False, max_pages=1).pages(None))
    rest = list(make(sim, include_mentions=False).pages(first[-1].cursor))
    assert set(ids(first)) | set(ids(rest)) == set(full)
    # A post both searches find may come once in each run (the store keeps one row), never twice in one.
    assert len(ids(rest)) == len(set(ids(rest)))


def test_posts_are_normalized_with_media_and_no_counts(sim: SimulatorServer) -> None:
    post = add(
        sim,
        "Mis Cumbre nuevas @andesoutdoor #trail",
        media=(
            SimMedia("a", "photo", "https://scontent.cdninstagram.com/v/t.jpg", "", 1080, 1350),
            SimMedia(
                "b", "video", "https://scontent.cdninstagram.com/v/t.mp4", "https://x/t.jpg", 1080, 1920
            ),
        ),
        likes=90,
    )
    got = {p.external_id: p for page in make(sim).pages(None) for p in page.posts}[thread_id(post)]
    assert got.platform is Platform.THREADS and got.author.handle == "maya.trails"
    assert [m.type for m in got.media] == [MediaType.PHOTO, MediaType.VIDEO]
    assert got.metrics.likes == 0  # search results carry no counts
    assert got.mentions == ("andesoutdoor",) and got.hashtags == ("trail",)
    assert got.url is not None and got.url.startswith("https://www.threads.net/@maya.trails/post/")
    for bad in ({"id": "1", "timestamp": "2026-12-07T10:00:00+0000"}, {"id": "x", "username": "u"}, {}):
        assert normalize_thread(bad) is None


def test_the_daily_keyword_budget_runs_out_and_comes_back(sim: SimulatorServer) -> None:
    sim.state.world.grow(30, platforms=("threads",))
    sim.state.meta.keyword_queries_per_day = 1
    with pytest.raises(RateLimited) as caught:
        list(make(sim).pages(None))
    assert "code 613" in str(caught.value)
    sim.state.meta.reset_usage()
    sim.state.meta.keyword_queries_per_day = 2_200
    assert ids(list(make(sim).pages(None)))


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.MALFORMED, Fault.TIMEOUT])
def test_faults_are_transient(sim: SimulatorServer, fault: Fault) -> None:
    sim.state.faults.inject("threads.mentions", fault)
    with pytest.raises(TransientError):
        list(make(sim, query="", timeout_s=0.5).pages(None))


def test_expired_and_wrong_tokens(sim: SimulatorServer) -> None:
    sim.state.faults.inject("threads.keyword_search", Fault.AUTH)
    with pytest.raises(TokenExpired, match="refresh_access_token"):
        list(make(sim).pages(None))
    with pytest.raises(AuthFailed):
        list(make(sim, access_token="wrong").pages(None))


def test_a_query_without_a_positive_term_is_refused() -> None:
    with pytest.raises(QueryCompileError):
        keywords_of_query("-cumbre")
    assert keywords_of_query('"andes outdoor" OR @andesoutdoor') == ("andes outdoor", "andesoutdoor")


def test_each_run_asks_the_threads_host_when_its_token_expires(sim: SimulatorServer) -> None:
    """Threads' own debug_token: a 60-day token reports its expiry; one that never expires says so; a failed
    question leaves the run collecting; an expired token stops the run with the renewal steps."""
    sim.state.world.grow(40, platforms=("threads",))
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    sim.state.meta.token_expires[TOKEN] = soon.timestamp()
    collector = make(sim)
    assert ids(list(collector.pages(None)))
    assert collector.token_expiry == TokenExpiry(soon)
    assert sim.state.faults.calls["threads.debug_token"] == 1  # one question a run, not one a page
    sim.state.meta.token_expires[TOKEN] = 0
    never = make(sim)
    assert ids(list(never.pages(None))) and never.token_expiry == TokenExpiry(None)
    sim.state.faults.inject("threads.debug_token", Fault.SERVER_ERROR)
    asked = make(sim)
    assert ids(list(asked.pages(None))) and asked.token_expiry is None
    sim.state.meta.expired.add(TOKEN)
    with pytest.raises(TokenExpired):
        list(make(sim).pages(None))


def test_the_simulator_inspects_only_the_callers_own_token(sim: SimulatorServer) -> None:
    import httpx

    base = f"{sim.base_url}/threads/v1.0/debug_token"
    own = httpx.get(base, params={"input_token": TOKEN, "access_token": TOKEN}, timeout=5)
    other = httpx.get(base, params={"input_token": "someone-else", "access_token": TOKEN}, timeout=5)
    assert own.status_code == 200 and own.json()["data"]["is_valid"] is True
    assert "threads_basic" in own.json()["data"]["scopes"]
    assert other.status_code == 400 and other.json()["error"]["code"] == 100
