"""The in-memory text index: matching and BM25 stay right through changed documents and rebuilds.

The reference is `plain_bm25` (the library tests' word-by-word BM25) plus a plain
matcher over the same documents; the index is driven through every state it can be
in: built, with changed and new rows scanned beside the base, and rebuilt.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_library_topk import occurrences, plain_bm25

from tesoro.search.postings import TextIndex
from tesoro.text.search import SearchQuery, parse_search_query

WORDS = [
    "trail",
    "trailhead",
    "trails",
    "rock",
    "plate",
    "rain",
    "jacket",
    "hood",
    "zapatilla",
    "sendero",
    "a",
]
QUERIES = [
    "trail",
    "trail*",
    "rock",
    "plate",
    "hood",
    "rock plate",
    '"rock plate"',
    '"rock pl"*',
    "rain OR hood -jacket",
    "a",
    "absent",
]


def _plain_match(docs: dict[int, str], query: SearchQuery) -> set[int]:
    out = set()
    for row, doc in docs.items():
        words = doc.split()
        if all(any(occurrences(words, t) for t in group) for group in query.groups) and not any(
            occurrences(words, t) for t in query.excluded
        ):
            out.add(row)
    return out


def _check(index: TextIndex, docs: dict[int, str]) -> None:
    for text in QUERIES:
        query = parse_search_query(text)
        matches = index.match(query)
        rows = np.flatnonzero(matches.mask)
        assert set(rows.tolist()) == _plain_match(docs, query), text
        plain = plain_bm25(docs, query)
        got = TextIndex.scores(matches, rows).tolist()
        assert got == pytest.approx([plain[r] for r in rows.tolist()], rel=1e-9), text


def _doc(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12)))


def test_changed_and_new_rows_are_found_before_and_after_a_rebuild() -> None:
    rng = random.Random(7)
    docs = {row: _doc(rng) for row in range(300)}
    index = TextIndex(rebuild_rows=10_000)
    index.set_docs(list(docs), list(docs.values()))
    index.rebuild()
    assert index.pending == 0
    _check(index, docs)
    # Some documents change, others stay the same (not counted), new rows arrive.
    before = dict(docs)
    changed = rng.sample(range(300), 40)
    for row in changed:
        docs[row] = _doc(rng) + " rock plate"
    same = [row for row in range(300) if row not in changed][:20]
    for row in range(300, 340):
        docs[row] = _doc(rng) + " trailrunner"  # a word the sorted vocabulary has not seen
    rows = changed + same + list(range(300, 340))
    count = index.set_docs(rows, [docs[r] for r in rows])
    assert count == index.pending == sum(1 for r in rows if r >= 300 or docs[r] != before[r]) >= 70
    _check(index, docs)  # base for the clean rows, a scan of the changed ones
    index.rebuild()
    assert index.pending == 0
    _check(index, docs)


def test_a_document_set_again_unchanged_is_not_rescanned() -> None:
    index = TextIndex()
    index.set_docs([0, 1], ["rock plate", "rain jacket"])
    index.rebuild()
    assert index.set_docs([0, 1], ["rock plate", "rain jacket"]) == 0
    assert index.pending == 0
    assert index.set_docs([1], ["rain hood"]) == 1 and index.pending == 1


def test_a_row_given_twice_keeps_its_last_document() -> None:
    index = TextIndex()
    index.set_docs([0, 1], ["rock", "rain"])
    index.rebuild()
    index.set_docs([1, 2, 1], ["hood", "plate", "trail trail"])
    docs = {0: "rock", 1: "trail trail", 2: "plate"}
    _check(index, docs)
    index.rebuild()
    _check(index, docs)


def test_a_query_rebuilds_once_enough_rows_changed() -> None:
    index = TextIndex(rebuild_rows=5)
    docs = {row: f"word{row} trail" for row in range(60)}
    index.set_docs(list(docs), list(docs.values()))
    assert index.pending == 60
    _check(index, docs)  # the first query rebuilt the base
    assert index.pending == 0


def test_a_phrase_never_spans_two_documents() -> None:
    index = TextIndex()
    index.set_docs([0, 1, 2], ["trail rock", "plate rain", "rock plate"])
    index.rebuild()
    matches = index.match(parse_search_query('"rock plate"'))
    assert np.flatnonzero(matches.mask).tolist() == [2]


def test_empty_index_and_empty_documents() -> None:
    index = TextIndex()
    index.rebuild()
    assert not index.match(parse_search_query("trail")).mask.any()
    index.set_docs([0, 1], ["", "trail"])
    matches = index.match(parse_search_query("trail"))
    assert np.flatnonzero(matches.mask).tolist() == [1]
    assert TextIndex.scores(matches, np.asarray([0, 1])).tolist()[0] == 0.0
    with pytest.raises(ValueError):
        index.set_docs([2], [])
