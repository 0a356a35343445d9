"""Relationship (ROR) weights and Return on Engagement (ROE) effort."""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator, model_validator

from tesoro.settings.base import Section

__all__ = ["RelationshipSettings", "RoeEffort", "RoeSettings", "RorEventValues"]


class RorEventValues(Section):
    """What each relationship event adds to Return on Relationship before time decay.

    Positive values build the relationship; `negative_mention` must not be positive,
    so a complaint can only lower a score (the tests pin that promise).
    """

    mention: float = Field(1.0, ge=0)
    positive_mention: float = Field(2.0, ge=0)
    negative_mention: float = Field(-4.0, le=0)
    ugc: float = Field(3.0, ge=0)
    ugc_approved: float = Field(3.0, ge=0)
    ugc_featured: float = Field(6.0, ge=0)
    rights_granted: float = Field(5.0, ge=0)
    recommendation: float = Field(4.0, ge=0)
    brand_reply: float = Field(1.0, ge=0)
    replied_back: float = Field(2.0, ge=0)


class RelationshipSettings(Section):
    """The weights of the ROR formula (see the README, "Return on Relationship")."""

    half_life_days: float = Field(90.0, gt=0, description="an event counts half after this many days")
    loyalty_weight: float = Field(3.0, ge=0)
    advocacy_weight: float = Field(1.0, ge=0)
    trend_weight: float = Field(5.0, ge=0)
    trend_window_days: int = Field(90, ge=1)
    ugc_content_types: list[str] = Field(
        default_factory=lambda: ["photo", "video", "review", "tutorial", "unboxing", "testimonial"]
    )
    advocate_min_ror: float = Field(15.0, description="people at or above this ROR count as advocates")
    spam_threshold: float = Field(0.7, ge=0, le=1, description="posts scored this spammy or more never count")
    events: RorEventValues = Field(default_factory=RorEventValues)


class RoeEffort(Section):
    """Effort the brand declares for one period: the denominator of Return on Engagement."""

    brand: str = Field(min_length=1)
    query: str | None = Field(None, description="a [[queries]] name: the effort was for that query")
    hashtag: str | None = Field(None, description="a campaign hashtag: the effort was for that campaign")
    start: date
    end: date
    posts: int | None = Field(None, ge=0, description="posts published; empty: counted from the store")
    hours: float | None = Field(None, ge=0)
    spend: float | None = Field(None, ge=0)

    @field_validator("hashtag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.lstrip("#").strip() or None

    @model_validator(mode="after")
    def _period(self) -> RoeEffort:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.query is not None and self.hashtag is not None:
            raise ValueError("give `query` or `hashtag` (or neither, for the whole brand), not both")
        return self


class RoeSettings(Section):
    """How earned engagement is added up, and the declared effort per brand/campaign and period."""

    ugc_value: float = Field(25.0, ge=0, description="one UGC post, in interactions")
    reach_value: float = Field(0.0, ge=0, description="one person reached, in interactions")
    effort: list[RoeEffort] = Field(default_factory=list)
