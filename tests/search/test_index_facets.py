"""LibraryIndex.facets_and_rows: one pass gives the same counts and selection as one mask per facet."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tesoro.models import CONTENT_TYPES
from tesoro.search.index import LibraryIndex
from tesoro.search.kernels import kth_largest, one_of
from tesoro.store.library import FACETS, IndexRow, LibraryFilters
from worlds.curator import index_row

NOW = datetime(2026, 1, 1, tzinfo=UTC)
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


def _index(n: int, seed: int = 3) -> LibraryIndex:
    rng = np.random.default_rng(seed)
    index = LibraryIndex(dim=4)
    index.add_rows(
        [
            IndexRow(
                post_id=10 + 3 * i,
                brand_id=None if i % 11 == 0 else 1 + i % 3,
                platform=("x", "reddit", "bluesky", "mastodon")[i % 4],
                created_at=NOW - timedelta(hours=int(rng.integers(0, 24 * 60))),
                language=(None, "en", "es", "pt")[int(rng.integers(0, 4))],
                sentiment=("positive", "neutral", "negative", None)[i % 4],
                scored_product_id=None if i % 5 == 0 else 1 + i % 4,
                content_mask=int(rng.integers(0, 1 << len(CONTENT_TYPES))),
                score=float(rng.random()),
                filtered=False,
                duplicate=False,
                item_updated_at=NOW,
                queue_state=("approved", "featured", "new", "rejected")[int(rng.integers(0, 4))],
                rights_status=("none", "granted", "requested")[i % 3],
                product_id=2 if i % 13 == 0 else None,
                post_updated_at=NOW,
                embedding=None,
            )
            for i in range(n)
        ]
    )
    return index


FILTERS = [
    LibraryFilters(),
    LibraryFilters(states=()),
    LibraryFilters(brand_ids=(1, 3), platforms=("x", "bluesky"), languages=("en",)),
    LibraryFilters(
        brand_ids=(2,),
        product_ids=(1, 2, 4),
        content_types=("photo", "video", "review"),
        sentiments=("positive", "negative"),
        rights=("granted",),
        date_from=NOW - timedelta(days=20),
        date_to=NOW - timedelta(days=2),
    ),
    LibraryFilters(states=("new", "rejected", "approved"), product_lines=("nothing",), platforms=("x",)),
    LibraryFilters(date_from=NOW - timedelta(days=5)),  # a filter with no facet of its own
]


@pytest.mark.parametrize("n", [300, 9000])  # small subsets count type by type, large ones in one pass
@pytest.mark.parametrize("with_extra", [False, True])
def test_facets_and_rows_match_a_mask_per_facet(n: int, with_extra: bool) -> None:
    index = _index(n)
    rng = np.random.default_rng(n)
    extra = rng.random(n) < 0.4 if with_extra else None
    for filters in FILTERS:
        facets, rows = index.facets_and_rows(filters, extra)
        assert rows.tolist() == np.flatnonzero(index.mask(filters, extra)).tolist(), filters
        for facet in FACETS:
            expected = index.facet_counter.count(
                facet, index.mask(replace(filters, **{_FILTER_OF[facet]: ()}), extra)
            )
            assert facets[facet] == expected, (filters, facet)
            # ... and the plain count, written out, for the content types (a post has several).
            if facet == "content_type":
                selected = index.mask(replace(filters, content_types=()), extra)
                cmask = index.columns.arrays["cmask"][: len(index)][selected]
                plain = {t: int(np.count_nonzero(cmask & (1 << i))) for i, t in enumerate(CONTENT_TYPES)}
                assert dict(facets[facet]) == {t: c for t, c in plain.items() if c}
        none, same = index.facets_and_rows(filters, extra, with_facets=False)
        assert none == {} and same.tolist() == rows.tolist()


def test_pages_of_row_positions_and_of_masks_agree() -> None:
    index = _index(5000)
    filters = LibraryFilters(platforms=("x", "reddit"))
    _, rows = index.facets_and_rows(filters)
    mask = index.mask(filters)
    for key in ("score", "created"):
        for limit, offset in ((24, 0), (10, 700), (3000, 0)):
            assert index.page(rows, key=key, limit=limit, offset=offset) == index.page(
                mask, key=key, limit=limit, offset=offset
            )
    ids = index.post_ids_at(rows)
    assert index.rows_of(ids).tolist() == rows.tolist()
    assert index.rows_of(np.asarray([0, 1, 10**9, -5])).tolist() == [-1, -1, -1, -1]
    assert index.rows_mask(rows).tolist() == mask.tolist()


def test_one_of_is_isin() -> None:
    column = np.random.default_rng(1).integers(-1, 40, 2000).astype(np.int16)
    for values in ([], [3], [3, 7, -1], list(range(30))):
        assert one_of(column, values).tolist() == np.isin(column, values).tolist()


def test_generation_moves_with_rows() -> None:
    index = _index(50)
    before = index.generation()
    index.add_rows([])
    assert index.generation() == before
    index.add_rows([index_row(7, score=0.5)])
    assert index.generation() > before


def test_kth_largest_matches_a_full_partition() -> None:
    rng = np.random.default_rng(5)
    cases = [
        rng.standard_normal(300_000).astype(np.float32),
        np.sort(rng.standard_normal(50_000)),  # sorted: the strided sample sees it evenly
        np.repeat(np.arange(10, dtype=np.float32), 20_000),  # long runs of ties
        np.concatenate([np.full(90_000, -np.inf), rng.random(10_000)]),
        rng.random(500),
    ]
    for values in cases:
        for k in (1, 24, 240, 5000):
            if k <= len(values):
                assert kth_largest(values, k) == np.sort(values)[len(values) - k]
