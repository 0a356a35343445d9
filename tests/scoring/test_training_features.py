"""Training inputs from the per-encoder embedding cache, and linear heads (issue 18)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tesoro.scoring.encoders import USE_DIM, load_encoder, load_use
from tesoro.scoring.heads import TrainConfig, load_head, save_head, train_head
from tesoro.scoring.pipeline import _layers_of
from tesoro.scoring.training.features import (
    CACHED_LAYERS,
    MINILM_DIM,
    cached_rows,
    feature_width,
    select_features,
    text_features,
)

TEXTS = ["Best board I've owned", "La espuma se hundió", "Legends.", "¿Un cupón por tres retrasos?"]


def test_rows_are_cached_and_a_changed_text_list_is_encoded_again(tmp_path: Path) -> None:
    first = cached_rows("use", TEXTS, tmp_path, "demo.train")
    path = tmp_path / "use" / "demo.train.npy"
    assert path.is_file() and first.shape == (len(TEXTS), USE_DIM)
    np.save(path, np.zeros_like(first))  # what the cache holds is what is read back
    assert not cached_rows("use", TEXTS, tmp_path, "demo.train").any()
    changed = cached_rows("use", [*TEXTS[:-1], "otro texto"], tmp_path, "demo.train")
    assert changed.any() and np.allclose(changed[0], first[0], atol=1e-5)


def test_minilm_rows_hold_the_embedding_and_the_cached_layers(tmp_path: Path) -> None:
    rows = cached_rows("minilm", TEXTS, tmp_path, "demo")
    assert rows.shape == (len(TEXTS), MINILM_DIM * (1 + len(CACHED_LAYERS)))
    assert np.allclose(rows[:, :MINILM_DIM], load_encoder(full_precision=True).encode(TEXTS), atol=1e-5)


def test_a_head_input_is_minilm_then_its_layers_then_use(tmp_path: Path) -> None:
    x = text_features(TEXTS, ("minilm", "use"), (5,), tmp_path, "demo")
    assert x.shape == (len(TEXTS), feature_width(("minilm", "use"), (5,)))
    minilm = cached_rows("minilm", TEXTS, tmp_path, "demo")
    assert np.array_equal(x[:, :MINILM_DIM], minilm[:, :MINILM_DIM])
    assert np.array_equal(x[:, MINILM_DIM : 2 * MINILM_DIM], minilm[:, 2 * MINILM_DIM : 3 * MINILM_DIM])
    assert np.allclose(x[:, 2 * MINILM_DIM :], load_use().encode(TEXTS), atol=1e-5)
    assert select_features({"use": x[:, 2 * MINILM_DIM :]}, ("use",), ()).shape == (len(TEXTS), USE_DIM)


def test_layers_outside_the_cache_are_computed_directly(tmp_path: Path) -> None:
    x = text_features(TEXTS, ("minilm",), (2,), tmp_path, "demo")
    expected = load_encoder(full_precision=True).encode_with_layers(TEXTS, (2,))[1]
    assert np.allclose(x, expected, atol=1e-5)


def test_each_head_gets_its_own_layers_from_one_pass() -> None:
    joined = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 12)  # dim 3: [emb | l2 | l4 | l5]
    assert np.array_equal(_layers_of(joined, (2, 4, 5), (2, 4, 5)), joined)
    assert np.array_equal(
        _layers_of(joined, (2, 4, 5), (5,)), np.concatenate([joined[:, :3], joined[:, 9:]], 1)
    )
    assert np.array_equal(_layers_of(joined, (2, 4, 5), ()), joined[:, :3])


def test_a_linear_head_learns_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 8)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int).tolist()
    config = TrainConfig(hidden=0, epochs=30, lr=0.05, batch_size=64, lexical_buckets=0)
    head = train_head(x, y, ("no", "yes"), config=config)
    assert head.linear and head.w1.shape == (8, 2)
    accuracy = np.mean(np.array(head.predict(x)) == np.array(["no", "yes"])[y])
    assert accuracy > 0.95
    save_head(head, tmp_path / "lin.npz", {})
    loaded = load_head(tmp_path / "lin.npz")
    assert loaded.linear
    assert np.allclose(loaded.predict_proba(x), head.predict_proba(x), atol=2e-2)


def test_a_damaged_linear_head_is_a_load_error(tmp_path: Path) -> None:
    from tesoro.scoring.encoders import ModelLoadError
    from tesoro.scoring.heads import Head

    bad = Head(
        np.zeros((8, 3), np.float32),
        np.zeros(3, np.float32),
        np.zeros((0, 2), np.float32),
        np.zeros(2, np.float32),
        ("no", "yes"),
    )
    save_head(bad, tmp_path / "bad.npz", {})
    with pytest.raises(ModelLoadError, match="inconsistent shapes"):
        load_head(tmp_path / "bad.npz")


def _tiny(root: Path) -> Path:
    """The sentiment training sets, TweetEval offensive, and validation splits: a few obvious rows each."""
    import json

    rows = {
        "positive": ["I love this, wonderful", "great service, thank you", "Me encanta, es genial"],
        "negative": ["I hate this, awful", "worst flight ever", "Horrible, no vuelvo"],
        "neutral": ["The store opens at nine", "Flight 22 lands at 5pm", "El vuelo sale a las diez"],
    }
    lines = "\n".join(json.dumps({"text": t, "label": label}) for label, ts in rows.items() for t in ts)
    for name in ("semeval2017_sentiment_en", "airline", "umsab_spanish"):
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "train.jsonl").write_text(lines + "\n", encoding="utf-8")
        (root / name / "validation.jsonl").write_text(lines + "\n", encoding="utf-8")
    offensive = [
        ("you are a disgusting idiot", "offensive"),
        ("lovely day at the beach", "not-offensive"),
    ] * 3
    (root / "tweeteval_offensive").mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps({"text": t, "label": label}) for t, label in offensive) + "\n"
    for split in ("train", "validation"):
        (root / "tweeteval_offensive" / f"{split}.jsonl").write_text(text, encoding="utf-8")
    return root


def test_recipes_train_heads_on_both_encoders_from_the_cache(tmp_path: Path) -> None:
    from tesoro.scoring.pipeline import head_proba
    from tesoro.scoring.training import train_offensive, train_sentiment

    data, cache = _tiny(tmp_path / "data"), tmp_path / "cache"
    config = TrainConfig(hidden=8, epochs=2, lexical_buckets=256)
    meta = train_sentiment(
        data, tmp_path / "s.npz", cache_dir=cache, inputs=("minilm", "use"), config=config, semeval_limit=5
    )
    assert meta["inputs"] == ["minilm", "use"] and meta["train_data"]["semeval2017_sentiment_en"] == 5
    assert (cache / "use" / "semeval2017_sentiment_en.train-5s13.npy").is_file()
    assert (cache / "minilm" / "airline.validation.npy").is_file()
    head = load_head(tmp_path / "s.npz", expected_dim=MINILM_DIM)
    assert head.inputs == ("minilm", "use") and head.pooled_layers == (4, 5)
    assert head.input_dim == MINILM_DIM * 3 + USE_DIM
    meta = train_offensive(
        data,
        tmp_path / "o.npz",
        cache_dir=cache,
        inputs=("use",),
        pooled_layers=(4, 5),  # ignored: the head does not read MiniLM
        config=TrainConfig(hidden=0, epochs=2, lexical_buckets=0),
    )
    offensive = load_head(tmp_path / "o.npz", expected_dim=MINILM_DIM)
    assert offensive.inputs == ("use",) and offensive.pooled_layers == () and offensive.linear
    probs = head_proba(offensive, load_encoder(), ["lovely day", "idiot"])
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert set(meta["validation"]) == {"tweeteval_offensive"}
