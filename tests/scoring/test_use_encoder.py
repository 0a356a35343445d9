"""The multilingual USE beside MiniLM: loaded once, heads that read both, cached with the post."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from tests.scoring.test_scoring_pipeline import T0

from tesoro.models import NormalizedAuthor, NormalizedPost, Platform, PostMetrics
from tesoro.scoring.encoders import USE_DIM, Encoder, ModelLoadError, UseEncoder, load_encoder, load_use
from tesoro.scoring.heads import Head, join_inputs, load_head, save_head
from tesoro.scoring.pipeline import ScoringModels, load_models, score_pending
from tesoro.scoring.sentiment import SENTIMENT_LABELS, HeadSentiment, sentiment_proba
from tesoro.settings import BrandSettings, ProductSettings, Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post, upsert_posts
from tesoro.store.scores import scores_for

HOSTILE = [
    "",
    "   ",
    "\x00\x01\u200b",
    "🔥🔥🔥 :( :) ;-) xD",
    "\uff41\uff42\uff43 " * 2000,  # fullwidth letters, a very long post
    "Qué huevada es trabajar feriado",
    "\ud83d",  # a lone surrogate, as a broken client sends it
]


@pytest.fixture(scope="module")
def use() -> UseEncoder:
    return load_use()


def test_loaded_once_per_process(use: UseEncoder) -> None:
    assert load_use() is use
    assert use.dim == USE_DIM and use.backend == "numpy"


def test_rows_are_normalized_and_empty_input_is_empty(use: UseEncoder) -> None:
    rows = use.encode(["Best board I've owned", "La espuma se hundió"])
    assert rows.shape == (2, USE_DIM) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1, atol=1e-5)
    assert use.encode([]).shape == (0, USE_DIM)


def test_hostile_text_gives_finite_rows(use: UseEncoder) -> None:
    rows = use.encode(HOSTILE)
    assert rows.shape == (len(HOSTILE), USE_DIM)
    assert np.isfinite(rows).all()


def test_batches_agree_with_one_call(use: UseEncoder) -> None:
    texts = [f"post número {i}: me encanta" for i in range(7)]
    assert np.allclose(use.encode(texts, batch_size=3), use.encode(texts), atol=1e-5)


def test_spanish_meaning_is_closer_across_languages(use: UseEncoder) -> None:
    es, en, other = use.encode(
        [
            "Tengo mucha ilusión por el viaje",
            "I am really looking forward to the trip",
            "The invoice is attached below",
        ]
    )
    assert float(es @ en) > float(es @ other) + 0.2


def test_minilm_encoder_refuses_the_use_name() -> None:
    with pytest.raises(ModelLoadError, match="load_use"):
        Encoder("use-multilingual-v3")


def _head(inputs: tuple[str, ...], width: int, hidden: int = 4, layers: tuple[int, ...] = ()) -> Head:
    rng = np.random.default_rng(3)
    labels = SENTIMENT_LABELS
    if hidden == 0:
        return Head(
            rng.normal(size=(width, 3)).astype(np.float32),
            rng.normal(size=3).astype(np.float32),
            np.zeros((0, 3), np.float32),
            np.zeros(3, np.float32),
            labels,
            pooled_layers=layers,
            inputs=inputs,
        )
    return Head(
        rng.normal(size=(width, hidden)).astype(np.float32),
        rng.normal(size=hidden).astype(np.float32),
        rng.normal(size=(hidden, 3)).astype(np.float32),
        rng.normal(size=3).astype(np.float32),
        labels,
        pooled_layers=layers,
        inputs=inputs,
    )


@pytest.mark.parametrize("hidden", [0, 4])
def test_a_head_reading_both_round_trips(tmp_path: Path, hidden: int) -> None:
    head = _head(("minilm", "use"), 384 * 2 + USE_DIM, hidden, layers=(5,))
    path = tmp_path / "both.npz"
    save_head(head, path, {"task": "sentiment"})
    loaded = load_head(path, expected_dim=384)
    assert loaded.inputs == ("minilm", "use") and loaded.pooled_layers == (5,)
    assert loaded.linear is (hidden == 0)
    x = np.random.default_rng(1).normal(size=(5, head.input_dim)).astype(np.float32)
    assert np.allclose(loaded.predict_proba(x), head.predict_proba(x), atol=2e-2)


def test_a_use_only_head_needs_no_minilm_width(tmp_path: Path) -> None:
    path = tmp_path / "use.npz"
    save_head(_head(("use",), USE_DIM, 0), path, {})
    assert load_head(path, expected_dim=384).reads_minilm is False


@pytest.mark.parametrize(
    ("inputs", "width", "message"),
    [
        (("minilm", "use"), 384, "expects"),  # too narrow for MiniLM + USE
        (("use",), 384, "reads the USE"),
        (("bert",), 384, "unknown encoder inputs"),
        (("use", "use"), 1024, "unknown encoder inputs"),
    ],
)
def test_damaged_inputs_are_a_load_error(
    tmp_path: Path, inputs: tuple[str, ...], width: int, message: str
) -> None:
    path = tmp_path / "bad.npz"
    save_head(_head(inputs, width), path, {})
    with pytest.raises(ModelLoadError, match=message):
        load_head(path, expected_dim=384)


def test_join_inputs_needs_the_rows_it_names() -> None:
    minilm = np.ones((2, 3), np.float32)
    assert join_inputs(("minilm",), minilm, None) is minilm
    assert join_inputs(("minilm", "use"), minilm, np.zeros((2, 2), np.float32)).shape == (2, 5)
    with pytest.raises(ValueError, match="use"):
        join_inputs(("minilm", "use"), minilm, None)


class Counting:
    """A real encoder, counting the texts it embeds (any method)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        return self.inner.encode(texts)  # type: ignore[attr-defined, no-any-return]

    def encode_with_layers(
        self, texts: Sequence[str], layers: Sequence[int], *, batch_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(len(texts))
        return self.inner.encode_with_layers(texts, layers)  # type: ignore[attr-defined, no-any-return]


def _settings() -> Settings:
    return Settings(
        brands=[BrandSettings(name="Marea", description="Marea makes surfboards.", hashtags=["marea"])],
        products=[ProductSettings(brand="Marea", name="Brisa", aliases=["brisa"], description="A surfboard")],
    )


def _post(ext: str, text: str) -> NormalizedPost:
    return NormalizedPost(
        platform=Platform.X,
        external_id=ext,
        text=text,
        created_at=T0,
        author=NormalizedAuthor(Platform.X, external_id="id-u", handle="u", followers=100, following=10),
        metrics=PostMetrics(likes=1, reposts=0),
    )


def test_pipeline_encodes_each_text_once_per_encoder_and_keeps_both(sqlite_engine: Engine) -> None:
    settings = _settings()
    with session_scope(sqlite_engine) as session:
        sync_catalog(session, settings)
        upsert_posts(
            session,
            [
                _post("1", "Three years with my Brisa. Best board I've owned"),
                _post("2", "Three years with my Brisa. Best board I've owned"),
                _post("3", "Qué huevada, la Brisa se rompió"),
            ],
        )
    base = load_models(settings)
    layers = base.sentiment.pooled_layers
    width = 384 * (1 + len(layers)) + USE_DIM
    head = dataclasses.replace(_head(("minilm", "use"), width, 0, layers=layers), inputs=("minilm", "use"))
    minilm, use = Counting(base.encoder), Counting(load_use())
    models = ScoringModels(
        minilm,  # type: ignore[arg-type]
        HeadSentiment(head, name="both"),
        base.offensive,
        "use-test",
        use,  # type: ignore[arg-type]
    )
    assert score_pending(sqlite_engine, settings, models=models) == 3
    # two distinct texts, each through each encoder once (brand and product profiles go through MiniLM first)
    assert use.calls == [2]
    assert minilm.calls[-1] == 2
    with session_scope(sqlite_engine) as session:
        post = get_post(session, platform="x", external_id="3")
        assert post is not None and post.id is not None
        (row,) = scores_for(session, post_id=post.id)
    assert row.embedding_use is not None
    stored = np.frombuffer(row.embedding_use, dtype=np.float32)
    assert np.allclose(stored, load_use().encode(["Qué huevada, la Brisa se rompió"])[0], atol=1e-5)
    assert row.sentiment in SENTIMENT_LABELS


def test_load_models_loads_the_use_only_when_a_head_reads_it() -> None:
    settings = _settings()
    models = load_models(settings)
    reads = "use" in models.sentiment.inputs or (models.offensive is not None and models.offensive.reads_use)
    assert (models.use is not None) is reads
    if reads:
        assert models.use is load_use()


def test_sentiment_proba_feeds_a_head_both_encoders() -> None:
    encoder = load_encoder()
    head = _head(("minilm", "use"), 384 + USE_DIM, 0)
    model = HeadSentiment(head)
    texts = ["Legends.", "The foam went flat"]
    expected = head.predict_proba(np.concatenate([encoder.encode(texts), load_use().encode(texts)], axis=1))
    assert np.allclose(sentiment_proba(model, encoder, texts), expected, atol=1e-5)
