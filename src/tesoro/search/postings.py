"""Full-text matching and BM25 ranking in memory, over the library index's rows.

Why in memory: at a million posts a text query spent most of its time in the
database, and for reasons that grow with the number of matches, not with the page:
SQLite's `bm25()` reads every match's document size (about a microsecond each),
PostgreSQL rechecks and ranks every match from its heap page. The library index
already holds every row's filter columns, so it holds the words too and answers
the whole query itself, the same way on both backends.

What is kept, per row of the library index (positions, not post ids):

- the forward index: every row's search document as vocabulary ids, one flat
  `int32` array with a start and a length per row (phrases are checked on it,
  and it is what the inverted index is rebuilt from);
- the inverted index ("base"): for each word, the rows holding it, ascending, and
  how often it occurs there (one sort of (word, row) keys builds it);
- the rows whose document changed, or that arrived, since the base was built
  ("dirty" rows): the base ignores them and their current words are scanned
  directly. Past `rebuild_rows` of them (or a tenth of the rows) the next query
  rebuilds the base, compacting the forward index too.

Documents are the stored `curation_item.doc` (folded, stemmed words separated by
spaces, see `tesoro.text.search`), so a word here is exactly a token of the full-text
backends, and a query means the same thing in memory as in SQL.

Ranking is BM25 as SQLite FTS5 computes it (`bm25()`: k1 = 1.2, b = 0.75; each
phrase of the query weighs in with its own document frequency over all rows, a
phrase's frequency in a row being its number of occurrences, a prefix's the number
of words it matches there). On SQLite the in-memory relevance is FTS5's own
number; PostgreSQL's SQL-only path keeps `ts_rank`, so only there the two paths
can order ties of meaning differently.
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

from tesoro.text.search import QueryTerm, SearchQuery

__all__ = ["BM25_B", "BM25_K1", "TermHits", "TextIndex", "TextMatches"]

BM25_K1 = 1.2
BM25_B = 0.75
# At least this many changed rows before a query rebuilds the base (below it, scanning them is cheaper).
_REBUILD_ROWS = 50_000

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class TermHits:
    """The rows (ascending, unique) holding one query term, and its occurrences in each."""

    rows: IntArray
    tf: npt.NDArray[np.float64]

    @staticmethod
    def empty() -> TermHits:
        return TermHits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class TextMatches:
    """What one query matched: a row mask, and what BM25 needs to rank any of those rows."""

    mask: BoolArray
    terms: tuple[TermHits, ...]  # every positive term of the query, in order (OR alternatives too)
    n_rows: int  # rows in the index (N)
    average_length: float  # words per row
    lengths: npt.NDArray[np.int32]  # words of each row


def _spans(starts: IntArray, lengths: npt.NDArray[Any]) -> tuple[IntArray, IntArray]:
    """Positions covered by the spans (start, length), in order, and which span each came from."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    label = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    first = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1], out=first[1:])
    positions = np.arange(total, dtype=np.int64) + (starts - first)[label]
    return positions, label


def doc_hash(doc: str) -> int:
    """A document's fingerprint, the same in every process (snapshots keep it; `hash` is salted)."""
    data = doc.encode()
    return (len(data) << 32) | zlib.crc32(data)


def _one_of(values: npt.NDArray[Any], ids: IntArray) -> BoolArray:
    return values == ids[0] if len(ids) == 1 else np.isin(values, ids)


class TextIndex:
    """Words of every row's search document; not thread-safe (the library index locks around it)."""

    def __init__(self, *, rebuild_rows: int = _REBUILD_ROWS) -> None:
        self.rebuild_rows = rebuild_rows
        self._vocab: dict[str, int] = {}
        self._words: list[str] = []
        # Words sorted, for prefixes; words added since (ids >= _sorted_upto) are checked one by one.
        self._sorted_words: list[str] = []
        self._sorted_ids = np.zeros(0, dtype=np.int64)
        self._sorted_upto = 0
        # Forward index.
        self._tokens = np.zeros(1024, dtype=np.int32)
        self._used = 0
        self._n = 0
        self._start = np.zeros(0, dtype=np.int64)
        self._length = np.zeros(0, dtype=np.int32)
        self._hash = np.zeros(0, dtype=np.int64)
        self._total_words = 0
        # Inverted index over the rows that were clean at the last rebuild.
        self._post_rows = np.zeros(0, dtype=np.int32)
        self._post_tf = np.zeros(0, dtype=np.uint16)
        self._term_start = np.zeros(1, dtype=np.int64)
        self._dirty = np.zeros(0, dtype=np.bool_)
        self._dirty_rows: list[int] = []
        self._delta: tuple[npt.NDArray[np.int32], IntArray] | None = None

    # ------------------------------------------------------------------ writing

    def __len__(self) -> int:
        return self._n

    @property
    def nbytes(self) -> int:
        arrays = (self._tokens, self._start, self._length, self._hash, self._post_rows, self._post_tf)
        return sum(int(a.nbytes) for a in arrays) + int(self._term_start.nbytes) + int(self._dirty.nbytes)

    @property
    def pending(self) -> int:
        """Rows changed since the inverted index was last built."""
        return len(self._dirty_rows)

    def _reserve_rows(self, n: int) -> None:
        if n <= len(self._start):
            return
        size = max(n, 2 * len(self._start), 1024)
        columns = (("_start", np.int64), ("_length", np.int32), ("_hash", np.int64), ("_dirty", np.bool_))
        for name, dtype in columns:
            old = getattr(self, name)
            grown = np.zeros(size, dtype=dtype)
            grown[: len(old)] = old
            setattr(self, name, grown)

    def _append_tokens(self, ids: npt.NDArray[np.int32]) -> int:
        start = self._used
        end = start + len(ids)
        if end > len(self._tokens):
            grown = np.zeros(max(end, 2 * len(self._tokens)), dtype=np.int32)
            grown[: self._used] = self._tokens[: self._used]
            self._tokens = grown
        self._tokens[start:end] = ids
        self._used = end
        return start

    def set_docs(self, rows: Sequence[int] | IntArray, docs: Sequence[str]) -> int:
        """Set these rows' search documents (new rows continue the numbering); returns how many changed."""
        at = np.asarray(rows, dtype=np.int64)
        if len(at) != len(docs):
            raise ValueError("one document per row")
        if not len(at):
            return 0
        if len(np.unique(at)) != len(at):  # a row given twice: its last document counts
            last = {row: i for i, row in enumerate(at.tolist())}
            pick = sorted(last.values())
            at, docs = at[pick], [docs[i] for i in pick]
        top = int(at.max()) + 1
        self._reserve_rows(top)
        hashes = np.fromiter(map(doc_hash, docs), dtype=np.int64, count=len(docs))
        fresh = at >= self._n
        changed = np.flatnonzero(fresh | (self._hash[at] != hashes))
        self._n = max(self._n, top)
        if not len(changed):
            return 0
        split = [docs[i].split() for i in changed.tolist()]
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        flat = list(chain.from_iterable(split))
        vocab = self._vocab
        for word in set(flat).difference(vocab):
            vocab[word] = len(self._words)
            self._words.append(word)
        ids = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int32, count=len(flat))
        where = at[changed]
        old = np.where(fresh[changed], 0, self._length[where])
        self._total_words += int(lengths.sum()) - int(old.sum())
        start = self._append_tokens(ids)
        starts = np.zeros(len(where), dtype=np.int64)
        if len(where) > 1:
            np.cumsum(lengths[:-1], out=starts[1:])
        self._start[where] = start + starts
        self._length[where] = lengths
        self._hash[where] = hashes[changed]
        newly = where[~self._dirty[where]]
        self._dirty[newly] = True
        self._dirty_rows.extend(newly.tolist())
        self._delta = None
        return len(changed)

    def rebuild(self) -> None:
        """Build the inverted index from the forward index (compacting it): no row is dirty after."""
        n = self._n
        lengths = self._length[:n]
        positions, label = _spans(self._start[:n], lengths)
        tokens = self._tokens[positions]
        self._tokens = tokens if len(tokens) else np.zeros(1024, dtype=np.int32)
        self._used = len(tokens)
        starts = np.zeros(n, dtype=np.int64)
        if n > 1:
            np.cumsum(lengths[:-1], out=starts[1:])
        self._start[:n] = starts
        # One sort of (word << 32 | row) keys groups the occurrences by word, rows ascending within.
        keys = (tokens.astype(np.int64) << 32) | label
        del positions, label
        keys.sort()
        if len(keys):
            first = np.empty(len(keys), dtype=np.bool_)
            first[0] = True
            np.not_equal(keys[1:], keys[:-1], out=first[1:])
            at = np.flatnonzero(first)
            counts = np.diff(np.append(at, len(keys)))
            pairs = keys[at]
        else:
            counts = np.zeros(0, dtype=np.int64)
            pairs = keys
        vocabulary = len(self._words)
        self._post_rows = (pairs & 0xFFFFFFFF).astype(np.int32)
        self._post_tf = np.minimum(counts, np.iinfo(np.uint16).max).astype(np.uint16)
        self._term_start = np.zeros(vocabulary + 1, dtype=np.int64)
        np.cumsum(np.bincount(pairs >> 32, minlength=vocabulary), out=self._term_start[1:])
        self._dirty[:] = False
        self._dirty_rows = []
        self._delta = None
        order = sorted(range(vocabulary), key=self._words.__getitem__)
        self._sorted_words = [self._words[i] for i in order]
        self._sorted_ids = np.asarray(order, dtype=np.int64)
        self._sorted_upto = vocabulary

    # ------------------------------------------------------------------ snapshots

    def snapshot_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays a snapshot keeps (rebuild first: a snapshot holds no changed rows)."""
        if self._dirty_rows:
            self.rebuild()
        n = self._n
        words = "\n".join(self._words).encode()  # a word never holds white space
        return {
            "tokens": self._tokens[: self._used],
            "start": self._start[:n],
            "length": self._length[:n],
            "hash": self._hash[:n],
            "dirty": self._dirty[:n],
            "post_rows": self._post_rows,
            "post_tf": self._post_tf,
            "term_start": self._term_start,
            "words": np.frombuffer(words, dtype=np.uint8),
            "sorted_ids": self._sorted_ids,
        }

    def snapshot_meta(self) -> dict[str, Any]:
        return {"n": self._n, "used": self._used, "total_words": self._total_words, "words": len(self._words)}

    @classmethod
    def from_snapshot(
        cls, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]], *, rebuild_rows: int = _REBUILD_ROWS
    ) -> TextIndex:
        """A text index over a snapshot's arrays (not copied); the vocabulary is read into this process."""
        text = cls(rebuild_rows=rebuild_rows)
        count = int(meta["words"])
        words = arrays["words"].tobytes().decode().split("\n") if count else []
        if len(words) != count:
            raise ValueError(f"the snapshot's vocabulary holds {len(words)} words, its manifest says {count}")
        text._words = words
        text._vocab = {word: i for i, word in enumerate(words)}
        text._sorted_ids = np.asarray(arrays["sorted_ids"], dtype=np.int64)
        text._sorted_words = [words[i] for i in text._sorted_ids.tolist()]
        text._sorted_upto = count
        text._tokens = arrays["tokens"]
        text._used = int(meta["used"])
        text._n = int(meta["n"])
        text._start, text._length = arrays["start"], arrays["length"]
        text._hash, text._dirty = arrays["hash"], arrays["dirty"]
        text._total_words = int(meta["total_words"])
        text._post_rows, text._post_tf = arrays["post_rows"], arrays["post_tf"]
        text._term_start = arrays["term_start"]
        return text

    # ------------------------------------------------------------------ reading

    def _word_ids(self, token: str, prefix: bool) -> IntArray:
        """Vocabulary ids of the token, or of every word starting with it."""
        if not prefix:
            found = self._vocab.get(token)
            return np.asarray([] if found is None else [found], dtype=np.int64)
        words = self._sorted_words
        lo = bisect_left(words, token)
        hi = bisect_left(words, token[:-1] + chr(ord(token[-1]) + 1), lo)
        late = [i for i in range(self._sorted_upto, len(self._words)) if self._words[i].startswith(token)]
        ids = self._sorted_ids[lo:hi]
        return np.sort(np.concatenate([ids, np.asarray(late, dtype=np.int64)])) if late else ids

    def _delta_tokens(self) -> tuple[npt.NDArray[np.int32], IntArray]:
        """The dirty rows' current words, flat, with the row of each."""
        if self._delta is None:
            rows = np.asarray(sorted(self._dirty_rows), dtype=np.int64)
            positions, label = _spans(self._start[rows], self._length[rows])
            self._delta = (self._tokens[positions], rows[label])
        return self._delta

    def _word_hits(self, ids: IntArray) -> TermHits:
        """Rows holding any of the words, with the words' total occurrences in each."""
        if not len(ids):
            return TermHits.empty()
        parts_rows: list[IntArray] = []
        parts_tf: list[npt.NDArray[Any]] = []
        known = ids[ids < len(self._term_start) - 1]
        if len(known):
            lo, hi = self._term_start[known], self._term_start[known + 1]
            positions, _ = _spans(lo, hi - lo)
            base_rows = self._post_rows[positions].astype(np.int64)
            base_tf = self._post_tf[positions]
            if self._dirty_rows:
                clean = ~self._dirty[base_rows]
                base_rows, base_tf = base_rows[clean], base_tf[clean]
            parts_rows.append(base_rows)
            parts_tf.append(base_tf)
        if self._dirty_rows:
            tokens, owners = self._delta_tokens()
            found = owners[_one_of(tokens, ids)]
            if len(found):
                delta_rows, counts = np.unique(found, return_counts=True)
                parts_rows.append(delta_rows)
                parts_tf.append(counts)
        if not parts_rows:
            return TermHits.empty()
        rows = np.concatenate(parts_rows)
        tf = np.concatenate(parts_tf).astype(np.float64)
        if len(known) > 1 or len(parts_rows) > 1:
            # Several words (a prefix) or both parts: the same row may come more than once.
            rows, inverse = np.unique(rows, return_inverse=True)
            tf = np.bincount(inverse, weights=tf, minlength=len(rows)).astype(np.float64)
        return TermHits(rows, tf)

    def _phrase_hits(self, term: QueryTerm) -> TermHits:
        """Rows holding the words in this order (the last one a prefix, if so), and how many times."""
        last = len(term.tokens) - 1
        ids = [self._word_ids(tok, term.prefix and i == last) for i, tok in enumerate(term.tokens)]
        if any(not len(x) for x in ids):
            return TermHits.empty()
        candidates = self._word_hits(ids[0]).rows
        for more in ids[1:]:
            if not len(candidates):
                return TermHits.empty()
            candidates = np.intersect1d(candidates, self._word_hits(more).rows, assume_unique=True)
        width = len(ids)
        room = np.maximum(self._length[candidates].astype(np.int64) - width + 1, 0)
        positions, label = _spans(self._start[candidates], room)
        for offset, wanted in enumerate(ids):
            keep = _one_of(self._tokens[positions + offset], wanted)
            positions, label = positions[keep], label[keep]
        counts = np.bincount(label, minlength=len(candidates))
        found = counts > 0
        return TermHits(candidates[found], counts[found].astype(np.float64))

    def _term_hits(self, term: QueryTerm) -> TermHits:
        if len(term.tokens) == 1:
            return self._word_hits(self._word_ids(term.tokens[0], term.prefix))
        return self._phrase_hits(term)

    def match(self, query: SearchQuery) -> TextMatches:
        """The rows matching the query (every group, none of the exclusions)."""
        if len(self._dirty_rows) > max(self.rebuild_rows, self._n // 10):
            self.rebuild()
        n = self._n
        known: dict[QueryTerm, TermHits] = {}

        def hits(term: QueryTerm) -> TermHits:
            key = QueryTerm(term.tokens, term.prefix)
            if key not in known:
                known[key] = self._term_hits(key)
            return known[key]

        mask = np.ones(n, dtype=np.bool_)
        positive: list[TermHits] = []
        for group in query.groups:
            either = np.zeros(n, dtype=np.bool_)
            for term in group:
                found = hits(term)
                either[found.rows] = True
                positive.append(found)
            mask &= either
        for term in query.excluded:
            mask[hits(term).rows] = False
        average = self._total_words / n if n else 0.0
        return TextMatches(mask, tuple(positive), n, average, self._length[:n])

    @staticmethod
    def scores(matches: TextMatches, rows: IntArray) -> npt.NDArray[np.float64]:
        """BM25 of the given rows for the matched query (FTS5's formula, higher is better)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=np.float64)
        if not len(rows) or not matches.n_rows:
            return out
        average = matches.average_length or 1.0
        norm = BM25_K1 * (1 - BM25_B + BM25_B * matches.lengths[rows] / average)
        dense = len(rows) * 8 > matches.n_rows
        for term in matches.terms:
            hit = len(term.rows)
            if not hit:
                continue
            idf = math.log((matches.n_rows - hit + 0.5) / (hit + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            if dense:
                per_row = np.zeros(matches.n_rows, dtype=np.float64)
                per_row[term.rows] = term.tf
                tf = per_row[rows]
            else:
                at = np.minimum(np.searchsorted(term.rows, rows), hit - 1)
                tf = np.where(term.rows[at] == rows, term.tf[at], 0.0)
            out += idf * (tf * (BM25_K1 + 1.0)) / (tf + norm)
        return out
