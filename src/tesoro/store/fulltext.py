"""The database forms of a parsed library query: an FTS5 MATCH expression and a PostgreSQL tsquery.

The query syntax itself (`tesoro.text.search`) knows nothing of SQL; the store renders it
here, for the backend it talks to. Both renderings quote every token, and a token is a
folded, stemmed word (letters, digits and their marks: `tesoro.text.fold.WORD`), so nothing a
coordinator types can become an operator of either backend.
"""

from __future__ import annotations

from tesoro.text.search import QueryTerm, SearchQuery

__all__ = ["fts5_match", "tsquery_text"]


def _fts5_term(term: QueryTerm) -> str:
    quoted = '"' + " ".join(term.tokens) + '"'
    return quoted + "*" if term.prefix else quoted


def fts5_match(query: SearchQuery) -> str:
    """The SQLite FTS5 MATCH expression of `query`."""
    parts = []
    for group in query.groups:
        inner = " OR ".join(_fts5_term(t) for t in group)
        parts.append(f"({inner})" if len(group) > 1 else inner)
    expression = " AND ".join(parts)
    for t in query.excluded:
        expression = f"({expression}) NOT {_fts5_term(t)}"
    return expression


def _lexeme(token: str, prefix: bool) -> str:
    return f"'{token}'" + (":*" if prefix else "")


def _tsquery_term(term: QueryTerm) -> str:
    if len(term.tokens) == 1:
        return _lexeme(term.tokens[0], term.prefix)
    last = len(term.tokens) - 1
    lexemes = (_lexeme(tok, term.prefix and i == last) for i, tok in enumerate(term.tokens))
    return "(" + " <-> ".join(lexemes) + ")"


def tsquery_text(query: SearchQuery) -> str:
    """The text of PostgreSQL's `to_tsquery('simple', ...)` for `query` (phrases as `<->`)."""
    parts = []
    for group in query.groups:
        inner = " | ".join(_tsquery_term(t) for t in group)
        parts.append(f"({inner})" if len(group) > 1 else inner)
    parts.extend(f"!{_tsquery_term(t)}" for t in query.excluded)
    return " & ".join(parts)
