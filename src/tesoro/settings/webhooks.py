"""Platform webhooks: Meta's (Instagram `mentions`) and TikTok API for Business's (brand mentions).

How Tesoro proves each endpoint and checks each call."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from tesoro.settings.base import Section

__all__ = ["MetaWebhookSettings", "TikTokWebhookSettings"]

_ENV = re.compile(r"[A-Z_][A-Z0-9_]*")


class MetaWebhookSettings(Section):
    """`POST/GET /api/webhooks/meta`: Meta's verification handshake and signed notifications.

    Both secrets live in environment variables named here (never in the file); without them the
    endpoint answers 404, so nothing can be delivered to a service that did not ask for it.
    """

    verify_token_env: str | None = Field(
        None, description="env var holding the verify token typed into the app's webhook settings"
    )
    app_secret_env: str | None = Field(
        None, description="env var holding the Meta app secret (X-Hub-Signature-256 is its HMAC-SHA256)"
    )
    max_body_bytes: Annotated[int, Field(ge=1024, le=1_048_576)] = 65_536
    # The Instagram source whose token reads the mentioned media (default: the one whose account_id
    # is the notification's entry id).
    source: str | None = None

    @field_validator("verify_token_env", "app_secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment-variable name")
        return value


class TikTokWebhookSettings(Section):
    """`POST /api/webhooks/tiktok`: TikTok API for Business's signed notifications (brand mentions).

    A mention notification starts one collection of the brand's TikTok mentions source instead of
    waiting for its interval. The app secret that signs each call lives in the environment variable
    named here; without it the endpoint answers 404.
    """

    app_secret_env: str | None = Field(
        None,
        description="env var holding the TikTok app's secret (TikTok-Signature is its HMAC-SHA256)",
    )
    max_body_bytes: Annotated[int, Field(ge=1024, le=1_048_576)] = 65_536
    # How old a signed call may be (its `t=`, seconds); older ones are refused as replays.
    signature_tolerance_s: Annotated[int, Field(ge=30, le=3600)] = 300
    # The TikTok mentions source a notification runs (default: the one whose account_id is the
    # notification's user_openid).
    source: str | None = None

    @field_validator("app_secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment-variable name")
        return value
