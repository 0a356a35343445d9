"""Broadening a listening query to what a platform's search can express.

The compilers in `tesoro.text.query.platforms` only ever *broaden*: a part a platform cannot
express is dropped or widened, never narrowed, and the local re-check (`Matcher`) removes the
extra posts. The machinery shared by every platform lives here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tesoro.text.query.errors import QueryCompileError
from tesoro.text.query.nodes import (
    ANCHOR_TYPES,
    ATOM_TYPES,
    And,
    Atom,
    Hashtag,
    Mention,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    and_of,
    or_of,
    to_string,
)
from tesoro.text.query.tokens import KEYWORDS

__all__ = [
    "Platform",
    "anchored",
    "broaden",
    "check_length",
    "cover_of",
    "dnf",
    "nnf",
    "primary_lang",
    "quoted_unless_word",
    "render_boolean",
    "searchable",
]


# Queries are first put in negation normal form (negations only on atoms).  A platform then
# states which atoms it can express and which it can negate; anything else is widened:
#   * an atom it cannot express, or a negation it cannot express, becomes "anything" (None);
#   * an AND drops "anything" children; an OR with an "anything" child becomes "anything";
#   * a group that no longer contains a searchable positive atom (term, phrase, tag, mention)
#     becomes "anything", because platforms reject or mis-handle pure exclusions and lang-only
#     searches.
# Each step only widens the set of matching posts, so the result is never narrower.


def nnf(node: Node, negated: bool = False) -> Node:
    """Negation normal form: De Morgan pushes every NOT down onto an atom."""
    match node:
        case Not(child=child):
            return nnf(child, not negated)
        case And(children=children):
            parts = [nnf(child, negated) for child in children]
            return or_of(parts) if negated else and_of(parts)
        case Or(children=children):
            parts = [nnf(child, negated) for child in children]
            return and_of(parts) if negated else or_of(parts)
        case _:
            return Not(node) if negated else node


def anchored(node: Node) -> bool:
    """Whether every match of ``node`` contains a searchable positive atom."""
    match node:
        case And(children=children):
            return any(anchored(child) for child in children)
        case Or(children=children):
            return all(anchored(child) for child in children)
        case _:
            return isinstance(node, ANCHOR_TYPES)


@dataclass(frozen=True)
class Platform:
    """What one platform's search can express: which atoms, and which atoms it can exclude."""

    name: str
    expresses: Callable[[Atom], bool]
    negates: Callable[[Atom], bool]


def broaden(node: Node, platform: Platform) -> Node | None:
    """Widen an NNF ``node`` to what ``platform`` can express; ``None`` means "anything"."""
    match node:
        case Not(child=child):
            return node if isinstance(child, ATOM_TYPES) and platform.negates(child) else None
        case And(children=children):
            kept = [part for child in children if (part := broaden(child, platform)) is not None]
            if not any(anchored(part) for part in kept):
                return None
            return and_of(kept)
        case Or(children=children):
            parts = [broaden(child, platform) for child in children]
            if not all(part is not None and anchored(part) for part in parts):
                return None
            return or_of([part for part in parts if part is not None])
        case _:
            return node if platform.expresses(node) else None


def searchable(node: Node, platform: Platform) -> Node:
    """The broadened query, or a clear error when nothing searchable is left."""
    broad = broaden(nnf(node), platform)
    if broad is None or not anchored(broad):
        raise QueryCompileError(
            f"{platform.name} cannot search for {to_string(node)!r}: every alternative needs at least "
            'one term, "phrase", #hashtag or @mention that is not excluded (lang: alone is not enough)'
        )
    return broad


def cover_of(node: Node) -> list[Atom] | None:
    """Positive atoms such that every match of the NNF ``node`` contains at least one of them.

    Used where a platform has no OR (or no boolean search at all): searching for each atom
    separately then finds every match.  ``None`` when there is no such set (pure exclusions).
    For an AND the smallest child cover is the cheapest one to search.
    """
    match node:
        case And(children=children):
            covers = [found for child in children if (found := cover_of(child)) is not None]
            return min(covers, key=len) if covers else None
        case Or(children=children):
            atoms: list[Atom] = []
            for child in children:
                found = cover_of(child)
                if found is None:
                    return None
                atoms.extend(found)
            return list(dict.fromkeys(atoms))
        case Term() | Phrase() | Hashtag() | Mention():
            return [node]
        case _:
            return None


def dnf(node: Node, limit: int) -> list[list[Node]] | None:
    """Disjunctive normal form of an NNF ``node`` as lists of literals, or ``None`` past ``limit``."""
    match node:
        case Or(children=children):
            disjuncts: list[list[Node]] = []
            for child in children:
                found = dnf(child, limit)
                if found is None or len(disjuncts) + len(found) > limit:
                    return None
                disjuncts.extend(found)
            return disjuncts
        case And(children=children):
            product: list[list[Node]] = [[]]
            for child in children:
                found = dnf(child, limit)
                if found is None or len(product) * len(found) > limit:
                    return None
                product = [left + right for left in product for right in found]
            return product
        case _:
            return [[node]]


def primary_lang(code: str) -> str:
    """``pt-BR`` -> ``pt``: platforms filter on the primary subtag; the region is re-checked."""
    return re.split("[-_]", code, maxsplit=1)[0].lower()


_SIMPLE_WORD_RE = re.compile(r"\w+")


def quoted_unless_word(text: str) -> str:
    """Quote anything but a plain word, so platforms cannot read it as an operator (``$nke``,
    ``10:30``, lower-case ``or``); quoting a term is an exact match of the same words."""
    if _SIMPLE_WORD_RE.fullmatch(text) and text.upper() not in KEYWORDS:
        return text
    return f'"{text}"'


def check_length(query: str, platform: str, max_length: int) -> str:
    if len(query) > max_length:
        raise QueryCompileError(
            f"the {platform} query is {len(query)} characters long, over the limit of {max_length}; "
            "split the listening query or shorten it"
        )
    return query


def render_boolean(node: Node, atom: Callable[[Atom], str], negation: str, conjunction: str) -> str:
    """Render a broadened NNF tree with explicit grouping (platforms differ on precedence)."""

    def grouped(part: Node) -> str:
        text = render(part)
        return f"({text})" if isinstance(part, And | Or) else text

    def render(part: Node) -> str:
        match part:
            case Not(child=child):
                assert isinstance(child, ATOM_TYPES)
                return f"{negation}{atom(child)}"
            case And(children=children):
                return conjunction.join(grouped(child) for child in children)
            case Or(children=children):
                return " OR ".join(grouped(child) for child in children)
            case _:
                return atom(part)

    return render(node)
