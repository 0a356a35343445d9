"""Broad words: the top-k text search and the kept results give exactly the answers of a full scoring.

The reference here is the pre-top-k algorithm, written out plainly: score every
match (`text_matches`), keep the selected ones, order them by relevance, ties to
the higher post id, and report the relevance as the index keeps it (float32). Many
posts match "trail", a block of them with the very same text (so the very same
BM25: ties at the page boundary), some outside the library, some on other platforms.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from curator_fixtures import NOW, Seeded, Spec, seed, tiny_encode
from sqlalchemy.engine import Engine

from tesoro.curator.index import LibraryIndex
from tesoro.curator.library import Library, LibraryFilters, LibraryPage, LibraryQuery
from tesoro.curator.queue import decide
from tesoro.curator.ranking import rank_posts
from tesoro.curator.text import parse_search_query
from tesoro.settings import CuratorSettings
from tesoro.store.engine import session_scope
from tesoro.store.library import (
    best_matches,
    match_ids,
    matches_packed,
    relevance_travels_packed,
    text_matches,
)

FILLER = ["ridge", "summit", "creek", "forest", "gravel", "switchback", "meadow", "canyon", "boulder", "pine"]


def _specs() -> list[Spec]:
    specs: list[Spec] = []
    for i in range(60):  # "trail" 1-4 times in texts of different lengths: many different relevances
        words = ["trail"] * (1 + i % 4) + FILLER[: 2 + i % 9] + [f"w{i}"]
        specs.append(Spec(f"varied-{i}", " ".join(words), hours_ago=1 + i, author=f"a{i}"))
    for i in range(40):  # the same text forty times: the same relevance, ordered by post id
        specs.append(Spec(f"same-{i}", "Trail shoes on the ridge", hours_ago=100 + i, author=f"b{i}"))
    for i in range(20):
        specs.append(
            Spec(
                f"es-{i}",
                f"Sendero trail con zapatillas numero {i}",
                platform="bluesky",
                language="es",
                hours_ago=200 + i,
                author=f"c{i}",
                content_types=("photo",),
                media=("photo",),
            )
        )
    for i in range(20):
        text = f"Rain jacket in a storm number {i}"
        specs.append(Spec(f"rain-{i}", text, hours_ago=300 + i, author=f"d{i}"))
    return specs


def _build(engine: Engine) -> tuple[Seeded, Library]:
    data = seed(engine, _specs())
    rank_posts(engine, CuratorSettings(), now=NOW)
    # Most posts join the library; every seventh stays in the queue (a match, but not a candidate).
    library_ids = [pid for key, pid in sorted(data.ids.items()) if pid % 7 != 0]
    with session_scope(engine) as session:
        decide(session, post_ids=library_ids, action="approve", actor="lucia")
        decide(session, post_ids=library_ids[::5], action="feature", actor="lucia")
    index = LibraryIndex(min_refresh_s=0.0)
    return data, Library(engine, CuratorSettings(), encode=tiny_encode, index=index)


def _reference(library: Library, query: LibraryQuery) -> tuple[int, list[int], list[float | None]]:
    """(total, page ids, page relevance) by scoring every match, as the search did before top-k."""
    parsed = parse_search_query(query.text or "")
    index = library.index
    with session_scope(library.engine) as session:
        index.refresh(session, force=True)
        matches = text_matches(session, query=parsed)
    relevance = index.scatter([m[0] for m in matches], [m[1] for m in matches])
    selected = index.mask(query.filters, np.isfinite(relevance))
    rows = np.flatnonzero(selected)
    ids = index.post_ids_at(rows).tolist()
    exact = dict(matches)  # the database's own value (float64 on SQLite)
    values = [exact[pid] for pid in ids]
    if query.sort in (None, "relevance"):
        order = sorted(zip(values, ids, strict=True), key=lambda r: (-r[0], -r[1]))
    else:
        column = "score" if query.sort == "treasure" else "created"
        keys = index._arrays[column][rows].tolist()
        ranked = sorted(zip(keys, ids, values, strict=True), key=lambda r: (-r[0], -r[1]))
        order = [(v, pid) for _, pid, v in ranked]
    page = order[query.offset : query.offset + query.limit]
    return len(ids), [pid for _, pid in page], [float(np.float32(v)) for v, _ in page]


def _check(library: Library, query: LibraryQuery) -> LibraryPage:
    total, ids, relevance = _reference(library, query)
    for cache in (False, True, True):  # computed, computed and kept, then served from what was kept
        library.cache = cache
        page = library.search(query)
        assert page.total == total, query
        assert [h.entry.card.id for h in page.items] == ids, query
        assert [h.relevance for h in page.items] == relevance, query
        # Facet counts: the in-memory counts of every match, and the SQL reference.
        assert page.facets == library.search(query, use_index=False).facets, query
    library.cache = True
    return page


QUERIES = [
    LibraryQuery(text="trail", limit=5),
    LibraryQuery(text="trail", limit=5, offset=40),  # inside the block of equal relevances
    LibraryQuery(text="trail", limit=24, offset=24),
    LibraryQuery(text="trail", limit=100),
    LibraryQuery(text="trail ridge", limit=7, offset=3),
    LibraryQuery(text="trail OR jacket -storm", limit=10),
    LibraryQuery(text="trail", limit=5, filters=LibraryFilters(platforms=("bluesky",))),
    LibraryQuery(text="trail", limit=5, offset=5, filters=LibraryFilters(states=("featured",))),
    LibraryQuery(text="trail", limit=5, filters=LibraryFilters(states=())),  # the queue too
    LibraryQuery(text="trail", limit=6, sort="treasure"),
    LibraryQuery(text="trail", limit=6, offset=30, sort="date"),
    LibraryQuery(text="nothing-like-this", limit=5),
]


@pytest.mark.parametrize("case", range(len(QUERIES)))
def test_top_k_pages_are_those_of_a_full_scoring(engine: Engine, case: int) -> None:
    _, library = _build(engine)
    _check(library, QUERIES[case])


def test_every_page_of_a_broad_word_in_turn(sqlite_engine: Engine) -> None:
    """Walking all pages (kept order reused and extended) gives every candidate once, in order."""
    _, library = _build(sqlite_engine)
    total, expected, _ = _reference(library, LibraryQuery(text="trail", limit=1000))
    seen: list[int] = []
    for offset in range(0, total + 10, 9):
        page = _check(library, LibraryQuery(text="trail", limit=9, offset=offset))
        seen.extend(h.entry.card.id for h in page.items)
    assert seen == expected and len(seen) == total > 100


def test_match_ids_and_best_matches_agree_with_text_matches(engine: Engine) -> None:
    data, _ = _build(engine)
    parsed = parse_search_query("trail")
    with session_scope(engine) as session:
        every = text_matches(session, query=parsed)
        ids = match_ids(session, query=parsed)
        assert sorted(ids.tolist()) == sorted(pid for pid, _ in every) and len(every) == 120
        ranked = sorted(every, key=lambda r: (-r[1], -r[0]))
        assert best_matches(session, query=parsed, limit=None) == ranked
        assert best_matches(session, query=parsed, limit=10) == ranked[:10]
        some = [pid for pid, _ in every][::3]
        inside = [r for r in ranked if r[0] in some]
        assert best_matches(session, query=parsed, limit=None, only=some) == inside
        assert (
            best_matches(session, query=parsed, limit=5, excluding=np.asarray(some))
            == [r for r in ranked if r[0] not in some][:5]
        )
        assert best_matches(session, query=parsed, limit=5, only=[]) == []
        assert best_matches(session, query=parse_search_query("absent"), limit=5) == []
        assert len(match_ids(session, query=parse_search_query("absent"))) == 0
        packed_ids, packed = matches_packed(session, query=parsed, relevance=True)
        if relevance_travels_packed(session):  # PostgreSQL: ts_rank's float4, exactly
            assert packed is not None
            exact = {pid: float(np.float32(rel)) for pid, rel in every}  # psycopg reads float4 as text
            assert dict(zip(packed_ids.tolist(), packed.tolist(), strict=True)) == exact
        else:
            assert packed is None and sorted(packed_ids.tolist()) == sorted(ids.tolist())
    assert data.ids


def _facets(page: LibraryPage) -> dict[str, dict[Any, int]]:
    return {name: dict(counts) for name, counts in page.facets.items()}


def test_kept_results_follow_decisions_and_new_rankings(sqlite_engine: Engine) -> None:
    data, library = _build(sqlite_engine)
    query = LibraryQuery(text="trail", limit=5)
    before = _check(library, query)
    by_state = _facets(before)["state"]
    # A decision made elsewhere (no `invalidate`): the next refresh sees it, the kept answer is dropped.
    moved = [data.ids[f"varied-{i}"] for i in range(60) if data.ids[f"varied-{i}"] % 7 != 0][:10]
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=moved, action="reject", actor="lucia")
    after = _check(library, query)
    assert after.total == before.total - 10
    assert _facets(after)["state"].get("rejected") == 10
    assert sum(_facets(after)["state"].values()) == sum(by_state.values())
    # A new post with the word, ranked and approved: its match is found (the items changed).
    more = seed(sqlite_engine, [Spec("late", "trail " * 12 + "late", author="late", hours_ago=0.5)])
    rank_posts(sqlite_engine, CuratorSettings(), now=NOW)
    with session_scope(sqlite_engine) as session:
        decide(session, post_ids=[more.ids["late"]], action="approve", actor="lucia")
    library.invalidate()
    newest = _check(library, query)
    assert newest.total == after.total + 1
    assert newest.items[0].entry.card.id == more.ids["late"]  # the most relevant of all


def test_kept_facets_are_shared_by_reordered_filters_and_copied_out(sqlite_engine: Engine) -> None:
    _, library = _build(sqlite_engine)
    one = LibraryFilters(platforms=("x", "bluesky"), languages=("en", "es"))
    two = replace(one, platforms=("bluesky", "x"), languages=("es", "en"))
    first = library.search(LibraryQuery(text="trail", filters=one))
    first.facets["platform"].clear()  # a caller changing its page changes nothing kept
    second = library.search(LibraryQuery(text="trail", filters=two))
    assert (
        second.facets["platform"]
        and second.facets == library.search(LibraryQuery(text="trail", filters=two), use_index=False).facets
    )
    assert len(library._facets) == 1
    library.invalidate()
    assert len(library._facets) == 0


def test_meaning_queries_keep_their_order_and_facets(sqlite_engine: Engine) -> None:
    _, library = _build(sqlite_engine)
    query = LibraryQuery(meaning="trail shoes ridge", min_similarity=0.1, limit=8)
    library.cache = False
    fresh = library.search(query)
    library.cache = True
    kept = [library.search(query) for _ in range(2)][-1]
    assert [h.entry.card.id for h in kept.items] == [h.entry.card.id for h in fresh.items]
    assert [h.relevance for h in kept.items] == [h.relevance for h in fresh.items]
    assert kept.facets == fresh.facets and kept.total == fresh.total > 8
