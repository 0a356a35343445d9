"""The library's in-process index: embeddings, words and filter columns of every ranked post.

Searching by meaning needs every candidate's embedding in memory anyway, so the same
index also keeps the few columns the library filters and counts on (state, brand,
product, line, content types, platform, language, sentiment, rights, date, score) and
every row's search document. Filters and multi-select facet counts then cost a handful
of vectorized operations over contiguous arrays instead of a GROUP BY per facet, which
is what keeps a filtered facet query fast on a million posts.

`LibraryIndex` is the thread-safe front; each part lives in its own module:

- `search.columns`: the rows (`IndexColumns`: one numpy column per field, codes for
  categories, the embeddings and their int8 codes);
- `search.facets`: filter masks and multi-select facet counts;
- `search.meaning`: cosine similarities, int8 scans with an error bound, settling to
  float32 (without the optional `simsimd` kernels, or with `quantized=False`, every
  scan is float32);
- `search.postings`: full-text matching and BM25 over the rows' documents;
- `search.kernels`: the numpy/SIMD kernels under them.

Freshness: the index follows the store, it never owns data. `refresh` reads what
changed since the previous refresh: items by `curation_item.updated_at` (a re-rank)
and posts by `post.updated_at` (a decision, by any process or writer). A row is
stamped when written but visible only once its transaction commits, so each
refresh looks `lookback_s` seconds before the previous one started (the longest a
write transaction may take, plus clock skew between hosts); rows already applied
with the same stamp are skipped, so the look-back costs an id query, not a reload,
and only for `lookback_s` after a burst of writes. A process refreshes at most
every `min_refresh_s` seconds, and at once after its own writes (`invalidate`).

Snapshots (`search.snapshot`): with `snapshots` set to a folder, the index starts from the
newest snapshot there instead of building from the store: its arrays are mapped, shared with
every other process on the machine, and the ordinary refresh then reads what changed since the
snapshot's watermark. Every `snapshot_check_s` a refresh also looks for a newer snapshot; a
background thread opens it, brings it up to date the same way and swaps it in under the lock,
so a search in flight finishes on the rows it started with (the old arrays stay mapped until
nothing refers to them). A snapshot that is missing, half-written, corrupt or of another
format is refused with a warning, and the index builds from the store as before.
`write_snapshot` writes one (the `index:snapshot` job does, see `tesoro.jobs.tasks`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlmodel import Session

from tesoro.search import meaning
from tesoro.search.columns import IndexColumns, column_fill
from tesoro.search.facets import FacetCounter, FacetCounts, all_of, filter_masks
from tesoro.search.kernels import BoolArray, FloatArray, IntArray, int8_available, kth_largest
from tesoro.search.meaning import SimilarityScan
from tesoro.search.postings import TextIndex, TextMatches
from tesoro.search.snapshot import (
    SnapshotError,
    SnapshotInfo,
    SnapshotPart,
    newest_snapshots,
    open_snapshot,
    write_snapshot,
)
from tesoro.store.engine import session_scope
from tesoro.store.library import (
    IndexRow,
    LibraryFilters,
    changed_items,
    changed_posts,
    index_rows,
    item_count,
    product_lines,
)
from tesoro.text.search import SearchQuery

__all__ = ["IndexStats", "LibraryIndex", "SimilarityScan", "int8_available"]

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Rows read from the store per query while building, and post ids per query while refreshing.
_BUILD_PAGE = 20_000
_REFRESH_PAGE = 2_000


@dataclass(frozen=True, slots=True)
class IndexStats:
    rows: int
    with_embedding: int
    bytes: int
    build_seconds: float


class LibraryIndex:
    """Every ranked post's embedding, words and filter columns; thread-safe, refreshed incrementally."""

    def __init__(
        self,
        *,
        dim: int = 384,
        lookback_s: float = 30.0,
        min_refresh_s: float = 1.0,
        scan_threads: int | None = None,
        quantized: bool = True,
        snapshots: Path | None = None,
        snapshot_check_s: float = 5.0,
        verify_snapshots: bool = True,
    ) -> None:
        self.dim = dim
        # Keep an int8 copy of the embeddings for meaning search (exact results, see `search.meaning`).
        self.quantized = quantized and int8_available()
        # Threads for a dense similarity scan of a large index (default: up to 2, the cores it is sized for).
        self.scan_threads = max(1, min(2, os.cpu_count() or 1) if scan_threads is None else scan_threads)
        self.lookback = timedelta(seconds=lookback_s)
        self.min_refresh_s = min_refresh_s
        self._lock = threading.RLock()
        self.columns = IndexColumns(dim=dim, quantized=self.quantized)
        self.facet_counter = FacetCounter(self.columns)
        # Every row's search document, for full-text matching and BM25 (see `search.postings`).
        self._text = TextIndex()
        self._item_mark = _EPOCH
        self._post_mark = _EPOCH
        self._built = False
        self._stale = True
        self._last_refresh = float("-inf")
        self.build_seconds = 0.0
        # Snapshots: the folder to start from and follow (None: build from the store), the one in use.
        self.snapshots = snapshots
        self.snapshot_check_s = snapshot_check_s
        self.verify_snapshots = verify_snapshots
        self.snapshot: SnapshotInfo | None = None
        self._snapshot_checked = float("-inf")
        self._refused: set[Path] = set()
        self._adopting = threading.Lock()
        # Rows changed by refreshes since the snapshot in use was opened.
        self.changed_since_snapshot = 0

    # ------------------------------------------------------------------ writing rows

    def _apply_rows(self, rows: Sequence[IndexRow]) -> None:
        if not rows:
            return
        at = self.columns.apply_rows(rows)
        self._text.set_docs(at, [r.doc for r in rows])

    def add_rows(self, rows: Sequence[IndexRow]) -> None:
        """Apply rows directly (a benchmark's synthetic library; the store path is `refresh`)."""
        with self._lock:
            self._apply_rows(rows)

    # ------------------------------------------------------------------ refresh

    @property
    def built(self) -> bool:
        """Whether the index has been loaded once (GET /readyz waits for it)."""
        return self._built

    def invalidate(self) -> None:
        """Make the next search refresh first (call after this process wrote decisions)."""
        self._stale = True

    def hold(self) -> AbstractContextManager[bool]:
        """Keep the rows as they are (no refresh, no new rows) while the caller computes over them."""
        return self._lock

    def generation(self) -> int:
        """The rows' change counter: the same counter, the same rows (and the same answers)."""
        with self._lock:
            return self.columns.generation

    def refresh(self, session: Session, *, force: bool = False) -> int:
        """Bring the index up to date with the store; returns how many rows changed."""
        with self._lock:
            if not self._built:
                return self._build(session)
            self._look_for_snapshot(session)
            if not (force or self._stale or time.monotonic() - self._last_refresh >= self.min_refresh_s):
                return 0
            return self._catch_up(session)

    def _catch_up(self, session: Session) -> int:
        """Apply what changed in the store since the marks (the lock is held)."""
        started = datetime.now(UTC)
        changed = self.columns.set_product_lines(product_lines(session))
        changed += self._refresh_items(session)
        changed += self.columns.apply_post_changes(
            changed_posts(session, since=self._post_mark - self.lookback)
        )
        # Everything stamped before (this refresh - lookback) is now visible and applied.
        self._item_mark = self._post_mark = started
        self._stale = False
        self._last_refresh = time.monotonic()
        self.changed_since_snapshot += changed
        return changed

    def _build(self, session: Session) -> int:
        started = time.perf_counter()
        if self.snapshots is not None:
            loaded = self._load_newest(newer_than=0)
            if loaded is not None:
                self._install(loaded)
                self._built = True
                self._catch_up(session)
                self.build_seconds = time.perf_counter() - started
                return self.columns.n
        started_wall = datetime.now(UTC)
        self.columns.line_of_product = product_lines(session)
        expected = item_count(session)
        if expected > self.columns.capacity:  # one allocation instead of a doubling per page
            self.columns.grow(expected + 1024)
        after = 0
        while True:
            rows = index_rows(session, after_id=after, limit=_BUILD_PAGE)
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
        return self.columns.n

    def _refresh_items(self, session: Session) -> int:
        wanted = self.columns.unseen_items(changed_items(session, since=self._item_mark - self.lookback))
        for start in range(0, len(wanted), _REFRESH_PAGE):
            self._apply_rows(index_rows(session, post_ids=wanted[start : start + _REFRESH_PAGE]))
        return len(wanted)

    # ------------------------------------------------------------------ snapshots

    def write_snapshot(self, root: Path, *, spare_rows: int | None = None) -> SnapshotInfo:
        """Write the index as the next snapshot under `root` (refresh it first); returns what was written.

        Each file keeps `spare_rows` empty rows (default: a twentieth of the rows, at least 4,096)
        for the posts ranked after it, so a process mapping it takes them in without a copy.
        """
        with self._lock:
            columns, text = self.columns, self._text
            n = columns.n
            spare = max(4096, n // 20) if spare_rows is None else spare_rows
            parts: dict[str, SnapshotPart] = {}
            for name, arr in columns.snapshot_arrays().items():
                if name == "row_of":
                    top = int(columns.column("post_id").max()) + 1 if n else 0
                    parts["columns.row_of"] = SnapshotPart(arr[:top], top + 2 * spare, -1)
                else:
                    parts[f"columns.{name}"] = SnapshotPart(arr, n + spare, column_fill(name))
            per_row = ("start", "length", "hash", "dirty")
            for name, arr in text.snapshot_arrays().items():
                rows = len(arr)
                if name in per_row:
                    rows = n + spare
                elif name == "tokens":
                    rows = len(arr) + spare * max(1, len(arr) // max(1, n))
                parts[f"text.{name}"] = SnapshotPart(arr, rows, 0)
            meta = {
                "dim": self.dim,
                "quantized": self.quantized,
                "columns": columns.snapshot_meta(),
                "text": text.snapshot_meta(),
            }
            watermark = min(self._item_mark, self._post_mark)
            return write_snapshot(root, parts, meta, watermark=watermark, rows=n)

    def adopt_newest(self, session: Session) -> bool:
        """Switch to the newest usable snapshot newer than the one in use, brought up to date; False if none.

        The snapshot is opened and caught up with the store without the lock (searches go on
        over the current rows), then swapped in under it.
        """
        if self.snapshots is None:
            return False
        with self._adopting:
            current = self.snapshot.version if self.snapshot is not None else 0
            loaded = self._load_newest(newer_than=current)
            if loaded is None:
                return False
            fresh = LibraryIndex(
                dim=self.dim,
                lookback_s=self.lookback.total_seconds(),
                scan_threads=self.scan_threads,
                quantized=self.quantized,
            )
            fresh._install(loaded)
            fresh._built = True
            fresh._catch_up(session)
            with self._lock:
                generation = self.columns.generation + 1
                self.columns, self.facet_counter, self._text = fresh.columns, fresh.facet_counter, fresh._text
                self.columns.generation = generation
                self._item_mark, self._post_mark = fresh._item_mark, fresh._post_mark
                self.snapshot = fresh.snapshot
                self.changed_since_snapshot = fresh.changed_since_snapshot
                self._built = True
                self._catch_up(session)  # what changed while it caught up
            log.info("library index: now on snapshot %s (%d rows)", loaded[0].path.name, self.columns.n)
            return True

    def _look_for_snapshot(self, session: Session) -> None:
        """Every `snapshot_check_s`: if a newer snapshot is there, adopt it in the background."""
        if self.snapshots is None or time.monotonic() - self._snapshot_checked < self.snapshot_check_s:
            return
        self._snapshot_checked = time.monotonic()
        current = self.snapshot.version if self.snapshot is not None else 0
        newest = next((p for p in newest_snapshots(self.snapshots) if p not in self._refused), None)
        if newest is None or _version_of(newest) <= current or self._adopting.locked():
            return
        engine = session.get_bind()

        def adopt() -> None:
            try:
                with session_scope(engine) as own:  # type: ignore[arg-type]
                    self.adopt_newest(own)
            except Exception:  # the current rows stay in use; the next check tries again
                log.exception("library index: could not switch to the snapshot %s", newest)

        threading.Thread(target=adopt, name="tesoro-index-snapshot", daemon=True).start()

    def _load_newest(self, *, newer_than: int) -> tuple[SnapshotInfo, IndexColumns, TextIndex] | None:
        """Open the newest usable snapshot newer than version `newer_than`; refused ones are logged."""
        assert self.snapshots is not None
        for path in newest_snapshots(self.snapshots):
            if _version_of(path) <= newer_than:
                break
            if path in self._refused:
                continue
            try:
                return self._open(path)
            except SnapshotError as exc:
                self._refused.add(path)
                log.warning("library index: refusing the snapshot %s: %s", path.name, exc)
        if not self._built:
            log.warning(
                "library index: no usable snapshot in %s; building from the store instead", self.snapshots
            )
        return None

    def _open(self, path: Path) -> tuple[SnapshotInfo, IndexColumns, TextIndex]:
        snapshot = open_snapshot(path, verify=self.verify_snapshots)
        meta = snapshot.meta
        try:
            if int(meta["dim"]) != self.dim or bool(meta["quantized"]) != self.quantized:
                raise SnapshotError(
                    f"made for {meta['dim']}-d embeddings{' with' if meta['quantized'] else ' without'} "
                    f"int8 codes; this index wants {self.dim}-d{' with' if self.quantized else ' without'}"
                )
            columns = IndexColumns.from_snapshot(meta["columns"], snapshot.part("columns"), generation=0)
            text = TextIndex.from_snapshot(meta["text"], snapshot.part("text"))
        except SnapshotError:
            raise
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            raise SnapshotError(f"{path}: {type(exc).__name__}: {exc}") from exc
        if len(text) != columns.n:
            raise SnapshotError(f"{path}: {len(text)} documents for {columns.n} rows")
        return snapshot.info, columns, text

    def _install(self, loaded: tuple[SnapshotInfo, IndexColumns, TextIndex]) -> None:
        info, columns, text = loaded
        columns.generation = self.columns.generation + 1
        self.columns, self._text = columns, text
        self.facet_counter = FacetCounter(columns)
        self._item_mark = self._post_mark = info.watermark
        self.snapshot = info
        self.changed_since_snapshot = 0

    # ------------------------------------------------------------------ rows and filters

    def __len__(self) -> int:
        return self.columns.n

    def stats(self) -> IndexStats:
        with self._lock:
            size = self.columns.nbytes + self._text.nbytes
            return IndexStats(self.columns.n, self.columns.with_embedding(), size, self.build_seconds)

    def mask(self, filters: LibraryFilters, extra: BoolArray | None = None) -> BoolArray:
        """Rows matching every filter (and `extra`, e.g. the text matches)."""
        with self._lock:
            return all_of(self.columns.n, filter_masks(self.columns, filters).values(), extra)

    def mask_of(self, post_ids: Sequence[int]) -> BoolArray:
        """Rows of the given posts (ids the index does not hold are ignored)."""
        with self._lock:
            return self.columns.mask_of(post_ids)

    def rows_of(self, post_ids: Sequence[int] | IntArray) -> IntArray:
        """Each post's row in the index, -1 for posts it does not hold."""
        with self._lock:
            return self.columns.rows_of(post_ids)

    def rows_mask(self, rows: IntArray) -> BoolArray:
        """A row mask with the given rows (negative ones ignored) set."""
        with self._lock:
            return self.columns.rows_mask(rows)

    def post_ids_at(self, selected: BoolArray | IntArray) -> IntArray:
        """The post ids of the selected rows (a row mask, or row positions), in row order."""
        with self._lock:
            ids: IntArray = self.columns.column("post_id")[selected]
            return ids

    def gather(self, post_ids: Sequence[int], per_row: npt.NDArray[Any]) -> list[float | None]:
        """The per-row array's values at the posts (None for posts the index does not hold)."""
        rows = self.rows_of(post_ids)
        known = (rows >= 0) & (rows < len(per_row))
        values = np.full(len(rows), np.nan, dtype=np.float64)
        values[known] = per_row[rows[known]]
        return [float(v) if np.isfinite(v) else None for v in values.tolist()]

    def facets(self, filters: LibraryFilters, extra: BoolArray | None = None) -> FacetCounts:
        """Multi-select facet counts: each facet under every filter but its own."""
        return self.facets_and_rows(filters, extra)[0]

    def facets_and_rows(
        self, filters: LibraryFilters, extra: BoolArray | None = None, *, with_facets: bool = True
    ) -> tuple[FacetCounts, IntArray]:
        """The facet counts (empty without `with_facets`) and the rows passing every filter and `extra`."""
        with self._lock:
            return self.facet_counter.facets_and_rows(filters, extra, with_facets=with_facets)

    # ------------------------------------------------------------------ text and meaning

    def text_match(self, query: SearchQuery) -> TextMatches:
        """The rows whose search document matches the query, with what ranking them needs."""
        with self._lock:
            return self._text.match(query)

    def text_relevance(self, matches: TextMatches, rows: IntArray) -> npt.NDArray[np.float64]:
        """BM25 of the given rows (positions) for a matched query."""
        return TextIndex.scores(matches, rows)

    def similarities(self, vector: npt.NDArray[np.float32], selected: BoolArray) -> FloatArray:
        """Cosine similarity of `vector` to each selected row's embedding (-inf elsewhere)."""
        with self._lock:
            return meaning.similarities(self.columns, vector, selected, threads=self.scan_threads)

    def scan(
        self,
        vector: npt.NDArray[np.float32],
        selected: BoolArray,
        *,
        threshold: float,
        exact_cutoff: bool = False,
    ) -> SimilarityScan:
        """Similarities of `vector` to the selected rows, int8 on a large index (see `search.meaning`)."""
        with self._lock:
            return meaning.scan(
                self.columns,
                vector,
                selected,
                threshold=threshold,
                exact_cutoff=exact_cutoff,
                threads=self.scan_threads,
            )

    def settle(self, scan: SimilarityScan, rows: IntArray) -> None:
        """Make the scan's values at `rows` (positions) exact."""
        with self._lock:
            meaning.settle(self.columns, scan, np.asarray(rows, dtype=np.int64))

    def settle_top(self, scan: SimilarityScan, selected: BoolArray | IntArray, want: int) -> None:
        """Make exact every selected row that could be among the `want` most similar."""
        with self._lock:
            meaning.settle_top(self.columns, scan, selected, want)

    # ------------------------------------------------------------------ ordering

    def page(
        self,
        selected: BoolArray | IntArray,
        *,
        key: str | FloatArray,
        limit: int,
        offset: int,
    ) -> tuple[int, list[int], list[float]]:
        """(total, post ids, key values) of one page of the selected rows, best first.

        `selected` is a row mask or row positions (each once). `key` is 'score', 'engagement',
        'created' or an array of per-row values (relevance, similarity). Ties go to
        the higher post id, so paging is stable.
        """
        with self._lock:
            rows = np.flatnonzero(selected) if selected.dtype == np.bool_ else selected
            total = len(rows)
            if not total or offset >= total:
                return total, [], []
            column = self.columns.column(key) if isinstance(key, str) else key
            values = column[rows]
            want = min(offset + limit, total)
            if total > 4 * want + 1000:
                # Keep the top `want` (and every tie at the boundary) before the exact sort.
                cut = kth_largest(values, want)
                keep = np.flatnonzero(values >= cut)
                rows, values = rows[keep], values[keep]
            ids = self.columns.arrays["post_id"][rows]
            order = np.lexsort((-ids, -values))[offset:want]
            return total, [int(i) for i in ids[order]], [float(v) for v in values[order]]


def _version_of(path: Path) -> int:
    return int(path.name[1:].split("-", 1)[0])
