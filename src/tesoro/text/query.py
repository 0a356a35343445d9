"""Tesoro's Boolean listening-query language: one syntax for every social platform.

A listening query is what a brand manager types to describe the posts they care about::

    (nike OR adidas) zapatillas -falso lang:es

The same query drives every collector.  Each platform gets a *native* query compiled from it
(:func:`to_x`, :func:`to_reddit`, :func:`to_bluesky`, :func:`to_mastodon`), and because platforms
differ in tokenisation, accent handling and operator support, every post a platform returns is
re-checked locally with :class:`Matcher`.  That split is the central design rule: the compilers
only ever *broaden* (when a platform cannot express part of a query, that part is dropped or
widened, never narrowed) and the local re-check removes the extras, so results are identical on
every platform.

Syntax
------
* ``sneaker``: a bare term, matched as a whole word, case- and accent-insensitively.  A term made
  of several words (``e-commerce``, ``10:30``) matches those words in sequence.
* ``"air max"``: an exact phrase (the words in that order, punctuation between them ignored).
* ``#nike``: the hashtag #nike only.  ``@nike``: a mention of @nike (also ``@nike@mastodon.social``).
* ``lang:es``: the post's language field is Spanish (``es``, ``es-MX``, ...).
* ``AND``, ``OR``, ``NOT`` (upper case only; lower-case ``and``/``or`` are ordinary words) and
  parentheses.  Writing terms side by side means AND.  Precedence: NOT > AND > OR, so
  ``a OR b c`` is ``a OR (b AND c)``.
* ``-term``, ``-"phrase"``, ``-#tag``, ``-@user``, ``-lang:xx``, ``-(group)``: shorthand for NOT.
  The dash must touch what it excludes.

Matching semantics (the contract every collector relies on)
-----------------------------------------------------------
* Text is compared after *folding*: Unicode compatibility normalisation (NFKD), case folding, and
  removal of accents, so ``cancion`` matches "Canción" and ``CAFÉ`` matches "cafe".  The one
  exception is the tilde of ``ñ``: in Spanish ``ñ`` is a letter of its own (``año`` is not
  ``ano``), so it is kept.  Posts are written with and without accents on every platform and
  listening is about recall; forgetting an accent should not silently lose mentions.
* A word is a run of letters, digits, ``_`` and combining marks (so Devanagari or Thai words are
  not split at their vowel signs).  Everything else separates words.
* A bare term also matches the same word inside a hashtag or a mention (``nike`` matches "#Nike"
  and "@nike"), as users expect; ``#nike`` matches only the hashtag, never the plain word.
* ``lang:`` compares BCP 47 codes case-insensitively by prefix: ``lang:pt`` matches ``pt-BR``,
  ``lang:pt-br`` matches only ``pt-BR``.  A post without a language never matches ``lang:``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, TypeAlias, assert_never

__all__ = [
    "And",
    "Atom",
    "BlueskyQuery",
    "Hashtag",
    "Lang",
    "MastodonQuery",
    "Matcher",
    "Mention",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "QueryCompileError",
    "QuerySyntaxError",
    "Term",
    "compile_matcher",
    "matches",
    "normalize",
    "parse",
    "positive_terms",
    "to_bluesky",
    "to_mastodon",
    "to_reddit",
    "to_string",
    "to_x",
]


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class QuerySyntaxError(ValueError):
    """A query the user typed cannot be parsed.

    It carries the position so that the UI and the CLI can point at the mistake: ``str(error)``
    shows the message, the query and a caret under the offending character.
    """

    def __init__(self, message: str, position: int, query: str = "") -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position
        self.query = query

    def __str__(self) -> str:
        # Tabs and newlines would break the caret's alignment, so show every space as one blank.
        shown = "".join(" " if ch.isspace() else ch for ch in self.query)
        return f"{self.message} (at position {self.position})\n  {shown}\n  {' ' * self.position}^"


class QueryCompileError(ValueError):
    """A valid query has no equivalent-or-broader form on a platform.

    Raised, for instance, for a query that is only exclusions (no platform can search for
    "everything except X") or a compiled query longer than the platform accepts.
    """


# --------------------------------------------------------------------------------------------
# Text folding and tokenisation (shared by the query side and the post side, which is what
# keeps them consistent)
# --------------------------------------------------------------------------------------------


def _combining_mark_class() -> str:
    """Return a regex character-class body covering the combining marks of the BMP.

    Python's ``\\w`` excludes combining marks (Devanagari vowel signs, Thai tone marks, the
    Japanese voicing mark after decomposition, ...), which would split the words of those
    scripts in two.  Scanning the BMP once at import costs a few milliseconds.
    """
    ranges: list[list[int]] = []
    for code in range(0x0300, 0x10000):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in ranges)


_MARKS = _combining_mark_class()
_W = rf"[\w{_MARKS}]"
_WORD_RE = re.compile(rf"{_W}+")
_HANDLE = rf"{_W}+(?:[.\-]{_W}+)*(?:@{_W}+(?:[.\-]{_W}+)*)?"
_HANDLE_RE = re.compile(_HANDLE)
# A hashtag or mention starts after a non-word character ("a#b" and "me@example.com" are not).
_TAG_RE = re.compile(rf"(?<![\w{_MARKS}&])#({_W}+)")
_MENTION_RE = re.compile(rf"(?<![\w{_MARKS}@])@({_HANDLE})")
# Accents to drop after decomposition: every combining diacritic except the tilde of "n".
_ACCENT_RE = re.compile("(?<!n)[\u0300-\u036f]|(?<=n)[\u0300-\u0302\u0304-\u036f]")
_LANG_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_FIELD_RE = re.compile(r"[A-Za-z]+:.")
_KEYWORDS = frozenset({"AND", "OR", "NOT"})


def _fold(text: str) -> str:
    """Fold text for comparison: compatibility forms, case and accents (except ``ñ``) removed."""
    if text.isascii():  # the common case, and exactly what the full path computes for ASCII
        return text.lower()
    # Decompose again after casefold, which can produce composed letters.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return unicodedata.normalize("NFC", _ACCENT_RE.sub("", decomposed))


def _tokens(text: str) -> list[str]:
    """Return the folded words of ``text``."""
    return _WORD_RE.findall(_fold(text))


def _fold_lang(code: str) -> str:
    return code.strip().casefold().replace("_", "-")


# --------------------------------------------------------------------------------------------
# AST
# --------------------------------------------------------------------------------------------

_Problem: TypeAlias = tuple[str, int] | None  # (message, offset inside the value) or no problem


def _term_problem(text: str) -> _Problem:
    if not text:
        return ("empty term", 0)
    for offset, ch in enumerate(text):
        if ch.isspace() or ch in '()"':
            return (f'{ch!r} cannot appear in a bare term; use a "phrase"', offset)
    if text[0] in "-#@":
        return (f"a bare term cannot start with {text[0]!r}", 0)
    if text in _KEYWORDS:
        return (f'{text} is an operator; write "{text}" to search for the word', 0)
    if text[:5].lower() == "lang:":
        return ("lang: is a filter, not a term", 0)
    if field_match := _FIELD_RE.match(text):
        prefix = field_match.group()[:-1]
        return (f'unknown field {prefix!r}: only lang: is supported; write "{text}" to search the text', 0)
    if not _tokens(text):
        return (f"{text!r} has no letters or digits to search for", 0)
    return None


def _phrase_problem(text: str) -> _Problem:
    if '"' in text:
        return ("a phrase cannot contain '\"'", text.index('"'))
    if not text.strip():
        return ("empty phrase", 0)
    if not _tokens(text):
        return ("the phrase has no letters or digits to search for", 0)
    return None


def _name_problem(value: str, pattern: re.Pattern[str], what: str, allowed: str) -> _Problem:
    if not value:
        return (f"empty {what}", 0)
    prefix = pattern.match(value)
    if prefix is None or prefix.end() != len(value):
        return (f"{what}s may only contain {allowed}", prefix.end() if prefix else 0)
    # Folding must not break the name apart either (compatibility forms such as the fraction
    # one-half fold into several words), or it could never be found in a folded post.
    if not pattern.fullmatch(_fold(value)):
        return (f"this {what} cannot be matched reliably", 0)
    return None


def _hashtag_problem(name: str) -> _Problem:
    return _name_problem(name, _WORD_RE, "hashtag", "letters, digits and '_'")


def _mention_problem(handle: str) -> _Problem:
    return _name_problem(handle, _HANDLE_RE, "mention", "letters, digits, '_', '.', '-' and one '@'")


def _lang_problem(code: str) -> _Problem:
    if not code:
        return ("empty language code", 0)
    if not _LANG_RE.fullmatch(code):
        return (f"invalid language code {code!r}; use an ISO code such as lang:es or lang:pt-BR", 0)
    return None


def _require(problem: _Problem) -> None:
    if problem is not None:
        raise ValueError(problem[0])


@dataclass(frozen=True, slots=True)
class Term:
    """A bare word (or a word-like token such as ``e-commerce``), exactly as the user typed it.

    The spelling is kept rather than folded so that platform queries and highlights show what
    the user wrote; folding happens when matching.  Construction validates that the text reads
    back as this same term, which is what makes :func:`to_string` round-trip.
    """

    text: str

    def __post_init__(self) -> None:
        _require(_term_problem(self.text))


@dataclass(frozen=True, slots=True)
class Phrase:
    """An exact phrase: its words must appear consecutively and in order."""

    text: str

    def __post_init__(self) -> None:
        _require(_phrase_problem(self.text))


@dataclass(frozen=True, slots=True)
class Hashtag:
    """A hashtag, stored without ``#``; it matches only hashtags, never the plain word."""

    name: str

    def __post_init__(self) -> None:
        _require(_hashtag_problem(self.name))


@dataclass(frozen=True, slots=True)
class Mention:
    """A mentioned account, stored without the leading ``@``.

    ``nike`` also matches the fediverse form ``@nike@any.instance``; ``nike@mastodon.social``
    matches only that account.  Bluesky handles must be written in full (``nike.bsky.social``).
    """

    handle: str

    def __post_init__(self) -> None:
        _require(_mention_problem(self.handle))


@dataclass(frozen=True, slots=True)
class Lang:
    """A filter on the post's language field (a BCP 47 code such as ``es`` or ``pt-BR``)."""

    code: str

    def __post_init__(self) -> None:
        _require(_lang_problem(self.code))


@dataclass(frozen=True, slots=True)
class And:
    """All children must match.  Always has at least two children."""

    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", tuple(self.children))
        if len(self.children) < 2:
            raise ValueError("And needs at least two children")


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child must match.  Always has at least two children."""

    children: tuple[Node, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", tuple(self.children))
        if len(self.children) < 2:
            raise ValueError("Or needs at least two children")


@dataclass(frozen=True, slots=True)
class Not:
    """The child must not match."""

    child: Node


Atom: TypeAlias = Term | Phrase | Hashtag | Mention | Lang
Node: TypeAlias = Term | Phrase | Hashtag | Mention | Lang | And | Or | Not
_ATOM_TYPES = (Term, Phrase, Hashtag, Mention, Lang)
_ANCHOR_TYPES = (Term, Phrase, Hashtag, Mention)  # atoms a platform can search for on their own


def _and_of(parts: Sequence[Node]) -> Node:
    """Conjunction of ``parts`` with nested conjunctions flattened (one part: that part)."""
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.children if isinstance(part, And) else (part,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _or_of(parts: Sequence[Node]) -> Node:
    """Disjunction of ``parts`` with nested disjunctions flattened (one part: that part)."""
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.children if isinstance(part, Or) else (part,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def normalize(node: Node) -> Node:
    """Flatten nested ``And``-in-``And`` and ``Or``-in-``Or``.

    This is the form :func:`parse` produces, so ``parse(to_string(n)) == normalize(n)`` for any
    node.  Double negations are kept: they are what the user wrote.
    """
    match node:
        case And(children=children):
            return _and_of([normalize(child) for child in children])
        case Or(children=children):
            return _or_of([normalize(child) for child in children])
        case Not(child=child):
            return Not(normalize(child))
        case _:
            return node


# --------------------------------------------------------------------------------------------
# Lexer and parser
# --------------------------------------------------------------------------------------------

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
            if (problem := _phrase_problem(text)) is not None:
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
    if run in _KEYWORDS:
        return _Token(_KEYWORD_KINDS[run], start, run)

    def fail(problem: tuple[str, int], prefix_len: int) -> QuerySyntaxError:
        return QuerySyntaxError(problem[0], start + prefix_len + problem[1], query)

    atom: Atom
    if run[0] == "#":
        if len(run) == 1:
            raise QuerySyntaxError("'#' must be followed by a hashtag, e.g. #nike", start, query)
        if (problem := _hashtag_problem(run[1:])) is not None:
            raise fail(problem, 1)
        atom = Hashtag(run[1:])
    elif run[0] == "@":
        if len(run) == 1:
            raise QuerySyntaxError("'@' must be followed by an account, e.g. @nike", start, query)
        if (problem := _mention_problem(run[1:])) is not None:
            raise fail(problem, 1)
        atom = Mention(run[1:])
    elif run[:5].lower() == "lang:":
        if len(run) == 5:
            raise QuerySyntaxError("lang: needs a language code, e.g. lang:es", start, query)
        if (problem := _lang_problem(run[5:])) is not None:
            raise fail(problem, 5)
        atom = Lang(run[5:])
    else:
        if (problem := _term_problem(run)) is not None:
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
        return _or_of(parts)

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
        return _and_of(parts)

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


# --------------------------------------------------------------------------------------------
# Canonical text form
# --------------------------------------------------------------------------------------------


def _atom_text(atom: Atom) -> str:
    match atom:
        case Term(text=text):
            return text
        case Phrase(text=text):
            return f'"{text}"'
        case Hashtag(name=name):
            return f"#{name}"
        case Mention(handle=handle):
            return f"@{handle}"
        case Lang(code=code):
            return f"lang:{code}"
        case _:
            assert_never(atom)


def to_string(node: Node) -> str:
    """Render ``node`` in canonical query syntax.

    Stored queries are saved in this form: ``parse(to_string(n)) == normalize(n)``.  Exclusions
    use the ``-`` shorthand, groups nested in another operator are parenthesised (including
    ``(a b) OR c``, which needs no parentheses but reads unambiguously with them).
    """
    match node:
        case Not(child=child):
            inner = to_string(child)
            return f"-{inner}" if isinstance(child, _ATOM_TYPES) else f"-({inner})"
        case And(children=children):
            return " ".join(_grouped(child) for child in children)
        case Or(children=children):
            return " OR ".join(_grouped(child) for child in children)
        case _:
            return _atom_text(node)


def _grouped(node: Node) -> str:
    text = to_string(node)
    return f"({text})" if isinstance(node, And | Or) else text


# --------------------------------------------------------------------------------------------
# Local matching
# --------------------------------------------------------------------------------------------


class _Post:
    """The parts of one post a compiled query looks at, computed once per post."""

    __slots__ = ("lang", "mentions", "padded", "tags", "words")

    def __init__(
        self, words: set[str], padded: str, tags: set[str], mentions: set[str], lang: str | None
    ) -> None:
        self.words = words
        self.padded = padded
        self.tags = tags
        self.mentions = mentions
        self.lang = lang


_Check: TypeAlias = Callable[[_Post], bool]


class Matcher:
    """A query compiled for checking many posts quickly.

    Collectors re-check every post a platform returns (hundreds of thousands a day), so the
    query is compiled once into closures, and each post is folded and tokenised once per call,
    computing only what the query needs (words, phrase text, hashtags, mentions).  Plain words
    under the same AND/OR are checked with one set operation.
    """

    __slots__ = ("_check", "_mentions", "_padded", "_tags", "_words", "node")

    def __init__(self, node: Node) -> None:
        self.node = node
        self._words = self._padded = self._tags = self._mentions = False
        self._check = self._compile(node)

    def matches(self, text: str, lang: str | None = None) -> bool:
        """Whether a post with this ``text`` and language field ``lang`` matches the query."""
        folded = _fold(text)
        words: set[str] = set()
        padded = ""
        if self._words or self._padded:
            tokens = _WORD_RE.findall(folded)
            if self._words:
                words = set(tokens)
            if self._padded:
                padded = f" {' '.join(tokens)} "
        tags: set[str] = set()
        if self._tags and "#" in folded:
            tags = set(_TAG_RE.findall(folded))
        mentions: set[str] = set()
        if self._mentions and "@" in folded:
            for mention in _MENTION_RE.findall(folded):
                mentions.add(mention)
                mentions.add(mention.split("@", 1)[0])  # "@nike@instance" is also "@nike"
        post = _Post(words, padded, tags, mentions, None if lang is None else _fold_lang(lang))
        return self._check(post)

    def _compile(self, node: Node) -> _Check:
        match node:
            case Term(text=text) | Phrase(text=text):
                return self._compile_words(_tokens(text))
            case Hashtag(name=name):
                self._tags = True
                tag = _fold(name)
                return lambda post: tag in post.tags
            case Mention(handle=handle):
                self._mentions = True
                mention = _fold(handle)
                return lambda post: mention in post.mentions
            case Lang(code=code):
                return self._compile_lang(_fold_lang(code))
            case Not(child=child):
                inner = self._compile(child)
                return lambda post: not inner(post)
            case And(children=children):
                return self._compile_all(children)
            case Or(children=children):
                return self._compile_any(children)
            case _:
                assert_never(node)

    def _compile_words(self, words: list[str]) -> _Check:
        if len(words) == 1:
            self._words = True
            word = words[0]
            return lambda post: word in post.words
        self._padded = True
        needle = f" {' '.join(words)} "
        return lambda post: needle in post.padded

    @staticmethod
    def _compile_lang(code: str) -> _Check:
        prefix = f"{code}-"
        return lambda post: post.lang is not None and (post.lang == code or post.lang.startswith(prefix))

    def _split_words(self, children: tuple[Node, ...]) -> tuple[frozenset[str], list[_Check]]:
        """Separate single-word children (checked together as a set) from the rest."""
        words: set[str] = set()
        others: list[_Check] = []
        for child in children:
            tokens = _tokens(child.text) if isinstance(child, Term | Phrase) else []
            if len(tokens) == 1:
                words.add(tokens[0])
            else:
                others.append(self._compile(child))
        if words:
            self._words = True
        return frozenset(words), others

    def _compile_all(self, children: tuple[Node, ...]) -> _Check:
        words, others = self._split_words(children)

        def all_match(post: _Post) -> bool:
            if not words <= post.words:
                return False
            return all(check(post) for check in others)

        return all_match

    def _compile_any(self, children: tuple[Node, ...]) -> _Check:
        words, others = self._split_words(children)

        def any_match(post: _Post) -> bool:
            if words and not words.isdisjoint(post.words):
                return True
            return any(check(post) for check in others)

        return any_match


def compile_matcher(node: Node) -> Matcher:
    """Compile ``node`` once for checking many posts (see :class:`Matcher`)."""
    return Matcher(node)


@lru_cache(maxsize=256)
def _cached_matcher(node: Node) -> Matcher:
    return Matcher(node)


def matches(node: Node, *, text: str, lang: str | None = None) -> bool:
    """Whether a post matches ``node``: the local re-check every collector applies.

    Convenience over :class:`Matcher`; compiled matchers are cached per query, but loops over
    many posts should hold a :class:`Matcher` themselves.
    """
    return _cached_matcher(node).matches(text, lang)


def positive_terms(node: Node) -> set[str]:
    """Terms, phrases, ``#tags`` and ``@mentions`` that appear positively in ``node``.

    These are the things a match may or must contain (anything under an odd number of
    negations is left out; ``lang:`` is a filter, not text), as typed: phrases without quotes,
    hashtags with ``#``, mentions with ``@``.  Used for highlighting and for broad searches.
    """
    found: set[str] = set()

    def walk(current: Node, positive: bool) -> None:
        match current:
            case Not(child=child):
                walk(child, not positive)
            case And(children=children) | Or(children=children):
                for child in children:
                    walk(child, positive)
            case Lang():
                pass
            case _ if positive:
                found.add(current.text if isinstance(current, Term | Phrase) else _atom_text(current))

    walk(node, True)
    return found


# --------------------------------------------------------------------------------------------
# Platform compilation: shared broadening machinery
# --------------------------------------------------------------------------------------------
#
# Queries are first put in negation normal form (negations only on atoms).  A platform then
# states which atoms it can express and which it can negate; anything else is widened:
#   * an atom it cannot express, or a negation it cannot express, becomes "anything" (None);
#   * an AND drops "anything" children; an OR with an "anything" child becomes "anything";
#   * a group that no longer contains a searchable positive atom (term, phrase, tag, mention)
#     becomes "anything", because platforms reject or mis-handle pure exclusions and lang-only
#     searches.
# Each step only widens the set of matching posts, so the result is never narrower.


def _nnf(node: Node, negated: bool = False) -> Node:
    """Negation normal form: De Morgan pushes every NOT down onto an atom."""
    match node:
        case Not(child=child):
            return _nnf(child, not negated)
        case And(children=children):
            parts = [_nnf(child, negated) for child in children]
            return _or_of(parts) if negated else _and_of(parts)
        case Or(children=children):
            parts = [_nnf(child, negated) for child in children]
            return _and_of(parts) if negated else _or_of(parts)
        case _:
            return Not(node) if negated else node


def _anchored(node: Node) -> bool:
    """Whether every match of ``node`` contains a searchable positive atom."""
    match node:
        case And(children=children):
            return any(_anchored(child) for child in children)
        case Or(children=children):
            return all(_anchored(child) for child in children)
        case _:
            return isinstance(node, _ANCHOR_TYPES)


@dataclass(frozen=True)
class _Platform:
    name: str
    expresses: Callable[[Atom], bool]
    negates: Callable[[Atom], bool]


def _broaden(node: Node, platform: _Platform) -> Node | None:
    """Widen an NNF ``node`` to what ``platform`` can express; ``None`` means "anything"."""
    match node:
        case Not(child=child):
            return node if isinstance(child, _ATOM_TYPES) and platform.negates(child) else None
        case And(children=children):
            kept = [part for child in children if (part := _broaden(child, platform)) is not None]
            if not any(_anchored(part) for part in kept):
                return None
            return _and_of(kept)
        case Or(children=children):
            parts = [_broaden(child, platform) for child in children]
            if not all(part is not None and _anchored(part) for part in parts):
                return None
            return _or_of([part for part in parts if part is not None])
        case _:
            return node if platform.expresses(node) else None


def _searchable(node: Node, platform: _Platform) -> Node:
    """The broadened query, or a clear error when nothing searchable is left."""
    broad = _broaden(_nnf(node), platform)
    if broad is None or not _anchored(broad):
        raise QueryCompileError(
            f"{platform.name} cannot search for {to_string(node)!r}: every alternative needs at least "
            'one term, "phrase", #hashtag or @mention that is not excluded (lang: alone is not enough)'
        )
    return broad


def _cover(node: Node) -> list[Atom] | None:
    """Positive atoms such that every match of the NNF ``node`` contains at least one of them.

    Used where a platform has no OR (or no boolean search at all): searching for each atom
    separately then finds every match.  ``None`` when there is no such set (pure exclusions).
    For an AND the smallest child cover is the cheapest one to search.
    """
    match node:
        case And(children=children):
            covers = [found for child in children if (found := _cover(child)) is not None]
            return min(covers, key=len) if covers else None
        case Or(children=children):
            atoms: list[Atom] = []
            for child in children:
                found = _cover(child)
                if found is None:
                    return None
                atoms.extend(found)
            return list(dict.fromkeys(atoms))
        case Term() | Phrase() | Hashtag() | Mention():
            return [node]
        case _:
            return None


def _dnf(node: Node, limit: int) -> list[list[Node]] | None:
    """Disjunctive normal form of an NNF ``node`` as lists of literals, or ``None`` past ``limit``."""
    match node:
        case Or(children=children):
            disjuncts: list[list[Node]] = []
            for child in children:
                found = _dnf(child, limit)
                if found is None or len(disjuncts) + len(found) > limit:
                    return None
                disjuncts.extend(found)
            return disjuncts
        case And(children=children):
            product: list[list[Node]] = [[]]
            for child in children:
                found = _dnf(child, limit)
                if found is None or len(product) * len(found) > limit:
                    return None
                product = [left + right for left in product for right in found]
            return product
        case _:
            return [[node]]


def _primary_lang(code: str) -> str:
    """``pt-BR`` -> ``pt``: platforms filter on the primary subtag; the region is re-checked."""
    return re.split("[-_]", code, maxsplit=1)[0].lower()


_SIMPLE_WORD_RE = re.compile(r"\w+")


def _quoted_unless_word(text: str) -> str:
    """Quote anything but a plain word, so platforms cannot read it as an operator (``$nke``,
    ``10:30``, lower-case ``or``); quoting a term is an exact match of the same words."""
    if _SIMPLE_WORD_RE.fullmatch(text) and text.upper() not in _KEYWORDS:
        return text
    return f'"{text}"'


def _check_length(query: str, platform: str, max_length: int) -> str:
    if len(query) > max_length:
        raise QueryCompileError(
            f"the {platform} query is {len(query)} characters long, over the limit of {max_length}; "
            "split the listening query or shorten it"
        )
    return query


def _render_boolean(node: Node, atom: Callable[[Atom], str], negation: str, conjunction: str) -> str:
    """Render a broadened NNF tree with explicit grouping (platforms differ on precedence)."""

    def grouped(part: Node) -> str:
        text = render(part)
        return f"({text})" if isinstance(part, And | Or) else text

    def render(part: Node) -> str:
        match part:
            case Not(child=child):
                assert isinstance(child, _ATOM_TYPES)
                return f"{negation}{atom(child)}"
            case And(children=children):
                return conjunction.join(grouped(child) for child in children)
            case Or(children=children):
                return " OR ".join(grouped(child) for child in children)
            case _:
                return atom(part)

    return render(node)


# --------------------------------------------------------------------------------------------
# X (Twitter) API v2
# --------------------------------------------------------------------------------------------

_X_HANDLE_RE = re.compile(r"[A-Za-z0-9_]{1,15}")


def _x_atom(atom: Atom) -> str:
    match atom:
        case Term(text=text):
            return _quoted_unless_word(text)
        case Phrase(text=text):
            return f'"{text}"'
        case Hashtag(name=name):
            return f"#{name}"
        case Mention(handle=handle):
            # Not an X account (a Bluesky or fediverse handle): search for its text instead.
            return f"@{handle}" if _X_HANDLE_RE.fullmatch(handle) else f'"{handle}"'
        case Lang(code=code):
            return f"lang:{_primary_lang(code)}"
        case _:
            assert_never(atom)


_X = _Platform(
    name="X",
    expresses=lambda atom: True,
    # A non-X handle becomes a phrase, which is broader than the mention: fine to search for,
    # but excluding it would also drop posts that merely contain the words.
    negates=lambda atom: not isinstance(atom, Mention) or bool(_X_HANDLE_RE.fullmatch(atom.handle)),
)


def to_x(node: Node, *, max_length: int = 512) -> str:
    """Compile to an X API v2 search query (``/2/tweets/search/recent``).

    X supports terms, "phrases", ``OR``, ``-`` negation, parentheses, ``#tag``, ``@user`` and
    ``lang:xx``; AND is a space.  Its limits, and how they are handled:

    * X forbids negating a group ("do not negate grouped operators"), so negations are pushed
      down onto single operators (``-(a OR b)`` becomes ``-a -b``); a negated AND group, which
      would need an OR of negations, is dropped (broader).
    * A query made only of negations, or only of ``lang:`` (a conjunction-required operator),
      is rejected by X; such parts are dropped when combined with positive terms, and a query
      with nothing else left raises :class:`QueryCompileError`.  The same holds inside an OR:
      ``nike OR -adidas`` cannot be searched.
    * ``lang:`` uses X's primary language codes, so ``lang:pt-BR`` is sent as ``lang:pt``.
    * X accounts are ``[A-Za-z0-9_]{1,15}``; other handles are searched as a phrase.
    * Terms that are not plain words (``e-commerce``, ``$nke``, ``10:30``) are quoted so X cannot
      read them as operators (cashtags, fields).
    * X applies its own tokenisation and diacritic rules (and may match the text of a quoted
      post); the local re-check settles these differences.  For maximum recall with accents,
      write both spellings: ``(canción OR cancion)``.
    * Queries are limited to 512 characters on self-serve recent search (1,024 for full archive,
      4,096 on Enterprise: pass ``max_length``); longer ones raise :class:`QueryCompileError`.
      Operators the collector appends (``-is:retweet``) count towards that limit.
    """
    broad = _searchable(node, _X)
    return _check_length(_render_boolean(broad, _x_atom, "-", " "), "X", max_length)


# --------------------------------------------------------------------------------------------
# Reddit
# --------------------------------------------------------------------------------------------


def _reddit_atom(atom: Atom) -> str:
    match atom:
        case Term(text=text):
            return _quoted_unless_word(text)
        case Phrase(text=text):
            return f'"{text}"'
        case Hashtag(name=name):
            return _quoted_unless_word(name)
        case Mention(handle=handle):
            return _quoted_unless_word(handle.split("@", 1)[0])
        case Lang():
            raise AssertionError("Reddit has no language filter; lang: is removed before rendering")
        case _:
            assert_never(atom)


_REDDIT = _Platform(
    name="Reddit",
    expresses=lambda atom: not isinstance(atom, Lang),
    negates=lambda atom: isinstance(atom, Term | Phrase),
)


def to_reddit(node: Node, *, max_length: int = 512) -> str:
    """Compile to a Reddit search query (``/search`` with ``syntax=lucene``, the default).

    Reddit supports ``AND``/``OR``/``NOT``, "phrases" and parentheses; groups are always
    parenthesised because Lucene's mixing of AND and OR is not the usual precedence.  Limits:

    * No language filter: ``lang:`` is dropped (broader); the local re-check applies it.
    * Reddit has no hashtags or @mentions: ``#nike`` is searched as the word ``nike`` and
      ``@nike@mastodon.social`` as ``nike``, both broader.  Their exclusions (``-#nike``) are
      dropped rather than turned into word exclusions, which would be narrower.
    * Lucene cannot search for pure exclusions, so as on X they need a positive term next to
      them (otherwise :class:`QueryCompileError`).
    * Reddit accepts at most 512 characters in ``q``; longer raises :class:`QueryCompileError`.
    """
    broad = _searchable(node, _REDDIT)
    return _check_length(_render_boolean(broad, _reddit_atom, "NOT ", " AND "), "Reddit", max_length)


# --------------------------------------------------------------------------------------------
# Bluesky
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlueskyQuery:
    """Arguments for one ``app.bsky.feed.searchPosts`` call.

    ``q`` is the search string, ``lang`` the ``lang`` parameter and ``tags`` the ``tag``
    parameter (without ``#``; Bluesky ANDs several tags and matches them against rich-text
    facets, which is more reliable than ``#tag`` inside ``q``, so tags are in both).
    """

    q: str
    lang: str | None = None
    tags: list[str] = field(default_factory=list)


def _bluesky_atom(atom: Atom) -> str:
    match atom:
        case Term(text=text):
            return _quoted_unless_word(text)
        case Phrase(text=text):
            return f'"{text}"'
        case Hashtag(name=name):
            return f"#{name}"
        case Mention(handle=handle):
            # Search the account's first label as a word ("nike" for nike.bsky.social): the
            # mentions parameter only accepts existing accounts and rich-text facets.
            return _quoted_unless_word(handle.split("@", 1)[0].split(".", 1)[0])
        case Lang():
            raise AssertionError("lang: goes into the lang parameter")
        case _:
            assert_never(atom)


_BLUESKY = _Platform(
    name="Bluesky",
    expresses=lambda atom: True,
    negates=lambda atom: isinstance(atom, Term | Phrase),
)


def _bluesky_call(literals: Sequence[Node], lang: str | None = None) -> BlueskyQuery:
    parts: list[str] = []
    tags: list[str] = []
    for literal in dict.fromkeys(literals):
        match literal:
            case Not(child=child):
                assert isinstance(child, Term | Phrase)
                parts.append(f"-{_bluesky_atom(child)}")
            case Lang(code=code):
                lang = lang or _primary_lang(code)  # one lang parameter; dropping the rest is broader
            case Hashtag(name=name):
                tags.append(name)
                parts.append(_bluesky_atom(literal))
            case Term() | Phrase() | Mention():
                parts.append(_bluesky_atom(literal))
            case _:
                raise AssertionError(f"not a literal: {literal!r}")
    return BlueskyQuery(q=" ".join(dict.fromkeys(parts)), lang=lang, tags=list(dict.fromkeys(tags)))


def to_bluesky(node: Node, *, max_queries: int = 8) -> list[BlueskyQuery]:
    """Compile to one or more Bluesky ``searchPosts`` calls; the collector merges their results.

    Bluesky's search ANDs space-separated terms and supports "phrases", ``-exclusion``,
    ``#tag`` and a ``lang`` parameter, but has no OR.  The query is therefore expanded into its
    disjunctive normal form, one call per alternative: ``(nike OR adidas) zapatillas`` becomes
    ``nike zapatillas`` and ``adidas zapatillas``.  Limits:

    * More than ``max_queries`` alternatives would cost too many API calls; instead, one call
      per term of a *cover* is made: a small set of positive terms, one of which every match
      must contain (for an AND the smallest such set among its parts).  If even that needs more
      than ``max_queries`` calls, :class:`QueryCompileError` is raised.
    * Only terms and phrases are excluded in ``q``; excluded hashtags, mentions and languages
      are dropped (broader).  Bluesky also matches text in link cards and image alt text, so an
      exclusion can drop a post whose visible text would have been kept.
    * Mentions are searched as the account's first label (``@nike.bsky.social`` as ``nike``).
    * ``lang`` is the primary subtag; a second ``lang:`` in one alternative is left to the
      local re-check.  Pure exclusions and lang-only queries raise :class:`QueryCompileError`.
    """
    broad = _searchable(node, _BLUESKY)
    alternatives = _dnf(broad, max_queries)
    if alternatives is not None:
        calls = [_bluesky_call(literals) for literals in alternatives]
    else:
        cover = _cover(broad)
        assert cover is not None  # a searchable query always has a cover
        if len(cover) > max_queries:
            raise QueryCompileError(
                f"Bluesky has no OR and this query needs {len(cover)} separate searches "
                f"(more than {max_queries}); narrow it or raise max_queries"
            )
        # A lang: that the whole query requires still filters every fallback call.
        langs = (
            [child for child in broad.children if isinstance(child, Lang)] if isinstance(broad, And) else []
        )
        lang = _primary_lang(langs[0].code) if langs else None
        calls = [_bluesky_call([atom], lang) for atom in cover]
    unique: dict[tuple[str, str | None, tuple[str, ...]], BlueskyQuery] = {}
    for call in calls:
        unique.setdefault((call.q, call.lang, tuple(call.tags)), call)
    return list(unique.values())


# --------------------------------------------------------------------------------------------
# Mastodon
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MastodonQuery:
    """What a Mastodon collector should fetch: hashtag timelines and full-text searches.

    ``hashtags`` are names for ``GET /api/v1/timelines/tag/:hashtag`` (without ``#``);
    ``search`` are ``q`` strings for ``GET /api/v2/search?type=statuses``, written in this
    query language (plain words, "phrases", ``@handle``).
    """

    hashtags: list[str] = field(default_factory=list)
    search: list[str] = field(default_factory=list)


def to_mastodon(node: Node) -> MastodonQuery:
    """Compile to the hashtag timelines and searches that together find every match.

    Mastodon has no boolean search API.  Public hashtag timelines are the dependable way to
    collect, and full-text search only covers posts whose authors opted in to being indexed
    (Mastodon 4.2 and later, on servers running a search backend).  So the query is reduced to a
    *cover*: positive terms, one of which every match contains.  Each ``#tag`` becomes a
    hashtag timeline; each single-word term becomes both a hashtag timeline (a bare term also
    matches inside a hashtag, and that is where most Mastodon mentions live) and a search;
    phrases and mentions become searches.  Everything else (AND, exclusions, ``lang:``) is left
    to the local re-check, so this is much broader than the query; for an AND the part with the
    fewest terms is fetched.  A query with no positive term in some alternative (``-nike``,
    ``lang:es``, ``nike OR -adidas``) raises :class:`QueryCompileError`.
    """
    cover = _cover(_nnf(node))
    if cover is None:
        raise QueryCompileError(
            f"Mastodon cannot collect {to_string(node)!r}: every alternative needs at least one term, "
            '"phrase", #hashtag or @mention that is not excluded'
        )
    hashtags: list[str] = []
    search: list[str] = []
    for atom in cover:
        match atom:
            case Hashtag(name=name):
                hashtags.append(name)
            case Term(text=text):
                if _hashtag_problem(text) is None:
                    hashtags.append(text)
                search.append(_quoted_unless_word(text))
            case Phrase(text=text):
                search.append(f'"{text}"')
            case Mention(handle=handle):
                search.append(f"@{handle}")
            case Lang():
                raise AssertionError("a cover holds no lang:")
            case _:
                assert_never(atom)
    return MastodonQuery(hashtags=list(dict.fromkeys(hashtags)), search=list(dict.fromkeys(search)))
