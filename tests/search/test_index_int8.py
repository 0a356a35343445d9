"""The int8 meaning scan: float32 pages and similarities; the cutoff within the bound (or exact).

The reference is `LibraryIndex.similarities` (float32). The vectors are built so
that many rows sit right at the threshold and at the page boundary, where int8
rounding alone would decide wrongly; the tests also check that the int8 path ran
(some values were left approximate), so they cannot pass on the float32 path alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from test_library_topk import build_library

import tesoro.search.meaning as meaning_module
from tesoro.search.index import LibraryIndex, int8_available
from tesoro.search.library import Library, LibraryFilters, LibraryQuery
from tesoro.settings import CuratorSettings
from worlds.curator import index_row, tiny_encode

pytestmark = pytest.mark.skipif(not int8_available(), reason="simsimd is not installed")

DIM = 64
THRESHOLD = 0.3


@pytest.fixture(autouse=True)
def small_indexes_use_int8(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meaning_module, "INT8_MIN_ROWS", 0)


def _vectors(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, query): a third within 0.003 of THRESHOLD, a block of ties, the rest spread."""
    rng = np.random.default_rng(seed)
    query = rng.standard_normal(DIM)
    query /= np.linalg.norm(query)
    target = rng.uniform(-0.2, 0.8, rows)
    target[: rows // 3] = THRESHOLD + rng.uniform(-0.003, 0.003, rows // 3)
    target[rows // 3 : rows // 3 + 50] = 0.7  # 50 rows with (almost) the same top similarity
    noise = rng.standard_normal((rows, DIM))
    noise -= np.outer(noise @ query, query)  # orthogonal to the query
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    vectors = target[:, None] * query + np.sqrt(1 - target[:, None] ** 2) * noise
    return vectors.astype(np.float32), query.astype(np.float32)


def _index(vectors: np.ndarray, *, quantized: bool) -> LibraryIndex:
    index = LibraryIndex(dim=vectors.shape[1], quantized=quantized)
    index.add_rows(
        [
            index_row(
                i + 1,
                platform=("x", "reddit", "bluesky")[i % 3],
                score=float((i * 37) % 101),
                embedding=None if i % 11 == 0 else vectors[i].tobytes(),
            )
            for i in range(len(vectors))
        ]
    )
    return index


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_int8_values_stay_within_their_bound_and_exact_cutoff_decides_like_float32(seed: int) -> None:
    vectors, query = _vectors(3000, seed)
    index = _index(vectors, quantized=True)
    selected = np.ones(len(vectors), dtype=np.bool_)
    selected[::5] = False
    exact = index.similarities(query, selected)
    finite = np.isfinite(exact)

    rough = index.scan(query, selected, threshold=THRESHOLD)
    assert rough.approximate
    assert np.array_equal(np.isfinite(rough.values), finite)
    assert np.all(np.abs(rough.values[finite] - exact[finite]) <= rough.bound[finite])
    assert np.all(rough.bound[finite] < 0.05)
    # Where int8 and float32 disagree about the cutoff, the row is within its bound of it.
    flipped = (rough.values >= THRESHOLD) != (exact >= THRESHOLD)
    assert np.all(np.abs(exact[flipped] - THRESHOLD) <= rough.bound[flipped])

    strict = index.scan(query, selected, threshold=THRESHOLD, exact_cutoff=True)
    assert strict.approximate
    assert np.count_nonzero(strict.bound > 0) > len(vectors) // 3  # rows away from it: int8 alone
    assert np.array_equal(strict.values >= THRESHOLD, exact >= THRESHOLD)
    near = finite & (np.abs(exact - THRESHOLD) < 0.003)
    assert np.count_nonzero(strict.bound[near] == 0) == np.count_nonzero(near)


@pytest.mark.parametrize("want", [1, 24, 60, 500])
def test_settle_top_gives_the_float32_page(want: int) -> None:
    vectors, query = _vectors(3000, 7)
    index = _index(vectors, quantized=True)
    everything = np.ones(len(vectors), dtype=np.bool_)
    exact = index.similarities(query, everything)
    scan = index.scan(query, everything, threshold=THRESHOLD, exact_cutoff=True)
    selected = np.flatnonzero((scan.values >= THRESHOLD) & (np.arange(len(vectors)) % 3 != 1))

    index.settle_top(scan, selected, want)
    got = index.page(selected, key=scan.values, limit=want, offset=0)
    expected = index.page(selected, key=exact, limit=want, offset=0)
    assert got == expected
    assert np.count_nonzero(scan.bound > 0) > 0  # not everything was recomputed


def test_small_or_sparse_scans_and_the_float32_setting_stay_float32() -> None:
    vectors, query = _vectors(400, 5)
    plain = _index(vectors, quantized=False)
    assert plain.scan(query, np.ones(400, dtype=np.bool_), threshold=THRESHOLD).approximate is False
    index = _index(vectors, quantized=True)
    sparse = np.zeros(400, dtype=np.bool_)
    sparse[:50] = True  # an eighth of the rows: gathered and computed exactly
    scan = index.scan(query, sparse, threshold=THRESHOLD)
    assert not scan.approximate
    assert np.array_equal(scan.values, index.similarities(query, sparse))


def _library(engine: Engine, vector_scan: str) -> Library:
    settings = CuratorSettings(vector_scan=vector_scan)
    library = Library(engine, settings, encode=tiny_encode)
    library.index.min_refresh_s = 0.0
    library.cache = False
    return library


MEANING_QUERIES = [
    LibraryQuery(meaning="trail shoes on the ridge", min_similarity=0.3),
    LibraryQuery(meaning="trail", min_similarity=0.25, limit=10, offset=10),
    LibraryQuery(meaning="rain jacket storm", min_similarity=0.1, sort="treasure"),
    LibraryQuery(meaning="sendero zapatillas", min_similarity=0.2, filters=LibraryFilters(languages=("es",))),
    LibraryQuery(meaning="ridge summit creek forest", min_similarity=0.0, sort="date", limit=50),
]


@pytest.mark.parametrize("vector_scan", ["int8", "int8-exact"])
def test_library_meaning_search_is_the_same_with_int8(sqlite_engine: Engine, vector_scan: str) -> None:
    """No post of this library sits within the int8 bound of these thresholds: the same answers."""
    build_library(sqlite_engine)  # once: searches do not change the store; each query gets new libraries
    for query in MEANING_QUERIES:
        int8, float32 = _library(sqlite_engine, vector_scan), _library(sqlite_engine, "float32")
        got, expected = int8.search(query), float32.search(query)
        assert int8.index.quantized and not float32.index.quantized
        assert got.total == expected.total > 0, query
        assert [h.entry.card.id for h in got.items] == [h.entry.card.id for h in expected.items], query
        # The same float32 dot products, up to the last bit (numpy's summation follows memory alignment).
        assert [hit.relevance for hit in got.items] == pytest.approx(
            [hit.relevance for hit in expected.items], abs=1e-6
        ), query
        assert got.facets == expected.facets, query


def test_int8_cutoff_counts_a_post_at_the_threshold_like_float32_only_when_exact(
    sqlite_engine: Engine,
) -> None:
    """A threshold set to a post's exact similarity: int8-exact agrees; int8 differs only near it."""
    build_library(sqlite_engine)
    float32 = _library(sqlite_engine, "float32")
    meaning = "trail shoes on the ridge"
    every = float32.search(LibraryQuery(meaning=meaning, min_similarity=-1.0, limit=1000)).items
    sims = {hit.entry.card.id: hit.relevance or 0.0 for hit in every}
    edge = every[2].relevance
    assert edge is not None
    at_edge = LibraryQuery(meaning=meaning, min_similarity=edge, limit=1000)
    expected = float32.search(at_edge)
    exact = _library(sqlite_engine, "int8-exact").search(at_edge)
    rough = _library(sqlite_engine, "int8").search(at_edge)
    assert exact.total == expected.total >= 3
    assert [h.entry.card.id for h in exact.items] == [h.entry.card.id for h in expected.items]
    # int8 alone: a post may fall on the other side of the threshold only when its similarity is close.
    rough_ids = {h.entry.card.id for h in rough.items}
    expected_ids = {h.entry.card.id for h in expected.items}
    assert all(abs(sims[pid] - edge) < 0.05 for pid in rough_ids ^ expected_ids)
    assert rough_ids >= {pid for pid, sim in sims.items() if sim >= edge + 0.05}


def test_settings_reject_an_unknown_vector_scan() -> None:
    with pytest.raises(ValueError, match="vector_scan"):
        CuratorSettings(vector_scan="int4")  # type: ignore[arg-type]
