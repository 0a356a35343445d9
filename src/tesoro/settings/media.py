"""The media pipeline's settings: how post images are fetched, checked and kept as thumbnails.

The hosts it may fetch from are the gallery's allow-list (`[gallery] media_hosts`); this section
adds the limits of each fetch, the one private address it may reach (the local simulator in the
demo and the tests), and the schedule and retry policy of the job.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from tesoro.settings.base import Section, parse_interval

__all__ = ["MediaSettings"]

_HOST_PORT = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[0-9]{1,5}$")


class MediaSettings(Section):
    """Fetching post media previews: limits, the private-address exception, schedule and retries."""

    # How often the scheduler fetches new media; 0 turns the job off.
    interval: int = Field(120, description="seconds; '2m' style strings accepted; 0 = off")
    batch: Annotated[int, Field(ge=1, le=10_000)] = 200
    # Fetches in flight at once (threads); decoding runs in the same threads.
    concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    # host:port pairs that may resolve to a private or loopback address (the local simulator).
    # Nothing else on a private network, localhost or a link-local address is ever fetched.
    private_hosts: list[str] = Field(
        default_factory=list, description="host:port pairs allowed on private/loopback addresses"
    )
    max_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 8 * 1024 * 1024
    max_pixels: Annotated[int, Field(ge=64 * 64, le=200_000_000)] = 40_000_000
    connect_timeout_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    read_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    # The whole fetch, however slowly the server drips its bytes.
    total_timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0
    max_redirects: Annotated[int, Field(ge=0, le=10)] = 3
    thumb_edge: Annotated[int, Field(ge=64, le=1024)] = 320
    thumb_quality: Annotated[int, Field(ge=30, le=95)] = 80
    max_attempts: Annotated[int, Field(ge=1, le=50)] = 6
    retry_base_s: Annotated[float, Field(ge=1, le=86400)] = 60.0
    retry_max_s: Annotated[float, Field(ge=1, le=7 * 86400)] = 21600.0
    # Two images whose 64-bit perceptual hashes differ in at most this many bits are near-copies.
    duplicate_distance: Annotated[int, Field(ge=0, le=20)] = 10
    user_agent: str = Field("Tesoro media fetcher", min_length=1, max_length=200)

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> int:
        return 0 if value in (0, "0") else parse_interval(value)

    @field_validator("private_hosts")
    @classmethod
    def _private_hosts(cls, value: list[str]) -> list[str]:
        hosts = [host.strip().lower() for host in value]
        for host in hosts:
            if not _HOST_PORT.match(host):
                raise ValueError(f"{host!r} is not host:port (one exact host and port, no scheme)")
        return hosts

    @model_validator(mode="after")
    def _retry_bounds(self) -> MediaSettings:
        if self.retry_max_s < self.retry_base_s:
            raise ValueError("retry_max_s must be at least retry_base_s")
        return self
