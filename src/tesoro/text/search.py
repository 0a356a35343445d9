"""The library's search words: stemming, the stored search document, and the coordinator's query syntax.

The library's full-text search runs in memory (`tesoro.search`), on SQLite FTS5 in the
embedded mode and on PostgreSQL `tsvector` in the scaled-out mode. Their tokenizers and
stemmers differ (FTS5 has no Spanish stemmer, PostgreSQL's `unaccent` is an extension that may
not be installed), so a query would match different posts depending on the backend. Instead,
Tesoro folds (`tesoro.text.fold`, the same rule as listening queries) and stems the text here,
in Python, before any backend sees it: the stored search document and the query go through the
same functions, and the backends only split on spaces. Same words in, same posts out.

The stemmer is deliberately light: plural endings (English and Spanish) and the
English -ing/-ed forms, with Porter's step-1b repairs ("hiking" -> "hike",
"running" -> "run"). A heavier stemmer would merge words a coordinator wants kept
apart, and the meaning search covers paraphrases anyway.

Nothing here writes a backend's syntax: `parse_search_query` gives a `SearchQuery` (groups of
terms), and the store renders it as an FTS5 MATCH or a `tsquery` (`tesoro.store.fulltext`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tesoro.text.fold import words

__all__ = [
    "QueryTerm",
    "SearchQuery",
    "SearchQueryError",
    "light_stem",
    "parse_search_query",
    "search_document",
    "skeleton_tokens",
]

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w])@[\w.@-]+")
_HASHTAG = re.compile(r"(?<![\w&/])#[^\W_][\w]*")
_RT = re.compile(r"^\s*(?:rt|via)\b[:\s]*", re.IGNORECASE)
_VOWELS = frozenset("aeiou")


def _is_consonant(word: str, i: int) -> bool:
    ch = word[i]
    if ch in _VOWELS:
        return False
    if ch == "y":
        return i == 0 or not _is_consonant(word, i - 1)
    return ch.isalpha()


def _measure(stem: str) -> int:
    """Porter's m: the number of vowel-consonant sequences in `stem`."""
    m = 0
    previous_vowel = False
    for i in range(len(stem)):
        consonant = _is_consonant(stem, i)
        if consonant and previous_vowel:
            m += 1
        previous_vowel = not consonant
    return m


def _has_vowel(stem: str) -> bool:
    return any(not _is_consonant(stem, i) for i in range(len(stem)))


def _cvc(stem: str) -> bool:
    """Consonant-vowel-consonant ending, the last not w, x or y (Porter: 'hop' -> 'hope' repair)."""
    if len(stem) < 3:
        return False
    return (
        _is_consonant(stem, len(stem) - 3)
        and not _is_consonant(stem, len(stem) - 2)
        and _is_consonant(stem, len(stem) - 1)
        and stem[-1] not in "wxy"
    )


def light_stem(word: str) -> str:
    """Strip plural and -ing/-ed endings from one folded word (see the module docstring for why)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses") or (word.endswith("es") and word[:-2].endswith(("x", "z", "ch", "sh"))):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if not _has_vowel(stem):
                break
            if stem.endswith(("at", "bl", "iz")):
                return stem + "e"
            if (
                len(stem) >= 2
                and stem[-1] == stem[-2]
                and stem[-1] not in "lsz"
                and _is_consonant(stem, len(stem) - 1)
            ):
                return stem[:-1]
            if _measure(stem) == 1 and _cvc(stem):
                return stem + "e"
            return stem
    return word


def search_document(*parts: str | None) -> str:
    """The text both full-text backends index: folded, stemmed words separated by spaces."""
    return " ".join(light_stem(w) for part in parts if part for w in words(part))


def skeleton_tokens(text: str) -> list[str]:
    """The words that make a post's content, for duplicate detection.

    Links, @mentions, #hashtags and a leading "RT"/"via" are what a repost changes
    (shortened links, a tagged original author, platform-specific tags), so they are
    dropped before two posts are compared.
    """
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _HASHTAG.sub(" ", text)
    text = _RT.sub("", text)
    return words(text)


# --------------------------------------------------------------------------- the query language


class SearchQueryError(ValueError):
    """A library query that cannot be searched (only exclusions, unbalanced quotes)."""


@dataclass(frozen=True, slots=True)
class QueryTerm:
    """One searchable unit: a word, a prefix (`trail*`) or a phrase (several words, in order)."""

    tokens: tuple[str, ...]
    prefix: bool = False
    negated: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A query in conjunctive normal form: every group must match; within a group, any term.

    Every token is a folded, stemmed word (letters, digits and their marks, never a quote, an
    operator or a space), which is what lets the store and the index render it safely.
    """

    groups: tuple[tuple[QueryTerm, ...], ...]
    excluded: tuple[QueryTerm, ...] = ()


_QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"(\*?)|(\S+)')


def _term(raw: str, *, quoted: bool, prefix: bool, negated: bool) -> QueryTerm | None:
    tokens = words(raw)
    if not tokens:
        return None
    if prefix and not quoted and len(tokens) == 1:
        return QueryTerm((tokens[0],), prefix=True, negated=negated)
    return QueryTerm(tuple(light_stem(t) for t in tokens), prefix=prefix, negated=negated)


def parse_search_query(text: str) -> SearchQuery:
    """Parse a coordinator's search box: words (all must match), "exact phrases", `OR`, `-word`, `prefix*`.

    Words are folded and stemmed exactly like the indexed documents. Anything that
    is not a word (punctuation, emoji, operators of other languages) is dropped
    rather than rejected, so a pasted sentence always searches for its words.
    """
    if text.count('"') % 2:
        raise SearchQueryError("unbalanced quotes in the search query")
    groups: list[list[QueryTerm]] = []
    excluded: list[QueryTerm] = []
    join_next = False
    for match in _QUERY_TOKEN.finditer(text):
        neg, phrase, star, bare = match.groups()
        if bare is not None:
            if bare == "OR":
                join_next = bool(groups)
                continue
            negated = bare.startswith("-") and len(bare) > 1
            raw = bare[1:] if negated else bare
            prefix = raw.endswith("*")
            if prefix and "*" in raw[:-1]:
                raw = raw.replace("*", " ")
            term = _term(raw.rstrip("*"), quoted=False, prefix=prefix, negated=negated)
            if term is not None and len(term.tokens) > 1:
                # 'e-mail' or "don't": the pieces of one written word must appear together.
                term = QueryTerm(term.tokens, prefix=term.prefix, negated=negated)
        else:
            negated = neg == "-"
            term = _term(phrase, quoted=True, prefix=star == "*", negated=negated)
        if term is None:
            continue
        if term.negated:
            excluded.append(term)
            join_next = False
            continue
        if join_next and groups:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    if not groups:
        raise SearchQueryError("the search query has no word to look for (only exclusions or punctuation)")
    return SearchQuery(tuple(tuple(g) for g in groups), tuple(excluded))
