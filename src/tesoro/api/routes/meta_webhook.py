"""`/api/webhooks/meta`: Meta's webhook endpoint for Instagram mentions (public, proven by signature).

- `GET` answers Meta's verification: with `hub.mode=subscribe` and the `hub.verify_token` the
  settings name (`[meta_webhook] verify_token_env`), the answer is `hub.challenge`, as text;
  anything else is 403.
- `POST` takes a notification: the raw body, at most `[meta_webhook] max_body_bytes` (413 beyond),
  must carry `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body with the app secret>` (403
  without it or when it does not match, compared in constant time); its `mentions` changes are
  collected: each `media_id` is read with the Instagram source's token (`mentioned_media`) and
  stored like any collected post, so a repeated notification updates the stored post and never
  duplicates it. One media that cannot be read is listed in `skipped` and never costs the others.

Without the two secrets configured the endpoint answers 404: nothing is taken in that nobody asked for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from tesoro.api.deps import Anyone, EngineDep, SettingsDep
from tesoro.api.schemas.webhooks import MetaNotification, MetaWebhookResult
from tesoro.api.webhooks import bounded_body, environ_of
from tesoro.collector.base import CollectorError
from tesoro.collector.instagram import InstagramCollector
from tesoro.collector.registry import build_collector
from tesoro.collector.runner import store_page
from tesoro.settings import ConfigError, Settings, SourceSettings
from tesoro.store.catalog import brand_by_name
from tesoro.store.engine import session_scope

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_MAX_SKIPPED = 20


def _secret(request: Request, settings: Settings, env_name: str | None) -> str:
    if env_name is None:
        raise HTTPException(status_code=404, detail="the Meta webhook is not configured")
    try:
        return settings.secret(env_name, environ_of(request))
    except ConfigError:
        log.error("meta webhook: %s is not set", env_name)
        raise HTTPException(status_code=404, detail="the Meta webhook is not configured") from None


@router.get("/api/webhooks/meta", response_class=PlainTextResponse, summary="Meta's webhook verification")
def verify(
    request: Request,
    caller: Anyone,
    settings: SettingsDep,
    mode: str = Query("", alias="hub.mode", max_length=32),
    token: str = Query("", alias="hub.verify_token", max_length=512),
    challenge: str = Query("", alias="hub.challenge", max_length=256),
) -> PlainTextResponse:
    expected = _secret(request, settings, settings.meta_webhook.verify_token_env)
    if mode != "subscribe" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="verification refused")
    if not challenge.isalnum():
        raise HTTPException(status_code=400, detail="hub.challenge must be letters and digits")
    return PlainTextResponse(challenge)


@router.post("/api/webhooks/meta", response_model=MetaWebhookResult, summary="Meta's webhook notifications")
async def notify(
    request: Request, caller: Anyone, settings: SettingsDep, engine: EngineDep
) -> MetaWebhookResult:
    secret = _secret(request, settings, settings.meta_webhook.app_secret_env)
    body = await bounded_body(request, settings.meta_webhook.max_body_bytes)
    signed = _SIGNATURE.fullmatch(request.headers.get("x-hub-signature-256", "").strip())
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if signed is None or not hmac.compare_digest(signed.group(1).lower(), digest):
        raise HTTPException(status_code=403, detail="bad or missing X-Hub-Signature-256")
    try:
        notification = MetaNotification.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
        raise HTTPException(status_code=400, detail=f"not a Meta notification: {str(exc)[:200]}") from None
    return await run_in_threadpool(_collect, notification, settings, engine, environ_of(request))


def _source_for(settings: Settings, account_id: str) -> SourceSettings | None:
    wanted = settings.meta_webhook.source
    for source in settings.sources:
        if source.platform != "instagram":
            continue
        if (wanted is not None and source.name == wanted) or (
            wanted is None and source.account_id == account_id
        ):
            return source
    return None


def _collect(
    notification: MetaNotification, settings: Settings, engine: Engine, environ: Mapping[str, str]
) -> MetaWebhookResult:
    mentions = inserted = updated = 0
    skipped: list[str] = []

    def skip(reason: str) -> None:
        log.warning("meta webhook: %s", reason)
        if len(skipped) < _MAX_SKIPPED:
            skipped.append(reason)

    if notification.object != "instagram":
        return MetaWebhookResult(
            mentions=0, inserted=0, updated=0, skipped=[f"object {notification.object[:32]!r} ignored"]
        )
    for entry in notification.entry:
        for change in entry.changes:
            if change.field != "mentions":
                continue
            mentions += 1
            media_id = change.value.get("media_id")
            if not isinstance(media_id, str | int) or isinstance(media_id, bool):
                skip(f"a mention without a media_id (account {entry.id[:64]})")
                continue
            source = _source_for(settings, entry.id)
            if source is None:
                skip(f"no Instagram source for account {entry.id[:64]}")
                continue
            try:
                collector = build_collector(settings, source, environ, engine=engine)
                assert isinstance(collector, InstagramCollector)
                page = collector.mentioned_media(str(media_id))
            except (CollectorError, ConfigError, ValueError) as exc:
                skip(f"media {str(media_id)[:40]}: {str(exc)[:300]}")
                continue
            brand_id = None
            if source.query is not None:
                with session_scope(engine) as session:
                    brand = brand_by_name(session, settings.query(source.query).brand)
                    brand_id = brand.id if brand else None
            # No source_id: the source's cursor belongs to its scheduled runs, never to a notification.
            result = store_page(engine, page, source=source.name, brand_id=brand_id)
            inserted += result.inserted
            updated += result.updated
    return MetaWebhookResult(mentions=mentions, inserted=inserted, updated=updated, skipped=skipped)
