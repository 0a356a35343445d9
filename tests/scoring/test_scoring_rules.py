"""The rule-based scorers on examples whose answer is obvious, in English and Spanish."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tesoro.scoring.content_type import classify_content
from tesoro.scoring.engagement import derive_median, engagement_rate, vs_median
from tesoro.scoring.language import detect_language
from tesoro.scoring.metrics import evaluate
from tesoro.scoring.safety import lexicon_safety, spam_score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I love these shoes, they are the best I have ever had", "en"),
        ("Me encantan estas zapatillas, son las mejores que he tenido", "es"),
        ("Eu não gosto muito dessa marca, mas o tênis é bom", "pt"),
        ("Je pense que c'est le meilleur produit de la marque", "fr"),
        ("Ich finde die Schuhe sehr gut und sie sind bequem", "de"),
        ("@user https://t.co/abc #cumbre 🔥🔥", "other"),
    ],
)
def test_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_language_hint_decides_when_text_is_silent() -> None:
    assert detect_language("🔥🔥 #cumbre", "es-MX") == "es"
    assert detect_language("Muy buenas las zapatillas", "en") == "es", "clear text beats a wrong hint"


@pytest.mark.parametrize(
    ("text", "media", "expected"),
    [
        ("Unboxing my new Cumbre trail shoes!", ["video"], {"video", "unboxing"}),
        ("Desempacando mis nuevas zapatillas", ["photo"], {"photo", "unboxing"}),
        ("How to lace your trail shoes: a step-by-step tutorial", [], {"tutorial"}),
        ("Cómo limpiar tus zapatillas paso a paso", [], {"tutorial"}),
        ("My honest review: 4/5, worth the money", [], {"review"}),
        ("Reseña: 5 estrellas, vale la pena", [], {"review"}),
        ("Worst purchase ever, they broke after two weeks. I want a refund", [], {"complaint"}),
        ("Pésimo servicio, se rompió en una semana, quiero un reembolso", [], {"complaint"}),
        ("Does the Cumbre run small?", [], {"question"}),
        ("¿Alguien sabe si vienen en talla 45?", [], {"question"}),
        ("I love them, highly recommend to every runner", [], {"testimonial"}),
        ("Me encantan, las recomiendo, lo recomiendo a todos", [], {"testimonial"}),
        ("me when the new drop sells out in 2 minutes 😂😂😂", ["photo"], {"photo", "meme"}),
        ("Out for a run this morning", [], {"other"}),
    ],
)
def test_content_types(text: str, media: list[str], expected: set[str]) -> None:
    assert set(classify_content(text, media)) == expected


def test_several_types_may_apply() -> None:
    types = classify_content("Review: worst shoes ever, stopped working after a week", ["photo"])
    assert {"photo", "review", "complaint"} <= set(types)


def test_how_to_question_is_a_question_not_a_tutorial() -> None:
    assert classify_content("How do I return these?") == ["question"]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("this is fucking garbage", "profanity"),
        ("qué mierda de producto", "profanity"),
        ("you are an idiot", "offensive"),
        ("eres un imbécil", "offensive"),
        ("nsfw pics in my onlyfans", "adult"),
    ],
)
def test_lexicon_flags(text: str, category: str) -> None:
    assert lexicon_safety(text).as_dict()[category] >= 0.9


@pytest.mark.parametrize(
    "text",
    ["Great run this morning in my new shoes", "Gran carrera esta mañana", "Scunthorpe assassin class"],
)
def test_lexicon_clean(text: str) -> None:
    result = lexicon_safety(text)
    assert max(result.as_dict().values()) == 0.0 and result.matches == ()


def test_spam_signals_add_up() -> None:
    clean = spam_score("Loving my new shoes", followers=300, following=200)
    assert clean.score == 0.0
    one = spam_score("Follow back! https://bit.ly/x", followers=300, following=200)
    assert 0.3 < one.score < 0.8
    many = spam_score(
        "Free followers!! click the link https://bit.ly/x https://bit.ly/y #a #b #c #d #e #f #g #h",
        followers=10,
        following=5000,
        duplicate_accounts=5,
    )
    assert many.score > 0.95
    assert any("accounts" in reason for reason in many.reasons)
    assert spam_score("Sígueme y gana dinero fácil").score >= 0.3


def test_engagement_rate_and_benchmarks() -> None:
    rate = engagement_rate(likes=30, reposts=5, replies=4, quotes=1, followers=10_000)
    assert rate == pytest.approx(0.004)
    assert vs_median(rate, "x") == pytest.approx(0.004 / 0.00035)
    assert vs_median(rate, "instagram") == pytest.approx(0.004 / 0.0047)
    by_views = engagement_rate(likes=10, reposts=0, replies=0, quotes=0, followers=100, views=1000)
    assert by_views == pytest.approx(0.01), "impressions win over followers when given"
    assert engagement_rate(likes=1, reposts=0, replies=0, quotes=0, followers=0) is None
    assert vs_median(None, "x") is None


def test_derived_median_needs_enough_posts() -> None:
    assert derive_median([0.01] * 29) is None
    rates = [0.0] * 10 + [0.02] * 25
    median = derive_median(rates)
    assert median == pytest.approx(0.02)
    assert vs_median(0.04, "bluesky", {"bluesky": median}) == pytest.approx(2.0)
    assert vs_median(0.04, "mastodon", {"bluesky": median}) is None


def test_metrics() -> None:
    report = evaluate(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert report["accuracy"] == 0.75
    assert report["macro_recall"] == pytest.approx((0.5 + 1.0) / 2)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_alias_choice_does_not_depend_on_string_hashing() -> None:
    """Equal-length aliases are tried in a fixed order, so a nested hit loses in every process."""

    code = (
        "import numpy as np\n"
        "from tesoro.scoring.products import ProductMatcher, ProductRef\n"
        "ps = [ProductRef(1, 'iPhone', ('iphone',)), "
        "ProductRef(2, 'App', ('iphone app', 'ipad app', 'app store', 'ipad apps'))]\n"
        "m = ProductMatcher(ps, profile_embeddings=np.eye(2, dtype=np.float32))\n"
        "e = np.array([[0.6, 0.3]], dtype=np.float32)\n"
        "print(m.match(['Whrrl is live in the iPhone app store'], e)[0].product_id)\n"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("0", "1", "2", "3")
    }
    assert answers == {"2"}
