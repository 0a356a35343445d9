"""The one folding rule (tesoro.text.fold), and every reader of text applying it alike.

Listening queries, library search documents and queries, alias checks and the words of a spike
must agree on which spellings are one word: "año" is never "ano", "canción" is "cancion".
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tesoro.alerts.spikes import top_terms
from tesoro.scoring.relevance import FEATURES, BrandProfile, RelevanceScorer
from tesoro.search.postings import TextIndex
from tesoro.text.fold import contains_phrase, fold, padded_words, split_tokens, word_tokens, words
from tesoro.text.query import matches, parse
from tesoro.text.search import parse_search_query, search_document, skeleton_tokens


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("año", "año"),
        ("AÑO", "año"),
        ("an\u0303o", "año"),  # n + combining tilde recomposes to ñ
        ("A\u0303NO", "ano"),  # a tilde on another letter is an accent: dropped
        ("Ñandú", "ñandu"),
        ("canción", "cancion"),
        ("cancio\u0301n", "cancion"),  # combining acute folds like the precomposed letter
        ("CAFÉ", "cafe"),
        ("pingüino", "pinguino"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("\u1e9e", "ss"),  # capital sharp s
        ("İstanbul", "istanbul"),  # Turkish dotted capital I: the dot is dropped
        ("ISTANBUL", "istanbul"),
        ("\u0131stanbul", "\u0131stanbul"),  # dotless i is a letter of its own, kept
        ("\uff2e\uff29\uff2b\uff25", "nike"),  # full-width letters
        ("\ufb01esta", "fiesta"),  # the fi ligature
        ("x\u00b2", "x2"),
        ("cœur", "coeur"),
        ("ação", "acao"),
        ("façade", "facade"),
        ("が", "が"),  # the Japanese voicing mark makes another word: kept, recomposed
        ("हिंदी", "हिंदी"),  # Devanagari vowel signs: kept
        ("¡Qué rico! 😋🔥", "¡que rico! 😋🔥"),
        ("te \u2764\ufe0f", "te \u2764"),  # a variation selector only chooses how the heart is drawn
        ("1\ufe0f\u20e3", "1"),  # the keycap emoji reads as its digit
        ("👍🏽", "👍🏽"),  # skin tone modifiers are not marks: kept
        ("Nike", "nike"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("a", "b"),
    [("año", "ano"), ("caña", "cana"), ("peña", "pena"), ("niño", "nino"), ("が", "か")],
)
def test_different_words_stay_different(a: str, b: str) -> None:
    assert fold(a) != fold(b)
    assert fold(a.upper()) != fold(b.upper())


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_folding_twice_changes_nothing(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert words(once) == words(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_the_ascii_shortcut_is_the_full_rule(text: str) -> None:
    """ASCII text takes a shortcut in `fold`; it must give what the full rule gives (one é sends
    the whole text down the full path, and folds to "e")."""
    assert fold(text + "é") == fold(text) + "e"


def test_words_are_letters_and_digits_with_their_marks() -> None:
    found = words("¡Feliz AÑO 2025! 🎉 #NuevoAño @tesoro_es")
    assert found == ["feliz", "año", "2025", "nuevoaño", "tesoro", "es"]
    assert words("मैं हिंदी बोलता हूँ") == ["मैं", "हिंदी", "बोलता", "हूँ"]
    assert words("te \u2764\ufe0f mucho") == ["te", "mucho"]
    assert words("cancio\u0301n") == ["cancion"]


# --------------------------------------------------------------------------- the same rule everywhere

# (what a coordinator types, a post's text, whether they are the same word)
SAME_WORD = [
    ("año", "¡Feliz AÑO nuevo!", True),
    ("año", "feliz an\u0303o nuevo", True),
    ("año", "feliz ano nuevo", False),
    ("ano", "feliz año nuevo", False),
    ("Ñandú", "un ñandu en la ruta", True),
    ("cancion", "La CANCIÓN del verano", True),
    ("canción", "la cancio\u0301n del verano", True),
    ("cafe", "un CAFÉ por favor", True),
    ("pinguino", "el pingüino azul", True),
    ("strasse", "die Straße ist lang", True),
    ("istanbul", "İstanbul trip", True),
    ("nike", "\uff2e\uff29\uff2b\uff25 store", True),
    ("coeur", "mon cœur", True),
]


@pytest.mark.parametrize(("word", "text", "same"), SAME_WORD)
def test_listening_queries_fold_by_the_rule(word: str, text: str, same: bool) -> None:
    assert matches(parse(word), text=text) is same


@pytest.mark.parametrize(("word", "text", "same"), SAME_WORD)
def test_library_documents_and_queries_fold_by_the_rule(word: str, text: str, same: bool) -> None:
    query = parse_search_query(word)
    (group,) = query.groups
    (term,) = group
    assert (term.tokens[0] in search_document(text).split()) is same
    index = TextIndex()
    index.set_docs([0], [search_document(text)])
    index.rebuild()
    assert bool(index.match(query).mask[0]) is same


@pytest.mark.parametrize(("word", "text", "same"), SAME_WORD)
def test_alias_checks_fold_by_the_rule(word: str, text: str, same: bool) -> None:
    assert contains_phrase(padded_words(text), word) is same
    assert (fold(word) in {t for t, _ in word_tokens(text)}) is same
    assert (fold(word) in {t for t, _ in split_tokens(text)}) is same


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [
        ("nuevo local de #CafeAñoNuevo", True),
        ("nuevo local de #cafe\u0301an\u0303onuevo", True),
        ("nuevo local de #CafeAnoNuevo", False),
        ("gracias @CAFÉ_AÑO", True),
        ("gracias @cafe_ano", False),
        ("el Café del Año abrió", True),
        ("el cafe del ano abrio", False),
    ],
)
def test_brand_mentions_fold_by_the_rule(text: str, mentioned: bool) -> None:
    brand = BrandProfile(id=1, name="Café del Año", handles=("cafe_año",), hashtags=("CaféAñoNuevo",))
    scorer = RelevanceScorer([brand], profile_embeddings={1: np.zeros((1, 4), dtype=np.float32)})
    features = scorer.features(text, np.zeros(4, dtype=np.float32), brand_id=1)
    assert features[FEATURES.index("mention")] == (1.0 if mentioned else 0.0)


def test_spike_terms_fold_by_the_rule() -> None:
    window = ["Feliz AÑO nuevo", "feliz año a todos", "Año nuevo, vida nueva", "CAFÉ y año nuevo"] * 3
    baseline = ["feliz ano", "un cafe", "buenos dias"] * 10
    terms = top_terms(window, baseline, exclude=["Tesoro"])
    assert "año" in terms and "ano" not in terms
    assert "nuevo" in terms and "cafe" not in terms  # "CAFÉ" is the baseline's "cafe": no lift
    # A brand name excluded with its accent is excluded without it too.
    assert "cancion" not in top_terms(["CANCIÓN nueva"] * 10, ["hola"] * 10, exclude=["Canción"])


def test_duplicates_compare_folded_words() -> None:
    assert skeleton_tokens("Feliz AÑO https://t.co/x") == skeleton_tokens("RT @ana: feliz año")
    assert skeleton_tokens("feliz año") != skeleton_tokens("feliz ano")
