"""GET /favicon.svg (and /favicon.ico, which browsers ask for on their own): Tesoro's icon.

Every page links `/favicon.svg?v=VERSION`, so the icon can be cached for a year: a new release
changes the address. The bytes are read once, from the package's static folder.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

from tesoro.api.deps import Anyone

__all__ = ["FAVICON_CACHE", "router"]

FAVICON_CACHE = "public, max-age=31536000, immutable"

router = APIRouter(tags=["ui"])

_ICON = files("tesoro.api").joinpath("static", "favicon.svg").read_bytes()


def _icon() -> Response:
    return Response(
        _ICON,
        media_type="image/svg+xml",
        headers={"Cache-Control": FAVICON_CACHE, "Content-Security-Policy": "default-src 'none'"},
    )


@router.get("/favicon.svg", include_in_schema=False, summary="The site's icon (SVG)")
def favicon_svg(caller: Anyone) -> Response:
    return _icon()


@router.get("/favicon.ico", include_in_schema=False, summary="The site's icon, where browsers look for it")
def favicon_ico(caller: Anyone) -> Response:
    return _icon()
