"""Rendering the coordinator's pages: templates, language, the caller, the CSRF token and a strict CSP.

Pages are Jinja2 templates with autoescaping on (every post text, name and URL
is escaped by the template engine, never by hand) and small vanilla scripts
from /static that build the DOM with textContent. No inline script or style
exists, so the Content-Security-Policy can forbid both; the page's data reaches
the scripts as a JSON block that the browser never executes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from tesoro import __version__
from tesoro.api.auth import ROLE_MATRIX, Access, Principal
from tesoro.api.i18n import MESSAGES, Translator, negotiate
from tesoro.api.security import MediaFilter, content_security_policy, safe_link
from tesoro.settings import Settings

__all__ = ["ENDPOINTS", "LANG_COOKIE", "Pages", "login_redirect", "wants_html"]

LANG_COOKIE = "tesoro_lang"
# The JSON and chart routes the pages' scripts read, handed to them in the page data so that the
# scripts never spell a path themselves.
ENDPOINTS: Mapping[str, str] = {
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


class Pages:
    """Renders templates with the language, the caller, the CSRF token and a strict CSP."""

    def __init__(self, settings: Settings, media: MediaFilter) -> None:
        self.settings = settings
        self.media = media
        self.env = Environment(
            loader=PackageLoader("tesoro.api", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["static"] = lambda name: f"/static/{name}?v={__version__}"
        self.env.globals["safe_link"] = safe_link
        self.env.globals["favicon"] = (
            f"/favicon.svg?v={__version__}"  # cached for a year: see routes/favicon.py
        )
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
            "endpoints": ENDPOINTS,
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


def login_redirect(request: Request) -> RedirectResponse:
    """Send a browser that asked for a page without a session to the login form, and back after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def wants_html(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")
