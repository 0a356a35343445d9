"""Safety on brand-context posts (issue 16 item 11): tutorials and strong words about a product are
not unsafe; abuse, slurs, threats and sexual content aimed at people still are."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tesoro.curator.treasure import TreasureInputs, score_treasure
from tesoro.models import NormalizedAuthor, NormalizedPost, Platform
from tesoro.scoring.encoders import Encoder
from tesoro.scoring.heads import DEFAULT_OFFENSIVE_HEAD, load_head
from tesoro.scoring.pipeline import load_models, score_pending
from tesoro.scoring.safety import UNSAFE_CATEGORIES, lexicon_safety, spam_score, text_safety
from tesoro.scoring.training import read_jsonl
from tesoro.settings import BrandSettings, CuratorSettings, QuerySettings, Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post, upsert_posts
from tesoro.store.scores import scores_for

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "quality.py"
_spec = importlib.util.spec_from_file_location("bench_quality", _BENCH)
assert _spec is not None and _spec.loader is not None
quality = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(quality)

NOW = datetime(2026, 11, 2, tzinfo=UTC)
TUTORIALS = [
    "Tutorial: caring for your cumbres. Step 1: rinse the mud off with cold water and never put them in the "
    "dryer. Step 2: stuff them with newspaper overnight so they dry without warping.",
    "Tutorial: cómo cuidar la mochila Andes. Paso 1: vacíala y sacude la arena. Paso 2: lávala a mano con "
    "jabón neutro y déjala secar boca abajo.",
    "Mini tutorial de la mochila, que me lo preguntáis mucho: Paso 1: afloja todas las correas. Paso 2: "
    "carga el peso cerca de la espalda y aprieta primero el cinturón.",
]
STRONG_WORDS = [
    "This zipper is a damn joke, two weeks and it's done.",
    "Una mierda de cremallera, se rompió en dos semanas.",
    "This pack is a piece of shit, the strap tore off with 6 kg in it.",
    "Esta chaqueta es basura con lluvia de verdad.",
    "Son of a bitch, this zipper snagged my fleece again.",
]
ABUSE = "@trailguy you are a stupid idiot and nobody wants your opinion, shut up."


def _filtered(safety: dict[str, float], spam: float = 0.0) -> str | None:
    inputs = TreasureInputs(created_at=NOW, safety=safety, spam=spam)
    return score_treasure(inputs, CuratorSettings(), now=NOW).filtered


def test_tutorials_and_complaints_are_kept_and_abuse_is_filtered(sqlite_engine: Engine) -> None:
    """The issue's case end to end: scored by the pipeline (encoder, offensive head, lexicon), then gated."""
    settings = Settings(
        brands=[BrandSettings(name="Andes Outdoor", description="Trail shoes, rain jackets and packs.")],
        queries=[QuerySettings(name="andes", brand="Andes Outdoor", query="andes OR cumbre OR mochila")],
    )
    texts = [*TUTORIALS, *STRONG_WORDS, ABUSE]
    author = NormalizedAuthor(Platform.X, external_id="1", handle="a")
    posts = [
        NormalizedPost(platform=Platform.X, external_id=str(i), text=text, created_at=NOW, author=author)
        for i, text in enumerate(texts)
    ]
    with session_scope(sqlite_engine) as session:
        sync_catalog(session, settings)
        upsert_posts(session, posts)
    assert score_pending(sqlite_engine, settings, models=load_models(settings)) == len(texts)
    reasons = {}
    with session_scope(sqlite_engine) as session:
        for i, text in enumerate(texts):
            row = get_post(session, platform="x", external_id=str(i))
            assert row is not None and row.id is not None
            (score,) = scores_for(session, post_id=row.id)
            reasons[text] = _filtered(score.safety, score.spam or 0.0)
    for text in [*TUTORIALS, *STRONG_WORDS]:
        assert reasons[text] is None, (text, reasons[text])
    assert reasons[ABUSE] is not None and reasons[ABUSE].startswith("unsafe: offensive")


def test_the_english_tutorial_scored_high_by_the_head_is_not_unsafe(encoder: Encoder) -> None:
    """The offensive head alone reads the mud tutorial as abuse; untargeted, it cannot filter it."""
    head = load_head(DEFAULT_OFFENSIVE_HEAD, expected_dim=encoder.dim)
    probability = float(head.predict_proba(encoder.encode(TUTORIALS[:1]), TUTORIALS[:1])[0, -1])
    assert probability >= 0.7, "the head's misreading this test guards against"
    assert _filtered(text_safety(TUTORIALS[0], probability)) is None
    # The same probability on a post that addresses someone counts in full.
    assert _filtered(text_safety("@runner you are so done, " + TUTORIALS[0], probability)) is not None


@pytest.mark.parametrize("text", [*STRONG_WORDS, "Fucking love these shoes", "Joder qué zapatillas"])
def test_strong_words_about_a_product_are_profanity_not_offense(text: str) -> None:
    result = lexicon_safety(text)
    assert result.offensive == 0.0 and result.hate == 0.0 and result.threat == 0.0
    assert "profanity" not in UNSAFE_CATEGORIES
    assert _filtered(text_safety(text, 0.0)) is None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        (ABUSE, "offensive"),
        ("@hikerjen shut your ugly mouth, you stupid bitch.", "offensive"),
        ("@montañera_jen cierra la boca, zorra estúpida.", "offensive"),
        ("Eres un subnormal y tu reseña es basura, como tú.", "offensive"),
        ("Go back to your country, nobody wants you on our trails.", "hate"),
        ("Sudacas por todas partes en el sendero este finde.", "hate"),
        ("@trailguy I know where you live, watch your back.", "threat"),
        ("Si vuelvo a ver a ese guía le parto las piernas.", "threat"),
        ("Hot girls in nothing but a Nube jacket, 18+ content on my page.", "adult"),
        ("Busco chica para follar en la tienda de campaña esta noche.", "adult"),
    ],
)
def test_abuse_slurs_threats_and_sexual_content_are_unsafe(text: str, category: str) -> None:
    safety = text_safety(text, 0.0)
    assert safety[category] >= 0.9
    reason = _filtered(safety)
    assert reason is not None and reason.startswith("unsafe:")


def test_promo_pitches_in_english_and_spanish_are_spam() -> None:
    en = "Follow back! F4F! Free followers here bit.ly/fr33 click the link!"
    es = "¡Sígueme y te sigo de vuelta! Seguidores gratis aquí bit.ly/s3gu, link en la bio."
    assert spam_score(en).score >= 0.7 and spam_score(es).score >= 0.7
    assert spam_score("Giveaway time! Loving my Cumbres").score < 0.7, "one promo phrase is not a pitch"


def test_the_labelled_set_meets_the_target_on_its_held_out_part(encoder: Encoder) -> None:
    """Precision of "unsafe" >= 0.9 with recall >= 0.8 on the held-out 30% of bench/data's set."""
    records = read_jsonl(quality.SAFETY_SET)
    assert len(records) >= 400
    langs = [r["lang"] for r in records]
    assert abs(langs.count("en") - langs.count("es")) <= 20
    assert {r["label"] for r in records} == {"safe", "unsafe"}
    parts = quality.safety_split(records)
    assert parts == quality.safety_split(records), "the split is fixed"
    held = [r for r, part in zip(records, parts, strict=True) if part == "held-out"]
    assert 0.25 <= len(held) / len(records) <= 0.35
    texts = [r["text"] for r in held]
    head = load_head(DEFAULT_OFFENSIVE_HEAD, expected_dim=encoder.dim)
    probabilities = head.predict_proba(encoder.encode(texts), texts)[:, -1]
    pairs = zip(texts, probabilities, strict=True)
    hits = [quality.safety_filtered(text, float(p)) is not None for text, p in pairs]
    gold = [r["label"] == "unsafe" for r in held]
    tp = sum(g and h for g, h in zip(gold, hits, strict=True))
    assert tp / sum(hits) >= 0.9 and tp / sum(gold) >= 0.8
