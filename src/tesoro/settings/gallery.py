"""The public gallery's settings: who may embed it, which media hosts it shows, shop links and analytics."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from tesoro.settings.base import Section, parse_interval

__all__ = ["DEFAULT_MEDIA_HOSTS", "GallerySettings"]

# Media hosts the platforms themselves serve images and video from. Only URLs on these hosts are shown
# in the UI and the gallery; anything else in a post (a shortener, a tracker, a look-alike domain) is
# dropped, because post data is attacker-controlled and the gallery runs on the brand's own site.
DEFAULT_MEDIA_HOSTS: tuple[str, ...] = (
    "pbs.twimg.com",
    "video.twimg.com",
    "i.redd.it",
    "v.redd.it",
    "preview.redd.it",
    "external-preview.redd.it",
    "cdn.bsky.app",
    "video.bsky.app",
    "files.mastodon.social",
    "scontent.cdninstagram.com",
    "i.ytimg.com",  # YouTube thumbnails (a video's own URL is its watch page, not media to embed)
)
_UTM = re.compile(r"^[A-Za-z0-9._-]+$")
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")
# A host name, optionally with a port (the local simulator's media host is 127.0.0.1:PORT).
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?$")


class GallerySettings(Section):
    """The public gallery: who may embed it, which media hosts are shown, and how long it is cached."""

    allowed_origins: list[str] = Field(
        default_factory=list, description='site origins allowed to fetch or frame the gallery; "*" for any'
    )
    media_hosts: list[str] = Field(default_factory=lambda: list(DEFAULT_MEDIA_HOSTS))
    require_key: bool = False
    max_age: Annotated[int, Field(ge=0, le=86400)] = 60
    cache_ttl_s: Annotated[float, Field(ge=0, le=3600)] = 5.0
    default_limit: Annotated[int, Field(ge=1, le=100)] = 24
    # How often the scheduler asks the platforms whether the gallery's posts still exist; 0 turns it off.
    recheck_interval: int = Field(86400, description="seconds; '1d' style strings accepted; 0 = off")
    recheck_limit: Annotated[int, Field(ge=1, le=100_000)] = 500
    # "Shop this" links: the product's shop_url with these UTM parameters (utm_content is the post).
    utm_source: str = Field("tesoro", min_length=1, max_length=100, description="utm_source of shop links")
    utm_medium: str = Field(
        "ugc-gallery", min_length=1, max_length=100, description="utm_medium of shop links"
    )
    utm_campaign: str = Field(
        "", max_length=100, description="utm_campaign of shop links; empty: the brand's gallery slug"
    )
    # Kept copies: rights-cleared media copied into Tesoro's media store and served from
    # /gallery/media/..., never the platform's (expiring) URL; a post whose copy is missing is not shown.
    copies: bool = Field(False, description="keep and serve copies of rights-cleared media")
    copies_store: Literal["local", "s3"] = "local"
    copies_dir: str = Field(
        "", description="the local media store's folder, relative to data_dir; empty: media-copies"
    )
    copies_max_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 16 * 1024 * 1024
    copies_max_edge: Annotated[int, Field(ge=256, le=8192)] = 2048
    copies_quality: Annotated[int, Field(ge=50, le=95)] = 88
    copies_interval: int = Field(60, description="seconds between runs of the copies job; 0 = off")
    copies_batch: Annotated[int, Field(ge=1, le=10_000)] = 100
    s3_bucket: str = ""
    s3_prefix: str = Field("tesoro/", max_length=200)
    s3_endpoint_url: str | None = Field(None, description="an S3-compatible service's URL (MinIO, R2...)")
    s3_region: str | None = None
    s3_access_key_env: str | None = Field(None, description="environment variable holding the access key id")
    s3_secret_key_env: str | None = Field(None, description="environment variable holding the secret key")
    # The beacon (POST /gallery/beacon) the widget and the iframe send impressions and clicks to.
    beacon_enabled: bool = True
    beacon_max_bytes: Annotated[int, Field(ge=256, le=65536)] = 4096
    beacon_max_events: Annotated[int, Field(ge=1, le=500)] = 50
    beacon_per_minute: Annotated[int, Field(ge=1, le=100_000)] = Field(
        60, description="beacons one client address may send per minute; past that 429, nothing counted"
    )

    @field_validator("recheck_interval", mode="before")
    @classmethod
    def _recheck_interval(cls, value: Any) -> int:
        return 0 if value in (0, "0") else parse_interval(value)

    @field_validator("copies_interval", mode="before")
    @classmethod
    def _copies_interval(cls, value: Any) -> int:
        return 0 if value in (0, "0") else parse_interval(value)

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> GallerySettings:
        if self.copies_store == "s3" and not self.s3_bucket:
            raise ValueError('copies_store = "s3" needs s3_bucket')
        return self

    @field_validator("utm_source", "utm_medium", "utm_campaign")
    @classmethod
    def _utm(cls, value: str) -> str:
        if value and not _UTM.match(value):
            raise ValueError(f"{value!r}: use letters, digits, '-', '_' or '.' only")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        cleaned = []
        for origin in value:
            origin = origin.strip().rstrip("/").lower()
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(f'{origin!r} is not an origin: write scheme://host[:port] (no path), or "*"')
            cleaned.append(origin)
        return cleaned

    @field_validator("media_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        hosts = [host.strip().lower() for host in value]
        for host in hosts:
            if not _HOST.match(host):
                raise ValueError(
                    f"{host!r} is not a host name (write it without scheme or path; host:port allowed)"
                )
        return hosts
