"""What a head reads, built from per-encoder embeddings cached on disk per data split.

A head's input is the concatenation, in this order, of the parts its `inputs` name:

* `minilm`: MiniLM's sentence embedding (384), followed by the mean-pooled output of the
  head's `pooled_layers` (384 each);
* `use`: the multilingual USE embedding (512).

Training encodes each labelled split once per encoder into `<cache>/<encoder>/<data set>.<split>.npy`
(MiniLM rows hold the embedding and the layers in `CACHED_LAYERS`, so any subset can be sliced
out), keyed by a digest of the texts, so cross-validation, seeds and `tesoro train` all reuse
one encoder pass on a CPU that many people share.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tesoro.scoring.encoders import DEFAULT_ENCODER, PROGRESS_CHUNK, USE_DIM, Encoder, load_encoder, load_use
from tesoro.scoring.shared import FloatArray

__all__ = [
    "CACHED_LAYERS",
    "DATASET_SPLITS",
    "DEFAULT_CACHE",
    "FEATURE_ENCODERS",
    "MINILM_DIM",
    "cached_rows",
    "cached_split",
    "feature_width",
    "select_features",
    "split_features",
    "split_texts",
    "text_features",
]

FEATURE_ENCODERS = ("minilm", "use")
MINILM_DIM = 384
# MiniLM layers kept in the cache: any head may read a subset of them.
CACHED_LAYERS = (4, 5)
DEFAULT_CACHE = Path(os.environ.get("TESORO_CACHE_DIR", "~/.cache/tesoro")).expanduser() / "embeddings"
# Every split a head is trained, cross-validated or validated on (the SemEval pool: its sample only).
DATASET_SPLITS = (
    ("airline", "train"),
    ("airline", "validation"),
    ("umsab_spanish", "train"),
    ("umsab_spanish", "validation"),
    ("umsab_english", "validation"),
    ("tweeteval_sentiment", "validation"),
    ("tweeteval_offensive", "train"),
    ("tweeteval_offensive", "validation"),
)


def split_texts(data_dir: Path, dataset: str, split: str) -> list[str]:
    """The texts of one labelled split, in file order."""
    path = data_dir / dataset / f"{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: labelled data not found (is --data-dir the shared data folder?)")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def _encode(encoder: str, texts: Sequence[str], minilm: Encoder | None) -> FloatArray:
    if encoder == "use":
        return load_use().encode(texts)
    if encoder == "minilm":
        model = minilm or load_encoder(DEFAULT_ENCODER, full_precision=True)
        # in chunks: the layer outputs of a whole 47k-text split at once would not fit a small machine
        blocks = [
            model.encode_with_layers(texts[i : i + PROGRESS_CHUNK], CACHED_LAYERS)[1]
            for i in range(0, len(texts), PROGRESS_CHUNK)
        ]
        return np.concatenate(blocks) if blocks else np.zeros((0, MINILM_DIM * 3), np.float32)
    raise ValueError(f"encoder {encoder!r}: expected one of {FEATURE_ENCODERS}")


def cached_rows(
    encoder: str,
    texts: Sequence[str],
    cache_dir: Path | None,
    tag: str,
    *,
    minilm: Encoder | None = None,
) -> FloatArray:
    """`encoder`'s rows for `texts` ("minilm": embedding + `CACHED_LAYERS`; "use"), from the cache if fresh.

    The file is `<cache>/<encoder>/<tag>.npy`, next to a `.sha1` of the texts it holds: other texts
    under the same tag are encoded again. `minilm` is the MiniLM-like encoder to use (default: the
    bundled MiniLM); another model gets a folder of its own.
    """
    if cache_dir is None:
        return _encode(encoder, texts, minilm)
    digest = hashlib.sha1()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    key = encoder
    if encoder == "minilm" and minilm is not None and minilm.name != DEFAULT_ENCODER:
        key = "minilm-" + hashlib.sha1(minilm.name.encode()).hexdigest()[:12]
    folder = cache_dir / key
    path, stamp = folder / f"{tag}.npy", folder / f"{tag}.sha1"
    if path.is_file() and stamp.is_file() and stamp.read_text().strip() == digest.hexdigest():
        rows = np.load(path, allow_pickle=False)
        if rows.shape[0] == len(texts):
            return np.asarray(rows, dtype=np.float32)
    rows = _encode(encoder, texts, minilm)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(path, rows)
    stamp.write_text(digest.hexdigest() + "\n")
    return rows


def cached_split(
    encoder: str,
    data_dir: Path,
    dataset: str,
    split: str,
    cache_dir: Path | None,
    *,
    minilm: Encoder | None = None,
) -> FloatArray:
    """One labelled split's rows for `encoder`, in file order (`cached_rows` under `<data set>.<split>`)."""
    texts = split_texts(data_dir, dataset, split)
    return cached_rows(encoder, texts, cache_dir, f"{dataset}.{split}", minilm=minilm)


def text_features(
    texts: Sequence[str],
    inputs: Sequence[str],
    pooled_layers: Sequence[int],
    cache_dir: Path | None,
    tag: str,
    *,
    minilm: Encoder | None = None,
) -> FloatArray:
    """A head's input for `texts` (each encoder's rows cached under `tag`)."""
    if "minilm" in inputs and any(k not in CACHED_LAYERS for k in pooled_layers):
        # Layers the cache does not hold: one uncached MiniLM pass that gives exactly those.
        model = minilm or load_encoder(DEFAULT_ENCODER, full_precision=True)
        blocks = [model.encode_with_layers(texts, pooled_layers)[1]]
        if "use" in inputs:
            blocks.append(cached_rows("use", texts, cache_dir, tag))
        return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.float32)
    parts = {name: cached_rows(name, texts, cache_dir, tag, minilm=minilm) for name in inputs}
    return select_features(parts, inputs, pooled_layers)


def feature_width(inputs: Sequence[str], pooled_layers: Sequence[int]) -> int:
    """Columns of a head's input for these `inputs` and MiniLM `pooled_layers`."""
    width = 0
    if "minilm" in inputs:
        width += MINILM_DIM * (1 + len(pooled_layers))
    if "use" in inputs:
        width += USE_DIM
    return width


def split_features(
    data_dir: Path,
    dataset: str,
    split: str,
    inputs: Sequence[str],
    pooled_layers: Sequence[int],
    cache_dir: Path | None,
    *,
    minilm: Encoder | None = None,
) -> FloatArray:
    """A head's input for one labelled split, in file order (each encoder's rows cached)."""
    texts = split_texts(data_dir, dataset, split)
    return text_features(texts, inputs, pooled_layers, cache_dir, f"{dataset}.{split}", minilm=minilm)


def select_features(
    parts: dict[str, FloatArray], inputs: Sequence[str], pooled_layers: Sequence[int]
) -> FloatArray:
    """A head's input from cached parts ("minilm": embedding + CACHED_LAYERS, "use"), in `inputs` order."""
    blocks: list[FloatArray] = []
    for name in FEATURE_ENCODERS:
        if name not in inputs:
            continue
        rows = parts[name]
        if name == "minilm":
            blocks.append(rows[:, :MINILM_DIM])
            for layer in pooled_layers:
                k = CACHED_LAYERS.index(layer) + 1
                blocks.append(rows[:, k * MINILM_DIM : (k + 1) * MINILM_DIM])
        else:
            blocks.append(rows)
    return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.float32)
