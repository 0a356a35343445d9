"""Meaning search over the index's embeddings: cosine similarities, int8 scans and exact settling.

Every row's embedding is L2-normalized, so one matrix-vector product gives every
cosine similarity. On a large index the scan reads an int8 copy of the embeddings
instead (a quarter of the bytes: the scan is bound by memory bandwidth). Each row
keeps its scale and how far its int8 codes are from the float32 row (an L2 norm),
which bounds how far an int8 similarity can be from the float32 one
(Cauchy-Schwarz, for the row's and the query's rounding; about 0.015 at worst for
MiniLM rows, 0.002 seen in practice). Rows that could still reach the requested page
are computed again from the float32 embedding (`settle_top`), so a page, its order
and the similarities it shows are the float32 ones. Which rows pass the similarity
threshold (and so the total and the facet counts) is decided by the int8 values,
unless `exact_cutoff` asks for the rows whose bound straddles the threshold to be
computed again too.

The functions here read `IndexColumns` without locking: `LibraryIndex` calls them
under its lock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tesoro.search.columns import IndexColumns
from tesoro.search.kernels import BoolArray, FloatArray, IntArray, dot_rows, int8_dots, kth_largest

__all__ = ["INT8_MIN_ROWS", "SimilarityScan", "scan", "settle", "settle_top", "similarities"]

# Below this many rows a float32 scan is already fast; the int8 path starts here.
INT8_MIN_ROWS = 50_000
# Added to every int8 bound: float32 rounding of the exact (reference) dot product.
_ROUNDING_SLACK = 1e-4


@dataclass(slots=True)
class SimilarityScan:
    """Per-row similarities of one query: exact, or int8 values with a bound on their error.

    `values[r]` is within `bound_at(r)` of the float32 cosine similarity (exact
    where the scan is float32 or row r was settled); -inf for rows not scanned.
    `settle` makes rows exact in place. The bound is worked out only for the rows
    that need it: `code_norm * query_error + code_error + slack`.
    """

    values: FloatArray
    query: FloatArray
    query_error: float = 0.0
    code_error: FloatArray | None = None  # None: every value is exact
    code_norm: FloatArray | None = None
    settled: BoolArray | None = None

    @property
    def approximate(self) -> bool:
        return self.code_error is not None

    def bound_at(self, rows: IntArray) -> FloatArray:
        """How far the values at `rows` may be from float32 (0 where exact)."""
        if self.code_error is None or self.code_norm is None or self.settled is None:
            return np.zeros(len(rows), dtype=np.float32)
        bound = self.code_norm[rows] * np.float32(self.query_error)
        bound += self.code_error[rows]
        bound += np.float32(_ROUNDING_SLACK)
        bound[self.settled[rows] | ~np.isfinite(self.values[rows])] = 0.0
        return bound

    @property
    def bound(self) -> FloatArray:
        """`bound_at` every row."""
        return self.bound_at(np.arange(len(self.values)))


def _unit(vector: npt.NDArray[np.float32]) -> FloatArray:
    """The vector as a flat float32 row scaled to length 1 (unchanged when zero)."""
    q = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(q))
    if norm > 0:
        q = q / norm
    return q


def similarities(
    columns: IndexColumns, vector: npt.NDArray[np.float32], selected: BoolArray, *, threads: int
) -> FloatArray:
    """Cosine similarity of `vector` to each selected row's embedding (-inf elsewhere), in float32."""
    n = columns.n
    usable = selected & columns.column("has_embedding")
    count = int(np.count_nonzero(usable))
    if not count:
        return np.full(n, -np.inf, dtype=np.float32)
    q = _unit(vector)
    matrix = columns.arrays["embedding"]
    # einsum, not BLAS: a matrix-vector product is memory-bound, and BLAS threads
    # fighting the web server's threads for the cores made it 20x slower under load
    # (they spin-wait). A large dense scan is split over `threads` plain threads
    # instead: same CPU time, about half the latency on an idle machine.
    if count > n // 4:
        # Dense: one pass over every row, then mask (no index arrays, no gather/scatter).
        out_all = dot_rows(matrix[:n], q, threads)
        if count < n:
            np.copyto(out_all, np.float32(-np.inf), where=~usable)
        return out_all
    out = np.full(n, -np.inf, dtype=np.float32)
    rows = np.flatnonzero(usable)
    out[rows] = np.einsum("ij,j->i", matrix[rows], q)
    return out


def scan(
    columns: IndexColumns,
    vector: npt.NDArray[np.float32],
    selected: BoolArray,
    *,
    threshold: float,
    exact_cutoff: bool,
    threads: int,
) -> SimilarityScan:
    """Similarities of `vector` to the selected rows (see `SimilarityScan`).

    On a large, densely selected index with int8 codes this reads the codes, and
    values may be off by up to `bound` (see `settle_top` before ordering by them).
    With `exact_cutoff`, rows whose bound straddles `threshold` are computed again in
    float32, so `values >= threshold` is exactly the float32 answer.
    """
    q = _unit(vector)
    n = columns.n
    usable = selected & columns.column("has_embedding")
    count = int(np.count_nonzero(usable))
    if not (columns.quantized and n >= INT8_MIN_ROWS and count > n // 4):
        return SimilarityScan(similarities(columns, q, selected, threads=threads), q)
    q_peak = float(np.abs(q).max())
    q_scale = q_peak / 127.0 if q_peak > 0 else 1.0
    q_codes = np.clip(np.rint(q.astype(np.float64) / q_scale), -127, 127)
    q_error = float(np.linalg.norm(q.astype(np.float64) - q_codes * q_scale)) * (1 + 1e-6)
    dots = int8_dots(columns.column("codes"), q_codes.astype(np.int8), threads)
    values = np.multiply(dots, columns.column("code_scale"), dtype=np.float32)
    values *= np.float32(q_scale)
    if count < n:
        np.copyto(values, np.float32(-np.inf), where=~usable)
    # |q.x - q'.x'| <= |q| |x - x'| + |q - q'| |x'|, with |q| = 1.
    code_error, code_norm = columns.column("code_error"), columns.column("code_norm")
    result = SimilarityScan(
        values,
        q,
        query_error=q_error,
        code_error=code_error,
        code_norm=code_norm,
        settled=np.zeros(n, dtype=np.bool_),
    )
    if exact_cutoff:
        near = np.abs(values - np.float32(threshold))
        near -= code_error
        settle(columns, result, np.flatnonzero(near <= code_norm * np.float32(q_error) + _ROUNDING_SLACK))
    return result


def settle(columns: IndexColumns, scan: SimilarityScan, rows: IntArray) -> None:
    """Make the scan's values at `rows` (positions) exact float32 similarities."""
    if scan.settled is None or not len(rows):
        return
    rows = rows[~scan.settled[rows] & np.isfinite(scan.values[rows])]
    if not len(rows):
        return
    scan.values[rows] = np.einsum("ij,j->i", columns.arrays["embedding"][rows], scan.query)
    scan.settled[rows] = True


def settle_top(
    columns: IndexColumns, scan: SimilarityScan, selected: BoolArray | IntArray, want: int
) -> None:
    """Make exact every selected row that could be among the `want` most similar.

    First the `want` rows with the best int8 values are made exact: the lowest of
    their exact values is a floor under the real `want`-th best. A row whose upper
    bound is below that floor cannot make the top; every other one is computed
    exactly too, and ordering by `scan.values` then gives the float32 order.
    (A floor from exact values sits about one bound higher than one from lower
    bounds would, which halves the rows recomputed when many crowd the top.)
    """
    if not scan.approximate or want <= 0:
        return
    rows = np.flatnonzero(selected) if selected.dtype == np.bool_ else np.asarray(selected, np.int64)
    if len(rows) > want and scan.code_error is not None and scan.code_norm is not None:
        # No bound exceeds `widest`: a row more than twice that below the `want`-th
        # largest value cannot make the top, and is dropped before any bound is worked out.
        widest = float(scan.code_error.max()) + scan.query_error * float(scan.code_norm.max())
        values = scan.values[rows]
        top = kth_largest(values, want)
        near = values >= top - np.float32(2 * (widest + _ROUNDING_SLACK))
        rows, values = rows[near], values[near]
        if len(rows) > want:
            first = rows[np.argpartition(values, len(rows) - want)[len(rows) - want :]]
            settle(columns, scan, first)
            floor = scan.values[first].min()
            rows = rows[scan.values[rows] + scan.bound_at(rows) >= floor]
    settle(columns, scan, rows)
