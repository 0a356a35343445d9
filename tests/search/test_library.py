"""The library: full text on both backends, meaning search, every filter and facet, paging and sorting."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tesoro.curator.queue import decide
from tesoro.curator.ranking import rank_posts
from tesoro.search.library import Library, LibraryError, LibraryFilters, LibraryQuery
from tesoro.settings import CuratorSettings
from tesoro.store.engine import session_scope
from worlds.curator import NOW, Seeded, Spec, seed, tiny_encode

SPECS = [
    Spec(
        "trail-video",
        "Running the ridge trail in my Cumbre shoes, video of the descent",
        content_types=("video",),
        media=("video",),
        product="Cumbre Trail Runner",
        author="ana",
        hours_ago=2,
    ),
    Spec(
        "trail-es",
        "Corriendo por el sendero con mis zapatillas Cumbre, una canción para el camino",
        platform="bluesky",
        language="es",
        product="Cumbre Trail Runner",
        author="luz",
        hours_ago=30,
        content_types=("photo",),
        media=("photo",),
    ),
    Spec(
        "rain-review",
        "Review: the Nube jacket kept me dry in a storm on the hiking trail, 5 stars",
        platform="reddit",
        content_types=("review",),
        product="Nube Rain Jacket",
        author="tom",
        hours_ago=50,
        title="Nube Rain Jacket review",
    ),
    Spec(
        "rain-complaint",
        "My Nube jacket leaked in light rain, disappointed",
        platform="mastodon",
        sentiment="negative",
        content_types=("complaint",),
        product="Nube Rain Jacket",
        author="kim",
        hours_ago=80,
    ),
    Spec(
        "surf",
        "Dawn session on the Ola board, glassy waves",
        brand="Costa Surf",
        product="Ola Board",
        content_types=("photo",),
        media=("photo",),
        author="kai",
        hours_ago=5,
    ),
    Spec(
        "unboxing",
        "Unboxing the Cumbre, first look at the shoes and the rock plate",
        content_types=("unboxing",),
        product="Cumbre Trail Runner",
        author="max",
        hours_ago=200,
    ),
    Spec("pending", "Trail shoes waiting for review in the queue", author="zed", hours_ago=1),
]
LIBRARY = ("trail-video", "trail-es", "rain-review", "rain-complaint", "surf", "unboxing")


def build(engine: Engine) -> tuple[Seeded, Library]:
    data = seed(engine, SPECS)
    rank_posts(engine, CuratorSettings(), now=NOW)
    with session_scope(engine) as session:
        decide(session, post_ids=[data.ids[k] for k in LIBRARY], action="approve", actor="lucia")
        decide(session, post_ids=[data.ids["trail-video"]], action="feature", actor="lucia")
        decide(
            session, post_ids=[data.ids["rain-review"]], action="set_rights", actor="lucia", rights="granted"
        )
    return data, Library(engine, CuratorSettings(), encode=tiny_encode)


def keys(data: Seeded, page: Any) -> list[str]:
    names = {v: k for k, v in data.ids.items()}
    return [names[hit.entry.card.id] for hit in page.items]


def both(library: Library, query: LibraryQuery) -> Any:
    """Search in memory and in SQL; they must agree on everything but float noise.

    One exception: ranked by text relevance on PostgreSQL, the SQL-only path orders
    by `ts_rank` and the index by BM25, so only the set of posts is compared.
    """
    fast = library.search(query)
    slow = library.search(query, use_index=False)
    assert fast.total == slow.total, query
    fast_ids = [h.entry.card.id for h in fast.items]
    slow_ids = [h.entry.card.id for h in slow.items]
    by_words = bool(query.text) and query.sort in (None, "relevance")
    if by_words and library.engine.dialect.name == "postgresql":
        assert fast.total > query.limit or sorted(fast_ids) == sorted(slow_ids), query
    else:
        assert fast_ids == slow_ids, query
    assert fast.facets == slow.facets, query
    return fast


def test_full_text_on_each_backend(engine: Engine) -> None:
    data, library = build(engine)
    page = both(library, LibraryQuery(text="trail"))
    assert set(keys(data, page)) == {"trail-video", "rain-review"}
    assert keys(data, both(library, LibraryQuery(text="cancion zapatilla"))) == [
        "trail-es"
    ]  # accents, plurals
    assert set(keys(data, both(library, LibraryQuery(text="jacket -leaked")))) == {"rain-review"}
    assert set(keys(data, both(library, LibraryQuery(text='"nube jacket" OR board')))) == {
        "rain-review",
        "rain-complaint",
        "surf",
    }
    assert keys(data, both(library, LibraryQuery(text="unbox*"))) == ["unboxing"]
    assert keys(data, both(library, LibraryQuery(text="Nube Rain Jacket review"))) == ["rain-review"]  # title
    # The queue's post is not in the library, unless asked for.
    assert "pending" not in keys(data, both(library, LibraryQuery(text="shoes")))
    queued = LibraryFilters(states=("new",))
    assert keys(data, both(library, LibraryQuery(text="shoes", filters=queued))) == ["pending"]
    with pytest.raises(LibraryError):
        library.search(LibraryQuery(text='"unbalanced'))
    with pytest.raises(LibraryError):
        library.search(LibraryQuery(text="-only -exclusions"))


def test_every_filter_and_facet(sqlite_engine: Engine) -> None:
    data, library = build(sqlite_engine)
    cumbre, nube = data.products["Cumbre Trail Runner"], data.products["Nube Rain Jacket"]
    andes, costa = data.brands["Andes Outdoor"], data.brands["Costa Surf"]
    everything = both(library, LibraryQuery())
    assert everything.total == 6
    facets = everything.facets
    assert facets["state"] == [
        ("approved", 5),
        ("featured", 1),
        ("new", 1),
    ]  # multi-select: its own filter is off
    assert facets["brand"] == [(andes, 5), (costa, 1)]
    assert facets["product"][0] == (cumbre, 3)
    assert dict(facets["product_line"]) == {"footwear": 3, "apparel": 2, "boards": 1}
    assert dict(facets["content_type"])["photo"] == 2
    assert dict(facets["platform"]) == {"x": 3, "bluesky": 1, "reddit": 1, "mastodon": 1}
    assert dict(facets["language"]) == {"en": 5, "es": 1}
    assert dict(facets["sentiment"]) == {"positive": 5, "negative": 1}
    assert dict(facets["rights"]) == {"none": 5, "granted": 1}

    cases: dict[str, tuple[LibraryFilters, set[str]]] = {
        "brand": (LibraryFilters(brand_ids=(costa,)), {"surf"}),
        "product": (LibraryFilters(product_ids=(nube,)), {"rain-review", "rain-complaint"}),
        "line": (
            LibraryFilters(product_lines=("footwear", "boards")),
            {"trail-video", "trail-es", "unboxing", "surf"},
        ),
        "type": (LibraryFilters(content_types=("review", "unboxing")), {"rain-review", "unboxing"}),
        "platform": (LibraryFilters(platforms=("reddit", "mastodon")), {"rain-review", "rain-complaint"}),
        "language": (LibraryFilters(languages=("es",)), {"trail-es"}),
        "sentiment": (LibraryFilters(sentiments=("negative",)), {"rain-complaint"}),
        "rights": (LibraryFilters(rights=("granted",)), {"rain-review"}),
        "state": (LibraryFilters(states=("featured",)), {"trail-video"}),
        "dates": (
            LibraryFilters(date_from=NOW - timedelta(hours=60), date_to=NOW - timedelta(hours=3)),
            {"trail-es", "rain-review", "surf"},
        ),
    }
    for name, (filters, expected) in cases.items():
        page = both(library, LibraryQuery(filters=filters))
        assert set(keys(data, page)) == expected, name
    # Multi-select: a facet's own filter does not shrink its counts; the others' do.
    page = both(library, LibraryQuery(filters=LibraryFilters(platforms=("reddit",), languages=("en",))))
    assert dict(page.facets["platform"]) == {"x": 3, "reddit": 1, "mastodon": 1}
    assert dict(page.facets["language"]) == {"en": 1}


def test_sorting_and_paging(sqlite_engine: Engine) -> None:
    data, library = build(sqlite_engine)
    by_date = both(library, LibraryQuery(sort="date", limit=4))
    assert keys(data, by_date) == ["trail-video", "surf", "trail-es", "rain-review"]
    rest = both(library, LibraryQuery(sort="date", limit=4, offset=4))
    assert keys(data, rest) == ["rain-complaint", "unboxing"] and rest.total == 6
    by_score = both(library, LibraryQuery(limit=10))
    scores = [hit.entry.score for hit in by_score.items]
    assert scores == sorted(scores, reverse=True)
    assert both(library, LibraryQuery(offset=50)).items == []


def test_search_by_meaning_with_the_tiny_encoder(sqlite_engine: Engine) -> None:
    data, library = build(sqlite_engine)
    page = library.search(LibraryQuery(meaning="people running a trail in shoes", min_similarity=0.2))
    found = keys(data, page)
    assert found[0] == "trail-video"
    assert "surf" not in found
    sims = [hit.relevance for hit in page.items]
    assert all(s is not None for s in sims) and sims == sorted(sims, reverse=True)  # type: ignore[type-var]
    # Filters and facets apply to the meaning matches.
    only_es = library.search(
        LibraryQuery(meaning="trail shoes", filters=LibraryFilters(languages=("es",)), min_similarity=-1.0)
    )
    assert keys(data, only_es) == ["trail-es"]
    everything = library.search(LibraryQuery(meaning="anything at all", min_similarity=-1.0))
    assert everything.total == 6
    assert everything.facets == library.search(LibraryQuery()).facets
    with pytest.raises(LibraryError):
        Library(sqlite_engine, CuratorSettings()).search(LibraryQuery(meaning="no encoder"))


def test_the_index_follows_decisions_and_new_rankings(sqlite_engine: Engine) -> None:
    data, library = build(sqlite_engine)
    assert library.search(LibraryQuery()).total == 6
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[data.ids["pending"]], action="approve", actor="lucia")
        decide(session, post_ids=[data.ids["surf"]], action="reject", actor="lucia")
    library.invalidate()
    page = library.search(LibraryQuery(text="trail"))
    assert set(keys(data, page)) == {"trail-video", "rain-review", "pending"}
    assert library.search(LibraryQuery()).total == 6
    more = seed(
        sqlite_engine, [Spec("late", "A late trail post about Cumbre shoes in the snow", author="new")]
    )
    rank_posts(sqlite_engine, CuratorSettings(), now=NOW)
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[more.ids["late"]], action="approve", actor="lucia")
    library.invalidate()
    assert library.search(LibraryQuery()).total == 7
    assert library.index.stats().rows == 8
    # A second process (a fresh index) sees the same library.
    fresh = Library(sqlite_engine, CuratorSettings(), encode=tiny_encode)
    assert fresh.search(LibraryQuery(sort="date")).total == 7


def test_filters_dataclass_without() -> None:
    filters = LibraryFilters(platforms=("x",), languages=("en",))
    assert filters.without("platform") == replace(filters, platforms=())


def test_sorting_by_engagement_puts_posts_without_a_figure_last(engine: Engine) -> None:
    specs = [
        Spec("quiet", "Cumbre shoes on a quiet trail", author="a", engagement=0.4, hours_ago=1),
        Spec("viral", "Cumbre shoes went viral on the trail", author="b", engagement=7.5, hours_ago=2),
        Spec("unknown", "Cumbre shoes, no benchmark for this platform yet", author="c", engagement=None),
        Spec("typical", "Cumbre shoes, a typical trail day", author="d", engagement=1.2, hours_ago=3),
    ]
    data = seed(engine, specs)
    rank_posts(engine, CuratorSettings(), now=NOW)
    with session_scope(engine) as session:
        decide(session, post_ids=list(data.ids.values()), action="approve", actor="lucia")
    library = Library(engine, CuratorSettings(), encode=tiny_encode)
    page = both(library, LibraryQuery(sort="engagement"))
    assert page.sort == "engagement"
    assert keys(data, page) == ["viral", "typical", "quiet", "unknown"]
    # With words, the words choose the posts and engagement orders them; paging keeps the order.
    worded = both(library, LibraryQuery(text="trail", sort="engagement", limit=2))
    assert keys(data, worded) == ["viral", "typical"] and worded.total == 3
    rest = both(library, LibraryQuery(text="trail", sort="engagement", limit=2, offset=2))
    assert keys(data, rest) == ["quiet"]
    # Sorted by meaning's neighbours, engagement still decides the order.
    meant = library.search(LibraryQuery(meaning="shoes", sort="engagement", min_similarity=-1.0))
    assert keys(data, meant) == ["viral", "typical", "quiet", "unknown"]


def test_a_tag_filter_keeps_the_tagged_posts_and_follows_new_tags(engine: Engine) -> None:
    data, library = build(engine)
    with session_scope(engine) as session:
        decide(
            session,
            post_ids=[data.ids["trail-video"], data.ids["surf"]],
            action="tag",
            actor="lucia",
            add=["hero"],
        )
    library.invalidate()
    hero = LibraryFilters(tags=("hero",))
    assert set(keys(data, both(library, LibraryQuery(filters=hero)))) == {"trail-video", "surf"}
    page = both(library, LibraryQuery(text="trail", filters=hero))
    assert keys(data, page) == ["trail-video"]
    assert dict(page.facets["platform"]) == {"x": 1}  # facets count the tagged posts only
    either = LibraryFilters(tags=("hero", "nobody-uses-this"))
    assert both(library, LibraryQuery(filters=either)).total == 2
    assert both(library, LibraryQuery(filters=LibraryFilters(tags=("nobody-uses-this",)))).total == 0
    # A new tag shows once the index sees its post touched: the kept answer is not reused.
    with session_scope(engine) as session:
        decide(session, post_ids=[data.ids["unboxing"]], action="tag", actor="lucia", add=["hero"])
    library.invalidate()
    assert set(keys(data, both(library, LibraryQuery(filters=hero)))) == {"trail-video", "surf", "unboxing"}
