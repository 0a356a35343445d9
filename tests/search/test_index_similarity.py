"""LibraryIndex.similarities: exact cosine for selected rows with embeddings, -inf elsewhere."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tesoro.search import kernels
from tesoro.search.index import LibraryIndex
from tesoro.store.library import FACETS, LibraryFilters
from worlds.curator import index_row


def _index(vectors: np.ndarray, *, missing_every: int = 7) -> LibraryIndex:
    index = LibraryIndex(dim=vectors.shape[1])
    index.add_rows(
        [
            index_row(
                i + 1,
                brand_id=1 + i % 2,
                platform=("x", "reddit", "bluesky")[i % 3],
                embedding=None if i % missing_every == 0 else vectors[i].tobytes(),
            )
            for i in range(len(vectors))
        ]
    )
    return index


@pytest.mark.parametrize("fraction", [1.0, 0.5, 0.1])
def test_similarities_match_brute_force_and_rank_by_exact_cosine(fraction: float) -> None:
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = _index(vectors)
    selected = rng.random(len(vectors)) < fraction
    query = rng.standard_normal(32).astype(np.float32) * 3.0  # not unit: normalized inside
    got = index.similarities(query, selected)

    has = np.arange(len(vectors)) % 7 != 0
    usable = selected & has
    expected = np.full(len(vectors), -np.inf, dtype=np.float32)
    expected[usable] = vectors[usable] @ (query / np.linalg.norm(query))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got[usable], expected[usable], atol=1e-5)
    assert np.all(np.isneginf(got[~usable]))

    total, ids, values = index.page(usable, key=got, limit=10, offset=0)
    assert total == int(usable.sum())
    exact_top = (np.argsort(-expected, kind="stable")[:10] + 1).tolist()
    assert len(set(ids) & set(exact_top)) >= 9
    assert values == sorted(values, reverse=True)


def test_similarities_with_nothing_selected_is_all_minus_inf() -> None:
    vectors = np.eye(4, dtype=np.float32)
    index = _index(vectors, missing_every=10)
    got = index.similarities(np.ones(4, dtype=np.float32), np.zeros(4, dtype=np.bool_))
    assert got.shape == (4,) and np.all(np.isneginf(got))


@pytest.mark.parametrize("threads", [2, 3])
def test_split_scan_is_identical_to_one_scan(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "PARALLEL_SCAN_ROWS", 100)
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((2000, 48)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = _index(vectors)
    query = rng.standard_normal(48).astype(np.float32)
    selected = np.ones(len(vectors), dtype=np.bool_)
    index.scan_threads = 1
    single = index.similarities(query, selected)
    index.scan_threads = threads
    split = index.similarities(query, selected)
    np.testing.assert_array_equal(single, split)


_FILTER_OF = {
    "state": "states",
    "brand": "brand_ids",
    "product": "product_ids",
    "product_line": "product_lines",
    "content_type": "content_types",
    "platform": "platforms",
    "language": "languages",
    "sentiment": "sentiments",
    "rights": "rights",
}


@pytest.mark.parametrize("with_extra", [False, True])
def test_facets_match_one_mask_per_facet(with_extra: bool) -> None:
    rng = np.random.default_rng(9)
    vectors = rng.standard_normal((4000, 8)).astype(np.float32)
    index = _index(vectors)
    extra = rng.random(len(vectors)) < 0.2 if with_extra else None
    for filters in (
        LibraryFilters(),
        LibraryFilters(states=()),
        LibraryFilters(brand_ids=(1,), platforms=("x", "bluesky")),
        LibraryFilters(brand_ids=(2,), platforms=("reddit",), languages=("en",), states=("approved",)),
    ):
        got = index.facets(filters, extra)
        for facet in FACETS:
            name = _FILTER_OF[facet]
            # A facet counts under every filter but its own (an empty filter is no filter).
            expected = index.facet_counter.count(facet, index.mask(replace(filters, **{name: ()}), extra))
            assert got[facet] == expected, (filters, facet)
