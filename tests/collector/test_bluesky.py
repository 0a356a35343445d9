"""BlueskyCollector driving the real atproto.Client against the simulator's XRPC API."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest

from tesoro.collector.base import AuthFailed, Collector, RateLimited, TransientError
from tesoro.collector.bluesky import BlueskyCollector, normalize_post_view, post_key
from tesoro.models import Cursor, MediaType, NormalizedPost, Page, Platform
from tesoro.simulator import bluesky as sim_bsky
from tesoro.simulator.common import loose_match
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.state import SimState

WHEN = datetime(2025, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
ALICE = SimAuthor(42, "Alice_Trails", "Alice Trails", followers=12_500, following=310, bio="Runs.")


def make_collector(sim: SimulatorServer, *, batched: bool = False, **overrides: object) -> BlueskyCollector:
    """Unless `batched`, each merge round is a page of its own, so the tests see the merge itself."""
    options: dict[str, object] = {
        "query": "andes",
        "handle": sim.state.credentials.bluesky_handle,
        "password": sim.state.credentials.bluesky_password,
        "base_url": sim.base_url + "/bsky",
        "page_size": 10,
        "timeout_s": 5.0,
        "fetch_profiles": False,  # one getProfiles call per 25 authors: only where followers are checked
    }
    options.update(overrides)
    collector = BlueskyCollector(**options)  # type: ignore[arg-type]
    if not batched:
        collector.store_batch = collector.store_rounds = 1
    return collector


def drain(collector: BlueskyCollector, cursor: Cursor | None) -> list[Page]:
    return list(collector.pages(cursor))


def uris(pages: list[Page]) -> list[str]:
    return [post.external_id for page in pages for post in page.posts]


def posts_of(pages: list[Page]) -> list[NormalizedPost]:
    return [post for page in pages for post in page.posts]


def add_post(state: SimState, text: str, **fields: object) -> SimPost:
    values: dict[str, object] = {"lang": "en", "author": ALICE, "kind": "review", "created_at": WHEN}
    values.update(fields)
    post = SimPost(id=state.world.next_id(), platform="bluesky", text=text, **values)  # type: ignore[arg-type]
    state.world.add(post)
    return post


def newest_first(posts: list[SimPost]) -> list[str]:
    return [sim_bsky.post_uri(p) for p in sorted(posts, key=lambda p: p.id, reverse=True)]


def grow(state: SimState, n: int) -> list[SimPost]:
    """Generate `n` posts; return those Bluesky's search finds for "andes" (a loose word match)."""
    return [p for p in state.world.grow(n, platforms=("bluesky",)) if loose_match("andes", p.text)]


def test_is_a_collector_and_compiles_or_into_several_searches() -> None:
    collector = BlueskyCollector(query="(cumbre OR nube) lang:es", handle="h", password="p")  # no I/O yet
    assert isinstance(collector, Collector)
    assert collector.platform is Platform.BLUESKY
    assert [(s.q, s.lang) for s in collector.searches] == [("cumbre", "es"), ("nube", "es")]


def test_rkeys_order_posts_like_ids() -> None:
    keys = [
        post_key(f"at://did:plc:x/app.bsky.feed.post/{sim_bsky.encode_tid(i)}") for i in (5, 6, 1_000_123)
    ]
    ordered = [k for k in keys if k is not None]
    assert len(ordered) == 3 and ordered == sorted(ordered)
    assert sim_bsky.decode_tid(sim_bsky.encode_tid(1_000_123)) == 1_000_123
    assert post_key("at://did:plc:x/app.bsky.feed.post/custom-key") is None


def test_pages_newest_first_and_logs_in_once(sim: SimulatorServer) -> None:
    posts = grow(sim.state, 50)
    assert len(posts) > 20
    collector = make_collector(sim)

    pages = drain(collector, None)

    assert [len(p.posts) for p in pages[:-1]] == [10] * (len(pages) - 1)
    assert uris(pages) == newest_first(posts)
    assert pages[0].cursor["floor_uri"] == uris(pages)[9]
    assert pages[-1].cursor == {"newest_uri": newest_first(posts)[0]}
    drain(collector, pages[-1].cursor)
    assert sim.state.faults.calls["bluesky.login"] == 1


def test_second_run_fetches_only_new_posts(sim: SimulatorServer) -> None:
    grow(sim.state, 50)
    collector = make_collector(sim)
    first = drain(collector, None)
    added = grow(sim.state, 15)
    assert added

    second = drain(collector, first[-1].cursor)

    assert uris(second) == newest_first(added)
    assert second[-1].cursor == {"newest_uri": newest_first(added)[0]}
    third = drain(collector, second[-1].cursor)
    assert [p.posts for p in third] == [()]
    assert third[-1].cursor == second[-1].cursor


def test_posts_arriving_mid_run_shift_offsets_without_duplicates_or_loss(sim: SimulatorServer) -> None:
    before = newest_first(grow(sim.state, 50))
    collector = make_collector(sim, max_pages=1)
    seen = uris(pages := drain(collector, None))
    late = grow(sim.state, 10)  # the offset cursors now point too high in the results
    assert late
    while "streams" in pages[-1].cursor:
        pages = drain(collector, pages[-1].cursor)
        seen += uris(pages)

    assert seen == before
    assert uris(drain(make_collector(sim), pages[-1].cursor)) == newest_first(late)


def test_resume_from_any_mid_run_cursor_of_an_or_query(sim: SimulatorServer) -> None:
    for i in range(9):
        add_post(sim.state, ["Cumbre day", "Nube day", "Cumbre and Nube day"][i % 3])
    grow(sim.state, 3)  # generated noise: may name either product, both or neither
    pages = drain(make_collector(sim, query="cumbre OR nube", page_size=3), None)

    everything = uris(pages)
    assert len(everything) == len(set(everything))  # posts matching both searches come once
    matching = [
        p for p in sim.state.world.posts("bluesky") if "cumbre" in p.text.lower() or "nube" in p.text.lower()
    ]
    assert sorted(everything) == sorted(sim_bsky.post_uri(p) for p in matching)
    for k, page in enumerate(pages[:-1]):
        resumed = drain(make_collector(sim, query="cumbre OR nube", page_size=3), page.cursor)
        assert uris(resumed) == uris(pages[k + 1 :])


def test_a_cursor_from_another_query_restarts_from_the_watermark(sim: SimulatorServer) -> None:
    grow(sim.state, 30)
    mid_run = drain(make_collector(sim, query="cumbre OR nube", max_pages=1, page_size=2), None)[-1].cursor
    everything = sim.state.world.posts("bluesky")
    mid_run["newest_uri"] = sim_bsky.post_uri(everything[9])

    pages = drain(make_collector(sim), mid_run)

    assert uris(pages) == newest_first([p for p in everything[10:] if loose_match("andes", p.text)])


def test_lang_filter_is_sent_to_the_search(sim: SimulatorServer) -> None:
    add_post(sim.state, "andes en inglés", lang="en")
    spanish = add_post(sim.state, "andes en español", lang="es")
    assert uris(drain(make_collector(sim, query="andes lang:es"), None)) == [sim_bsky.post_uri(spanish)]


def test_rate_limit_raises_with_the_reset_time(sim: SimulatorServer) -> None:
    matches = grow(sim.state, 50)
    collector = make_collector(sim)
    pages = collector.pages(None)
    first = next(pages)
    sim.state.faults.inject("bluesky.search", Fault.RATE_LIMIT)

    asked_at = time.time()
    with pytest.raises(RateLimited) as caught:
        next(pages)

    reset = caught.value.retry_at.timestamp()
    assert asked_at + 1 <= reset <= time.time() + sim_bsky.RATE_LIMIT_RESET_S
    assert uris(drain(collector, first.cursor)) == newest_first(matches)[10:]


@pytest.mark.parametrize(
    ("route", "fault"),
    [
        ("bluesky.search", Fault.SERVER_ERROR),
        ("bluesky.search", Fault.MALFORMED),
        ("bluesky.profiles", Fault.SERVER_ERROR),
        ("bluesky.login", Fault.SERVER_ERROR),
    ],
)
def test_server_errors_and_broken_json_are_transient(sim: SimulatorServer, route: str, fault: Fault) -> None:
    matches = grow(sim.state, 10)
    assert matches
    sim.state.faults.inject(route, fault)
    collector = make_collector(sim, fetch_profiles=True)

    with pytest.raises(TransientError):
        drain(collector, None)
    assert uris(drain(collector, None)) == newest_first(matches)


def test_timeout_is_transient_and_quick(sim: SimulatorServer) -> None:
    grow(sim.state, 5)
    sim.state.faults.inject("bluesky.search", Fault.TIMEOUT)
    collector = make_collector(sim, timeout_s=0.3)

    started = time.monotonic()
    with pytest.raises(TransientError, match="Timeout"):
        drain(collector, None)
    assert time.monotonic() - started < sim.state.timeout_hold_s


def test_bad_password_and_rejected_session_fail_auth(sim: SimulatorServer) -> None:
    with pytest.raises(AuthFailed):
        drain(make_collector(sim, password="wrong"), None)
    collector = make_collector(sim)
    sim.state.faults.inject("bluesky.search", Fault.AUTH)
    with pytest.raises(AuthFailed):
        drain(collector, None)
    drain(collector, None)
    assert sim.state.faults.calls["bluesky.login"] == 3  # after a refusal the collector logs in afresh


def test_rate_limited_login(sim: SimulatorServer) -> None:
    sim.state.faults.inject("bluesky.login", Fault.RATE_LIMIT)
    with pytest.raises(RateLimited):
        drain(make_collector(sim), None)


def test_normalizes_author_media_metrics_and_references(sim: SimulatorServer) -> None:
    photo = SimMedia(
        "p1",
        "photo",
        "https://cdn.example/full.jpg",
        "https://cdn.example/thumb.jpg",
        1200,
        800,
        size_bytes=345_678,
        alt_text="Shoes on a rock",
    )
    root = add_post(sim.state, "andes root")
    parent = add_post(sim.state, "andes parent", reply_to=root.id)
    post = add_post(
        sim.state,
        "Añoranza andes #Cumbre con @nube.bsky.social",
        media=(photo,),
        likes=10,
        reposts=3,
        replies=2,
        quotes=1,
        reply_to=parent.id,
        lang="es",
        hashtags=("Cumbre", "trail"),
    )
    video_post = add_post(
        sim.state,
        "andes video",
        media=(
            SimMedia(
                "v1",
                "video",
                "https://video.example/v.m3u8",
                "https://video.example/v.jpg",
                1280,
                720,
                duration_ms=9_000,
                size_bytes=2_000_000,
            ),
        ),
    )
    gif_post = add_post(
        sim.state,
        "andes gif",
        media=(
            SimMedia(
                "g1",
                "gif",
                "https://media.tenor.com/abc/run.gif",
                "https://media.tenor.com/abc/run.png",
                480,
                270,
            ),
        ),
    )

    got = {p.external_id: p for p in posts_of(drain(make_collector(sim, fetch_profiles=True), None))}
    main = got[sim_bsky.post_uri(post)]

    rkey = sim_bsky.encode_tid(post.id)
    assert main.platform is Platform.BLUESKY
    assert main.text == "Añoranza andes #Cumbre con @nube.bsky.social"
    assert main.created_at == WHEN
    assert main.lang == "es"
    assert main.url == f"https://bsky.app/profile/alice-trails.bsky.social/post/{rkey}"
    author = main.author
    assert (author.external_id, author.handle) == (sim_bsky.author_did(ALICE), "alice-trails.bsky.social")
    assert (author.display_name, author.followers, author.following, author.bio) == (
        "Alice Trails",
        12_500,
        310,
        "Runs.",
    )
    assert author.avatar_url and author.avatar_url.startswith("https://cdn.bsky.app/")
    assert [
        (m.type, m.url, m.preview_url, m.width, m.height, m.size_bytes, m.alt_text) for m in main.media
    ] == [(MediaType.PHOTO, photo.url, photo.preview_url, 1200, 800, 345_678, "Shoes on a rock")]
    assert (main.metrics.likes, main.metrics.reposts, main.metrics.replies, main.metrics.quotes) == (
        10,
        3,
        2,
        1,
    )
    assert main.metrics.views is None
    assert main.reply_to_id == sim_bsky.post_uri(parent)
    assert main.conversation_id == sim_bsky.post_uri(root)
    assert main.hashtags == ("Cumbre", "trail")  # the facet, then the record's extra tag
    assert main.mentions == ("nube.bsky.social",)
    (video,) = got[sim_bsky.post_uri(video_post)].media
    assert (video.type, video.url, video.preview_url, video.size_bytes) == (
        MediaType.VIDEO,
        "https://video.example/v.m3u8",
        "https://video.example/v.jpg",
        2_000_000,
    )
    (gif,) = got[sim_bsky.post_uri(gif_post)].media
    assert (gif.type, gif.url) == (MediaType.GIF, "https://media.tenor.com/abc/run.gif")


def test_hostile_text_is_kept_as_plain_text(sim: SimulatorServer) -> None:
    add_post(sim.state, "<script>alert(1)</script> andes &amp; co")
    (post,) = posts_of(drain(make_collector(sim), None))
    assert post.text == "<script>alert(1)</script> andes &amp; co"


def test_malformed_post_views_are_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    good = {
        "uri": f"at://did:plc:a/app.bsky.feed.post/{sim_bsky.encode_tid(1)}",
        "author": {"did": "did:plc:a", "handle": "a.bsky.social"},
        "record": {"text": "hi", "createdAt": "2025-01-01T00:00:00.000Z"},
    }
    assert normalize_post_view(good) is not None
    broken = [{**good, "uri": "at://x/other/1"}, {**good, "record": {"text": None}}, {**good, "author": {}}]
    with caplog.at_level(logging.WARNING, logger="tesoro.collector.bluesky"):
        assert [normalize_post_view(view) for view in broken] == [None, None, None]
    assert len(caplog.records) == 3


def test_merge_rounds_are_stored_in_batches_whose_cursor_resumes_after_them(sim: SimulatorServer) -> None:
    for i in range(12):
        add_post(sim.state, ["Cumbre day", "Nube day", "Cumbre and Nube day"][i % 3])
    rounds = drain(make_collector(sim, query="cumbre OR nube", page_size=3), None)
    batched = make_collector(sim, batched=True, query="cumbre OR nube", page_size=3)
    batched.store_batch = 5
    pages = drain(batched, None)
    assert uris(pages) == uris(rounds) and len(pages) < len(rounds)
    assert all(len(p.posts) >= 5 for p in pages[:-1])
    assert pages[-1].cursor == rounds[-1].cursor
    for k, page in enumerate(pages[:-1]):
        resumed = drain(make_collector(sim, query="cumbre OR nube", page_size=3), page.cursor)
        assert uris(resumed) == uris(pages[k + 1 :])
    # rounds that bring nothing new still save their cursor every `store_rounds` rounds
    batched.store_batch, batched.store_rounds = 1_000, 2
    assert len(drain(batched, None)) == -(-len(rounds) // 2)
