"""Stemming, search documents and the library's query language; its FTS5 and PostgreSQL forms agree."""

from __future__ import annotations

import re

import pytest

from tesoro.store.fulltext import fts5_match, tsquery_text
from tesoro.text.search import (
    SearchQueryError,
    light_stem,
    parse_search_query,
    search_document,
    skeleton_tokens,
)


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("shoes", "shoe"),
        ("hiking", "hike"),
        ("hike", "hike"),
        ("running", "run"),
        ("trails", "trail"),
        ("boxes", "box"),
        ("stories", "story"),
        ("zapatillas", "zapatilla"),
        ("focus", "focus"),
        ("tested", "test"),
        ("this", "this"),
    ],
)
def test_light_stem(word: str, stem: str) -> None:
    assert light_stem(word) == stem


def test_documents_and_queries_fold_the_same_way() -> None:
    assert search_document("Hiking the Cajón", "with my SHOES!") == "hike the cajon with my shoe"
    query = parse_search_query('Canción "trail runners" OR zapatillas -lluvia hik* ¿qué?')
    fts5 = '("cancion" AND ("trail runner" OR "zapatilla") AND "hik"* AND "que") NOT "lluvia"'
    assert fts5_match(query) == fts5
    tsquery = "'cancion' & (('trail' <-> 'runner') | 'zapatilla') & 'hik':* & 'que' & !'lluvia'"
    assert tsquery_text(query) == tsquery


def test_enye_survives_in_documents_queries_and_their_database_forms() -> None:
    assert search_document("¡Feliz AÑO!", "Los años y el ano") == "feliz año los año y el ano"
    query = parse_search_query('"feliz año" -ano')
    assert fts5_match(query) == '("feliz año") NOT "ano"'
    assert tsquery_text(query) == "('feliz' <-> 'año') & !'ano'"


def test_hostile_queries_cannot_inject_operators() -> None:
    query = parse_search_query('NEAR(a b) col:x \' OR 1=1 -- " " AND')
    # Outside the quoted words, only the operators Tesoro itself writes remain.
    assert re.fullmatch(r'(?:"[a-z0-9 ]+"\*?|AND|OR|NOT|[() ])+', fts5_match(query))
    assert re.fullmatch(r"(?:'[a-z0-9]+'(?::\*)?|[()&|! ]|<->)+", tsquery_text(query))
    with pytest.raises(SearchQueryError):
        parse_search_query("-only -excluded")
    with pytest.raises(SearchQueryError):
        parse_search_query('"unbalanced')


def test_skeleton_ignores_what_reposts_change() -> None:
    a = skeleton_tokens("Great day on the trail! #andesoutdoor https://t.co/abc @friend")
    b = skeleton_tokens("RT @maria: great day on the TRAIL #Trail")
    assert a == b == ["great", "day", "on", "the", "trail"]
