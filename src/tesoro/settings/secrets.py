"""Which environment variables the alert channels may read.

Alert rules name the variable that holds their webhook URL (`webhook_url_env`,
`json_webhook_url_env`), and rules can be created through the API. Without a limit, a rule could
name any variable of the server's environment — the X bearer token, the database URL — and the
channel would read it. So the variables an alert channel may name (a rule's webhooks and the
`[slack]` webhook and bot token) must match one of `alert_env_allow`'s patterns, and are never
one of the variables Tesoro reads as its own settings or one a source's credentials name.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from pydantic import Field, field_validator

from tesoro.settings.base import Section

__all__ = ["DEFAULT_ALERT_ENV_ALLOW", "SecretsSettings"]

# The documented names: a variable named for a webhook, or for Slack.
DEFAULT_ALERT_ENV_ALLOW: tuple[str, ...] = ("*_WEBHOOK_URL", "*_WEBHOOK", "*SLACK*")
_PATTERN = re.compile(r"[A-Z0-9_*?]+")


class SecretsSettings(Section):
    """Which environment variables alert channels may read (rules can be made through the API)."""

    alert_env_allow: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALERT_ENV_ALLOW),
        description="Patterns ('*' any run of characters) of the variables an alert channel may name: a "
        "rule's webhook_url_env and json_webhook_url_env, [slack] webhook_url_env and bot_token_env. "
        "Add exact names to allow one more; Tesoro's own TESORO_<setting> variables and the variables "
        "of sources' credentials are refused whatever the list says",
    )

    @field_validator("alert_env_allow")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not _PATTERN.fullmatch(pattern):
                raise ValueError(
                    f"{pattern!r}: a pattern is upper-case letters, digits, '_' and the wildcards '*' or '?'"
                )
        return value

    def allows(self, env_name: str) -> bool:
        return any(fnmatchcase(env_name, pattern) for pattern in self.alert_env_allow)
