"""The coordinator's web UI: the pages, a login that turns a key into a session, /docs and /openapi.json.

None of these routes is in the OpenAPI document: they answer HTML (or are the
document). Pages need a session (or a key) with the viewer role; without one a
browser is sent to the login form (`tesoro.api.app`'s error handler).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel

from tesoro.api.auth import ROLE_MATRIX, SESSION_COOKIE, Access, Authenticator, iter_routes
from tesoro.api.deps import Anyone, EngineDep, MediaDep, PagesDep, Reader, SettingsDep
from tesoro.api.gallery import performance_report
from tesoro.api.i18n import Translator
from tesoro.api.pages import ENDPOINTS, Pages
from tesoro.api.problems import Problem
from tesoro.api.schemas import (
    alerts,
    decisions,
    gallery,
    insights,
    keys,
    library,
    listening,
    posts,
    queue,
    ranker,
)
from tesoro.api.schemas.common import Id, iso
from tesoro.api.schemas.posts import AuthorDetailPublic
from tesoro.api.security import CSRF_FORM_FIELD, check_csrf, form_fields, safe_next
from tesoro.collector.quota import describe_duration, quota_statuses
from tesoro.store.catalog import list_brands, slugify
from tesoro.store.engine import session_scope
from tesoro.store.posts import author_detail, overview
from tesoro.store.sources import list_sources

__all__ = ["LOGIN_CSRF_COOKIE", "router"]

LOGIN_CSRF_COOKIE = "tesoro_login_csrf"

router = APIRouter(include_in_schema=False)


async def get_auth(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


AuthDep = Annotated[Authenticator, Depends(get_auth)]


def _secure(request: Request, mode: str) -> bool:
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


class Shape(TypedDict):
    """A request or response schema as the docs page shows it: its name and an example as JSON."""

    name: str
    example: str | None


@cache
def _model_examples() -> dict[str, Any]:
    """Each API model's first example, from the model itself.

    Not from the OpenAPI document: FastAPI writes it without null values, examples included,
    and an example that leaves out its null fields shows a client the wrong shape.
    """
    found: dict[str, Any] = {}
    for module in (alerts, decisions, gallery, insights, keys, library, listening, posts, queue, ranker):
        for name in module.__all__:
            model = getattr(module, name)
            if isinstance(model, type) and issubclass(model, BaseModel):
                examples = model.model_json_schema().get("examples") or [None]
                found[name] = examples[0]
    return found


def _shape(spec: dict[str, Any], schema: dict[str, Any] | None) -> Shape | None:
    """The name and first example of an OpenAPI schema ($ref, a list of one, or an inline schema)."""
    if not schema:
        return None
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        example = _model_examples().get(name)
    elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        inner = _shape(spec, schema["items"])
        if inner is None:
            return None
        example_text = inner["example"]
        return Shape(
            name=f"list[{inner['name']}]", example=None if example_text is None else f"[{example_text}]"
        )
    else:
        name = str(schema.get("title") or schema.get("type") or "")
        example = (schema.get("examples") or [None])[0]
        if not name:
            return None
    return Shape(
        name=name, example=None if example is None else json.dumps(example, indent=2, ensure_ascii=False)
    )


def _shapes(spec: dict[str, Any], path: str, method: str) -> tuple[Shape | None, Shape | None]:
    """The JSON request body and the JSON 2xx response of one operation, as the OpenAPI document has them."""
    operation = spec.get("paths", {}).get(path, {}).get(method.lower(), {})
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    response = None
    for status, answer in sorted(operation.get("responses", {}).items()):
        if str(status).startswith("2"):
            response = answer.get("content", {}).get("application/json", {}).get("schema")
            break
    return _shape(spec, body), _shape(spec, response)


def _docs_rows(app: FastAPI) -> list[dict[str, Any]]:
    spec = app.openapi()
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
                    **dict(zip(("request", "response"), _shapes(spec, route.path, method), strict=True)),
                }
            )
    return sorted(rows, key=lambda r: (r["path"], r["method"]))


@router.get("/")
def root(caller: Anyone) -> RedirectResponse:
    return RedirectResponse("/ui/queue", status_code=303)


# --- login / logout ------------------------------------------------------------------------------------


def _login_page(
    request: Request, pages: Pages, secure_mode: str, *, error: str | None, status: int, next_url: str
) -> HTMLResponse:
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
def login_form(
    caller: Anyone, request: Request, pages: PagesDep, settings: SettingsDep, next: str | None = None
) -> Response:
    if caller is not None and caller.via == "session":
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(
        request, pages, settings.api.secure_cookies, error=None, status=200, next_url=safe_next(next)
    )


@router.post("/login", response_class=HTMLResponse)
async def login(
    caller: Anyone, request: Request, pages: PagesDep, settings: SettingsDep, auth: AuthDep
) -> Response:
    form = form_fields(await request.body())
    next_url = safe_next(form.get("next"))
    t = Translator(pages.language(request)[0])
    secure_mode = settings.api.secure_cookies

    def refused(error: str, status: int) -> HTMLResponse:
        return _login_page(request, pages, secure_mode, error=error, status=status, next_url=next_url)

    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    supplied = form.get(CSRF_FORM_FIELD, "")
    if not expected or not secrets.compare_digest(expected.encode(), supplied.encode()):
        return refused(t("login.bad_csrf"), 400)
    result = await run_in_threadpool(auth.login, form.get("key", ""))
    if result is None:
        return refused(t("login.bad_key"), 401)
    cookie, principal = result
    if principal.role not in ROLE_MATRIX[Access.READ]:
        await run_in_threadpool(auth.logout, cookie)
        return refused(t("login.bad_role"), 403)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.api.session_ttl,
        httponly=True,
        samesite="lax",
        secure=_secure(request, secure_mode),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(caller: Anyone, request: Request, auth: AuthDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if caller is not None and caller.via == "session" and cookie:
        await check_csrf(request, caller.csrf_token)
        await run_in_threadpool(auth.logout, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- pages ---------------------------------------------------------------------------------------------


@router.get("/ui/queue", response_class=HTMLResponse)
def queue_page(caller: Reader, request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "queue.html", principal=caller, page="queue")


@router.get("/ui/library", response_class=HTMLResponse)
def library_page(caller: Reader, request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "library.html", principal=caller, page="library")


@router.get("/ui/authors/{author_id}", response_class=HTMLResponse)
def author_page(
    caller: Reader, request: Request, pages: PagesDep, engine: EngineDep, media: MediaDep, author_id: Id
) -> HTMLResponse:
    with session_scope(engine) as session:
        detail = author_detail(session, author_id=author_id)
    if detail is None:
        raise Problem("not_found", f"no author {author_id}")
    return pages.render(
        request,
        "author.html",
        principal=caller,
        page="author",
        data={"author": AuthorDetailPublic.from_view(detail, media).model_dump(mode="json")},
        detail=detail,
        media=media,
    )


# The KPI section's periods: the `since` the dashboard asks /api/kpis for, and the words for it.
DASHBOARD_PERIODS = (
    ("7d", "dashboard.period.7d"),
    ("30d", "dashboard.period.30d"),
    ("90d", "dashboard.period.90d"),
    ("1y", "dashboard.period.1y"),
)


@router.get("/ui/dashboard", response_class=HTMLResponse)
def dashboard_page(caller: Reader, request: Request, pages: PagesDep, engine: EngineDep) -> HTMLResponse:
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
        # The dashboard also reads the ROE of the declared efforts.
        "endpoints": {**ENDPOINTS, "roe": "/api/roe"},
    }
    return pages.render(
        request,
        "dashboard.html",
        principal=caller,
        page="dashboard",
        data=data,
        o=o,
        brands=brands,
        periods=DASHBOARD_PERIODS,
    )


@router.get("/ui/sources", response_class=HTMLResponse)
def sources_page(
    caller: Reader, request: Request, pages: PagesDep, engine: EngineDep, settings: SettingsDep
) -> HTMLResponse:
    with session_scope(engine) as session:
        rows = list_sources(session)
        quotas = quota_statuses(session, settings, rows, now=datetime.now(UTC))
    return pages.render(
        request,
        "sources.html",
        principal=caller,
        page="sources",
        sources=rows,
        quotas=quotas,
        duration=describe_duration,
    )


@router.get("/ui/gallery", response_class=HTMLResponse)
def gallery_page(
    caller: Reader,
    request: Request,
    pages: PagesDep,
    engine: EngineDep,
    brand: str | None = Query(None, max_length=200),
    days: int = Query(30, ge=1, le=365),
) -> HTMLResponse:
    with session_scope(engine) as session:
        brands = [{"slug": slugify(b.name), "name": b.name} for b in list_brands(session)]
    slug = slugify(brand) if brand else (brands[0]["slug"] if brands else None)
    report = performance_report(engine, slug, days, 100) if slug else None
    return pages.render(
        request,
        "gallery.html",
        principal=caller,
        page="gallery",
        brands=brands,
        brand_slug=slug,
        days=days,
        report=report,
    )


@router.get("/docs", response_class=HTMLResponse)
def docs_page(caller: Reader, request: Request, pages: PagesDep) -> HTMLResponse:
    return pages.render(request, "docs.html", principal=caller, page="docs", rows=_docs_rows(request.app))


@router.get("/openapi.json")
def openapi(caller: Reader, request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())
