"""MastodonCollector driving the real Mastodon.py against the simulator's Mastodon routes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tesoro.collector.base import AuthFailed, RateLimited, TransientError
from tesoro.collector.mastodon import MastodonCollector, html_to_text
from tesoro.models import Cursor, MediaType, NormalizedPost, Page, Platform
from tesoro.simulator.common import loose_match
from tesoro.simulator.faults import Fault
from tesoro.simulator.mastodon import INJECTED_RESET_S, INSTANCE_DOMAIN, status_tags
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.world import World

TAG_QUERY = "#andesoutdoor"
MAYA = SimAuthor(
    id=77, handle="maya", name="Maya Q", followers=1200, following=300, bio="Trail <b>runner</b>"
)


def make(
    sim: SimulatorServer, query: str = TAG_QUERY, *, batched: bool = False, **overrides: Any
) -> MastodonCollector:
    """A collector against the simulator; unless `batched`, each fetch is a page of its own, so the
    tests below see the paging of Mastodon's API itself."""
    settings: dict[str, Any] = {
        "query": query,
        "access_token": "sim-mastodon-token",
        "base_url": f"{sim.base_url}/mastodon",
        "page_size": 5,
        "timeout_s": 5.0,
    } | overrides
    collector = MastodonCollector(**settings)
    if not batched:
        collector.store_batch = collector.store_fetches = 1
    return collector


def run(collector: MastodonCollector, cursor: Cursor | None = None) -> list[Page]:
    return list(collector.pages(cursor))


def ids(pages: list[Page]) -> list[str]:
    return [post.external_id for page in pages for post in page.posts]


def posts_of(pages: list[Page]) -> dict[str, NormalizedPost]:
    return {post.external_id: post for page in pages for post in page.posts}


def tagged(posts: list[SimPost], tag: str = "andesoutdoor") -> list[str]:
    """Ids on the tag timeline, newest first."""
    return [str(p.id) for p in sorted(posts, key=lambda p: p.id, reverse=True) if tag in status_tags(p)]


def add(world: World, text: str, **fields: Any) -> SimPost:
    values: dict[str, Any] = {
        "id": world.next_id(),
        "platform": "mastodon",
        "created_at": datetime.now(UTC),
        "text": text,
        "lang": "en",
        "author": MAYA,
        "kind": "review",
    } | fields
    post = SimPost(**values)
    world.add(post)
    return post


def stream(page: Page, key: str = "tag:andesoutdoor") -> dict[str, Any]:
    state: dict[str, Any] = page.cursor["streams"][key]
    return state


# --------------------------------------------------------------------------- paging and cursors


def test_tag_timeline_pages_then_collects_only_new_statuses(sim: SimulatorServer) -> None:
    world = sim.state.world
    first = world.grow(20, platforms=["mastodon"])
    expected = tagged(first)
    assert len(expected) > 10
    collector = make(sim)

    pages = run(collector)
    assert ids(pages) == expected
    # Mastodon may return short pages mid-stream, so only an empty page ends the pass.
    assert [len(p.posts) for p in pages] == [
        min(5, len(expected) - s) for s in range(0, len(expected), 5)
    ] + [0]
    assert all("pass" in stream(p) for p in pages[:-1])
    assert stream(pages[-1]) == {"newest": expected[0]}

    later = world.grow(6, platforms=["mastodon"])
    assert tagged(later)
    second = run(collector, pages[-1].cursor)
    assert ids(second) == tagged(later)
    assert stream(second[-1]) == {"newest": tagged(later)[0]}
    assert ids(run(collector, second[-1].cursor)) == []


def test_fetches_are_stored_in_batches_whose_cursor_resumes_after_them(sim: SimulatorServer) -> None:
    """Several fetches' new posts are one page (one transaction); its cursor is the last fetch's."""
    world = sim.state.world
    expected = tagged(world.grow(40, platforms=["mastodon"]))
    assert len(expected) > 12
    now = datetime.now(UTC)
    one_by_one = run(make(sim, clock=lambda: now))
    collector = make(sim, batched=True, clock=lambda: now)
    collector.store_batch, collector.store_fetches = 12, 100
    pages = run(collector)
    assert ids(pages) == ids(one_by_one) == expected
    # 5 statuses per fetch: a page is handed over once it holds at least 12, the rest at the end
    assert [len(p.posts) for p in pages] == [15] * (len(expected) // 15) + (
        [len(expected) % 15] if len(expected) % 15 else []
    )
    # each page's cursor is where the one-by-one run stood after the same statuses
    fetch_cursors = {len(ids(one_by_one[: i + 1])): p.cursor for i, p in enumerate(one_by_one)}
    for i in range(len(pages) - 1):
        assert pages[i].cursor == fetch_cursors[len(ids(pages[: i + 1]))]
        assert ids(run(make(sim), pages[i].cursor)) == expected[len(ids(pages[: i + 1])) :]
    assert pages[-1].cursor == one_by_one[-1].cursor
    # a stream with nothing new still saves its cursor every `store_fetches` fetches
    collector.store_batch, collector.store_fetches = 1_000, 2
    assert [len(p.posts) for p in run(collector, pages[-1].cursor)] == [0]


def test_resuming_a_mid_run_cursor_yields_exactly_the_rest(sim: SimulatorServer) -> None:
    world = sim.state.world
    before = world.grow(20, platforms=["mastodon"])
    collector = make(sim)
    pages = collector.pages(None)
    page_one = next(pages)  # saved, then the process dies
    meanwhile = world.grow(6, platforms=["mastodon"])
    assert tagged(meanwhile)

    rest = run(collector, page_one.cursor)
    assert ids([page_one]) + ids(rest) == tagged(before)
    assert ids(run(collector, rest[-1].cursor)) == tagged(meanwhile)


def test_a_failure_mid_run_resumes_from_the_last_saved_page(sim: SimulatorServer) -> None:
    posts = sim.state.world.grow(20, platforms=["mastodon"])
    collector = make(sim)
    pages = collector.pages(None)
    page = next(pages)
    saved, seen = page.cursor, ids([page])
    sim.state.faults.inject("mastodon.tag", Fault.SERVER_ERROR)
    with pytest.raises(TransientError):
        next(pages)
    seen += ids(run(collector, saved))
    assert seen == tagged(posts)


def test_max_pages_and_first_run_backfill(sim: SimulatorServer) -> None:
    world = sim.state.world
    add(world, "Ancient #andesoutdoor post", created_at=datetime.now(UTC) - timedelta(days=40))
    recent = [add(world, f"Day {n} with my #AndesOutdoor pack") for n in range(7)]
    collector = make(sim, max_pages=1, page_size=3)
    first = run(collector)
    assert len(first) == 1 and "pass" in stream(first[-1])
    second = run(collector, first[-1].cursor)  # the next run carries on with the same pass
    assert len(second) == 1 and "pass" in stream(second[-1])
    rest = run(make(sim, page_size=3), second[-1].cursor)
    assert ids(first) + ids(second) + ids(rest) == tagged(recent)  # the 40-day-old post is below the floor
    assert "pass" not in stream(rest[-1])


def test_search_and_hashtag_streams_are_merged_without_duplicates(sim: SimulatorServer) -> None:
    world = sim.state.world
    both = add(world, "New #cumbre trail shoes!")
    text_only = add(world, "The Cumbre grip is unreal")
    tag_only = add(world, "Mud season", hashtags=("cumbre",))
    add(world, "Unrelated post about lunch")

    pages = run(make(sim, query="cumbre"))
    assert set(pages[-1].cursor["streams"]) == {"tag:cumbre", "search:cumbre"}
    assert sorted(ids(pages)) == sorted(str(p.id) for p in (both, text_only, tag_only))
    assert len(ids(pages)) == 3


def test_search_stream_pages_and_is_incremental(sim: SimulatorServer) -> None:
    world = sim.state.world
    first = world.grow(20, platforms=["mastodon"])
    query = '"andes outdoor"'
    hits = [str(p.id) for p in sorted(first, key=lambda p: p.id, reverse=True) if loose_match(query, p.text)]
    assert len(hits) > 5
    collector = make(sim, query=query)
    assert collector.plan.hashtags == [] and collector.plan.search == [query]
    pages = run(collector)
    assert ids(pages) == hits
    later = add(world, "Andes Outdoor just restocked")
    assert ids(run(collector, pages[-1].cursor)) == [str(later.id)]


# --------------------------------------------------------------------------- failures


def test_429_is_rate_limited_until_the_reset_header(sim: SimulatorServer) -> None:
    sim.state.faults.inject("mastodon.tag", Fault.RATE_LIMIT)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        run(make(sim))
    expected = before + timedelta(seconds=INJECTED_RESET_S)
    assert expected - timedelta(seconds=2) <= caught.value.retry_at <= expected + timedelta(seconds=2)


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.MALFORMED])
def test_server_errors_and_malformed_json_are_transient(sim: SimulatorServer, fault: Fault) -> None:
    sim.state.faults.inject("mastodon.tag", fault)
    with pytest.raises(TransientError):
        run(make(sim))


def test_a_timeout_is_transient(sim: SimulatorServer) -> None:
    sim.state.faults.inject("mastodon.tag", Fault.TIMEOUT)
    with pytest.raises(TransientError):
        run(make(sim, timeout_s=0.3))


def test_an_unreachable_instance_document_is_transient(sim: SimulatorServer) -> None:
    sim.state.faults.inject("mastodon.instance", Fault.SERVER_ERROR)
    with pytest.raises(TransientError):
        run(make(sim))


def test_a_bad_token_fails_authentication(sim: SimulatorServer) -> None:
    with pytest.raises(AuthFailed):
        run(make(sim, access_token="revoked"))


# --------------------------------------------------------------------------- normalization


def media(key: str, kind: str, **extra: Any) -> SimMedia:
    return SimMedia(
        key=key,
        type=kind,
        url=f"https://files.example/{key}",
        preview_url=f"https://files.example/{key}-small.jpg",
        width=1280,
        height=720,
        **extra,
    )


def test_status_normalization(sim: SimulatorServer) -> None:
    world = sim.state.world
    parent = add(world, "Any tips for the #AndesOutdoor Volcan pack?")
    reply = add(
        world,
        "Loving it! Photos: https://example.com/a/very/long/path/to/the/album?x=1&y=2\n"
        "Thanks @andes_team@brand.social\n\n#AndesOutdoor #trail",
        lang="es",
        reply_to=parent.id,
        likes=31,
        reposts=4,
        replies=2,
        quotes=1,
        title="gear talk",
        media=(
            media("a.jpg", "photo", alt_text="pack on a rock"),
            media("b.mp4", "video", duration_ms=8_500),
            media("c.mp4", "gif"),
        ),
    )

    post = posts_of(run(make(sim)))[str(reply.id)]
    assert post.platform is Platform.MASTODON
    assert post.title == "gear talk"
    assert post.text == (
        "gear talk\n\n"
        "Loving it! Photos: https://example.com/a/very/long/path/to/the/album?x=1&y=2\n"
        "Thanks @andes_team@brand.social\n\n#AndesOutdoor #trail"
    )
    assert post.lang == "es" and post.reply_to_id == str(parent.id)
    assert post.url == f"https://{INSTANCE_DOMAIN}/@maya/{reply.id}"
    assert post.created_at == reply.created_at.replace(
        microsecond=reply.created_at.microsecond // 1000 * 1000
    )
    assert post.hashtags == ("andesoutdoor", "trail") and post.mentions == ("andes_team@brand.social",)
    assert (post.metrics.likes, post.metrics.reposts, post.metrics.replies, post.metrics.quotes) == (
        31,
        4,
        2,
        1,
    )

    author = post.author
    assert author.handle == f"maya@{INSTANCE_DOMAIN}" and author.external_id == "77"
    assert (author.display_name, author.followers, author.following) == ("Maya Q", 1200, 300)
    assert author.bio == "Trail <b>runner</b>"  # text, exactly as typed: the UI escapes it

    photo, video, gif = post.media
    assert (photo.type, photo.url, photo.alt_text) == (
        MediaType.PHOTO,
        "https://files.example/a.jpg",
        "pack on a rock",
    )
    assert (photo.width, photo.height, photo.preview_url) == (
        1280,
        720,
        "https://files.example/a.jpg-small.jpg",
    )
    assert (video.type, video.duration_ms) == (MediaType.VIDEO, 8_500)
    assert gif.type is MediaType.GIF


def test_sensitive_media_content_warnings_and_suspended_accounts(sim: SimulatorServer) -> None:
    world = sim.state.world
    hidden = add(world, "Beach day #AndesOutdoor", media=(media("b1.jpg", "photo"),), flags=("nsfw",))
    warned = add(world, "Long thoughts on the #AndesOutdoor pack", title="gear talk")
    banned = add(world, "#AndesOutdoor deals", author=replace(MAYA, id=78, handle="spammy", gone=True))
    posts = posts_of(run(make(sim)))
    assert posts[str(hidden.id)].content_flags == ("sensitive",)
    assert posts[str(warned.id)].content_flags == ("spoiler",)
    assert posts[str(banned.id)].author.gone and not posts[str(hidden.id)].author.gone


def test_hostile_markup_arrives_escaped_and_leaves_as_literal_text(sim: SimulatorServer) -> None:
    hostile = add(sim.state.world, "<script>alert(1)</script> & <img src=x onerror=alert(2)> #andesoutdoor")
    session = requests.Session()
    session.trust_env = False
    raw = session.get(
        f"{sim.base_url}/mastodon/api/v1/timelines/tag/andesoutdoor",
        headers={"Authorization": "Bearer sim-mastodon-token"},
    )
    content = raw.json()[0]["content"]
    assert "<script>" not in content and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img" in content
    assert all(
        name in raw.headers for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
    )
    assert 'rel="next"' in raw.headers["Link"] and 'rel="prev"' in raw.headers["Link"]

    (post,) = run(make(sim))[0].posts
    assert post.external_id == str(hostile.id)
    assert post.text == "<script>alert(1)</script> & <img src=x onerror=alert(2)> #andesoutdoor"


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<p>one<br />two</p><p>three</p>", "one\ntwo\n\nthree"),
        ("<p>&lt;b&gt;bold&lt;/b&gt; &amp;amp; &#39;q&#39; caf&eacute;</p>", "<b>bold</b> &amp; 'q' café"),
        ('<p>hi<script>alert("x")</script><style>p{}</style> there</p>', "hi there"),
        (
            '<p><a href="https://x.y/z"><span class="invisible">https://</span><span>x.y/z</span></a></p>',
            "https://x.y/z",
        ),
        ("<p>a</p>\n\n\n<p>b</p>", "a\n\nb"),
        ("", ""),
    ],
)
def test_html_to_text(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


def test_the_session_takes_proxy_and_ca_settings_from_the_environment_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tesoro.collector.mastodon import _session

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/brand-ca.pem")
    session = _session("https://mastodon.example")
    assert session.proxies.get("https") == "http://proxy.example:3128"
    assert session.verify == "/etc/ssl/brand-ca.pem" and not session.trust_env
    monkeypatch.setenv("NO_PROXY", "mastodon.example")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    bypassed = _session("https://mastodon.example")
    assert "https" not in bypassed.proxies and bypassed.verify is True
