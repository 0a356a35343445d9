"""The HTTP application: `create_app(settings, engine)`.

One app serves the three consumers: integrations (the JSON API under /api, with
keys), the coordinator (the web UI under /ui, with a login session) and the
brand's site (the public gallery under /gallery). Other areas contribute their
routers (`tesoro.api.routes_curator`, `routes_insights`, `routes_alerts`, each
with a `router(engine, settings)` factory); they are included when present,
behind the role policy of their area, and the app refuses to start if any route
ends up without an access guard.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.responses import Response
from starlette.types import Scope

from tesoro import __version__
from tesoro.api.auth import (
    AREA_POLICIES,
    PUBLIC,
    AccessGuard,
    Authenticator,
    NotAuthenticated,
    Principal,
    iter_routes,
)
from tesoro.api.gallery import GalleryCache, build_gallery_router
from tesoro.api.i18n import Translator
from tesoro.api.routes_core import build_core_router
from tesoro.api.security import (
    GalleryCorsMiddleware,
    LoginRateLimiter,
    LoginRateLimitMiddleware,
    MediaFilter,
    SecurityHeadersMiddleware,
    SessionSigner,
    load_session_secret,
)
from tesoro.api.ui import Pages, build_ui_router, login_redirect, wants_html
from tesoro.settings import Settings

__all__ = ["create_app", "include_area_routers"]


def include_area_routers(app: FastAPI, engine: Engine, settings: Settings) -> dict[str, bool]:
    """Include each other area's router that exists, behind its area's policy; report which did.

    A module that is missing is skipped (that area is "not available yet" in the UI);
    a module that exists but fails to import is an error, not silently skipped.
    """
    features: dict[str, bool] = {}
    for area, policy in AREA_POLICIES.items():
        module_name = f"tesoro.api.routes_{area}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            features[area] = False
            continue
        router = module.router(engine, settings)
        app.include_router(router, dependencies=[Depends(AccessGuard(policy.read, policy.write, area=area))])
        features[area] = True
    return features


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


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """Build the app for `settings` over the store behind `engine` (already migrated)."""
    app = FastAPI(
        title="Tesoro",
        version=__version__,
        description="Social listening and UGC curation. Send a key as `Authorization: Bearer tso_...`.",
        # The stock /docs page loads its assets from a CDN; Tesoro serves its own, offline, at /docs.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    media = MediaFilter(settings.gallery.media_hosts)
    auth = Authenticator(
        engine,
        signer=SessionSigner(load_session_secret(settings)),
        session_ttl_s=settings.api.session_ttl,
    )
    cache = GalleryCache(settings.gallery.cache_ttl_s)
    app.state.settings = settings
    app.state.engine = engine
    app.state.auth = auth
    app.state.gallery_cache = cache
    app.state.on_review_change = [cache.clear]

    @app.get("/healthz", tags=["health"], summary="Liveness and database check")
    def healthz(caller: Annotated[Principal | None, Depends(PUBLIC)]) -> dict[str, Any]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    # Other areas first: on an exact path clash their route wins over a fallback of ours.
    features = include_area_routers(app, engine, settings)
    app.state.features = features
    pages = Pages(settings, media, features)
    app.include_router(build_core_router(engine, settings, media))
    app.include_router(build_gallery_router(engine, settings, media, cache, pages))
    app.include_router(build_ui_router(engine, settings, pages, auth))
    app.mount("/static", StaticFiles(packages=[("tesoro.api", "static")]), name="static")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
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
    app.add_middleware(GalleryCorsMiddleware, origins=settings.gallery.allowed_origins)
    app.add_middleware(SecurityHeadersMiddleware)
    _check_guards(app)
    return app
