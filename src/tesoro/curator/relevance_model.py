"""Learning each brand's relevance weights from its coordinator's decisions.

Relevance (`scoring.relevance`) is a logistic blend of six features: the listening
query matches, an explicit mention, similarity to the brand's and products'
descriptions, the product head's confidence, job-ad wording and the spam score.
Its hand-set weights suit most brands, but not all: a brand called "Apple" whose
query also brings in apple-pie recipes needs the similarity and the product match
to count for more, so that the name alone no longer carries a post. The
coordinator's decisions say which posts were about the brand:

- approved or featured: relevant (weight 1),
- rejected with a note or tag saying it is off-topic ("off-topic", "not about us",
  "wrong brand", "fuera de tema", ...): not relevant (weight 1),
- any other rejection: probably not relevant, weakly (weight `REJECTION_WEIGHT`),
  because coordinators also reject relevant posts that are blurry, rude or off-brand.

Per brand, a weighted logistic regression on those examples is fitted by Newton's
method with a Gaussian prior centred on the hand-set weights (maximum a
posteriori, precision `PRIOR_PRECISION` per weight): with no decisions the
weights are exactly the defaults, a few decisions move them a little, hundreds
can move them far. The fit learns the *contrast* between approved and rejected
posts and keeps the overall level: at the midpoint between the two groups the
learned weights give the same relevance as the defaults (see `fit_relevance`), so
a picky coordinator does not make every post less relevant. Nothing is learned
below `MIN_DECISIONS` decisions, or while all of them agree (only approvals, or
only rejections): one class alone says nothing about what separates them.

Learned weights are stored per brand (`curator_relevance`) and the scoring
pipeline scores new posts with them. After training, the relevance of the
brand's unreviewed posts (the queue and the filtered view) is recomputed from
their text and stored embedding, exactly as the scorer would, and the posts
whose relevance moved are ranked again, so the queue shows the change at once.
Decided posts keep the relevance they were decided with. Only posts with a brand
teach a brand; posts of no brand (scored against the best-matching brand) are
refreshed whenever any brand's weights change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.curator.feedback import damped_newton
from tesoro.curator.ranking import rank_posts
from tesoro.scoring.encoders import load_encoder
from tesoro.scoring.pipeline import catalog_profiles
from tesoro.scoring.relevance import (
    DEFAULT_WEIGHTS,
    BrandProfile,
    RelevanceScorer,
    RelevanceWeights,
    TextEncoder,
    relevance_from_features,
    with_learned_weights,
)
from tesoro.settings import CuratorSettings, Settings
from tesoro.store.engine import session_scope
from tesoro.store.rankers import (
    RelevanceExample,
    RelevanceInput,
    delete_relevance_model,
    load_relevance_models,
    mark_items_stale,
    relevance_examples,
    save_relevance_model,
    set_relevance,
    unreviewed_for_relevance,
)
from tesoro.store.tables import CuratorRelevance
from tesoro.text.fold import fold

__all__ = [
    "MIN_DECISIONS",
    "PRIOR_PRECISION",
    "REJECTION_WEIGHT",
    "RelevanceReport",
    "brand_profiles",
    "fit_relevance",
    "is_off_topic",
    "learn_weights",
    "refresh_relevance",
    "relevance_status",
    "train_relevance",
]

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]

MIN_DECISIONS = 10
PRIOR_PRECISION = 4.0
APPROVAL_WEIGHT = 1.0
OFF_TOPIC_WEIGHT = 1.0
REJECTION_WEIGHT = 0.35
# Items whose relevance moved at least this much (or crossed `min_relevance`) are ranked again at once;
# smaller moves reach the treasure score at the daily re-rank.
RERANK_MIN_CHANGE = 0.01
# A scoring pass that began before new weights were saved scores its posts with the old ones; the
# train job rescores the posts scored this long after training.
CATCH_UP = timedelta(minutes=30)
# Part of the fingerprint: bump when the learning itself changes, so every brand is retrained.
REVISION = "1"

_OFF_TOPIC = re.compile(
    r"\boff ?topic\b"
    r"|\bnot (?:about|related to|relevant to) (?:us|the brand|our (?:brand|company|products?))\b"
    r"|\bnot (?:our|the) (?:brand|company|products?)\b"
    r"|\bnot relevant\b|\birrelevant\b|\bunrelated\b|\bhomonym\b"
    r"|\b(?:wrong|another|different|other) (?:brand|company)\b"
    r"|\bfuera de tema\b|\bno relacionad[oa]s?\b|\birrelevante\b|\bno (?:es )?relevante\b"
    r"|\bno (?:es|habla|trata) (?:de |sobre )?(?:nosotros|la marca|nuestra marca|nuestros productos)\b"
    r"|\b(?:otra|distinta) (?:marca|empresa)\b"
)


def is_off_topic(notes: Iterable[str], tags: Iterable[str] = ()) -> bool:
    """Whether a note or tag says the post is not about the brand (English or Spanish)."""
    for text in (*notes, *tags):
        normalized = " ".join(re.sub(r"[-_/]+", " ", fold(text)).split())
        if _OFF_TOPIC.search(normalized):
            return True
    return False


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), dtype=np.float64)


def fit_relevance(
    x: FloatArray,
    y: FloatArray,
    sample_weight: FloatArray,
    *,
    prior: RelevanceWeights = DEFAULT_WEIGHTS,
    precision: float = PRIOR_PRECISION,
    iterations: int = 50,
) -> FloatArray:
    """[bias, weights...]: the MAP logistic regression nearest the prior that explains the labels.

    The model is written around the midpoint m of the two classes (the mean of the
    approved posts' features and the mean of the rejected ones', halfway):
    logit = c + (x - m) . w, with c fixed at the prior's logit at m. Only the weights
    w are fitted, minimizing sum_i s_i * logloss(y_i, logit_i) + precision / 2 * |w - w_prior|^2
    by Newton's method with step halving (strictly convex: one finite answer, even
    for separable decisions). Decisions therefore re-weight the evidence (the
    contrast between what was approved and what was rejected) but never move the
    overall level: how many posts a coordinator approves says how picky they are,
    not how relevant the brand's posts are. A feature that never varies among the
    decided posts (the query match, usually) keeps its prior weight.
    """
    d = x.shape[1]
    centre = np.asarray(prior.coefficients(), dtype=np.float64)
    if centre.shape != (d + 1,):
        raise ValueError(f"{d} features but the prior has {len(centre) - 1} weights")
    positive = y == 1
    midpoint = 0.5 * (
        np.average(x[positive], axis=0, weights=sample_weight[positive])
        + np.average(x[~positive], axis=0, weights=sample_weight[~positive])
    )
    w_prior = centre[1:]
    level = float(centre[0] + midpoint @ w_prior)
    design = x - midpoint

    def loss(w: FloatArray) -> float:
        z = level + design @ w
        data = np.sum(sample_weight * (np.logaddexp(0.0, z) - y * z))
        return float(data + 0.5 * precision * np.sum((w - w_prior) ** 2))

    def newton_step(w: FloatArray) -> FloatArray:
        p = _sigmoid(level + design @ w)
        gradient = design.T @ (sample_weight * (p - y)) + precision * (w - w_prior)
        hessian = (design * (sample_weight * p * (1 - p))[:, None]).T @ design + precision * np.eye(d)
        return np.asarray(np.linalg.solve(hessian, gradient), dtype=np.float64)

    w = damped_newton(w_prior.copy(), loss, newton_step, iterations=iterations, rtol=1e-12)
    return np.concatenate([[level - float(midpoint @ w)], w])


@dataclass(frozen=True, slots=True)
class _Labelled:
    features: tuple[float, ...]
    label: int
    off_topic: bool


def _weighted_log_loss(p: FloatArray, y: FloatArray, w: FloatArray) -> float:
    eps = 1e-12
    return float(-np.sum(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))) / np.sum(w))


def learn_weights(
    examples: Sequence[tuple[Sequence[float], int, bool]],
    *,
    min_decisions: int = MIN_DECISIONS,
    precision: float = PRIOR_PRECISION,
    rejection_weight: float = REJECTION_WEIGHT,
    now: datetime | None = None,
) -> tuple[RelevanceWeights, str, dict[str, Any]]:
    """Weights from (features, 1 relevant / 0 not, rejection marked off-topic) examples.

    Returns (weights, why not learned or "", metrics). The weights are `DEFAULT_WEIGHTS`
    itself below `min_decisions` examples or while every label is the same.
    """
    labelled = [_Labelled(tuple(float(v) for v in f), int(label), bool(off)) for f, label, off in examples]
    n = len(labelled)
    approvals = sum(e.label for e in labelled)
    if n < min_decisions:
        return DEFAULT_WEIGHTS, f"{n} decisions, {min_decisions} needed", {}
    if approvals in (0, n):
        return DEFAULT_WEIGHTS, "needs at least one approval and one rejection", {}
    x = np.asarray([e.features for e in labelled], dtype=np.float64)
    y = np.asarray([e.label for e in labelled], dtype=np.float64)
    w = np.asarray(
        [
            APPROVAL_WEIGHT if e.label else OFF_TOPIC_WEIGHT if e.off_topic else rejection_weight
            for e in labelled
        ],
        dtype=np.float64,
    )
    theta = fit_relevance(x, y, w, precision=precision)
    off_topic = sum(1 for e in labelled if not e.label and e.off_topic)
    weights = RelevanceWeights.from_coefficients(
        [round(float(v), 6) for v in theta],
        decisions=n,
        approvals=approvals,
        rejections=n - approvals,
        off_topic=off_topic,
        trained_at=now,
    )
    before = np.asarray([relevance_from_features(e.features) for e in labelled])
    after = np.asarray([relevance_from_features(e.features, weights) for e in labelled])
    rejected = y == 0
    metrics: dict[str, Any] = {
        "log_loss_default": round(_weighted_log_loss(before, y, w), 4),
        "log_loss_learned": round(_weighted_log_loss(after, y, w), 4),
        "approved_relevance": [
            round(float(before[~rejected].mean()), 4),
            round(float(after[~rejected].mean()), 4),
        ],
        "rejected_relevance": [
            round(float(before[rejected].mean()), 4),
            round(float(after[rejected].mean()), 4),
        ],
    }
    off = np.asarray([e.off_topic and not e.label for e in labelled])
    if off.any():
        metrics["off_topic_relevance"] = [
            round(float(before[off].mean()), 4),
            round(float(after[off].mean()), 4),
        ]
    return weights, "", metrics


@dataclass(frozen=True, slots=True)
class RelevanceReport:
    """What training did for one brand.

    status: "learned" (new weights), "unchanged" (no new decisions since the stored
    weights), "default" (not enough to learn from; `reason` says why) or "reset"
    (learned weights dropped because their decisions were undone or changed).
    """

    brand_id: int
    status: str
    decisions: int
    approvals: int
    off_topic: int
    summary: str
    reason: str = ""
    weights: dict[str, float] = field(default_factory=dict)
    default_weights: dict[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS.to_json())
    metrics: dict[str, Any] = field(default_factory=dict)
    refreshed: int = 0
    reranked: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def brand_profiles(session: Session) -> list[BrandProfile]:
    """Every brand as relevance sees it, with the default weights (as `Scorer.from_store` builds them)."""
    return catalog_profiles(session)[1]


def _embedding(post: RelevanceInput, dim: int) -> npt.NDArray[np.float32] | None:
    if not post.embedding or len(post.embedding) != dim * 4:
        return None
    return np.frombuffer(post.embedding, dtype=np.float32)


def _fingerprint(
    profile: BrandProfile, examples: Sequence[RelevanceExample], params: Mapping[str, Any]
) -> str:
    """Identifies what the weights would be fitted on: the profile, the decisions and their score sets."""
    payload = {
        "revision": REVISION,
        "params": dict(params),
        "profile": asdict(replace(profile, weights=None)),
        "examples": [
            [e.post.post_id, e.post.score_id, e.label, is_off_topic(e.notes, e.tags)] for e in examples
        ],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _load_encoder(settings: Settings) -> TextEncoder:
    conf = settings.models
    return load_encoder(conf.encoder, conf.device, batch_size=conf.batch_size)


def train_relevance(
    engine: Engine,
    settings: Settings,
    *,
    brand_id: int | None = None,
    encoder: TextEncoder | None = None,
    rerank: bool = True,
    now: datetime | None = None,
    min_decisions: int = MIN_DECISIONS,
    precision: float = PRIOR_PRECISION,
    rejection_weight: float = REJECTION_WEIGHT,
) -> list[RelevanceReport]:
    """Relearn the relevance weights of one brand (or every brand) and refresh its unreviewed posts.

    Cheap when nothing changed: the decisions are compared with the fingerprint of
    the stored weights, and the encoder (only needed to embed the brand profiles) is
    loaded only when some brand has something new to learn or to refresh.
    """
    now = now or datetime.now(UTC)
    params = {"min_decisions": min_decisions, "precision": precision, "rejection_weight": rejection_weight}
    with session_scope(engine) as session:
        profiles = with_learned_weights(brand_profiles(session), load_relevance_models(session))
        stored = load_relevance_models(session)
        keys = [p.id for p in profiles] if brand_id is None else [b.id for b in profiles if b.id == brand_id]
        examples = {key: relevance_examples(session, brand_id=key) for key in keys}
    plan = _plan_training(
        {p.id: p for p in profiles}, examples, stored, params=params, min_decisions=min_decisions, now=now
    )
    reports = plan.reports
    if plan.idle:
        return [reports[k] for k in keys]
    scorer = RelevanceScorer(profiles, encoder or _load_encoder(settings))
    changed: dict[int, RelevanceWeights | None] = {}
    for key, fingerprint in plan.to_fit.items():
        report, weights = _fit_brand(
            scorer, key, examples[key], min_decisions, precision, rejection_weight, now
        )
        reports[key] = report
        with session_scope(engine) as session:
            if weights.learned:
                save_relevance_model(
                    session,
                    brand_id=key,
                    weights=weights.to_json(),
                    decisions=weights.decisions,
                    approvals=weights.approvals,
                    rejections=weights.rejections,
                    off_topic=weights.off_topic,
                    fingerprint=fingerprint,
                    metrics=report.metrics,
                    now=now,
                )
            elif key in stored:
                delete_relevance_model(session, brand_id=key)
        if weights.learned or key in stored:
            changed[key] = weights if weights.learned else None
    for key in plan.to_reset:
        with session_scope(engine) as session:
            delete_relevance_model(session, brand_id=key)
        changed[key] = None
    scorer = scorer.with_weights(changed)
    if changed:
        # Posts of no brand are scored against every brand (the best match): they move too.
        counts = refresh_relevance(
            engine,
            settings.curator,
            scorer,
            brand_keys=[*changed, 0],
            rerank=rerank,
            advocate_ror=settings.relationship.advocate_min_ror,
        )
        for key in changed:
            reports[key] = replace(reports[key], refreshed=counts[key][0], reranked=counts[key][1])
    for key in plan.catch_up:
        stored_at = stored[key].trained_at
        assert stored_at is not None
        counts = refresh_relevance(
            engine,
            settings.curator,
            scorer,
            brand_keys=[key],
            scored_since=stored_at,
            rerank=rerank,
            advocate_ror=settings.relationship.advocate_min_ror,
        )
        reports[key] = replace(reports[key], refreshed=counts[key][0], reranked=counts[key][1])
    return [reports[k] for k in keys]


@dataclass(slots=True)
class _TrainingPlan:
    """What each brand needs this run: a fit, a reset to the defaults, a catch-up, or nothing (reported)."""

    reports: dict[int, RelevanceReport] = field(default_factory=dict)
    to_fit: dict[int, str] = field(default_factory=dict)  # brand id -> fingerprint of its decisions
    to_reset: list[int] = field(default_factory=list)
    # Unchanged weights trained a short while ago: posts scored meanwhile with the old ones need them.
    catch_up: list[int] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return not (self.to_fit or self.to_reset or self.catch_up)


def _plan_training(
    profiles: Mapping[int, BrandProfile],
    examples: Mapping[int, Sequence[RelevanceExample]],
    stored: Mapping[int, CuratorRelevance],
    *,
    params: Mapping[str, Any],
    min_decisions: int,
    now: datetime,
) -> _TrainingPlan:
    """Sort the brands by what their decisions ask for, without an encoder (so an idle run stays cheap)."""
    plan = _TrainingPlan()
    for key, found in examples.items():
        fingerprint = _fingerprint(profiles[key], found, params)
        row = stored.get(key)
        current = profiles[key].weights or DEFAULT_WEIGHTS
        if row is not None and row.fingerprint == fingerprint and current.learned:
            plan.reports[key] = _report(key, "unchanged", current, metrics=dict(row.metrics or {}))
            if row.trained_at is not None and now - row.trained_at < CATCH_UP:
                plan.catch_up.append(key)
            continue
        n, approvals = len(found), sum(e.label for e in found)
        if n >= min_decisions and 0 < approvals < n:
            plan.to_fit[key] = fingerprint
            continue
        reason = (
            f"{n} decisions, {min_decisions} needed"
            if n < min_decisions
            else "needs at least one approval and one rejection"
        )
        if row is not None:
            plan.to_reset.append(key)
        plan.reports[key] = _report(
            key,
            "reset" if row is not None else "default",
            DEFAULT_WEIGHTS,
            decisions=n,
            approvals=approvals,
            reason=reason,
        )
    return plan


def _report(
    key: int,
    status: str,
    weights: RelevanceWeights,
    *,
    decisions: int | None = None,
    approvals: int | None = None,
    reason: str = "",
    metrics: dict[str, Any] | None = None,
) -> RelevanceReport:
    return RelevanceReport(
        brand_id=key,
        status=status,
        decisions=weights.decisions if decisions is None else decisions,
        approvals=weights.approvals if approvals is None else approvals,
        off_topic=weights.off_topic,
        summary=weights.describe(),
        reason=reason,
        weights=weights.to_json(),
        metrics=metrics or {},
    )


def _fit_brand(
    scorer: RelevanceScorer,
    key: int,
    examples: Sequence[RelevanceExample],
    min_decisions: int,
    precision: float,
    rejection_weight: float,
    now: datetime,
) -> tuple[RelevanceReport, RelevanceWeights]:
    dim = scorer.dim(key)
    rows: list[tuple[Sequence[float], int, bool]] = []
    for example in examples:
        post = example.post
        embedding = _embedding(post, dim)
        if embedding is None:
            continue  # scored without an embedding, or by another encoder: nothing to compare
        features = scorer.features(
            post.scored_text,
            embedding,
            brand_id=key,
            lang=post.language,
            spam=post.spam or 0.0,
            product_confidence=post.product_confidence or 0.0,
        )
        rows.append(
            (features, example.label, example.label == 0 and is_off_topic(example.notes, example.tags))
        )
    weights, reason, metrics = learn_weights(
        rows, min_decisions=min_decisions, precision=precision, rejection_weight=rejection_weight, now=now
    )
    if reason:
        report = _report(
            key, "default", weights, decisions=len(rows), approvals=sum(r[1] for r in rows), reason=reason
        )
    else:
        report = _report(key, "learned", weights, metrics=metrics)
    return report, weights


def refresh_relevance(
    engine: Engine,
    settings: CuratorSettings,
    scorer: RelevanceScorer,
    *,
    brand_keys: Sequence[int],
    scored_since: datetime | None = None,
    rerank: bool = True,
    batch_size: int = 2000,
    advocate_ror: float | None = None,
) -> dict[int, tuple[int, int]]:
    """Recompute the relevance of unreviewed posts with `scorer`'s weights; re-rank those that moved.

    `brand_keys`: brand ids, 0 for posts of no brand. The relevance is computed exactly as
    the scoring pipeline does, from the post's text and its latest score set (embedding,
    language, spam, product confidence), and written into that score set. Returns, per
    key, (score sets rewritten, items marked for re-ranking).
    """
    counts: dict[int, tuple[int, int]] = {key: (0, 0) for key in brand_keys}
    if not scorer.brands:
        return counts
    dim = scorer.dim(next(iter(scorer.brands)))  # one encoder embedded every profile
    stale_any = False
    for key in dict.fromkeys(brand_keys):
        rewritten = stale_total = 0
        after = 0
        while True:
            with session_scope(engine) as session:
                last, page = unreviewed_for_relevance(
                    session, brand_key=key, after_id=after, limit=batch_size, scored_since=scored_since
                )
                if last is None:
                    break
                rows: list[tuple[int, float]] = []
                stale: list[int] = []
                for post in page:
                    new = _relevance(scorer, post, dim)
                    if new is None or new == post.relevance:
                        continue
                    rows.append((post.score_id, new))
                    old = post.relevance
                    if (
                        old is None
                        or abs(new - old) >= RERANK_MIN_CHANGE
                        or (old < settings.min_relevance) != (new < settings.min_relevance)
                    ):
                        stale.append(post.post_id)
                set_relevance(session, rows)
                mark_items_stale(session, post_ids=stale)
            rewritten += len(rows)
            stale_total += len(stale)
            after = last
        counts[key] = (rewritten, stale_total)
        stale_any = stale_any or stale_total > 0
    if rerank and stale_any:
        rank_posts(engine, settings, advocate_ror=advocate_ror)
    return counts


def _relevance(scorer: RelevanceScorer, post: RelevanceInput, dim: int) -> float | None:
    embedding = _embedding(post, dim)
    if embedding is None:
        return None
    return scorer.score(
        post.scored_text,
        embedding,
        brand_id=post.brand_id,
        lang=post.language,
        spam=post.spam or 0.0,
        # The pipeline stores no confidence when it matched no product, and then passed 0.
        product_confidence=post.product_confidence or 0.0,
    )


def relevance_status(engine: Engine) -> list[dict[str, Any]]:
    """Each brand's relevance weights as the scorer uses them: learned or default, and from what."""
    with session_scope(engine) as session:
        profiles = with_learned_weights(brand_profiles(session), load_relevance_models(session))
        stored = load_relevance_models(session)
    out: list[dict[str, Any]] = []
    for profile in profiles:
        weights = profile.weights or DEFAULT_WEIGHTS
        row = stored.get(profile.id)
        out.append(
            {
                "brand_id": profile.id,
                "brand": profile.name,
                "weights": "learned" if weights.learned else "default",
                "summary": weights.describe(),
                "decisions": weights.decisions,
                "approvals": weights.approvals,
                "rejections": weights.rejections,
                "off_topic": weights.off_topic,
                "trained_at": weights.trained_at.isoformat() if weights.trained_at else None,
                "learned_weights": weights.to_json(),
                "default_weights": DEFAULT_WEIGHTS.to_json(),
                "metrics": dict(row.metrics or {}) if row is not None else {},
            }
        )
    return out
