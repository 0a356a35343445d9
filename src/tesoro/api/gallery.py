"""The public gallery: a JSON feed, a script-tag widget and an iframe page for the brand's site.

Only posts that a coordinator approved or featured *and* whose usage rights are
granted ever leave through here, with only the fields a public page needs (no
scores, no internal ids, no follower counts). Media URLs are kept only when
they point at a platform's own media host (settings `gallery.media_hosts`);
anything else is dropped, never proxied, so Tesoro never fetches a URL a
stranger chose.

The feed is what the marketing site hits on every page view, so it is cached:
in each API process for `cache_ttl_s` (a rendered body and its ETag), and by
browsers and CDNs for `max_age` with ETag revalidation (304 without a body).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine

from tesoro.api.auth import Access, AccessGuard, Principal
from tesoro.api.i18n import Translator, negotiate
from tesoro.api.routes_core import iso
from tesoro.api.security import MediaFilter, content_security_policy, safe_link
from tesoro.settings import Settings
from tesoro.store.browse import PostView, brand_by_slug, gallery_posts, product_by_slug, slugify
from tesoro.store.engine import session_scope

__all__ = ["GalleryCache", "build_gallery_router", "gallery_item"]

MediaType = Literal["photo", "video", "gif", "text"]


@dataclass(frozen=True, slots=True)
class _Rendered:
    body: bytes
    etag: str
    expires: float


class GalleryCache:
    """Rendered gallery bodies per (brand, product, type, limit), each kept for `ttl_s` seconds.

    A review decision in this process clears it at once; other processes see the
    change within `ttl_s`, which is why the TTL is a few seconds, not minutes.
    """

    def __init__(self, ttl_s: float, max_entries: int = 512) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: dict[tuple[str, ...], _Rendered] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> _Rendered | None:
        item = self._items.get(key)
        if item is None or item.expires < time.monotonic():
            return None
        return item

    def put(self, key: tuple[str, ...], body: bytes) -> _Rendered:
        item = _Rendered(
            body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', time.monotonic() + self.ttl_s
        )
        if self.ttl_s > 0:
            with self._lock:
                if len(self._items) >= self.max_entries:
                    self._items.clear()
                self._items[key] = item
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def gallery_item(p: PostView, media: MediaFilter) -> dict[str, Any]:
    """The public face of a post: text, who wrote it, where, when, and its allowed media."""
    items = []
    for m in p.media:
        url = m.url if media.allowed(m.url) else None
        preview = m.preview_url if media.allowed(m.preview_url) else None
        if url is None and preview is None:
            continue
        items.append(
            {
                "type": m.type,
                "url": url,
                "preview_url": preview,
                "width": m.width,
                "height": m.height,
                "alt": m.alt_text or "",
            }
        )
    return {
        "platform": p.platform,
        "text": p.text,
        "author": {"handle": p.author.handle, "name": p.author.display_name or p.author.handle},
        "permalink": safe_link(p.url),
        "created_at": iso(p.created_at),
        "featured": p.queue_state == "featured",
        "product": p.product_name,
        "media": items,
    }


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _static(name: str) -> bytes:
    return resources.files("tesoro.api").joinpath("static", name).read_bytes()


def build_gallery_router(
    engine: Engine, settings: Settings, media: MediaFilter, cache: GalleryCache, pages: Any
) -> APIRouter:
    """The gallery routes; with `gallery.require_key` the feed and embed need a key (any role)."""
    gs = settings.gallery
    access = Access.KEY if gs.require_key else Access.PUBLIC
    feed_guard = AccessGuard(access, area="gallery")
    public_guard = AccessGuard(Access.PUBLIC, area="gallery")
    cache_control = f"public, max-age={gs.max_age}, stale-while-revalidate={gs.max_age * 5}"
    frame_ancestors = "*" if "*" in gs.allowed_origins else (" ".join(gs.allowed_origins) or "'self'")
    embed_csp = content_security_policy(media=media, frame_ancestors=frame_ancestors, connect_src="'none'")
    router = APIRouter(tags=["gallery"])
    widget = _static("widget.js")

    def load(
        brand: str, product: str | None, media_type: str | None, limit: int
    ) -> tuple[str, list[PostView]]:
        with session_scope(engine) as session:
            row = brand_by_slug(session, brand)
            if row is None or row.id is None:
                raise HTTPException(404, "no such brand")
            product_id = None
            if product:
                prow = product_by_slug(session, brand_id=row.id, slug=product)
                if prow is None:
                    raise HTTPException(404, "no such product")
                product_id = prow.id
            return row.name, gallery_posts(
                session, brand_id=row.id, product_id=product_id, media_type=media_type, limit=limit
            )

    def render(brand: str, product: str | None, media_type: str | None, limit: int) -> bytes:
        name, posts = load(brand, product, media_type, limit)
        body = {
            "brand": name,
            "brand_slug": slugify(name),
            "product": product,
            "type": media_type,
            "items": [gallery_item(p, media) for p in posts],
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @router.get("/gallery/widget.js", summary="The embeddable widget script")
    async def widget_js(caller: Principal | None = Depends(public_guard)) -> Response:
        return Response(
            widget,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"},
        )

    @router.get("/gallery/{brand}.json", summary="Approved, rights-cleared posts of a brand")
    async def feed(
        request: Request,
        brand: str,
        product: str | None = Query(None, max_length=200),
        type: MediaType | None = None,
        limit: int | None = Query(None, ge=1, le=100),
        caller: Principal | None = Depends(feed_guard),
    ) -> Response:
        count = limit or gs.default_limit
        key = (brand.lower(), (product or "").lower(), type or "", str(count))
        item = cache.get(key)
        if item is None:
            body = await run_in_threadpool(render, brand, product or None, type, count)
            item = cache.put(key, body)
        headers = {"ETag": item.etag, "Cache-Control": cache_control}
        if _etag_matches(request.headers.get("if-none-match"), item.etag):
            return Response(status_code=304, headers=headers)
        return Response(item.body, media_type="application/json", headers=headers)

    @router.get(
        "/gallery/{brand}/embed", response_class=HTMLResponse, summary="The gallery as an iframe page"
    )
    def embed(
        request: Request,
        brand: str,
        product: str | None = Query(None, max_length=200),
        type: MediaType | None = None,
        limit: int | None = Query(None, ge=1, le=100),
        lang: str | None = Query(None, max_length=8),
        caller: Principal | None = Depends(feed_guard),
    ) -> Response:
        name, posts = load(brand, product or None, type, limit or gs.default_limit)
        language = negotiate(
            accept_language=request.headers.get("accept-language"),
            setting=settings.api.language,
            override=lang,
        )
        html = pages.render_string(
            "embed.html",
            t=Translator(language),
            lang=language,
            brand=name,
            items=[gallery_item(p, media) for p in posts],
        )
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": embed_csp,
                "Cache-Control": f"public, max-age={gs.max_age}",
                "Referrer-Policy": "no-referrer",
            },
        )

    return router
