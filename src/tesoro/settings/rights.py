"""The usage-rights workflow: approval hashtags, what is asked, pacing, waiting, the consent link."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tesoro.settings.base import Section

__all__ = ["RIGHTS_SCOPES", "RightsScope", "RightsSettings"]

RightsScope = Literal["organic_social", "website_gallery", "paid_ads", "product_pages"]
RIGHTS_SCOPES: tuple[str, ...] = ("organic_social", "website_gallery", "paid_ads", "product_pages")

_DEFAULT_SCOPE: tuple[RightsScope, ...] = ("organic_social", "website_gallery")
# A YouTube comment costs 50 of the day's 10,000 quota units: 20 of them are a tenth.
_DEFAULT_CAPS = {"x": 50, "reddit": 20, "bluesky": 50, "mastodon": 30, "youtube": 20, "instagram": 20}


class RightsSettings(Section):
    """Asking authors for usage rights, reading their answers, and how long rights last."""

    # The approval hashtag an author replies with to grant, per brand name; `hashtag` for the others.
    hashtag: str = "#YesPlease"
    brand_hashtags: dict[str, str] = Field(default_factory=dict)
    # What a request asks for unless the coordinator chooses: the uses, and how long (0: no end date).
    scope: list[RightsScope] = Field(default_factory=lambda: list(_DEFAULT_SCOPE))
    duration_days: int = Field(365, ge=0, le=3650)
    # Replies posted through each platform's API per UTC day (requests past it wait in the queue).
    daily_caps: dict[str, int] = Field(default_factory=lambda: dict(_DEFAULT_CAPS))
    # At most this many requests go out in one sending run, the rest wait for the next run.
    batch_size: int = Field(10, ge=1, le=500)
    # Days without an answer after which a request is "no response" (it may then be asked once more).
    no_response_days: int = Field(14, ge=1, le=365)
    # How long a consent link works, in days.
    consent_link_days: int = Field(30, ge=1, le=365)
    # Where the consent page is served (the public address of `tesoro serve`), used in the links.
    public_url: str = "http://127.0.0.1:8000"
    # How often the rights job runs (send, read replies, no response, expiry), in seconds; 0: never
    # (run `tesoro rights run` yourself). A "please remove" reply is acted on within one interval.
    interval_s: int = Field(30, ge=0, le=86_400)
    # Requests whose replies one pass reads at most (newest first).
    check_limit: int = Field(500, ge=1, le=100_000)
    # Alert this many days before granted rights end.
    expiry_warning_days: int = Field(14, ge=0, le=365)

    @field_validator("hashtag")
    @classmethod
    def _hashtag(cls, value: str) -> str:
        return _check_hashtag(value)

    @field_validator("brand_hashtags")
    @classmethod
    def _brand_hashtags(cls, value: dict[str, str]) -> dict[str, str]:
        return {brand: _check_hashtag(tag) for brand, tag in value.items()}

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def hashtag_for(self, brand: str | None) -> str:
        return self.brand_hashtags.get(brand or "", self.hashtag)


def _check_hashtag(value: str) -> str:
    tag = value.strip()
    if not tag.startswith("#") or len(tag) < 3 or not tag[1:].replace("_", "").isalnum():
        raise ValueError(f"{value!r} is not a hashtag: '#' then letters or digits, like '#YesAndes'")
    return tag
