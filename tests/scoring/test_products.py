"""Product matching: alias forms, precedence between products, and the confidence (issue #4).

Most tests give the matcher unit profile embeddings and hand-made post embeddings, so
the alias logic is tested without the model: a zero post embedding has no opinion (every
similarity is 0), `_toward(k, s)` is similarity `s` to product k only. The last tests use
the bundled encoder on English and Spanish posts.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from tesoro.scoring.encoders import Encoder
from tesoro.scoring.products import ProductMatch, ProductMatcher, ProductRef
from tesoro.text.fold import hashtag_words, split_compound, split_tokens

CATALOG = [
    ProductRef(1, "Apple", ("apple", "apple store"), "Apple, the company, and its stores"),
    ProductRef(2, "iPhone", ("iphone", "iphone 4"), "Apple's iPhone smartphone"),
    ProductRef(3, "iPad", ("ipad", "ipad 2"), "Apple's iPad tablet"),
    ProductRef(4, "iPhone App", ("iphone app", "app store"), "Apps for the iPhone, from the App Store"),
    ProductRef(5, "Google", ("google",), "Google, the company"),
    ProductRef(6, "Google Maps", ("google maps",), "Google's map service"),
    ProductRef(7, "Pixel", ("pixel",), "Google's Pixel phone"),
]
INDEX = {p.name: k for k, p in enumerate(CATALOG)}
NAMES = {p.id: p.name for p in CATALOG}


def _matcher() -> ProductMatcher:
    return ProductMatcher(CATALOG, profile_embeddings=np.eye(len(CATALOG), dtype=np.float32))


def _toward(name: str | None = None, similarity: float = 0.0) -> npt.NDArray[np.float32]:
    vector = np.zeros(len(CATALOG), dtype=np.float32)
    if name is not None:
        vector[INDEX[name]] = similarity
    return vector


def _one(text: str, embedding: npt.NDArray[np.float32] | None = None) -> ProductMatch:
    emb = _toward() if embedding is None else embedding
    return _matcher().match([text], emb[None, :])[0]


def _name(match: ProductMatch) -> str | None:
    return None if match.product_id is None else NAMES[match.product_id]


# --- the words of a post ------------------------------------------------------------------------


def test_compound_words_are_cut_where_their_parts_meet() -> None:
    assert split_compound("iPad2") == ["iPad", "2"]
    assert split_compound("GoogleMaps") == ["Google", "Maps"]
    assert split_compound("iPhoneApp") == ["iPhone", "App"]
    assert split_compound("4Android") == ["4", "Android"]
    # A brand's own casing is one word.
    for word in ("iPhone", "iPad", "eBay", "McDonalds", "ipad", "IPHONE"):
        assert split_compound(word) == [word]
    assert split_tokens("Mi #iPad2 nuevo") == [("mi", 0), ("ipad", 1), ("2", 1), ("nuevo", 2)]
    assert hashtag_words("#iPad is #cool, not an ipad #") == frozenset({0, 2})


# --- alias forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my new #iPad2 is great", "iPad"),  # hashtag, model number written together
        ("Me encanta mi #iPad2", "iPad"),
        ("#GoogleMaps me llevó al sitio equivocado", "Google Maps"),  # camel-case hashtag
        ("el iPhone se me calienta", "iPhone"),
        ("My iPhone's battery died again", "iPhone"),  # possessive
        ("IPHONE!!! why", "iPhone"),
    ],
)
def test_alias_forms_in_posts(text: str, expected: str) -> None:
    got = _one(text)
    assert (_name(got), got.via) == (expected, "alias")
    assert got.confidence >= 0.75


def test_unrelated_text_is_none() -> None:
    for text in ("What a lovely day at the beach", "Hoy comemos paella en casa", ""):
        assert _one(text) == ProductMatch(None, 0.0, "none")


def test_a_plural_counts_when_the_embedding_backs_it() -> None:
    """An "iphones" is a looser mention than "iphone": the post must also look like the product."""
    backed = _one("Todos mis amigos tienen iPhones", _toward("iPhone", 0.35))
    assert (_name(backed), backed.via) == ("iPhone", "alias")
    assert 0.6 <= backed.confidence < 0.75
    # Without the embedding's support the same words are not enough (nor for the fallback).
    assert _name(_one("Todos mis amigos tienen iPhones")) is None
    # A plural of a multi-word alias is specific enough with less support.
    apps = _one("Best new iPhone apps this week", _toward("iPhone App", 0.15))
    assert _name(apps) == "iPhone App"


def test_alias_words_apart_name_the_alias() -> None:
    """An "app for the iPhone" is an "iphone app": in either order, a few words apart at most."""
    assert _name(_one("Just released our app for the iPhone", _toward("iPhone App", 0.2))) == "iPhone App"
    assert _name(_one("Nueva app para iPhone", _toward("iPhone App", 0.2))) == "iPhone App"
    far = "The app crashed again so I threw away my old and tired iPhone"
    assert _name(_one(far, _toward("iPhone App", 0.2))) == "iPhone"
    # A model number must follow its name: this is an iPhone, not an iPhone 4.
    assert _name(_one("my iPhone died after 4 hours")) == "iPhone"


# --- several products named ----------------------------------------------------------------------


def test_nested_alias_is_the_less_specific_reading() -> None:
    assert _name(_one("Whrrl is live in the iPhone app store")) == "iPhone App"
    assert _name(_one("Queue at the Apple store since 6am")) == "Apple"


def test_a_specialisation_beats_the_product_it_specialises() -> None:
    """Apple and the iPad both named: the post is about the iPad, with a lower confidence."""
    single = _one("My iPad 2 is great")
    both = _one("Apple's new iPad 2 sold out in an hour")
    assert _name(single) == "iPad" and _name(both) == "iPad"
    assert both.confidence < 0.7 <= single.confidence
    assert _name(_one("Google Maps is down again, thanks Google")) == "Google Maps"
    spread = "Google says its Maps app has 150 million users"
    assert _name(_one(spread, _toward("Google Maps", 0.2))) == "Google Maps"
    # An app for the iPhone specialises the iPhone, and so Apple too.
    assert _name(_one("Apple approved our iPhone app today")) == "iPhone App"


def test_the_product_the_sentence_is_about_comes_first() -> None:
    assert _name(_one("El iPhone es mucho mejor que el Pixel")) == "iPhone"
    assert _name(_one("El Pixel es mucho mejor que el iPhone")) == "Pixel"
    assert _name(_one("The Pixel camera beats anything, sorry #iphone")) == "Pixel"


def test_the_embedding_decides_between_products_named_alike() -> None:
    text = "iPhone or Pixel, which one should I buy?"
    assert _name(_one(text)) == "iPhone"
    clear = _one(text, _toward("Pixel", 0.6))
    assert _name(clear) == "Pixel" and clear.confidence < 0.75


def test_brand_restricts_the_candidates() -> None:
    catalog = [
        ProductRef(1, "Cumbre", ("cumbre",), brand_id=1),
        ProductRef(2, "Cumbre", ("cumbre",), brand_id=2),
    ]
    matcher = ProductMatcher(catalog, profile_embeddings=np.eye(2, dtype=np.float32))
    emb = np.zeros((2, 2), dtype=np.float32)
    got = matcher.match(["mis Cumbre nuevas", "mis Cumbre nuevas"], emb, brand_ids=[2, 3])
    assert got[0].product_id == 2 and got[1].product_id is None


# --- with the bundled encoder --------------------------------------------------------------------


def test_products_with_the_encoder(encoder: Encoder) -> None:
    catalog = [
        ProductRef(1, "iPad", ("ipad", "ipad 2"), "Apple's iPad tablet computer"),
        ProductRef(2, "iPhone", ("iphone", "iphone 4"), "Apple's iPhone smartphone"),
        ProductRef(3, "Apple", ("apple", "apple store"), "Apple, the company, and its stores"),
        ProductRef(4, "iPhone App", ("iphone app", "ipad app"), "Apps for the iPhone and iPad"),
    ]
    names = {p.id: p.name for p in catalog}
    matcher = ProductMatcher(catalog, encoder)
    cases = [
        ("my new #iPad2 is great", "iPad"),
        ("el iPhone se me calienta cuando juego", "iPhone"),
        ("Apple's pop-up store sold out of iPad 2s in an hour", "iPad"),
        ("La tienda de Apple abre a las diez", "Apple"),
        ("Download our new game, out now for the iPhone and iPad: a great app", "iPhone App"),
        ("What a lovely day for a picnic at the beach", None),
        ("Hoy hace un día precioso para ir a la playa", None),
    ]
    texts = [t for t, _ in cases]
    got = matcher.match(texts, encoder.encode(texts))
    assert [None if g.product_id is None else names[g.product_id] for g in got] == [e for _, e in cases]
    assert got[0].confidence >= 0.75 and got[1].confidence >= 0.75
    assert got[2].confidence < got[0].confidence
