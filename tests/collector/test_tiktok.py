"""TikTokCollector and its httpx Research API client against the simulator's TikTok routes."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from tesoro.collector.base import AuthFailed, Collector, CollectorError, RateLimited, TransientError
from tesoro.collector.runner import run_source
from tesoro.collector.tiktok import TikTokCollector, normalize_video, to_tiktok
from tesoro.collector.tiktok_api import next_daily_reset
from tesoro.models import Cursor, MediaType, NormalizedPost, Page, Platform
from tesoro.settings import Settings
from tesoro.simulator import tiktok as sim_tt
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts
from tesoro.store.sources import get_source
from tesoro.text.query import parse

QUERY = "andes OR cumbre OR nube OR volcan OR #andesoutdoor"
KEYWORDS = ("andes", "cumbre", "nube", "volcan")
ALICE = SimAuthor(42, "alice_trails", "Alice Trails", followers=12_500, following=310)


def make_collector(sim: SimulatorServer, **overrides: Any) -> TikTokCollector:
    options: dict[str, Any] = {
        "query": QUERY,
        "client_key": sim.state.credentials.tiktok_client_key,
        "client_secret": sim.state.credentials.tiktok_client_secret,
        "base_url": sim.base_url,
        "page_size": 10,
        "timeout_s": 5.0,
    }
    options.update(overrides)
    return TikTokCollector(**options)


def drain(collector: TikTokCollector, cursor: Cursor | None) -> list[Page]:
    return list(collector.pages(cursor))


def ids(pages: list[Page]) -> list[str]:
    return [post.external_id for page in pages for post in page.posts]


def matching(state: SimState, *, since: datetime | None = None) -> set[str]:
    since = since or datetime.now(UTC) - timedelta(days=8)
    return {
        str(p.id)
        for p in state.world.posts("tiktok")
        if p.reply_to is None
        and p.created_at >= since
        and (any(k in p.text.casefold() for k in KEYWORDS) or "andesoutdoor" in p.hashtags)
    }


def add_video(state: SimState, text: str, **fields: Any) -> SimPost:
    values: dict[str, Any] = {
        "lang": "es",
        "author": ALICE,
        "kind": "video",
        "created_at": datetime.now(UTC) - timedelta(minutes=5),
        "views": 5000,
        "likes": 300,
        "reposts": 12,
        "replies": 20,
    }
    values.update(fields)
    post_id = state.world.next_id()
    values.setdefault("media", (SimMedia(str(post_id), "video", "u", "p", 1080, 1920, duration_ms=31_400),))
    post = SimPost(id=post_id, platform="tiktok", text=text, **values)
    state.world.add(post)
    return post


@pytest.fixture
def world(sim: SimulatorServer) -> Iterator[SimulatorServer]:
    sim.state.world.grow(60, platforms=("tiktok",))
    assert len(matching(sim.state)) > 25
    yield sim


def test_is_a_collector_and_compiles_the_query_to_research_conditions() -> None:
    assert to_tiktok(parse('(cumbre OR "nube jacket" OR #AndesOutdoor) -falso lang:es')) == {
        "or": [
            {"operation": "IN", "field_name": "keyword", "field_values": ["cumbre", "nube jacket"]},
            {"operation": "IN", "field_name": "hashtag_name", "field_values": ["andesoutdoor"]},
        ]
    }
    with pytest.raises(CollectorError):
        to_tiktok(parse("-cumbre lang:es"))
    with pytest.raises(ValueError):
        TikTokCollector(query="andes", client_key="k", client_secret="s", page_size=101)


def test_a_clean_run_pages_by_search_id_and_cursor_and_counts_requests(world: SimulatorServer) -> None:
    collector = make_collector(world)
    assert isinstance(collector, Collector)
    pages = drain(collector, None)

    assert sorted(ids(pages)) == sorted(matching(world.state))
    assert len(ids(pages)) == len(set(ids(pages)))
    assert len(pages) == -(-len(matching(world.state)) // 10)
    assert all({"search_id", "cursor", "end"} <= set(p.cursor) for p in pages[:-1])
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert pages[-1].cursor == {"since": yesterday.strftime("%Y%m%d")}
    assert collector.spend.units == collector.spend.calls == len(pages) == world.state.spent["tiktok"]
    assert collector.client.tokens_fetched == 1


def test_normalizes_description_metrics_duration_and_author(sim: SimulatorServer) -> None:
    post = add_video(
        sim.state, "Probando las Cumbre en el barro #andesoutdoor #trailrunning", hashtags=("andesoutdoor",)
    )
    [page] = drain(make_collector(sim), None)
    [video] = page.posts
    assert video.platform is Platform.TIKTOK and video.external_id == str(post.id)
    assert video.text == post.text
    assert video.url == f"https://www.tiktok.com/@alice_trails/video/{post.id}"
    assert video.author.handle == video.author.external_id == "alice_trails"
    assert video.metrics.likes == 300 and video.metrics.reposts == 12 and video.metrics.replies == 20
    assert video.metrics.views == 5000
    assert video.hashtags == ("andesoutdoor", "trailrunning")
    [media] = video.media
    assert media.type is MediaType.VIDEO and media.duration_ms == 31_000
    assert video.created_at == post.created_at.replace(microsecond=0)


def test_old_sources_walk_windows_of_at_most_thirty_days(sim: SimulatorServer) -> None:
    now = datetime.now(UTC)
    old = add_video(sim.state, "cumbre hace mucho", created_at=now - timedelta(days=50))
    older = add_video(sim.state, "cumbre hace más", created_at=now - timedelta(days=40))
    recent = add_video(sim.state, "cumbre hoy", created_at=now - timedelta(minutes=1))
    since = (now - timedelta(days=60)).date().strftime("%Y%m%d")
    collector = make_collector(sim)
    pages = drain(collector, {"since": since})
    assert set(ids(pages)) == {str(old.id), str(older.id), str(recent.id)}
    # 60 days: two windows of 30 days and one of the last days, one request each.
    assert len(pages) == 3 and collector.spend.calls == 3
    assert [p.cursor["since"] for p in pages[:2]] == [
        (now - timedelta(days=30)).date().strftime("%Y%m%d"),
        now.date().strftime("%Y%m%d"),
    ]


def test_resume_from_a_mid_run_cursor_loses_and_repeats_nothing(world: SimulatorServer) -> None:
    head = drain(make_collector(world, max_pages=2), None)
    assert "search_id" in head[-1].cursor
    rest = drain(make_collector(world), head[-1].cursor)
    assert sorted(ids(head) + ids(rest)) == sorted(matching(world.state))


def test_a_search_id_tiktok_forgot_restarts_the_window(world: SimulatorServer) -> None:
    first = drain(make_collector(world, max_pages=1), None)[0].cursor
    forgotten = {**first, "search_id": "999"}
    pages = drain(make_collector(world), forgotten)
    assert sorted(ids(pages)) == sorted(matching(world.state))


def test_an_expired_token_is_replaced_before_the_call(world: SimulatorServer) -> None:
    world.state.tiktok_token_ttl_s = 30.0  # inside the client's one-minute margin: renewed every call
    collector = make_collector(world)
    pages = drain(collector, None)
    assert collector.client.tokens_fetched == len(pages) > 1


def test_a_token_revoked_early_is_renewed_once(world: SimulatorServer) -> None:
    world.state.faults.inject("tiktok.query", Fault.AUTH)
    collector = make_collector(world)
    assert sorted(ids(drain(collector, None))) == sorted(matching(world.state))
    assert collector.client.tokens_fetched == 2


def test_a_token_that_keeps_failing_and_wrong_credentials_fail_auth(world: SimulatorServer) -> None:
    world.state.faults.inject("tiktok.query", Fault.AUTH, times=2)
    with pytest.raises(AuthFailed, match="fresh"):
        drain(make_collector(world), None)
    with pytest.raises(AuthFailed, match="invalid_client"):
        drain(make_collector(world, client_secret="wrong"), None)


def test_the_daily_request_limit_parks_until_midnight_utc_then_resumes(
    world: SimulatorServer, engine: Engine
) -> None:
    world.state.daily_limits["tiktok"] = 2
    settings = Settings.model_validate(
        {
            "brands": [{"name": "Andes"}],
            "queries": [{"name": "q", "brand": "Andes", "query": QUERY}],
            "sources": [
                {
                    "name": "tt",
                    "platform": "tiktok",
                    "query": "q",
                    "credentials": {"client_key_env": "K", "client_secret_env": "S"},
                }
            ],
        }
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)

    def run(now: datetime) -> Any:
        return run_source(
            engine,
            source_name="tt",
            collector=make_collector(world),
            clock=lambda: now,
            sleep=lambda _: None,
            rng=random.Random(1),
        )

    parked = run(datetime.now(UTC))
    assert parked.status == "rate_limited" and parked.pages == 2
    with session_scope(engine) as session:
        source = get_source(session, "tt")
        assert source is not None and source.cursor is not None and "search_id" in source.cursor
        reset = source.next_allowed_at
        assert count_posts(session, platform="tiktok") == 20
    assert reset is not None and reset.replace(tzinfo=UTC) == next_daily_reset()

    world.state.new_day()
    world.state.daily_limits["tiktok"] = 1_000
    resumed = run(reset.replace(tzinfo=UTC) + timedelta(seconds=1))
    assert resumed.status == "ok", resumed.error
    with session_scope(engine) as session:
        assert count_posts(session, platform="tiktok") == len(matching(world.state))


@pytest.mark.parametrize("route", ["tiktok.query", "tiktok.token"])
@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.MALFORMED, Fault.RATE_LIMIT])
def test_faults_are_transient_or_rate_limits(world: SimulatorServer, route: str, fault: Fault) -> None:
    world.state.faults.inject(route, fault)
    expected = RateLimited if fault is Fault.RATE_LIMIT else TransientError
    with pytest.raises(expected):
        drain(make_collector(world), None)
    assert sorted(ids(drain(make_collector(world), None))) == sorted(matching(world.state))


def test_timeout_and_connection_refused_are_transient(world: SimulatorServer) -> None:
    world.state.faults.inject("tiktok.query", Fault.TIMEOUT)
    started = time.monotonic()
    with pytest.raises(TransientError):
        drain(make_collector(world, timeout_s=0.3), None)
    assert time.monotonic() - started < world.state.timeout_hold_s
    refused = TikTokCollector(query="andes", client_key="k", client_secret="s", base_url="http://127.0.0.1:9")
    with pytest.raises(TransientError):
        drain(refused, None)


def test_hostile_videos_cost_only_themselves() -> None:
    good = {"id": 7_301_234_567_890_123_456, "create_time": 1_764_000_000, "username": "ana", "like_count": 3}
    post = normalize_video(good)
    assert isinstance(post, NormalizedPost) and post.external_id == "7301234567890123456"
    assert post.metrics.views is None and post.text == "" and post.media[0].duration_ms is None
    for broken in (
        {},
        {**good, "id": True},
        {**good, "id": "12ab"},
        {**good, "id": 10**30},
        {**good, "create_time": "yesterday"},
        {**good, "create_time": 10**20},
        {**good, "username": ""},
        {**good, "username": ["ana"]},
    ):
        assert normalize_video(broken) is None, broken
    weird = normalize_video(
        {**good, "like_count": "12", "hashtag_names": ["ok", 3, None, ""], "view_count": -5}
    )
    assert weird is not None and weird.metrics.likes == 0 and weird.hashtags == ("ok",)


def test_a_page_with_hostile_items_stores_the_rest(sim: SimulatorServer, engine: Engine) -> None:
    add_video(sim.state, "cumbre <script>alert(1)</script> \x00 \u202e")
    add_video(sim.state, "cumbre " + "🎵" * 3000, views=-1)
    add_video(sim.state, "cumbre normal")
    settings = Settings.model_validate(
        {
            "brands": [{"name": "Andes"}],
            "queries": [{"name": "q", "brand": "Andes", "query": "cumbre"}],
            "sources": [
                {
                    "name": "tt",
                    "platform": "tiktok",
                    "query": "q",
                    "credentials": {"client_key_env": "K", "client_secret_env": "S"},
                }
            ],
        }
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    result = run_source(engine, source_name="tt", collector=make_collector(sim, query="cumbre"))
    assert result.status == "ok" and result.inserted + result.quarantined == 3 and result.inserted >= 2


def test_simulator_refuses_windows_over_thirty_days_and_unknown_fields(sim: SimulatorServer) -> None:
    token = httpx.post(
        f"{sim.base_url}{sim_tt.TOKEN_PATH}",
        data={
            "client_key": "sim-tiktok-key",
            "client_secret": "sim-tiktok-secret",
            "grant_type": "client_credentials",
        },
    ).json()
    assert token["token_type"] == "Bearer" and token["access_token"].startswith("clt.")
    assert token["expires_in"] == 7200
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    body = {
        "query": {"and": [{"operation": "EQ", "field_name": "keyword", "field_values": ["cumbre"]}]},
        "start_date": "20260101",
        "end_date": "20260201",
    }
    wide = httpx.post(f"{sim.base_url}{sim_tt.QUERY_PATH}?fields=id", json=body, headers=headers)
    assert wide.status_code == 400 and wide.json()["error"]["code"] == "invalid_params"
    body["end_date"] = "20260131"
    fine = httpx.post(f"{sim.base_url}{sim_tt.QUERY_PATH}?fields=id", json=body, headers=headers)
    assert fine.status_code == 200 and fine.json()["error"]["code"] == "ok"
    unknown = httpx.post(f"{sim.base_url}{sim_tt.QUERY_PATH}?fields=id,secret", json=body, headers=headers)
    assert unknown.status_code == 400
    anonymous = httpx.post(f"{sim.base_url}{sim_tt.QUERY_PATH}?fields=id", json=body)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "access_token_invalid"
    assert next_daily_reset(datetime(2026, 12, 7, 23, 59, tzinfo=UTC)) == datetime(2026, 12, 8, tzinfo=UTC)
    assert date(2026, 1, 31) - date(2026, 1, 1) <= timedelta(days=sim_tt.MAX_WINDOW_DAYS)
