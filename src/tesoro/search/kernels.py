"""The vectorized kernels under the library index: int8 codes, row scans, top-k and membership.

They are plain functions over numpy arrays, with no knowledge of posts or filters, so
the index modules above them (`columns`, `facets`, `meaning`) read as what they
compute, and each kernel's speed trick is explained once, here.

Scans of a large index are split over a few plain threads (`in_row_blocks`): the
kernels used (einsum, simsimd) release the GIL, and each block runs the same kernel on
its rows, so a result never depends on how many threads computed it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

_simsimd: Any
try:  # SIMD int8 dot products (AVX-512 VNNI, AVX2, NEON); optional, float32 scan without it
    import simsimd as _simsimd
except ImportError:  # pragma: no cover - exercised where the wheel is missing
    _simsimd = None

__all__ = [
    "PARALLEL_SCAN_ROWS",
    "BoolArray",
    "FloatArray",
    "IntArray",
    "dot_rows",
    "in_row_blocks",
    "int8_available",
    "int8_dots",
    "kth_largest",
    "one_of",
    "quantize",
]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

# A dense scan over this many rows or more is split across the caller's threads.
PARALLEL_SCAN_ROWS = 200_000


def int8_available() -> bool:
    """Whether this process has the int8 kernels (`simsimd`)."""
    return _simsimd is not None


def quantize(
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


def int8_dots(
    codes: npt.NDArray[np.int8], query: npt.NDArray[np.int8], threads: int
) -> npt.NDArray[np.int32]:
    """Exact integer dot product of every code row with the query codes (int32, no overflow at 384-d)."""
    out = np.empty(len(codes), dtype=np.int32)
    in_row_blocks(len(codes), threads, lambda a, b: _int8_block(query, codes[a:b], out[a:b]))
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


def in_row_blocks(n: int, threads: int, run: Callable[[int, int], object]) -> None:
    """Call `run(start, stop)` over `n` rows: once, or on `threads` contiguous blocks at once.

    For kernels that release the GIL (einsum, simsimd) on large scans; each block runs
    the same kernel on its rows, so results do not depend on `threads`.
    """
    if threads <= 1 or n < PARALLEL_SCAN_ROWS:
        run(0, n)
        return
    bounds = np.linspace(0, n, threads + 1).astype(np.int64).tolist()
    blocks = list(pairwise(bounds))
    pool = _scan_pool(threads)
    futures = [pool.submit(run, a, b) for a, b in blocks[1:]]
    run(*blocks[0])
    for future in futures:
        future.result()


def dot_rows(matrix: FloatArray, q: FloatArray, threads: int) -> FloatArray:
    """`matrix @ q` with einsum (same kernel and order per row whatever `threads`)."""
    out = np.empty(len(matrix), dtype=np.float32)
    in_row_blocks(len(matrix), threads, lambda a, b: np.einsum("ij,j->i", matrix[a:b], q, out=out[a:b]))
    return out


def kth_largest(values: npt.NDArray[Any], k: int) -> Any:
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


def one_of(column: npt.NDArray[Any], values: Sequence[int]) -> BoolArray:
    """`column` equal to any of `values`: a few comparisons (np.isin is 30x slower for a handful)."""
    if not values:
        return np.zeros(len(column), dtype=np.bool_)
    if len(values) > 16:
        return np.isin(column, np.asarray(values, dtype=column.dtype))
    out: BoolArray = column == values[0]
    for value in values[1:]:
        out |= column == value
    return out
