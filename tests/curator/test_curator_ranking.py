"""Ranking scored posts into the queue: order, the filtered view, and duplicates across platforms."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from sqlalchemy.engine import Engine

from tesoro.curator.dedupe import (
    DuplicateRules,
    GroupStore,
    NewPost,
    StoredPost,
    assign_groups,
    fingerprint,
    jaccard_estimate,
)
from tesoro.curator.ranking import rank_posts
from tesoro.settings import CuratorSettings
from tesoro.store.curation import get_item, list_queue
from tesoro.store.engine import session_scope
from tesoro.store.posts import gallery_posts
from tesoro.store.relationships import replace_ror_scores
from tesoro.store.tables import Post
from worlds.curator import NOW, Spec, seed

VIDEO = "Unboxing my new Cumbre Trail Runner shoes, first run on the ridge trail was amazing"


def test_queue_orders_by_treasure_and_filters_unsafe_posts(engine: Engine) -> None:
    data = seed(
        engine,
        [
            Spec("plain", "Nice shoes from Andes Outdoor I guess they are fine", author="b1"),
            Spec("video", VIDEO, content_types=("unboxing",), media=("video",), engagement=6.0, author="b2"),
            Spec(
                "review",
                "Honest review of the Cumbre after 300 km of trails: 5 stars",
                content_types=("review",),
                author="b3",
            ),
            Spec("spam", "Win free Cumbre shoes click the link now crypto giveaway", spam=0.95, author="bot"),
            Spec(
                "rude",
                "@b1 you are a stupid idiot, these trail shoes are wasted on you",
                safety={"offensive": 1.0},
                author="b4",
            ),
            Spec(
                "offtopic",
                "Cumbre summit meeting of the ministers in Lima today",
                relevance=0.05,
                author="news",
            ),
        ],
    )
    report = rank_posts(engine, CuratorSettings(), now=NOW)
    assert report.ranked == 6 and report.filtered == 3
    with session_scope(engine) as session:
        queue = list_queue(session)
        filtered = list_queue(session, filtered=True)
    order = [e.card.external_id for e in queue.items]
    assert order == ["video", "review", "plain"]
    assert queue.total == 3
    reasons = {e.card.external_id: e.filtered for e in filtered.items}
    assert reasons == {
        "spam": "spam (0.95)",
        "rude": "unsafe: offensive (1.00)",
        "offtopic": "off-topic (relevance 0.05)",
    }
    top = queue.items[0]
    assert set(top.components) == {
        "relevance",
        "sentiment",
        "content",
        "engagement",
        "relationship",
        "recency",
        "safety",
        "gallery",
    }
    assert abs(sum(c["contribution"] for c in top.components.values()) - top.base_score) < 1e-3
    # Any reader ordering posts by treasure_score sees the filtered ones last.
    with session_scope(engine) as session:
        keys = {pid: session.get(Post, pid).treasure_score for pid in data.ids.values()}  # type: ignore[union-attr]
    assert min(keys[data.ids[k]] for k in ("video", "review", "plain")) > max(
        keys[data.ids[k]] for k in ("spam", "rude", "offtopic")
    )


def test_ranking_is_incremental_and_reads_the_authors_stored_ror(engine: Engine) -> None:
    data = seed(engine, [Spec("a", "Loving my Cumbre shoes on the trail today", author="fan")])
    assert rank_posts(engine, CuratorSettings(), now=NOW).ranked == 1
    assert rank_posts(engine, CuratorSettings(), now=NOW).ranked == 0
    with session_scope(engine) as session:
        item = get_item(session, post_id=data.ids["a"])
        assert item is not None and item.components["relationship"]["value"] == 0.5
        author = session.get_one(Post, data.ids["a"]).author_id
        replace_ror_scores(
            session,
            brand_id=data.brands["Andes Outdoor"],
            rows=[
                {
                    "person_id": None,
                    "author_id": author,
                    "score": 30.0,
                    "events_term": 20.0,
                    "loyalty_term": 7.0,
                    "advocacy_term": 3.0,
                    "trend_term": 0.0,
                    "events": 25,
                    "months_active": 10,
                    "last_event_at": NOW,
                    "computed_at": NOW,
                }
            ],
        )
    report = rank_posts(engine, CuratorSettings(), now=NOW, everything=True, advocate_ror=15.0)
    assert report.ranked == 1
    with session_scope(engine) as session:
        item = get_item(session, post_id=data.ids["a"])
    assert item is not None
    assert item.components["relationship"]["value"] == pytest.approx(0.5 + 0.5 * math.tanh(2.0), abs=1e-4)
    assert item.components["relationship"]["detail"] == "author's ROR 30.0"


CROSS = "Took the Cumbre Trail Runner up Torres del Paine this weekend, grip on wet rock was unreal"


def test_duplicates_across_platforms_show_the_original_once(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    data = seed(
        engine,
        [
            Spec(
                "x1",
                CROSS + " #andesoutdoor",
                platform="x",
                author="maria",
                hours_ago=5,
                content_types=("photo",),
            ),
            Spec("b1", "@andesoutdoor.bsky.social " + CROSS, platform="bluesky", author="maria", hours_ago=4),
            Spec(
                "m1",
                CROSS + "\n\n#AndesOutdoor #trailrunning https://example.com/p/1",
                platform="mastodon",
                author="maria",
                hours_ago=3,
            ),
            Spec(
                "x2",
                "RT @maria: " + CROSS.replace("unreal", "really unreal"),
                platform="x",
                author="copycat",
                hours_ago=2,
            ),
            Spec(
                "r1",
                "Cumbre Trail Runner sizing question: do they run small for wide feet?",
                platform="reddit",
                author="q",
                hours_ago=1,
            ),
        ],
    )
    report = rank_posts(engine, CuratorSettings(), now=NOW)
    assert report.copies == 3
    with session_scope(engine) as session:
        queue = list_queue(session)
    ids = [e.card.id for e in queue.items]
    assert sorted(ids) == sorted([data.ids["x1"], data.ids["r1"]])
    original = next(e for e in queue.items if e.card.id == data.ids["x1"])
    assert [c.id for c in original.copies] == [data.ids["b1"], data.ids["m1"], data.ids["x2"]]
    assert [c.platform for c in original.copies] == ["bluesky", "mastodon", "x"]


def test_a_backfilled_older_post_becomes_the_original(sqlite_engine: Engine) -> None:
    first = seed(
        sqlite_engine,
        [
            Spec("new1", CROSS, platform="bluesky", author="a", hours_ago=2),
            Spec("new2", CROSS, platform="mastodon", author="b", hours_ago=1),
        ],
    )
    rank_posts(sqlite_engine, CuratorSettings(), now=NOW)
    data = seed(sqlite_engine, [Spec("old", CROSS, platform="x", author="c", hours_ago=48)])
    rank_posts(sqlite_engine, CuratorSettings(), now=NOW)
    with session_scope(sqlite_engine) as session:
        queue = list_queue(session)
        assert [e.card.external_id for e in queue.items] == ["old"]
        assert [c.platform for c in queue.items[0].copies] == ["bluesky", "mastodon"]
        assert get_item(session, post_id=first.ids["new1"]).duplicate_of == data.ids["old"]  # type: ignore[union-attr]


def test_short_or_different_posts_are_not_duplicates(sqlite_engine: Engine) -> None:
    seed(
        sqlite_engine,
        [
            Spec("s1", "love these shoes!", author="a"),
            Spec("s2", "Love these shoes!!", platform="bluesky", author="b"),
            Spec("d1", "Took the Cumbre up Torres del Paine, grip on wet rock was unreal", author="c"),
            Spec(
                "d2", "Took the Nube jacket to the Lake District, stayed dry in a storm all day", author="d"
            ),
        ],
    )
    rank_posts(sqlite_engine, CuratorSettings(), now=NOW)
    with session_scope(sqlite_engine) as session:
        assert list_queue(session).total == 4


def test_minhash_estimates_overlap() -> None:
    a = fingerprint(CROSS)
    b = fingerprint(CROSS.replace("unreal", "really unreal"))
    c = fingerprint("A completely different sentence about rain jackets and coffee in the mountains")
    assert a.signature is not None and b.signature is not None and c.signature is not None
    assert jaccard_estimate(a.signature, b.signature) > 0.75
    assert jaccard_estimate(a.signature, c.signature) < 0.2
    assert fingerprint("RT @x: " + CROSS + " #tag https://t.co/x").skeleton == a.skeleton


def _fake_store(stored: list[StoredPost]) -> GroupStore:
    by_id = {s.post_id: s for s in stored}

    def light(s: StoredPost) -> StoredPost:
        return StoredPost(s.post_id, s.created, s.original)

    def candidates(skeletons: Sequence[str], bands: Sequence[int]) -> list[StoredPost]:
        wanted = set(skeletons), set(bands)
        return [
            s
            for s in stored
            if s.fingerprint is not None
            and (s.fingerprint.skeleton in wanted[0] or set(s.fingerprint.bands) & wanted[1])
        ]

    return GroupStore(
        candidates=candidates,
        members=lambda o: [light(s) for s in stored if s.original in o or s.post_id in o],
        originals=lambda ids: [light(by_id[i]) for i in ids if i in by_id],
        led_by=lambda o: [s for s in stored if s.original in o],
    )


def test_a_post_bridging_two_groups_merges_them_under_the_earliest() -> None:
    a, b = (
        fingerprint(CROSS),
        fingerprint("Nube jacket kept me dry for four hours of sideways rain on the pass"),
    )
    # Group 1: 1 (original) <- 2, 3 (3 has no fingerprint loaded: only found as a member). Group 2: 10 <- 11.
    stored = [
        StoredPost(1, (100.0, 1), None, a),
        StoredPost(2, (200.0, 2), 1, a),
        StoredPost(3, (300.0, 3), 1, None),
        StoredPost(10, (50.0, 10), None, b),
        StoredPost(11, (60.0, 11), 10, b),
    ]
    # A backfilled post older than group 1's original, matching group 1.
    backfill = NewPost(20, (10.0, 20), fingerprint(CROSS + " Again."))
    changes = {
        c.post_id: c.original
        for c in assign_groups([backfill], store=_fake_store(stored), rules=DuplicateRules())
    }
    assert changes == {20: None, 1: 20, 2: 20, 3: 20}
    # A post whose text matches both groups' texts exactly cannot happen; one matching a copy of each
    # group through the cosine rule can: it joins the earliest group and the other moves under it.
    bridge = NewPost(30, (500.0, 30), fingerprint(CROSS))
    stored_b = [*stored, StoredPost(12, (70.0, 12), 10, a)]  # a group-2 copy that matches CROSS
    changes = {
        c.post_id: c.original
        for c in assign_groups([bridge], store=_fake_store(stored_b), rules=DuplicateRules())
    }
    assert changes[30] == 10 and changes[1] == 10 and changes[2] == 10 and changes[3] == 10
    assert 11 not in changes and 12 not in changes  # already under 10


def test_an_edited_original_releases_its_copies() -> None:
    a = fingerprint(CROSS)
    stored = [StoredPost(2, (200.0, 2), 1, a), StoredPost(3, (300.0, 3), 1, a)]
    edited = NewPost(
        1, (100.0, 1), fingerprint("Completely rewritten: a question about sizes for wide feet please")
    )
    changes = {
        c.post_id: c.original
        for c in assign_groups([edited], store=_fake_store(stored), rules=DuplicateRules())
    }
    assert changes == {1: None, 2: None, 3: 2}


def test_platform_nsfw_flags_filter_harmless_text_and_keep_it_out_of_the_gallery(engine: Engine) -> None:
    data = seed(
        engine,
        [
            Spec(
                "nsfw",
                "My new Cumbre trail shoes on the beach, best grip ever",
                platform="reddit",
                media=("photo",),
                flags=("nsfw",),
                author="r1",
            ),
            Spec(
                "hidden",
                "Sunday hike in the Brisa jacket with the whole family",
                platform="mastodon",
                media=("photo",),
                flags=("sensitive",),
                author="m1",
            ),
            Spec(
                "warned",
                "Long thoughts on lacing the Cumbre for steep descents",
                platform="mastodon",
                flags=("spoiler",),
                author="m2",
            ),
            Spec(
                "clean",
                "Unboxing the Andes Outdoor pack, the colours are lovely",
                media=("photo",),
                author="x1",
            ),
        ],
    )
    rank_posts(engine, CuratorSettings(), now=NOW)
    with session_scope(engine) as session:
        queue = list_queue(session)
        filtered = list_queue(session, filtered=True)
    assert {e.card.external_id: e.filtered for e in filtered.items} == {
        "nsfw": "unsafe: nsfw (1.00)",
        "hidden": "unsafe: nsfw (1.00)",
    }
    # A content warning alone lowers the safety part of the score but does not filter.
    assert {e.card.external_id for e in queue.items} == {"warned", "clean"}
    warned = next(e for e in queue.items if e.card.external_id == "warned")
    assert warned.components["safety"]["value"] < 1.0
    # Approved with usage rights (by hand, or before the flag arrived), still never in the gallery.
    with session_scope(engine) as session:
        for key in data.ids:
            post = session.get(Post, data.ids[key])
            assert post is not None
            post.queue_state, post.rights_status = "approved", "granted"
            session.add(post)
    with session_scope(engine) as session:
        shown = {p.external_id for p in gallery_posts(session, brand_id=data.brands["Andes Outdoor"])}
    assert shown == {"warned", "clean"}
