"""The listening query's syntax tree, its validation and its canonical text form.

Nodes are frozen dataclasses, so a parsed query is hashable (compiled matchers are cached per
query) and safe to share. Each atom validates itself on construction with the same checks the
parser applies, which is what makes ``parse(to_string(node)) == normalize(node)`` hold for
any node, built by hand or parsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias, assert_never

from tesoro.text.fold import fold
from tesoro.text.query.tokens import HANDLE_RE, KEYWORDS, WORD_RE, term_words

__all__ = [
    "ANCHOR_TYPES",
    "ATOM_TYPES",
    "And",
    "Atom",
    "Hashtag",
    "Lang",
    "Mention",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Problem",
    "Term",
    "and_of",
    "atom_text",
    "hashtag_problem",
    "lang_problem",
    "mention_problem",
    "normalize",
    "or_of",
    "phrase_problem",
    "term_problem",
    "to_string",
]

_LANG_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_FIELD_RE = re.compile(r"[A-Za-z]+:.")

Problem: TypeAlias = tuple[str, int] | None  # (message, offset inside the value) or no problem


def term_problem(text: str) -> Problem:
    if not text:
        return ("empty term", 0)
    for offset, ch in enumerate(text):
        if ch.isspace() or ch in '()"':
            return (f'{ch!r} cannot appear in a bare term; use a "phrase"', offset)
    if text[0] in "-#@":
        return (f"a bare term cannot start with {text[0]!r}", 0)
    if text in KEYWORDS:
        return (f'{text} is an operator; write "{text}" to search for the word', 0)
    if text[:5].lower() == "lang:":
        return ("lang: is a filter, not a term", 0)
    if field_match := _FIELD_RE.match(text):
        prefix = field_match.group()[:-1]
        return (f'unknown field {prefix!r}: only lang: is supported; write "{text}" to search the text', 0)
    if not term_words(text):
        return (f"{text!r} has no letters or digits to search for", 0)
    return None


def phrase_problem(text: str) -> Problem:
    if '"' in text:
        return ("a phrase cannot contain '\"'", text.index('"'))
    if not text.strip():
        return ("empty phrase", 0)
    if not term_words(text):
        return ("the phrase has no letters or digits to search for", 0)
    return None


def _name_problem(value: str, pattern: re.Pattern[str], what: str, allowed: str) -> Problem:
    if not value:
        return (f"empty {what}", 0)
    prefix = pattern.match(value)
    if prefix is None or prefix.end() != len(value):
        return (f"{what}s may only contain {allowed}", prefix.end() if prefix else 0)
    # Folding must not break the name apart either (compatibility forms such as the fraction
    # one-half fold into several words), or it could never be found in a folded post.
    if not pattern.fullmatch(fold(value)):
        return (f"this {what} cannot be matched reliably", 0)
    return None


def hashtag_problem(name: str) -> Problem:
    return _name_problem(name, WORD_RE, "hashtag", "letters, digits and '_'")


def mention_problem(handle: str) -> Problem:
    return _name_problem(handle, HANDLE_RE, "mention", "letters, digits, '_', '.', '-' and one '@'")


def lang_problem(code: str) -> Problem:
    if not code:
        return ("empty language code", 0)
    if not _LANG_RE.fullmatch(code):
        return (f"invalid language code {code!r}; use an ISO code such as lang:es or lang:pt-BR", 0)
    return None


def _require(problem: Problem) -> None:
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
        _require(term_problem(self.text))


@dataclass(frozen=True, slots=True)
class Phrase:
    """An exact phrase: its words must appear consecutively and in order."""

    text: str

    def __post_init__(self) -> None:
        _require(phrase_problem(self.text))


@dataclass(frozen=True, slots=True)
class Hashtag:
    """A hashtag, stored without ``#``; it matches only hashtags, never the plain word."""

    name: str

    def __post_init__(self) -> None:
        _require(hashtag_problem(self.name))


@dataclass(frozen=True, slots=True)
class Mention:
    """A mentioned account, stored without the leading ``@``.

    ``nike`` also matches the fediverse form ``@nike@any.instance``; ``nike@mastodon.social``
    matches only that account.  Bluesky handles must be written in full (``nike.bsky.social``).
    """

    handle: str

    def __post_init__(self) -> None:
        _require(mention_problem(self.handle))


@dataclass(frozen=True, slots=True)
class Lang:
    """A filter on the post's language field (a BCP 47 code such as ``es`` or ``pt-BR``)."""

    code: str

    def __post_init__(self) -> None:
        _require(lang_problem(self.code))


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
ATOM_TYPES = (Term, Phrase, Hashtag, Mention, Lang)
ANCHOR_TYPES = (Term, Phrase, Hashtag, Mention)  # atoms a platform can search for on their own


def and_of(parts: Sequence[Node]) -> Node:
    """Conjunction of ``parts`` with nested conjunctions flattened (one part: that part)."""
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.children if isinstance(part, And) else (part,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def or_of(parts: Sequence[Node]) -> Node:
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
            return and_of([normalize(child) for child in children])
        case Or(children=children):
            return or_of([normalize(child) for child in children])
        case Not(child=child):
            return Not(normalize(child))
        case _:
            return node


def atom_text(atom: Atom) -> str:
    """One atom as written in the query syntax (``#tag``, ``"a phrase"``, ``lang:es``)."""
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
            return f"-{inner}" if isinstance(child, ATOM_TYPES) else f"-({inner})"
        case And(children=children):
            return " ".join(_grouped(child) for child in children)
        case Or(children=children):
            return " OR ".join(_grouped(child) for child in children)
        case _:
            return atom_text(node)


def _grouped(node: Node) -> str:
    text = to_string(node)
    return f"({text})" if isinstance(node, And | Or) else text
