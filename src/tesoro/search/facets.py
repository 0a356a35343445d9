"""Library filters and multi-select facet counts over the index's columns.

A coordinator filtering by platform still sees how many posts each other platform
would add (multi-select): each facet is counted under every filter but its own. Doing
that with one mask per facet would pass over the rows once per facet; instead every
row gets a code with bit k set when it fails filter k, and only rows failing at most
one filter are counted (see `FacetCounter.facets_and_rows`).

The categorical facets are counted together: each row's codes are packed into one
number (mixed radix), so one gather and one `bincount` count them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from tesoro.models import CONTENT_TYPES, content_mask
from tesoro.search.columns import IndexColumns
from tesoro.search.kernels import BoolArray, IntArray
from tesoro.store.library import FACETS, LibraryFilters

__all__ = ["FacetCounter", "FacetCounts", "all_of", "filter_masks"]

FacetCounts = dict[str, list[tuple[Any, int]]]

# Facets counted together from one packed code per row (facet -> its column).
_PACKED_FACETS = {
    "state": "state",
    "product_line": "line",
    "platform": "platform",
    "language": "language",
    "sentiment": "sentiment",
    "rights": "rights",
}
_PACKED_MAX_BINS = 1 << 20


def _column_of(facet: str) -> str:
    return {"product_line": "line"}.get(facet, facet)


def filter_masks(columns: IndexColumns, filters: LibraryFilters) -> dict[str, BoolArray]:
    """One mask per active filter, keyed by facet name (plus 'date', which has no facet)."""
    masks: dict[str, BoolArray] = {}
    if filters.states:
        masks["state"] = columns.in_values("state", filters.states)
    if filters.brand_ids:
        masks["brand"] = columns.ids_in("brand", filters.brand_ids)
    if filters.product_ids:
        masks["product"] = columns.ids_in("product", filters.product_ids)
    if filters.product_lines:
        masks["product_line"] = columns.in_values("line", filters.product_lines)
    if filters.content_types:
        bits = content_mask(filters.content_types)
        masks["content_type"] = (columns.column("cmask") & bits) != 0
    if filters.platforms:
        masks["platform"] = columns.in_values("platform", filters.platforms)
    if filters.languages:
        masks["language"] = columns.in_values("language", filters.languages)
    if filters.sentiments:
        masks["sentiment"] = columns.in_values("sentiment", filters.sentiments)
    if filters.rights:
        masks["rights"] = columns.in_values("rights", filters.rights)
    if filters.date_from is not None or filters.date_to is not None:
        created = columns.column("created")
        date = np.ones(columns.n, dtype=np.bool_)
        if filters.date_from is not None:
            date &= created >= filters.date_from.timestamp()
        if filters.date_to is not None:
            date &= created < filters.date_to.timestamp()
        masks["date"] = date
    return masks


def all_of(n: int, masks: Iterable[BoolArray], extra: BoolArray | None) -> BoolArray:
    """Rows set in every mask and in `extra` (all `n` rows when there is none)."""
    out = np.ones(n, dtype=np.bool_) if extra is None else extra.copy()
    for m in masks:
        out &= m
    return out


class FacetCounter:
    """Counts the library's facets over an index's columns, keeping the packed codes between counts."""

    def __init__(self, columns: IndexColumns) -> None:
        self.columns = columns
        # The packed facet code of every row, rebuilt on the first count after a change.
        self._packed: tuple[tuple[int, tuple[int, ...]], npt.NDArray[np.int32]] | None = None

    def facets_and_rows(
        self, filters: LibraryFilters, extra: BoolArray | None = None, *, with_facets: bool = True
    ) -> tuple[FacetCounts, IntArray]:
        """The facet counts (empty without `with_facets`) and the rows passing every filter and `extra`.

        One pass over the filters for both: each row gets a code with bit k set when it
        fails filter k. Only rows failing at most one filter count in any facet: those
        failing none count everywhere, one failing only filter k counts in k's own
        facet alone (multi-select), and the rows failing none are also the selection.
        """
        n = self.columns.n
        masks = filter_masks(self.columns, filters)
        code = np.zeros(n, dtype=np.uint16)
        for bit, m in enumerate(masks.values()):
            code |= np.left_shift((~m).view(np.uint8), bit, dtype=np.uint16)
        if not with_facets:
            passing_all = code == 0
            if extra is not None:
                passing_all &= extra
            return {}, np.flatnonzero(passing_all)
        near = (code & (code - np.uint16(1))) == 0  # no bit or one bit (0 - 1 wraps to all bits)
        if extra is not None:
            near &= extra
        base = np.flatnonzero(near)
        codes = code[base]
        passing = codes == 0
        rows = base[passing]
        everything = len(rows) == n  # no gather needed
        bits = {name: 1 << i for i, name in enumerate(masks)}
        out: FacetCounts = {}
        packed = self._tally_packed(None if everything else rows)
        for facet in FACETS:
            counts = packed[facet] if facet in packed else self.tally(facet, None if everything else rows)
            own = bits.get(facet)
            only = base[codes == own] if own is not None else base[:0]
            if len(only):
                more = self.tally(facet, only)
                if len(more) > len(counts):
                    counts, more = more, counts
                counts = counts.copy()
                counts[: len(more)] += more
            out[facet] = self.pairs(facet, counts)
        return out, rows

    def count(self, facet: str, selected: BoolArray | IntArray) -> list[tuple[Any, int]]:
        """Counts of the facet's values over `selected` (a row mask, or row positions)."""
        return self.pairs(facet, self.tally(facet, selected))

    def _packed_codes(self) -> tuple[tuple[int, ...], npt.NDArray[np.int32]] | None:
        """Each row's categorical facet codes packed into one number (mixed radix), or None if too many."""
        columns = self.columns
        radix = tuple(len(columns.values[column]) for column in _PACKED_FACETS.values())
        if int(np.prod(radix)) > _PACKED_MAX_BINS:
            return None
        key = (columns.generation, radix)
        if self._packed is None or self._packed[0] != key:
            packed = np.zeros(columns.n, dtype=np.int32)
            for column, size in zip(_PACKED_FACETS.values(), radix, strict=True):
                packed *= size
                packed += columns.column(column)
            self._packed = (key, packed)
        return radix, self._packed[1]

    def _tally_packed(self, selected: IntArray | None) -> dict[str, npt.NDArray[np.int64]]:
        """Raw counts of every packed facet over `selected` (None: every row), as `tally` gives them."""
        found = self._packed_codes()
        if found is None:
            return {}
        radix, packed = found
        values = packed if selected is None else packed[selected]
        grid = np.bincount(values, minlength=int(np.prod(radix))).reshape(radix)
        axes = range(len(radix))
        return {
            facet: grid.sum(axis=tuple(other for other in axes if other != axis))
            for axis, facet in enumerate(_PACKED_FACETS)
        }

    def tally(self, facet: str, selected: BoolArray | IntArray | None) -> npt.NDArray[np.int64]:
        """Raw counts over `selected` (None: every row), indexed by the facet's code, id + 1 or type bit."""
        if facet == "content_type":
            cmask = self.columns.column("cmask")
            if selected is not None:
                cmask = cmask[selected]
            if len(cmask) < 4096:
                return np.asarray(
                    [np.count_nonzero(cmask & (1 << i)) for i in range(len(CONTENT_TYPES))], dtype=np.int64
                )
            # One pass: how many rows have each mask, then each type's share of those.
            by_mask = np.bincount(cmask, minlength=1 << len(CONTENT_TYPES))
            bits = (np.arange(len(by_mask))[:, None] >> np.arange(len(CONTENT_TYPES))) & 1
            return np.asarray(by_mask @ bits, dtype=np.int64)
        name = _column_of(facet)
        column = self.columns.column(name)
        values = column if selected is None else column[selected]
        if facet in ("brand", "product"):
            return np.bincount(values + 1) if len(values) else np.zeros(1, dtype=np.int64)  # -1: none
        return np.bincount(values, minlength=len(self.columns.values[name]))

    def pairs(self, facet: str, counts: npt.NDArray[np.int64]) -> list[tuple[Any, int]]:
        """(value, count) of the tallied values present, most frequent first."""
        pairs: list[tuple[Any, int]]
        if facet == "content_type":
            pairs = [(t, int(n)) for t, n in zip(CONTENT_TYPES, counts.tolist(), strict=True)]
        elif facet in ("brand", "product"):
            pairs = [(int(v) - 1, int(counts[v])) for v in np.flatnonzero(counts) if v > 0]
        else:
            names = self.columns.values[_column_of(facet)]
            pairs = [(names[c], int(counts[c])) for c in np.flatnonzero(counts) if names[c] is not None]
        return sorted((p for p in pairs if p[1] > 0), key=lambda p: (-p[1], str(p[0])))
