"""The treasure score's weights and the curator's thresholds (duplicates, meaning search, learned ranker)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from tesoro.settings.base import Section

__all__ = ["DEFAULT_CONTENT_VALUES", "CuratorSettings", "TreasureWeights"]

DEFAULT_CONTENT_VALUES: dict[str, float] = {
    "video": 1.0,
    "tutorial": 0.95,
    "review": 0.9,
    "unboxing": 0.9,
    "photo": 0.8,
    "testimonial": 0.7,
    "meme": 0.35,
    "complaint": 0.25,
    "question": 0.2,
    "other": 0.15,
}


class TreasureWeights(Section):
    """How much each component counts in the treasure score; relative, so they need not sum to 1."""

    relevance: float = Field(3.0, ge=0)
    sentiment: float = Field(1.5, ge=0)
    content: float = Field(2.0, ge=0)
    engagement: float = Field(1.5, ge=0)
    relationship: float = Field(1.0, ge=0)
    recency: float = Field(1.0, ge=0)
    safety: float = Field(1.0, ge=0)
    gallery: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> TreasureWeights:
        if not any(value > 0 for value in self.model_dump().values()):
            raise ValueError("at least one treasure weight must be above 0")
        return self


class CuratorSettings(Section):
    """The treasure score, the filtered view, duplicate detection, meaning search and the learned ranker."""

    weights: TreasureWeights = Field(default_factory=TreasureWeights)
    content_values: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CONTENT_VALUES))
    recency_half_life_days: float = Field(14.0, gt=0)
    engagement_cap: float = Field(10.0, gt=1, description="this many times the platform median scores 1.0")
    spam_threshold: float = Field(0.7, ge=0, le=1)
    unsafe_threshold: float = Field(0.7, ge=0, le=1)
    min_relevance: float = Field(0.2, ge=0, le=1)
    duplicate_min_words: int = Field(5, ge=1)
    duplicate_jaccard: float = Field(0.75, gt=0, le=1)
    duplicate_related_jaccard: float = Field(0.4, gt=0, le=1)
    duplicate_cosine: float = Field(0.95, gt=0, le=1)
    semantic_min_similarity: float = Field(0.3, ge=-1, le=1)
    vector_scan: Literal["int8", "int8-exact", "float32"] = "int8"
    ranker_min_decisions: int = Field(20, ge=2)
    ranker_max_blend: float = Field(0.7, ge=0, le=1)
    ranker_blend_half: int = Field(50, ge=1)
    ranker_l2: float = Field(10.0, gt=0)
    ranker_embedding_dims: int = Field(32, ge=0, le=384)
    gallery_signal_days: int = Field(
        30,
        ge=1,
        le=365,
        description="the gallery component reads this many days of tile impressions and clicks",
    )
    gallery_min_impressions: int = Field(
        100,
        ge=1,
        le=1_000_000,
        description="impressions a post needs before its gallery CTR counts (below: neutral)",
    )

    @field_validator("content_values")
    @classmethod
    def _unit_values(cls, value: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, v in value.items() if not 0.0 <= v <= 1.0)
        if bad:
            raise ValueError(f"values must be between 0 and 1 (check {', '.join(bad)})")
        return {**DEFAULT_CONTENT_VALUES, **value}

    @model_validator(mode="after")
    def _ordered(self) -> CuratorSettings:
        if self.duplicate_related_jaccard > self.duplicate_jaccard:
            raise ValueError("duplicate_related_jaccard must not be above duplicate_jaccard")
        return self
