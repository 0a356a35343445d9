"""The listening query compiled to each platform's own search: X, Reddit, Bluesky and Mastodon.

Each compiler returns a search that finds every post the query matches, and usually more
(see `tesoro.text.query.broaden`); its docstring lists that platform's limits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import assert_never

from tesoro.text.query.broaden import (
    Platform,
    check_length,
    cover_of,
    dnf,
    nnf,
    primary_lang,
    quoted_unless_word,
    render_boolean,
    searchable,
)
from tesoro.text.query.errors import QueryCompileError
from tesoro.text.query.nodes import (
    And,
    Atom,
    Hashtag,
    Lang,
    Mention,
    Node,
    Not,
    Phrase,
    Term,
    hashtag_problem,
    to_string,
)

__all__ = ["BlueskyQuery", "MastodonQuery", "to_bluesky", "to_mastodon", "to_reddit", "to_x"]

# --------------------------------------------------------------------------------------------
# X (Twitter) API v2
# --------------------------------------------------------------------------------------------

_X_HANDLE_RE = re.compile(r"[A-Za-z0-9_]{1,15}")


def _x_atom(atom: Atom) -> str:
    match atom:
        case Term(text=text):
            return quoted_unless_word(text)
        case Phrase(text=text):
            return f'"{text}"'
        case Hashtag(name=name):
            return f"#{name}"
        case Mention(handle=handle):
            # Not an X account (a Bluesky or fediverse handle): search for its text instead.
            return f"@{handle}" if _X_HANDLE_RE.fullmatch(handle) else f'"{handle}"'
        case Lang(code=code):
            return f"lang:{primary_lang(code)}"
        case _:
            assert_never(atom)


_X = Platform(
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
    broad = searchable(node, _X)
    return check_length(render_boolean(broad, _x_atom, "-", " "), "X", max_length)


# --------------------------------------------------------------------------------------------
# Reddit
# --------------------------------------------------------------------------------------------


def _reddit_atom(atom: Atom) -> str:
    match atom:
        case Term(text=text):
            return quoted_unless_word(text)
        case Phrase(text=text):
            return f'"{text}"'
        case Hashtag(name=name):
            return quoted_unless_word(name)
        case Mention(handle=handle):
            return quoted_unless_word(handle.split("@", 1)[0])
        case Lang():
            raise AssertionError("Reddit has no language filter; lang: is removed before rendering")
        case _:
            assert_never(atom)


_REDDIT = Platform(
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
    broad = searchable(node, _REDDIT)
    return check_length(render_boolean(broad, _reddit_atom, "NOT ", " AND "), "Reddit", max_length)


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
            return quoted_unless_word(text)
        case Phrase(text=text):
            return f'"{text}"'
        case Hashtag(name=name):
            return f"#{name}"
        case Mention(handle=handle):
            # Search the account's first label as a word ("nike" for nike.bsky.social): the
            # mentions parameter only accepts existing accounts and rich-text facets.
            return quoted_unless_word(handle.split("@", 1)[0].split(".", 1)[0])
        case Lang():
            raise AssertionError("lang: goes into the lang parameter")
        case _:
            assert_never(atom)


_BLUESKY = Platform(
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
                lang = lang or primary_lang(code)  # one lang parameter; dropping the rest is broader
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
    broad = searchable(node, _BLUESKY)
    alternatives = dnf(broad, max_queries)
    if alternatives is not None:
        calls = [_bluesky_call(literals) for literals in alternatives]
    else:
        cover = cover_of(broad)
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
        lang = primary_lang(langs[0].code) if langs else None
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
    cover = cover_of(nnf(node))
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
                if hashtag_problem(text) is None:
                    hashtags.append(text)
                search.append(quoted_unless_word(text))
            case Phrase(text=text):
                search.append(f'"{text}"')
            case Mention(handle=handle):
                search.append(f"@{handle}")
            case Lang():
                raise AssertionError("a cover holds no lang:")
            case _:
                assert_never(atom)
    return MastodonQuery(hashtags=list(dict.fromkeys(hashtags)), search=list(dict.fromkeys(search)))
