"""The learned rankers: their state, what retraining did, and what a ranking pass did."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Schema

__all__ = [
    "RankReportPublic",
    "RankerList",
    "RankerPublic",
    "TrainList",
    "TrainReportPublic",
]


# --- rankers ---------------------------------------------------------------------------------------


class RankerPublic(Schema):
    """A brand's learned ranker: how much it learned and how much of the score it decides."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand_id": 1,
                    "brand": "Andes Outdoor",
                    "decisions": 240,
                    "approvals": 90,
                    "blend": 0.6,
                    "metrics": {"auc": 0.81},
                    "learned_weights": {"relevance": 1.4},
                }
            ]
        }
    )

    brand_id: int | None = Field(description="null for the ranker shared by every brand")
    brand: str | None
    decisions: int = Field(description="decisions it was trained on")
    approvals: int
    blend: float = Field(description="its share of the treasure score, 0..1 (grows with decisions)")
    metrics: dict[str, Any] = Field(description="held-out quality: AUC, precision at k...")
    learned_weights: dict[str, Any] = Field(description="what it learned, per feature")


class RankerList(Schema):
    """Every brand's learned ranker."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "brand_id": 1,
                            "brand": "Andes Outdoor",
                            "decisions": 240,
                            "approvals": 90,
                            "blend": 0.6,
                            "metrics": {"auc": 0.81},
                            "learned_weights": {"relevance": 1.4},
                        }
                    ]
                }
            ]
        }
    )

    items: list[RankerPublic]


class TrainReportPublic(Schema):
    """What retraining one brand's ranker did (or why it did not train)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand_id": 1,
                    "trained": True,
                    "reason": None,
                    "decisions": 240,
                    "approvals": 90,
                    "blend": 0.6,
                    "metrics": {"auc": 0.81},
                    "learned_weights": {"relevance": 1.4},
                }
            ]
        }
    )

    brand_id: int | None = Field(description="null for the ranker shared by every brand")
    trained: bool
    reason: str | None = Field(description="why it did not train (e.g. too few decisions)")
    decisions: int = Field(description="decisions it was trained on")
    approvals: int
    blend: float = Field(description="its share of the treasure score, 0..1 (grows with decisions)")
    metrics: dict[str, Any] = Field(description="held-out quality: AUC, precision at k...")
    learned_weights: dict[str, Any]


class TrainList(Schema):
    """What retraining did, per brand."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "brand_id": 1,
                            "trained": False,
                            "reason": "1 decisions, 20 needed",
                            "decisions": 1,
                            "approvals": 1,
                            "blend": 0.0,
                            "metrics": {},
                            "learned_weights": {},
                        }
                    ]
                }
            ]
        }
    )

    items: list[TrainReportPublic]


class RankReportPublic(Schema):
    """What one ranking pass did."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ranked": 120, "filtered": 4, "copies": 7, "seconds": 0.31}]}
    )

    ranked: int
    filtered: int = Field(description="kept out of the queue: unsafe, spam, off-topic")
    copies: int = Field(description="duplicates grouped under an original")
    seconds: float
