"""The library index's data: one numpy column per filterable field, one row per ranked post.

Rows are positions, not post ids: a post keeps its row for the life of the index
(`row_of` maps a post id to it), so every per-row array of a query (a mask, the
similarities, the BM25 scores) lines up with every column. Categorical fields
(platform, language, sentiment, state, rights, product line) are stored as small
integer codes into per-column value lists, code 0 meaning "none", which is what lets
facets be counted with one `bincount` instead of a GROUP BY.

`IndexColumns` is not thread-safe on its own: `LibraryIndex` holds its lock around
every read and write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from tesoro.search.kernels import BoolArray, IntArray, one_of, quantize
from tesoro.store.library import NO_ENGAGEMENT, IndexRow, PostChange

__all__ = ["CATEGORIES", "IndexColumns", "column_fill"]

log = logging.getLogger(__name__)

# Columns holding codes into a value list (see `IndexColumns.code`).
CATEGORIES = ("platform", "language", "sentiment", "state", "rights", "line")

# (name, dtype, fill of an empty row) of every scalar column.
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
    ("engagement", np.float64, NO_ENGAGEMENT),
    ("filtered", np.bool_, False),
    ("duplicate", np.bool_, False),
    ("item_seen", np.float64, 0.0),
    ("post_seen", np.float64, 0.0),
    ("has_embedding", np.bool_, False),
)


def column_fill(name: str) -> Any:
    """What an empty row holds in the named array (rows past the live ones keep it)."""
    for spec_name, _dtype, fill in _SPEC:
        if spec_name == name:
            return fill
    return -1 if name == "row_of" else 0


class IndexColumns:
    """Growable column arrays with a row per post, plus the embeddings (and their int8 codes).

    The arrays may be views of a snapshot's files (`search.snapshot`), mapped copy-on-write:
    reading them shares the page cache with every process mapping the same files, and a
    row written here (a decision, a new post in the spare rows past `n`) becomes a page of
    this process only. Past `capacity` the arrays are copied into this process (`grow`).
    """

    def __init__(self, *, dim: int, quantized: bool) -> None:
        self.dim = dim
        # With `quantized`, every row also keeps int8 codes of its embedding (see `search.meaning`).
        self.quantized = quantized
        self.n = 0
        self.capacity = 0
        self.arrays: dict[str, npt.NDArray[Any]] = {}
        self.row_of = np.full(0, -1, dtype=np.int64)
        self.codes: dict[str, dict[str | None, int]] = {name: {None: 0} for name in CATEGORIES}
        self.values: dict[str, list[str | None]] = {name: [None] for name in CATEGORIES}
        self.line_of_product: dict[int, str | None] = {}
        # Bumped after every change to the rows; caches of derived arrays and results key on it.
        self.generation = 0
        self.grow(1024)

    # ------------------------------------------------------------------ storage

    def grow(self, capacity: int) -> None:
        """Reallocate every column for `capacity` rows, keeping the current ones."""
        for name, dtype, fill in _SPEC:
            self._regrow(name, np.full(capacity, fill, dtype=dtype))
        self._regrow("embedding", np.zeros((capacity, self.dim), dtype=np.float32))
        if self.quantized:
            self._regrow("codes", np.zeros((capacity, self.dim), dtype=np.int8))
            for name in ("code_scale", "code_error", "code_norm"):
                self._regrow(name, np.zeros(capacity, dtype=np.float32))
        self.capacity = capacity

    def _regrow(self, name: str, grown: npt.NDArray[Any]) -> None:
        if name in self.arrays:
            grown[: self.n] = self.arrays[name][: self.n]
        self.arrays[name] = grown

    def column(self, name: str) -> npt.NDArray[Any]:
        """The live rows of one column (a view)."""
        return self.arrays[name][: self.n]

    def code(self, category: str, value: str | None) -> int:
        """The value's code in a categorical column, assigning the next one to a new value."""
        codes = self.codes[category]
        code = codes.get(value)
        if code is None:
            code = len(self.values[category])
            codes[value] = code
            self.values[category].append(value)
        return code

    def _rows_for(self, post_ids: Sequence[int]) -> IntArray:
        """Positions of the posts (appending rows for unknown ones)."""
        ids = np.asarray(post_ids, dtype=np.int64)
        if len(ids) and int(ids.max()) >= len(self.row_of):
            size = max(int(ids.max()) + 1, 2 * len(self.row_of))
            grown = np.full(size, -1, dtype=np.int64)
            grown[: len(self.row_of)] = self.row_of
            self.row_of = grown
        rows = self.row_of[ids] if len(ids) else np.zeros(0, dtype=np.int64)
        missing = np.flatnonzero(rows < 0)
        if len(missing):
            needed = self.n + len(missing)
            if needed > self.capacity:
                if isinstance(self.arrays["post_id"], np.memmap):
                    # Out of the snapshot's spare rows: from here on the rows are this process's own
                    # (as without snapshots) until the next snapshot; grow by a twentieth, not double.
                    log.warning(
                        "library index: the snapshot's %d spare rows are used up; copying the index into "
                        "this process until a newer snapshot comes (is the index:snapshot job running?)",
                        self.capacity - self.n,
                    )
                    self.grow(needed + max(4096, self.capacity // 20))
                else:
                    self.grow(max(needed, 2 * self.capacity))
            fresh = np.arange(self.n, needed, dtype=np.int64)
            rows[missing] = fresh
            self.row_of[ids[missing]] = fresh
            self.n = needed
        return rows

    def apply_rows(self, rows: Sequence[IndexRow]) -> IntArray:
        """Write the rows (new posts get new rows); returns their positions."""
        a = self.arrays
        at = self._rows_for([r.post_id for r in rows])
        a["post_id"][at] = [r.post_id for r in rows]
        a["brand"][at] = [-1 if r.brand_id is None else r.brand_id for r in rows]
        a["scored_product"][at] = [-1 if r.scored_product_id is None else r.scored_product_id for r in rows]
        a["assigned_product"][at] = [-1 if r.product_id is None else r.product_id for r in rows]
        a["platform"][at] = [self.code("platform", r.platform) for r in rows]
        a["language"][at] = [self.code("language", r.language) for r in rows]
        a["sentiment"][at] = [self.code("sentiment", r.sentiment) for r in rows]
        a["state"][at] = [self.code("state", r.queue_state) for r in rows]
        a["rights"][at] = [self.code("rights", r.rights_status) for r in rows]
        a["cmask"][at] = [r.content_mask for r in rows]
        a["created"][at] = [r.created_at.timestamp() for r in rows]
        a["score"][at] = [r.score for r in rows]
        a["engagement"][at] = [NO_ENGAGEMENT if r.engagement is None else r.engagement for r in rows]
        a["filtered"][at] = [r.filtered for r in rows]
        a["duplicate"][at] = [r.duplicate for r in rows]
        a["item_seen"][at] = [_stamp(r.item_updated_at) for r in rows]
        a["post_seen"][at] = [_stamp(r.post_updated_at) for r in rows]
        self._write_embeddings(at, [r.embedding for r in rows])
        self.update_products(at)
        self.generation += 1
        return at

    def _write_embeddings(self, at: IntArray, embeddings: Sequence[bytes | None]) -> None:
        a = self.arrays
        width = self.dim * 4
        has = np.asarray([bool(e) and len(e or b"") == width for e in embeddings])
        a["has_embedding"][at] = has
        if has.any():
            blob = b"".join(e or b"" for e, h in zip(embeddings, has, strict=True) if h)
            a["embedding"][at[has]] = np.frombuffer(blob, dtype=np.float32).reshape(-1, self.dim)
        a["embedding"][at[~has]] = 0.0
        if self.quantized:
            codes, scale, error, norm = quantize(a["embedding"][at])
            a["codes"][at], a["code_scale"][at], a["code_error"][at], a["code_norm"][at] = (
                codes,
                scale,
                error,
                norm,
            )

    def update_products(self, at: IntArray | slice) -> None:
        """Recompute the effective product (assigned, else scored) and its line at `at`."""
        a = self.arrays
        assigned, scored = a["assigned_product"][at], a["scored_product"][at]
        product = np.where(assigned >= 0, assigned, scored)
        a["product"][at] = product
        lines = np.zeros(len(product), dtype=np.int16)
        if self.line_of_product:
            lut = np.zeros(max(self.line_of_product) + 1, dtype=np.int16)
            for pid, line in self.line_of_product.items():
                lut[pid] = self.code("line", line)
            known = (product >= 0) & (product < len(lut))
            lines[known] = lut[product[known]]
        a["line"][at] = lines

    def set_product_lines(self, lines: dict[int, str | None]) -> int:
        """Adopt the catalog's product lines; returns how many rows were recomputed (0: unchanged)."""
        if lines == self.line_of_product:
            return 0
        self.line_of_product = lines
        self.update_products(slice(0, self.n))
        self.generation += 1
        return self.n

    def unseen_items(self, changes: Iterable[tuple[int, datetime]]) -> list[int]:
        """Post ids of (post id, item stamp) changes this index does not hold as stamped yet."""
        seen = self.arrays["item_seen"]
        wanted = []
        for post_id, at in changes:
            row = self.row_of[post_id] if post_id < len(self.row_of) else -1
            if row < 0 or seen[row] != at.timestamp():
                wanted.append(post_id)
        return wanted

    def apply_post_changes(self, changes: Iterable[PostChange]) -> int:
        """Write decisions (state, rights, assigned product) of posts held and not seen yet."""
        a = self.arrays
        touched: list[int] = []
        for c in changes:
            row = int(self.row_of[c.post_id]) if c.post_id < len(self.row_of) else -1
            if row < 0 or a["post_seen"][row] == c.updated_at.timestamp():
                continue
            a["state"][row] = self.code("state", c.queue_state)
            a["rights"][row] = self.code("rights", c.rights_status)
            a["assigned_product"][row] = -1 if c.product_id is None else c.product_id
            a["post_seen"][row] = c.updated_at.timestamp()
            touched.append(row)
        if touched:
            self.update_products(np.asarray(touched, dtype=np.int64))
            self.generation += 1
        return len(touched)

    # ------------------------------------------------------------------ snapshots

    def snapshot_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Every array a snapshot keeps, at its live rows (the post-id map whole)."""
        out = {name: arr[: self.n] for name, arr in self.arrays.items()}
        out["row_of"] = self.row_of
        return out

    def snapshot_meta(self) -> dict[str, Any]:
        """What a snapshot keeps besides the arrays: the category values and the product lines."""
        return {
            "n": self.n,
            "dim": self.dim,
            "quantized": self.quantized,
            "values": {name: list(values) for name, values in self.values.items()},
            "line_of_product": sorted(self.line_of_product.items()),
        }

    @classmethod
    def from_snapshot(
        cls, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]], *, generation: int
    ) -> IndexColumns:
        """Columns over a snapshot's arrays (not copied; every array is `capacity` rows long)."""
        columns = cls.__new__(cls)
        columns.dim = int(meta["dim"])
        columns.quantized = bool(meta["quantized"])
        columns.n = int(meta["n"])
        columns.row_of = arrays["row_of"]
        columns.arrays = {name: arr for name, arr in arrays.items() if name != "row_of"}
        columns.capacity = min(len(arr) for arr in columns.arrays.values())
        columns.values = {name: list(meta["values"][name]) for name in CATEGORIES}
        columns.codes = {name: {v: i for i, v in enumerate(vals)} for name, vals in columns.values.items()}
        columns.line_of_product = {int(pid): line for pid, line in meta["line_of_product"]}
        columns.generation = generation
        return columns

    # ------------------------------------------------------------------ lookups

    @property
    def nbytes(self) -> int:
        """Bytes held by the live rows of every column and the post-id map."""
        return sum(int(arr[: self.n].nbytes) for arr in self.arrays.values()) + int(self.row_of.nbytes)

    def with_embedding(self) -> int:
        """How many rows have an embedding."""
        return int(self.column("has_embedding").sum())

    def in_values(self, category: str, values: Iterable[str | None]) -> BoolArray:
        """Rows whose categorical value is one of `values` (unknown values match nothing)."""
        codes = [self.codes[category][v] for v in values if v in self.codes[category]]
        return one_of(self.column(category), codes)

    def ids_in(self, name: str, values: Sequence[int]) -> BoolArray:
        """Rows whose id column (brand, product) is one of `values`."""
        return one_of(self.column(name), list(values))

    def mask_of(self, post_ids: Sequence[int]) -> BoolArray:
        """Rows of the given posts (ids the index does not hold are ignored)."""
        out = np.zeros(self.n, dtype=np.bool_)
        ids = np.asarray([p for p in post_ids if 0 <= p < len(self.row_of)], dtype=np.int64)
        rows = self.row_of[ids] if len(ids) else ids
        out[rows[rows >= 0]] = True
        return out

    def rows_of(self, post_ids: Sequence[int] | IntArray) -> IntArray:
        """Each post's row, -1 for posts the index does not hold."""
        ids = np.asarray(post_ids, dtype=np.int64)
        out = np.full(len(ids), -1, dtype=np.int64)
        inside = (ids >= 0) & (ids < len(self.row_of))
        out[inside] = self.row_of[ids[inside]]
        out[out >= self.n] = -1
        return out

    def rows_mask(self, rows: IntArray) -> BoolArray:
        """A row mask with the given rows (negative ones ignored) set."""
        out = np.zeros(self.n, dtype=np.bool_)
        out[rows[(rows >= 0) & (rows < self.n)]] = True
        return out


def _stamp(at: datetime | None) -> float:
    """A row's change stamp as the columns keep it (0: never stamped)."""
    return at.timestamp() if at else 0.0
