"""The simulator's ASGI app: every platform's routes on one Starlette application.

Routes do not collide (see PLATFORM_APIS.md), so one server on one port serves X, Reddit, Bluesky,
Mastodon, YouTube, TikTok (Research API and API for Business) and Slack. `/_sim/*` are control routes
for the demo and for tests run in another process.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from tesoro.simulator import (
    bluesky,
    instagram,
    mastodon,
    mediahost,
    reddit,
    slack,
    threads,
    tiktok,
    tiktok_business,
    x,
    youtube,
)
from tesoro.simulator.faults import Fault
from tesoro.simulator.state import SimState

__all__ = ["PLATFORM_ROUTES", "create_app"]

# Every platform's routes, by an explicit list: each module has `routes(state) -> list[BaseRoute]`.
PLATFORM_ROUTES: tuple[Callable[[SimState], list[BaseRoute]], ...] = (
    x.routes,
    reddit.routes,
    bluesky.routes,
    mastodon.routes,
    instagram.routes,
    threads.routes,
    youtube.routes,
    tiktok.routes,
    tiktok_business.routes,
    slack.routes,
    mediahost.routes,
)


def _control_routes(state: SimState) -> list[BaseRoute]:
    async def grow(request: Request) -> JSONResponse:
        n = int(request.query_params.get("n", "1"))
        added = state.world.grow(n)
        return JSONResponse({"added": len(added), "total": len(state.world)})

    async def inject(request: Request) -> JSONResponse:
        route = request.query_params["route"]
        fault = Fault(request.query_params["fault"])
        times = int(request.query_params.get("times", "1"))
        state.faults.inject(route, fault, times=times)
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"total": len(state.world), "calls": dict(state.faults.calls)})

    return [
        Route("/_sim/grow", grow, methods=["POST"]),
        Route("/_sim/faults", inject, methods=["POST"]),
        Route("/_sim/stats", stats, methods=["GET"]),
    ]


def create_app(state: SimState | None = None) -> Starlette:
    """The simulator; with `state.media_base` set, its answers point media URLs at its own media host."""
    state = state or SimState()
    routes: list[BaseRoute] = _control_routes(state)
    for platform_routes in PLATFORM_ROUTES:
        routes.extend(platform_routes(state))
    app = Starlette(routes=routes)
    app.add_middleware(mediahost.MediaRewrite, state=state)
    # Reddit's client does not follow redirects: never redirect on a missing slash.
    app.router.redirect_slashes = False
    app.state.sim = state
    return app
