"""TikTokMentionsCollector and its httpx API for Business client against the simulator's mention routes."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from tesoro.collector.base import AuthFailed, Collector, RateLimited, TransientError
from tesoro.collector.registry import build_collector, credential_names
from tesoro.collector.runner import run_source
from tesoro.collector.tiktok import TikTokCollector
from tesoro.collector.tiktok_business_api import InvalidParams, KeptToken, TokenExpired
from tesoro.collector.tiktok_mentions import TikTokMentionsCollector, normalize_mention
from tesoro.collector.tokens import StoreTokens
from tesoro.models import Cursor, MediaType, NormalizedPost, Page, Platform
from tesoro.settings import Settings
from tesoro.simulator import tiktok_business as sim_tb
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts
from tesoro.store.sources import get_source
from tesoro.store.tables import PlatformToken

ALICE = SimAuthor(42, "alice_trails", "Alice Trails", followers=12_500, following=310)
BOB = SimAuthor(43, "bob.cumbres", "Bob", followers=800, following=90)


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
    values.setdefault(
        "media",
        (
            SimMedia(
                str(post_id),
                "video",
                f"https://v16.tiktokcdn.com/{post_id}.mp4",
                f"https://p16-sign-va.tiktokcdn.com/{post_id}.jpeg",
                1080,
                1920,
                duration_ms=31_400,
            ),
        ),
    )
    post = SimPost(id=post_id, platform="tiktok", text=text, **values)
    state.world.add(post)
    return post


def mentioned(state: SimState, *, days: int = 7) -> set[str]:
    since = datetime.now(UTC) - timedelta(days=days)
    handle = state.world.spec.handle
    return {
        str(p.id) for p in state.world.posts("tiktok") if p.created_at >= since and sim_tb.mentions(p, handle)
    }


def make_collector(sim: SimulatorServer, **overrides: Any) -> TikTokMentionsCollector:
    creds = sim.state.credentials
    options: dict[str, Any] = {
        "access_token": creds.tiktok_business_token,
        "business_id": creds.tiktok_business_id,
        "base_url": sim.base_url,
        "page_size": 10,
        "timeout_s": 5.0,
    }
    options.update(overrides)
    return TikTokMentionsCollector(**options)


def renewing(sim: SimulatorServer, **overrides: Any) -> TikTokMentionsCollector:
    creds = sim.state.credentials
    options: dict[str, Any] = {
        "app_id": creds.tiktok_app_id,
        "app_secret": creds.tiktok_app_secret,
        "refresh_token": creds.tiktok_business_refresh_token,
    }
    return make_collector(sim, **{**options, **overrides})


def drain(collector: TikTokMentionsCollector, cursor: Cursor | None) -> list[Page]:
    return list(collector.pages(cursor))


def ids(pages: list[Page]) -> list[str]:
    return [post.external_id for page in pages for post in page.posts]


@pytest.fixture
def world(sim: SimulatorServer) -> Iterator[SimulatorServer]:
    sim.state.world.grow(40, platforms=("tiktok",))
    now = datetime.now(UTC)
    for i in range(34):
        author = ALICE if i % 2 else BOB
        add_video(
            sim.state,
            f"Probando la Cumbre {i} con @andesoutdoor #trailrunning",
            author=author,
            created_at=now - timedelta(hours=3 * i + 1),
        )
    add_video(sim.state, "cumbre sin mención", created_at=now - timedelta(hours=2))
    add_video(sim.state, "vieja @andesoutdoor", created_at=now - timedelta(days=9))
    assert len(mentioned(sim.state)) >= 34
    yield sim


def settings_for(source: dict[str, Any]) -> Settings:
    return Settings.model_validate(
        {
            "brands": [{"name": "Andes"}],
            "queries": [{"name": "q", "brand": "Andes", "query": "@andesoutdoor OR cumbre"}],
            "sources": [{"name": "tt-mentions", "platform": "tiktok", "query": "q", **source}],
        }
    )


def test_an_account_id_makes_a_tiktok_source_a_mentions_source(sim: SimulatorServer) -> None:
    creds = sim.state.credentials
    settings = settings_for(
        {
            "account_id": creds.tiktok_business_id,
            "base_url": sim.base_url,
            "credentials": {"access_token_env": "TT_TOKEN", "refresh_token_env": "TT_REFRESH"},
        }
    )
    source = settings.sources[0]
    assert credential_names(source) == (("access_token",), ("app_id", "app_secret", "refresh_token"))
    assert source.budget.plan == "mentions" and not source.budget.metered
    environ = {"TT_TOKEN": creds.tiktok_business_token, "TT_REFRESH": "r"}
    collector = build_collector(settings, source, environ)
    assert isinstance(collector, TikTokMentionsCollector) and isinstance(collector, Collector)
    assert collector.client.refresh_token == "r" and not collector.client.can_renew
    research = settings_for({"credentials": {"client_key_env": "K", "client_secret_env": "S"}}).sources[0]
    assert research.budget.plan == "default" and research.budget.limit == 1_000
    assert isinstance(build_collector(settings, research, {"K": "k", "S": "s"}), TikTokCollector)
    with pytest.raises(ValueError):
        make_collector(sim, page_size=101)
    with pytest.raises(ValueError):
        make_collector(sim, business_id=" ")


def test_a_clean_run_pages_newest_first_and_stops_with_the_newest_time(world: SimulatorServer) -> None:
    collector = make_collector(world)
    pages = drain(collector, None)
    expected = mentioned(world.state)
    assert sorted(ids(pages)) == sorted(expected)
    assert len(ids(pages)) == len(set(ids(pages)))
    assert len(pages) == -(-len(expected) // 10)
    assert all(set(p.cursor) == {"top", "offset"} for p in pages[:-1])  # a first run has no `since`
    assert [p.cursor["offset"] for p in pages[:-1]] == [10 * (i + 1) for i in range(len(pages) - 1)]
    newest = max(
        int(p.created_at.timestamp()) for p in world.state.world.posts("tiktok") if str(p.id) in expected
    )
    assert pages[-1].cursor == {"since": newest}
    assert collector.spend.calls == len(pages)
    times = [post.created_at for page in pages for post in page.posts]
    assert times == sorted(times, reverse=True)


def test_normalizes_caption_metrics_thumbnail_and_author(sim: SimulatorServer) -> None:
    post = add_video(sim.state, "Unboxing con @AndesOutdoor #Cumbre #trail", author=BOB, likes=7, views=900)
    [page] = drain(make_collector(sim), None)
    [video] = page.posts
    assert video.platform is Platform.TIKTOK and video.external_id == str(post.id)
    assert video.text == post.text
    assert video.url == f"https://www.tiktok.com/@bob.cumbres/video/{post.id}"
    assert video.author.handle == video.author.external_id == "bob.cumbres"
    assert video.metrics.likes == 7 and video.metrics.reposts == 12 and video.metrics.replies == 20
    assert video.metrics.views == 900
    assert video.hashtags == ("cumbre", "trail")
    [media] = video.media
    assert media.type is MediaType.VIDEO and media.url == video.url
    assert media.preview_url is not None and media.preview_url.endswith(f"/{post.id}.jpeg")
    assert video.created_at == post.created_at.replace(microsecond=0)


def test_the_next_run_stops_a_day_before_the_newest_it_stored(world: SimulatorServer) -> None:
    first = drain(make_collector(world), None)
    new = add_video(world.state, "otra más @andesoutdoor", created_at=datetime.now(UTC))
    collector = make_collector(world)
    again = drain(collector, first[-1].cursor)
    # Only the pages down to a day before the last run's newest: the new video and the last day.
    assert str(new.id) in ids(again) and len(again) < len(first)
    assert again[-1].cursor == {"since": int(new.created_at.timestamp())}
    assert collector.spend.calls == len(again)


def test_resume_from_a_mid_run_cursor_loses_nothing(world: SimulatorServer) -> None:
    head = drain(make_collector(world, max_pages=2), None)
    assert head[-1].cursor["offset"] == 20
    rest = drain(make_collector(world), head[-1].cursor)
    assert sorted(set(ids(head) + ids(rest))) == sorted(mentioned(world.state))
    assert set(ids(head)).isdisjoint(ids(rest))
    assert rest[-1].cursor == {"since": head[-1].cursor["top"]}


def test_an_expired_token_is_renewed_once_with_the_refresh_token(world: SimulatorServer) -> None:
    world.state.tiktok_business_tokens[world.state.credentials.tiktok_business_token] = time.time() - 1
    collector = renewing(world)
    assert sorted(ids(drain(collector, None))) == sorted(mentioned(world.state))
    assert collector.client.renewals == 1
    assert collector.client.refresh_token != world.state.credentials.tiktok_business_refresh_token
    expiry = collector.token_expiry
    assert expiry is not None and expiry.at is not None
    assert timedelta(hours=23) < expiry.at - datetime.now(UTC) <= timedelta(hours=24)


def renewing_source(sim: SimulatorServer, engine: Engine) -> tuple[Settings, dict[str, str]]:
    creds = sim.state.credentials
    settings = settings_for(
        {
            "account_id": creds.tiktok_business_id,
            "base_url": sim.base_url,
            "page_size": 10,
            "credentials": {
                "access_token_env": "TT_TOKEN",
                "app_id_env": "TT_APP",
                "app_secret_env": "TT_SECRET",
                "refresh_token_env": "TT_REFRESH",
            },
        }
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    environ = {
        "TT_TOKEN": creds.tiktok_business_token,
        "TT_APP": creds.tiktok_app_id,
        "TT_SECRET": creds.tiktok_app_secret,
        "TT_REFRESH": creds.tiktok_business_refresh_token,
    }
    return settings, environ


def expire_every_token(state: SimState) -> None:
    for token in state.tiktok_business_tokens:
        state.tiktok_business_tokens[token] = time.time() - 1


def test_a_renewed_refresh_token_outlives_the_process(world: SimulatorServer, engine: Engine) -> None:
    """TikTok may retire a refresh token when it renews: the next process starts from the kept one."""
    world.state.tiktok_business_rotate_refresh = True
    expire_every_token(world.state)
    settings, environ = renewing_source(world, engine)
    source = settings.sources[0]
    first = build_collector(settings, source, environ, engine=engine)
    assert isinstance(first, TikTokMentionsCollector)
    assert sorted(ids(drain(first, None))) == sorted(mentioned(world.state))
    assert first.client.renewals == 1
    with session_scope(engine) as session:
        kept = session.exec(select(PlatformToken)).one()
    assert kept.platform == "tiktok" and kept.account_id == source.account_id
    assert kept.refresh_token == first.client.refresh_token != environ["TT_REFRESH"]
    assert kept.expires_at is not None and kept.expires_at > datetime.now(UTC) + timedelta(hours=23)

    # a new process, the configured refresh token retired: the kept access token still works ...
    second = build_collector(settings, source, environ, engine=engine)
    assert isinstance(second, TikTokMentionsCollector)
    assert len(drain(second, None)) > 0 and second.client.renewals == 0
    assert second.token_expiry is not None and second.token_expiry.at == kept.expires_at
    # ... and once it expires, the kept refresh token renews it (the configured one would be refused)
    expire_every_token(world.state)
    third = build_collector(settings, source, environ, engine=engine)
    assert isinstance(third, TikTokMentionsCollector)
    assert len(drain(third, None)) > 0 and third.client.renewals == 1
    without_store = build_collector(settings, source, environ)
    with pytest.raises(TokenExpired, match="refresh token"):
        drain(without_store, None)  # type: ignore[arg-type]


def test_two_processes_keeping_an_accounts_first_token_at_once_both_succeed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both find no row and insert one: the loser's unique-key error is retried as an update."""
    from tesoro.collector import tokens as tokens_module

    ours = StoreTokens(engine, platform="tiktok", account_id="biz-1", configured=("act", "rft"))
    theirs = StoreTokens(engine, platform="tiktok", account_id="biz-1", configured=("act", "rft"))
    real = tokens_module.keep_renewed_token
    raced: list[bool] = []

    def racing(session: Any, **fields: Any) -> None:
        real(session, **fields)  # our row is added to the session, not yet flushed
        if not raced:  # the other process commits its first row in between, once
            raced.append(True)
            theirs.keep(KeptToken("act.theirs", "rft.theirs", None))

    monkeypatch.setattr(tokens_module, "keep_renewed_token", racing)
    ours.keep(KeptToken("act.ours", "rft.ours", None))
    with session_scope(engine) as session:
        kept = session.exec(select(PlatformToken)).one()
    assert (kept.access_token, kept.refresh_token) == ("act.ours", "rft.ours")  # the later write wins
    assert ours.load() == KeptToken("act.ours", "rft.ours", None)


def test_newly_configured_secrets_win_over_a_kept_token(world: SimulatorServer, engine: Engine) -> None:
    settings, environ = renewing_source(world, engine)
    source = settings.sources[0]
    assert source.account_id is not None
    StoreTokens(
        engine, platform="tiktok", account_id=source.account_id, configured=("act.old", "rft.old")
    ).keep(KeptToken("act.kept-for-old-secrets", "rft.kept-for-old-secrets", None))
    collector = build_collector(settings, source, environ, engine=engine)
    assert isinstance(collector, TikTokMentionsCollector)
    assert len(drain(collector, None)) > 0 and collector.client.renewals == 0
    assert collector.client.refresh_token == environ["TT_REFRESH"]


def test_a_renewal_the_store_cannot_keep_still_serves_the_run(
    world: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def load(self) -> KeptToken | None:
            return None

        def keep(self, token: KeptToken) -> None:
            raise OSError("disk full")

    expire_every_token(world.state)
    collector = renewing(world, keeper=Broken())
    assert sorted(ids(drain(collector, None))) == sorted(mentioned(world.state))
    assert "could not be kept" in caplog.text


def test_an_expired_token_without_a_refresh_token_fails_auth_naming_the_renewal(
    world: SimulatorServer,
) -> None:
    world.state.tiktok_business_tokens[world.state.credentials.tiktok_business_token] = time.time() - 1
    with pytest.raises(TokenExpired, match=r"40105.*refresh_token_env"):
        drain(make_collector(world), None)
    with pytest.raises(TokenExpired, match="refresh token"):
        drain(renewing(world, refresh_token="rft.wrong"), None)
    with pytest.raises(TokenExpired, match="refresh token"):
        drain(renewing(world, app_secret="wrong"), None)


def test_a_renewed_token_refused_again_fails_and_the_wrong_account_has_no_permission(
    world: SimulatorServer,
) -> None:
    world.state.faults.inject(sim_tb.MENTIONS_ROUTE, Fault.AUTH, times=2)
    collector = renewing(world)
    with pytest.raises(TokenExpired, match="renewed"):
        drain(collector, None)
    assert collector.client.renewals == 1
    with pytest.raises(AuthFailed, match="40001"):
        drain(make_collector(world, business_id="someone-else"), None)
    with pytest.raises(TokenExpired, match="40104"):
        drain(make_collector(world, access_token=""), None)


def test_too_many_requests_parks_the_source_then_it_resumes(world: SimulatorServer, engine: Engine) -> None:
    world.state.daily_limits["tiktok_business"] = 2
    settings = settings_for(
        {
            "account_id": world.state.credentials.tiktok_business_id,
            "credentials": {"access_token_env": "TT_TOKEN"},
        }
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)

    def run(now: datetime) -> Any:
        return run_source(
            engine,
            source_name="tt-mentions",
            collector=make_collector(world),
            clock=lambda: now,
            sleep=lambda _: None,
            rng=random.Random(1),
        )

    started = datetime.now(UTC)
    parked = run(started)
    assert parked.status == "rate_limited" and parked.pages == 2
    with session_scope(engine) as session:
        source = get_source(session, "tt-mentions")
        assert source is not None and source.cursor is not None
        assert set(source.cursor) == {"top", "offset"} and source.cursor["offset"] == 20
        retry_at = source.next_allowed_at
        assert count_posts(session, platform="tiktok") == 20
    assert retry_at is not None
    assert timedelta(seconds=30) < retry_at.replace(tzinfo=UTC) - started < timedelta(minutes=2)

    world.state.new_day()
    resumed = run(retry_at.replace(tzinfo=UTC) + timedelta(seconds=1))
    assert resumed.status == "ok", resumed.error
    with session_scope(engine) as session:
        assert count_posts(session, platform="tiktok") == len(mentioned(world.state))


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.MALFORMED, Fault.RATE_LIMIT])
@pytest.mark.parametrize("route", [sim_tb.MENTIONS_ROUTE, sim_tb.REFRESH_ROUTE])
def test_faults_are_transient_or_rate_limits(world: SimulatorServer, route: str, fault: Fault) -> None:
    if route == sim_tb.REFRESH_ROUTE:  # the refresh call only happens once the token expired
        world.state.tiktok_business_tokens[world.state.credentials.tiktok_business_token] = time.time() - 1
    world.state.faults.inject(route, fault)
    expected = RateLimited if fault is Fault.RATE_LIMIT else TransientError
    with pytest.raises(expected):
        drain(renewing(world), None)
    assert sorted(ids(drain(renewing(world), None))) == sorted(mentioned(world.state))


def test_timeout_refused_connection_and_refused_parameters(world: SimulatorServer) -> None:
    world.state.faults.inject(sim_tb.MENTIONS_ROUTE, Fault.TIMEOUT)
    started = time.monotonic()
    with pytest.raises(TransientError):
        drain(make_collector(world, timeout_s=0.3), None)
    assert time.monotonic() - started < world.state.timeout_hold_s
    refused = TikTokMentionsCollector(access_token="t", business_id="b", base_url="http://127.0.0.1:9")
    with pytest.raises(TransientError):
        drain(refused, None)
    with pytest.raises(InvalidParams, match="40002"):
        make_collector(world).client.mention_videos(
            fields=("item_id", "secret"), number_of_days=7, max_count=10
        )


def test_hostile_mentions_cost_only_themselves() -> None:
    good = {"item_id": "7301234567890123456", "create_time": "1764000000", "creator_handle_name": "ana"}
    post = normalize_mention(good)
    assert isinstance(post, NormalizedPost) and post.external_id == "7301234567890123456"
    assert post.metrics.views is None and post.text == "" and post.media[0].preview_url is None
    assert post.url == "https://www.tiktok.com/@ana/video/7301234567890123456"
    assert normalize_mention({**good, "item_id": 7_301_234_567_890_123_456, "create_time": 1_764_000_000})
    for broken in (
        {},
        {**good, "item_id": True},
        {**good, "item_id": "12ab"},
        {**good, "item_id": "9" * 30},
        {**good, "create_time": "yesterday"},
        {**good, "create_time": 10**20},
        {**good, "creator_handle_name": ""},
        {**good, "creator_handle_name": "ana/../../x"},
        {**good, "creator_handle_name": ["ana"]},
    ):
        assert normalize_mention(broken) is None, broken
    weird = normalize_mention(
        {**good, "likes": "12", "views": -5, "shares": None, "video_link": "javascript:alert(1)"}
    )
    assert weird is not None and weird.metrics.likes == 12 and weird.metrics.views is None
    assert weird.url == "https://www.tiktok.com/@ana/video/7301234567890123456"


def test_simulator_speaks_the_envelope_and_refuses_unknown_fields(sim: SimulatorServer) -> None:
    creds = sim.state.credentials
    url = f"{sim.base_url}{sim_tb.MENTIONS_PATH}"
    params = {"business_id": creds.tiktok_business_id, "fields": '["item_id","caption"]', "max_count": "5"}
    ok = httpx.get(url, params=params, headers={"Access-Token": creds.tiktok_business_token}).json()
    assert ok["code"] == 0 and set(ok["data"]) == {"videos", "cursor", "has_more"} and "request_id" in ok
    wide = httpx.get(
        url, params={**params, "max_count": "101"}, headers={"Access-Token": creds.tiktok_business_token}
    )
    assert wide.status_code == 200 and wide.json()["code"] == 40002
    anonymous = httpx.get(url, params=params).json()
    assert anonymous["code"] == 40104
    renewed = httpx.post(
        f"{sim.base_url}{sim_tb.REFRESH_PATH}",
        json={
            "client_id": creds.tiktok_app_id,
            "client_secret": creds.tiktok_app_secret,
            "grant_type": "refresh_token",
            "refresh_token": creds.tiktok_business_refresh_token,
        },
    ).json()
    assert renewed["code"] == 0 and renewed["data"]["access_token"].startswith("act.")
    assert renewed["data"]["expires_in"] == 86_400
