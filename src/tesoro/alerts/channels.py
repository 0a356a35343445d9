"""Which channels a rule's alerts go to, built from the settings and the environment.

Slack, in order of precedence:

1. the rule's own incoming webhook (`webhook_url_env` on the rule);
2. the bot token (`[slack] bot_token_env`) posting to the rule's `channel`, else
   `[slack] default_channel`;
3. the shared incoming webhook (`[slack] webhook_url_env`).

Plus, independently, a generic JSON webhook when the rule names `json_webhook_url_env`.

An alert is delivered when every channel its rule resolves to has it. A channel whose
secret is missing from the environment is still a channel: it fails with a message that
says which variable to export, so the alert waits (pending) instead of vanishing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from tesoro.alerts.models import Channel, Links, Outgoing, SendResult
from tesoro.alerts.slack import SlackBotChannel, SlackWebhookChannel
from tesoro.alerts.webhook import JsonWebhookChannel
from tesoro.settings import AlertRuleSettings, Settings

__all__ = ["MissingSecretChannel", "channels_for", "links_for"]

Sleep = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class MissingSecretChannel:
    """A configured channel whose secret is not in the environment: every send fails, and says why."""

    key: str
    env_name: str

    def send(self, outgoing: Outgoing) -> SendResult:
        return SendResult("failed", error=f"environment variable {self.env_name} is not set; export it")


def links_for(settings: Settings) -> Links:
    return Links(app_base_url=settings.slack.app_base_url, review_path=settings.slack.review_path)


def channels_for(
    rule: AlertRuleSettings | None,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    sleep: Sleep = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> list[Channel]:
    """The channels for `rule` (None: an alert whose rule was deleted goes to the shared Slack set-up)."""
    slack = settings.slack
    links = links_for(settings)
    channels: list[Channel] = []

    def webhook(env_name: str) -> Channel:
        key = f"slack:webhook:{env_name}"
        url = environ.get(env_name)
        if not url:
            return MissingSecretChannel(key, env_name)
        return SlackWebhookChannel(
            key=key,
            url=url,
            links=links,
            timeout_s=slack.timeout_s,
            max_retries=slack.max_retries,
            max_wait_s=slack.max_wait_s,
            sleep=sleep,
        )

    target = (rule.channel if rule else None) or slack.default_channel
    if rule is not None and rule.webhook_url_env:
        channels.append(webhook(rule.webhook_url_env))
    elif slack.bot_token_env and target:
        key = f"slack:{target}"
        token = environ.get(slack.bot_token_env)
        if not token:
            channels.append(MissingSecretChannel(key, slack.bot_token_env))
        else:
            channels.append(
                SlackBotChannel(
                    key=key,
                    token=token,
                    channel=target,
                    base_url=slack.api_base_url,
                    links=links,
                    timeout_s=slack.timeout_s,
                    max_retries=slack.max_retries,
                    max_wait_s=slack.max_wait_s,
                    sleep=sleep,
                )
            )
    elif slack.webhook_url_env:
        channels.append(webhook(slack.webhook_url_env))

    if rule is not None and rule.json_webhook_url_env:
        env_name = rule.json_webhook_url_env
        key = f"webhook:{env_name}"
        url = environ.get(env_name)
        if not url:
            channels.append(MissingSecretChannel(key, env_name))
        else:
            channels.append(
                JsonWebhookChannel(
                    key=key,
                    url=url,
                    links=links,
                    timeout_s=slack.timeout_s,
                    max_retries=slack.max_retries,
                    max_wait_s=slack.max_wait_s,
                    sleep=sleep,
                    transport=transport,
                )
            )
    return channels
