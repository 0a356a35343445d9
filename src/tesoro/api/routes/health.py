"""The probes and the metrics: GET /healthz (alive), GET /readyz (can serve), GET /metrics (Prometheus).

/healthz touches nothing: a load balancer or an orchestrator restarts a process that stops
answering it, and a database outage must not restart every API process. /readyz checks what serving
needs (the database, Redis when the queue is RQ, the library index) and answers 503 naming the
check that failed, so the balancer sends no traffic there meanwhile. /metrics is mounted by
`create_app` as `ops.metrics_access` says: for admin keys (the default), for anyone, or not at all.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from redis import Redis
from starlette.responses import Response

from tesoro import __version__
from tesoro.api.deps import Admin, Anyone, EngineDep, LibraryDep, SettingsDep
from tesoro.api.schemas.keys import Check, Health, Readiness
from tesoro.ops.metrics import render
from tesoro.search.library import Library
from tesoro.store.engine import session_scope
from tesoro.store.ops import ping

__all__ = ["admin_metrics_router", "public_metrics_router", "router"]

router = APIRouter(tags=["health"])
admin_metrics_router = APIRouter(tags=["health"])
public_metrics_router = APIRouter(tags=["health"])

_warming = threading.Lock()


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz(caller: Anyone) -> Health:
    return Health(status="ok", version=__version__)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _index_check(library: Library) -> Check:
    """Loaded, or loading: the first probe starts the load in the background (once at a time)."""
    if library.index.built:
        return Check(name="index", ok=True)
    if _warming.acquire(blocking=False):

        def warm() -> None:
            try:
                library.warm()
            finally:
                _warming.release()

        threading.Thread(target=warm, name="tesoro-index-warm", daemon=True).start()
    return Check(name="index", ok=False, detail="the library index is loading")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: database, Redis (RQ backend) and the library index",
    responses={503: {"model": Readiness, "description": "a check failed; `checks` says which"}},
)
def readyz(
    caller: Anyone, request: Request, engine: EngineDep, settings: SettingsDep, library: LibraryDep
) -> Response:
    checks: list[Check] = []
    try:
        with session_scope(engine) as session:
            ping(session)
        checks.append(Check(name="database", ok=True))
    except Exception as exc:
        checks.append(Check(name="database", ok=False, detail=_first_line(exc)))
    if settings.queue.backend == "rq":
        redis = getattr(request.app.state, "redis", None) or Redis.from_url(
            settings.queue.redis_url, socket_connect_timeout=2, socket_timeout=2
        )
        try:
            redis.ping()
            checks.append(Check(name="redis", ok=True))
        except Exception as exc:
            checks.append(Check(name="redis", ok=False, detail=_first_line(exc)))
    if checks[0].ok:  # the index is built from the database
        checks.append(_index_check(library))
    else:
        checks.append(
            Check(name="index", ok=library.index.built, detail="" if library.index.built else "no database")
        )
    ready = all(check.ok for check in checks)
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


def _metrics(request: Request) -> Response:
    state = request.app.state
    text = render(state.engine, state.settings, redis=getattr(state, "redis", None))
    return Response(text, media_type=CONTENT_TYPE_LATEST)


@admin_metrics_router.get(
    "/metrics", summary="Prometheus metrics (admin key)", response_class=PlainTextResponse
)
def metrics_admin(caller: Admin, request: Request) -> Response:
    return _metrics(request)


@public_metrics_router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics_public(caller: Anyone, request: Request) -> Response:
    return _metrics(request)
