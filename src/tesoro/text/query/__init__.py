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
* Text is compared after *folding* by Tesoro's one rule (`tesoro.text.fold`, the same as the
  library search and spike detection): compatibility forms, case and accents are folded, so
  ``cancion`` matches "Canción" and ``CAFÉ`` matches "cafe", but ``ñ`` is kept: in Spanish it is
  a letter of its own, and ``año`` is not ``ano``.  Posts are written with and without accents on
  every platform and listening is about recall; forgetting an accent should not lose mentions.
* A word is a run of letters, digits, ``_`` and combining marks (so Devanagari or Thai words are
  not split at their vowel signs).  Everything else separates words.
* A bare term also matches the same word inside a hashtag or a mention (``nike`` matches "#Nike"
  and "@nike"), as users expect; ``#nike`` matches only the hashtag, never the plain word.
* ``lang:`` compares primary language subtags (``tesoro.text.lang``), as every post is stored with
  one: ``lang:pt``, ``lang:pt-br`` and ``lang:PT_BR`` all match a post in ``pt`` or ``pt-BR``, and
  ``lang:in`` (X's retired code) matches ``id``.  A post without a language never matches ``lang:``.

Modules: `tokens` (words, hashtags and mentions), `nodes` (the syntax tree, its validation and
canonical text), `parser`, `matcher` (the local re-check), `broaden` and `platforms` (the native
queries).  Everything public is importable from this package.
"""

from __future__ import annotations

from tesoro.text.query.errors import QueryCompileError, QuerySyntaxError
from tesoro.text.query.matcher import Matcher, compile_matcher, matches, positive_terms
from tesoro.text.query.nodes import (
    And,
    Atom,
    Hashtag,
    Lang,
    Mention,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    normalize,
    to_string,
)
from tesoro.text.query.parser import parse
from tesoro.text.query.platforms import (
    BlueskyQuery,
    MastodonQuery,
    to_bluesky,
    to_mastodon,
    to_reddit,
    to_x,
)

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
