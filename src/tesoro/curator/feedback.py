"""Learning from the coordinator: a per-brand ranker that re-weights the treasure score.

The treasure formula is the same for every brand, but coordinators are not: one
wants tutorials of the new pack and never memes, another loves memes. Every
approval and rejection is a labelled example, so each brand gets a logistic
regression on:

- the seven treasure components (so it can re-weight them: "relevance matters more
  here, recency less"),
- one-hot content types, platform and language,
- the post's sentence embedding projected on `ranker_embedding_dims` fixed random
  directions (what the post is *about*: trail running, rain, a product).

It is trained in batch by Newton's method (IRLS) with an L2 penalty: with tens to
a few thousand examples and ~60 features that takes milliseconds, converges
exactly, and needs nothing beyond numpy. Training is warm-started from the saved
weights, so retraining after every few decisions is cheap ("online" in practice).

The learned probability is blended in, never substituted: final score =
(1 - a) x base + a x p(approve), with a = `ranker_max_blend` x n / (n +
`ranker_blend_half`) growing with the number n of decisions, and a = 0 below
`ranker_min_decisions` or until both an approval and a rejection exist. A few
decisions nudge the queue; hundreds can reorder it. The explanation shows p and a.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine

from tesoro.curator.treasure import COMPONENTS
from tesoro.models import CONTENT_TYPES, Platform
from tesoro.settings import CuratorSettings
from tesoro.store.catalog import list_brands
from tesoro.store.curation import set_item_scores
from tesoro.store.engine import session_scope
from tesoro.store.rankers import (
    ItemFeatures,
    delete_ranker,
    item_features,
    labelled_items,
    load_rankers,
    save_ranker,
)

__all__ = [
    "EMBEDDING_DIM",
    "Ranker",
    "TrainReport",
    "apply_rankers",
    "blend",
    "damped_newton",
    "fit_logistic",
    "load_ranker_models",
    "train_rankers",
]

EMBEDDING_DIM = 384
# Every platform a post can come from has its own column (file imports fall under "other"); a ranker
# saved with another list is incompatible and is retrained from the decisions on the next pass.
_PLATFORMS = tuple(p.value for p in Platform if p is not Platform.FILE)
_LANGUAGES = ("en", "es")
_PROJECTION_SEED = 5
FloatArray = npt.NDArray[np.float64]


def _projection(dims: int, seed: int = _PROJECTION_SEED) -> FloatArray:
    """`dims` orthonormal random directions of the embedding space (the same every run)."""
    if dims == 0:
        return np.zeros((EMBEDDING_DIM, 0))
    gaussian = np.random.default_rng(seed).standard_normal((EMBEDDING_DIM, dims))
    q, _ = np.linalg.qr(gaussian)
    return np.asarray(q[:, :dims] * math.sqrt(EMBEDDING_DIM / dims), dtype=np.float64)


def feature_names(dims: int) -> list[str]:
    return (
        [f"component:{c}" for c in COMPONENTS]
        + [f"type:{t}" for t in CONTENT_TYPES]
        + [f"platform:{p}" for p in (*_PLATFORMS, "other")]
        + [f"language:{lang}" for lang in (*_LANGUAGES, "other")]
        + [f"embedding:{i}" for i in range(dims)]
    )


def featurize(items: Sequence[ItemFeatures], projection: FloatArray) -> FloatArray:
    """The feature matrix (rows: items) in `feature_names` order."""
    n, dims = len(items), projection.shape[1]
    width = len(COMPONENTS) + len(CONTENT_TYPES) + len(_PLATFORMS) + 1 + len(_LANGUAGES) + 1
    x = np.zeros((n, width + dims))
    embeddings = np.zeros((n, EMBEDDING_DIM))
    for i, item in enumerate(items):
        for j, name in enumerate(COMPONENTS):
            part = item.components.get(name)
            x[i, j] = float(part.get("value", 0.5)) if isinstance(part, dict) else 0.5
        base = len(COMPONENTS)
        for j in range(len(CONTENT_TYPES)):
            x[i, base + j] = 1.0 if item.content_mask & (1 << j) else 0.0
        base += len(CONTENT_TYPES)
        p = _PLATFORMS.index(item.platform) if item.platform in _PLATFORMS else len(_PLATFORMS)
        x[i, base + p] = 1.0
        base += len(_PLATFORMS) + 1
        lang = (item.language or "").split("-")[0]
        x[i, base + (_LANGUAGES.index(lang) if lang in _LANGUAGES else len(_LANGUAGES))] = 1.0
        if item.embedding and len(item.embedding) == EMBEDDING_DIM * 4:
            embeddings[i] = np.frombuffer(item.embedding, dtype=np.float32)
    if dims:
        x[:, width:] = embeddings @ projection
    return x


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), dtype=np.float64)


def _penalized_loss(design: FloatArray, y: FloatArray, w: FloatArray, penalty: FloatArray) -> float:
    z = design @ w
    # log(1 + e^z) - y z, computed without overflow.
    loss = np.logaddexp(0.0, z) - y * z
    return float(loss.sum() + 0.5 * np.sum(penalty * w * w))


def fit_logistic(
    x: FloatArray,
    y: FloatArray,
    *,
    l2: float,
    start: FloatArray | None = None,
    iterations: int = 50,
) -> FloatArray:
    """L2-penalized logistic regression by Newton's method; returns [intercept, weights...].

    Each Newton step is halved until the penalized loss decreases (plain Newton can
    overshoot from a poor start on nearly separable decisions). The intercept is
    not penalized, so an unbalanced coordinator (approves 90 %) stays calibrated.
    A warm start is used only when it is better than starting from zero.
    """
    n, d = x.shape
    design = np.hstack([np.ones((n, 1)), x])
    penalty = np.full(d + 1, l2)
    penalty[0] = 0.0
    w = np.zeros(d + 1)
    loss = _penalized_loss(design, y, w, penalty)
    if start is not None and start.shape == (d + 1,) and np.all(np.isfinite(start)):
        warm = _penalized_loss(design, y, start, penalty)
        if warm < loss:
            w, loss = start.copy(), warm

    def newton_step(w: FloatArray) -> FloatArray:
        p = _sigmoid(design @ w)
        gradient = design.T @ (p - y) + penalty * w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-6 * np.eye(d + 1)
        return np.asarray(np.linalg.solve(hessian, gradient), dtype=np.float64)

    return damped_newton(
        w, lambda v: _penalized_loss(design, y, v, penalty), newton_step, iterations=iterations, rtol=1e-9
    )


def damped_newton(
    w: FloatArray,
    loss: Callable[[FloatArray], float],
    newton_step: Callable[[FloatArray], FloatArray],
    *,
    iterations: int,
    rtol: float,
) -> FloatArray:
    """Minimize a smooth convex `loss` from `w`: Newton steps, each halved until the loss decreases.

    Plain Newton can overshoot from a poor start on nearly separable data; stops when a
    step no longer helps or improves the loss by less than `rtol` of its size.
    """
    current = loss(w)
    for _ in range(iterations):
        step = newton_step(w)
        scale = 1.0
        while scale > 1e-4:
            candidate = w - scale * step
            new = loss(candidate)
            if new <= current:
                break
            scale /= 2
        else:
            break
        w, improvement, current = candidate, current - new, new
        if improvement < rtol * max(1.0, abs(current)):
            break
    return w


def blend(n_decisions: int, settings: CuratorSettings) -> float:
    """How much the learned probability counts, given how many decisions trained it."""
    if n_decisions < settings.ranker_min_decisions:
        return 0.0
    return settings.ranker_max_blend * n_decisions / (n_decisions + settings.ranker_blend_half)


@dataclass
class Ranker:
    """One brand's trained model, ready to score items."""

    brand_key: int
    dims: int
    mean: FloatArray
    std: FloatArray
    weights: FloatArray  # [intercept, coefficients on standardized features...]
    alpha: float
    decisions: int = 0
    positives: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    _projection: FloatArray | None = None

    @property
    def projection(self) -> FloatArray:
        if self._projection is None:
            self._projection = _projection(self.dims)
        return self._projection

    def predict(self, items: Sequence[ItemFeatures]) -> FloatArray:
        if not items:
            return np.zeros(0)
        x = (featurize(items, self.projection) - self.mean) / self.std
        return _sigmoid(self.weights[0] + x @ self.weights[1:])

    def learned_weights(self) -> dict[str, float]:
        """Coefficients on the treasure components (per standard deviation): what the coordinator values."""
        names = feature_names(self.dims)
        return {
            name.split(":", 1)[1]: round(float(w), 4)
            for name, w in zip(names, self.weights[1:], strict=True)
            if name.startswith("component:")
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "dims": self.dims,
            "features": feature_names(self.dims),
            "mean": [round(float(v), 6) for v in self.mean],
            "std": [round(float(v), 6) for v in self.std],
            "weights": [float(v) for v in self.weights],
            "alpha": self.alpha,
        }

    @classmethod
    def from_json(
        cls, brand_key: int, data: dict[str, Any], *, decisions: int = 0, positives: int = 0
    ) -> Ranker | None:
        """A saved model, or None if it was saved by an incompatible version (retrain then)."""
        dims = int(data.get("dims", -1))
        if data.get("version") != 1 or data.get("features") != feature_names(dims):
            return None
        return cls(
            brand_key=brand_key,
            dims=dims,
            mean=np.asarray(data["mean"], dtype=np.float64),
            std=np.asarray(data["std"], dtype=np.float64),
            weights=np.asarray(data["weights"], dtype=np.float64),
            alpha=float(data["alpha"]),
            decisions=decisions,
            positives=positives,
        )

    def final(self, base: float, probability: float) -> float:
        return (1.0 - self.alpha) * base + self.alpha * probability


def _auc(scores: FloatArray, labels: FloatArray) -> float | None:
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return None
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater) / (len(pos) * len(neg))


def _cross_validated_auc(x: FloatArray, y: FloatArray, l2: float, folds: int = 5) -> float | None:
    """Out-of-fold AUC: whether the ranker predicts decisions it has not seen (0.5 = chance)."""
    n = len(y)
    if n < 2 * folds or y.min() == y.max():
        return None
    order = np.random.default_rng(0).permutation(n)
    predictions = np.zeros(n)
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        if y[train].min() == y[train].max():
            return None
        mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 1e-6
        w = fit_logistic((x[train] - mean) / std, y[train], l2=l2)
        predictions[test] = _sigmoid(w[0] + ((x[test] - mean) / std) @ w[1:])
    return _auc(predictions, y)


@dataclass(frozen=True, slots=True)
class TrainReport:
    brand_key: int
    decisions: int
    positives: int
    alpha: float
    trained: bool
    reason: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    learned_weights: dict[str, float] = field(default_factory=dict)


def train_ranker(
    examples: Sequence[tuple[ItemFeatures, int]],
    settings: CuratorSettings,
    *,
    brand_key: int,
    previous: Ranker | None = None,
) -> tuple[Ranker | None, TrainReport]:
    """Fit one brand's ranker on its labelled items (None when there is not enough to learn from)."""
    n = len(examples)
    positives = sum(label for _, label in examples)
    if n < settings.ranker_min_decisions or positives in (0, n):
        reason = (
            f"{n} decisions, {settings.ranker_min_decisions} needed"
            if n < settings.ranker_min_decisions
            else "needs at least one approval and one rejection"
        )
        return None, TrainReport(brand_key, n, positives, 0.0, False, reason)
    dims = settings.ranker_embedding_dims
    projection = _projection(dims)
    x = featurize([item for item, _ in examples], projection)
    y = np.asarray([label for _, label in examples], dtype=np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    start = previous.weights if previous is not None and previous.dims == dims else None
    weights = fit_logistic((x - mean) / std, y, l2=settings.ranker_l2, start=start)
    train_p = _sigmoid(weights[0] + ((x - mean) / std) @ weights[1:])
    metrics: dict[str, Any] = {
        "train_auc": _auc(train_p, y),
        "cv_auc": _cross_validated_auc(x, y, settings.ranker_l2),
        "log_loss": float(-np.mean(y * np.log(train_p + 1e-12) + (1 - y) * np.log(1 - train_p + 1e-12))),
    }
    ranker = Ranker(
        brand_key=brand_key,
        dims=dims,
        mean=mean,
        std=std,
        weights=weights,
        alpha=blend(n, settings),
        decisions=n,
        positives=positives,
        metrics=metrics,
        _projection=projection,
    )
    report = TrainReport(
        brand_key, n, positives, ranker.alpha, True, metrics=metrics, learned_weights=ranker.learned_weights()
    )
    return ranker, report


def load_ranker_models(engine: Engine) -> dict[int, Ranker]:
    """Every saved ranker, by brand key (0: posts of no brand)."""
    with session_scope(engine) as session:
        rows = load_rankers(session)
    out: dict[int, Ranker] = {}
    for key, row in rows.items():
        ranker = Ranker.from_json(key, row.model, decisions=row.decisions, positives=row.positives)
        if ranker is not None:
            ranker.metrics = dict(row.metrics or {})
            out[key] = ranker
    return out


def apply_rankers(
    engine: Engine,
    settings: CuratorSettings,
    *,
    brand_key: int | None = None,
    rankers: dict[int, Ranker] | None = None,
) -> int:
    """Recompute every item's final score from its stored base score and the current rankers.

    Cheap compared with `rank_posts(everything=True)`: no treasure or duplicate work,
    only the ranker's features. Returns how many items were updated.
    """
    rankers = load_ranker_models(engine) if rankers is None else rankers
    updated = 0
    with session_scope(engine) as session:
        for batch in item_features(session, brand_key=brand_key):
            rows: list[tuple[int, float, float | None, str | None]] = []
            by_brand: dict[int, list[ItemFeatures]] = {}
            for item in batch:
                by_brand.setdefault(item.brand_id or 0, []).append(item)
            for key, items in by_brand.items():
                ranker = rankers.get(key)
                if ranker is None or ranker.alpha <= 0:
                    rows.extend((i.post_id, i.base_score, None, i.filtered) for i in items)
                    continue
                probabilities = ranker.predict(items)
                rows.extend(
                    (i.post_id, ranker.final(i.base_score, float(p)), float(p), i.filtered)
                    for i, p in zip(items, probabilities, strict=True)
                )
            updated += set_item_scores(session, rows)
    return updated


def train_rankers(
    engine: Engine,
    settings: CuratorSettings,
    *,
    brand_key: int | None = None,
    rerank: bool = True,
    now: datetime | None = None,
) -> list[TrainReport]:
    """Retrain the ranker of one brand (or of every brand with decisions) and re-score its items."""
    now = now or datetime.now(UTC)
    previous = load_ranker_models(engine)
    with session_scope(engine) as session:
        if brand_key is None:
            keys = [0] + [b.id for b in list_brands(session) if b.id is not None]
        else:
            keys = [brand_key]
        examples = {key: labelled_items(session, brand_key=key) for key in keys}
    reports: list[TrainReport] = []
    trained: dict[int, Ranker] = dict(previous)
    for key in keys:
        if not examples[key] and key not in previous:
            continue
        ranker, report = train_ranker(examples[key], settings, brand_key=key, previous=previous.get(key))
        reports.append(report)
        if ranker is None:
            if trained.pop(key, None) is not None:
                with session_scope(engine) as session:
                    delete_ranker(session, brand_key=key)
            continue
        trained[key] = ranker
        with session_scope(engine) as session:
            save_ranker(
                session,
                brand_key=key,
                model=ranker.to_json(),
                decisions=ranker.decisions,
                positives=ranker.positives,
                metrics=ranker.metrics,
                now=now,
            )
    if rerank:
        for report in reports:
            apply_rankers(engine, settings, brand_key=report.brand_key, rankers=trained)
    return reports
