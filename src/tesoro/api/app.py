"""The HTTP application: `create_app(settings, engine)`.

One app serves the three consumers: integrations (the JSON API under /api, with
keys), the coordinator (the web UI under /ui, with a login session) and the
brand's site (the public gallery under /gallery). The routers are listed below,
each with the access policy of its area where it is not written on each route,
and the app refuses to start if any route ends up without an access guard.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Scope

from tesoro import __version__
from tesoro.api.auth import (
    AREA_POLICIES,
    Access,
    AccessGuard,
    Authenticator,
    NotAuthenticated,
    Principal,
    iter_routes,
)
from tesoro.api.gallery import BeaconLimiter, CopyCache, FeedFastPath, GalleryCache
from tesoro.api.i18n import Translator
from tesoro.api.pages import Pages, login_redirect, wants_html
from tesoro.api.request_id import RequestIdMiddleware
from tesoro.api.routes import (
    alerts,
    charts,
    corrections,
    favicon,
    gallery,
    health,
    insights,
    keys,
    library,
    listening,
    meta_webhook,
    posts,
    quarantine,
    queue,
    ranker,
    rights,
    tiktok_webhook,
    ui,
    ui_admin,
)
from tesoro.api.routes import media as media_routes
from tesoro.api.security import (
    SAFE_METHODS,
    GalleryCorsMiddleware,
    LoginRateLimiter,
    LoginRateLimitMiddleware,
    MediaFilter,
    RequestGuardMiddleware,
    SecurityHeadersMiddleware,
    SessionSigner,
    load_session_secret,
    security_headers,
)
from tesoro.api.source_runs import SourceRuns
from tesoro.api.warmup import Warmup
from tesoro.media.copies import open_media_store
from tesoro.search.index import LibraryIndex
from tesoro.search.library import Encode, Library, MeaningUnavailable
from tesoro.settings import Settings

__all__ = ["create_app", "init_state"]

# Seconds a shutting-down app waits for the collections webhooks started.
_RUNS_GRACE_S = 10.0

# Routers whose routes carry their own guard (`caller: Reader`, `caller: Admin`...).
OWN_GUARDS: tuple[APIRouter, ...] = (
    health.router,
    favicon.router,
    meta_webhook.router,
    tiktok_webhook.router,
    posts.router,
    media_routes.router,
    keys.router,
    quarantine.router,
    gallery.widget_router,
    ui.router,
    ui_admin.router,
    listening.router,
    rights.consent_router,
)
# Routers of an area: every route gets the area's policy (reads / writes) where it is included.
AREAS: tuple[tuple[str, APIRouter], ...] = (
    ("curator", queue.router),
    ("curator", library.router),
    ("curator", ranker.router),
    ("curator", corrections.router),
    ("curator", rights.router),
    ("curator", gallery.stats_router),
    ("insights", insights.router),
    ("insights", charts.router),
    ("alerts", alerts.router),
)


def _check_guards(app: FastAPI) -> None:
    """Fail at start-up, not in production, if any route could be reached without the role check."""
    problems = []
    for route in iter_routes(app.routes):
        if route.is_api and route.guard is None:
            problems.append(f"{','.join(sorted(route.methods))} {route.path}")
        elif not route.is_api and route.name != "static":
            problems.append(
                f"{route.name or '?'} {route.path} (not an API route, so it cannot carry a guard)"
            )
    if problems:
        raise RuntimeError("routes without an access guard: " + "; ".join(problems))


def _public_writes(app: FastAPI) -> list[re.Pattern[str]]:
    """The paths a write may reach without credentials (the login form, logout), from the routes' guards."""
    return [
        compile_path(route.path)[0]
        for route in iter_routes(app.routes)
        if route.guard is not None
        and any(route.guard.access_for(m) is Access.PUBLIC for m in route.methods - SAFE_METHODS)
    ]


# The 422 answers: FastAPI's validation errors (a field named in `loc`), or a problem whose
# `detail` says in words what is wrong with the request (`tesoro.api.problems`, code bad_request).
_PROBLEM_422: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "anyOf": [
                {"type": "string"},
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["msg"],
                        "properties": {"loc": {"type": "array"}, "msg": {"type": "string"}},
                    },
                },
            ]
        }
    },
}


def _document_422(app: FastAPI) -> None:
    """Have the OpenAPI document say what a 422 really holds: either shape above."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        for item in spec.get("paths", {}).values():
            for operation in item.values():
                answer = operation.get("responses", {}).get("422") if isinstance(operation, dict) else None
                content = (answer or {}).get("content", {}).get("application/json")
                if content is not None:
                    content["schema"] = {"anyOf": [content["schema"], _PROBLEM_422]}
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _lazy_encoder(settings: Settings) -> Encode:
    """The scoring encoder, loaded on the first meaning query (loading costs a second and ~100 MB)."""
    holder: dict[str, Any] = {}
    lock = threading.Lock()

    def encode(texts: list[str]) -> npt.NDArray[np.float32]:
        with lock:
            if "encoder" not in holder:
                try:
                    # Deferred: the encoder imports torch or onnxruntime, which a process may never need.
                    from tesoro.scoring.encoders import load_encoder

                    holder["encoder"] = load_encoder(
                        settings.models.encoder, settings.models.device, batch_size=settings.models.batch_size
                    )
                except Exception as exc:  # ImportError, ModelLoadError, OSError: the model is not usable here
                    raise MeaningUnavailable(f"search by meaning is unavailable: {exc}") from exc
        return np.asarray(holder["encoder"].encode(texts), dtype=np.float32)

    return encode


def init_state(app: FastAPI, settings: Settings, engine: Engine, *, encode: Encode | None = None) -> None:
    """Put what the routes' dependencies read on `app.state` (`tesoro.api.deps`).

    `create_app` calls it; a test that mounts one router on a bare app calls it too.
    `encode` embeds meaning queries (default: the scoring encoder, loaded on first use).
    """
    media = MediaFilter(settings.gallery.media_hosts)
    cache = GalleryCache(settings.gallery.cache_ttl_s)
    index = LibraryIndex(
        quantized=settings.curator.vector_scan != "float32",
        # With `[search] snapshot_interval_s`, the index maps the snapshots the worker writes.
        snapshots=settings.index_snapshots(),
        snapshot_check_s=settings.search.snapshot_check_s,
        verify_snapshots=settings.search.snapshot_verify,
    )
    library = Library(engine, settings.curator, encode=encode or _lazy_encoder(settings), index=index)
    app.state.settings = settings
    app.state.engine = engine
    app.state.media = media
    app.state.gallery_cache = cache
    app.state.beacon_limiter = BeaconLimiter(settings.gallery.beacon_per_minute)
    copies = CopyCache(settings.gallery.cache_ttl_s)
    app.state.copy_cache = copies
    app.state.media_store = open_media_store(settings) if settings.gallery.copies else None
    app.state.library = library
    app.state.pages = Pages(settings, media)
    counts = queue.QueueCounts()
    app.state.queue_counts = counts
    # What a review write makes stale: the library's index, the rendered gallery feeds, the copies
    # served, the queue's kept counts.
    app.state.on_review_change = [library.invalidate, cache.clear, copies.clear, counts.clear]
    # Collections a webhook started (`/api/webhooks/tiktok`), coalesced per source.
    app.state.source_runs = SourceRuns()


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    encode: Encode | None = None,
    environ: Mapping[str, str] | None = None,
    warm_up: bool = False,
) -> FastAPI:
    """Build the app for `settings` over the store behind `engine` (already migrated); `environ` holds
    the secrets the settings name (default: the process environment). With `warm_up` (servers do),
    the library index and the encoder load in the background once the server starts (`api.warmup`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            app.state.warmup.start()
        yield
        # A webhook-started collection gets a moment to finish; one cut short resumes from its cursor.
        await run_in_threadpool(app.state.source_runs.close, _RUNS_GRACE_S)

    app = FastAPI(
        lifespan=lifespan,
        title="Tesoro",
        version=__version__,
        description="Social listening and UGC curation. Send a key as `Authorization: Bearer tso_...`.",
        # The stock /docs page loads its assets from a CDN; Tesoro serves its own, offline, at /docs.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    init_state(app, settings, engine, encode=encode)
    app.state.warmup = Warmup(app.state.library)
    app.state.environ = os.environ if environ is None else environ
    app.state.auth = Authenticator(
        engine,
        signer=SessionSigner(load_session_secret(settings)),
        session_ttl_s=settings.api.session_ttl,
    )
    for router in OWN_GUARDS:
        app.include_router(router)
    if settings.ops.metrics_access != "off":
        public = settings.ops.metrics_access == "public"
        app.include_router(health.public_metrics_router if public else health.admin_metrics_router)
    for area, router in AREAS:
        policy = AREA_POLICIES[area]
        app.include_router(router, dependencies=[Depends(AccessGuard(policy.read, policy.write, area=area))])
    feed_access = Access.KEY if settings.gallery.require_key else Access.PUBLIC
    app.include_router(gallery.router, dependencies=[Depends(AccessGuard(feed_access, area="gallery"))])
    app.mount("/static", StaticFiles(packages=[("tesoro.api", "static")]), name="static")
    pages: Pages = app.state.pages

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        """Every problem (`tesoro.api.problems`) as JSON, or as a page for a browser on /ui/."""
        if isinstance(exc, NotAuthenticated) and wants_html(request):
            return login_redirect(request)
        if wants_html(request) and request.url.path.startswith("/ui/"):
            principal = getattr(request.state, "principal", None)
            key = {403: "error.forbidden", 404: "error.not_found"}.get(exc.status_code)
            return pages.render(
                request,
                "error.html",
                principal=principal,
                page="error",
                status=exc.status_code,
                message_key=key,
                detail=str(exc.detail),
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> Response:
        """FastAPI's 422, written as ASCII JSON: the input it echoes may hold a lone surrogate."""
        body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        """A 500, answered outside the middlewares: with the same security headers as every response."""
        response = Response(
            json.dumps({"detail": "internal server error"}), status_code=500, media_type="application/json"
        )
        security_headers(response.headers)
        return response

    limiter: LoginRateLimiter | None = None
    if settings.api.login_max_failures > 0:
        limiter = LoginRateLimiter(
            max_failures=settings.api.login_max_failures, window_s=settings.api.login_failure_window
        )

        def blocked_page(scope: Scope, wait: int) -> Response:
            request = Request(scope)
            message = Translator(pages.language(request)[0])("login.too_many", minutes=max(1, -(-wait // 60)))
            return pages.render(
                request,
                "error.html",
                principal=None,
                page="error",
                status=429,
                message_key=None,
                detail=message,
            )

        app.add_middleware(LoginRateLimitMiddleware, limiter=limiter, blocked_page=blocked_page)
    app.state.login_limiter = limiter
    auth: Authenticator = app.state.auth

    async def identify(scope: Scope) -> Principal | None:
        return await auth.principal(Request(scope))

    app.add_middleware(
        RequestGuardMiddleware,
        max_body_bytes=settings.api.max_body_bytes,
        identify=identify,
        public_writes=_public_writes(app),
    )
    app.add_middleware(GalleryCorsMiddleware, origins=settings.gallery.allowed_origins)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestIdMiddleware)
    if not settings.gallery.require_key:
        # Outermost of the app's own: a kept feed body is answered before the stack above runs.
        app.add_middleware(FeedFastPath, state=app.state, gallery=settings.gallery)
    _check_guards(app)
    _document_422(app)
    return app
