"""The hidden-treasure library: search approved and featured posts by words, by meaning, by facets.

`Library.search` answers one coordinator query: free text (words, phrases, prefixes,
OR and exclusions; see `tesoro.text.search`), meaning (the query encoded like the
posts and compared with their embeddings: "people using the shoe on a trail" finds
posts that never use those words), filters, multi-select facet counts, sorting and
paging.

The encoder is injected (`encode(texts) -> normalized rows`): production passes the
scoring encoder (`tesoro.scoring.encoders.load_encoder(...).encode`), tests a tiny
deterministic one, and a process without a model still serves text search.

By default the in-process `LibraryIndex` does the filtering and counting (fast,
see `search.index`); `use_index=False` runs the same query in SQL only
(`store.library`), for one-off commands that should not load every embedding.

Text queries are matched and ranked by the index too (`search.postings`: the
words of every search document, BM25 as FTS5 computes it), so a broad word costs
vector operations over its matches, not a database row per match. Only the
filtered rows are ranked, and cards are built for the page only.

Identical questions get identical answers until the library changes, so a few
results are kept: the facet counts and page order of a query, until any row of the
index changes (the index's change counter, not a clock, decides). `invalidate` drops them all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine

from tesoro.search.index import LibraryIndex, SimilarityScan
from tesoro.search.postings import TextMatches
from tesoro.settings import CuratorSettings
from tesoro.store.curation import QueueEntry, queue_entries
from tesoro.store.engine import session_scope
from tesoro.store.library import LIBRARY_STATES, LibraryFilters, Sort, facets_sql, search_sql, tagged_posts
from tesoro.text.search import SearchQuery, SearchQueryError, parse_search_query

__all__ = [
    "LIBRARY_STATES",
    "Encode",
    "Library",
    "LibraryError",
    "LibraryFilters",
    "LibraryHit",
    "LibraryPage",
    "LibraryQuery",
    "MeaningUnavailable",
]

Encode = Callable[[list[str]], npt.NDArray[np.float32]]
Facets = dict[str, list[tuple[Any, int]]]
_V = TypeVar("_V")


class _Lru(Generic[_V]):
    """A small thread-safe least-recently-used map, bounded by its number of entries."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._data: OrderedDict[Hashable, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> _V | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: Hashable, value: _V) -> None:
        with self._lock:
            self._data.pop(key, None)
            self._data[key] = value
            while len(self._data) > self.entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True, slots=True)
class _Order:
    total: int
    post_ids: list[int]  # the best `len(post_ids)` rows, in order
    relevance: list[float | None]
    complete: bool  # post_ids holds every selected row


def _filters_key(filters: LibraryFilters) -> LibraryFilters:
    """The same filters with each value list sorted and deduplicated (a cache key: order is no meaning)."""
    return replace(
        filters,
        states=tuple(sorted(set(filters.states))),
        brand_ids=tuple(sorted(set(filters.brand_ids))),
        product_ids=tuple(sorted(set(filters.product_ids))),
        product_lines=tuple(sorted(set(filters.product_lines))),
        content_types=tuple(sorted(set(filters.content_types))),
        platforms=tuple(sorted(set(filters.platforms))),
        languages=tuple(sorted(set(filters.languages))),
        sentiments=tuple(sorted(set(filters.sentiments))),
        rights=tuple(sorted(set(filters.rights))),
        tags=tuple(sorted(set(filters.tags))),
    )


class LibraryError(ValueError):
    """A query the library cannot answer (bad syntax, meaning search without an encoder)."""


class MeaningUnavailable(LibraryError):
    """The encoder exists but could not be loaded in this process (a server problem, not the query's)."""


@dataclass(frozen=True, slots=True)
class LibraryQuery:
    text: str | None = None
    meaning: str | None = None
    filters: LibraryFilters = field(default_factory=LibraryFilters)
    sort: Sort | None = None  # default: relevance with a text or meaning query, else treasure
    limit: int = 24
    offset: int = 0
    min_similarity: float | None = None  # default: [curator] semantic_min_similarity
    with_facets: bool = True


@dataclass(frozen=True, slots=True)
class LibraryHit:
    entry: QueueEntry
    relevance: float | None  # full-text relevance, or cosine similarity for a meaning query


@dataclass(frozen=True, slots=True)
class LibraryPage:
    total: int
    items: list[LibraryHit]
    facets: dict[str, list[tuple[Any, int]]]
    sort: str
    limit: int
    offset: int


class Library:
    """Library search over one store; keep one per process (it owns the in-memory index)."""

    def __init__(
        self,
        engine: Engine,
        settings: CuratorSettings,
        *,
        encode: Encode | None = None,
        index: LibraryIndex | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.encode = encode
        self.index = index if index is not None else LibraryIndex(quantized=settings.vector_scan != "float32")
        self._encode_lock = threading.Lock()
        # Results kept for identical questions (see the module docstring); `cache=False` turns it off.
        self.cache = True
        self._vectors: _Lru[npt.NDArray[np.float32]] = _Lru(256)
        self._facets: _Lru[Facets] = _Lru(256)
        self._orders: _Lru[_Order] = _Lru(256)

    def invalidate(self) -> None:
        """Call after writing decisions in this process: the next search sees them."""
        self.index.invalidate()
        self.clear_cache()

    def clear_cache(self) -> None:
        """Forget the kept results (they would be dropped anyway once the library changes)."""
        self._facets.clear()
        self._orders.clear()

    def warm(self) -> None:
        """Load the index now (at start-up) rather than on the first search."""
        with session_scope(self.engine) as session:
            self.index.refresh(session, force=True)

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        if self.encode is None:
            raise LibraryError(
                "searching by meaning needs the sentence encoder, which this process has not loaded"
            )
        if self.cache and (known := self._vectors.get(text)) is not None:
            return known
        with self._encode_lock:
            rows = np.asarray(self.encode([text]), dtype=np.float32)
        if rows.ndim != 2 or rows.shape[0] != 1:
            raise LibraryError("the encoder returned an unexpected shape")
        vector = np.asarray(rows[0], dtype=np.float32)
        vector.flags.writeable = False
        if self.cache:
            self._vectors.put(text, vector)
        return vector

    @staticmethod
    def _parse(text: str | None) -> SearchQuery | None:
        if text is None or not text.strip():
            return None
        try:
            return parse_search_query(text)
        except SearchQueryError as exc:
            raise LibraryError(str(exc)) from exc

    def search(self, query: LibraryQuery, *, use_index: bool = True) -> LibraryPage:
        parsed = self._parse(query.text)
        meaning = (query.meaning or "").strip() or None
        sort: Sort = query.sort or ("relevance" if parsed is not None or meaning else "treasure")
        if sort == "relevance" and parsed is None and meaning is None:
            sort = "treasure"
        if not use_index:
            if meaning is not None:
                raise LibraryError("searching by meaning needs the in-memory index")
            return self._search_sql(query, parsed, sort)
        vector = self._vector(meaning) if meaning is not None else None
        threshold = (
            query.min_similarity
            if query.min_similarity is not None
            else self.settings.semantic_min_similarity
        )
        with session_scope(self.engine) as session:
            index = self.index
            index.refresh(session)
            # One consistent set of rows for the whole computation: a refresh by another
            # request in between would change the row count under the masks and scans.
            with index.hold():
                generation = index.generation()
                text_key = parsed
                meaning_key = (vector.tobytes(), float(threshold)) if vector is not None else None
                key = (generation, _filters_key(query.filters), text_key, meaning_key)
                want = query.offset + query.limit
                kept = self._facets.get(key) if self.cache and query.with_facets else None
                order = self._orders.get((*key, sort)) if self.cache else None
                if order is not None and len(order.post_ids) < want and not order.complete:
                    order = None
                if order is None or (query.with_facets and kept is None):
                    matches = index.text_match(parsed) if parsed is not None else None
                    extra = matches.mask if matches is not None else None
                    if query.filters.tags:
                        # Tags are not in the index: the store names the tagged posts. A tag's change
                        # touches its post, so the generation (and the kept answers) follow it.
                        tagged = index.mask_of(tagged_posts(session, tags=query.filters.tags))
                        extra = tagged if extra is None else (extra & tagged)
                    similarity: SimilarityScan | None = None
                    if vector is not None:
                        # Facets count values outside the current filters too, so they need every similarity.
                        candidates = (
                            index.mask(LibraryFilters(states=()), extra)
                            if query.with_facets
                            else index.mask(query.filters, extra)
                        )
                        similarity = index.scan(
                            vector,
                            candidates,
                            threshold=threshold,
                            exact_cutoff=self.settings.vector_scan == "int8-exact",
                        )
                        close = similarity.values >= threshold
                        extra = close if extra is None else (extra & close)
                    # One pass over the filters gives both the facet counts and the selection.
                    need_facets = query.with_facets and kept is None
                    counted, selected = index.facets_and_rows(query.filters, extra, with_facets=need_facets)
                    if need_facets:
                        kept = counted
                        if self.cache:
                            self._facets.put(key, counted)
                    if order is None:
                        order = self._order(matches, similarity, selected, sort, want)
                        if self.cache:
                            self._orders.put((*key, sort), order)
            facets: Facets = {name: list(counts) for name, counts in (kept or {}).items()}
            ids = order.post_ids[query.offset : want]
            scores = order.relevance[query.offset : want]
            entries = queue_entries(session, post_ids=ids)
        by_id = dict(zip(ids, scores, strict=True))
        return LibraryPage(
            total=order.total,
            items=[LibraryHit(e, by_id.get(e.card.id)) for e in entries],
            facets=facets,
            sort=sort,
            limit=query.limit,
            offset=query.offset,
        )

    def _order(
        self,
        matches: TextMatches | None,
        similarity: SimilarityScan | None,
        selected: npt.NDArray[np.int64],
        sort: Sort,
        want: int,
    ) -> _Order:
        """The best `want` selected rows (positions) in the query's order, with their relevance."""
        index = self.index
        key: str | npt.NDArray[np.floating[Any]]
        if sort == "relevance" and similarity is not None:
            index.settle_top(similarity, selected, want)  # the order of exact similarities
            key = similarity.values
        elif sort == "relevance" and matches is not None:
            # BM25 for the selected rows only; ordered on the float64 values, shown as float32.
            key = np.full(len(matches.mask), -np.inf, dtype=np.float64)
            key[selected] = index.text_relevance(matches, selected)
        elif sort == "date":
            key = "created"
        elif sort == "engagement":
            key = "engagement"
        else:
            key = "score"
        total, ids, values = index.page(selected, key=key, limit=want, offset=0)
        relevance: list[float | None]
        if similarity is not None:
            index.settle(similarity, index.rows_of(ids))  # the page reports exact similarities
            relevance = index.gather(ids, similarity.values)
        elif matches is not None:
            if sort != "relevance":  # sorted by treasure or date: only the page needs a relevance
                values = index.text_relevance(matches, index.rows_of(ids)).tolist()
            relevance = [_as_float32(v) for v in values]
        else:
            relevance = [None] * len(ids)
        return _Order(total, ids, relevance, complete=len(ids) >= total)

    def _search_sql(self, query: LibraryQuery, parsed: SearchQuery | None, sort: Sort) -> LibraryPage:
        with session_scope(self.engine) as session:
            total, rows = search_sql(
                session,
                filters=query.filters,
                query=parsed,
                sort=sort,
                limit=query.limit,
                offset=query.offset,
            )
            facets = facets_sql(session, filters=query.filters, query=parsed) if query.with_facets else {}
            entries = queue_entries(session, post_ids=[pid for pid, _ in rows])
        relevance = dict(rows)
        return LibraryPage(
            total=total,
            items=[LibraryHit(e, relevance.get(e.card.id)) for e in entries],
            facets=facets,
            sort=sort,
            limit=query.limit,
            offset=query.offset,
        )


def _as_float32(value: float | None) -> float | None:
    """A relevance as the index keeps it (float32), so both sorts report the same number."""
    return None if value is None else float(np.float32(value))
