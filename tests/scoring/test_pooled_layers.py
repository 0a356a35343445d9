"""Heads that read intermediate encoder layers: features from the same pass, files, errors, backends."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tesoro.scoring.encoders import Encoder, ModelLoadError, load_encoder, onnx_backend
from tesoro.scoring.heads import Head, load_head, save_head
from tesoro.scoring.sentiment import HeadSentiment, load_sentiment, sentiment_proba

TEXTS = [
    "Love the new trail shoes, grip is amazing",
    "worst delivery ever, box arrived crushed",
    "La mochila llegó ayer",
    "ok",
]


def test_features_are_the_embedding_then_each_pooled_layer(encoder: Encoder) -> None:
    embeddings, features = encoder.encode_with_layers(TEXTS, (4, 5))
    dim = encoder.dim
    assert features.shape == (len(TEXTS), 3 * dim) and features.dtype == np.float32
    assert np.allclose(features[:, :dim], embeddings, atol=1e-6)
    assert np.abs(embeddings - encoder.encode(TEXTS)).max() < 5e-3  # same pass, batches padded alike
    for block in range(3):
        part = features[:, block * dim : (block + 1) * dim]
        assert np.allclose(np.linalg.norm(part, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(features[:, dim : 2 * dim], features[:, 2 * dim :], atol=1e-2)  # different layers
    assert encoder.encode_with_layers([], (4, 5))[1].shape == (0, 3 * dim)
    with pytest.raises(ModelLoadError, match="layers"):
        encoder.encode_with_layers(TEXTS, (0,))
    with pytest.raises(ModelLoadError, match="layers"):
        encoder.encode_with_layers(TEXTS, (encoder.layers + 1,))


@pytest.mark.skipif(not onnx_backend.available(), reason="onnxruntime/onnx not installed")
def test_onnx_and_torch_give_the_same_layer_features() -> None:
    onnx, torch_ = load_encoder(backend="onnx"), load_encoder(backend="torch")
    a, b = onnx.encode_with_layers(TEXTS, (2, 6))[1], torch_.encode_with_layers(TEXTS, (2, 6))[1]
    assert float(np.abs(a - b).max()) < 1e-4


def _head(encoder: Encoder, layers: tuple[int, ...]) -> Head:
    rng = np.random.default_rng(5)
    width = encoder.dim * (1 + len(layers))
    return Head(
        w1=rng.standard_normal((width, 8)).astype(np.float32) * 0.1,
        b1=np.zeros(8, np.float32),
        w2=rng.standard_normal((8, 3)).astype(np.float32),
        b2=np.zeros(3, np.float32),
        labels=("negative", "neutral", "positive"),
        pooled_layers=layers,
    )


def test_a_layered_head_round_trips_and_is_fed_its_layers(encoder: Encoder, tmp_path: Path) -> None:
    path = tmp_path / "layered.npz"
    head = _head(encoder, (3, 5))
    save_head(head, path, {"task": "sentiment"})
    loaded = load_head(path, expected_dim=encoder.dim)
    assert loaded.pooled_layers == (3, 5) and loaded.input_dim == 3 * encoder.dim
    model = load_sentiment(str(path), encoder_dim=encoder.dim)
    assert isinstance(model, HeadSentiment) and model.pooled_layers == (3, 5)
    expected = loaded.predict_proba(encoder.encode_with_layers(TEXTS, (3, 5))[1], TEXTS)
    assert np.allclose(sentiment_proba(model, encoder, TEXTS), expected, atol=1e-6)
    # A plain head keeps reading the embedding alone.
    plain = tmp_path / "plain.npz"
    save_head(_head(encoder, ()), plain, {"task": "sentiment"})
    assert load_head(plain, expected_dim=encoder.dim).pooled_layers == ()


def test_layered_head_files_with_wrong_sizes_or_layers_are_clear_errors(
    encoder: Encoder, tmp_path: Path
) -> None:
    wrong_width = tmp_path / "wrong.npz"
    save_head(replace(_head(encoder, ()), pooled_layers=(4, 5)), wrong_width, {})
    with pytest.raises(ModelLoadError, match="dimensional"):
        load_head(wrong_width, expected_dim=encoder.dim)
    bad_layer = tmp_path / "bad.npz"
    save_head(replace(_head(encoder, (4,)), pooled_layers=(0,)), bad_layer, {})
    with pytest.raises(ModelLoadError, match="layers"):
        load_head(bad_layer)
