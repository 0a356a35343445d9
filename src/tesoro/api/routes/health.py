"""GET /healthz: the process answers and the database too (for load balancers and `tesoro serve`)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from tesoro import __version__
from tesoro.api.deps import Anyone, EngineDep
from tesoro.api.schemas.keys import Health

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness and database check")
def healthz(caller: Anyone, engine: EngineDep) -> Health:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__)
