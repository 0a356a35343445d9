"""The library's in-process index: embeddings and filter columns as numpy arrays.

Searching by meaning needs every candidate's embedding in memory anyway (a matrix
of L2-normalized rows: one matrix-vector product gives every cosine similarity), so
the same index also keeps the few columns the library filters and counts on
(state, brand, product, line, content types, platform, language, sentiment,
rights, date, score). Filters and multi-select facet counts then cost a handful of
vectorized operations over contiguous arrays instead of a GROUP BY per facet, which
is what keeps a filtered facet query fast on a million posts.

Meaning search on a large index reads an int8 copy of the embeddings (a quarter of
the bytes: the scan is bound by memory bandwidth). Each row keeps its scale and how
far its int8 codes are from the float32 row (an L2 norm), which bounds how far an
int8 similarity can be from the float32 one (Cauchy-Schwarz, for the row's and the
query's rounding; about 0.015 at worst for MiniLM rows, 0.002 seen in practice).
Rows that could still reach the requested page are computed again from the float32
embedding, so the page, its order and the similarities it shows are the float32
ones (`settle_top`). Which rows pass the similarity threshold (and so the total and
the facet counts) is decided by the int8 values, unless `exact_cutoff` asks for the
rows whose bound straddles the threshold to be computed again too. Without the
optional `simsimd` kernels, or with `quantized=False`, every scan is float32.

Freshness: the index follows the store, it never owns data. `refresh` reads what
changed since the previous refresh: items by `curation_item.updated_at` (a re-rank)
and posts by `post.updated_at` (a decision, by any process or writer). A row is
stamped when written but visible only once its transaction commits, so each
refresh looks `lookback_s` seconds before the previous one started (the longest a
write transaction may take, plus clock skew between hosts); rows already applied
with the same stamp are skipped, so the look-back costs an id query, not a reload,
and only for `lookback_s` after a burst of writes. A process refreshes at most
every `min_refresh_s` seconds, and at once after its own writes (`invalidate`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlmodel import Session

from tesoro.models import CONTENT_TYPES, content_mask
from tesoro.search.postings import TextIndex, TextMatches
from tesoro.store.library import (
    FACETS,
    IndexRow,
    LibraryFilters,
    changed_items,
    changed_posts,
    index_rows,
    item_count,
    product_lines,
)
from tesoro.text.search import SearchQuery

_simsimd: Any
try:  # SIMD int8 dot products (AVX-512 VNNI, AVX2, NEON); optional, float32 scan without it
    import simsimd as _simsimd
except ImportError:  # pragma: no cover - exercised where the wheel is missing
    _simsimd = None

__all__ = ["IndexStats", "LibraryIndex", "SimilarityScan", "int8_available"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CATEGORIES = ("platform", "language", "sentiment", "state", "rights", "line")
# Facets counted together from one packed code per row (one gather and one bincount for all).
_PACKED_FACETS = {
    "state": "state",
    "product_line": "line",
    "platform": "platform",
    "language": "language",
    "sentiment": "sentiment",
    "rights": "rights",
}
_PACKED_MAX_BINS = 1 << 20
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float32]

# A dense scan over this many rows or more is split across `scan_threads` threads.
_PARALLEL_SCAN_ROWS = 200_000
# Below this many rows a float32 scan is already fast; the int8 path starts here.
_INT8_MIN_ROWS = 50_000
# Added to every int8 bound: float32 rounding of the exact (reference) dot product.
_ROUNDING_SLACK = 1e-4


def int8_available() -> bool:
    """Whether this process has the int8 kernels (`simsimd`)."""
    return _simsimd is not None


def _quantize(
    rows: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], FloatArray, FloatArray, FloatArray]:
    """Per-row symmetric int8 codes: (codes, scale, |row - scale*codes|, |scale*codes|), norms in L2.

    The norms are computed in float32 and then rounded up (relative 1e-5, plus 1e-6) by
    far more than float32 rounding could have taken off them, so bounds built on them hold.
    """
    x = np.asarray(rows, dtype=np.float32)
    peak = np.abs(x).max(axis=1) if x.size else np.zeros(len(x), dtype=np.float32)
    scale = np.where(peak > 0, peak / np.float32(127.0), np.float32(1.0)).astype(np.float32)
    codes = np.rint(x / scale[:, None])
    np.clip(codes, -127, 127, out=codes)
    approx = codes * scale[:, None]
    error = np.linalg.norm(x - approx, axis=1) * np.float32(1 + 1e-5) + np.float32(1e-6)
    norm = np.linalg.norm(approx, axis=1) * np.float32(1 + 1e-5) + np.float32(1e-6)
    return codes.astype(np.int8), scale, error.astype(np.float32), norm.astype(np.float32)


def _int8_block(query: npt.NDArray[np.int8], codes: npt.NDArray[np.int8], out: npt.NDArray[np.int32]) -> None:
    # Exact int32 output (simsimd's stubs list only float output types).
    _simsimd.cdist(query[None, :], codes, metric="dot", out_dtype="int32", out=out[None, :])


def _int8_dots(
    codes: npt.NDArray[np.int8], query: npt.NDArray[np.int8], threads: int
) -> npt.NDArray[np.int32]:
    """Exact integer dot product of every code row with the query codes (int32, no overflow at 384-d)."""
    out = np.empty(len(codes), dtype=np.int32)
    _in_row_blocks(len(codes), threads, lambda a, b: _int8_block(query, codes[a:b], out[a:b]))
    return out


_SCAN_POOL: ThreadPoolExecutor | None = None
_SCAN_POOL_WORKERS = 0
_SCAN_POOL_LOCK = threading.Lock()


def _scan_pool(workers: int) -> ThreadPoolExecutor:
    """One small shared pool for all indexes (plain threads: idle ones block, they never spin)."""
    global _SCAN_POOL, _SCAN_POOL_WORKERS
    with _SCAN_POOL_LOCK:
        if _SCAN_POOL is None or workers > _SCAN_POOL_WORKERS:
            _SCAN_POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tesoro-index-scan")
            _SCAN_POOL_WORKERS = workers
        return _SCAN_POOL


def _in_row_blocks(n: int, threads: int, run: Callable[[int, int], object]) -> None:
    """Call `run(start, stop)` over `n` rows: once, or on `threads` contiguous blocks at once.

    For kernels that release the GIL (einsum, simsimd) on large scans; each block runs
    the same kernel on its rows, so results do not depend on `threads`.
    """
    if threads <= 1 or n < _PARALLEL_SCAN_ROWS:
        run(0, n)
        return
    bounds = np.linspace(0, n, threads + 1).astype(np.int64).tolist()
    blocks = list(pairwise(bounds))
    pool = _scan_pool(threads)
    futures = [pool.submit(run, a, b) for a, b in blocks[1:]]
    run(*blocks[0])
    for future in futures:
        future.result()


def _dot_rows(matrix: FloatArray, q: FloatArray, threads: int) -> FloatArray:
    """`matrix @ q` with einsum (same kernel and order per row whatever `threads`)."""
    out = np.empty(len(matrix), dtype=np.float32)
    _in_row_blocks(len(matrix), threads, lambda a, b: np.einsum("ij,j->i", matrix[a:b], q, out=out[a:b]))
    return out


def _kth_largest(values: npt.NDArray[Any], k: int) -> Any:
    """The `k`-th largest of `values` (1 <= k <= len), without partitioning them all when many.

    A strided sample gives a value that about 4k of them should exceed; if at least k
    do, only those are partitioned (a compare and a small partition instead of a
    partition of every value, ~2 ms at 300,000); otherwise, all of them are.
    """
    n = len(values)
    if n > 8 * k + 4096:
        sample = values[:: max(1, n // 4096)]
        m = min(len(sample), (4 * k * len(sample)) // n + 32)
        guess = np.partition(sample, len(sample) - m)[len(sample) - m]
        above = values[values >= guess]
        if len(above) >= k:
            return np.partition(above, len(above) - k)[len(above) - k]
    return np.partition(values, n - k)[n - k]


def _one_of(column: npt.NDArray[Any], values: Sequence[int]) -> BoolArray:
    """`column` equal to any of `values`: a few comparisons (np.isin is 30x slower for a handful)."""
    if not values:
        return np.zeros(len(column), dtype=np.bool_)
    if len(values) > 16:
        return np.isin(column, np.asarray(values, dtype=column.dtype))
    out: BoolArray = column == values[0]
    for value in values[1:]:
        out |= column == value
    return out


@dataclass(slots=True)
class SimilarityScan:
    """Per-row similarities of one query: exact, or int8 values with a bound on their error.

    `values[r]` is within `bound_at(r)` of the float32 cosine similarity (exact
    where the scan is float32 or row r was settled); -inf for rows not scanned.
    `LibraryIndex.settle` makes rows exact in place. The bound is worked out only
    for the rows that need it: `code_norm * query_error + code_error + slack`.
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

    def bound_at(self, rows: npt.NDArray[np.int64]) -> FloatArray:
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


@dataclass(frozen=True, slots=True)
class IndexStats:
    rows: int
    with_embedding: int
    bytes: int
    build_seconds: float


class LibraryIndex:
    """Every ranked post's embedding and filter columns; thread-safe, refreshed incrementally."""

    def __init__(
        self,
        *,
        dim: int = 384,
        lookback_s: float = 30.0,
        min_refresh_s: float = 1.0,
        scan_threads: int | None = None,
        quantized: bool = True,
    ) -> None:
        self.dim = dim
        # Keep an int8 copy of the embeddings for meaning search (exact results, see the module doc).
        self.quantized = quantized and _simsimd is not None
        # Threads for a dense similarity scan of a large index (default: up to 2, the cores it is sized for).
        self.scan_threads = max(1, min(2, os.cpu_count() or 1) if scan_threads is None else scan_threads)
        self.lookback = timedelta(seconds=lookback_s)
        self.min_refresh_s = min_refresh_s
        self._lock = threading.RLock()
        self._n = 0
        self._cap = 0
        self._arrays: dict[str, npt.NDArray[Any]] = {}
        self._row_of = np.full(0, -1, dtype=np.int64)
        self._codes: dict[str, dict[str | None, int]] = {name: {None: 0} for name in _CATEGORIES}
        self._values: dict[str, list[str | None]] = {name: [None] for name in _CATEGORIES}
        self._line_of_product: dict[int, str | None] = {}
        self._item_mark = _EPOCH
        self._post_mark = _EPOCH
        self._built = False
        self._stale = True
        self._last_refresh = float("-inf")
        self.build_seconds = 0.0
        # Bumped after every change to the index's rows; caches of search results key on it.
        self._generation = 0
        # Every row's search document, for full-text matching and BM25 (see `curator.postings`).
        self._text = TextIndex()
        # The packed facet code of every row, rebuilt on the first count after a change.
        self._packed: tuple[tuple[int, tuple[int, ...]], npt.NDArray[np.int32]] | None = None
        self._grow(1024)

    # ------------------------------------------------------------------ storage

    _SPEC: tuple[tuple[str, Any, Any], ...] = (
        ("post_id", np.int64, -1),
        ("brand", np.int64, -1),
        ("scored_product", np.int64, -1),
        ("assigned_product", np.int64, -1),
        ("product", np.int64, -1),
        ("platform", np.int16, 0),
        ("language", np.int16, 0),
        ("sentiment", np.int16, 0),
        ("state", np.int16, 0),
        ("rights", np.int16, 0),
        ("line", np.int16, 0),
        ("cmask", np.int64, 0),
        ("created", np.float64, 0.0),
        ("score", np.float32, 0.0),
        ("filtered", np.bool_, False),
        ("duplicate", np.bool_, False),
        ("item_seen", np.float64, 0.0),
        ("post_seen", np.float64, 0.0),
        ("has_embedding", np.bool_, False),
    )

    def _grow(self, capacity: int) -> None:
        for name, dtype, fill in self._SPEC:
            grown = np.full(capacity, fill, dtype=dtype)
            if name in self._arrays:
                grown[: self._n] = self._arrays[name][: self._n]
            self._arrays[name] = grown
        embeddings = np.zeros((capacity, self.dim), dtype=np.float32)
        if "embedding" in self._arrays:
            embeddings[: self._n] = self._arrays["embedding"][: self._n]
        self._arrays["embedding"] = embeddings
        if self.quantized:
            codes = np.zeros((capacity, self.dim), dtype=np.int8)
            if "codes" in self._arrays:
                codes[: self._n] = self._arrays["codes"][: self._n]
            self._arrays["codes"] = codes
            for name in ("code_scale", "code_error", "code_norm"):
                grown = np.zeros(capacity, dtype=np.float32)
                if name in self._arrays:
                    grown[: self._n] = self._arrays[name][: self._n]
                self._arrays[name] = grown
        self._cap = capacity

    def _code(self, category: str, value: str | None) -> int:
        codes = self._codes[category]
        code = codes.get(value)
        if code is None:
            code = len(self._values[category])
            codes[value] = code
            self._values[category].append(value)
        return code

    def _rows_for(self, post_ids: Sequence[int]) -> npt.NDArray[np.int64]:
        """Positions of the posts (appending rows for unknown ones)."""
        ids = np.asarray(post_ids, dtype=np.int64)
        if len(ids) and int(ids.max()) >= len(self._row_of):
            size = max(int(ids.max()) + 1, 2 * len(self._row_of))
            grown = np.full(size, -1, dtype=np.int64)
            grown[: len(self._row_of)] = self._row_of
            self._row_of = grown
        rows = self._row_of[ids] if len(ids) else np.zeros(0, dtype=np.int64)
        missing = np.flatnonzero(rows < 0)
        if len(missing):
            needed = self._n + len(missing)
            if needed > self._cap:
                self._grow(max(needed, 2 * self._cap))
            fresh = np.arange(self._n, needed, dtype=np.int64)
            rows[missing] = fresh
            self._row_of[ids[missing]] = fresh
            self._n = needed
        return rows

    def _apply_rows(self, rows: Sequence[IndexRow]) -> None:
        if not rows:
            return
        a = self._arrays
        at = self._rows_for([r.post_id for r in rows])
        a["post_id"][at] = [r.post_id for r in rows]
        a["brand"][at] = [-1 if r.brand_id is None else r.brand_id for r in rows]
        a["scored_product"][at] = [-1 if r.scored_product_id is None else r.scored_product_id for r in rows]
        a["assigned_product"][at] = [-1 if r.product_id is None else r.product_id for r in rows]
        a["platform"][at] = [self._code("platform", r.platform) for r in rows]
        a["language"][at] = [self._code("language", r.language) for r in rows]
        a["sentiment"][at] = [self._code("sentiment", r.sentiment) for r in rows]
        a["state"][at] = [self._code("state", r.queue_state) for r in rows]
        a["rights"][at] = [self._code("rights", r.rights_status) for r in rows]
        a["cmask"][at] = [r.content_mask for r in rows]
        a["created"][at] = [r.created_at.timestamp() for r in rows]
        a["score"][at] = [r.score for r in rows]
        a["filtered"][at] = [r.filtered for r in rows]
        a["duplicate"][at] = [r.duplicate for r in rows]
        a["item_seen"][at] = [r.item_updated_at.timestamp() if r.item_updated_at else 0.0 for r in rows]
        a["post_seen"][at] = [r.post_updated_at.timestamp() if r.post_updated_at else 0.0 for r in rows]
        width = self.dim * 4
        has = np.asarray([bool(r.embedding) and len(r.embedding or b"") == width for r in rows])
        a["has_embedding"][at] = has
        if has.any():
            blob = b"".join(r.embedding or b"" for r, h in zip(rows, has, strict=True) if h)
            a["embedding"][at[has]] = np.frombuffer(blob, dtype=np.float32).reshape(-1, self.dim)
        a["embedding"][at[~has]] = 0.0
        if self.quantized:
            codes, scale, error, norm = _quantize(a["embedding"][at])
            a["codes"][at], a["code_scale"][at], a["code_error"][at], a["code_norm"][at] = (
                codes,
                scale,
                error,
                norm,
            )
        self._text.set_docs(at, [r.doc for r in rows])
        self._update_products(at)
        self._generation += 1

    def _update_products(self, at: npt.NDArray[np.int64] | slice) -> None:
        a = self._arrays
        assigned, scored = a["assigned_product"][at], a["scored_product"][at]
        product = np.where(assigned >= 0, assigned, scored)
        a["product"][at] = product
        lines = np.zeros(len(product), dtype=np.int16)
        if self._line_of_product:
            lut = np.zeros(max(self._line_of_product) + 1, dtype=np.int16)
            for pid, line in self._line_of_product.items():
                lut[pid] = self._code("line", line)
            known = (product >= 0) & (product < len(lut))
            lines[known] = lut[product[known]]
        a["line"][at] = lines

    def add_rows(self, rows: Sequence[IndexRow]) -> None:
        """Apply rows directly (a benchmark's synthetic library; the store path is `refresh`)."""
        with self._lock:
            self._apply_rows(rows)

    # ------------------------------------------------------------------ refresh

    def invalidate(self) -> None:
        """Make the next search refresh first (call after this process wrote decisions)."""
        self._stale = True

    def hold(self) -> AbstractContextManager[bool]:
        """Keep the rows as they are (no refresh, no new rows) while the caller computes over them."""
        return self._lock

    def generation(self) -> int:
        """The rows' change counter: the same counter, the same rows (and the same answers)."""
        with self._lock:
            return self._generation

    def refresh(self, session: Session, *, force: bool = False) -> int:
        """Bring the index up to date with the store; returns how many rows changed."""
        with self._lock:
            if not self._built:
                return self._build(session)
            if not (force or self._stale or time.monotonic() - self._last_refresh >= self.min_refresh_s):
                return 0
            started = datetime.now(UTC)
            changed = self._refresh_lines(session)
            changed += self._refresh_items(session)
            changed += self._refresh_posts(session)
            # Everything stamped before (this refresh - lookback) is now visible and applied.
            self._item_mark = self._post_mark = started
            self._stale = False
            self._last_refresh = time.monotonic()
            return changed

    def _build(self, session: Session) -> int:
        started_wall = datetime.now(UTC)
        started = time.perf_counter()
        self._line_of_product = product_lines(session)
        expected = item_count(session)
        if expected > self._cap:  # one allocation instead of a doubling per page
            self._grow(expected + 1024)
        after = 0
        while True:
            rows = index_rows(session, after_id=after, limit=20000)
            if not rows:
                break
            self._apply_rows(rows)
            after = rows[-1].post_id
        self._text.rebuild()
        # Writes that landed while the build paged through are newer than its start.
        self._item_mark = self._post_mark = started_wall
        self._built = True
        self._stale = False
        self._last_refresh = time.monotonic()
        self.build_seconds = time.perf_counter() - started
        return self._n

    def _refresh_lines(self, session: Session) -> int:
        lines = product_lines(session)
        if lines == self._line_of_product:
            return 0
        self._line_of_product = lines
        self._update_products(slice(0, self._n))
        self._generation += 1
        return self._n

    def _refresh_items(self, session: Session) -> int:
        changes = changed_items(session, since=self._item_mark - self.lookback)
        if not changes:
            return 0
        seen = self._arrays["item_seen"]
        wanted = []
        for post_id, at in changes:
            row = self._row_of[post_id] if post_id < len(self._row_of) else -1
            if row < 0 or seen[row] != at.timestamp():
                wanted.append(post_id)
        for start in range(0, len(wanted), 2000):
            self._apply_rows(index_rows(session, post_ids=wanted[start : start + 2000]))
        return len(wanted)

    def _refresh_posts(self, session: Session) -> int:
        changes = changed_posts(session, since=self._post_mark - self.lookback)
        if not changes:
            return 0
        a = self._arrays
        applied = 0
        touched: list[int] = []
        for c in changes:
            row = int(self._row_of[c.post_id]) if c.post_id < len(self._row_of) else -1
            if row < 0 or a["post_seen"][row] == c.updated_at.timestamp():
                continue
            a["state"][row] = self._code("state", c.queue_state)
            a["rights"][row] = self._code("rights", c.rights_status)
            a["assigned_product"][row] = -1 if c.product_id is None else c.product_id
            a["post_seen"][row] = c.updated_at.timestamp()
            touched.append(row)
            applied += 1
        if touched:
            self._update_products(np.asarray(touched, dtype=np.int64))
            self._generation += 1
        return applied

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return self._n

    def stats(self) -> IndexStats:
        with self._lock:
            size = sum(int(arr[: self._n].nbytes) for arr in self._arrays.values()) + int(self._row_of.nbytes)
            size += self._text.nbytes
            return IndexStats(
                self._n, int(self._arrays["has_embedding"][: self._n].sum()), size, self.build_seconds
            )

    def _in(self, name: str, values: Iterable[str | None]) -> BoolArray:
        codes = [self._codes[name][v] for v in values if v in self._codes[name]]
        return _one_of(self._arrays[name][: self._n], codes)

    def _ids_in(self, name: str, values: Sequence[int]) -> BoolArray:
        return _one_of(self._arrays[name][: self._n], list(values))

    def _filter_masks(self, filters: LibraryFilters) -> dict[str, BoolArray]:
        """One mask per active filter, keyed by facet name (plus 'date', which has no facet)."""
        masks: dict[str, BoolArray] = {}
        if filters.states:
            masks["state"] = self._in("state", filters.states)
        if filters.brand_ids:
            masks["brand"] = self._ids_in("brand", filters.brand_ids)
        if filters.product_ids:
            masks["product"] = self._ids_in("product", filters.product_ids)
        if filters.product_lines:
            masks["product_line"] = self._in("line", filters.product_lines)
        if filters.content_types:
            bits = content_mask(filters.content_types)
            masks["content_type"] = (self._arrays["cmask"][: self._n] & bits) != 0
        if filters.platforms:
            masks["platform"] = self._in("platform", filters.platforms)
        if filters.languages:
            masks["language"] = self._in("language", filters.languages)
        if filters.sentiments:
            masks["sentiment"] = self._in("sentiment", filters.sentiments)
        if filters.rights:
            masks["rights"] = self._in("rights", filters.rights)
        if filters.date_from is not None or filters.date_to is not None:
            created = self._arrays["created"][: self._n]
            date = np.ones(self._n, dtype=np.bool_)
            if filters.date_from is not None:
                date &= created >= filters.date_from.timestamp()
            if filters.date_to is not None:
                date &= created < filters.date_to.timestamp()
            masks["date"] = date
        return masks

    def _all(self, masks: Iterable[BoolArray], extra: BoolArray | None) -> BoolArray:
        out = np.ones(self._n, dtype=np.bool_) if extra is None else extra.copy()
        for m in masks:
            out &= m
        return out

    def mask(self, filters: LibraryFilters, extra: BoolArray | None = None) -> BoolArray:
        """Rows matching every filter (and `extra`, e.g. the text matches)."""
        with self._lock:
            return self._all(self._filter_masks(filters).values(), extra)

    def mask_of(self, post_ids: Sequence[int]) -> BoolArray:
        """Rows of the given posts (ids the index does not hold are ignored)."""
        with self._lock:
            out = np.zeros(self._n, dtype=np.bool_)
            ids = np.asarray([p for p in post_ids if 0 <= p < len(self._row_of)], dtype=np.int64)
            rows = self._row_of[ids] if len(ids) else ids
            out[rows[rows >= 0]] = True
            return out

    def rows_of(self, post_ids: Sequence[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Each post's row in the index, -1 for posts it does not hold."""
        with self._lock:
            ids = np.asarray(post_ids, dtype=np.int64)
            out = np.full(len(ids), -1, dtype=np.int64)
            inside = (ids >= 0) & (ids < len(self._row_of))
            out[inside] = self._row_of[ids[inside]]
            out[out >= self._n] = -1
            return out

    def rows_mask(self, rows: npt.NDArray[np.int64]) -> BoolArray:
        """A row mask with the given rows (negative ones ignored) set."""
        with self._lock:
            out = np.zeros(self._n, dtype=np.bool_)
            out[rows[(rows >= 0) & (rows < self._n)]] = True
            return out

    def text_match(self, query: SearchQuery) -> TextMatches:
        """The rows whose search document matches the query, with what ranking them needs."""
        with self._lock:
            return self._text.match(query)

    def text_relevance(self, matches: TextMatches, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """BM25 of the given rows (positions) for a matched query."""
        return TextIndex.scores(matches, rows)

    def post_ids_at(self, selected: BoolArray | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The post ids of the selected rows (a row mask, or row positions), in row order."""
        with self._lock:
            ids: npt.NDArray[np.int64] = self._arrays["post_id"][: self._n][selected]
            return ids

    def gather(self, post_ids: Sequence[int], per_row: npt.NDArray[Any]) -> list[float | None]:
        """The per-row array's values at the posts (None for posts the index does not hold)."""
        rows = self.rows_of(post_ids)
        known = (rows >= 0) & (rows < len(per_row))
        values = np.full(len(rows), np.nan, dtype=np.float64)
        values[known] = per_row[rows[known]]
        return [float(v) if np.isfinite(v) else None for v in values.tolist()]

    def facets(
        self, filters: LibraryFilters, extra: BoolArray | None = None
    ) -> dict[str, list[tuple[Any, int]]]:
        """Multi-select facet counts: each facet under every filter but its own."""
        return self.facets_and_rows(filters, extra)[0]

    def facets_and_rows(
        self, filters: LibraryFilters, extra: BoolArray | None = None, *, with_facets: bool = True
    ) -> tuple[dict[str, list[tuple[Any, int]]], npt.NDArray[np.int64]]:
        """The facet counts (empty without `with_facets`) and the rows passing every filter and `extra`.

        One pass over the filters for both: each row gets a code with bit k set when it
        fails filter k. Only rows failing at most one filter count in any facet: those
        failing none count everywhere, one failing only filter k counts in k's own
        facet alone (multi-select), and the rows failing none are also the selection.
        """
        with self._lock:
            masks = self._filter_masks(filters)
            code = np.zeros(self._n, dtype=np.uint16)
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
            everything = len(rows) == self._n  # no gather needed
            bits = {name: 1 << i for i, name in enumerate(masks)}
            out: dict[str, list[tuple[Any, int]]] = {}
            packed = self._tally_packed(None if everything else rows)
            for facet in FACETS:
                counts = (
                    packed[facet] if facet in packed else self._tally(facet, None if everything else rows)
                )
                own = bits.get(facet)
                only = base[codes == own] if own is not None else base[:0]
                if len(only):
                    more = self._tally(facet, only)
                    if len(more) > len(counts):
                        counts, more = more, counts
                    counts = counts.copy()
                    counts[: len(more)] += more
                out[facet] = self._pairs(facet, counts)
            return out, rows

    def _packed_codes(self) -> tuple[tuple[int, ...], npt.NDArray[np.int32]] | None:
        """Each row's categorical facet codes packed into one number (mixed radix), or None if too many."""
        radix = tuple(len(self._values[column]) for column in _PACKED_FACETS.values())
        if int(np.prod(radix)) > _PACKED_MAX_BINS:
            return None
        key = (self._generation, radix)
        if self._packed is None or self._packed[0] != key:
            packed = np.zeros(self._n, dtype=np.int32)
            for column, size in zip(_PACKED_FACETS.values(), radix, strict=True):
                packed *= size
                packed += self._arrays[column][: self._n]
            self._packed = (key, packed)
        return radix, self._packed[1]

    def _tally_packed(self, selected: npt.NDArray[np.int64] | None) -> dict[str, npt.NDArray[np.int64]]:
        """Raw counts of every packed facet over `selected` (None: every row), as `_tally` gives them."""
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

    def _count(self, facet: str, selected: BoolArray | npt.NDArray[np.int64]) -> list[tuple[Any, int]]:
        """Counts of the facet's values over `selected` (a row mask, or row positions)."""
        return self._pairs(facet, self._tally(facet, selected))

    def _tally(self, facet: str, selected: BoolArray | npt.NDArray[np.int64] | None) -> npt.NDArray[np.int64]:
        """Raw counts over `selected` (None: every row), indexed by the facet's code, id + 1 or type bit."""
        a = self._arrays
        if facet == "content_type":
            cmask = a["cmask"][: self._n]
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
        name = {"product_line": "line"}.get(facet, facet)
        column = a[name][: self._n]
        values = column if selected is None else column[selected]
        if facet in ("brand", "product"):
            return np.bincount(values + 1) if len(values) else np.zeros(1, dtype=np.int64)  # -1: none
        return np.bincount(values, minlength=len(self._values[name]))

    def _pairs(self, facet: str, counts: npt.NDArray[np.int64]) -> list[tuple[Any, int]]:
        """(value, count) of the tallied values present, most frequent first."""
        pairs: list[tuple[Any, int]]
        if facet == "content_type":
            pairs = [(t, int(n)) for t, n in zip(CONTENT_TYPES, counts.tolist(), strict=True)]
        elif facet in ("brand", "product"):
            pairs = [(int(v) - 1, int(counts[v])) for v in np.flatnonzero(counts) if v > 0]
        else:
            names = self._values[{"product_line": "line"}.get(facet, facet)]
            pairs = [(names[c], int(counts[c])) for c in np.flatnonzero(counts) if names[c] is not None]
        return sorted((p for p in pairs if p[1] > 0), key=lambda p: (-p[1], str(p[0])))

    def similarities(self, vector: npt.NDArray[np.float32], selected: BoolArray) -> FloatArray:
        """Cosine similarity of `vector` to each selected row's embedding (-inf elsewhere)."""
        with self._lock:
            usable = selected & self._arrays["has_embedding"][: self._n]
            count = int(np.count_nonzero(usable))
            if not count:
                return np.full(self._n, -np.inf, dtype=np.float32)
            q = np.asarray(vector, dtype=np.float32).reshape(-1)
            norm = float(np.linalg.norm(q))
            if norm > 0:
                q = q / norm
            matrix = self._arrays["embedding"]
            # einsum, not BLAS: a matrix-vector product is memory-bound, and BLAS threads
            # fighting the web server's threads for the cores made it 20x slower under load
            # (they spin-wait). A large dense scan is split over `scan_threads` plain threads
            # instead: same CPU time, about half the latency on an idle machine.
            if count > self._n // 4:
                # Dense: one pass over every row, then mask (no index arrays, no gather/scatter).
                out_all = _dot_rows(matrix[: self._n], q, self.scan_threads)
                if count < self._n:
                    np.copyto(out_all, np.float32(-np.inf), where=~usable)
                return out_all
            out = np.full(self._n, -np.inf, dtype=np.float32)
            rows = np.flatnonzero(usable)
            out[rows] = np.einsum("ij,j->i", matrix[rows], q)
            return out

    def scan(
        self,
        vector: npt.NDArray[np.float32],
        selected: BoolArray,
        *,
        threshold: float,
        exact_cutoff: bool = False,
    ) -> SimilarityScan:
        """Similarities of `vector` to the selected rows (see `SimilarityScan`).

        On a large, densely selected index this reads the int8 codes, and values may
        be off by up to `bound` (see `settle_top` before ordering by them). With
        `exact_cutoff`, rows whose bound straddles `threshold` are computed again in
        float32, so `values >= threshold` is exactly the float32 answer.
        """
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(q))
        if norm > 0:
            q = q / norm
        with self._lock:
            usable = selected & self._arrays["has_embedding"][: self._n]
            count = int(np.count_nonzero(usable))
            if not (self.quantized and self._n >= _INT8_MIN_ROWS and count > self._n // 4):
                return SimilarityScan(self.similarities(q, selected), q)
            a = self._arrays
            q_peak = float(np.abs(q).max())
            q_scale = q_peak / 127.0 if q_peak > 0 else 1.0
            q_codes = np.clip(np.rint(q.astype(np.float64) / q_scale), -127, 127)
            q_error = float(np.linalg.norm(q.astype(np.float64) - q_codes * q_scale)) * (1 + 1e-6)
            dots = _int8_dots(a["codes"][: self._n], q_codes.astype(np.int8), self.scan_threads)
            values = np.multiply(dots, a["code_scale"][: self._n], dtype=np.float32)
            values *= np.float32(q_scale)
            if count < self._n:
                np.copyto(values, np.float32(-np.inf), where=~usable)
            # |q.x - q'.x'| <= |q| |x - x'| + |q - q'| |x'|, with |q| = 1.
            result = SimilarityScan(
                values,
                q,
                query_error=q_error,
                code_error=a["code_error"][: self._n],
                code_norm=a["code_norm"][: self._n],
                settled=np.zeros(self._n, dtype=np.bool_),
            )
            if exact_cutoff:
                near = np.abs(values - np.float32(threshold))
                near -= a["code_error"][: self._n]
                rows = np.flatnonzero(
                    near <= a["code_norm"][: self._n] * np.float32(q_error) + _ROUNDING_SLACK
                )
                self._settle(result, rows)
            return result

    def _settle(self, scan: SimilarityScan, rows: npt.NDArray[np.int64]) -> None:
        if scan.settled is None or not len(rows):
            return
        rows = rows[~scan.settled[rows] & np.isfinite(scan.values[rows])]
        if not len(rows):
            return
        scan.values[rows] = np.einsum("ij,j->i", self._arrays["embedding"][rows], scan.query)
        scan.settled[rows] = True

    def settle(self, scan: SimilarityScan, rows: npt.NDArray[np.int64]) -> None:
        """Make the scan's values at `rows` (positions) exact."""
        with self._lock:
            self._settle(scan, np.asarray(rows, dtype=np.int64))

    def settle_top(
        self, scan: SimilarityScan, selected: BoolArray | npt.NDArray[np.int64], want: int
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
        with self._lock:
            rows = np.flatnonzero(selected) if selected.dtype == np.bool_ else np.asarray(selected, np.int64)
            if len(rows) > want and scan.code_error is not None and scan.code_norm is not None:
                # No bound exceeds `widest`: a row more than twice that below the `want`-th
                # largest value cannot make the top, and is dropped before any bound is worked out.
                widest = float(scan.code_error.max()) + scan.query_error * float(scan.code_norm.max())
                values = scan.values[rows]
                top = _kth_largest(values, want)
                near = values >= top - np.float32(2 * (widest + _ROUNDING_SLACK))
                rows, values = rows[near], values[near]
                if len(rows) > want:
                    first = rows[np.argpartition(values, len(rows) - want)[len(rows) - want :]]
                    self._settle(scan, first)
                    floor = scan.values[first].min()
                    rows = rows[scan.values[rows] + scan.bound_at(rows) >= floor]
            self._settle(scan, rows)

    def page(
        self,
        selected: BoolArray | npt.NDArray[np.int64],
        *,
        key: str | FloatArray,
        limit: int,
        offset: int,
    ) -> tuple[int, list[int], list[float]]:
        """(total, post ids, key values) of one page of the selected rows, best first.

        `selected` is a row mask or row positions (each once). `key` is 'score',
        'created' or an array of per-row values (relevance, similarity). Ties go to
        the higher post id, so paging is stable.
        """
        with self._lock:
            rows = np.flatnonzero(selected) if selected.dtype == np.bool_ else selected
            total = len(rows)
            if not total or offset >= total:
                return total, [], []
            column = self._arrays[key][: self._n] if isinstance(key, str) else key
            values = column[rows]
            want = min(offset + limit, total)
            if total > 4 * want + 1000:
                # Keep the top `want` (and every tie at the boundary) before the exact sort.
                cut = _kth_largest(values, want)
                keep = np.flatnonzero(values >= cut)
                rows, values = rows[keep], values[keep]
            ids = self._arrays["post_id"][rows]
            order = np.lexsort((-ids, -values))[offset:want]
            return total, [int(i) for i in ids[order]], [float(v) for v in values[order]]
