"""X, Bluesky and Mastodon shapes from payloads written after the platforms' docs, and the same
shapes served by the simulator (issue 16 items 2, 3, 6 and 7).

Language codes become BCP 47 primary subtags (X's `in` is `id`, its pseudo-codes are no
language); links are stored expanded (X `t.co`, Bluesky's shortened link text); X
`possibly_sensitive` and Bluesky labels are safety flags; only posts are quotes (Mastodon 4.5
`quote`, Bluesky record embeds of posts, not of starter packs, lists or feeds).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from tesoro.collector.bluesky import BlueskyCollector, normalize_post_view
from tesoro.collector.files import parse_row
from tesoro.collector.mastodon import MastodonCollector, normalize_status
from tesoro.collector.x import XCollector, _normalize_page
from tesoro.curator.queue import decide
from tesoro.models import MediaType, NormalizedPost
from tesoro.settings import BrandSettings, Settings
from tesoro.simulator import bluesky as sim_bsky
from tesoro.simulator.model import SimAuthor, SimMedia, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.store.catalog import brand_by_name, sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import gallery_posts, get_post, upsert_posts
from tesoro.text.query import compile_matcher, parse

PAYLOADS = Path(__file__).parent / "payloads"
WHEN = datetime(2025, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
ALICE = SimAuthor(42, "alice_trails", "Alice Trails", followers=1_200, following=310)
OTHER = SimAuthor(43, "nube_fan", "Nube Fan", followers=90, following=80)
PHOTO = SimMedia("3_1", "photo", "https://pbs.twimg.com/media/cumbre.jpg", "", 1200, 900)
LONG_URL = "https://andes.example/reviews/cumbre-trail-runner?ref=social"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def add(sim: SimulatorServer, platform: str, text: str, **fields: Any) -> SimPost:
    values: dict[str, Any] = {"lang": "en", "author": ALICE, "kind": "review", "created_at": WHEN} | fields
    post = SimPost(id=sim.state.world.next_id(), platform=platform, text=text, **values)
    sim.state.world.add(post)
    return post


def by_id(posts: list[NormalizedPost]) -> dict[str, NormalizedPost]:
    return {p.external_id: p for p in posts}


# --------------------------------------------------------------------------- X


def test_x_payload_languages_links_and_possibly_sensitive() -> None:
    posts, _ = _normalize_page(payload("x_search_links_langs_sensitive.json"))
    got = by_id(list(posts))
    indonesian = got["1865000000000000004"]
    assert indonesian.lang == "id", "X's `in` is Indonesian, `id` in BCP 47"
    assert (
        indonesian.text
        == "Ulasan sepatu Cumbre: https://andes.example/reviews/cumbre-trail-runner?ref=x mantap!"
    )
    assert [m.url for m in indonesian.media] == ["https://pbs.twimg.com/media/GeCumbre1.jpg"]
    assert indonesian.content_flags == ()

    media_only = got["1865000000000000003"]
    assert media_only.lang is None, "qme (media links only) names no language"
    assert media_only.text == "", "the tweet's own video link is dropped: the video is stored as media"
    assert [m.type for m in media_only.media] == [MediaType.VIDEO]
    assert media_only.content_flags == ("sensitive",)

    hebrew = got["1865000000000000002"]
    assert hebrew.lang == "he"
    assert hebrew.text == "נעליים & מעיל Cumbre https://andes.example/he/cumbre"

    tags_only = got["1865000000000000001"]
    assert tags_only.lang is None
    assert tags_only.text == "#Cumbre #AndesOutdoor https://x.com/andesoutdoor/status/1864000000000000000"
    assert tags_only.quote_of_id == "1864000000000000000"
    assert "t.co" not in " ".join(p.text for p in posts)


def test_lang_id_keeps_an_indonesian_tweet_and_no_pseudo_code_is_a_language() -> None:
    posts, _ = _normalize_page(payload("x_search_links_langs_sensitive.json"))
    matcher = compile_matcher(parse("cumbre lang:id"))
    assert [p.external_id for p in posts if matcher.matches(p.text, p.lang)] == ["1865000000000000004"]


def x_collector(sim: SimulatorServer, query: str = "cumbre") -> XCollector:
    return XCollector(
        query=query,
        bearer_token=sim.state.credentials.x_bearer,
        base_url=sim.base_url,
        page_size=10,
        timeout_s=5.0,
    )


def test_x_simulator_serves_t_co_links_x_language_codes_and_possibly_sensitive(sim: SimulatorServer) -> None:
    linked = add(sim, "x", f"cumbre review {LONG_URL}, see the photo", lang="id", media=(PHOTO,))
    flagged = add(sim, "x", "cumbre after the mud run", lang="qme", flags=("nsfw",))
    quoting = add(sim, "x", "cumbre again", quote_of=linked.id, lang="he")
    got = by_id([p for page in x_collector(sim, "cumbre lang:id").pages(None) for p in page.posts])
    assert list(got) == [str(linked.id)], "the simulator answers lang:id for a tweet X marks `in`"
    post = got[str(linked.id)]
    assert (post.text, post.lang) == (f"cumbre review {LONG_URL}, see the photo", "id")
    assert [m.url for m in post.media] == [PHOTO.url]

    got = by_id([p for page in x_collector(sim).pages(None) for p in page.posts])
    assert got[str(flagged.id)].content_flags == ("sensitive",) and got[str(flagged.id)].lang is None
    assert got[str(linked.id)].content_flags == ()
    assert (got[str(quoting.id)].quote_of_id, got[str(quoting.id)].lang) == (str(linked.id), "he")


# --------------------------------------------------------------------------- Bluesky


def bsky_posts() -> dict[str, NormalizedPost]:
    posts = [normalize_post_view(v) for v in payload("bluesky_search_links_labels_embeds.json")["posts"]]
    return {p.external_id.rsplit("/", 1)[1]: p for p in posts if p is not None}


def test_bluesky_payload_expands_shortened_links_and_keeps_mentions() -> None:
    post = bsky_posts()["3lcsz5lqj4k2a"]
    assert post.text == (
        "Reseña de las Cumbre 🏔️ aquí: https://andes.example/resenas/cumbre-trail-runner gracias "
        "@nube.bsky.social #cumbre"
    )
    assert post.mentions == ("nube.bsky.social",), "facet offsets still read the text as posted"
    assert post.hashtags == ("cumbre",)
    assert post.lang == "pt", "pt_BR is Portuguese"
    anchor = bsky_posts()["3lcsz4abcd22b"]
    assert anchor.text == "Cumbre after the race, read the story", "anchor words are not a shortened link"
    assert anchor.lang == "en"


def test_bluesky_payload_labels_are_safety_flags() -> None:
    got = bsky_posts()
    assert got["3lcsz4abcd22b"].content_flags == ("nsfw", "sensitive"), "graphic-media self-label, rude label"
    withdrawn = got["3lcsz3abcd22c"]
    assert withdrawn.content_flags == (), "a negated label is withdrawn; !no-unauthenticated says nothing"
    assert withdrawn.lang is None, "zxx: no linguistic content"


def test_bluesky_payload_only_posts_are_quotes() -> None:
    got = bsky_posts()
    for rkey in ("3lcsz2abcd22d", "3lcsz2abcd22e", "3lcsz2abcd22f"):
        assert got[rkey].quote_of_id is None, "a starter pack, a list or a feed is no quoted post"
    quoted = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lcsy7quoted2"
    assert got["3lcsz1abcd22g"].quote_of_id == quoted
    assert [m.type for m in got["3lcsz1abcd22g"].media] == [MediaType.PHOTO]
    assert got["3lcsz0abcd22h"].quote_of_id == quoted, "a quote of a deleted post still quotes a post"


def bsky_collector(sim: SimulatorServer) -> BlueskyCollector:
    return BlueskyCollector(
        query="cumbre",
        handle=sim.state.credentials.bluesky_handle,
        password=sim.state.credentials.bluesky_password,
        base_url=sim.base_url + "/bsky",
        page_size=20,
        timeout_s=5.0,
        fetch_profiles=False,
    )


def test_bluesky_simulator_shortens_links_labels_and_embeds_records(sim: SimulatorServer) -> None:
    linked = add(sim, "bluesky", f"cumbre 🏔️ {LONG_URL} thanks @nube.bsky.social", lang="pt-BR")
    nsfw = add(sim, "bluesky", "cumbre mud", flags=("nsfw",))
    warned = add(sim, "bluesky", "cumbre blisters", flags=("sensitive",))
    quote = add(sim, "bluesky", "cumbre quote", quote_of=linked.id, author=OTHER, media=(PHOTO,))
    packs = [
        add(sim, "bluesky", f"cumbre {kind}", embeds_record=kind) for kind in ("starter_pack", "list", "feed")
    ]
    got = by_id([p for page in bsky_collector(sim).pages(None) for p in page.posts])
    post = got[sim_bsky.post_uri(linked)]
    assert post.text == f"cumbre 🏔️ {LONG_URL} thanks @nube.bsky.social"
    assert (post.mentions, post.lang) == (("nube.bsky.social",), "pt")
    assert got[sim_bsky.post_uri(nsfw)].content_flags == ("nsfw",)
    assert got[sim_bsky.post_uri(warned)].content_flags == ("sensitive",)
    assert got[sim_bsky.post_uri(quote)].quote_of_id == sim_bsky.post_uri(linked)
    assert [m.type for m in got[sim_bsky.post_uri(quote)].media] == [MediaType.PHOTO]
    assert [got[sim_bsky.post_uri(p)].quote_of_id for p in packs] == [None, None, None]


def test_bluesky_simulator_writes_the_apps_short_link_text() -> None:
    assert sim_bsky.short_link(LONG_URL) == "andes.example/reviews/cumb..."
    assert sim_bsky.short_link("https://andes.example/") == "andes.example"  # a bare "/" is not shown


# --------------------------------------------------------------------------- Mastodon


def test_mastodon_payload_quotes_and_languages() -> None:
    posts = [normalize_status(s) for s in payload("mastodon_quotes.json")["statuses"]]
    got = by_id([p for p in posts if p is not None])
    quote = got["115580000000000020"]
    assert quote.quote_of_id == "115580000000000010"
    assert quote.text == "Same with my Cumbre, two seasons now.", "the RE: fallback is not the post's text"
    assert quote.lang == "pt"
    assert got["115580000000000030"].quote_of_id is None, "the quoted status is gone and names no id"
    assert got["115580000000000040"].quote_of_id is None
    assert [got[i].lang for i in ("115580000000000030", "115580000000000040", "115580000000000050")] == [
        "en",
        "en",
        None,
    ]
    assert got["115580000000000050"].quote_of_id is None


def test_mastodon_simulator_serves_4_5_quotes(sim: SimulatorServer) -> None:
    now = datetime.now(UTC)  # the first run backfills a recent window only
    quoted = add(sim, "mastodon", "my cumbre review #andesoutdoor", lang="en-US", created_at=now)
    quote = add(
        sim, "mastodon", "same with my cumbre #andesoutdoor", quote_of=quoted.id, author=OTHER, created_at=now
    )
    orphan = add(sim, "mastodon", "cumbre quote of a gone post #andesoutdoor", quote_of=1, created_at=now)
    collector = MastodonCollector(
        query="#andesoutdoor",
        access_token="sim-mastodon-token",
        base_url=f"{sim.base_url}/mastodon",
        page_size=5,
        timeout_s=5.0,
    )
    got = by_id([p for page in collector.pages(None) for p in page.posts])
    assert got[str(quote.id)].quote_of_id == str(quoted.id)
    assert got[str(quote.id)].text == "same with my cumbre #andesoutdoor"
    assert got[str(quoted.id)].lang == "en"
    assert got[str(orphan.id)].quote_of_id is None


def test_bluesky_link_facets_that_do_not_fit_leave_the_text_as_posted() -> None:
    from_payload = payload("bluesky_search_links_labels_embeds.json")["posts"][0]
    record = from_payload["record"]
    text = record["text"]
    odd = [
        {
            "index": {"byteStart": 5, "byteEnd": 999},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example"}],
        },
        {
            "index": {"byteStart": 15, "byteEnd": 16},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example"}],
        },
        {
            "index": {"byteStart": 0, "byteEnd": 3},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://res\ud800.example"}],
        },
    ]
    post = normalize_post_view(from_payload | {"record": record | {"facets": odd}})
    assert post is not None and post.text == text, "out of range, a split character, no shortening"
    lone = normalize_post_view(
        from_payload
        | {
            "record": record
            | {
                "text": "res.example/ x",
                "facets": [
                    {
                        "index": {"byteStart": 0, "byteEnd": 12},
                        "features": [
                            {"$type": "app.bsky.richtext.facet#link", "uri": "https://res.example/\ud800"}
                        ],
                    }
                ],
            }
        }
    )
    assert lone is not None and lone.text == "https://res.example/\ud800 x", (
        "a lone surrogate must not fail the post"
    )


def test_imported_rows_use_the_same_language_codes() -> None:
    row = {"id": "r1", "text": "Cumbre", "created_at": "2025-05-01T12:00:00Z", "author_handle": "ana"}
    assert parse_row(row | {"lang": "pt_BR"}).lang == "pt"
    assert parse_row(row | {"lang": "in"}).lang == "id"
    assert parse_row(row | {"lang": "und"}).lang is None


def test_collected_x_and_bluesky_posts_are_stored_expanded_and_flagged_and_never_in_the_gallery(
    sim: SimulatorServer, engine: Engine
) -> None:
    tweet = add(sim, "x", f"cumbre {LONG_URL}", lang="id", flags=("nsfw",), media=(PHOTO,))
    skeet = add(sim, "bluesky", f"cumbre {LONG_URL}", lang="pt_BR", flags=("sensitive",), media=(PHOTO,))
    collected = [p for page in x_collector(sim).pages(None) for p in page.posts]
    collected += [p for page in bsky_collector(sim).pages(None) for p in page.posts]
    with session_scope(engine) as session:
        sync_catalog(session, Settings(brands=[BrandSettings(name="Andes Outdoor")]))
        brand = brand_by_name(session, "Andes Outdoor")
        assert brand is not None and brand.id is not None
        upsert_posts(session, collected, brand_id=brand.id)
        stored = [
            get_post(session, platform="x", external_id=str(tweet.id)),
            get_post(session, platform="bluesky", external_id=sim_bsky.post_uri(skeet)),
        ]
        rows = [(p.text, p.lang, p.content_flags) for p in stored if p is not None]
        decide(
            session,
            post_ids=[p.id for p in stored if p is not None and p.id is not None],
            action="approve",
            actor="lucia",
        )
        public = gallery_posts(session, brand_id=brand.id)
    assert rows == [(f"cumbre {LONG_URL}", "id", ["sensitive"]), (f"cumbre {LONG_URL}", "pt", ["sensitive"])]
    assert public == [], "a post the platform marked sensitive is never in the gallery"
