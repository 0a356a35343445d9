"""XCollector driving the real tweepy.Client against the simulator's X API v2."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy.engine import Engine

from tesoro.collector.base import AuthFailed, Collector, RateLimited, TransientError
from tesoro.collector.x import XCollector, normalize_tweet
from tesoro.curator.queue import decide
from tesoro.models import Cursor, MediaType, NormalizedPost, Page, Platform
from tesoro.settings import BrandSettings, Settings
from tesoro.simulator import x as sim_x
from tesoro.simulator.common import loose_match
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState
from tesoro.store.catalog import brand_by_name, sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts, gallery_posts, get_post, upsert_posts
from tesoro.store.versions import content_changes

WHEN = datetime(2025, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
ALICE = SimAuthor(
    42, "alice_trails", "Alice Trails", followers=12_500, following=310, verified=True, bio="Runs."
)


def make_collector(sim: SimulatorServer, **overrides: object) -> XCollector:
    options: dict[str, object] = {
        "query": "andes",
        "bearer_token": sim.state.credentials.x_bearer,
        "base_url": sim.base_url,
        "page_size": 10,
        "timeout_s": 5.0,
    }
    options.update(overrides)
    return XCollector(**options)  # type: ignore[arg-type]


def drain(collector: XCollector, cursor: Cursor | None) -> list[Page]:
    return list(collector.pages(cursor))


def ids(pages: list[Page]) -> list[str]:
    return [post.external_id for page in pages for post in page.posts]


def add_post(state: SimState, text: str, **fields: object) -> SimPost:
    values: dict[str, object] = {"lang": "en", "author": ALICE, "kind": "review", "created_at": WHEN}
    values.update(fields)
    post = SimPost(id=state.world.next_id(), platform="x", text=text, **values)  # type: ignore[arg-type]
    state.world.add(post)
    return post


def matching(state: SimState, *, after: int = 0) -> list[str]:
    """What X answers for "andes", newest first: the simulator's search is a loose word match."""
    hits = [p for p in state.world.posts("x") if p.id > after and loose_match("andes", p.text)]
    return [str(p.id) for p in sorted(hits, key=lambda p: p.id, reverse=True)]


@pytest.fixture
def world25(sim: SimulatorServer) -> Iterator[SimulatorServer]:
    """A generated world with more than two pages of matches (and posts that do not match)."""
    sim.state.world.grow(50, platforms=("x",))
    assert len(matching(sim.state)) > 20
    yield sim


def test_is_a_collector_and_compiles_the_query() -> None:
    collector = XCollector(query='cumbre OR "nube jacket"', bearer_token="t")
    assert isinstance(collector, Collector)
    assert collector.platform is Platform.X
    assert collector.query == '(cumbre OR "nube jacket") -is:retweet'
    assert XCollector(query="andes", bearer_token="t", include_retweets=True).query == "andes"


def test_refuses_page_sizes_x_does_not_accept() -> None:
    with pytest.raises(ValueError, match="between 10 and 100"):
        XCollector(query="andes", bearer_token="t", page_size=5)


def test_pages_newest_first_with_resumable_cursors(world25: SimulatorServer) -> None:
    pages = drain(make_collector(world25), None)

    expected = matching(world25.state)
    assert [len(p.posts) for p in pages[:-1]] == [10] * (len(pages) - 1)
    assert len(pages) == -(-len(expected) // 10)
    assert ids(pages) == expected
    for page in pages[:-1]:
        assert page.cursor["since_id"] is None
        assert page.cursor["run_newest_id"] == expected[0]
        assert page.cursor["next_token"]
    assert pages[-1].cursor == {"since_id": expected[0]}


def test_second_run_fetches_only_new_posts(world25: SimulatorServer) -> None:
    collector = make_collector(world25)
    first = drain(collector, None)
    last = int(first[-1].cursor["since_id"])
    world25.state.world.grow(20, platforms=("x",))
    added = matching(world25.state, after=last)
    assert added

    second = drain(collector, first[-1].cursor)

    assert ids(second) == added
    assert second[-1].cursor == {"since_id": added[0]}
    third = drain(collector, second[-1].cursor)
    assert [p.posts for p in third] == [()]
    assert third[-1].cursor == second[-1].cursor


def test_resume_from_a_mid_run_cursor_loses_and_repeats_nothing(world25: SimulatorServer) -> None:
    state = world25.state
    before = matching(state)
    interrupted = list(make_collector(world25, max_pages=1).pages(None))
    assert ids(interrupted) == before[:10]
    state.world.grow(6, platforms=("x",))  # arrive while the run is interrupted
    late = matching(state, after=int(before[0]))
    assert late

    # A new process resumes from the saved cursor: exactly the rest of the run...
    resumed = drain(make_collector(world25), interrupted[-1].cursor)
    assert ids(resumed) == before[10:]
    assert resumed[-1].cursor == {"since_id": before[0]}
    # ...and the posts that arrived meanwhile come with the next run, once.
    assert ids(drain(make_collector(world25), resumed[-1].cursor)) == late


def test_a_refused_next_token_restarts_the_run_from_since_id(world25: SimulatorServer) -> None:
    since = matching(world25.state)[15]
    stale = {"since_id": since, "run_newest_id": matching(world25.state)[0], "next_token": "expired"}

    pages = drain(make_collector(world25), stale)

    assert ids(pages) == matching(world25.state, after=int(since))
    assert pages[-1].cursor == {"since_id": matching(world25.state)[0]}


def test_rate_limit_raises_with_the_reset_time_and_keeps_the_cursor(world25: SimulatorServer) -> None:
    collector = make_collector(world25)
    pages = collector.pages(None)
    first = next(pages)
    world25.state.faults.inject("x.search", Fault.RATE_LIMIT)

    asked_at = time.time()
    with pytest.raises(RateLimited) as caught:
        next(pages)

    reset = caught.value.retry_at.timestamp()
    assert asked_at + 1 <= reset <= time.time() + sim_x.RATE_LIMIT_RESET_S
    assert caught.value.retry_at.tzinfo is not None
    assert ids(drain(collector, first.cursor)) == matching(world25.state)[10:]


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.MALFORMED])
def test_server_errors_and_broken_json_are_transient(world25: SimulatorServer, fault: Fault) -> None:
    world25.state.faults.inject("x.search", fault)
    collector = make_collector(world25)

    with pytest.raises(TransientError):
        drain(collector, None)
    assert ids(drain(collector, None)) == matching(world25.state)  # the runner's retry succeeds


def test_timeout_is_transient_and_quick(world25: SimulatorServer) -> None:
    world25.state.faults.inject("x.search", Fault.TIMEOUT)
    collector = make_collector(world25, timeout_s=0.3)

    started = time.monotonic()
    with pytest.raises(TransientError, match="Timeout"):
        drain(collector, None)
    assert time.monotonic() - started < world25.state.timeout_hold_s


def test_connection_refused_is_transient() -> None:
    collector = XCollector(query="andes", bearer_token="t", base_url="http://127.0.0.1:9", timeout_s=1)
    with pytest.raises(TransientError):
        drain(collector, None)


def test_wrong_token_and_revoked_token_fail_auth(world25: SimulatorServer) -> None:
    with pytest.raises(AuthFailed):
        drain(make_collector(world25, bearer_token="wrong"), None)
    world25.state.faults.inject("x.search", Fault.AUTH)
    with pytest.raises(AuthFailed):
        drain(make_collector(world25), None)


def test_empty_page_keeps_the_cursor(world25: SimulatorServer) -> None:
    collector = make_collector(world25)
    cursor = drain(collector, None)[-1].cursor
    world25.state.faults.inject("x.search", Fault.EMPTY)

    assert [(p.posts, p.cursor) for p in drain(collector, cursor)] == [((), cursor)]


def test_normalizes_author_media_metrics_and_references(sim: SimulatorServer) -> None:
    photo = SimMedia(
        "3_1",
        "photo",
        "https://pbs.twimg.com/media/a.jpg",
        "https://pbs.twimg.com/media/a_s.jpg",
        1200,
        800,
        alt_text="Trail shoes on a rock",
    )
    video = SimMedia(
        "7_2",
        "video",
        "https://video.twimg.com/v.mp4",
        "https://pbs.twimg.com/v.jpg",
        1280,
        720,
        duration_ms=15_500,
    )
    gif = SimMedia("16_3", "gif", "https://video.twimg.com/g.mp4", "https://pbs.twimg.com/g.jpg", 480, 270)
    parent = add_post(sim.state, "First andes run")
    post = add_post(
        sim.state,
        "Andes loves #Cumbre and @nube_fan",
        media=(photo, video, gif),
        likes=10,
        reposts=3,
        replies=2,
        quotes=1,
        views=4_321,
        reply_to=parent.id,
        lang="es",
    )

    got = {p.external_id: p for p in ids_and_posts(make_collector(sim))}[str(post.id)]

    assert got.platform is Platform.X
    assert got.text == "Andes loves #Cumbre and @nube_fan"
    assert got.created_at == WHEN
    assert got.lang == "es"
    assert got.url == f"https://x.com/alice_trails/status/{post.id}"
    assert (got.author.external_id, got.author.handle, got.author.display_name) == (
        "42",
        "alice_trails",
        "Alice Trails",
    )
    assert (got.author.followers, got.author.following, got.author.verified) == (12_500, 310, True)
    assert got.author.avatar_url and got.author.avatar_url.startswith("https://pbs.twimg.com/")
    assert got.author.bio == "Runs."
    assert [(m.type, m.url, m.preview_url) for m in got.media] == [
        (MediaType.PHOTO, photo.url, None),
        (MediaType.VIDEO, video.url, video.preview_url),  # the highest-bit-rate mp4 variant
        (MediaType.GIF, gif.url, gif.preview_url),
    ]
    assert (got.media[0].width, got.media[0].height, got.media[0].alt_text) == (
        1200,
        800,
        "Trail shoes on a rock",
    )
    assert got.media[1].duration_ms == 15_500
    assert (got.metrics.likes, got.metrics.reposts, got.metrics.replies, got.metrics.quotes) == (10, 3, 2, 1)
    assert got.metrics.views == 4_321
    assert (got.reply_to_id, got.conversation_id, got.quote_of_id) == (str(parent.id), str(parent.id), None)
    assert got.hashtags == ("Cumbre",)
    assert got.mentions == ("nube_fan",)


def ids_and_posts(collector: XCollector) -> list[NormalizedPost]:
    return [post for page in collector.pages(None) for post in page.posts]


@pytest.mark.parametrize("text", ["<script>alert(1)</script> andes", "andes &amp; <b>bold</b> & co"])
def test_hostile_text_is_kept_as_plain_text(sim: SimulatorServer, text: str) -> None:
    add_post(sim.state, text)
    (post,) = ids_and_posts(make_collector(sim))
    assert post.text == text


def test_malformed_tweets_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    users = {"1": {"id": "1", "username": "u"}}
    good = {"id": "5", "text": "hi", "author_id": "1", "created_at": "2025-01-01T00:00:00.000Z"}
    assert normalize_tweet(good, users=users, media={}) is not None
    with caplog.at_level(logging.WARNING, logger="tesoro.collector.x"):
        for broken in (
            {**good, "id": None},
            {**good, "text": 7},
            {**good, "author_id": "9"},
            {**good, "created_at": "x"},
        ):
            assert normalize_tweet(broken, users=users, media={}) is None
    assert len(caplog.records) == 4


def test_simulator_speaks_x_defaults_errors_and_rate_limit_headers(sim: SimulatorServer) -> None:
    add_post(sim.state, "andes")
    url = sim.base_url + sim_x.PATH
    auth = {"Authorization": f"Bearer {sim.state.credentials.x_bearer}"}
    session = requests.Session()
    session.trust_env = False

    ok = session.get(url, params={"query": "andes"}, headers=auth, timeout=5)
    too_small = session.get(url, params={"query": "andes", "max_results": "5"}, headers=auth, timeout=5)
    anonymous = session.get(url, params={"query": "andes"}, timeout=5)

    assert set(ok.json()["data"][0]) == {"id", "text", "edit_history_tweet_ids"}  # only what X sends unasked
    assert too_small.status_code == 400 and too_small.json()["title"] == "Invalid Request"
    assert anonymous.status_code == 401 and anonymous.json()["title"] == "Unauthorized"
    for response in (ok, too_small, anonymous):
        assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(response.headers)


def test_a_since_id_older_than_seven_days_collects_the_window_instead(
    world25: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A source that has been idle for 8 days: its since_id is a tweet X's recent search no longer reaches.
    old = add_post(
        world25.state, "andes shoes, an old review", created_at=datetime.now(UTC) - timedelta(days=8)
    )
    fresh = add_post(world25.state, "andes jacket kept me dry today", created_at=datetime.now(UTC))
    refused = requests.get(
        f"{world25.base_url}/2/tweets/search/recent",
        params={"query": "andes", "since_id": str(old.id)},
        headers={"Authorization": f"Bearer {world25.state.credentials.x_bearer}"},
        timeout=5,
    )
    assert refused.status_code == 400 and "since_id" in refused.json()["errors"][0]["parameters"]

    with caplog.at_level(logging.WARNING, logger="tesoro.collector.x"):
        pages = drain(make_collector(world25), {"since_id": str(old.id)})

    # Everything X still has is collected (the old tweet itself too: the window has no lower id bound
    # in the simulator), and the next run continues from the newest tweet as usual.
    collected = ids(pages)
    assert str(fresh.id) in collected and collected == matching(world25.state)
    assert pages[-1].cursor == {"since_id": str(fresh.id)}
    assert "7-day search window" in caplog.text


def test_a_recent_since_id_is_accepted(world25: SimulatorServer) -> None:
    recent = add_post(world25.state, "andes pack review", created_at=datetime.now(UTC) - timedelta(days=6))
    later = add_post(world25.state, "andes pack, one week in", created_at=datetime.now(UTC))
    pages = drain(make_collector(world25), {"since_id": str(recent.id)})
    assert ids(pages) == [str(later.id)]


# --- edits: X gives an edited tweet a new id and lists the chain in edit_history_tweet_ids ---------


def _edited_tweet(tweet_id: str, chain: list[str], text: str) -> dict[str, object]:
    """An edited tweet as X API v2 documents it: its own id, and every version's id, oldest first."""
    return {
        "id": tweet_id,
        "text": text,
        "edit_history_tweet_ids": chain,
        "author_id": "42",
        "created_at": "2025-05-01T12:30:15.000Z",
    }


def test_an_edited_tweet_carries_its_edit_chain() -> None:
    users = {"42": {"id": "42", "username": "alice_trails", "name": "Alice"}}
    edited = normalize_tweet(
        _edited_tweet("1790000000000000002", ["1790000000000000001", "1790000000000000002"], "andes v2"),
        users=users,
        media={},
    )
    never_edited = normalize_tweet(
        _edited_tweet("1790000000000000001", ["1790000000000000001"], "andes"), users=users, media={}
    )
    broken = normalize_tweet(_edited_tweet("17", ["15", "x"], "andes"), users=users, media={})
    assert edited is not None and edited.external_id == "1790000000000000002"
    assert edited.edit_ids == ("1790000000000000001", "1790000000000000002")
    assert never_edited is not None and never_edited.edit_ids == ()
    assert broken is not None and broken.edit_ids == ()  # a chain without the tweet itself is ignored
    huge = "9" * 40
    hostile = normalize_tweet(_edited_tweet(huge, ["1", huge], "andes"), users=users, media={})
    assert hostile is not None and hostile.edit_ids == ()  # no X id has 40 digits: no aliases from it


def test_simulator_serves_only_the_newest_version_with_the_whole_chain(sim: SimulatorServer) -> None:
    original = add_post(sim.state, "andes boots, first words")
    first_edit = sim.state.world.edit(original.id, text="andes boots, second words")
    latest = sim.state.world.edit(first_edit.id, text="andes boots, final words")
    session = requests.Session()
    session.trust_env = False
    body = session.get(
        sim.base_url + sim_x.PATH,
        params={"query": "andes"},
        headers={"Authorization": f"Bearer {sim.state.credentials.x_bearer}"},
        timeout=5,
    ).json()
    assert [t["id"] for t in body["data"]] == [str(latest.id)]
    assert body["data"][0]["edit_history_tweet_ids"] == [str(original.id), str(first_edit.id), str(latest.id)]
    assert body["data"][0]["text"] == "andes boots, final words"


def test_an_edit_after_approval_is_one_post_back_in_review_and_the_gallery_keeps_the_approved_text(
    sim: SimulatorServer, engine: Engine
) -> None:
    original = add_post(
        sim.state,
        "andes boots held up on the whole trail",
        media=(SimMedia("3_1", "photo", "https://pbs.twimg.com/media/a.jpg", "", 800, 600),),
    )
    collector = make_collector(sim)
    with session_scope(engine) as session:
        sync_catalog(session, Settings(brands=[BrandSettings(name="Andes Outdoor")]))
        brand = brand_by_name(session, "Andes Outdoor")
        assert brand is not None and brand.id is not None
        brand_id = brand.id
    first = drain(collector, None)
    with session_scope(engine) as session:
        upsert_posts(session, [p for page in first for p in page.posts], brand_id=brand_id)
        post = get_post(session, platform="x", external_id=str(original.id))
        assert post is not None and post.id is not None
        post_id = post.id
        decide(session, post_ids=[post_id], action="approve", actor="lucia")
        decide(session, post_ids=[post_id], action="set_rights", rights="granted", actor="lucia")

    edit = sim.state.world.edit(original.id, text="andes boots 70% off at cheap-boots.example", media=())
    second = drain(collector, first[-1].cursor)
    assert ids(second) == [str(edit.id)]
    with session_scope(engine) as session:
        upsert_posts(session, [p for page in second for p in page.posts], brand_id=brand_id)
        assert count_posts(session, platform="x") == 1
        stored = get_post(session, platform="x", external_id=str(edit.id))
        assert stored is not None and stored.id == post_id and stored.queue_state == "new"
        assert stored.text == "andes boots 70% off at cheap-boots.example"
        change = content_changes(session, post_ids=[post_id])[post_id]
        public = gallery_posts(session, brand_id=brand_id)
    assert change.media_removed == ("https://pbs.twimg.com/media/a.jpg",)
    assert [(v.id, v.text, [m.url for m in v.media]) for v in public] == [
        (post_id, "andes boots held up on the whole trail", ["https://pbs.twimg.com/media/a.jpg"])
    ]
