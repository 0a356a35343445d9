"""The listening-query language: parser, errors, local matching, canonical form and compilers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tesoro.text.query as query_package
from tesoro.text.query import (
    And,
    BlueskyQuery,
    Hashtag,
    Lang,
    MastodonQuery,
    Mention,
    Node,
    Not,
    Or,
    Phrase,
    QueryCompileError,
    QuerySyntaxError,
    Term,
    compile_matcher,
    matches,
    normalize,
    parse,
    positive_terms,
    to_bluesky,
    to_mastodon,
    to_reddit,
    to_string,
    to_x,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def t(text: str) -> Term:
    return Term(text)


def test_the_package_exports_the_public_names_of_its_modules() -> None:
    """Callers import from `tesoro.text.query`, not from its modules: the names of the single module
    it was split from are all there, and nothing else public is."""
    before_the_split = [
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
    assert sorted(query_package.__all__) == sorted(before_the_split)
    assert all(getattr(query_package, name, None) is not None for name in before_the_split)
    modules = {"annotations", "broaden", "errors", "matcher", "nodes", "parser", "platforms", "tokens"}
    public = {name for name in dir(query_package) if not name.startswith("_")}
    assert public - modules == set(before_the_split)


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a OR b c", Or((t("a"), And((t("b"), t("c")))))),
        ("a b OR c", Or((And((t("a"), t("b"))), t("c")))),
        ("NOT a b", And((Not(t("a")), t("b")))),
        ("NOT a OR b", Or((Not(t("a")), t("b")))),
        ("(a OR b) c", And((Or((t("a"), t("b"))), t("c")))),
        ("a AND b", And((t("a"), t("b")))),
        ("a b", And((t("a"), t("b")))),
        ("a AND b c AND d", And((t("a"), t("b"), t("c"), t("d")))),
        ("a (b c) (d)", And((t("a"), t("b"), t("c"), t("d")))),
        ("a OR (b OR c)", Or((t("a"), t("b"), t("c")))),
        ("NOT NOT a", Not(Not(t("a")))),
        ("rock and roll or not", And((t("rock"), t("and"), t("roll"), t("or"), t("not")))),
    ],
)
def test_precedence_grouping_and_juxtaposition(query: str, expected: Node) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(
    ("query", "excluded"),
    [
        ("-falso", t("falso")),
        ('-"air max"', Phrase("air max")),
        ("-#nike", Hashtag("nike")),
        ("-@nike", Mention("nike")),
        ("-lang:es", Lang("es")),
        ("-(a OR b)", Or((t("a"), t("b")))),
        ("NOT falso", t("falso")),
    ],
)
def test_exclusion_shorthand_is_not(query: str, excluded: Node) -> None:
    assert parse(query) == Not(excluded)
    assert parse(f"nike {query}") == And((t("nike"), Not(excluded)))


@pytest.mark.parametrize(
    ("query", "atom"),
    [
        ("sneaker", Term("sneaker")),
        ("e-commerce", Term("e-commerce")),
        ("10:30", Term("10:30")),
        ("canción", Term("canción")),
        ('"air  max 90"', Phrase("air  max 90")),
        ("#Nike", Hashtag("Nike")),
        ("@nike@mastodon.social", Mention("nike@mastodon.social")),
        ("@nike.bsky.social", Mention("nike.bsky.social")),
        ("lang:es", Lang("es")),
        ("LANG:pt-BR", Lang("pt-BR")),
    ],
)
def test_atoms(query: str, atom: Node) -> None:
    assert parse(query) == atom
    assert parse(f"  {query}\t") == atom


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("(a", 0, "missing ')'"),
        ("a (b OR (c)", 2, "missing ')'"),
        ("a)", 1, "unmatched ')'"),
        (")", 0, "unmatched ')'"),
        ("()", 0, "empty parentheses"),
        ("a AND", 2, "'AND' must be followed"),
        ("a OR", 2, "'OR' must be followed"),
        ("a AND OR b", 2, "'AND' must be followed"),
        ("(a OR) b", 3, "'OR' must be followed"),
        ("OR a", 0, "'OR' must have a term before"),
        ("AND", 0, "'AND' must have a term before"),
        ("a NOT", 2, "'NOT' must be followed"),
        ("-OR a", 0, "'-' must be followed"),
        ("a -", 2, "'-' must be directly followed"),
        ("a - b", 2, "'-' must be directly followed"),
        ("(a -)", 3, "'-' must be directly followed"),
        ('"abc', 0, "unterminated quote"),
        ('a "b c', 2, "unterminated quote"),
        ('""', 0, "empty phrase"),
        ('a "!!"', 2, "no letters or digits"),
        ("lang:", 0, "lang: needs a language code"),
        ("nike lang:", 5, "lang: needs a language code"),
        ("lang:español", 5, "invalid language code"),
        ("#", 0, "'#' must be followed"),
        ("#ni!ke", 3, "hashtags may only contain"),
        ("@", 0, "'@' must be followed"),
        ("@nike!", 5, "mentions may only contain"),
        ("from:nike", 0, "unknown field 'from:'"),
        ("a :)", 2, "no letters or digits"),
    ],
)
def test_syntax_error_positions(query: str, position: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.position == position
    assert message in caught.value.message
    assert isinstance(caught.value, ValueError)


def test_syntax_error_shows_query_with_caret() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse("nike\t(air OR")
    assert (
        str(caught.value) == "'OR' must be followed by a term (at position 10)\n  nike (air OR\n            ^"
    )


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(QuerySyntaxError, match="nested too deeply"):
        parse("(" * 500 + "a" + ")" * 500)
    with pytest.raises(QuerySyntaxError, match="nested too deeply"):
        parse("-" * 500 + "a")
    assert parse("(" * 20 + "a" + ")" * 20) == t("a")


@pytest.mark.parametrize(
    "build",
    [
        lambda: Term("two words"),
        lambda: Term("AND"),
        lambda: Term("-a"),
        lambda: Term("lang:es"),
        lambda: Term("!!"),
        lambda: Phrase('say "hi"'),
        lambda: Phrase("   "),
        lambda: Hashtag(""),
        lambda: Hashtag("a b"),
        lambda: Mention("@nike"),
        lambda: Lang("spanish"),
        lambda: And((t("a"),)),
        lambda: Or(()),
    ],
)
def test_ast_rejects_nodes_that_could_not_round_trip(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        build()


# --- canonical form -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("a OR b c", "a OR (b c)"),
        ("a AND (b OR c) NOT d", "a (b OR c) -d"),
        ("NOT (a b)", "-(a b)"),
        ("NOT NOT a", "-(-a)"),
        ('-"air max" -#x -@y -lang:es z', '-"air max" -#x -@y -lang:es z'),
        ("LANG:ES  #Nike", "lang:ES #Nike"),
    ],
)
def test_to_string_is_canonical(query: str, canonical: str) -> None:
    assert to_string(parse(query)) == canonical
    assert parse(canonical) == parse(query)


def test_normalize_flattens_nested_operators() -> None:
    nested = And((t("a"), And((t("b"), Or((t("c"), Or((t("d"), t("e")))))))))
    assert normalize(nested) == And((t("a"), t("b"), Or((t("c"), t("d"), t("e")))))


# --- matching -----------------------------------------------------------------------------------


def m(query: str, text: str, lang: str | None = None) -> bool:
    return matches(parse(query), text=text, lang=lang)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("nike", "Love my NIKE!", True),
        ("nike", "nikes are great", False),
        ("nike", "snike", False),
        ("nike", "nike_air", False),
        ("nike adidas", "adidas beats nike", True),
        ("nike adidas", "nike only", False),
        ("nike OR adidas", "adidas only", True),
        ("nike -falso", "nike original", True),
        ("nike -falso", "nike falso", False),
        ("nike NOT (falso OR replica)", "nike replica", False),
        ("(nike OR adidas) zapatillas", "zapatillas adidas", True),
        ("nike OR adidas zapatillas", "adidas", False),
        ('"air max"', "new Air-Max 90", True),
        ('"air max"', "max air", False),
        ('"air max"', "air jordan max", False),
        ('"air max"', "chair max", False),
        ("e-commerce", "E commerce rocks", True),
        ("e-commerce", "commerce e", False),
        ("and", "rock and roll", True),
    ],
)
def test_words_phrases_and_operators(query: str, text: str, expected: bool) -> None:
    assert m(query, text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("#nike", "go #Nike go", True),
        ("#nike", "go nike go", False),
        ("#nike", "go #nikeair", False),
        ("#nike", "a#nike", False),
        ("#nike", "(#nike)", True),
        ("nike", "go #Nike go", True),  # a bare term also matches inside a hashtag
        ("nike", "thanks @nike", True),
        ("@nike", "thanks @Nike!", True),
        ("@nike", "thanks @nike.", True),
        ("@nike", "thanks nike", False),
        ("@nike", "mail me@nike", False),
        ("@nike", "hi @nike@mastodon.social", True),
        ("@nike@mastodon.social", "hi @nike@mastodon.social", True),
        ("@nike@mastodon.social", "hi @nike", False),
        ("@nike", "hi @nike.bsky.social", False),
        ("@nike.bsky.social", "hi @nike.bsky.social", True),
        ("#nike", "#nike @nike", True),
        ("-#nike nike", "nike is great", True),
        ("-#nike nike", "#nike is great", False),
    ],
)
def test_hashtags_and_mentions(query: str, text: str, expected: bool) -> None:
    assert m(query, text) is expected


@pytest.mark.parametrize(
    ("query", "lang", "expected"),
    [
        ("lang:es", "es", True),
        ("lang:es", "ES", True),
        ("lang:es", "es-MX", True),
        ("lang:es", "es_AR", True),
        ("lang:es", "en", False),
        ("lang:es", "est", False),
        ("lang:es", None, False),
        ("lang:pt-br", "pt-BR", True),
        ("lang:pt-br", "pt", True),
        ("lang:pt_BR", "pt", True),
        ("lang:in", "id", True),
        ("lang:id", "in", True),
        ("lang:pt", "und", False),
        ("-lang:es", None, True),
        ("-lang:es", "es", False),
        ("hola lang:es OR hello lang:en", "en", True),
    ],
)
def test_lang(query: str, lang: str | None, expected: bool) -> None:
    assert m(query, "hola hello", lang) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("canción", "Mi CANCIÓN favorita", True),
        ("canción", "mi cancion favorita", True),
        ("cancion", "Mi canción favorita", True),
        ("canción", "mi cancio\u0301n (decomposed accent)", True),
        ('"qué rico"', "¡Que RICO está!", True),
        ("pingüino", "PINGUINO", True),
        ("año", "¡Feliz AÑO!", True),
        ("año", "feliz an\u0303o", True),
        ("año", "feliz ano", False),  # ñ is a letter of its own in Spanish
        ("ano", "feliz año", False),
        ("#españa", "vamos #ESPAÑA", True),
        ("#españa", "vamos #Espana", False),
        ("#camión", "#camion nuevo", True),
        ("zapatillas -falsas", "Zapatillas FALSAS, ¡ojo!", False),
        ("niño", "los niños", False),
        ("straße", "STRASSE", True),
        ("\uff4e\uff49\uff4b\uff45", "nike", True),  # fullwidth letters
        ("हिंदी", "मैं हिंदी बोलता हूँ", True),
        ("ह", "मैं हिंदी बोलता हूँ", False),  # combining vowel signs do not split words
    ],
)
def test_accents_and_unicode(query: str, text: str, expected: bool) -> None:
    assert m(query, text) is expected


def test_compiled_matcher_is_reusable_and_agrees_with_matches() -> None:
    node = parse('(nike OR adidas) "air max" -#falso lang:es')
    matcher = compile_matcher(node)
    posts = [
        ("Nike Air Max nuevas", "es"),
        ("Nike Air Max nuevas #falso", "es"),
        ("Adidas air-max?", "es-MX"),
        ("Nike Air Max", "en"),
        ("Nike Air Max", None),
        ("", "es"),
    ]
    results = [matcher.matches(text, lang) for text, lang in posts]
    assert results == [True, False, True, False, False, False]
    assert results == [matches(node, text=text, lang=lang) for text, lang in posts]
    assert matcher.node is node


def test_positive_terms() -> None:
    node = parse('(nike OR #Adidas) "air max" -falso -(-@puma) lang:es NOT (a OR -b)')
    assert positive_terms(node) == {"nike", "#Adidas", "air max", "@puma", "b"}


# --- platform compilers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nike OR adidas", "nike OR adidas"),
        ("(nike OR adidas) zapatillas -falso lang:es", "(nike OR adidas) zapatillas -falso lang:es"),
        ('#Nike @nike "air max"', '#Nike @nike "air max"'),
        ("a OR b c", "a OR (b c)"),
        ("nike -(air OR max)", "nike -air -max"),
        ("nike -(air max)", "nike"),
        ("NOT NOT nike", "nike"),
        ("nike lang:pt-BR", "nike lang:pt"),
        ("e-commerce $nke or", '"e-commerce" "$nke" "or"'),
        ("@nike.bsky.social", '"nike.bsky.social"'),
        ("nike -@nike.bsky.social", "nike"),
        ("nike -@nike_es", "nike -@nike_es"),
        ("(a -b) OR c", "(a -b) OR c"),
    ],
)
def test_to_x(query: str, expected: str) -> None:
    assert to_x(parse(query)) == expected


@pytest.mark.parametrize("query", ["-nike", "lang:es", "lang:es -nike", "nike OR -adidas", "NOT (a OR b)"])
def test_to_x_rejects_queries_without_a_positive_term(query: str) -> None:
    with pytest.raises(QueryCompileError, match="X cannot search"):
        to_x(parse(query))


def test_to_x_length_limit() -> None:
    words = " OR ".join(f"palabra{i}" for i in range(60))
    with pytest.raises(QueryCompileError, match="over the limit of 512"):
        to_x(parse(words))
    assert len(to_x(parse(words), max_length=1024)) > 512


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nike OR adidas", "nike OR adidas"),
        ("nike adidas", "nike AND adidas"),
        ("(nike OR adidas) zapatillas -falso lang:es", "(nike OR adidas) AND zapatillas AND NOT falso"),
        ("a OR b c", "a OR (b AND c)"),
        ('#Nike "air max" @nike@mastodon.social', 'Nike AND "air max" AND nike'),
        ("nike -#falso -@puma -lang:en", "nike"),
        ("nike lang:es OR adidas", "nike OR adidas"),
        ("e-commerce OR or", '"e-commerce" OR "or"'),
    ],
)
def test_to_reddit(query: str, expected: str) -> None:
    assert to_reddit(parse(query)) == expected


def test_to_reddit_rejects_pure_exclusions() -> None:
    with pytest.raises(QueryCompileError, match="Reddit"):
        to_reddit(parse("-nike lang:es"))
    with pytest.raises(QueryCompileError, match="Reddit"):
        to_reddit(parse("lang:es"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nike", [BlueskyQuery("nike")]),
        (
            "(nike OR adidas) zapatillas -falso lang:es",
            [BlueskyQuery("nike zapatillas -falso", "es"), BlueskyQuery("adidas zapatillas -falso", "es")],
        ),
        ('#Nike "air max" -#falso', [BlueskyQuery('#Nike "air max"', None, ["Nike"])]),
        ("@nike.bsky.social -@puma", [BlueskyQuery("nike")]),
        ("nike OR nike", [BlueskyQuery("nike")]),
        ("nike lang:pt-BR lang:es", [BlueskyQuery("nike", "pt")]),
        ("nike -(a b)", [BlueskyQuery("nike")]),
        ("nike -(a OR b)", [BlueskyQuery("nike -a -b")]),
    ],
)
def test_to_bluesky(query: str, expected: list[BlueskyQuery]) -> None:
    assert to_bluesky(parse(query)) == expected


def test_to_bluesky_falls_back_to_a_cover_when_there_are_too_many_alternatives() -> None:
    node = parse("(a OR b) (c OR d OR e) (f OR g) (h OR i) lang:es")
    assert to_bluesky(node) == [BlueskyQuery("a", "es"), BlueskyQuery("b", "es")]
    assert len(to_bluesky(node, max_queries=24)) == 24


def test_to_bluesky_errors() -> None:
    nine = parse(" OR ".join("abcdefghi"))
    with pytest.raises(QueryCompileError, match="needs 9 separate searches"):
        to_bluesky(nine)
    assert [call.q for call in to_bluesky(nine, max_queries=9)] == list("abcdefghi")
    with pytest.raises(QueryCompileError, match="Bluesky"):
        to_bluesky(parse("-nike lang:es"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("#nike OR #adidas", MastodonQuery(["nike", "adidas"], [])),
        ("nike", MastodonQuery(["nike"], ["nike"])),
        ('"air max" OR @nike OR e-commerce', MastodonQuery([], ['"air max"', "@nike", '"e-commerce"'])),
        ("(nike OR adidas) #zapatillas -falso lang:es", MastodonQuery(["zapatillas"], [])),
        ("nike -(-adidas)", MastodonQuery(["nike"], ["nike"])),
    ],
)
def test_to_mastodon(query: str, expected: MastodonQuery) -> None:
    assert to_mastodon(parse(query)) == expected


@pytest.mark.parametrize("query", ["-nike", "lang:es", "nike OR -adidas"])
def test_to_mastodon_rejects_queries_without_a_positive_term(query: str) -> None:
    with pytest.raises(QueryCompileError, match="Mastodon"):
        to_mastodon(parse(query))


# --- property tests -----------------------------------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ACCENTED = "áéíóúüñÁÉÍÓÚÜÑ"


def _valid(build: Callable[[str], object]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            build(value)
        except ValueError:
            return False
        return True

    return check


def _tree(atoms: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        groups = st.lists(children, min_size=2, max_size=3).map(tuple)
        return st.one_of(children.map(Not), groups.map(And), groups.map(Or))

    return st.recursive(atoms, extend, max_leaves=8)


# Arbitrary (valid) atoms, including awkward spellings, for the round trip.
any_terms = st.one_of(
    st.sampled_from(["e-commerce", "10:30", "c#", "and", "Or", "nike:", "a@b", "x-", "año", "$nke"]),
    st.text(LETTERS + ACCENTED + "0123456789-:'._#@", min_size=1, max_size=8).filter(_valid(Term)),
).map(Term)
any_atoms: st.SearchStrategy[Node] = st.one_of(
    any_terms,
    st.text(LETTERS + ACCENTED + " -!,.'", min_size=1, max_size=12).filter(_valid(Phrase)).map(Phrase),
    st.text(LETTERS + ACCENTED + "0123456789_", min_size=1, max_size=8).map(Hashtag),
    st.from_regex(r"[a-z0-9_]{1,6}(\.[a-z]{1,4})?(@[a-z]{1,5}\.social)?", fullmatch=True).map(Mention),
    st.from_regex(r"[a-zA-Z]{2,3}(-[A-Za-z0-9]{1,4})?", fullmatch=True).map(Lang),
)


@FAST
@given(_tree(any_atoms))
def test_property_to_string_round_trips(node: Node) -> None:
    text = to_string(node)
    assert parse(text) == normalize(node)
    assert to_string(parse(text)) == to_string(normalize(node))


# A small vocabulary shared by queries and posts, so that matches are frequent.
WORDS = ["nike", "Nike", "NIKE", "air", "max", "canción", "cancion", "CANCIÓN", "año", "ano", "AÑO"]
WORDS += ["pingüino", "pinguino", "e", "commerce", "de", "nike_air"]
LANGS = ["es", "en", "es-MX", "pt"]
vocab_atoms: st.SearchStrategy[Node] = st.one_of(
    st.sampled_from([*WORDS, "e-commerce", "nike's"]).map(Term),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(lambda ws: Phrase(" ".join(ws))),
    st.sampled_from(WORDS).map(Hashtag),
    st.sampled_from(WORDS[:6]).flatmap(lambda w: st.sampled_from([Mention(w), Mention(f"{w}@mastodon")])),
    st.sampled_from(LANGS).map(Lang),
)
post_tokens = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(lambda w: f"#{w}"),
    st.sampled_from(WORDS).map(lambda w: f"@{w}"),
    st.sampled_from(WORDS[:6]).map(lambda w: f"@{w}@mastodon"),
)
separators = st.sampled_from([" ", "  ", ", ", ". ", "! ", "\n", "-", "'", " (", ") ", "&"])


@st.composite
def posts(draw: st.DrawFn) -> tuple[str, str | None]:
    tokens = draw(st.lists(post_tokens, max_size=8))
    text = "".join(token + draw(separators) for token in tokens)
    return text, draw(st.sampled_from([None, "es", "ES", "es-MX", "en", "pt-BR"]))


# The reference evaluator: a deliberately naive, character-by-character reading of the rules,
# valid for the alphabet generated above.
_PLAIN = str.maketrans("áéíóúü", "aeiouu")


def ref_fold(text: str) -> str:
    return text.lower().translate(_PLAIN)


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def ref_words(text: str) -> list[str]:
    words, current = [], ""
    for ch in ref_fold(text) + " ":
        if is_word_char(ch):
            current += ch
        elif current:
            words.append(current)
            current = ""
    return words


def ref_marked(text: str, sigil: str) -> list[str]:
    """Hashtags (``#``) or mentions (``@``) of ``text``, read character by character."""
    text = ref_fold(text)
    found = []
    for i, ch in enumerate(text):
        before = text[i - 1] if i else " "
        # "&#39;" is an HTML entity, not a hashtag; "@a@b" is one mention, not two.
        if ch != sigil or is_word_char(before) or before == {"#": "&", "@": "@"}[sigil]:
            continue
        j, seen_at = i + 1, False
        while j < len(text):
            follows = j + 1 < len(text) and is_word_char(text[j + 1])
            if is_word_char(text[j]) or (sigil == "@" and text[j] in ".-" and follows):
                j += 1
            elif sigil == "@" and text[j] == "@" and follows and not seen_at:
                seen_at = True
                j += 1
            else:
                break
        if j > i + 1:
            found.append(text[i + 1 : j])
    return found


def ref_eval(node: Node, text: str, lang: str | None) -> bool:
    if isinstance(node, Term | Phrase):
        want, have = ref_words(node.text), ref_words(text)
        return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))
    if isinstance(node, Hashtag):
        return ref_fold(node.name) in ref_marked(text, "#")
    if isinstance(node, Mention):
        handle = ref_fold(node.handle)
        return any(handle in (found, found.split("@")[0]) for found in ref_marked(text, "@"))
    if isinstance(node, Lang):
        if lang is None:
            return False
        # Both sides as primary subtags: the part before the first "-" or "_", lower case.
        post_lang, code = (c.lower().replace("_", "-").split("-")[0] for c in (lang, node.code))
        return post_lang == code
    if isinstance(node, Not):
        return not ref_eval(node.child, text, lang)
    if isinstance(node, And):
        return all(ref_eval(child, text, lang) for child in node.children)
    return any(ref_eval(child, text, lang) for child in node.children)


@settings(max_examples=300, deadline=None)
@given(_tree(vocab_atoms), st.lists(posts(), min_size=1, max_size=5))
def test_property_matcher_agrees_with_reference(node: Node, batch: list[tuple[str, str | None]]) -> None:
    matcher = compile_matcher(node)
    for text, lang in batch:
        assert matcher.matches(text, lang) is ref_eval(node, text, lang), (to_string(node), text, lang)


@FAST
@given(st.one_of(st.text(max_size=40), st.text(' ()"-#@:ANDORNTlangesx_.\t', max_size=30)))
def test_property_parser_only_raises_syntax_errors(query: str) -> None:
    try:
        node = parse(query)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(query)
        assert str(error).count("\n") == 2
        return
    assert parse(to_string(node)) == node
    compile_matcher(node).matches(query)


def _bluesky_node(call: BlueskyQuery) -> Node:
    parts = [parse(call.q), *(Hashtag(tag) for tag in call.tags)]
    if call.lang:
        parts.append(Lang(call.lang))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _either(parts: list[Node]) -> Node:
    return parts[0] if len(parts) == 1 else Or(tuple(parts))


def _mastodon_node(query: MastodonQuery) -> Node:
    return _either([*(Hashtag(tag) for tag in query.hashtags), *(parse(q) for q in query.search)])


def _platform_nodes(node: Node) -> list[Node]:
    """Each compiler's output read back in the query language (all four are subsets of it)."""
    compilers: list[Callable[[], Node]] = [
        lambda: parse(to_x(node)),
        lambda: parse(to_reddit(node)),
        lambda: _either([_bluesky_node(call) for call in to_bluesky(node)]),
        lambda: _mastodon_node(to_mastodon(node)),
    ]
    found: list[Node] = []
    for compile_one in compilers:
        with contextlib.suppress(QueryCompileError):
            found.append(compile_one())
    return found


@FAST
@given(_tree(vocab_atoms), st.lists(posts(), min_size=1, max_size=5))
def test_property_compilers_are_never_narrower(node: Node, batch: list[tuple[str, str | None]]) -> None:
    platform_matchers = [compile_matcher(broad) for broad in _platform_nodes(node)]
    matcher = compile_matcher(node)
    for text, lang in batch:
        if matcher.matches(text, lang):
            for platform in platform_matchers:
                assert platform.matches(text, lang), (to_string(node), to_string(platform.node), text, lang)


def test_property_helpers_read_compiler_output() -> None:
    # The never-narrower property relies on reading compiler output back; make sure it can fail.
    node = parse("(nike OR adidas) zapatillas")
    assert [to_string(broad) for broad in _platform_nodes(node)] == [
        "(nike OR adidas) zapatillas",
        "(nike OR adidas) zapatillas",
        "(nike zapatillas) OR (adidas zapatillas)",
        "#zapatillas OR zapatillas",
    ]
