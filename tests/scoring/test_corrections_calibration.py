"""The per-brand calibration learned from corrections: it moves held-out predictions toward the
coordinator's view, never below the head as it is, and a bad or foreign model is skipped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tesoro.scoring.corrections import (
    NONE,
    YES_NO,
    BrandCalibration,
    Calibration,
    apply_overrides,
    calibrate_rows,
    learn_calibration,
    product_inputs,
    sentiment_inputs,
    type_inputs,
)
from tesoro.scoring.sentiment import SENTIMENT_LABELS

DIM = 16


def _world(n: int, seed: int) -> tuple[np.ndarray[Any, Any], list[dict[str, float]], list[str]]:
    """A head that reads everything as mildly positive; a coordinator for whom posts along one direction
    of the embedding are negative, along another positive, and the rest neutral."""
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, DIM)).astype(np.float32)
    views = ["negative" if e[0] > 0.6 else "positive" if e[1] > 0.6 else "neutral" for e in emb]
    probs = [{"negative": 0.25, "neutral": 0.3, "positive": 0.45} for _ in range(n)]
    return emb, probs, views


def _accuracy(cal: Calibration | None, emb: Any, probs: list[dict[str, float]], views: list[str]) -> float:
    log_p = sentiment_inputs(probs)
    p = np.exp(log_p) if cal is None else cal.proba(log_p, emb.astype(np.float64))
    return float(
        np.mean([SENTIMENT_LABELS[int(i)] == v for i, v in zip(p.argmax(axis=1), views, strict=True)])
    )


def test_the_adapter_moves_new_posts_toward_the_coordinators_view() -> None:
    emb, probs, views = _world(200, seed=1)
    cal, metrics = learn_calibration(SENTIMENT_LABELS, sentiment_inputs(probs), emb, views)
    assert cal is not None and cal.kind == "adapter", metrics
    assert metrics["accuracy_after"] > metrics["accuracy_before"] + 0.2
    # On posts it never saw.
    new_emb, new_probs, new_views = _world(400, seed=2)
    before = _accuracy(None, new_emb, new_probs, new_views)
    after = _accuracy(cal, new_emb, new_probs, new_views)
    assert before < 0.25 and after > before + 0.4


def test_few_labels_shift_the_prior_only_and_no_labels_change_nothing() -> None:
    emb, probs, _ = _world(20, seed=3)
    views = ["neutral"] * 16 + ["positive"] * 4  # this brand's posts are mostly neutral to its coordinator
    cal, metrics = learn_calibration(SENTIMENT_LABELS, sentiment_inputs(probs), emb, views)
    assert cal is not None and cal.kind == "prior" and cal.weights is None, metrics
    p = cal.proba(sentiment_inputs(probs[:1]), None)[0]
    assert SENTIMENT_LABELS[int(p.argmax())] == "neutral"

    none, why = learn_calibration(SENTIMENT_LABELS, sentiment_inputs(probs[:5]), emb[:5], views[:5])
    assert none is None and why["reason"] == "5 labels, 10 needed"
    same, why = learn_calibration(SENTIMENT_LABELS, sentiment_inputs(probs), emb, ["neutral"] * 20)
    assert same is None and why["reason"] == "every label is the same class"


def test_a_coordinator_who_agrees_with_the_head_gets_no_calibration() -> None:
    emb, _, views = _world(60, seed=4)
    probs = [{label: (0.8 if label == v else 0.1) for label in SENTIMENT_LABELS} for v in views]
    cal, metrics = learn_calibration(SENTIMENT_LABELS, sentiment_inputs(probs), emb, views)
    assert cal is None and metrics["kind"] == "identity"
    assert metrics["accuracy_before"] == 1.0


def test_json_round_trip_and_refusals() -> None:
    emb, probs, views = _world(120, seed=5)
    cal, _ = learn_calibration(SENTIMENT_LABELS, sentiment_inputs(probs), emb, views)
    assert cal is not None
    again = Calibration.from_json(cal.to_json())
    log_p = sentiment_inputs(probs)
    assert np.allclose(
        again.proba(log_p, emb.astype(np.float64)), cal.proba(log_p, emb.astype(np.float64)), atol=1e-4
    )
    bad = cal.to_json()
    for broken in (
        {**bad, "bias": [0.0]},
        {**bad, "classes": ["negative"], "bias": [0.0]},
        {**bad, "weights": [[0.0] * DIM] * 2},
        {**bad, "std": [0.0] * DIM},
        {**bad, "mean": [0.0] * (DIM + 1)},
    ):
        with pytest.raises(ValueError):
            Calibration.from_json(broken)


def _row(post_id: int, emb: Any, **values: Any) -> dict[str, Any]:
    return {
        "post_id": post_id,
        "sentiment": "positive",
        "sentiment_probs": {"negative": 0.25, "neutral": 0.3, "positive": 0.45},
        "product_id": None,
        "product_confidence": None,
        "content_types": ["other"],
        "embedding": np.asarray(emb, dtype=np.float32).tobytes(),
        **values,
    }


def test_rows_are_calibrated_per_brand_and_the_label_wins() -> None:
    emb, probs, views = _world(200, seed=6)
    cal, _ = learn_calibration(SENTIMENT_LABELS, sentiment_inputs(probs), emb, views)
    assert cal is not None
    negative = np.zeros(DIM)
    negative[0] = 3.0
    rows = [_row(1, negative), _row(2, negative), _row(3, negative), _row(4, np.zeros(DIM + 4))]
    calibrate_rows(rows, [7, 8, 7, 7], {7: BrandCalibration(sentiment=cal)})
    assert rows[0]["sentiment"] == "negative"  # brand 7, calibrated
    assert sum(rows[0]["sentiment_probs"].values()) == pytest.approx(1.0, abs=1e-3)
    assert rows[1]["sentiment"] == "positive"  # brand 8 has no calibration
    # Another encoder's embedding (another size): the adapter cannot read it, the head's value stands.
    calibrate_rows([rows[3]], [7], {7: BrandCalibration(sentiment=cal)})
    assert rows[3]["sentiment"] == "positive"
    apply_overrides(rows, {3: {"sentiment": "neutral", "product": None, "content_type": ["other", "meme"]}})
    assert rows[2]["sentiment"] == "neutral" and rows[2]["content_types"] == ["meme"]
    assert rows[0]["sentiment"] == "negative"


def test_product_and_content_type_inputs() -> None:
    classes = (NONE, "1", "2")
    log_p, ok = product_inputs([(1, 0.9), (None, None), (5, 0.8)], classes)
    p = np.exp(log_p)
    assert p[0].argmax() == 1 and p[1].argmax() == 0
    assert ok.tolist() == [True, True, False]  # product 5 came after training: left as matched
    yes = np.exp(type_inputs([["complaint"], ["review"]], "complaint"))[:, 1]
    assert yes[0] > 0.5 > yes[1]

    # A brand whose coordinator calls "no product" what the matcher reads as product 1.
    rng = np.random.default_rng(7)
    emb = rng.normal(size=(40, DIM))
    labels = [NONE if e[0] > 0 else "1" for e in emb]
    log_p, _ = product_inputs([(1, 0.7)] * 40, classes)
    cal, metrics = learn_calibration(classes, log_p, emb, labels)
    assert cal is not None and metrics["accuracy_after"] > metrics["accuracy_before"]
    rows = [
        _row(1, np.r_[3.0, np.zeros(DIM - 1)], product_id=1, product_confidence=0.7),
        _row(2, np.r_[-3.0, np.zeros(DIM - 1)], product_id=1, product_confidence=0.7),
        _row(3, np.r_[3.0, np.zeros(DIM - 1)], product_id=9, product_confidence=0.7),
    ]
    calibrate_rows(rows, [1, 1, 1], {1: BrandCalibration(product=cal)})
    assert [r["product_id"] for r in rows] == [None, 1, 9]
    assert rows[0]["product_confidence"] is None

    # Complaints this coordinator sees where the rules saw none.
    answers = [YES_NO[int(e[1] > 0)] for e in emb]
    cal, _ = learn_calibration(YES_NO, type_inputs([["other"]] * 40, "complaint"), emb, answers)
    assert cal is not None
    rows = [_row(1, np.r_[0.0, 3.0, np.zeros(DIM - 2)]), _row(2, np.r_[0.0, -3.0, np.zeros(DIM - 2)])]
    calibrate_rows(rows, [1, 1], {1: BrandCalibration(content_types={"complaint": cal})})
    assert [r["content_types"] for r in rows] == [["complaint"], ["other"]]
