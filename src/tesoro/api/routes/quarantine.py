"""`GET /api/quarantine`: the collected items the collector boundary refused (coordinators and admins).

Reading only: retrying is `tesoro quarantine retry` on the server. The items are untrusted
content as collected, so the route is for the roles that review content, not for viewers.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from tesoro.api.deps import EngineDep, Reviewer
from tesoro.api.schemas.common import MAX_OFFSET
from tesoro.api.schemas.quarantine import QuarantineEntry, QuarantinePage
from tesoro.store.engine import session_scope
from tesoro.store.quarantine import count_quarantined, list_quarantined

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/api/quarantine",
    tags=["sources"],
    response_model=QuarantinePage,
    summary="Collected items the collector boundary refused, latest first",
)
def quarantine(
    caller: Reviewer,
    engine: EngineDep,
    source: str | None = Query(
        None, max_length=300, description="only this source's items (import:FILE for an import)"
    ),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> QuarantinePage:
    with session_scope(engine) as session:
        total = count_quarantined(session, source=source)
        items = list_quarantined(session, source=source, limit=limit, offset=offset)
        return QuarantinePage(total=total, items=[QuarantineEntry.from_row(i) for i in items])
