"""Route dependencies: what a handler needs, read from the app it runs in.

`create_app` (or `init_state`, for a bare app in a test) puts one of each on
`app.state`; handlers ask for them by type (`engine: EngineDep`), so a route
module holds no closure over an engine and can be a plain module-level
`APIRouter`. The access guards are dependencies too: a handler that takes
`caller: Reader` is both guarded and told who called.

The getters are `async` although they only read an attribute: FastAPI runs a plain
`def` dependency in its thread pool, and the gallery feed, which takes four of them,
is on the brand site's hot path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from tesoro.api.auth import ADMIN, ANY_KEY, PUBLIC, READ, REVIEW, Principal
from tesoro.api.pages import Pages
from tesoro.api.security import MediaFilter
from tesoro.search.library import Library
from tesoro.settings import Settings

__all__ = [
    "Admin",
    "AnyKey",
    "Anyone",
    "AuditActor",
    "Changed",
    "CuratorActor",
    "EngineDep",
    "LibraryDep",
    "MediaDep",
    "PagesDep",
    "Reader",
    "Reviewer",
    "SettingsDep",
    "audit_actor",
    "current_actor",
    "review_changed",
]


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_media(request: Request) -> MediaFilter:
    media: MediaFilter = request.app.state.media
    return media


async def get_library(request: Request) -> Library:
    library: Library = request.app.state.library
    return library


async def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def current_actor(request: Request) -> str:
    """Who is deciding: the authenticated key, else the X-Tesoro-Actor header, else 'anonymous'.

    The header only matters where no guard ran (a bare app in a test, a trusted proxy).
    """
    principal = getattr(request.state, "principal", None)
    actor = getattr(principal, "actor", None)
    if isinstance(actor, str) and actor:
        return actor
    header = (request.headers.get("x-tesoro-actor") or "").strip()
    return header[:200] or "anonymous"


async def audit_actor(request: Request) -> str:
    """Who did it, for the insights audit log: the guard's caller, else "api"."""
    principal = getattr(request.state, "principal", None)
    actor = getattr(principal, "actor", None)
    return actor if isinstance(actor, str) and actor else "api"


async def review_changed(request: Request) -> Callable[[], None]:
    """A callback a review write runs after it committed: the library and the gallery forget their caches."""

    def changed() -> None:
        for hook in getattr(request.app.state, "on_review_change", ()):
            hook()

    return changed


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MediaDep = Annotated[MediaFilter, Depends(get_media)]
LibraryDep = Annotated[Library, Depends(get_library)]
PagesDep = Annotated[Pages, Depends(get_pages)]
CuratorActor = Annotated[str, Depends(current_actor)]
AuditActor = Annotated[str, Depends(audit_actor)]
Changed = Annotated[Callable[[], None], Depends(review_changed)]

# The guards as parameters: the request gets through only with the role, and the handler gets the caller.
Anyone = Annotated[Principal | None, Depends(PUBLIC)]
AnyKey = Annotated[Principal | None, Depends(ANY_KEY)]
Reader = Annotated[Principal | None, Depends(READ)]
Reviewer = Annotated[Principal | None, Depends(REVIEW)]
Admin = Annotated[Principal | None, Depends(ADMIN)]
