"""The local re-check: a listening query compiled into a function over posts.

Platforms tokenise, fold accents and support operators differently, so every collector checks
each post a platform returns with `Matcher` before keeping it; this is what makes the results
the same on every platform (see the package docstring).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TypeAlias, assert_never

from tesoro.text.fold import fold
from tesoro.text.lang import primary_language
from tesoro.text.query.nodes import And, Hashtag, Lang, Mention, Node, Not, Or, Phrase, Term, atom_text
from tesoro.text.query.tokens import MENTION_RE, TAG_RE, WORD_RE, fold_lang, term_words

__all__ = ["Matcher", "compile_matcher", "matches", "positive_terms"]


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
        folded = fold(text)
        words: set[str] = set()
        padded = ""
        if self._words or self._padded:
            tokens = WORD_RE.findall(folded)
            if self._words:
                words = set(tokens)
            if self._padded:
                padded = f" {' '.join(tokens)} "
        tags: set[str] = set()
        if self._tags and "#" in folded:
            tags = set(TAG_RE.findall(folded))
        mentions: set[str] = set()
        if self._mentions and "@" in folded:
            for mention in MENTION_RE.findall(folded):
                mentions.add(mention)
                mentions.add(mention.split("@", 1)[0])  # "@nike@instance" is also "@nike"
        post = _Post(words, padded, tags, mentions, primary_language(lang))
        return self._check(post)

    def _compile(self, node: Node) -> _Check:
        match node:
            case Term(text=text) | Phrase(text=text):
                return self._compile_words(term_words(text))
            case Hashtag(name=name):
                self._tags = True
                tag = fold(name)
                return lambda post: tag in post.tags
            case Mention(handle=handle):
                self._mentions = True
                mention = fold(handle)
                return lambda post: mention in post.mentions
            case Lang(code=code):
                return self._compile_lang(fold_lang(code))
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
        # Posts carry one primary subtag (tesoro.text.lang), so both sides compare as one: `lang:pt-br`
        # and `lang:pt` find the same posts, `lang:in` finds Indonesian ("id").
        wanted = primary_language(code)
        return lambda post: wanted is not None and post.lang == wanted

    def _split_words(self, children: tuple[Node, ...]) -> tuple[frozenset[str], list[_Check]]:
        """Separate single-word children (checked together as a set) from the rest."""
        words: set[str] = set()
        others: list[_Check] = []
        for child in children:
            tokens = term_words(child.text) if isinstance(child, Term | Phrase) else []
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
                found.add(current.text if isinstance(current, Term | Phrase) else atom_text(current))

    walk(node, True)
    return found
