"""Corrections: a coordinator's labels for a post's sentiment, product or content type, and what they taught.

A correction is stored per post and field, wins over the scorer's value at once,
and teaches the brand's calibration of the heads (`tesoro.curator.corrections`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from tesoro.api.schemas.common import Id, Input, Schema, Timestamp, iso
from tesoro.store.tables import PostCorrection

__all__ = [
    "CorrectionCreate",
    "CorrectionList",
    "CorrectionPublic",
    "CorrectionStatus",
    "CorrectionStatusList",
    "CorrectionTrainList",
    "CorrectionTrainReport",
    "FieldCount",
    "HeadCalibration",
]

SentimentLabel = Literal["negative", "neutral", "positive"]
ContentTypeName = Literal[
    "photo",
    "video",
    "review",
    "unboxing",
    "tutorial",
    "testimonial",
    "complaint",
    "question",
    "meme",
    "other",
]
CorrectedField = Literal["sentiment", "product", "content_type"]


class CorrectionCreate(Input):
    """What the coordinator says the post is: any of sentiment, product (null: none) and content types."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"sentiment": "negative"},
                {"product_id": 2},
                {"product_id": None},
                {"content_types": ["review", "complaint"]},
            ]
        },
    )

    sentiment: SentimentLabel | None = Field(None, description="negative, neutral or positive")
    product_id: Id | None = Field(
        None, description="the product the post is about (one of its brand's); null: about no product"
    )
    content_types: list[ContentTypeName] | None = Field(
        None, min_length=1, max_length=10, description="every content type that applies"
    )

    @model_validator(mode="after")
    def _something(self) -> CorrectionCreate:
        if not self.changes():
            raise ValueError("name at least one of sentiment, product_id, content_types")
        if "sentiment" in self.model_fields_set and self.sentiment is None:
            raise ValueError("sentiment cannot be null")
        if "content_types" in self.model_fields_set and self.content_types is None:
            raise ValueError("content_types cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """{field: value} for what was sent (a product_id of null counts: no product)."""
        out: dict[str, Any] = {}
        if "sentiment" in self.model_fields_set:
            out["sentiment"] = self.sentiment
        if "product_id" in self.model_fields_set:
            out["product"] = self.product_id
        if "content_types" in self.model_fields_set:
            out["content_type"] = None if self.content_types is None else list(self.content_types)
        return out


class CorrectionPublic(Schema):
    """One correction: the coordinator's value, the scorer's at the time, and the value before it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "post_id": 42,
                    "brand_id": 1,
                    "field": "sentiment",
                    "value": "negative",
                    "model_value": "positive",
                    "before": "positive",
                    "actor": "key:415472f2f1fa (Ana)",
                    "corrected_at": "2026-11-01T12:00:00+00:00",
                }
            ]
        }
    )

    id: int
    post_id: int
    brand_id: int | None
    field: CorrectedField = Field(description="sentiment, product or content_type")
    value: str | int | list[str] | None = Field(
        description="the coordinator's value: a label, a product id (null: no product), or content types"
    )
    model_value: str | int | list[str] | None = Field(description="the scorer's value when it was corrected")
    before: str | int | list[str] | None = Field(
        None, description="what readers saw until this correction (only in the answer to a correction)"
    )
    actor: str = Field(description="who corrected it")
    corrected_at: Timestamp | None = Field(description="when it was last corrected")

    @classmethod
    def from_row(cls, row: PostCorrection, before: Any = None) -> CorrectionPublic:
        return cls(
            id=row.id or 0,
            post_id=row.post_id,
            brand_id=row.brand_id,
            field=row.field,
            value=row.value,
            model_value=row.model_value,
            before=before,
            actor=row.actor,
            corrected_at=iso(row.corrected_at),
        )


_CORRECTION_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "post_id": 42,
    "brand_id": 1,
    "field": "sentiment",
    "value": "negative",
    "model_value": "positive",
    "before": "positive",
    "actor": "key:415472f2f1fa (Ana)",
    "corrected_at": "2026-11-01T12:00:00+00:00",
}


class CorrectionList(Schema):
    """Corrections, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_CORRECTION_EXAMPLE]}]})

    items: list[CorrectionPublic]


_HEAD_EXAMPLE: dict[str, Any] = {
    "kind": "adapter",
    "labels": 180,
    "accuracy_before": 0.61,
    "accuracy_after": 0.74,
    "trained_at": "2026-11-01T12:15:00+00:00",
}
_STATUS_EXAMPLE: dict[str, Any] = {
    "brand_id": 1,
    "brand": "Andes Outdoor",
    "fields": {"sentiment": {"corrections": 120, "model_agreed": 14}},
    "heads": {"sentiment": _HEAD_EXAMPLE},
}
_TRAIN_EXAMPLE: dict[str, Any] = {
    "brand_id": 1,
    "trained": True,
    "reason": None,
    "heads": {
        "sentiment": {"labels": 180, "kind": "adapter", "accuracy_before": 0.61, "accuracy_after": 0.74}
    },
    "refreshed": 250,
}


class FieldCount(Schema):
    """How many of a brand's posts had a field corrected, and on how many the scorer had been right."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"corrections": 120, "model_agreed": 14}]})

    corrections: int = Field(description="posts whose field a coordinator corrected")
    model_agreed: int = Field(description="corrections that confirmed the scorer's value")


class HeadCalibration(Schema):
    """A brand's stored calibration of one head (`sentiment`, `product`, `type:<content type>`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_HEAD_EXAMPLE]})

    kind: str | None = Field(description="prior (confidence and class shifts) or adapter (+ the embedding)")
    labels: int = Field(description="labels it was fitted on (corrections and values let stand)")
    accuracy_before: float | None = Field(description="cross-validated accuracy of the head as it is")
    accuracy_after: float | None = Field(description="cross-validated accuracy calibrated")
    trained_at: Timestamp | None = Field(description="when it was learned")


class CorrectionStatus(Schema):
    """One brand: its corrections per field and its calibrations per head."""

    model_config = ConfigDict(json_schema_extra={"examples": [_STATUS_EXAMPLE]})

    brand_id: int
    brand: str = Field(description="the brand's name")
    fields: dict[str, FieldCount] = Field(description="per field: sentiment, product, content_type")
    heads: dict[str, HeadCalibration] = Field(description="per head with a calibration in use")


class CorrectionStatusList(Schema):
    """Every brand's corrections and calibrations."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_STATUS_EXAMPLE]}]})

    items: list[CorrectionStatus]


class CorrectionTrainReport(Schema):
    """What relearning did for one brand."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TRAIN_EXAMPLE]})

    brand_id: int
    trained: bool = Field(description="whether some head now has a calibration")
    reason: str | None = Field(description="why nothing was (re)learned, if so")
    heads: dict[str, dict[str, Any]] = Field(
        description="per head: labels, kind chosen, cross-validated accuracy before and after, candidates"
    )
    refreshed: int = Field(description="unreviewed posts scored again with the new calibration")


class CorrectionTrainList(Schema):
    """What relearning did, per brand."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_TRAIN_EXAMPLE]}]})

    items: list[CorrectionTrainReport]
