"""Reproduce the shipped heads from the labelled data (`tesoro train sentiment|offensive`).

Training is: embed the texts once with the frozen encoder (the expensive part:
~250 tweets/s on an idle 2-core CPU with the ONNX Runtime backend, seconds on a GPU),
then fit a small MLP on the cached embeddings (a minute or two). All 47k English
SemEval tweets are used by default (+1.6 points of TweetEval macro-recall over a
30k sample at the same head size); pass `semeval_limit` to subsample for a quicker
run. Embeddings can be cached in a folder,
keyed by encoder and exact text list, so re-running with other head settings
skips the encoder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tesoro.scoring.adapter import save_branch
from tesoro.scoring.encoders import DEFAULT_ENCODER, Encoder, in_chunks, load_encoder
from tesoro.scoring.heads import HEAD_INPUTS, Head, TrainConfig, save_head, train_head
from tesoro.scoring.metrics import evaluate
from tesoro.scoring.sentiment import SENTIMENT_LABELS
from tesoro.scoring.training.branch import BranchConfig, train_branch
from tesoro.scoring.training.features import split_features, text_features

__all__ = [
    "OFFENSIVE_CONFIG",
    "OFFENSIVE_INPUTS",
    "OFFENSIVE_LABELS",
    "OFFENSIVE_POOLED_LAYERS",
    "SEMEVAL_LIMIT",
    "SEMEVAL_SAMPLE_SEED",
    "SENTIMENT_CONFIG",
    "SENTIMENT_INPUTS",
    "SENTIMENT_POOLED_LAYERS",
    "balanced_weights",
    "embed_cached",
    "read_jsonl",
    "sentiment_features",
    "sentiment_training_data",
    "train_offensive",
    "train_sentiment",
    "train_sentiment_branch",
    "validation_sets",
]

OFFENSIVE_LABELS = ("not-offensive", "offensive")
FloatArray = npt.NDArray[np.float32]
Progress = Callable[[str], None]

# Share of the total training weight per data set: the brand-mention (airline) and Spanish sets
# are small but are what Tesoro actually sees, so they are not drowned by the generic English pool.
SENTIMENT_SOURCES: dict[str, float] = {
    "semeval2017_sentiment_en": 0.45,
    "airline": 0.30,
    "umsab_spanish": 0.25,
}
SENTIMENT_VALIDATION = ("tweeteval_sentiment", "airline", "umsab_spanish")
# Encoder layers (of MiniLM's 6) whose pooled output the sentiment head reads besides the embedding:
# +1.6 airline and +1.3 UMSAB-es macro-F1, +0.3 TweetEval macro-recall over the embedding alone
# (the first, and one other setting tried, layers 2-5, measured on validation).
SENTIMENT_POOLED_LAYERS = (4, 5)
# The SemEval sample is drawn with its own seed, so that heads trained with other seeds read the
# same texts (and the same cached embeddings).
SEMEVAL_SAMPLE_SEED = 13
# SemEval tweets the sentiment head is trained on (None: all 47k, the shipped head; a number: a sample
# drawn with SEMEVAL_SAMPLE_SEED, quicker).
SEMEVAL_LIMIT: int | None = None
# Which encoders each head reads. 5-fold cross-validation on the training splits (`bench/select_heads.py
# --stage cv`, all 59k sentiment training texts; tables in docs/scoring.md) favours MiniLM + layers 4-5 +
# USE for both heads: sentiment MLP criterion 68.9 +- 0.9 against 66.9 +- 0.5 for MiniLM + layers 4-5
# (UMSAB-es folds 57.2 against 51.9); offensive linear head 75.4 +- 0.5 against 74.2 +- 0.5 for the MLP
# on MiniLM. Measured once on validation over seeds 13-17, the sentiment head is above the shipped one
# on every public set (70.7 / 80.2 / 63.2 against 70.3 / 79.5 / 57.1 for this recipe over the same
# seeds) but 2.9 points below on the brand-sentiment set of brand posts (51.2 +- 0.6 against 54.1 +- 1.0
# macro-F1, lower in both languages), and the offensive head scores 75.2 +- 0.2 against 75.5: by
# issue 18's rule (no figure lower than today's) neither ships, and the heads still read MiniLM
# alone. `inputs=("minilm", "use")` trains the other kind.
SENTIMENT_INPUTS: tuple[str, ...] = ("minilm",)
SENTIMENT_CONFIG = TrainConfig()
OFFENSIVE_INPUTS: tuple[str, ...] = ("minilm",)
OFFENSIVE_POOLED_LAYERS: tuple[int, ...] = ()
OFFENSIVE_CONFIG = TrainConfig()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON Lines file; blank lines are skipped."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def embed_cached(
    encoder: Encoder,
    texts: Sequence[str],
    cache_dir: Path | None,
    layers: Sequence[int] = (),
    on_progress: Progress | None = None,
) -> FloatArray:
    """A head's input for `texts`: the embeddings, followed by the pooled `layers` when given
    (`Encoder.encode_with_layers`); from `cache_dir` when the same encoder already did the same list.
    """

    def block(chunk: Sequence[str]) -> list[FloatArray]:  # one array per chunk, joined at the end
        return [encoder.encode_with_layers(chunk, layers)[1] if layers else encoder.encode(chunk)]

    def compute() -> FloatArray:
        if not texts:
            return np.zeros((0, encoder.dim * (1 + len(layers))), dtype=np.float32)
        return np.concatenate(in_chunks(texts, block, on_progress, "encoding")).astype(np.float32, copy=False)

    if cache_dir is None:
        return compute()
    digest = hashlib.sha1(encoder.name.encode())
    if layers:
        digest.update(("layers:" + ",".join(map(str, layers))).encode())
    backend = getattr(encoder, "backend", "")
    if backend in ("onnx-mixed", "onnx-int8"):  # never served to training from a full-precision key
        digest.update(f"backend:{backend}".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    path = cache_dir / f"emb-{digest.hexdigest()[:20]}.npy"
    if path.is_file():
        cached = np.load(path, allow_pickle=False)
        if cached.shape == (len(texts), encoder.dim * (1 + len(layers))):
            return np.asarray(cached, dtype=np.float32)
    vectors = compute()
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def balanced_weights(groups: Sequence[tuple[str, str]], shares: dict[str, float]) -> npt.NDArray[np.float64]:
    """Each (data set, class) cell gets an equal slice of its data set's share of the total weight."""
    cells = Counter(groups)
    classes_per_set = Counter(dataset for dataset, _ in cells)
    return np.array(
        [shares[ds] / classes_per_set[ds] / cells[(ds, label)] for ds, label in groups], dtype=np.float64
    )


def _sample(records: list[dict[str, Any]], limit: int | None, seed: int) -> list[dict[str, Any]]:
    if limit is None or len(records) <= limit:
        return records
    return random.Random(seed).sample(records, limit)


def sentiment_training_data(
    data_dir: Path, semeval_limit: int | None, seed: int
) -> tuple[list[str], list[int], list[tuple[str, str]], dict[str, int]]:
    """Texts, label ids, (data set, label) groups and per-set sizes of the sentiment training sets."""
    texts: list[str] = []
    ys: list[int] = []
    groups: list[tuple[str, str]] = []
    sizes: dict[str, int] = {}
    for dataset in SENTIMENT_SOURCES:
        path = data_dir / dataset / "train.jsonl"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: training data not found (is --data-dir the shared data folder?)"
            )
        records = read_jsonl(path)
        if dataset == "semeval2017_sentiment_en":
            records = _sample(records, semeval_limit, seed)
        texts.extend(r["text"] for r in records)
        ys.extend(SENTIMENT_LABELS.index(r["label"]) for r in records)
        groups.extend((dataset, r["label"]) for r in records)
        sizes[dataset] = len(records)
    return texts, ys, groups, sizes


def validation_sets(data_dir: Path, datasets: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
    """(texts, gold labels) of each data set's validation split that exists."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for dataset in datasets:
        path = data_dir / dataset / "validation.jsonl"
        if path.is_file():
            records = read_jsonl(path)
            out[dataset] = ([r["text"] for r in records], [r["label"] for r in records])
    return out


def sentiment_features(
    texts: Sequence[str],
    sizes: dict[str, int],
    inputs: Sequence[str],
    pooled_layers: Sequence[int],
    cache_dir: Path | None,
    *,
    semeval_limit: int | None,
    seed: int,
    minilm: Encoder | None = None,
) -> FloatArray:
    """The head inputs of the sentiment training texts (`sentiment_training_data`), cached per data set."""
    blocks: list[FloatArray] = []
    start = 0
    for dataset, size in sizes.items():
        tag = f"{dataset}.train"
        if dataset == "semeval2017_sentiment_en" and semeval_limit is not None:
            tag += f"-{semeval_limit}s{seed}"
        chunk = texts[start : start + size]
        blocks.append(text_features(chunk, inputs, pooled_layers, cache_dir, tag, minilm=minilm))
        start += size
    return np.concatenate(blocks)


def train_sentiment(
    data_dir: Path,
    out_path: Path,
    *,
    encoder: Encoder | None = None,
    semeval_limit: int | None = SEMEVAL_LIMIT,
    cache_dir: Path | None = None,
    config: TrainConfig = SENTIMENT_CONFIG,
    on_progress: Progress | None = None,
    pooled_layers: Sequence[int] = SENTIMENT_POOLED_LAYERS,
    inputs: Sequence[str] = SENTIMENT_INPUTS,
) -> dict[str, Any]:
    """Train a frozen-encoder sentiment head on SemEval-2017, airline and UMSAB (es) train.

    The head reads what `inputs` name, joined: MiniLM's embedding followed by the
    mean-pooled output of `pooled_layers` (the same encoder pass), and/or the multilingual
    USE embedding. Validation splits are never trained on; their scores go into the
    metadata file next to the weights. Returns that metadata.
    """
    say = on_progress or (lambda _msg: None)
    enc = encoder or load_encoder(DEFAULT_ENCODER, full_precision=True)
    layers = tuple(int(k) for k in pooled_layers) if "minilm" in inputs else ()
    names = tuple(name for name in HEAD_INPUTS if name in inputs)
    texts, ys, groups, sizes = sentiment_training_data(data_dir, semeval_limit, SEMEVAL_SAMPLE_SEED)
    say(f"embedding {len(texts)} training texts ({' + '.join(names)})")
    x = sentiment_features(
        texts,
        sizes,
        names,
        layers,
        cache_dir,
        semeval_limit=semeval_limit,
        seed=SEMEVAL_SAMPLE_SEED,
        minilm=enc,
    )
    say("training the head")
    head = train_head(
        x,
        ys,
        SENTIMENT_LABELS,
        weights=balanced_weights(groups, SENTIMENT_SOURCES),
        texts=texts,
        config=config,
    )
    head = dataclasses.replace(head, pooled_layers=layers, inputs=names)
    metrics = _validate(head, enc, data_dir, SENTIMENT_VALIDATION, cache_dir, say)
    meta = _meta(
        enc,
        "sentiment",
        sizes,
        config,
        metrics,
        {
            "semeval_limit": semeval_limit,
            "dataset_shares": SENTIMENT_SOURCES,
            "inputs": list(names),
            "pooled_layers": list(layers),
            "encoder_backend": enc.backend,
        },
    )
    save_head(head, out_path, meta)
    return meta


def train_sentiment_branch(
    data_dir: Path,
    out_path: Path,
    *,
    encoder: Encoder | None = None,
    semeval_limit: int | None = None,
    cache_dir: Path | None = None,
    config: BranchConfig = BranchConfig(),
    head_config: TrainConfig = TrainConfig(),
    device: str = "cpu",
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Fine-tune the sentiment branch (the default model) on the same data as the frozen head."""
    enc = encoder or load_encoder(DEFAULT_ENCODER, full_precision=True)
    texts, ys, groups, sizes = sentiment_training_data(data_dir, semeval_limit, config.seed)
    branch, meta = train_branch(
        enc,
        texts,
        ys,
        balanced_weights(groups, SENTIMENT_SOURCES),
        validation_sets(data_dir, SENTIMENT_VALIDATION),
        config=config,
        head_config=head_config,
        device=device,
        cache_dir=cache_dir,
        on_progress=on_progress,
    )
    meta.update({"train_data": sizes, "semeval_limit": semeval_limit, "dataset_shares": SENTIMENT_SOURCES})
    save_branch(list(branch.layers), branch.head, out_path, meta)
    return meta


def train_offensive(
    data_dir: Path,
    out_path: Path,
    *,
    encoder: Encoder | None = None,
    cache_dir: Path | None = None,
    config: TrainConfig = OFFENSIVE_CONFIG,
    on_progress: Progress | None = None,
    inputs: Sequence[str] = OFFENSIVE_INPUTS,
    pooled_layers: Sequence[int] = OFFENSIVE_POOLED_LAYERS,
) -> dict[str, Any]:
    """Train the offensive-language head on TweetEval offensive (OffensEval 2019) train, class-balanced."""
    say = on_progress or (lambda _msg: None)
    enc = encoder or load_encoder(DEFAULT_ENCODER, full_precision=True)
    names = tuple(name for name in HEAD_INPUTS if name in inputs)
    layers = tuple(int(k) for k in pooled_layers) if "minilm" in names else ()
    records = read_jsonl(data_dir / "tweeteval_offensive" / "train.jsonl")
    say(f"embedding tweeteval_offensive train ({len(records)} texts; {' + '.join(names)})")
    x = split_features(data_dir, "tweeteval_offensive", "train", names, layers, cache_dir, minilm=enc)
    groups = [("tweeteval_offensive", r["label"]) for r in records]
    head = train_head(
        x,
        [OFFENSIVE_LABELS.index(r["label"]) for r in records],
        OFFENSIVE_LABELS,
        weights=balanced_weights(groups, {"tweeteval_offensive": 1.0}),
        texts=[r["text"] for r in records],
        config=config,
    )
    head = dataclasses.replace(head, inputs=names, pooled_layers=layers)
    metrics = _validate(head, enc, data_dir, ("tweeteval_offensive",), cache_dir, say)
    extra = {"inputs": list(names), "pooled_layers": list(layers)}
    meta = _meta(enc, "offensive", {"tweeteval_offensive": len(records)}, config, metrics, extra)
    save_head(head, out_path, meta)
    return meta


def _validate(
    head: Head, enc: Encoder, data_dir: Path, datasets: Sequence[str], cache_dir: Path | None, say: Progress
) -> dict[str, dict[str, float]]:
    metrics: dict[str, dict[str, float]] = {}
    for dataset in datasets:
        path = data_dir / dataset / "validation.jsonl"
        if not path.is_file():
            continue
        records = read_jsonl(path)
        say(f"validating on {dataset} ({len(records)} texts)")
        texts = [r["text"] for r in records]
        x = split_features(
            data_dir, dataset, "validation", head.inputs, head.pooled_layers, cache_dir, minilm=enc
        )
        predicted = head.predict(x, texts)
        report = evaluate([r["label"] for r in records], predicted, head.labels)
        metrics[dataset] = {key: round(value, 4) for key, value in report.items()}
    return metrics


def _meta(
    enc: Encoder,
    task: str,
    sizes: dict[str, int],
    config: TrainConfig,
    metrics: dict[str, dict[str, float]],
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "task": task,
        "encoder": enc.name,
        "encoder_dim": enc.dim,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_data": sizes,
        "config": {
            k: getattr(config, k)
            for k in (
                "hidden",
                "epochs",
                "lr",
                "weight_decay",
                "dropout",
                "batch_size",
                "seed",
                "lexical_buckets",
            )
        },
        "validation": metrics,
        **extra,
    }
