"""The hidden-treasure library: search approved and featured posts by words, by meaning, by facets.

`Library.search` answers one coordinator query: free text (the database's full-text
index), meaning (the query encoded like the posts and compared with their
embeddings: "people using the shoe on a trail" finds posts that never use those
words), filters, multi-select facet counts, sorting and paging.

The encoder is injected (`encode(texts) -> normalized rows`): production passes the
scoring encoder (`tesoro.scoring.encoder.load_encoder(...).encode`), tests a tiny
deterministic one, and a process without a model still serves text search.

By default the in-process `LibraryIndex` does the filtering and counting (fast,
see `curator.index`); `use_index=False` runs the same query in SQL only
(`store.library`), for one-off commands that should not load every embedding.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine

from tesoro.curator.index import LibraryIndex
from tesoro.curator.text import SearchQuery, SearchQueryError, parse_search_query
from tesoro.settings import CuratorSettings
from tesoro.store.curation import QueueEntry, queue_entries
from tesoro.store.engine import session_scope
from tesoro.store.library import LIBRARY_STATES, LibraryFilters, Sort, facets_sql, search_sql, text_matches

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
        self.index = index if index is not None else LibraryIndex()
        self._encode_lock = threading.Lock()

    def invalidate(self) -> None:
        """Call after writing decisions in this process: the next search sees them."""
        self.index.invalidate()

    def warm(self) -> None:
        """Load the index now (at start-up) rather than on the first search."""
        with session_scope(self.engine) as session:
            self.index.refresh(session, force=True)

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        if self.encode is None:
            raise LibraryError(
                "searching by meaning needs the sentence encoder, which this process has not loaded"
            )
        with self._encode_lock:
            rows = np.asarray(self.encode([text]), dtype=np.float32)
        if rows.ndim != 2 or rows.shape[0] != 1:
            raise LibraryError("the encoder returned an unexpected shape")
        return np.asarray(rows[0], dtype=np.float32)

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
        with session_scope(self.engine) as session:
            index = self.index
            index.refresh(session)
            extra = None
            relevance = None
            if parsed is not None:
                matches = text_matches(session, query=parsed)
                relevance = index.scatter([m[0] for m in matches], [m[1] for m in matches])
                extra = np.isfinite(relevance)
            if vector is not None:
                # Facets count values outside the current filters too, so they need every similarity.
                candidates = (
                    index.mask(LibraryFilters(states=()), extra)
                    if query.with_facets
                    else index.mask(query.filters, extra)
                )
                similarity = index.similarities(vector, candidates)
                threshold = (
                    query.min_similarity
                    if query.min_similarity is not None
                    else self.settings.semantic_min_similarity
                )
                close = similarity >= threshold
                extra = close if extra is None else (extra & close)
                relevance = similarity
            selected = index.mask(query.filters, extra)
            facets = index.facets(query.filters, extra) if query.with_facets else {}
            key: str | npt.NDArray[np.float32]
            if sort == "relevance" and relevance is not None:
                key = relevance
            elif sort == "date":
                key = "created"
            else:
                key = "score"
            total, ids, _ = index.page(selected, key=key, limit=query.limit, offset=query.offset)
            scores = index.gather(ids, relevance) if relevance is not None else [None] * len(ids)
            entries = queue_entries(session, post_ids=ids)
        by_id = dict(zip(ids, scores, strict=True))
        return LibraryPage(
            total=total,
            items=[LibraryHit(e, by_id.get(e.card.id)) for e in entries],
            facets=facets,
            sort=sort,
            limit=query.limit,
            offset=query.offset,
        )

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
