"""Which channels a rule's alerts go to, built from the settings and the environment.

Slack, in order of precedence:

1. the rule's own incoming webhook (`webhook_url_env` on the rule);
2. the bot token (`[slack] bot_token_env`) posting to the rule's `channel`, else
   `[slack] default_channel`;
3. the shared incoming webhook (`[slack] webhook_url_env`).

Plus, independently, a generic JSON webhook when the rule names `json_webhook_url_env`.

An alert is delivered when every channel its rule resolves to has it. A channel whose
secret is missing from the environment is still a channel: it fails with a message that
says which variable to export, so the alert waits (pending) instead of vanishing. So does
one whose variable alert channels may not read (`Settings.alert_env_refusal`: a rule made
through the API before the settings changed, say), and one whose URL variable holds no
http(s) URL.

Secrets never leave a channel in what it reports: every channel is wrapped so that its
errors and answers have the secret values redacted and URL credentials masked, and the
slack_sdk clients log through a logger that does the same. The delivery log, the API and
the command line show what the wrapper returned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import httpx

from tesoro.alerts.models import Channel, Links, Outgoing, SendResult
from tesoro.alerts.slack import SlackBotChannel, SlackWebhookChannel
from tesoro.alerts.webhook import JsonWebhookChannel
from tesoro.settings import AlertRuleSettings, Settings
from tesoro.text.redact import redact

__all__ = ["MissingSecretChannel", "RedactingChannel", "RefusedSecretChannel", "channels_for", "links_for"]

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class MissingSecretChannel:
    """A configured channel whose secret is not in the environment: every send fails, and says why."""

    key: str
    env_name: str

    def send(self, outgoing: Outgoing) -> SendResult:
        return SendResult("failed", error=f"environment variable {self.env_name} is not set; export it")


@dataclass(frozen=True, slots=True)
class RefusedSecretChannel:
    """A configured channel that may not use its variable (or whose value is unusable): fails saying why."""

    key: str
    reason: str

    def send(self, outgoing: Outgoing) -> SendResult:
        return SendResult("failed", error=self.reason)


@dataclass(frozen=True, slots=True)
class RedactingChannel:
    """Another channel, with its secrets redacted from what it reports, and nothing raised."""

    inner: Channel
    secrets: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.inner.key

    def send(self, outgoing: Outgoing) -> SendResult:
        try:
            result = self.inner.send(outgoing)
        except Exception as exc:  # a channel bug must not lose the run, nor print its secret
            error = redact(f"{type(exc).__name__}: {exc}", self.secrets)
            log.error("alert channel %s raised %s", self.key, error)
            return SendResult("failed", error=error)
        return replace(
            result,
            error=None if result.error is None else redact(result.error, self.secrets),
            response=None if result.response is None else redact(result.response, self.secrets),
        )


class _RedactSecrets(logging.Filter):
    """Redacts the secret values registered with it from the records of the slack_sdk clients."""

    def __init__(self) -> None:
        super().__init__()
        # Replaced, never changed in place: a record may be filtered on another thread meanwhile.
        self.secrets: frozenset[str] = frozenset()

    def add(self, secret: str) -> None:
        if secret not in self.secrets:
            self.secrets = self.secrets | {secret}

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = redact(text, self.secrets)
        if clean != text:
            record.msg, record.args = clean, None
        return True


_SDK_FILTER = _RedactSecrets()
# The logger the Slack clients log through (they log the URL they retry, which for a webhook is the
# secret); records leave it only redacted.
_SDK_LOG = logging.getLogger("tesoro.alerts.slack_sdk")
_SDK_LOG.addFilter(_SDK_FILTER)


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

    def secret(key: str, env_name: str, *, url: bool) -> str | Channel:
        """The variable's value, or the channel that fails saying why it cannot be used."""
        refusal = settings.alert_env_refusal(env_name)
        if refusal is not None:
            return RefusedSecretChannel(key, refusal)
        value = environ.get(env_name)
        if not value:
            return MissingSecretChannel(key, env_name)
        if url and not value.startswith(("https://", "http://")):
            return RefusedSecretChannel(
                key, f"environment variable {env_name} does not hold an http(s) URL (its value is not shown)"
            )
        _SDK_FILTER.add(value)
        return value

    def webhook(env_name: str) -> Channel:
        key = f"slack:webhook:{env_name}"
        url = secret(key, env_name, url=True)
        if not isinstance(url, str):
            return url
        channel = SlackWebhookChannel(
            key=key,
            url=url,
            links=links,
            timeout_s=slack.timeout_s,
            max_retries=slack.max_retries,
            max_wait_s=slack.max_wait_s,
            resend_after_timeout=slack.resend_after_timeout,
            sleep=sleep,
            logger=_SDK_LOG,
        )
        return RedactingChannel(channel, (url,))

    target = (rule.channel if rule else None) or slack.default_channel
    if rule is not None and rule.webhook_url_env:
        channels.append(webhook(rule.webhook_url_env))
    elif slack.bot_token_env and target:
        key = f"slack:{target}"
        token = secret(key, slack.bot_token_env, url=False)
        if not isinstance(token, str):
            channels.append(token)
        else:
            bot = SlackBotChannel(
                key=key,
                token=token,
                channel=target,
                base_url=slack.api_base_url,
                links=links,
                timeout_s=slack.timeout_s,
                max_retries=slack.max_retries,
                max_wait_s=slack.max_wait_s,
                resend_after_timeout=slack.resend_after_timeout,
                sleep=sleep,
                logger=_SDK_LOG,
            )
            channels.append(RedactingChannel(bot, (token,)))
    elif slack.webhook_url_env:
        channels.append(webhook(slack.webhook_url_env))

    if rule is not None and rule.json_webhook_url_env:
        env_name = rule.json_webhook_url_env
        key = f"webhook:{env_name}"
        url = secret(key, env_name, url=True)
        if not isinstance(url, str):
            channels.append(url)
        else:
            hook = JsonWebhookChannel(
                key=key,
                url=url,
                links=links,
                timeout_s=slack.timeout_s,
                max_retries=slack.max_retries,
                max_wait_s=slack.max_wait_s,
                sleep=sleep,
                transport=transport,
            )
            channels.append(RedactingChannel(hook, (url,)))
    return channels
