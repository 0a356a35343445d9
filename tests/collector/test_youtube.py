"""YouTubeCollector driving the real google-api-python-client (static discovery) against the simulator."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError
from sqlalchemy.engine import Engine

from tesoro.collector.base import AuthFailed, Collector, RateLimited, TransientError
from tesoro.collector.runner import run_source
from tesoro.collector.youtube import (
    YouTubeCollector,
    _translate,
    duration_ms,
    next_quota_reset,
    normalize_comment,
    normalize_video,
    to_youtube,
)
from tesoro.models import Cursor, MediaType, NormalizedPost, Page, Platform
from tesoro.settings import Settings
from tesoro.simulator import youtube as sim_yt
from tesoro.simulator.common import loose_match
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts, get_post
from tesoro.store.sources import get_source
from tesoro.text.query import parse

QUERY = "andes OR cumbre OR nube OR volcan"
ALICE = SimAuthor(42, "alice_trails", "Alice Trails", followers=12_500, following=310, bio="Runs.")


def make_collector(sim: SimulatorServer, **overrides: Any) -> YouTubeCollector:
    options: dict[str, Any] = {
        "query": QUERY,
        "api_key": sim.state.credentials.youtube_api_key,
        "base_url": sim.base_url,
        "page_size": 10,
        "timeout_s": 5.0,
    }
    options.update(overrides)
    return YouTubeCollector(**options)


def drain(collector: YouTubeCollector, cursor: Cursor | None) -> list[Page]:
    return list(collector.pages(cursor))


def ids(pages: list[Page]) -> list[str]:
    return [post.external_id for page in pages for post in page.posts if post.reply_to_id is None]


def matching(state: SimState) -> list[str]:
    """What the simulator's search finds for QUERY, newest first (videos only, not comments)."""
    hits = [
        p
        for p in state.world.posts("youtube")
        if p.reply_to is None and loose_match(to_youtube(parse(QUERY)), f"{sim_yt._title(p)}\n{p.text}")
    ]
    return [sim_yt.video_id(p) for p in sorted(hits, key=lambda p: p.id, reverse=True)]


def add_video(state: SimState, text: str, **fields: Any) -> SimPost:
    values: dict[str, Any] = {
        "lang": "en",
        "author": ALICE,
        "kind": "video",
        "created_at": datetime.now(UTC) - timedelta(minutes=5),
        "views": 1000,
        "likes": 40,
        "replies": 3,
    }
    values.update(fields)
    post_id = state.world.next_id()
    media = SimMedia(sim_yt.youtube_video_id(post_id), "video", "u", "p", 1920, 1080, duration_ms=75_000)
    values.setdefault("media", (media,))
    post = SimPost(id=post_id, platform="youtube", text=text, **values)
    state.world.add(post)
    return post


@pytest.fixture
def world(sim: SimulatorServer) -> Iterator[SimulatorServer]:
    sim.state.world.grow(80, platforms=("youtube",))
    assert len(matching(sim.state)) > 25
    yield sim


def test_is_a_collector_and_compiles_the_query_to_youtube_search() -> None:
    assert to_youtube(parse('(cumbre OR "nube jacket") -falso')) == '(cumbre | "nube jacket") -falso'
    assert to_youtube(parse("#andesoutdoor lang:es")) == "#andesoutdoor"  # no language filter: re-checked
    assert to_youtube(parse("@andes@mastodon.social OR volcan")) == "andes | volcan"
    with pytest.raises(ValueError):
        YouTubeCollector(query="andes", api_key="k", page_size=51)


def test_pages_newest_first_with_cursors_and_charges_quota_units(world: SimulatorServer) -> None:
    collector = make_collector(world)
    assert isinstance(collector, Collector)
    pages = drain(collector, None)

    assert ids(pages) == matching(world.state)
    assert len(pages) == -(-len(matching(world.state)) // 10)
    assert all("page_token" in p.cursor for p in pages[:-1])
    newest = max(p.created_at for p in world.state.world.posts("youtube") if p.reply_to is None)
    assert pages[-1].cursor == {"published_after": newest.strftime("%Y-%m-%dT%H:%M:%SZ")}
    # Per page: search.list (100 units), videos.list (1) and channels.list (1); the simulator agrees.
    assert collector.spend.units == 102 * len(pages) == world.state.spent["youtube"]
    assert collector.spend.calls == 3 * len(pages)


def test_normalizes_title_description_statistics_duration_thumbnails_and_channel(
    sim: SimulatorServer,
) -> None:
    post = add_video(sim.state, "Cumbre review: 300 km later #andesoutdoor @andesoutdoor", title=None)
    [page] = drain(make_collector(sim), None)
    [video] = page.posts
    vid = sim_yt.video_id(post)
    assert video.external_id == vid and video.platform is Platform.YOUTUBE
    assert video.title == "Cumbre review: 300 km later #andesoutdoor @andesoutdoor"
    assert video.text == post.text
    assert video.url == f"https://www.youtube.com/watch?v={vid}"
    assert video.metrics.views == 1000 and video.metrics.likes == 40 and video.metrics.replies == 3
    [media] = video.media
    assert media.type is MediaType.VIDEO and media.duration_ms == 75_000
    assert media.preview_url == f"https://i.ytimg.com/vi/{vid}/hqdefault.jpg"
    assert video.hashtags == ("andesoutdoor",) and video.mentions == ("andesoutdoor",)
    assert video.author.external_id == sim_yt.channel_id(ALICE.id)
    assert video.author.handle == "alice_trails" and video.author.display_name == "Alice Trails"
    assert video.author.followers == 12_500
    assert video.lang == "en"


def test_second_run_starts_at_the_newest_published_time(world: SimulatorServer) -> None:
    collector = make_collector(world)
    first = drain(collector, None)
    before = set(ids(first))
    new = add_video(world.state, "new cumbre video", created_at=datetime.now(UTC) + timedelta(seconds=2))
    second = ids(drain(collector, first[-1].cursor))
    assert set(second) - before == {sim_yt.video_id(new)}
    # publishedAfter is inclusive: only the videos of the boundary second come again (updated, not new).
    boundary = first[-1].cursor["published_after"]
    again = [
        p
        for p in world.state.world.posts("youtube")
        if sim_yt.video_id(p) in set(second) - {sim_yt.video_id(new)}
    ]
    assert all(p.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") == boundary for p in again)


def test_resume_from_a_mid_run_cursor_loses_and_repeats_nothing(world: SimulatorServer) -> None:
    head = drain(make_collector(world, max_pages=2), None)
    rest = drain(make_collector(world), head[-1].cursor)
    assert ids(head) + ids(rest) == matching(world.state)


def test_a_refused_page_token_restarts_the_run(world: SimulatorServer) -> None:
    cursor = {"published_after": "2020-01-01T00:00:00Z", "run_newest": None, "page_token": "garbage"}
    assert ids(drain(make_collector(world), cursor)) == matching(world.state)


def test_quota_exhaustion_parks_until_midnight_pacific_then_resumes_from_the_saved_page(
    world: SimulatorServer, engine: Engine
) -> None:
    world.state.daily_limits["youtube"] = 250  # two pages (102 units each), then quotaExceeded
    settings = Settings.model_validate(
        {
            "brands": [{"name": "Andes"}],
            "queries": [{"name": "q", "brand": "Andes", "query": QUERY}],
            "sources": [
                {"name": "yt", "platform": "youtube", "query": "q", "credentials": {"api_key_env": "K"}}
            ],
        }
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)

    def run(now: datetime) -> Any:
        return run_source(
            engine,
            source_name="yt",
            collector=make_collector(world),
            clock=lambda: now,
            sleep=lambda _: None,
            rng=random.Random(1),
        )

    parked = run(datetime.now(UTC))
    assert parked.status == "rate_limited" and parked.pages == 2 and "quotaExceeded" in (parked.error or "")
    with session_scope(engine) as session:
        source = get_source(session, "yt")
        assert source is not None and source.health == "degraded"
        assert source.cursor is not None and "page_token" in source.cursor
        assert count_posts(session, platform="youtube") == 20
        reset = source.next_allowed_at
    assert reset is not None
    assert reset.replace(tzinfo=UTC) == next_quota_reset()

    world.state.new_day()  # midnight in California: the allowance is back (the full 10,000 units)
    world.state.daily_limits["youtube"] = 10_000
    resumed = run(reset.replace(tzinfo=UTC) + timedelta(seconds=1))
    assert resumed.status == "ok", resumed.error
    with session_scope(engine) as session:
        assert count_posts(session, platform="youtube") == len(matching(world.state))


def test_next_quota_reset_is_midnight_in_california() -> None:
    assert next_quota_reset(datetime(2026, 7, 1, 6, 59, tzinfo=UTC)) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert next_quota_reset(datetime(2026, 12, 7, 9, 0, tzinfo=UTC)) == datetime(
        2026, 12, 8, 8, 0, tzinfo=UTC
    )


def test_rate_limit_exceeded_parks_the_source_for_a_minute(world: SimulatorServer) -> None:
    world.state.faults.inject("youtube.search", Fault.RATE_LIMIT)
    asked = datetime.now(UTC)
    with pytest.raises(RateLimited, match="rateLimitExceeded") as caught:
        drain(make_collector(world), None)
    assert asked + timedelta(seconds=30) < caught.value.retry_at < asked + timedelta(minutes=5)
    assert ids(drain(make_collector(world), None)) == matching(world.state)


def test_a_plain_429_is_a_rate_limit_and_a_500_transient() -> None:
    def error(status: int, body: bytes) -> HttpError:
        return HttpError(httplib2.Response({"status": status}), body)

    assert isinstance(_translate(error(429, b'{"error": {"status": "RESOURCE_EXHAUSTED"}}')), RateLimited)
    assert isinstance(_translate(error(503, b"<html>busy</html>")), TransientError)
    assert isinstance(_translate(error(401, b"")), AuthFailed)
    refused = _translate(error(403, b'{"error": {"errors": [{"reason": "forbidden"}]}}'))
    assert type(refused).__name__ == "_Refused"


@pytest.mark.parametrize("route", ["youtube.search", "youtube.videos", "youtube.channels"])
@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.MALFORMED])
def test_server_errors_and_broken_json_are_transient(
    world: SimulatorServer, route: str, fault: Fault
) -> None:
    world.state.faults.inject(route, fault)
    with pytest.raises(TransientError):
        drain(make_collector(world), None)
    assert ids(drain(make_collector(world), None)) == matching(world.state)


def test_timeout_and_connection_refused_are_transient(world: SimulatorServer) -> None:
    world.state.faults.inject("youtube.search", Fault.TIMEOUT)
    started = time.monotonic()
    with pytest.raises(TransientError):
        drain(make_collector(world, timeout_s=0.3), None)
    assert time.monotonic() - started < world.state.timeout_hold_s
    with pytest.raises(TransientError):
        drain(YouTubeCollector(query="andes", api_key="k", base_url="http://127.0.0.1:9", timeout_s=1), None)


def test_a_wrong_key_fails_auth(world: SimulatorServer) -> None:
    with pytest.raises(AuthFailed, match="keyInvalid"):
        drain(make_collector(world, api_key="wrong"), None)
    world.state.faults.inject("youtube.search", Fault.AUTH)
    with pytest.raises(AuthFailed):
        drain(make_collector(world), None)


def test_empty_page_ends_the_run_and_keeps_the_cursor(world: SimulatorServer) -> None:
    world.state.faults.inject("youtube.search", Fault.EMPTY)
    cursor = {"published_after": "2026-01-01T00:00:00Z"}
    [page] = drain(make_collector(world), cursor)
    assert page.posts == () and page.cursor == cursor


def test_comments_come_as_replies_and_videos_without_comments_are_skipped(sim: SimulatorServer) -> None:
    video = add_video(sim.state, "cumbre unboxing", created_at=datetime.now(UTC) - timedelta(minutes=10))
    bot = SimAuthor(7, "promo_bot", "Promo", followers=3, following=9000, is_bot=True)
    quiet = add_video(
        sim.state, "cumbre deals", author=bot, created_at=datetime.now(UTC) - timedelta(minutes=9)
    )
    for text in ("Great video!", "Where did you buy them? <b>bold</b> & co"):
        sim.state.world.add(
            SimPost(
                id=sim.state.world.next_id(),
                platform="youtube",
                created_at=datetime.now(UTC) - timedelta(minutes=8),
                text=text,
                lang="en",
                author=SimAuthor(77, "bob", "Bob", 10, 10),
                kind="question",
                reply_to=video.id,
            )
        )
    collector = make_collector(sim, include_comments=True)
    [page] = drain(collector, None)
    comments = [p for p in page.posts if p.reply_to_id is not None]
    assert {c.text for c in comments} == {"Great video!", "Where did you buy them? <b>bold</b> & co"}
    assert all(c.reply_to_id == sim_yt.video_id(video) == c.conversation_id for c in comments)
    assert all(c.author.handle == "bob" for c in comments)
    assert sim_yt.video_id(quiet) in ids([page])  # its comments are off: the video is kept, no error
    # search 100 + videos 1 + channels 1 + one commentThreads call per video (1 each)
    assert collector.spend.units == 104


def test_gone_names_the_videos_youtube_no_longer_serves(world: SimulatorServer) -> None:
    posts = [p for p in world.state.world.posts("youtube") if p.reply_to is None][:3]
    world.state.world.delete(posts[0].id)
    collector = make_collector(world)
    asked = [sim_yt.video_id(p) for p in posts] + ["not-an-id"]
    assert collector.gone(asked) == {sim_yt.video_id(posts[0])}
    assert collector.spend.units == 1


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('cumbre')</script>",
        "cumbre \u202eevil\u202c \x00 nul",
        "cumbre " + "🎥" * 3000,
        "cumbre\n\n\n" + "a" * 5000,
    ],
)
def test_hostile_text_is_stored_as_plain_text(sim: SimulatorServer, engine: Engine, text: str) -> None:
    add_video(sim.state, text)
    settings = Settings.model_validate(
        {
            "brands": [{"name": "Andes"}],
            "queries": [{"name": "q", "brand": "Andes", "query": "cumbre"}],
            "sources": [
                {"name": "yt", "platform": "youtube", "query": "q", "credentials": {"api_key_env": "K"}}
            ],
        }
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    result = run_source(engine, source_name="yt", collector=make_collector(sim, query="cumbre"))
    assert result.status == "ok" and result.inserted + result.quarantined == 1
    if result.inserted:
        with session_scope(engine) as session:
            [post] = [p for p in sim.state.world.posts("youtube")]
            stored = get_post(session, platform="youtube", external_id=sim_yt.video_id(post))
            assert stored is not None and "\x00" not in stored.text


def test_malformed_videos_are_rejected_one_by_one() -> None:
    good = {
        "id": "abcdefghijk",
        "snippet": {
            "publishedAt": "2026-12-01T10:00:00Z",
            "channelId": "UCx",
            "title": "t",
            "description": "d",
        },
        "statistics": {"viewCount": "12", "likeCount": "not a number", "commentCount": 5},
        "contentDetails": {"duration": "PT1H2M3S", "contentRating": {"ytRating": "ytAgeRestricted"}},
    }
    post = normalize_video(good, channels={})
    assert isinstance(post, NormalizedPost)
    assert post.metrics.views == 12 and post.metrics.likes == 0 and post.metrics.replies == 5
    assert post.media[0].duration_ms == 3_723_000 and post.content_flags == ("nsfw",)
    assert post.author.handle == "UCx" and post.author.followers is None
    for broken in (
        {},
        {**good, "id": "short"},
        {**good, "id": ["abcdefghijk"]},
        {**good, "snippet": {"channelId": "UCx"}},
        {**good, "snippet": {"publishedAt": "yesterday", "channelId": "UCx"}},
        {**good, "snippet": "not an object"},
    ):
        assert normalize_video(broken, channels={}) is None, broken
    assert normalize_comment({"snippet": {"topLevelComment": {}}}, video=post) is None
    assert duration_ms("P1DT1S") == 86_401_000 and duration_ms("1:02") is None and duration_ms(None) is None


def test_a_malformed_video_in_a_page_costs_only_itself(sim: SimulatorServer) -> None:
    add_video(sim.state, "cumbre one")
    add_video(sim.state, "cumbre two")
    collector = make_collector(sim)
    original = collector._videos

    class Tampered:
        def list(self, **kwargs: Any) -> Any:
            request = original.list(**kwargs)

            class Wrapped:
                def execute(self, num_retries: int = 0) -> Any:
                    body = request.execute(num_retries=num_retries)
                    body["items"][0]["snippet"]["publishedAt"] = 12
                    body["items"].append("not a video")
                    return body

            return Wrapped()

    collector._videos = Tampered()
    [page] = drain(collector, None)
    assert len(page.posts) == 1 and len(page.rejected) == 1


def test_simulator_speaks_google_error_shapes(sim: SimulatorServer) -> None:
    import httpx

    bad = httpx.get(f"{sim.base_url}/youtube/v3/search", params={"part": "snippet", "key": "nope"})
    assert bad.status_code == 400
    assert bad.json()["error"]["errors"][0]["reason"] == "keyInvalid"
    sim.state.daily_limits["youtube"] = 0
    over = httpx.get(f"{sim.base_url}/youtube/v3/videos", params={"part": "id", "key": "sim-youtube-key"})
    assert over.status_code == 403
    assert over.json()["error"]["errors"][0] == {
        "message": over.json()["error"]["message"],
        "domain": "youtube.quota",
        "reason": "quotaExceeded",
    }
    assert sim_yt.iso_duration(3_723_000) == "PT1H2M3S" and sim_yt.iso_duration(0) == "P0D"
