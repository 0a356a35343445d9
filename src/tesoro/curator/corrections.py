"""Learning from corrections: a coordinator corrects a post's sentiment, product or content type.

`correct` stores the label (`store.corrections`), writes it through to the post's
score sets and ranked item (the corrected value wins at once, and on every later
re-scoring), and records an audit entry with the value before and after.

`train_corrections` relearns, per brand, the calibration of each head
(`scoring.corrections`) from the brand's labels:

- every correction is a label of weight 1;
- every post the coordinator decided (approved, rejected, featured) without
  correcting a field is a label for the value it had, of weight
  `CONFIRMATION_WEIGHT`: the card showed the value and the coordinator let it
  stand. Without these, corrections alone (made mostly where the model was
  wrong) would teach that the model is always wrong.

The heads' outputs for the labelled posts are computed again by the scorer without
any calibration, so the calibration always adapts the heads that ship now (a new
head or encoder is simply relearned: the fingerprint includes the model version).
After a brand's calibration changes, its newest unreviewed posts are scored again
with it (at most `REFRESH_LIMIT`) and ranked again, so the queue shows the effect.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.curator.ranking import rank_posts
from tesoro.models import CONTENT_TYPES
from tesoro.scoring.corrections import (
    CALIBRATED_TYPES,
    NONE,
    YES_NO,
    Calibration,
    apply_overrides,
    learn_calibration,
    product_inputs,
    sentiment_inputs,
    type_inputs,
)
from tesoro.scoring.pipeline import (
    Scorer,
    ScoringModels,
    active_model_version,
    catalog_profiles,
    load_models,
)
from tesoro.scoring.sentiment import SENTIMENT_LABELS
from tesoro.settings import Settings
from tesoro.store.audit import record_audit
from tesoro.store.catalog import list_brands
from tesoro.store.corrections import (
    FIELDS,
    correction_counts,
    correction_target,
    corrections_for,
    delete_correction_model,
    labelled_posts,
    load_correction_models,
    reviewed_posts,
    save_correction,
    save_correction_model,
    unreviewed_posts,
)
from tesoro.store.engine import session_scope
from tesoro.store.rankers import mark_items_stale
from tesoro.store.scores import duplicate_accounts, posts_by_id, save_scores
from tesoro.store.tables import PostCorrection

__all__ = [
    "CONFIRMATION_WEIGHT",
    "FIELDS",
    "BrandLabels",
    "CorrectionError",
    "CorrectionReport",
    "correct",
    "correction_status",
    "fit_brand",
    "normalise_value",
    "train_corrections",
]

log = logging.getLogger(__name__)

CONFIRMATION_WEIGHT = 0.5
# At most this many decided-but-uncorrected posts per brand count as confirmations (the newest).
MAX_CONFIRMATIONS = 2000
# After a calibration changes, at most this many of the brand's newest unreviewed posts are rescored.
REFRESH_LIMIT = 5000
# Part of the fingerprint: bump when the learning itself changes, so every brand is retrained.
REVISION = "1"
_BATCH = 256


class CorrectionError(ValueError):
    """A correction that cannot be applied; `problem` is the API's problem code."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def normalise_value(field_name: str, value: Any, products: frozenset[int] | None = None) -> Any:
    """The value as stored: a sentiment label, a product id or None, or known types in order.

    Raises `CorrectionError("bad_request", ...)` for a value the field cannot take.
    """
    if field_name == "sentiment":
        if value not in SENTIMENT_LABELS:
            raise CorrectionError("bad_request", f"sentiment must be one of {', '.join(SENTIMENT_LABELS)}")
        return value
    if field_name == "product":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise CorrectionError("bad_request", "product must be a product id or null (no product)")
        if products is not None and value not in products:
            raise CorrectionError("bad_request", f"product {value} is not a product of the post's brand")
        return value
    if field_name == "content_type":
        if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
            raise CorrectionError("bad_request", "content_type must be a non-empty list of content types")
        unknown = sorted(set(value) - set(CONTENT_TYPES))
        if unknown:
            raise CorrectionError("bad_request", f"unknown content types: {', '.join(unknown)}")
        kept = [t for t in CONTENT_TYPES if t in value and t != "other"]
        return kept or ["other"]
    raise CorrectionError("bad_request", f"unknown field {field_name!r}: one of {', '.join(FIELDS)}")


def correct(
    session: Session,
    *,
    post_id: int,
    field_name: str,
    value: Any,
    actor: str,
    now: datetime | None = None,
) -> tuple[PostCorrection, Any]:
    """Store one correction in the caller's transaction and audit it; returns (row, value before).

    Raises `CorrectionError` ("not_found" for no such post, "bad_request" for a bad value).
    """
    target = correction_target(session, post_id=post_id)
    if target is None:
        raise CorrectionError("not_found", f"no post {post_id}")
    stored = normalise_value(field_name, value, target.products)
    row, before = save_correction(
        session, target=target, field=field_name, value=stored, actor=actor, now=now
    )
    record_audit(
        session,
        actor=actor,
        action=f"correct_{field_name}",
        entity="post",
        entity_id=str(post_id),
        before={field_name: before},
        after={field_name: stored},
        at=now,
    )
    return row, before


# ---- learning ----


@dataclass(slots=True)
class CorrectionReport:
    """What training did for one brand: per head, the labels, the kind learned and the accuracy."""

    brand_id: int
    trained: bool = False
    reason: str = ""
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)
    refreshed: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "brand_id": self.brand_id,
            "trained": self.trained,
            "reason": self.reason,
            "heads": self.heads,
            "refreshed": self.refreshed,
        }


@dataclass(frozen=True, slots=True)
class BrandLabels:
    """One field's labels for a brand: (post, corrected value) pairs and posts whose value stood."""

    corrected: list[tuple[int, Any]]
    confirmed: list[int]


def _labels(session: Session, brand_id: int) -> dict[str, BrandLabels]:
    reviewed = reviewed_posts(session, brand_id=brand_id, limit=MAX_CONFIRMATIONS)
    found: dict[str, BrandLabels] = {}
    for name in FIELDS:
        corrected = labelled_posts(session, brand_id=brand_id, field=name)
        done = {p for p, _ in corrected}
        found[name] = BrandLabels(corrected, [p for p in reviewed if p not in done])
    return found


def _fingerprint(labels: Mapping[str, BrandLabels], products: Sequence[int], version: str) -> str:
    payload = {
        "labels": {k: [v.corrected, sorted(v.confirmed)] for k, v in labels.items()},
        "products": sorted(products),
        "version": version,
        "revision": REVISION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:64]


def _raw_rows(scorer: Scorer, engine: Engine, post_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The heads' uncalibrated outputs for these posts (the scorer has no calibrations)."""
    rows: dict[int, dict[str, Any]] = {}
    ids = sorted(set(post_ids))
    for start in range(0, len(ids), _BATCH):
        with session_scope(engine) as session:
            batch = posts_by_id(session, post_ids=ids[start : start + _BATCH])
        for row in scorer.score_batch(batch):
            rows[int(row["post_id"])] = row
    return rows


def _embeddings(rows: Sequence[Mapping[str, Any]]) -> np.ndarray[Any, np.dtype[np.float64]] | None:
    if not rows or any(not r.get("embedding") for r in rows):
        return None
    vectors = [np.frombuffer(r["embedding"], dtype=np.float32) for r in rows]
    if len({v.shape for v in vectors}) != 1:
        return None
    return np.stack(vectors).astype(np.float64)


def _examples(
    labels: BrandLabels, raw: Mapping[int, dict[str, Any]], value_of: Any
) -> tuple[list[dict[str, Any]], list[Any], list[float]]:
    """(raw rows, label values, weights): corrections at weight 1, confirmations at `CONFIRMATION_WEIGHT`."""
    rows: list[dict[str, Any]] = []
    values: list[Any] = []
    weights: list[float] = []
    for post_id, value in labels.corrected:
        if post_id in raw:
            rows.append(raw[post_id])
            values.append(value)
            weights.append(1.0)
    for post_id in labels.confirmed:
        if post_id in raw:
            rows.append(raw[post_id])
            values.append(value_of(raw[post_id]))
            weights.append(CONFIRMATION_WEIGHT)
    return rows, values, weights


def fit_brand(
    labels: Mapping[str, BrandLabels],
    raw: Mapping[int, dict[str, Any]],
    product_ids: Sequence[int],
) -> tuple[dict[str, Calibration | None], dict[str, dict[str, Any]]]:
    """Per head ("sentiment", "product", "type:<t>"), the learned calibration (or None) and its metrics."""
    learned: dict[str, Calibration | None] = {}
    metrics: dict[str, dict[str, Any]] = {}

    rows, values, weights = _examples(labels["sentiment"], raw, lambda r: r.get("sentiment"))
    if rows:
        learned["sentiment"], metrics["sentiment"] = learn_calibration(
            SENTIMENT_LABELS,
            sentiment_inputs([r.get("sentiment_probs") for r in rows]),
            _embeddings(rows),
            [str(v) for v in values],
            weights,
        )

    classes = (NONE, *(str(p) for p in sorted(product_ids)))
    rows, values, weights = _examples(labels["product"], raw, lambda r: r.get("product_id"))
    if rows and product_ids:
        log_p, _ = product_inputs([(r.get("product_id"), r.get("product_confidence")) for r in rows], classes)
        learned["product"], metrics["product"] = learn_calibration(
            classes,
            log_p,
            _embeddings(rows),
            [NONE if v is None else str(v) for v in values],
            weights,
        )

    rows, values, weights = _examples(labels["content_type"], raw, lambda r: r.get("content_types"))
    if rows:
        types = [list(r.get("content_types") or []) for r in rows]
        emb = _embeddings(rows)
        for content_type in CALIBRATED_TYPES:
            answers = [YES_NO[int(content_type in (v or []))] for v in values]
            learned[f"type:{content_type}"], metrics[f"type:{content_type}"] = learn_calibration(
                YES_NO, type_inputs(types, content_type), emb, answers, weights
            )
    return learned, metrics


def train_corrections(
    engine: Engine,
    settings: Settings,
    *,
    brand_id: int | None = None,
    models: ScoringModels | None = None,
    refresh: bool = True,
    force: bool = False,
    now: datetime | None = None,
) -> list[CorrectionReport]:
    """Relearn the calibrations of one brand (or every brand) from its corrections; cheap when none changed.

    The scoring models are loaded only when some brand has new labels (or `models` is given).
    """
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        brands = [b for b in list_brands(session) if b.id is not None and brand_id in (None, b.id)]
        stored = load_correction_models(session)
        labels = {b.id or 0: _labels(session, b.id or 0) for b in brands}
    reports: dict[int, CorrectionReport] = {b.id or 0: CorrectionReport(b.id or 0) for b in brands}
    # The profile's own version: calibrations learned for other heads are relearned after a switch.
    version = models.version if models is not None else active_model_version(settings)
    with session_scope(engine) as session:
        products, _ = catalog_profiles(session)
    changed: list[int] = []
    to_fit: dict[int, str] = {}
    for key, lab in labels.items():
        mine = {head: row for (b, head), row in stored.items() if b == key}
        if not any(v.corrected for v in lab.values()):
            if mine:
                with session_scope(engine) as session:
                    for head in mine:
                        delete_correction_model(session, brand_id=key, head=head)
                reports[key].reason = "corrections withdrawn: calibrations removed"
                changed.append(key)
            else:
                reports[key].reason = "no corrections yet"
            continue
        fingerprint = _fingerprint(lab, [p.id for p in products if p.brand_id == key], version)
        if not force and mine and all(row.fingerprint == fingerprint for row in mine.values()):
            reports[key].reason = "no new corrections"
            reports[key].heads = {head: row.metrics for head, row in mine.items()}
            continue
        to_fit[key] = fingerprint
    if not to_fit and not changed:
        return list(reports.values())
    loaded = models or load_models(settings)
    with session_scope(engine) as session:
        plain = Scorer.from_store(session, loaded)
    plain.calibrations = {}  # the heads as they are: what the calibration learns to adapt
    for key, fingerprint in to_fit.items():
        lab = labels[key]
        product_ids = [p.id for p in products if p.brand_id == key]
        mine = {head: row for (b, head), row in stored.items() if b == key}
        needed = [p for v in lab.values() for p, _ in v.corrected]
        needed += [p for v in lab.values() for p in v.confirmed]
        raw = _raw_rows(plain, engine, needed)
        learned, metrics = fit_brand(lab, raw, product_ids)
        if not learned:
            # No head had labels it could use (a product correction for a brand with no products):
            # remembered all the same, so that the job does not load the models again for it.
            learned, metrics = {"none": None}, {"none": {"labels": 0, "kind": "identity"}}
        with session_scope(engine) as session:
            for head, cal in learned.items():
                # A head that learned nothing is stored as "identity" too: its fingerprint says what
                # was tried, so the job does not load the models to try it again.
                save_correction_model(
                    session,
                    brand_id=key,
                    head=head,
                    model={"kind": "identity"} if cal is None else cal.to_json(),
                    labels=int(metrics[head]["labels"]),
                    fingerprint=fingerprint,
                    metrics=metrics[head],
                    now=now,
                )
            for head in set(mine) - set(learned):
                delete_correction_model(session, brand_id=key, head=head)
        reports[key].trained = any(cal is not None for cal in learned.values())
        reports[key].heads = metrics
        if not reports[key].trained:
            reports[key].reason = "no calibration beat the heads on held-out labels"
        changed.append(key)
    if refresh and changed:
        with session_scope(engine) as session:
            scorer = Scorer.from_store(session, loaded)
        for key in changed:
            reports[key].refreshed = _refresh(engine, scorer, key)
        rank_posts(engine, settings.curator, advocate_ror=settings.relationship.advocate_min_ror)
    return list(reports.values())


def _refresh(engine: Engine, scorer: Scorer, brand_id: int) -> int:
    """Score the brand's newest unreviewed posts again with its calibration; returns how many."""
    with session_scope(engine) as session:
        ids = sorted(unreviewed_posts(session, brand_id=brand_id, limit=REFRESH_LIMIT))
    done = 0
    for start in range(0, len(ids), _BATCH):
        with session_scope(engine) as session:
            batch = posts_by_id(session, post_ids=ids[start : start + _BATCH])
            dups = duplicate_accounts(
                session, content_hashes=[p.content_hash for p in batch if p.content_hash]
            )
            rows = scorer.score_batch(batch, dups)
            # The labels win here too.
            apply_overrides(rows, corrections_for(session, post_ids=[p.id for p in batch]))
            save_scores(session, rows)
            mark_items_stale(session, post_ids=[p.id for p in batch])
        done += len(batch)
    return done


# ---- status ----


def correction_status(engine: Engine) -> list[dict[str, Any]]:
    """Per brand: how many corrections per field, how often the scorer had been right, and per head
    the stored calibration's kind, labels and cross-validated accuracy before and after."""
    with session_scope(engine) as session:
        brands = {b.id: b.name for b in list_brands(session) if b.id is not None}
        counts = correction_counts(session)
        stored = load_correction_models(session)
    result: list[dict[str, Any]] = []
    for brand_id, name in sorted(brands.items()):
        fields = {
            f: {"corrections": counts[(brand_id, f)][0], "model_agreed": counts[(brand_id, f)][1]}
            for f in FIELDS
            if (brand_id, f) in counts
        }
        heads = {
            head: {
                "kind": row.model.get("kind"),
                "labels": row.labels,
                "accuracy_before": row.metrics.get("accuracy_before"),
                "accuracy_after": row.metrics.get("accuracy_after"),
                "trained_at": row.trained_at,
            }
            for (b, head), row in sorted(stored.items())
            if b == brand_id and head != "none"
        }
        result.append({"brand_id": brand_id, "brand": name, "fields": fields, "heads": heads})
    return result
