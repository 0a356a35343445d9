"""The `fast` profile's text-only heads: a linear model over hashed word and character n-grams.

No encoder runs: a head's logits are `b + sum(W[id] for id in hashed_ngrams(text)) / sqrt(count)`,
which is exactly the lexical part of a shipped head (`heads.Head` with no encoder input and an
empty `w1`), so inference needs nothing new. Training is a sample-weighted multinomial logistic
regression with an L2 penalty, fitted by L-BFGS (scipy) from zeros over a sparse matrix: no
randomness at all, so the same data and settings give the same weights on every run.

The recipe is the default heads' (`recipes`): the same data sets, the same (data set, class)
balanced weights, validation splits never trained on. The penalty is chosen by k-fold
cross-validation on the training split (`cross_validate`), then the head is fitted on the whole
training split and measured once on validation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tesoro.scoring.heads import Head, hashed_ngram_batch, save_head
from tesoro.scoring.metrics import evaluate

__all__ = [
    "FAST_OFFENSIVE_CONFIG",
    "FAST_SENTIMENT_CONFIG",
    "LexicalConfig",
    "cross_validate",
    "fit_lexical",
    "lexical_matrix",
    "train_fast_offensive",
    "train_fast_sentiment",
]

FloatArray = npt.NDArray[np.float32]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class LexicalConfig:
    buckets: int = 2**18  # hashed n-gram buckets (weights: buckets x classes, float16 on disk)
    l2: float = 1e-4  # penalty on the n-gram weights, per unit of (mean-one) sample weight
    max_iter: int = 300  # L-BFGS iterations


# Chosen by `cross_validate` on the training splits (`bench/select_heads.py --stage fast` prints the
# table; docs/scoring.md "Fast profile" keeps it). Sentiment, 3 folds, mean of the data sets' metrics:
# L2 3e-4 61.0, 1e-4 62.6, 3e-5 63.6, 1e-5 64.0, 3e-6 64.0 (the more penalised of the two best).
FAST_SENTIMENT_CONFIG = LexicalConfig(l2=1e-5)
FAST_OFFENSIVE_CONFIG = LexicalConfig()


def lexical_matrix(texts: Sequence[str], buckets: int) -> Any:
    """The texts' hashed n-gram counts scaled by 1/sqrt(each text's count), as a CSR matrix (rows x buckets).

    A row times the weights is what `heads.lexical_logits` computes at scoring time.
    """
    from scipy import sparse  # deferred: needed only to train

    ids, counts = hashed_ngram_batch(texts, buckets)
    scale = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts)
    indptr = np.concatenate(([0], np.cumsum(counts)))
    matrix = sparse.csr_matrix((scale, ids, indptr), shape=(len(texts), buckets), dtype=np.float64)
    matrix.sum_duplicates()
    return matrix


def fit_lexical(
    x: Any,
    y: Sequence[int] | npt.NDArray[np.int64],
    classes: int,
    weights: npt.NDArray[np.float64] | None,
    config: LexicalConfig,
) -> tuple[FloatArray, FloatArray]:
    """(W, b): weighted multinomial logistic regression on sparse `x`, by L-BFGS from zeros."""
    from scipy.optimize import minimize  # deferred: needed only to train

    n, width = x.shape
    target = np.zeros((n, classes))
    target[np.arange(n), np.asarray(y, dtype=np.int64)] = 1.0
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    xt = x.T.tocsr()

    def loss(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        weight = theta[: width * classes].reshape(width, classes)
        bias = theta[width * classes :]
        logits = x @ weight + bias
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1, keepdims=True))
        log_p = logits - log_norm
        value = -float((w * (log_p * target).sum(axis=1)).sum()) + 0.5 * config.l2 * float((weight**2).sum())
        residual = (np.exp(log_p) - target) * w[:, None]
        grad_w = xt @ residual + config.l2 * weight
        return value, np.concatenate([np.asarray(grad_w).ravel(), residual.sum(axis=0)])

    start = np.zeros(width * classes + classes)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": config.max_iter})
    theta = result.x
    return (
        theta[: width * classes].reshape(width, classes).astype(np.float32),
        theta[width * classes :].astype(np.float32),
    )


def lexical_head(weight: FloatArray, bias: FloatArray, labels: Sequence[str]) -> Head:
    """A text-only `Head`: no encoder input, the bias as `b1`, the n-gram weights as its lexical part."""
    classes = len(labels)
    return Head(
        w1=np.zeros((0, classes), np.float32),
        b1=bias.astype(np.float32),
        w2=np.zeros((0, classes), np.float32),
        b2=np.zeros(classes, np.float32),
        labels=tuple(labels),
        lexical=weight.astype(np.float32),
        inputs=(),
    )


def cross_validate(
    texts: Sequence[str],
    y: Sequence[int],
    labels: Sequence[str],
    weights: npt.NDArray[np.float64],
    groups: Sequence[str],
    configs: Sequence[LexicalConfig],
    *,
    folds: int = 3,
    seed: int = 13,
    metrics: Mapping[str, str] | None = None,
    on_progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Per config: on each held-out fold, the mean over the data sets in `groups` of each one's metric
    (`metrics[data set]`, macro-F1 when not named).

    Folds are a seeded permutation of the training rows; the matrix is built once per bucket count.
    """
    say = on_progress or (lambda _msg: None)
    order = np.random.default_rng(seed).permutation(len(texts))
    parts = np.array_split(order, folds)
    matrices: dict[int, Any] = {}
    gold = np.asarray(y, dtype=np.int64)
    group_array = np.asarray(groups)
    results: list[dict[str, Any]] = []
    for config in configs:
        if config.buckets not in matrices:
            matrices[config.buckets] = lexical_matrix(texts, config.buckets)
        x = matrices[config.buckets]
        scores: list[float] = []
        for k, held in enumerate(parts):
            train = np.setdiff1d(order, held, assume_unique=True)
            weight, bias = fit_lexical(x[train], gold[train], len(labels), weights[train], config)
            predicted = np.asarray(x[held] @ weight + bias).argmax(axis=1)
            per_set = []
            for name in sorted(set(group_array[held].tolist())):
                rows = group_array[held] == name
                report = evaluate(
                    [labels[i] for i in gold[held][rows]], [labels[i] for i in predicted[rows]], labels
                )
                per_set.append(report[(metrics or {}).get(name, "macro_f1")])
            scores.append(float(np.mean(per_set)))
            say(f"cv {dataclasses.asdict(config)} fold {k + 1}/{folds}: {scores[-1]:.4f}")
        results.append(
            {"config": dataclasses.asdict(config), "mean": float(np.mean(scores)), "folds": scores}
        )
    return results


def _validate(head: Head, data_dir: Path, datasets: Sequence[str]) -> dict[str, dict[str, float]]:
    from tesoro.scoring.training.recipes import read_jsonl  # deferred: recipes imports this module

    metrics: dict[str, dict[str, float]] = {}
    for dataset in datasets:
        path = data_dir / dataset / "validation.jsonl"
        if path.is_file():
            records = read_jsonl(path)
            texts = [r["text"] for r in records]
            predicted = head.predict(np.zeros((len(texts), 0), np.float32), texts)
            report = evaluate([r["label"] for r in records], predicted, head.labels)
            metrics[dataset] = {key: round(value, 4) for key, value in report.items()}
    return metrics


def _fit_and_save(
    task: str,
    texts: Sequence[str],
    y: Sequence[int],
    labels: Sequence[str],
    weights: npt.NDArray[np.float64],
    config: LexicalConfig,
    data_dir: Path,
    validation: Sequence[str],
    out_path: Path,
    extra: dict[str, Any],
    say: Progress,
) -> dict[str, Any]:
    say(f"fitting the {task} n-gram head on {len(texts)} texts ({config.buckets} buckets, l2 {config.l2})")
    weight, bias = fit_lexical(lexical_matrix(texts, config.buckets), y, len(labels), weights, config)
    head = lexical_head(weight, bias, labels)
    say("validating")
    meta = {
        "task": task,
        "profile": "fast",
        "encoder": None,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": dataclasses.asdict(config),
        "validation": _validate(head, data_dir, validation),
        **extra,
    }
    save_head(head, out_path, meta)
    return meta


def train_fast_sentiment(
    data_dir: Path,
    out_path: Path,
    *,
    config: LexicalConfig = FAST_SENTIMENT_CONFIG,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """The `fast` sentiment head on the default head's data and weighting (all 47k SemEval tweets)."""
    from tesoro.scoring.sentiment import SENTIMENT_LABELS
    from tesoro.scoring.training.recipes import (
        SEMEVAL_SAMPLE_SEED,
        SENTIMENT_SOURCES,
        SENTIMENT_VALIDATION,
        balanced_weights,
        sentiment_training_data,
    )

    texts, ys, groups, sizes = sentiment_training_data(data_dir, None, SEMEVAL_SAMPLE_SEED)
    return _fit_and_save(
        "sentiment",
        texts,
        ys,
        SENTIMENT_LABELS,
        balanced_weights(groups, SENTIMENT_SOURCES),
        config,
        data_dir,
        SENTIMENT_VALIDATION,
        out_path,
        {"train_data": sizes, "dataset_shares": SENTIMENT_SOURCES},
        on_progress or (lambda _msg: None),
    )


def train_fast_offensive(
    data_dir: Path,
    out_path: Path,
    *,
    config: LexicalConfig = FAST_OFFENSIVE_CONFIG,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """The `fast` offensive head on TweetEval offensive train, class-balanced like the default head."""
    from tesoro.scoring.training.recipes import OFFENSIVE_LABELS, balanced_weights, read_jsonl

    records = read_jsonl(data_dir / "tweeteval_offensive" / "train.jsonl")
    groups = [("tweeteval_offensive", r["label"]) for r in records]
    return _fit_and_save(
        "offensive",
        [r["text"] for r in records],
        [OFFENSIVE_LABELS.index(r["label"]) for r in records],
        OFFENSIVE_LABELS,
        balanced_weights(groups, {"tweeteval_offensive": 1.0}),
        config,
        data_dir,
        ("tweeteval_offensive",),
        out_path,
        {"train_data": {"tweeteval_offensive": len(records)}},
        on_progress or (lambda _msg: None),
    )
