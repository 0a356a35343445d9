"""Broad words: the top-k text search and the kept results give exactly the answers of a full scoring.

The reference here is written out plainly: the database says which posts match
(`text_matches`), BM25 is computed word by word over the stored documents in plain
Python (and, on SQLite, checked against FTS5's own `bm25()`), the selected posts
are ordered by it, ties to the higher post id, and the relevance is reported as the
index keeps it (float32). Many posts match "trail", a block of them with the very
same text (so the very same BM25: ties at the page boundary), some outside the
library, some on other platforms.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.curator.queue import decide
from tesoro.curator.ranking import rank_posts
from tesoro.search.index import LibraryIndex
from tesoro.search.library import Library, LibraryFilters, LibraryPage, LibraryQuery
from tesoro.settings import CuratorSettings
from tesoro.store.engine import session_scope
from tesoro.store.library import text_matches
from tesoro.store.tables import CurationItem
from tesoro.text.search import QueryTerm, SearchQuery, parse_search_query
from worlds.curator import NOW, Seeded, Spec, index_row, seed, tiny_encode

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


def build_library(engine: Engine) -> tuple[Seeded, Library]:
    """The seeded posts and a library over them (also used by the int8 tests, which need broad words)."""
    data = seed(engine, _specs())
    rank_posts(engine, CuratorSettings(), now=NOW)
    # Most posts join the library; every seventh stays in the queue (a match, but not a candidate).
    library_ids = [pid for key, pid in sorted(data.ids.items()) if pid % 7 != 0]
    with session_scope(engine) as session:
        decide(session, post_ids=library_ids, action="approve", actor="lucia")
        decide(session, post_ids=library_ids[::5], action="feature", actor="lucia")
    index = LibraryIndex(min_refresh_s=0.0)
    return data, Library(engine, CuratorSettings(), encode=tiny_encode, index=index)


def occurrences(tokens: list[str], term: QueryTerm) -> int:
    """How many times the term (a word, a prefix, a phrase) occurs in the document's words."""
    width = len(term.tokens)
    count = 0
    for i in range(len(tokens) - width + 1):
        window = tokens[i : i + width]
        head, last = window[:-1], window[-1]
        if list(head) == list(term.tokens[:-1]) and (
            last.startswith(term.tokens[-1]) if term.prefix else last == term.tokens[-1]
        ):
            count += 1
    return count


def plain_bm25(docs: dict[int, str], query: SearchQuery) -> dict[int, float]:
    """BM25 of every document, FTS5's way (k1 1.2, b 0.75, each positive term with its own idf)."""
    words = {pid: doc.split() for pid, doc in docs.items()}
    rows = len(words)
    average = sum(len(w) for w in words.values()) / rows
    terms = [term for group in query.groups for term in group]
    idf = {}
    for term in terms:
        hit = sum(1 for w in words.values() if occurrences(w, term))
        value = math.log((rows - hit + 0.5) / (hit + 0.5))
        idf[term] = value if value > 0 else 1e-6
    out = {}
    for pid, w in words.items():
        norm = 1.2 * (1 - 0.75 + 0.75 * len(w) / average)
        total = 0.0
        for term in terms:
            tf = occurrences(w, term)
            total += idf[term] * tf * 2.2 / (tf + norm)
        out[pid] = total
    return out


def stored_docs(session: Session) -> dict[int, str]:
    return {int(pid): doc for pid, doc in session.execute(select(CurationItem.post_id, CurationItem.doc))}


def _reference(library: Library, query: LibraryQuery) -> tuple[int, list[int], list[float | None]]:
    """(total, page ids, page relevance) by scoring every match plainly."""
    parsed = parse_search_query(query.text or "")
    index = library.index
    with session_scope(library.engine) as session:
        index.refresh(session, force=True)
        matched = {pid for pid, _ in text_matches(session, query=parsed)}
        bm25 = plain_bm25(stored_docs(session), parsed)
    selected = index.mask(query.filters, index.mask_of(sorted(matched)))
    rows = np.flatnonzero(selected)
    ids = index.post_ids_at(rows).tolist()
    values = [bm25[pid] for pid in ids]
    if query.sort in (None, "relevance"):
        order = sorted(zip(values, ids, strict=True), key=lambda r: (-r[0], -r[1]))
    else:
        column = "score" if query.sort == "treasure" else "created"
        keys = index.columns.arrays[column][rows].tolist()
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
        assert [h.relevance for h in page.items] == pytest.approx(relevance, rel=1e-6), query
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


def fresh_library(engine: Engine) -> Library:
    """A new library (its own index, nothing kept) over a store `build_library` filled."""
    return Library(engine, CuratorSettings(), encode=tiny_encode, index=LibraryIndex(min_refresh_s=0.0))


def test_top_k_pages_are_those_of_a_full_scoring(engine: Engine) -> None:
    # The store is built once (searches do not change it); each query gets a library of its own.
    build_library(engine)
    for query in QUERIES:
        _check(fresh_library(engine), query)


def test_every_page_of_a_broad_word_in_turn(sqlite_engine: Engine) -> None:
    """Walking all pages (kept order reused and extended) gives every candidate once, in order."""
    _, library = build_library(sqlite_engine)
    total, expected, _ = _reference(library, LibraryQuery(text="trail", limit=1000))
    seen: list[int] = []
    for offset in range(0, total + 10, 9):
        page = _check(library, LibraryQuery(text="trail", limit=9, offset=offset))
        seen.extend(h.entry.card.id for h in page.items)
    assert seen == expected and len(seen) == total > 100


TEXTS = ["trail", "trail ridge", "trail OR jacket -storm", '"trail shoes"', "sw*", '"trail sh"*', "storm"]


def test_index_matches_what_the_database_matches_with_fts5s_bm25(engine: Engine) -> None:
    build_library(engine)
    for text in TEXTS:
        _index_matches_the_database(engine, fresh_library(engine), text)


def _index_matches_the_database(engine: Engine, library: Library, text: str) -> None:
    parsed = parse_search_query(text)
    with session_scope(engine) as session:
        library.index.refresh(session, force=True)
        in_store = dict(text_matches(session, query=parsed))
        plain = plain_bm25(stored_docs(session), parsed)
    matches = library.index.text_match(parsed)
    rows = np.flatnonzero(matches.mask)
    ids = library.index.post_ids_at(rows).tolist()
    assert sorted(ids) == sorted(in_store) and ids, text
    mine = dict(zip(ids, library.index.text_relevance(matches, rows).tolist(), strict=True))
    assert mine == pytest.approx({pid: plain[pid] for pid in ids}, rel=1e-9), text
    if engine.dialect.name == "sqlite":  # the formula is FTS5's: the same number as bm25()
        assert mine == pytest.approx(in_store, rel=1e-9), text


def _facets(page: LibraryPage) -> dict[str, dict[Any, int]]:
    return {name: dict(counts) for name, counts in page.facets.items()}


def test_kept_results_follow_decisions_and_new_rankings(sqlite_engine: Engine) -> None:
    data, library = build_library(sqlite_engine)
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
    _, library = build_library(sqlite_engine)
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
    _, library = build_library(sqlite_engine)
    query = LibraryQuery(meaning="trail shoes ridge", min_similarity=0.1, limit=8)
    library.cache = False
    fresh = library.search(query)
    library.cache = True
    kept = [library.search(query) for _ in range(2)][-1]
    assert [h.entry.card.id for h in kept.items] == [h.entry.card.id for h in fresh.items]
    assert [h.relevance for h in kept.items] == [h.relevance for h in fresh.items]
    assert kept.facets == fresh.facets and kept.total == fresh.total > 8


def test_rows_arriving_during_searches_never_break_one(sqlite_engine: Engine) -> None:
    """Another request's refresh adds rows while searches run: each search sees one consistent set."""
    _, library = build_library(sqlite_engine)
    library.cache = False
    library.warm()
    stop = threading.Event()

    def grow() -> None:
        post_id = 10_000_000
        while not stop.is_set():
            vector = np.random.default_rng(post_id).standard_normal(384).astype(np.float32)
            vector /= np.linalg.norm(vector)
            library.index.add_rows(
                [index_row(post_id, doc="trail ridge late", embedding=vector.tobytes(), score=0.3)]
            )
            post_id += 1

    queries = [
        LibraryQuery(text="trail", limit=5),
        LibraryQuery(meaning="trail ridge", min_similarity=0.0, limit=5),
        LibraryQuery(text="trail", meaning="ridge", min_similarity=0.0),
    ]
    grower = threading.Thread(target=grow)
    grower.start()
    try:
        for i in range(60):
            assert library.search(queries[i % 3]).total > 0
    finally:
        stop.set()
        grower.join()
    assert len(library.index) > 140  # rows did arrive meanwhile
