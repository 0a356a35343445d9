"""Per-brand calibration of the heads, learned from a coordinator's corrections.

A coordinator who corrects a post's sentiment, product or content type says how
*their* brand reads its posts. The heads are shared by every brand; this module
adapts their outputs per brand without touching them, so it works whatever heads
ship (it reads only the head's output and the post's embedding):

- **prior** calibration: logit_k = a * log p_k + b_k, where p is the head's
  probability for class k. `a` re-scales the head's confidence (temperature) and
  `b` shifts the class priors (a brand whose posts the head reads as too neutral).
- **adapter**: the same plus a linear term on the post's embedding,
  logit_k = a * log p_k + b_k + w_k . x, with x the embedding standardised on the
  brand's labelled posts: a small multinomial logistic model that can learn what
  the brand calls a complaint or which product a post means.

Both are maximum-a-posteriori fits with a Gaussian prior centred on "no change"
(a = 1, b = 0, w = 0), so few labels move the head a little and many can move it
far. Which of identity, prior and adapter (and the adapter's L2 strength) a brand
gets is decided by k-fold cross-validation on its labels: a calibration that does
not beat the unchanged head on held-out labels is not used. The cross-validated
accuracy before and after is kept with the model (`metrics`).

Heads and their classes:

- sentiment: `SENTIMENT_LABELS`, from the head's probabilities;
- product: "none" and the brand's product ids, from the matcher's product and
  confidence (p = confidence for the matched product, 1 - confidence for "none");
- content type: one yes/no calibration per text-read type (`CALIBRATED_TYPES`;
  photo and video come from the platform's metadata and are exact), from the
  rule's answer (p(yes) = `RULE_YES` when it fired).

`calibrate_rows` applies a brand's calibrations to the scorer's rows, and
`apply_overrides` then puts a post's own corrections over everything: the
corrected value always wins for that post.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from sqlmodel import Session

from tesoro.models import CONTENT_TYPES
from tesoro.scoring.sentiment import SENTIMENT_LABELS
from tesoro.store.corrections import load_correction_models

__all__ = [
    "CALIBRATED_TYPES",
    "HEADS",
    "MIN_ADAPTER_LABELS",
    "MIN_LABELS",
    "NONE",
    "BrandCalibration",
    "Calibration",
    "apply_overrides",
    "calibrate_rows",
    "learn_calibration",
    "load_calibrations",
    "product_inputs",
    "sentiment_inputs",
    "type_inputs",
]

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]

HEADS = ("sentiment", "product", "content_type")
CALIBRATED_TYPES = tuple(t for t in CONTENT_TYPES if t not in ("photo", "video", "other"))
NONE = "none"
YES_NO = ("no", "yes")
# Fewer labels than this: nothing is learned. The adapter (w) needs more.
MIN_LABELS = 10
MIN_ADAPTER_LABELS = 30
# The probability a fired content-type rule stands for (the rules give yes or no, not a probability).
RULE_YES = 0.8
# Prior precisions: on the confidence scale a, the class shifts b, and the candidates for w.
SCALE_PRECISION = 1.0
BIAS_PRECISION = 1.0
ADAPTER_PRECISIONS = (10.0, 40.0, 160.0)
FOLDS = 5
_EPS = 1e-4


def _log_probs(p: FloatArray) -> FloatArray:
    clipped = np.clip(p, _EPS, 1.0)
    return np.asarray(np.log(clipped / clipped.sum(axis=1, keepdims=True)), dtype=np.float64)


def _softmax(z: FloatArray) -> FloatArray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Calibration:
    """One head's learned calibration for one brand: `kind` "prior" or "adapter"."""

    classes: tuple[str, ...]
    kind: str
    scale: float
    bias: tuple[float, ...]
    weights: FloatArray | None = None  # (classes, dim), on the standardised embedding
    mean: FloatArray | None = None
    std: FloatArray | None = None

    @property
    def dim(self) -> int | None:
        return None if self.weights is None else int(self.weights.shape[1])

    def fits(self, embedding_dim: int) -> bool:
        """Whether it can read embeddings of this size (an adapter is tied to its encoder)."""
        return self.weights is None or self.weights.shape[1] == embedding_dim

    def logits(self, log_p: FloatArray, embeddings: FloatArray | None) -> FloatArray:
        z = self.scale * log_p + np.asarray(self.bias, dtype=np.float64)
        if self.weights is not None and embeddings is not None:
            assert self.mean is not None and self.std is not None
            x = (np.asarray(embeddings, dtype=np.float64) - self.mean) / self.std
            z = z + x @ self.weights.T
        return z

    def proba(self, log_p: FloatArray, embeddings: FloatArray | None) -> FloatArray:
        return _softmax(self.logits(log_p, embeddings))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "classes": list(self.classes),
            "kind": self.kind,
            "scale": round(self.scale, 6),
            "bias": [round(b, 6) for b in self.bias],
        }
        if self.weights is not None and self.mean is not None and self.std is not None:
            data["weights"] = np.round(self.weights, 6).tolist()
            data["mean"] = np.round(self.mean, 6).tolist()
            data["std"] = np.round(self.std, 6).tolist()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        """Read a stored calibration; raises ValueError when its shapes disagree."""
        classes = tuple(str(c) for c in data["classes"])
        bias = tuple(float(b) for b in data["bias"])
        if len(classes) < 2 or len(bias) != len(classes):
            raise ValueError("a calibration needs one bias per class and at least two classes")
        weights = mean = std = None
        if "weights" in data:
            weights = np.asarray(data["weights"], dtype=np.float64)
            mean = np.asarray(data["mean"], dtype=np.float64)
            std = np.asarray(data["std"], dtype=np.float64)
            if weights.ndim != 2 or weights.shape[0] != len(classes):
                raise ValueError("adapter weights do not match the classes or the embedding size")
            if mean.shape != (weights.shape[1],) or std.shape != (weights.shape[1],) or np.any(std <= 0):
                raise ValueError("adapter standardisation does not match the embedding size")
        return cls(classes, str(data["kind"]), float(data["scale"]), bias, weights, mean, std)


@dataclass(frozen=True, slots=True)
class BrandCalibration:
    """What one brand's corrections taught: a calibration per head (None: the head as it is)."""

    sentiment: Calibration | None = None
    product: Calibration | None = None
    content_types: Mapping[str, Calibration] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.sentiment is None and self.product is None and not self.content_types


# ---- the heads' outputs as log-probabilities over a calibration's classes ----


def sentiment_inputs(probs: Sequence[Mapping[str, float] | None]) -> FloatArray:
    """(n, 3) log-probabilities from the score rows' `sentiment_probs` (uniform where missing)."""
    p = np.asarray(
        [[float((row or {}).get(label, 1.0 / 3)) for label in SENTIMENT_LABELS] for row in probs],
        dtype=np.float64,
    ).reshape(len(probs), len(SENTIMENT_LABELS))
    return _log_probs(p)


def product_inputs(
    matches: Sequence[tuple[int | None, float | None]], classes: Sequence[str]
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """(n, classes) log-probabilities from (matched product, confidence), and which rows it can read.

    A row whose matched product is not among `classes` (a product added after training) is
    marked unreadable: the calibration leaves that post as the matcher said.
    """
    index = {c: i for i, c in enumerate(classes)}
    p = np.zeros((len(matches), len(classes)), dtype=np.float64)
    ok = np.ones(len(matches), dtype=bool)
    none = index[NONE]
    for row, (product_id, confidence) in enumerate(matches):
        conf = min(max(float(confidence or 0.0), 0.0), 1.0)
        if product_id is None:
            p[row, none] = 1.0
            continue
        k = index.get(str(product_id))
        if k is None:
            ok[row] = False
            p[row, none] = 1.0
            continue
        p[row, k] = conf
        p[row, none] += 1.0 - conf
    return _log_probs(p), ok


def type_inputs(types: Sequence[Sequence[str]], content_type: str) -> FloatArray:
    """(n, 2) log-probabilities of (no, yes) for one content type from the rules' answers."""
    yes = np.asarray([RULE_YES if content_type in row else 1.0 - RULE_YES for row in types], dtype=np.float64)
    return _log_probs(np.stack([1.0 - yes, yes], axis=1).reshape(len(types), 2))


# ---- fitting ----


def _fit(
    log_p: FloatArray,
    x: FloatArray | None,
    y: npt.NDArray[np.int64],
    weight: FloatArray,
    adapter_precision: float | None,
) -> tuple[float, FloatArray, FloatArray | None]:
    """MAP (scale, bias, weights) of logit = a log p + b (+ x W^T); W only with `adapter_precision`."""
    n, k = log_p.shape
    d = 0 if x is None or adapter_precision is None else x.shape[1]
    onehot = np.zeros((n, k), dtype=np.float64)
    onehot[np.arange(n), y] = 1.0

    def unpack(theta: FloatArray) -> tuple[float, FloatArray, FloatArray | None]:
        a = float(theta[0])
        b = theta[1 : 1 + k]
        w = theta[1 + k :].reshape(k, d) if d else None
        return a, b, w

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        a, b, w = unpack(theta)
        z = a * log_p + b
        if w is not None and x is not None:
            z = z + x @ w.T
        zmax = z.max(axis=1, keepdims=True)
        lse = (zmax + np.log(np.exp(z - zmax).sum(axis=1, keepdims=True)))[:, 0]
        loss = float(np.sum(weight * (lse - z[np.arange(n), y])))
        g = weight[:, None] * (_softmax(z) - onehot)
        grad_a = float(np.sum(g * log_p)) + SCALE_PRECISION * (a - 1.0)
        grad_b = g.sum(axis=0) + BIAS_PRECISION * b
        loss += 0.5 * SCALE_PRECISION * (a - 1.0) ** 2 + 0.5 * BIAS_PRECISION * float(b @ b)
        parts = [np.asarray([grad_a]), grad_b]
        if w is not None and x is not None and adapter_precision is not None:
            loss += 0.5 * adapter_precision * float(np.sum(w * w))
            parts.append((g.T @ x + adapter_precision * w).ravel())
        return loss, np.concatenate(parts)

    start = np.zeros(1 + k + k * d, dtype=np.float64)
    start[0] = 1.0
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 300})
    return unpack(np.asarray(result.x, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class _Candidate:
    kind: str
    precision: float | None


def _standardise(emb: FloatArray) -> tuple[FloatArray, FloatArray]:
    mean = emb.mean(axis=0)
    std = emb.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)
    return mean, std


def _calibration(
    classes: tuple[str, ...],
    candidate: _Candidate,
    log_p: FloatArray,
    emb: FloatArray | None,
    y: npt.NDArray[np.int64],
    weight: FloatArray,
) -> Calibration | None:
    if candidate.kind == "identity":
        return None
    if candidate.kind == "prior" or emb is None:
        a, b, _ = _fit(log_p, None, y, weight, None)
        return Calibration(classes, "prior", a, tuple(float(v) for v in b))
    mean, std = _standardise(emb)
    a, b, w = _fit(log_p, (emb - mean) / std, y, weight, candidate.precision)
    return Calibration(classes, "adapter", a, tuple(float(v) for v in b), w, mean, std)


def _predict(cal: Calibration | None, log_p: FloatArray, emb: FloatArray | None) -> FloatArray:
    return _softmax(log_p) if cal is None else cal.proba(log_p, emb)


def learn_calibration(
    classes: Sequence[str],
    log_p: FloatArray,
    embeddings: FloatArray | None,
    labels: Sequence[str],
    weights: Sequence[float] | None = None,
    *,
    min_labels: int = MIN_LABELS,
    min_adapter_labels: int = MIN_ADAPTER_LABELS,
    folds: int = FOLDS,
    seed: int = 0,
) -> tuple[Calibration | None, dict[str, Any]]:
    """The calibration the labels support (None: keep the head as it is) and how it was chosen.

    `labels` are class names (values of `classes`); `weights` the labels' weights
    (1 for a correction, less for a value the coordinator let stand). Metrics:
    `labels`, `kind`, and the cross-validated accuracy of the head as it is
    (`accuracy_before`) and calibrated (`accuracy_after`), weighted like the fit.
    """
    cls = tuple(str(c) for c in classes)
    index = {c: i for i, c in enumerate(cls)}
    keep = [i for i, label in enumerate(labels) if label in index]
    n = len(keep)
    metrics: dict[str, Any] = {"labels": n, "kind": "identity"}
    if n < min_labels:
        metrics["reason"] = f"{n} labels, {min_labels} needed"
        return None, metrics
    y = np.asarray([index[labels[i]] for i in keep], dtype=np.int64)
    if len(set(y.tolist())) < 2:
        metrics["reason"] = "every label is the same class"
        return None, metrics
    w = np.asarray([1.0 if weights is None else float(weights[i]) for i in keep], dtype=np.float64)
    lp = log_p[keep]
    emb = None if embeddings is None else np.asarray(embeddings, dtype=np.float64)[keep]
    candidates = [_Candidate("identity", None), _Candidate("prior", None)]
    if emb is not None and n >= min_adapter_labels:
        candidates += [_Candidate("adapter", p) for p in ADAPTER_PRECISIONS]
    order = np.random.default_rng(seed).permutation(n)
    fold_of = np.empty(n, dtype=np.int64)
    fold_of[order] = np.arange(n) % min(folds, n)
    hits = np.zeros(len(candidates), dtype=np.float64)
    for f in range(min(folds, n)):
        train, test = fold_of != f, fold_of == f
        if len(set(y[train].tolist())) < 2:
            continue
        for c, candidate in enumerate(candidates):
            cal = _calibration(
                cls, candidate, lp[train], None if emb is None else emb[train], y[train], w[train]
            )
            proba = _predict(cal, lp[test], None if emb is None else emb[test])
            hits[c] += float(np.sum(w[test] * (proba.argmax(axis=1) == y[test])))
    accuracy = hits / float(w.sum())
    best = 0
    for c in range(1, len(candidates)):
        if accuracy[c] > accuracy[best] + 1e-9:
            best = c
    chosen = candidates[best]
    metrics.update(
        {
            "kind": chosen.kind,
            "accuracy_before": round(float(accuracy[0]), 4),
            "accuracy_after": round(float(accuracy[best]), 4),
            "candidates": {
                (c.kind if c.precision is None else f"{c.kind}@{c.precision:g}"): round(float(a), 4)
                for c, a in zip(candidates, accuracy, strict=True)
            },
        }
    )
    if chosen.precision is not None:
        metrics["precision"] = chosen.precision
    if chosen.kind == "identity":
        metrics["reason"] = "no calibration beat the head on held-out labels"
        return None, metrics
    return _calibration(cls, chosen, lp, emb, y, w), metrics


# ---- applying ----


def load_calibrations(session: Session) -> dict[int, BrandCalibration]:
    """Every brand's stored calibrations; a stored model that cannot be read is skipped (and logged)."""
    found: dict[int, dict[str, Any]] = {}
    for (brand_id, head), row in load_correction_models(session).items():
        if row.model.get("kind") == "identity":
            continue  # tried, and the head as it is did best
        try:
            if head == "sentiment" or head == "product":
                found.setdefault(brand_id, {})[head] = Calibration.from_json(row.model)
            elif head.startswith("type:") and head[5:] in CALIBRATED_TYPES:
                found.setdefault(brand_id, {}).setdefault("types", {})[head[5:]] = Calibration.from_json(
                    row.model
                )
            else:
                raise ValueError(f"unknown head {head!r}")
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring brand %d's %s calibration: %s", brand_id, head, exc)
    return {
        brand_id: BrandCalibration(parts.get("sentiment"), parts.get("product"), parts.get("types", {}))
        for brand_id, parts in found.items()
    }


def _embeddings(rows: Sequence[Mapping[str, Any]]) -> FloatArray | None:
    """The rows' embeddings as one matrix, or None when any is missing or they differ in size."""
    vectors: list[npt.NDArray[np.float32]] = []
    for row in rows:
        raw = row.get("embedding")
        if not raw:
            return None
        vectors.append(np.frombuffer(raw, dtype=np.float32))
    if not vectors or len({v.shape for v in vectors}) != 1:
        return None
    return np.stack(vectors).astype(np.float64)


def _usable(cal: Calibration | None, emb: FloatArray | None) -> bool:
    if cal is None:
        return False
    if cal.weights is None:
        return True
    return emb is not None and cal.fits(emb.shape[1])


def calibrate_rows(
    rows: Sequence[dict[str, Any]],
    brand_ids: Sequence[int | None],
    calibrations: Mapping[int, BrandCalibration],
) -> None:
    """Apply each post's brand calibration to the scorer's rows, in place (posts of no brand: none).

    An adapter learned on another encoder's embeddings (another size) is skipped: the
    head's value stands until the training job relearns it.
    """
    # Grouped by brand and embedding size: a row without an embedding (or with another encoder's)
    # gets what its brand's calibration can do without one, and never holds back the rows beside it.
    groups: dict[tuple[int, int], list[int]] = {}
    for i, brand_id in enumerate(brand_ids):
        if brand_id is not None and brand_id in calibrations:
            raw = rows[i].get("embedding")
            groups.setdefault((brand_id, len(raw) if raw else 0), []).append(i)
    for (brand_id, _size), members in groups.items():
        cal = calibrations[brand_id]
        part = [rows[i] for i in members]
        emb = _embeddings(part)
        if _usable(cal.sentiment, emb):
            assert cal.sentiment is not None
            proba = cal.sentiment.proba(sentiment_inputs([r.get("sentiment_probs") for r in part]), emb)
            for row, p in zip(part, proba, strict=True):
                probs = {label: 0.0 for label in SENTIMENT_LABELS}
                for label, v in zip(cal.sentiment.classes, p, strict=True):
                    probs[label] = round(float(v), 4)
                row["sentiment_probs"] = probs
                row["sentiment"] = max(probs, key=lambda label: probs[label])
        if _usable(cal.product, emb):
            assert cal.product is not None
            log_p, ok = product_inputs(
                [(r.get("product_id"), r.get("product_confidence")) for r in part], cal.product.classes
            )
            proba = cal.product.proba(log_p, emb)
            for row, p, readable in zip(part, proba, ok, strict=True):
                if not readable:
                    continue
                best = int(p.argmax())
                label = cal.product.classes[best]
                row["product_id"] = None if label == NONE else int(label)
                row["product_confidence"] = None if label == NONE else round(float(p[best]), 4)
        usable_types = {t: c for t, c in cal.content_types.items() if _usable(c, emb)}
        if usable_types:
            current = [list(r.get("content_types") or []) for r in part]
            for content_type, type_cal in usable_types.items():
                yes = type_cal.proba(type_inputs(current, content_type), emb)[:, 1]
                for types, flag in zip(current, yes, strict=True):
                    if flag >= 0.5 and content_type not in types:
                        types.append(content_type)
                    elif flag < 0.5 and content_type in types:
                        types.remove(content_type)
            for row, types in zip(part, current, strict=True):
                row["content_types"] = _normalise_types(types)


def _normalise_types(types: Sequence[str]) -> list[str]:
    """Known types in `CONTENT_TYPES` order; "other" only when nothing else applies."""
    kept = [t for t in CONTENT_TYPES if t in types and t != "other"]
    return kept or ["other"]


def apply_overrides(rows: Sequence[dict[str, Any]], corrections: Mapping[int, Mapping[str, Any]]) -> None:
    """Put each post's corrections over its scored values, in place: the coordinator's label wins."""
    for row in rows:
        found = corrections.get(int(row["post_id"]))
        if not found:
            continue
        if "sentiment" in found and found["sentiment"] in SENTIMENT_LABELS:
            row["sentiment"] = found["sentiment"]
        if "product" in found:
            product_id = found["product"]
            row["product_id"] = product_id
            row["product_confidence"] = None if product_id is None else 1.0
        if "content_type" in found and isinstance(found["content_type"], list):
            row["content_types"] = _normalise_types(found["content_type"])
