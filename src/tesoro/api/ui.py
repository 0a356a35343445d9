"""The coordinator's web UI: server-rendered pages, a login that turns a key into a session.

Pages are Jinja2 templates with autoescaping on (every post text, name and URL
is escaped by the template engine, never by hand) and small vanilla scripts
from /static that build the DOM with textContent. No inline script or style
exists, so the Content-Security-Policy can forbid both; the page's data reaches
the scripts as a JSON block that the browser never executes.

Pages that need another area's router (KPIs, ROR history) check whether it was
included and otherwise say "not available yet" instead of failing.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.engine import Engine

from tesoro import __version__
from tesoro.api.auth import (
    PUBLIC,
    READ,
    ROLE_MATRIX,
    SESSION_COOKIE,
    Access,
    Authenticator,
    Principal,
    Role,
    iter_routes,
)
from tesoro.api.i18n import MESSAGES, Translator, negotiate
from tesoro.api.routes_core import author_detail_json, iso
from tesoro.api.security import (
    CSRF_FORM_FIELD,
    MediaFilter,
    check_csrf,
    content_security_policy,
    form_fields,
    safe_link,
    safe_next,
)
from tesoro.settings import Settings
from tesoro.store.browse import author_detail, overview
from tesoro.store.catalog import list_brands
from tesoro.store.engine import session_scope
from tesoro.store.sources import list_sources

__all__ = ["INSIGHTS_ENDPOINTS", "LANG_COOKIE", "Pages", "build_ui_router"]

LANG_COOKIE = "tesoro_lang"
LOGIN_CSRF_COOKIE = "tesoro_login_csrf"
# Where the UI looks for the insights area's data (issue 6). Fetched only when that router is included;
# any failure (404, another shape) shows "not available yet" rather than breaking the page.
INSIGHTS_ENDPOINTS: Mapping[str, str] = {
    "kpis": "/api/kpis",
    "ror_history": "/api/authors/{author_id}/ror",
    "author_events": "/api/authors/{author_id}/events",
    "ror_leaderboard": "/api/ror/leaderboard",
    "chart_volume": "/api/charts/volume.svg",
    "chart_sentiment": "/api/charts/sentiment.svg",
    "chart_share_of_voice": "/api/charts/share-of-voice.svg",
    "chart_leaderboard": "/api/charts/ror-leaderboard.svg",
    "chart_ror_history": "/api/charts/ror-history.svg?author_id={author_id}",
}
Viewer = Annotated[Principal | None, Depends(READ)]
Anyone = Annotated[Principal | None, Depends(PUBLIC)]


class Pages:
    """Renders templates with the language, the caller, the CSRF token and a strict CSP."""

    def __init__(self, settings: Settings, media: MediaFilter, features: Mapping[str, bool]) -> None:
        self.settings = settings
        self.media = media
        self.features = dict(features)
        self.env = Environment(
            loader=PackageLoader("tesoro.api", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["static"] = lambda name: f"/static/{name}?v={__version__}"
        self.env.globals["safe_link"] = safe_link
        self.csp = content_security_policy(media=media)

    def language(self, request: Request) -> tuple[str, bool]:
        """The page's language, and whether it was chosen just now with ?lang= (then remembered)."""
        chosen = request.query_params.get("lang")
        lang = negotiate(
            accept_language=request.headers.get("accept-language"),
            setting=self.settings.api.language,
            override=chosen or request.cookies.get(LANG_COOKIE),
        )
        return lang, chosen == lang

    def render_string(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)

    def render(
        self,
        request: Request,
        name: str,
        *,
        principal: Principal | None,
        page: str,
        data: Mapping[str, Any] | None = None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        lang, remember = self.language(request)
        t = Translator(lang)
        page_data = {
            "page": page,
            "lang": lang,
            "messages": MESSAGES[lang],
            "role": principal.role.value if principal else None,
            "can_review": bool(principal and principal.role in ROLE_MATRIX[Access.REVIEW]),
            "features": self.features,
            "insights": INSIGHTS_ENDPOINTS,
            **(data or {}),
        }
        html = self.render_string(
            name,
            t=t,
            lang=lang,
            page=page,
            principal=principal,
            csrf_token=(principal.csrf_token if principal else None) or "",
            page_data=page_data,
            features=self.features,
            can_review=page_data["can_review"],
            **context,
        )
        response = HTMLResponse(
            html,
            status_code=status,
            headers={"Content-Security-Policy": self.csp, "Cache-Control": "no-store"},
        )
        if remember:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax")
        return response


def _secure(request: Request, mode: str) -> bool:
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def _docs_rows(app: FastAPI) -> list[dict[str, Any]]:
    rows = []
    for route in iter_routes(app.routes):
        if not route.include_in_schema or not route.is_api:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            access = route.guard.access_for(method) if route.guard else Access.ADMIN
            roles = sorted(r.value for r in ROLE_MATRIX[access])
            rows.append(
                {
                    "method": method,
                    "path": route.path,
                    "summary": route.summary or route.name,
                    "public": access is Access.PUBLIC,
                    "roles": ", ".join(roles),
                }
            )
    return sorted(rows, key=lambda r: (r["path"], r["method"]))


def build_ui_router(engine: Engine, settings: Settings, pages: Pages, auth: Authenticator) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    ttl = settings.api.session_ttl
    secure_mode = settings.api.secure_cookies

    @router.get("/")
    def root(caller: Anyone) -> RedirectResponse:
        return RedirectResponse("/ui/queue", status_code=303)

    # --- login / logout ------------------------------------------------------------------------------

    def login_page(request: Request, *, error: str | None, status: int, next_url: str) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = pages.render(
            request,
            "login.html",
            principal=None,
            page="login",
            status=status,
            error=error,
            next_url=next_url,
            login_csrf=token,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            samesite="strict",
            path="/login",
            secure=_secure(request, secure_mode),
        )
        return response

    @router.get("/login", response_class=HTMLResponse)
    def login_form(caller: Anyone, request: Request, next: str | None = None) -> Response:
        if caller is not None and caller.via == "session":
            return RedirectResponse(safe_next(next), status_code=303)
        return login_page(request, error=None, status=200, next_url=safe_next(next))

    @router.post("/login", response_class=HTMLResponse)
    async def login(caller: Anyone, request: Request) -> Response:
        form = form_fields(await request.body())
        next_url = safe_next(form.get("next"))
        t = Translator(pages.language(request)[0])
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        supplied = form.get(CSRF_FORM_FIELD, "")
        if not expected or not secrets.compare_digest(expected.encode(), supplied.encode()):
            return login_page(request, error=t("login.bad_csrf"), status=400, next_url=next_url)
        result = await run_in_threadpool(auth.login, form.get("key", ""))
        if result is None:
            return login_page(request, error=t("login.bad_key"), status=401, next_url=next_url)
        cookie, principal = result
        if principal.role not in ROLE_MATRIX[Access.READ]:
            await run_in_threadpool(auth.logout, cookie)
            return login_page(request, error=t("login.bad_role"), status=403, next_url=next_url)
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=ttl,
            httponly=True,
            samesite="lax",
            secure=_secure(request, secure_mode),
            path="/",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @router.post("/logout")
    async def logout(caller: Anyone, request: Request) -> Response:
        cookie = request.cookies.get(SESSION_COOKIE)
        if caller is not None and caller.via == "session" and cookie:
            await check_csrf(request, caller.csrf_token)
            await run_in_threadpool(auth.logout, cookie)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # --- pages ---------------------------------------------------------------------------------------

    @router.get("/ui/queue", response_class=HTMLResponse)
    def queue_page(caller: Viewer, request: Request) -> HTMLResponse:
        return pages.render(request, "queue.html", principal=caller, page="queue")

    @router.get("/ui/library", response_class=HTMLResponse)
    def library_page(caller: Viewer, request: Request) -> HTMLResponse:
        return pages.render(request, "library.html", principal=caller, page="library")

    @router.get("/ui/authors/{author_id}", response_class=HTMLResponse)
    def author_page(caller: Viewer, request: Request, author_id: int) -> HTMLResponse:
        with session_scope(engine) as session:
            detail = author_detail(session, author_id=author_id)
        if detail is None:
            raise HTTPException(404, f"no author {author_id}")
        return pages.render(
            request,
            "author.html",
            principal=caller,
            page="author",
            data={"author": author_detail_json(detail, pages.media)},
            detail=detail,
            media=pages.media,
        )

    @router.get("/ui/dashboard", response_class=HTMLResponse)
    def dashboard_page(caller: Viewer, request: Request) -> HTMLResponse:
        with session_scope(engine) as session:
            o = overview(session)
            brands = [{"id": b.id, "name": b.name} for b in list_brands(session)]
        data = {
            "overview": {
                "daily": o.daily,
                "by_state": o.by_state,
                "by_platform": o.by_platform,
                "since": iso(o.since),
            },
            "brands": brands,
        }
        return pages.render(request, "dashboard.html", principal=caller, page="dashboard", data=data, o=o)

    @router.get("/ui/sources", response_class=HTMLResponse)
    def sources_page(caller: Viewer, request: Request) -> HTMLResponse:
        with session_scope(engine) as session:
            rows = list_sources(session)
        return pages.render(request, "sources.html", principal=caller, page="sources", sources=rows)

    @router.get("/docs", response_class=HTMLResponse)
    def docs_page(caller: Viewer, request: Request) -> HTMLResponse:
        return pages.render(request, "docs.html", principal=caller, page="docs", rows=_docs_rows(request.app))

    @router.get("/openapi.json")
    def openapi(caller: Viewer, request: Request) -> JSONResponse:
        return JSONResponse(request.app.openapi())

    return router


def login_redirect(request: Request) -> RedirectResponse:
    """Send a browser that asked for a page without a session to the login form, and back after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def wants_html(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def role_names() -> list[str]:
    return [r.value for r in Role]
