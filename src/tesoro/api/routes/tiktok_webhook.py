"""`/api/webhooks/tiktok`: TikTok API for Business's webhook endpoint (public, proven by signature).

`POST` takes a notification and answers at once, as TikTok asks (it retries any answer but 200, with
backoff, for up to 72 hours, and delivers at least once):

- the raw body, at most `[tiktok_webhook] max_body_bytes` (413 beyond), must carry
  `TikTok-Signature: t=<unix seconds>,s=<hex HMAC-SHA256 of "<t>.<body>" keyed by the app secret>`,
  with `t` at most `[tiktok_webhook] signature_tolerance_s` from now (403 when it is missing, wrong or
  stale: compared in constant time, and an old signed call cannot be replayed);
- the body must be a notification, `{"client_key", "event", "create_time", "user_openid", "content"}`
  with `content` a JSON document sent as a string (400 otherwise);
- a mention event (any event whose name has "mention" in it: TikTok's exact names are not public)
  starts one collection of the TikTok mentions source whose `account_id` is the `user_openid` (or
  `[tiktok_webhook] source`), in the background (`api.source_runs`): repeated and bursting
  notifications cost one run, and the run records its outcome in the source's health as a scheduled
  one does. Any other event, an unknown account or a disabled source is answered 200 with the reason
  in `ignored`, and logged, so TikTok does not retry it for days.

Without the app secret configured the endpoint answers 404: nothing is taken in that nobody asked for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping

from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from tesoro.api.deps import Anyone, EngineDep, SettingsDep
from tesoro.api.schemas.webhooks import TikTokNotification, TikTokWebhookResult
from tesoro.api.source_runs import SourceRuns
from tesoro.api.webhooks import bounded_body, environ_of
from tesoro.collector.service import collect_source
from tesoro.settings import ConfigError, Settings, SourceSettings

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])
_SIGNATURE = re.compile(r"t=(\d{1,12}),s=([0-9a-fA-F]{64})")
_NOT_CONFIGURED = "the TikTok webhook is not configured"


def _digest(secret: str, body: bytes, at: int) -> str:
    """The hex HMAC-SHA256 TikTok signs with: over `"<t>.<raw body>"`, keyed by the app secret."""
    return hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()


def _secret(settings: Settings, environ: Mapping[str, str]) -> str:
    env_name = settings.tiktok_webhook.app_secret_env
    if env_name is None:
        raise HTTPException(status_code=404, detail=_NOT_CONFIGURED)
    try:
        return settings.secret(env_name, environ)
    except ConfigError:
        log.error("tiktok webhook: %s is not set", env_name)
        raise HTTPException(status_code=404, detail=_NOT_CONFIGURED) from None


def _check_signature(header: str, body: bytes, secret: str, tolerance_s: int) -> None:
    signed = _SIGNATURE.fullmatch(header.strip().replace(" ", ""))
    if signed is None:
        raise HTTPException(status_code=403, detail="bad or missing TikTok-Signature")
    at = int(signed.group(1))
    expected = _digest(secret, body, at)
    if not hmac.compare_digest(signed.group(2).lower(), expected):
        raise HTTPException(status_code=403, detail="bad or missing TikTok-Signature")
    # Checked after the digest, so an unsigned caller learns nothing about the clock.
    if abs(time.time() - at) > tolerance_s:
        raise HTTPException(status_code=403, detail="TikTok-Signature is too old (or from the future)")


def _notification(body: bytes) -> TikTokNotification:
    try:
        notification = TikTokNotification.model_validate(json.loads(body))
        json.loads(notification.content)  # a JSON document sent as a string: its shape is not public
    except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
        raise HTTPException(status_code=400, detail=f"not a TikTok notification: {str(exc)[:200]}") from None
    return notification


@router.post(
    "/api/webhooks/tiktok", response_model=TikTokWebhookResult, summary="TikTok's webhook notifications"
)
async def notify(
    request: Request, caller: Anyone, settings: SettingsDep, engine: EngineDep
) -> TikTokWebhookResult:
    environ = environ_of(request)
    secret = _secret(settings, environ)
    body = await bounded_body(request, settings.tiktok_webhook.max_body_bytes)
    tolerance = settings.tiktok_webhook.signature_tolerance_s
    _check_signature(request.headers.get("tiktok-signature", ""), body, secret, tolerance)
    notification = _notification(body)
    event = notification.event
    if "mention" not in event.casefold():
        return _ignored(event, f"event {event[:64]!r} is not a mention")
    source = _source_for(settings, notification.user_openid)
    if source is None:
        return _ignored(event, f"no TikTok mentions source for account {notification.user_openid[:64]!r}")
    if not source.enabled:
        return _ignored(event, f"source {source.name!r} is disabled", source=source.name)
    runs: SourceRuns = request.app.state.source_runs
    requested = runs.request(source.name, lambda: _collect(engine, settings, source, environ))
    if requested == "closing":
        return _ignored(event, "the service is shutting down", source=source.name)
    log.info("tiktok webhook: %s for %s: run %s", event[:64], source.name, requested)
    return TikTokWebhookResult(accepted=True, event=event, source=source.name, run=requested)


def _ignored(event: str, reason: str, *, source: str | None = None) -> TikTokWebhookResult:
    log.warning("tiktok webhook: ignored: %s", reason)
    return TikTokWebhookResult(accepted=False, event=event, source=source, ignored=reason)


def _source_for(settings: Settings, account_id: str) -> SourceSettings | None:
    wanted = settings.tiktok_webhook.source
    for source in settings.sources:
        if source.platform != "tiktok" or not source.account_id:
            continue
        if (wanted is not None and source.name == wanted) or (
            wanted is None and source.account_id.strip() == account_id
        ):
            return source
    return None


def _collect(engine: Engine, settings: Settings, source: SourceSettings, environ: Mapping[str, str]) -> None:
    """One run of `source`, exactly as the scheduler's (`collector.service.collect_source`): held back or
    paced by its quota plan, pages stored with their cursor, the outcome in the source's health."""
    result = collect_source(engine, settings, source.name, environ)
    log.info(
        "%s (webhook): %s, %d new, %d updated%s",
        source.name,
        result.status,
        result.inserted,
        result.updated,
        f": {result.error}" if result.error else "",
    )
