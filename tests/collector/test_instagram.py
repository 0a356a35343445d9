"""InstagramCollector through its Graph client against the simulator's Instagram routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from tesoro.collector.base import AuthFailed, RateLimited, TokenExpiry, TransientError
from tesoro.collector.instagram import (
    HashtagLimitReached,
    InstagramCollector,
    MemoryLedger,
    hashtags_of_query,
    normalize_media,
)
from tesoro.collector.instagram_client import GraphError, TokenExpired
from tesoro.collector.instagram_ledger import StoreLedger
from tesoro.collector.runner import RetryPolicy, run_source
from tesoro.models import MediaType, Page, Platform
from tesoro.settings import Settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.instagram import media_id, post_hashtags, tagged
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.hashtags import hashtag_slots
from tesoro.store.sources import get_source
from tesoro.store.tables import Post, QuarantineItem

TOKEN = "sim-instagram-token"
MAYA = SimAuthor(id=77, handle="maya.trails", name="Maya", followers=1200, following=300)


def make(sim: SimulatorServer, **overrides: Any) -> InstagramCollector:
    values: dict[str, Any] = {
        "access_token": TOKEN,
        "account_id": sim.state.credentials.instagram_user_id,
        "hashtags": ["andesoutdoor"],
        "base_url": f"{sim.base_url}/instagram/v21.0",
        "page_size": 10,
        "timeout_s": 5.0,
    } | overrides
    return InstagramCollector(**values)


def ids(pages: list[Page]) -> list[str]:
    return [p.external_id for page in pages for p in page.posts]


def expected(sim: SimulatorServer) -> set[str]:
    posts = sim.state.world.posts("instagram")
    return {media_id(p) for p in posts if "andesoutdoor" in post_hashtags(p) or tagged(p)}


def add(sim: SimulatorServer, text: str, **fields: Any) -> SimPost:
    world = sim.state.world
    values: dict[str, Any] = {
        "id": world.next_id(),
        "platform": "instagram",
        "created_at": datetime.now(UTC),
        "text": text,
        "lang": "en",
        "author": MAYA,
        "kind": "photo",
        "media": (SimMedia("k", "photo", "https://scontent.cdninstagram.com/v/a.jpg", "", 1080, 1080),),
    } | fields
    post = SimPost(**values)
    world.add(post)
    return post


# --------------------------------------------------------------------------- a clean run, paging, cursors


def test_a_clean_run_pages_through_hashtag_and_tagged_media_then_collects_only_new(
    sim: SimulatorServer,
) -> None:
    sim.state.world.grow(120, platforms=("instagram",))
    collector = make(sim)
    pages = list(collector.pages(None))
    assert len(pages) > 5  # 10 a page: it had to follow Meta's cursors
    got = ids(pages)
    assert len(got) == len(set(got))  # each media once per run, though found by several streams
    assert set(got) == expected(sim)
    assert collector.spend.units == 1  # one hashtag search; the edges cost no hashtag slot
    assert collector.spend.calls == len(pages) + 2  # every page, the search and the token's expiry
    cursor = pages[-1].cursor
    assert set(cursor["streams"]) == {"recent:andesoutdoor", "tags"}
    assert all("pass" not in s for s in cursor["streams"].values())

    fresh = add(sim, "New boots! #AndesOutdoor")
    again = make(sim, top_pages=0, ledger=collector.ledger)
    later = list(again.pages(cursor))
    assert media_id(fresh) in ids(later)
    assert again.spend.units == 0  # the hashtag's id came from the ledger: no second search
    assert len(ids(later)) < len(got) // 2  # only what is at or above the mark


def test_top_media_are_read_again_only_after_top_every(sim: SimulatorServer) -> None:
    sim.state.world.grow(40, platforms=("instagram",))
    now = [datetime(2026, 12, 8, 9, 0, tzinfo=UTC)]
    ledger = MemoryLedger()

    def run(cursor: dict[str, Any] | None) -> dict[str, Any]:
        pages = list(make(sim, ledger=ledger, include_tags=False, clock=lambda: now[0]).pages(cursor))
        return dict(pages[-1].cursor)

    def top() -> int:
        return sim.state.faults.calls["instagram.top_media"]

    cursor = run(None)
    assert top() == 1 and cursor["top"] == {"andesoutdoor": int(now[0].timestamp())}
    now[0] += timedelta(hours=5, minutes=59)
    cursor = run(cursor)
    assert top() == 1  # read lately: not again
    assert cursor["top"] == {"andesoutdoor": int((now[0] - timedelta(hours=5, minutes=59)).timestamp())}
    now[0] += timedelta(minutes=1)
    cursor = run(cursor)
    assert top() == 2 and cursor["top"] == {"andesoutdoor": int(now[0].timestamp())}
    # A cursor from before this (no "top") reads them at once.
    cursor.pop("top")
    run(cursor)
    assert top() == 3


def test_a_run_cut_by_max_pages_resumes_with_exactly_the_rest(sim: SimulatorServer) -> None:
    sim.state.world.grow(80, platforms=("instagram",))
    full = ids(list(make(sim, top_pages=0, include_tags=False).pages(None)))
    ledger = MemoryLedger()
    first = list(make(sim, top_pages=0, include_tags=False, max_pages=2, ledger=ledger).pages(None))
    assert "pass" in first[-1].cursor["streams"]["recent:andesoutdoor"]
    rest = list(make(sim, top_pages=0, include_tags=False, ledger=ledger).pages(first[-1].cursor))
    assert ids(first) + ids(rest) == full


def test_media_are_normalized_with_carousels_videos_reels_counts_and_owners(sim: SimulatorServer) -> None:
    carousel = add(
        sim,
        "Three looks with the Nube jacket @andesoutdoor #andesoutdoor #rain",
        media=(
            SimMedia("a", "photo", "https://scontent.cdninstagram.com/v/1.jpg", "", 1080, 1350),
            SimMedia(
                "b", "video", "https://scontent.cdninstagram.com/v/2.mp4", "https://x/2.jpg", 1080, 1920
            ),
        ),
        likes=41,
        replies=3,
    )
    reel = add(
        sim,
        "Unboxing #andesoutdoor",
        media=(
            SimMedia("c", "video", "https://scontent.cdninstagram.com/v/3.mp4", "https://x/3.jpg", 720, 1280),
        ),
    )
    posts = {p.external_id: p for page in make(sim).pages(None) for p in page.posts}
    got = posts[media_id(carousel)]
    assert [m.type for m in got.media] == [MediaType.PHOTO, MediaType.VIDEO]
    assert got.metrics.likes == 41 and got.metrics.replies == 3
    assert got.hashtags == ("andesoutdoor", "rain") and got.mentions == ("andesoutdoor",)
    assert got.url is not None and got.url.startswith("https://www.instagram.com/p/")
    # Hashtag media come without their owner: a placeholder author of its own, never a shared one.
    assert got.author.handle == f"ig-media-{media_id(carousel)}"
    video = posts[media_id(reel)]
    assert video.media[0].type is MediaType.VIDEO and video.media[0].preview_url == "https://x/3.jpg"
    assert video.url is not None and "/reel/" in video.url


def test_tagged_media_carry_the_owners_username(sim: SimulatorServer) -> None:
    sim.state.world.grow(40, platforms=("instagram",))
    pages = list(make(sim, hashtags=[]).pages(None))
    posts = [p for page in pages for p in page.posts]
    assert posts and all(p.author.handle == p.author.external_id and p.author.profile_url for p in posts)
    assert {p.external_id for p in posts} == {
        media_id(p) for p in sim.state.world.posts("instagram") if tagged(p)
    }


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_rate_limit_codes_park_until_meta_says(sim: SimulatorServer, code: int) -> None:
    sim.state.world.grow(5, platforms=("instagram",))
    sim.state.meta.rate_limit_code = code
    sim.state.faults.inject("instagram.recent_media", Fault.RATE_LIMIT)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        list(make(sim).pages(None))
    assert f"code {code}" in str(caught.value)
    # X-Business-Use-Case-Usage: estimated_time_to_regain_access is 1 minute in the simulator.
    assert before + timedelta(seconds=50) <= caught.value.retry_at <= datetime.now(UTC) + timedelta(minutes=1)


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.MALFORMED, Fault.TIMEOUT])
def test_server_errors_unreadable_answers_and_timeouts_are_transient(
    sim: SimulatorServer, fault: Fault
) -> None:
    sim.state.faults.inject("instagram.hashtag_search", fault)
    with pytest.raises(TransientError):
        list(make(sim, timeout_s=0.5).pages(None))


def test_an_expired_token_says_so_and_how_to_renew(sim: SimulatorServer) -> None:
    sim.state.meta.expired.add(TOKEN)
    with pytest.raises(TokenExpired) as caught:
        list(make(sim).pages(None))
    assert isinstance(caught.value, AuthFailed)
    assert "expired" in str(caught.value) and "Renew it" in str(caught.value)


def test_a_wrong_token_and_a_wrong_account_are_refused(sim: SimulatorServer) -> None:
    with pytest.raises(AuthFailed):
        list(make(sim, access_token="nope").pages(None))
    with pytest.raises(GraphError):
        list(make(sim, account_id="123").pages(None))


def test_hostile_and_malformed_media_are_refused_one_by_one(sim: SimulatorServer) -> None:
    good = {"id": "1784", "timestamp": "2026-12-07T10:00:00+0000", "caption": "<script>x</script>"}
    assert normalize_media(good) is not None and normalize_media(good).text == "<script>x</script>"  # type: ignore[union-attr]
    for bad in (
        {"id": "1784"},
        {"timestamp": "2026-12-07T10:00:00+0000"},
        {"id": "../../etc", "timestamp": "2026-12-07T10:00:00+0000"},
        {"id": "1", "timestamp": "not a time"},
        {"id": True, "timestamp": "2026-12-07T10:00:00+0000"},
    ):
        assert normalize_media(bad) is None, bad
    weird = normalize_media(
        {
            "id": "99",
            "timestamp": "2026-12-07T10:00:00+0000",
            "like_count": -5,
            "comments_count": "lots",
            "media_type": "CAROUSEL_ALBUM",
            "children": {"data": ["x", {"media_type": "IMAGE"}, {"media_type": "IMAGE", "media_url": 7}]},
        }
    )
    assert weird is not None and weird.metrics.likes == 0 and weird.metrics.replies == 0 and weird.media == ()
    # Through the API: a caption with a NUL and markup arrives as text (the boundary cleans the NUL).
    add(sim, "bad \x00 caption <img src=x onerror=alert(1)> #andesoutdoor")
    pages = list(make(sim, include_tags=False, top_pages=0).pages(None))
    assert [p.text for page in pages for p in page.posts] == [
        "bad \x00 caption <img src=x onerror=alert(1)> #andesoutdoor"
    ]


# --------------------------------------------------------------------------- the hashtag ledger


def test_a_31st_hashtag_is_refused_with_a_clear_reason_and_the_rest_still_collected(
    sim: SimulatorServer,
) -> None:
    sim.state.world.grow(20, platforms=("instagram",))
    ledger = MemoryLedger()
    account = sim.state.credentials.instagram_user_id
    now = datetime.now(UTC)
    for i in range(30):
        ledger.claim(account, f"old{i}", now - timedelta(days=6, hours=23 - i % 5))
    collector = make(sim, hashtags=["andesoutdoor"], ledger=ledger)
    pages: list[Page] = []
    with pytest.raises(HashtagLimitReached) as caught:
        for page in collector.pages(None):
            pages.append(page)
    assert "#andesoutdoor not searched" in str(caught.value) and "30 unique hashtags" in str(caught.value)
    assert "frees up at" in str(caught.value)
    assert ids(pages)  # the tagged media were still collected
    assert collector.spend.units == 0  # nothing was asked of Meta for the refused hashtag
    # A week after the oldest search its slot frees up, and the hashtag is searched.
    later = make(sim, ledger=ledger, clock=lambda: now + timedelta(hours=2))
    assert ids(list(later.pages(None)))
    assert later.spend.units == 1


def test_the_simulator_refuses_a_31st_hashtag_too(sim: SimulatorServer) -> None:
    """If another app spent the account's slots, Meta's refusal is a clear error, not a crash."""
    for i in range(30):
        assert sim.state.meta.search_hashtag(sim.state.credentials.instagram_user_id, f"other{i}")
    with pytest.raises(GraphError) as caught:
        list(make(sim).pages(None))
    assert "30 unique hashtags" in str(caught.value)


def _settings(tmp_path: Path, sim: SimulatorServer, **source: Any) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "base_dir": tmp_path,
            "brands": [{"name": "Andes Outdoor", "hashtags": ["andesoutdoor"]}],
            "queries": [{"name": "andes", "brand": "Andes Outdoor", "query": "#andesoutdoor OR cumbre"}],
            "sources": [
                {
                    "name": "ig",
                    "platform": "instagram",
                    "query": "andes",
                    "account_id": sim.state.credentials.instagram_user_id,
                    "base_url": f"{sim.base_url}/instagram/v21.0",
                    "page_size": 10,
                    "credentials": {"access_token_env": "IG_TOKEN"},
                }
                | source
            ],
        }
    )


def test_the_store_ledger_counts_slots_per_account_on_both_backends(engine: Engine) -> None:
    ledger = StoreLedger(engine)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for i in range(30):
        assert ledger.claim("acct", f"t{i}", now + timedelta(minutes=i)).granted
    ledger.remember("acct", "t3", "178")
    again = ledger.claim("acct", "T3", now + timedelta(days=1))
    assert again.granted and again.hashtag_id == "178" and again.used == 30
    refused = ledger.claim("acct", "t30", now + timedelta(days=1))
    assert not refused.granted and refused.frees_at == now + timedelta(days=7)
    assert ledger.claim("other-account", "t30", now).granted  # the limit is per account
    assert ledger.claim("acct", "t30", now + timedelta(days=7, seconds=1)).granted  # t0's slot freed up
    with session_scope(engine) as session:
        slots = hashtag_slots(session, account_id="acct", now=now + timedelta(days=7, seconds=1))
    assert len(slots) == 30 and slots[-1].hashtag == "t30"


# --------------------------------------------------------------------------- through the runner and the store


def test_quota_exhaustion_parks_the_source_and_the_next_run_recovers_everything(
    engine: Engine, sim: SimulatorServer, tmp_path: Path
) -> None:
    from tesoro.collector.registry import build_collector, build_filter

    sim.state.world.grow(100, platforms=("instagram",))
    settings = _settings(tmp_path, sim)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    source = settings.sources[0]
    env = {"IG_TOKEN": TOKEN}
    sim.state.meta.calls_per_hour = 4
    first = run_source(
        engine,
        source_name="ig",
        collector=build_collector(settings, source, env, engine=engine),
        keep=build_filter(settings, source),
        retry=RetryPolicy(attempts=1),
    )
    assert first.status == "rate_limited" and first.pages > 0
    with session_scope(engine) as session:
        row = get_source(session, "ig")
        assert row is not None and row.health == "degraded" and "code 4" in (row.last_error or "")
        assert row.next_allowed_at is not None and row.next_allowed_at > datetime.now(UTC)
        slots = hashtag_slots(
            session, account_id=sim.state.credentials.instagram_user_id, now=datetime.now(UTC)
        )
    assert [s.hashtag for s in slots] == ["andesoutdoor"] and slots[0].hashtag_id
    # Meta's hour moves on; the source's parking time has passed.
    sim.state.meta.reset_usage()
    sim.state.meta.calls_per_hour = 20_000
    second = run_source(
        engine,
        source_name="ig",
        collector=build_collector(settings, source, env, engine=engine),
        keep=build_filter(settings, source),
        clock=lambda: datetime.now(UTC) + timedelta(minutes=2),
    )
    assert second.status == "ok"
    with session_scope(engine) as session:
        stored = set(session.exec(select(Post.external_id).where(col(Post.platform) == "instagram")))
        assert session.exec(select(func.count()).select_from(Post)).one() == len(stored)
    want = {media_id(p) for p in sim.state.world.posts("instagram") if "andesoutdoor" in post_hashtags(p)}
    assert want <= stored


def test_an_expired_token_marks_the_source_with_the_renewal_steps(
    engine: Engine, sim: SimulatorServer, tmp_path: Path
) -> None:
    from tesoro.collector.registry import build_collector

    settings = _settings(tmp_path, sim)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    sim.state.meta.expired.add(TOKEN)
    result = run_source(
        engine,
        source_name="ig",
        collector=build_collector(settings, settings.sources[0], {"IG_TOKEN": TOKEN}),
    )
    assert result.status == "failed"
    with session_scope(engine) as session:
        row = get_source(session, "ig")
        assert row is not None and "access token expired" in (row.last_error or "")
        assert "docs/instagram.md" in (row.last_error or "")
        assert session.exec(select(func.count()).select_from(QuarantineItem)).one() == 0


def test_the_tokens_expiry_is_read_each_run_and_kept_on_the_source(
    engine: Engine, sim: SimulatorServer, tmp_path: Path
) -> None:
    """Meta's debug_token says when the token expires; the source keeps it, for `tesoro sources` and the
    coverage alert. A token that never expires (0) or a failed question leaves the run collecting."""
    from tesoro.collector.registry import build_collector

    sim.state.world.grow(40, platforms=("instagram",))
    settings = _settings(tmp_path, sim)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    sim.state.meta.token_expires[TOKEN] = soon.timestamp()
    collector = build_collector(settings, settings.sources[0], {"IG_TOKEN": TOKEN})
    assert run_source(engine, source_name="ig", collector=collector).status == "ok"
    with session_scope(engine) as session:
        row = get_source(session, "ig")
        assert row is not None and row.token_expires_at == soon
    sim.state.meta.token_expires[TOKEN] = 0  # a system user's token: it never expires
    never = make(sim)
    assert ids(list(never.pages(None))) and never.token_expiry == TokenExpiry(None)
    sim.state.faults.inject("instagram.debug_token", Fault.SERVER_ERROR)
    asked = make(sim)
    assert ids(list(asked.pages(None))) and asked.token_expiry is None  # collected all the same


def test_a_long_lived_token_reports_about_sixty_days(sim: SimulatorServer) -> None:
    collector = make(sim)
    list(collector.pages(None))
    assert collector.token_expiry is not None and collector.token_expiry.at is not None
    left = collector.token_expiry.at - datetime.now(UTC)
    assert timedelta(days=59) < left <= timedelta(days=60)


def test_query_hashtags_and_settings() -> None:
    assert hashtags_of_query('#AndesOutdoor OR (cumbre AND -#spam) OR "#not a tag"') == ("andesoutdoor",)
    with pytest.raises(ValueError, match="account_id"):
        Settings.model_validate(
            {
                "brands": [{"name": "B"}],
                "queries": [{"name": "q", "brand": "B", "query": "x"}],
                "sources": [{"name": "ig", "platform": "instagram", "query": "q"}],
            }
        )
    assert Platform.INSTAGRAM.value == "instagram"
