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

from importlib import resources
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine

from tesoro.api.deps import Anyone, EngineDep, MediaDep, PagesDep, SettingsDep
from tesoro.api.gallery import GalleryCache
from tesoro.api.i18n import Translator, negotiate
from tesoro.api.problems import Problem
from tesoro.api.schemas.gallery import GalleryFeed, GalleryItem
from tesoro.api.security import MediaFilter, content_security_policy
from tesoro.store.catalog import brand_by_slug, product_by_slug, slugify
from tesoro.store.engine import session_scope
from tesoro.store.posts import PostView, gallery_posts

__all__ = ["router", "widget_router"]

MediaType = Literal["photo", "video", "gif", "text"]

router = APIRouter(tags=["gallery"])
widget_router = APIRouter(tags=["gallery"])

_WIDGET = resources.files("tesoro.api").joinpath("static", "widget.js").read_bytes()


async def get_cache(request: Request) -> GalleryCache:
    cache: GalleryCache = request.app.state.gallery_cache
    return cache


CacheDep = Annotated[GalleryCache, Depends(get_cache)]


def _load(
    engine: Engine, brand: str, product: str | None, media_type: str | None, limit: int
) -> tuple[str, list[PostView]]:
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
        return row.name, gallery_posts(
            session, brand_id=row.id, product_id=product_id, media_type=media_type, limit=limit
        )


def _render(
    engine: Engine, media: MediaFilter, brand: str, product: str | None, media_type: str | None, limit: int
) -> bytes:
    name, posts = _load(engine, brand, product, media_type, limit)
    feed = GalleryFeed(
        brand=name,
        brand_slug=slugify(name),
        product=product,
        type=media_type,
        items=[GalleryItem.from_view(p, media) for p in posts],
    )
    return feed.model_dump_json().encode("utf-8")


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


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


@router.get(
    "/gallery/{brand}.json",
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
    product: str | None = Query(None, max_length=200),
    type: MediaType | None = None,
    limit: int | None = Query(None, ge=1, le=100),
) -> Response:
    gs = settings.gallery
    count = limit or gs.default_limit
    key = (brand.lower(), (product or "").lower(), type or "", str(count))
    item = cache.get(key)
    if item is None:
        body = await run_in_threadpool(_render, engine, media, brand, product or None, type, count)
        item = cache.put(key, body)
    headers = {
        "ETag": item.etag,
        "Cache-Control": f"public, max-age={gs.max_age}, stale-while-revalidate={gs.max_age * 5}",
    }
    if _etag_matches(request.headers.get("if-none-match"), item.etag):
        return Response(status_code=304, headers=headers)
    return Response(item.body, media_type="application/json", headers=headers)


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
    name, posts = _load(engine, brand, product or None, type, limit or gs.default_limit)
    language = negotiate(
        accept_language=request.headers.get("accept-language"), setting=settings.api.language, override=lang
    )
    html = pages.render_string(
        "embed.html",
        t=Translator(language),
        lang=language,
        brand=name,
        items=[GalleryItem.from_view(p, media).model_dump() for p in posts],
    )
    frame_ancestors = "*" if "*" in gs.allowed_origins else (" ".join(gs.allowed_origins) or "'self'")
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": content_security_policy(
                media=media, frame_ancestors=frame_ancestors, connect_src="'none'"
            ),
            "Cache-Control": f"public, max-age={gs.max_age}",
            "Referrer-Policy": "no-referrer",
        },
    )
