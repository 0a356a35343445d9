"""RedditCollector driving the real praw/prawcore against the simulator's Reddit routes."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import prawcore.sessions
import pytest
import requests
from sqlalchemy.engine import Engine

from tesoro.collector.base import AuthFailed, CollectorError, RateLimited, TransientError
from tesoro.collector.reddit import RedditCollector, normalize_submission
from tesoro.models import Cursor, MediaType, NormalizedPost, Page, Platform
from tesoro.simulator.common import loose_match
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.reddit import INJECTED_RESET_S, base36
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.world import World
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post, media_for, upsert_posts

QUERY = "andes OR cumbre"
ANA = SimAuthor(id=4242, handle="ana_runs", name="Ana", followers=900, following=80)


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """prawcore retries 5xx/timeouts twice after a random 0-4 s sleep; keep the retries, skip the wait."""
    monkeypatch.setattr(prawcore.sessions.FiniteRetryStrategy, "sleep", lambda self: None)


def make(sim: SimulatorServer, **overrides: Any) -> RedditCollector:
    settings: dict[str, Any] = {
        "query": QUERY,
        "client_id": "sim-reddit-id",
        "client_secret": "sim-reddit-secret",
        "user_agent": "tesoro-tests/0.1",
        "subreddits": ["trailrunning", "hiking"],
        "base_url": sim.base_url,
        "page_size": 5,
        "timeout_s": 5.0,
    } | overrides
    return RedditCollector(**settings)


def run(collector: RedditCollector, cursor: Cursor | None = None) -> list[Page]:
    return list(collector.pages(cursor))


def ids(pages: list[Page]) -> list[str]:
    return [post.external_id for page in pages for post in page.posts]


def fullname(post: SimPost, kind: str = "t3") -> str:
    return f"{kind}_{base36(post.id)}"


def newest_first(posts: list[SimPost]) -> list[str]:
    return [fullname(p) for p in sorted(posts, key=lambda p: p.id, reverse=True)]


def chunk_sizes(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def found(posts: list[SimPost]) -> list[str]:
    """The submissions Reddit's (the simulator's) search returns for QUERY, newest first."""
    hits = [
        p
        for p in posts
        if p.reply_to is None and loose_match(QUERY, f"{p.title}\n{p.text}" if p.title else p.text)
    ]
    return newest_first(hits)


def add(world: World, text: str, **fields: Any) -> SimPost:
    values: dict[str, Any] = {
        "id": world.next_id(),
        "platform": "reddit",
        "created_at": datetime.now(UTC),
        "text": text,
        "lang": "en",
        "author": ANA,
        "kind": "review",
        "subreddit": "trailrunning",
    } | fields
    post = SimPost(**values)
    world.add(post)
    return post


def only(pages: list[Page]) -> Iterator[NormalizedPost]:
    return (post for page in pages for post in page.posts)


# --------------------------------------------------------------------------- paging and cursors


def test_pages_newest_first_then_collects_only_new_posts(sim: SimulatorServer) -> None:
    world = sim.state.world
    first = world.grow(20, platforms=["reddit"])
    expected = found(first)
    assert len(expected) > 10  # enough for three pages of five
    collector = make(sim)

    pages = run(collector)
    assert [len(p.posts) for p in pages] == chunk_sizes(len(expected), 5)
    assert ids(pages) == expected
    assert all("pass" in page.cursor["submissions"] for page in pages[:-1])
    newest = next(p for p in reversed(first) if fullname(p) == expected[0])
    assert pages[-1].cursor["submissions"] == {
        "newest": {"fullname": expected[0], "created_utc": newest.created_at.timestamp()}
    }

    later = world.grow(6, platforms=["reddit"])
    assert found(later)
    second = run(collector, pages[-1].cursor)
    assert ids(second) == found(later)
    assert second[-1].cursor["submissions"]["newest"]["fullname"] == found(later)[0]

    idle = run(collector, second[-1].cursor)
    assert ids(idle) == [] and idle[-1].cursor == second[-1].cursor


def test_resuming_a_mid_run_cursor_yields_exactly_the_rest(sim: SimulatorServer) -> None:
    world = sim.state.world
    before = world.grow(20, platforms=["reddit"])
    collector = make(sim)
    stream = collector.pages(None)
    page_one = next(stream)  # the process "crashes" after saving the first page
    arrived_meanwhile = world.grow(6, platforms=["reddit"])
    assert found(arrived_meanwhile)

    rest = run(collector, page_one.cursor)
    assert ids([page_one]) + ids(rest) == found(before)

    # What arrived during the interrupted run sits above its marker: the next run takes it, once.
    after = run(collector, rest[-1].cursor)
    assert ids(after) == found(arrived_meanwhile)


def test_max_pages_leaves_the_pass_open_for_the_next_run(sim: SimulatorServer) -> None:
    posts = sim.state.world.grow(20, platforms=["reddit"])
    collector = make(sim, max_pages=2)
    first = run(collector)
    assert len(first) == 2 and "pass" in first[-1].cursor["submissions"]
    second = run(collector, first[-1].cursor)
    assert ids(first) + ids(second) == found(posts)
    assert "pass" not in second[-1].cursor["submissions"]


def test_first_run_backfill_stops_at_the_floor(sim: SimulatorServer) -> None:
    world = sim.state.world
    add(world, "Old Cumbre thread", created_at=datetime.now(UTC) - timedelta(days=30))
    recent = [add(world, f"Cumbre day {n}") for n in range(3)]
    pages = run(make(sim, backfill=timedelta(days=7)))
    assert ids(pages) == newest_first(recent)
    assert "pass" not in pages[-1].cursor["submissions"]


def test_an_empty_page_loses_nothing(sim: SimulatorServer) -> None:
    posts = sim.state.world.grow(4, platforms=["reddit"])
    sim.state.faults.inject("reddit.search", Fault.EMPTY)
    collector = make(sim)
    empty = run(collector)
    assert ids(empty) == [] and empty[-1].cursor["submissions"] == {"newest": None}
    assert ids(run(collector, empty[-1].cursor)) == found(posts)


# --------------------------------------------------------------------------- scope


def test_r_all_searches_every_subreddit_and_named_ones_restrict(sim: SimulatorServer) -> None:
    world = sim.state.world
    trail = add(world, "Cumbre in the mud", subreddit="trailrunning")
    hike = add(world, "Cumbre on the ridge", subreddit="hiking")
    camp = add(world, "Cumbre at camp", subreddit="camping")
    add(world, "Nothing to see here", subreddit="camping")

    everywhere = run(make(sim, subreddits=[]))
    assert ids(everywhere) == newest_first([trail, hike, camp])
    assert ids(run(make(sim, subreddits=["r/hiking"]))) == [fullname(hike)]


def test_comments_stream_with_reply_links(sim: SimulatorServer) -> None:
    world = sim.state.world
    submission = add(world, "How do the Cumbre fit?", title="Cumbre sizing")
    reply = add(world, "Half a size up for me", reply_to=submission.id, likes=7)
    nested = add(world, "Same here", reply_to=reply.id)
    collector = make(sim, include_comments=True)

    pages = run(collector)
    by_id = {post.external_id: post for post in only(pages)}
    assert list(by_id) == [fullname(submission), fullname(nested, "t1"), fullname(reply, "t1")]
    top = by_id[fullname(reply, "t1")]
    assert top.text == "Half a size up for me" and top.metrics.likes == 7
    assert top.reply_to_id == fullname(submission) and top.conversation_id == fullname(submission)
    deep = by_id[fullname(nested, "t1")]
    assert deep.reply_to_id == fullname(reply, "t1") and deep.conversation_id == fullname(submission)
    assert deep.url is not None and deep.url.startswith("https://www.reddit.com/r/trailrunning/comments/")

    newer = add(world, "Went true to size", reply_to=submission.id)
    again = run(collector, pages[-1].cursor)
    assert ids(again) == [fullname(newer, "t1")]


def test_settings_that_cannot_work_are_refused(sim: SimulatorServer) -> None:
    with pytest.raises(ValueError, match="include_comments"):
        make(sim, subreddits=["all"], include_comments=True)
    with pytest.raises(ValueError, match="subreddit"):
        make(sim, subreddits=["not a sub!"])
    with pytest.raises(ValueError, match="page_size"):
        make(sim, page_size=500)


def test_unknown_subreddit_is_a_configuration_error(sim: SimulatorServer) -> None:
    with pytest.raises(CollectorError) as caught:
        run(make(sim, subreddits=["nosuchsub"]))
    assert type(caught.value) is CollectorError


# --------------------------------------------------------------------------- failures


def test_429_is_rate_limited_until_the_simulators_reset(sim: SimulatorServer) -> None:
    sim.state.world.grow(3, platforms=["reddit"])
    sim.state.faults.inject("reddit.search", Fault.RATE_LIMIT)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        run(make(sim))
    expected = before + timedelta(seconds=INJECTED_RESET_S)
    assert expected - timedelta(seconds=1) <= caught.value.retry_at <= expected + timedelta(seconds=2)


def test_server_errors_beyond_prawcores_own_retries_are_transient(sim: SimulatorServer) -> None:
    posts = sim.state.world.grow(3, platforms=["reddit"])
    faults = sim.state.faults
    faults.inject("reddit.search", Fault.SERVER_ERROR, times=2)  # prawcore retries twice by itself
    assert ids(run(make(sim))) == found(posts)
    faults.inject("reddit.search", Fault.SERVER_ERROR, times=3)
    with pytest.raises(TransientError):
        run(make(sim))


def test_malformed_json_is_transient(sim: SimulatorServer) -> None:
    sim.state.world.grow(3, platforms=["reddit"])
    sim.state.faults.inject("reddit.search", Fault.MALFORMED)
    with pytest.raises(TransientError):
        run(make(sim))


def test_a_failure_mid_run_resumes_from_the_last_saved_page(sim: SimulatorServer) -> None:
    posts = sim.state.world.grow(20, platforms=["reddit"])
    collector = make(sim)
    stream = collector.pages(None)
    page = next(stream)
    saved, seen = page.cursor, ids([page])  # what the runner stored
    sim.state.faults.inject("reddit.search", Fault.SERVER_ERROR, times=3)
    with pytest.raises(TransientError):
        next(stream)
    seen += ids(run(collector, saved))  # the runner's retry
    assert seen == found(posts)


def test_bad_credentials_fail_authentication(sim: SimulatorServer) -> None:
    sim.state.world.grow(1, platforms=["reddit"])
    with pytest.raises(AuthFailed):
        run(make(sim, client_secret="wrong"))


def test_a_revoked_token_fails_authentication_after_refreshing(sim: SimulatorServer) -> None:
    sim.state.world.grow(1, platforms=["reddit"])
    sim.state.faults.inject("reddit.search", Fault.AUTH, times=3)
    with pytest.raises(AuthFailed):
        run(make(sim))


# --------------------------------------------------------------------------- normalization


def media(key: str, kind: str, **extra: Any) -> SimMedia:
    return SimMedia(
        key=key,
        type=kind,
        url=f"https://cdn.example/{key}",
        preview_url=f"https://cdn.example/{key}-thumb.jpg",
        width=1080,
        height=1350,
        **extra,
    )


def test_submission_normalization(sim: SimulatorServer) -> None:
    world = sim.state.world
    selfpost = add(
        world,
        "Ran 20k in the Cumbre, #trailrunning heaven. Thanks u/andes_team!",
        title="Cumbre review",
        created_at=datetime.now(UTC) - timedelta(hours=1),
        likes=120,
        replies=14,
        reposts=2,
    )
    video = add(
        world, "Cumbre in action", title="Video!", media=(media("vid1", "video", duration_ms=12_000),)
    )
    gallery = add(
        world,
        "Cumbre gallery",
        title="Photos",
        media=(media("img1", "photo", alt_text="muddy shoes"), media("img2", "photo")),
    )
    gif = add(world, "Cumbre gif", title="Gif", media=(media("gif1.gif", "gif"),))
    photo = add(world, "Cumbre pic", title="Pic", media=(media("pic1.jpg", "photo"),))

    posts = {p.external_id: p for p in only(run(make(sim, backfill=None)))}
    review = posts[fullname(selfpost)]
    assert review.platform is Platform.REDDIT
    assert review.title == "Cumbre review"
    assert review.text == "Cumbre review\n\nRan 20k in the Cumbre, #trailrunning heaven. Thanks u/andes_team!"
    assert review.created_at == selfpost.created_at
    assert review.author.handle == "ana_runs" and review.author.external_id == f"t2_{base36(ANA.id)}"
    assert review.author.profile_url == "https://www.reddit.com/user/ana_runs/"
    assert review.url is not None
    assert review.url.startswith(f"https://www.reddit.com/r/trailrunning/comments/{base36(selfpost.id)}/")
    assert (review.metrics.likes, review.metrics.replies, review.metrics.reposts) == (120, 14, 2)
    assert review.hashtags == ("trailrunning",) and review.mentions == ("andes_team",)
    assert review.media == ()

    (clip,) = posts[fullname(video)].media
    assert clip.type is MediaType.VIDEO and clip.url == "https://cdn.example/vid1"
    assert clip.duration_ms == 12_000 and clip.preview_url == "https://cdn.example/vid1-thumb.jpg"
    assert (clip.width, clip.height) == (1080, 1350)

    first, second = posts[fullname(gallery)].media
    assert first.type is MediaType.PHOTO and first.url == "https://cdn.example/img1"
    assert first.alt_text == "muddy shoes" and second.url == "https://cdn.example/img2"

    (animated,) = posts[fullname(gif)].media
    assert animated.type is MediaType.GIF and animated.url == "https://cdn.example/gif1.gif"
    (picture,) = posts[fullname(photo)].media
    assert picture.type is MediaType.PHOTO and picture.url == "https://cdn.example/pic1.jpg"
    assert picture.preview_url == "https://cdn.example/pic1.jpg-thumb.jpg"


def test_crossposts_text_post_media_flags_and_deleted_authors(
    sim: SimulatorServer, sqlite_engine: Engine
) -> None:
    world = sim.state.world
    gone = SimAuthor(id=777, handle="was_someone", name="Gone", followers=5, following=5, gone=True)
    other_gone = replace(gone, id=778, handle="was_someone_else")
    review = add(
        world,
        "Wore the Cumbre for a month, photos below.",
        title="Cumbre photo review",
        subreddit="hiking",
        media=(media("in1.jpg", "photo"), media("in2", "video")),
        media_inline=True,
        author=gone,
    )
    crosspost = add(world, "", title="Look at this Cumbre review", crosspost_of=review.id, author=other_gone)
    nsfw = add(
        world, "Cumbre on the beach", title="Cumbre pic", media=(media("n1.jpg", "photo"),), flags=("nsfw",)
    )

    posts = {p.external_id: p for p in only(run(make(sim, backfill=None)))}
    inline = posts[fullname(review)]
    assert [(m.type, m.url) for m in inline.media] == [
        (MediaType.PHOTO, "https://cdn.example/in1.jpg"),
        (MediaType.VIDEO, "https://v.redd.it/link/in2/asset/HLSPlaylist.m3u8"),
    ]
    assert inline.author.gone and inline.author.handle == "[deleted]"
    shared = posts[fullname(crosspost)]
    assert shared.text == "Look at this Cumbre review\n\nWore the Cumbre for a month, photos below."
    assert [m.url for m in shared.media] == [m.url for m in inline.media]
    assert shared.quote_of_id == fullname(review)
    assert posts[fullname(nsfw)].content_flags == ("nsfw",) and inline.content_flags == ()

    # Two deleted accounts are two authors, never one "[deleted]" person holding both posts.
    with session_scope(sqlite_engine) as session:
        upsert_posts(session, list(posts.values()))
    with session_scope(sqlite_engine) as session:
        first = get_post(session, platform="reddit", external_id=fullname(review))
        second = get_post(session, platform="reddit", external_id=fullname(crosspost))
        assert first is not None and second is not None and first.author_id != second.author_id
        assert len(media_for(session, post_id=second.id or 0)) == 2, "the parent's media are stored"


# --------------------------------------------------------------------------- the simulator itself


def _token(sim: SimulatorServer, session: requests.Session, **form: str) -> requests.Response:
    basic = base64.b64encode(b"sim-reddit-id:sim-reddit-secret").decode()
    return session.post(
        f"{sim.base_url}/api/v1/access_token", data=form, headers={"Authorization": f"Basic {basic}"}
    )


def test_simulator_token_endpoint_and_rate_limit_headers(sim: SimulatorServer) -> None:
    session = requests.Session()
    session.trust_env = False
    assert _token(sim, session, grant_type="password").json() == {"error": "invalid_grant"}
    assert _token(sim, session, grant_type="bogus").json() == {"error": "unsupported_grant_type"}
    wrong = session.post(f"{sim.base_url}/api/v1/access_token", data={"grant_type": "client_credentials"})
    assert wrong.status_code == 401

    token = _token(sim, session, grant_type="client_credentials").json()["access_token"]
    listing = session.get(f"{sim.base_url}/r/all/new", headers={"Authorization": f"bearer {token}"})
    assert listing.json()["kind"] == "Listing"
    assert {"x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset"} <= set(listing.headers)
    refused = session.get(f"{sim.base_url}/r/all/new", headers={"Authorization": "bearer nope"})
    assert refused.status_code == 401 and "invalid_token" in refused.headers["www-authenticate"]
    assert session.get(f"{sim.base_url}/r/all/new/").status_code == 404  # exact routes only


def test_a_deleted_or_removed_submission_is_marked_deleted() -> None:
    """Reddit keeps a deleted submission's title; its body reads `[deleted]` (or `[removed]` when a
    moderator or Reddit took it down) and `removed_by_category` says why."""
    base: dict[str, Any] = {
        "name": "t3_abc123",
        "title": "Cumbre photo review",
        "selftext": "Wore them for a month.",
        "author": "ana_trails",
        "author_fullname": "t2_ana",
        "created_utc": 1_730_000_000.0,
        "permalink": "/r/hiking/comments/abc123/cumbre_photo_review/",
        "removed_by_category": None,
    }
    kept = normalize_submission(base)
    by_author = normalize_submission(
        {**base, "selftext": "[deleted]", "author": "[deleted]", "removed_by_category": "deleted"}
    )
    by_moderator = normalize_submission({**base, "selftext": "[removed]", "removed_by_category": "moderator"})
    link_removed = normalize_submission({**base, "selftext": "", "removed_by_category": "reddit"})
    assert kept is not None and not kept.deleted
    for gone in (by_author, by_moderator, link_removed):
        assert gone is not None and gone.deleted and gone.text == "Cumbre photo review"
