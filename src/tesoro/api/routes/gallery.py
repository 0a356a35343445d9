"""The public gallery: a JSON feed, a script-tag widget and an iframe page for the brand's site.

Only posts that a coordinator approved or featured *and* whose usage rights are
granted ever leave through here, with only the fields a public page needs
(`tesoro.api.schemas.gallery`). Media URLs are kept only when they point at a
platform's own media host (settings `gallery.media_hosts`); anything else is
dropped, never proxied, so Tesoro never fetches a URL a stranger chose.

Two routers: `widget_router` is always public; `router` (feed and embed) is public
unless `gallery.require_key` is set, so `create_app` attaches its guard from the
settings when it includes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from tesoro.api.deps import Anyone, EngineDep, MediaDep, PagesDep, SettingsDep
from tesoro.api.gallery import (
    FEED_MAX_LIMIT,
    FEED_MAX_PRODUCT,
    BeaconLimiter,
    CopyCache,
    GalleryCache,
    etag_matches,
    feed_cache_control,
    feed_key,
    is_bot,
    performance_report,
    with_utm,
)
from tesoro.api.i18n import Translator, negotiate
from tesoro.api.problems import Problem
from tesoro.api.schemas.gallery import (
    Beacon,
    GalleryFeed,
    GalleryItem,
    GalleryPerformance,
    GalleryShop,
    KeptCopies,
)
from tesoro.api.security import MediaFilter, content_security_policy
from tesoro.media.copies import MediaObjects
from tesoro.settings import GallerySettings
from tesoro.store.catalog import brand_by_slug, product_by_slug, slugify
from tesoro.store.copies import KeptView, copy_to_serve, kept_for_posts, source_url, url_sha
from tesoro.store.engine import session_scope
from tesoro.store.gallery import (
    ShopLink,
    blurhashes,
    record_events,
    shop_links,
)
from tesoro.store.posts import MediaView, PostView, gallery_posts

__all__ = ["router", "stats_router", "widget_router"]

MediaType = Literal["photo", "video", "gif", "text"]  # = FEED_MEDIA_TYPES (the fast path's)

router = APIRouter(tags=["gallery"])
widget_router = APIRouter(tags=["gallery"])
stats_router = APIRouter(prefix="/api/gallery", tags=["gallery"])

_WIDGET = resources.files("tesoro.api").joinpath("static", "widget.js").read_bytes()


async def get_cache(request: Request) -> GalleryCache:
    cache: GalleryCache = request.app.state.gallery_cache
    return cache


CacheDep = Annotated[GalleryCache, Depends(get_cache)]


async def get_limiter(request: Request) -> BeaconLimiter:
    limiter: BeaconLimiter = request.app.state.beacon_limiter
    return limiter


LimiterDep = Annotated[BeaconLimiter, Depends(get_limiter)]


async def get_copy_cache(request: Request) -> CopyCache:
    cache: CopyCache = request.app.state.copy_cache
    return cache


async def get_media_store(request: Request) -> MediaObjects | None:
    store: MediaObjects | None = request.app.state.media_store
    return store


CopyCacheDep = Annotated[CopyCache, Depends(get_copy_cache)]
MediaStoreDep = Annotated[MediaObjects | None, Depends(get_media_store)]


@dataclass(frozen=True, slots=True)
class Page:
    brand: str
    posts: list[PostView]
    shops: dict[int, ShopLink]
    kept: dict[tuple[int, str], KeptView] | None = None  # None: kept copies are off
    placeholders: dict[tuple[int, str], str] | None = None


def _copies_of(kept: dict[tuple[int, str], KeptView] | None) -> KeptCopies | None:
    """The media URL each medium is served from when kept copies are on (None: not kept)."""
    if kept is None:
        return None

    def copy(post_id: int, m: MediaView) -> tuple[str, int | None, int | None] | None:
        src = source_url(m.type, m.url, m.preview_url)
        view = kept.get((post_id, url_sha(src))) if src else None
        if view is None:
            return None
        return f"/gallery/media/{view.id}-{view.etag}.jpg", view.width, view.height

    return copy


def _all_kept(p: PostView, kept: dict[tuple[int, str], KeptView], media: MediaFilter) -> bool:
    """Whether every medium the gallery would show (on an allowed host) has its kept copy."""
    for m in p.media:
        src = source_url(m.type, m.url, m.preview_url)
        if src is not None and media.allowed(src) and (p.id, url_sha(src)) not in kept:
            return False
    return True


def _shop_for(
    gs: GallerySettings, brand: str, shops: dict[int, ShopLink]
) -> Callable[[PostView], GalleryShop | None]:
    campaign = gs.utm_campaign or slugify(brand)

    def shop(p: PostView) -> GalleryShop | None:
        link = shops.get(p.product_id) if p.product_id is not None else None
        if link is None or not link.shop_url:
            return None
        url = with_utm(
            link.shop_url,
            source=gs.utm_source,
            medium=gs.utm_medium,
            campaign=campaign,
            content=f"{p.platform}:{p.external_id}",
        )
        return GalleryShop(product=link.name, url=url)

    return shop


def _load(
    engine: Engine,
    settings: GallerySettings,
    media: MediaFilter,
    brand: str,
    product: str | None,
    media_type: str | None,
    limit: int,
) -> Page:
    with session_scope(engine) as session:
        row = brand_by_slug(session, brand)
        if row is None or row.id is None:
            raise Problem("not_found", "no such brand")
        product_id = None
        if product:
            prow = product_by_slug(session, brand_id=row.id, slug=product)
            if prow is None:
                raise Problem("not_found", "no such product")
            product_id = prow.id
        copies = settings.copies
        # With kept copies on, a post whose copy is missing is left out: ask for more to fill the page.
        wanted = min(limit * 2 + 8, 300) if copies else limit
        posts = gallery_posts(
            session, brand_id=row.id, product_id=product_id, media_type=media_type, limit=wanted
        )
        kept = None
        if copies:
            kept = kept_for_posts(session, post_ids=[p.id for p in posts])
            posts = [p for p in posts if _all_kept(p, kept, media)][:limit]
        shops = shop_links(session, product_ids=[p.product_id for p in posts if p.product_id is not None])
        placeholders = blurhashes(session, post_ids=[p.id for p in posts])
        return Page(row.name, posts, shops, kept, placeholders)


def _render(
    engine: Engine,
    media: MediaFilter,
    gs: GallerySettings,
    brand: str,
    product: str | None,
    media_type: str | None,
    limit: int,
) -> bytes:
    page = _load(engine, gs, media, brand, product, media_type, limit)
    shop = _shop_for(gs, page.brand, page.shops)
    copies = _copies_of(page.kept)
    feed = GalleryFeed(
        brand=page.brand,
        brand_slug=slugify(page.brand),
        product=product,
        type=media_type,
        items=[GalleryItem.from_view(p, media, shop, copies, page.placeholders) for p in page.posts],
    )
    return feed.model_dump_json().encode("utf-8")


class JavaScriptResponse(Response):
    media_type = "text/javascript; charset=utf-8"


@widget_router.get(
    "/gallery/widget.js", response_class=JavaScriptResponse, summary="The embeddable widget script"
)
async def widget_js(caller: Anyone) -> JavaScriptResponse:
    return JavaScriptResponse(
        _WIDGET,
        headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"},
    )


@router.api_route(
    "/gallery/{brand}.json",
    methods=["GET", "HEAD"],  # HEAD: CDNs and uptime checks ask it; the server sends no body
    response_class=Response,
    # The body is rendered once and cached as bytes: documented here, not validated per request.
    responses={200: {"model": GalleryFeed, "description": "Approved, rights-cleared posts"}},
    summary="Approved, rights-cleared posts of a brand",
)
async def feed(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    media: MediaDep,
    cache: CacheDep,
    brand: str,
    product: str | None = Query(None, max_length=FEED_MAX_PRODUCT),
    type: MediaType | None = None,
    limit: int | None = Query(None, ge=1, le=FEED_MAX_LIMIT),
) -> Response:
    gs = settings.gallery
    count = limit or gs.default_limit
    key = feed_key(brand, product, type, count)
    item = cache.get(key)
    if item is None:  # one render per key and process, however many requests miss at once
        item = await run_in_threadpool(
            cache.get_or_render, key, partial(_render, engine, media, gs, brand, product or None, type, count)
        )
    headers = {
        "ETag": item.etag,
        "Cache-Control": feed_cache_control(gs),
    }
    # `tesoro.api.gallery.FeedFastPath` answers a kept body before the app; keep the two alike.
    if etag_matches(request.headers.get("if-none-match"), item.etag):
        return Response(status_code=304, headers=headers)
    return Response(item.body, media_type="application/json", headers=headers)


_MEDIA_NAME = re.compile(r"^([1-9][0-9]{0,11})-([0-9a-f]{32})\.jpg$")
_IMMUTABLE = "public, max-age=31536000, immutable"


def _load_copy(engine: Engine, store: MediaObjects, copy_id: int) -> tuple[str, str, bytes] | None:
    with session_scope(engine) as session:
        served = copy_to_serve(session, copy_id=copy_id)
    if served is None:
        return None
    body = store.get(served.object_key)
    if body is None:
        return None
    return served.etag, served.content_type, body


# Public even when the feed needs a key: an <img> cannot send one, and the name (id and a 128-bit
# content hash) is only known from the feed.
@widget_router.api_route(
    "/gallery/media/{name}",
    methods=["GET", "HEAD"],
    response_class=Response,
    responses={
        200: {
            "content": {"image/jpeg": {}},
            "description": "A kept copy (immutable: the name changes with it)",
        },
        404: {"description": "No such copy, or its post's rights were revoked"},
    },
    summary="A kept copy of a rights-cleared post's picture",
)
async def kept_media(
    caller: Anyone, request: Request, engine: EngineDep, cache: CopyCacheDep, store: MediaStoreDep, name: str
) -> Response:
    match = _MEDIA_NAME.match(name)
    if match is None or store is None:
        raise Problem("not_found", "no such picture")
    copy_id, etag = int(match.group(1)), match.group(2)
    found = cache.get(copy_id)
    if found is None:
        found = await run_in_threadpool(_load_copy, engine, store, copy_id)
        if found is None:
            raise Problem("not_found", "no such picture")
        cache.put(copy_id, *found)
    if found[0] != etag:  # an older copy's name: the page must ask for the current one
        raise Problem("not_found", "no such picture")
    headers = {
        "ETag": f'"{etag}"',
        "Cache-Control": _IMMUTABLE,
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if etag_matches(request.headers.get("if-none-match"), f'"{etag}"'):
        return Response(status_code=304, headers=headers)
    return Response(found[2], media_type=found[1], headers=headers)


@router.get("/gallery/{brand}/embed", response_class=HTMLResponse, summary="The gallery as an iframe page")
def embed(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    media: MediaDep,
    pages: PagesDep,
    brand: str,
    product: str | None = Query(None, max_length=200),
    type: MediaType | None = None,
    limit: int | None = Query(None, ge=1, le=100),
    lang: str | None = Query(None, max_length=8),
) -> HTMLResponse:
    gs = settings.gallery
    loaded = _load(engine, gs, media, brand, product or None, type, limit or gs.default_limit)
    shop = _shop_for(gs, loaded.brand, loaded.shops)
    copies = _copies_of(loaded.kept)
    language = negotiate(
        accept_language=request.headers.get("accept-language"), setting=settings.api.language, override=lang
    )
    html = pages.render_string(
        "embed.html",
        t=Translator(language),
        lang=language,
        brand=loaded.brand,
        brand_slug=slugify(loaded.brand),
        beacon=gs.beacon_enabled,
        items=[GalleryItem.from_view(p, media, shop, copies).model_dump() for p in loaded.posts],
    )
    frame_ancestors = "*" if "*" in gs.allowed_origins else (" ".join(gs.allowed_origins) or "'self'")
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": content_security_policy(
                media=media,
                frame_ancestors=frame_ancestors,
                connect_src="'self'" if gs.beacon_enabled else "'none'",
            ),
            "Cache-Control": f"public, max-age={gs.max_age}",
            "Referrer-Policy": "no-referrer",
        },
    )


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes (a declared length over it is refused unread)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _inline_schema(model: type[Beacon]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place (the body is not a FastAPI param)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return expand(defs[ref.rsplit("/", 1)[-1]])
            return {k: expand(v) for k, v in node.items()}
        if isinstance(node, list):
            return [expand(v) for v in node]
        return node

    out: dict[str, Any] = expand(schema)
    return out


_BEACON_SCHEMA = _inline_schema(Beacon)


def _record(engine: Engine, beacon: Beacon) -> int:
    with session_scope(engine) as session:
        brand = brand_by_slug(session, beacon.brand)
        if brand is None or brand.id is None:
            return 0
        return record_events(
            session,
            brand_id=brand.id,
            events=[(e.key, e.kind) for e in beacon.events],
            day=datetime.now(UTC).date(),
        )


@widget_router.post(
    "/gallery/beacon",
    status_code=204,
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            # The widget sends text/plain (a "simple" request: no CORS preflight); JSON is read the same.
            "content": {
                "application/json": {"schema": _BEACON_SCHEMA},
                "text/plain": {"schema": _BEACON_SCHEMA},
            },
        }
    },
    responses={
        204: {"description": "Received (bots and unknown tiles are received and not counted)"},
        422: {"description": "Not a beacon"},
        413: {"description": "Body over [gallery] beacon_max_bytes"},
        429: {"description": "Over [gallery] beacon_per_minute for this address"},
    },
    summary="Record gallery impressions and clicks (the widget and the iframe send these)",
)
async def beacon(
    caller: Anyone, request: Request, engine: EngineDep, settings: SettingsDep, limiter: LimiterDep
) -> Response:
    gs = settings.gallery
    # Sent as text/plain with credentials omitted: a "simple" request, no preflight, no cookie.
    headers = {"Cache-Control": "no-store"}
    if not gs.beacon_enabled:
        return Response(status_code=204, headers=headers)
    if not limiter.allow(_client(request)):
        raise Problem("rate_limited", "too many beacons from this address; try again in a minute")
    body = await _bounded_body(request, gs.beacon_max_bytes)
    if body is None:
        raise Problem("too_large", f"a beacon is at most {gs.beacon_max_bytes} bytes")
    if is_bot(
        request.headers.get("user-agent"),
        request.headers.get("sec-purpose") or request.headers.get("purpose"),
    ):
        return Response(status_code=204, headers=headers)
    try:
        parsed = Beacon.model_validate_json(body)
    except ValidationError:
        raise Problem("bad_request", "not a beacon: send {brand, events: [{key, kind}]} as JSON") from None
    if len(parsed.events) > gs.beacon_max_events:
        raise Problem("too_large", f"a beacon holds at most {gs.beacon_max_events} events")
    if parsed.events:
        await run_in_threadpool(_record, engine, parsed)
    return Response(status_code=204, headers=headers)


@stats_router.get(
    "/performance", response_model=GalleryPerformance, summary="Gallery performance: CTR per post and product"
)
def performance(
    engine: EngineDep,
    brand: str = Query(max_length=200, description="the brand's gallery slug"),
    days: int = Query(30, ge=1, le=365),
    limit: int = Query(100, ge=1, le=1000, description="posts listed, most clicked first"),
) -> GalleryPerformance:
    return performance_report(engine, brand, days, limit)
