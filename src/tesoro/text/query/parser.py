"""Lexer and recursive-descent parser of the listening language (the grammar is in `_Parser`).

Every malformed input raises `QuerySyntaxError` with the position of the mistake, and nothing
else, so the settings loader, the CLI and the UI can pass user input straight in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tesoro.text.query.errors import QuerySyntaxError
from tesoro.text.query.nodes import (
    Atom,
    Hashtag,
    Lang,
    Mention,
    Node,
    Not,
    Phrase,
    Term,
    and_of,
    hashtag_problem,
    lang_problem,
    mention_problem,
    or_of,
    phrase_problem,
    term_problem,
)
from tesoro.text.query.tokens import KEYWORDS

__all__ = ["parse"]

_Kind = Literal["atom", "and", "or", "not", "minus", "lparen", "rparen", "end"]
_KEYWORD_KINDS: dict[str, _Kind] = {"AND": "and", "OR": "or", "NOT": "not"}
_OPERAND_STARTS = frozenset({"atom", "not", "minus", "lparen"})
_MAX_DEPTH = 64  # nesting of parentheses and negations; keeps recursion far from Python's limit


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    pos: int
    text: str
    atom: Atom | None = None


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token("lparen" if ch == "(" else "rparen", i, ch))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError("unterminated quote: the phrase needs a closing '\"'", i, query)
            text = query[i + 1 : end]
            if (problem := phrase_problem(text)) is not None:
                raise QuerySyntaxError(problem[0], i, query)
            tokens.append(_Token("atom", i, query[i : end + 1], Phrase(text)))
            i = end + 1
        elif ch == "-":
            following = query[i + 1 : i + 2]
            if not following or following.isspace() or following == ")":
                raise QuerySyntaxError(
                    "'-' must be directly followed by what to exclude, e.g. -word", i, query
                )
            tokens.append(_Token("minus", i, ch))
            i += 1
        else:
            end = i
            while end < n and not query[end].isspace() and query[end] not in '()"':
                end += 1
            tokens.append(_word_token(query, i, end))
            i = end
    tokens.append(_Token("end", n, ""))
    return tokens


def _word_token(query: str, start: int, end: int) -> _Token:
    """Classify one run of non-separator characters: keyword, #tag, @mention, lang: or term."""
    run = query[start:end]
    if run in KEYWORDS:
        return _Token(_KEYWORD_KINDS[run], start, run)

    def fail(problem: tuple[str, int], prefix_len: int) -> QuerySyntaxError:
        return QuerySyntaxError(problem[0], start + prefix_len + problem[1], query)

    atom: Atom
    if run[0] == "#":
        if len(run) == 1:
            raise QuerySyntaxError("'#' must be followed by a hashtag, e.g. #nike", start, query)
        if (problem := hashtag_problem(run[1:])) is not None:
            raise fail(problem, 1)
        atom = Hashtag(run[1:])
    elif run[0] == "@":
        if len(run) == 1:
            raise QuerySyntaxError("'@' must be followed by an account, e.g. @nike", start, query)
        if (problem := mention_problem(run[1:])) is not None:
            raise fail(problem, 1)
        atom = Mention(run[1:])
    elif run[:5].lower() == "lang:":
        if len(run) == 5:
            raise QuerySyntaxError("lang: needs a language code, e.g. lang:es", start, query)
        if (problem := lang_problem(run[5:])) is not None:
            raise fail(problem, 5)
        atom = Lang(run[5:])
    else:
        if (problem := term_problem(run)) is not None:
            raise fail(problem, 0)
        atom = Term(run)
    return _Token("atom", start, run, atom)


class _Parser:
    """Recursive descent over ``or := and (OR and)*``, ``and := unary ([AND] unary)*``,
    ``unary := (NOT | -) unary | primary``, ``primary := atom | '(' or ')'``."""

    def __init__(self, query: str) -> None:
        self._query = query
        self._tokens = _lex(query)
        self._i = 0
        self._depth = 0

    def parse(self) -> Node:
        if self._peek().kind == "end":
            raise self._error("the query is empty", 0)
        node = self._or()
        extra = self._peek()
        if extra.kind == "rparen":
            raise self._error("unmatched ')'", extra.pos)
        return node

    def _peek(self) -> _Token:
        return self._tokens[self._i]

    def _next(self) -> _Token:
        token = self._tokens[self._i]
        self._i += 1
        return token

    def _error(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, position, self._query)

    def _expect_operand(self, operator: _Token) -> None:
        if self._peek().kind not in _OPERAND_STARTS:
            raise self._error(f"{operator.text!r} must be followed by a term", operator.pos)

    def _nest(self, token: _Token) -> None:
        self._depth += 1
        if self._depth > _MAX_DEPTH:
            raise self._error("the query is nested too deeply", token.pos)

    def _or(self) -> Node:
        parts = [self._and()]
        while self._peek().kind == "or":
            operator = self._next()
            self._expect_operand(operator)
            parts.append(self._and())
        return or_of(parts)

    def _and(self) -> Node:
        parts = [self._unary()]
        while True:
            token = self._peek()
            if token.kind == "and":
                self._next()
                self._expect_operand(token)
            elif token.kind not in _OPERAND_STARTS:
                break
            parts.append(self._unary())
        return and_of(parts)

    def _unary(self) -> Node:
        token = self._peek()
        if token.kind not in ("not", "minus"):
            return self._primary()
        self._next()
        self._expect_operand(token)
        self._nest(token)
        node = Not(self._unary())
        self._depth -= 1
        return node

    def _primary(self) -> Node:
        token = self._next()
        if token.kind == "atom":
            assert token.atom is not None
            return token.atom
        if token.kind == "lparen":
            if self._peek().kind == "rparen":
                raise self._error("empty parentheses", token.pos)
            self._nest(token)
            inner = self._or()
            if self._next().kind != "rparen":
                raise self._error("missing ')' to close this '('", token.pos)
            self._depth -= 1
            return inner
        if token.kind == "rparen":
            raise self._error("unmatched ')'", token.pos)
        if token.kind in ("and", "or"):
            raise self._error(f"{token.text!r} must have a term before it", token.pos)
        raise self._error("expected a term", token.pos)


def parse(query: str) -> Node:
    """Parse a listening query into its (flattened) AST.

    Raises :class:`QuerySyntaxError` (and nothing else) for any malformed input, with the
    position of the mistake, so user input can be passed straight in.
    """
    return _Parser(query).parse()
