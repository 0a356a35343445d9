"""The fine-tuned sentiment branch: file format, ONNX/torch agreement, errors, and a tiny training run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tesoro.scoring.adapter import LAYER_PARAMS, Branch, load_branch, save_branch
from tesoro.scoring.encoders import Encoder, ModelLoadError, load_encoder, onnx_backend
from tesoro.scoring.heads import Head, TrainConfig
from tesoro.scoring.sentiment import BranchSentiment, load_sentiment, sentiment_proba
from tesoro.scoring.training import branch as branch_training
from tesoro.scoring.training.branch import BranchConfig, branch_features, train_branch

TEXTS = [
    "I love this phone, best purchase ever!",
    "worst airline, two hours late and no apology",
    "El servicio fue terrible, no vuelvo jamás",
    "ok",
    "Just landed in Denver, heading to the hotel now #travel",
]


def _base_top_layer(encoder: Encoder) -> dict[str, np.ndarray]:
    """The encoder's own last layer under BERT's names: a branch that should reproduce the encoder."""

    weights = load_file(str(Path(encoder.path) / "model.safetensors"))
    prefix = next(k for k in weights if k.endswith("attention.self.query.weight")).split("encoder.layer.")[0]
    last = encoder.layers - 1
    return {name: weights[f"{prefix}encoder.layer.{last}.{name}"] for name in LAYER_PARAMS}


def _write_branch(path: Path, encoder: Encoder, *, layer: dict[str, np.ndarray] | None = None) -> Path:
    rng = np.random.default_rng(3)
    head = Head(
        w1=rng.standard_normal((encoder.dim, 8)).astype(np.float32),
        b1=np.zeros(8, np.float32),
        w2=rng.standard_normal((8, 3)).astype(np.float32),
        b2=np.zeros(3, np.float32),
        labels=("negative", "neutral", "positive"),
    )
    meta = {
        "task": "sentiment",
        "encoder": encoder.name,
        "cut": encoder.layers - 1,
        "layers": 1,
        "num_heads": 12,
    }
    save_branch([layer or _base_top_layer(encoder)], head, path, meta)
    return path


def test_a_branch_copying_the_top_layer_reproduces_the_encoder(encoder: Encoder, tmp_path: Path) -> None:
    branch = load_branch(_write_branch(tmp_path / "copy.npz", encoder))
    embeddings, pooled = encoder.encode_with_branch(TEXTS, branch)
    if encoder.backend.startswith("onnx"):  # one graph for both: the very same numbers
        assert np.array_equal(embeddings, encoder.encode(TEXTS))
    else:  # torch pads each batch its own way; in bfloat16 that moves the last digits
        assert np.abs(embeddings - encoder.encode(TEXTS)).max() < 5e-3
    normalized = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    if encoder.backend in ("onnx-mixed", "onnx-int8"):
        # The encoder's own top layer runs in int8 there, while the branch's copy of it runs in fp32.
        assert (normalized * embeddings).sum(axis=1).min() > 0.99
        return
    # float16 storage of the copied layer moves the output a little, nothing more
    assert np.abs(normalized - embeddings).max() < 2e-2
    assert (normalized * embeddings).sum(axis=1).min() > 0.999


def test_onnx_and_torch_branches_agree(tmp_path: Path) -> None:
    if not onnx_backend.available():
        pytest.skip("onnxruntime/onnx not installed")
    encoder = load_encoder(backend="onnx")
    assert encoder.backend == "onnx"
    branch = load_branch(_write_branch(tmp_path / "b.npz", encoder))
    _, onnx_pooled = encoder.encode_with_branch(TEXTS, branch)
    states = encoder.token_states(TEXTS, branch.cut)
    torch_pooled = branch_features(branch.module(), states)
    assert np.abs(onnx_pooled - torch_pooled).max() < 1e-2
    torch_encoder = Encoder(encoder.name, backend="torch")
    emb, pooled = torch_encoder.encode_with_branch(TEXTS, branch)
    assert np.abs(emb - encoder.encode(TEXTS)).max() < 1e-3
    assert np.abs(pooled - onnx_pooled).max() < 1e-2


def test_branch_file_round_trip_and_sentiment_model(encoder: Encoder, tmp_path: Path) -> None:
    path = _write_branch(tmp_path / "s.npz", encoder)
    branch = load_branch(path)
    assert isinstance(branch, Branch) and branch.cut == encoder.layers - 1 and len(branch.layers) == 1
    assert load_branch(path).digest == branch.digest
    model = load_sentiment(str(path), encoder_dim=encoder.dim, encoder_name=encoder.name)
    assert isinstance(model, BranchSentiment) and model.branch is not None
    probs = sentiment_proba(model, encoder, TEXTS)
    assert probs.shape == (len(TEXTS), 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_damaged_branch_files_are_clear_errors(encoder: Encoder, tmp_path: Path) -> None:
    path = _write_branch(tmp_path / "ok.npz", encoder)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    garbage.with_suffix(".json").write_bytes(path.with_suffix(".json").read_bytes())
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_sentiment(str(garbage))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    truncated.with_suffix(".json").write_bytes(path.with_suffix(".json").read_bytes())
    with pytest.raises(ModelLoadError):
        load_sentiment(str(truncated))
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["layers"] = 2  # claims a layer the file does not hold
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="incomplete"):
        load_branch(path)


def test_branch_with_nan_weights_or_for_another_encoder_is_refused(encoder: Encoder, tmp_path: Path) -> None:
    layer = _base_top_layer(encoder)
    layer["output.dense.bias"] = np.full_like(layer["output.dense.bias"], np.nan)
    with pytest.raises(ModelLoadError, match="NaN"):
        load_branch(_write_branch(tmp_path / "nan.npz", encoder, layer=layer))
    path = _write_branch(tmp_path / "other.npz", encoder)
    with pytest.raises(ModelLoadError, match="fine-tuned on encoder"):
        load_sentiment(str(path), encoder_dim=encoder.dim, encoder_name="some-org/other-encoder")


@pytest.mark.slow
@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16-autocast"])
def test_training_a_branch_learns_an_obvious_task(encoder: Encoder, bf16: bool) -> None:
    rng = np.random.default_rng(0)
    good = ["love", "great", "amazing", "excellent", "wonderful", "fantastic"]
    bad = ["hate", "awful", "terrible", "horrible", "worst", "disgusting"]
    things = ["the shoes", "this jacket", "my order", "the app", "the delivery", "their support"]
    texts, labels = [], []
    for _ in range(160):
        positive = bool(rng.integers(2))
        word = str(rng.choice(good if positive else bad))
        texts.append(
            f"{rng.choice(things)} is {word}" if rng.integers(2) else f"I {word} {rng.choice(things)}"
        )
        labels.append(2 if positive else 0)
    held_out = ["I adore this jacket, fantastic", "the delivery was horrible and the worst"]
    branch, meta = train_branch(
        encoder,
        texts,
        labels,
        np.ones(len(texts)),
        {"toy": (held_out, ["positive", "negative"])},
        config=BranchConfig(layers=1, epochs=2.0, batch_size=16, bf16=bf16),
        head_config=TrainConfig(epochs=20, lexical_buckets=0),
    )
    assert meta["validation"]["toy"]["accuracy"] == 1.0
    assert meta["precision"] == ("bfloat16 autocast" if bf16 else "float32")
    # The weights stay float32 (autocast only lowers the matrix products) and are finite.
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in branch.layers[0].values())
    assert meta["cut"] == encoder.layers - 1 and len(branch.layers) == 1


def test_bf16_autocast_is_chosen_for_gpus_and_amx_cpus_unless_the_config_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(branch_training, "cpu_has_bf16_matrix_units", lambda: False)
    assert not branch_training.use_bf16(BranchConfig(), "cpu")
    assert branch_training.use_bf16(BranchConfig(), "cuda")
    assert branch_training.use_bf16(BranchConfig(), "cuda:1")
    assert branch_training.use_bf16(BranchConfig(bf16=True), "cpu")
    monkeypatch.setattr(branch_training, "cpu_has_bf16_matrix_units", lambda: True)
    assert branch_training.use_bf16(BranchConfig(), "cpu")
    assert not branch_training.use_bf16(BranchConfig(bf16=False), "cpu")
    assert not branch_training.use_bf16(BranchConfig(bf16=False), "cuda")
