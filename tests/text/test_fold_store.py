"""The stored search documents, the database's full-text index and the in-memory index fold alike.

The document is folded in Python (`tesoro.text.fold`); SQLite's FTS5 tokenizer and PostgreSQL's
`simple` configuration must not fold it again, or "año" would find "ano" on one backend only.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from tesoro.curator.queue import decide
from tesoro.curator.ranking import rank_posts
from tesoro.search.index import LibraryIndex
from tesoro.settings import CuratorSettings
from tesoro.store.engine import session_scope
from tesoro.store.library import text_matches
from tesoro.text.search import parse_search_query
from worlds.curator import NOW, Spec, seed

TEXTS = {
    "year": "¡Feliz AÑO nuevo para todos!",
    "year-combining": "feliz an\u0303o con la familia",
    "other": "feliz ano, dice el meme",
    "song": "La CANCIÓN del verano",
    "coffee": "un cafe por favor",
    "bird": "Un Ñandú en la ruta",
}

# (query, the posts it finds)
CASES = [
    ("año", {"year", "year-combining"}),
    ("AÑO", {"year", "year-combining"}),
    ("ano", {"other"}),
    ("años", {"year", "year-combining"}),
    ('"feliz año"', {"year", "year-combining"}),
    ("feliz -año", {"other"}),
    ("an*", {"other"}),  # "año" does not start with "an"
    ("añ*", {"year", "year-combining"}),
    ("cancion", {"song"}),
    ("CAFÉ", {"coffee"}),
    ("ñandu", {"bird"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_database_and_index_fold_alike(engine: Engine, text: str, expected: set[str]) -> None:
    data = seed(engine, [Spec(key, body, author=f"a-{key}", language="es") for key, body in TEXTS.items()])
    rank_posts(engine, CuratorSettings(), now=NOW)
    with session_scope(engine) as session:
        decide(session, post_ids=list(data.ids.values()), action="approve", actor="lucia")
    names = {pid: key for key, pid in data.ids.items()}
    query = parse_search_query(text)
    index = LibraryIndex(min_refresh_s=0.0)
    with session_scope(engine) as session:
        index.refresh(session, force=True)
        in_database = {names[pid] for pid, _ in text_matches(session, query=query)}
    in_memory = {names[int(pid)] for pid in index.post_ids_at(np.flatnonzero(index.text_match(query).mask))}
    assert in_database == in_memory == expected
