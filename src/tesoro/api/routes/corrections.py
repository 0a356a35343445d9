"""Corrections of a post's sentiment, product or content type: `/api/curator/...` (reads: viewer; writes:
coordinator, like decisions).

| method | path | what |
| --- | --- | --- |
| POST | /api/curator/posts/{id}/corrections | correct sentiment, product, content types (wins at once) |
| GET | /api/curator/posts/{id}/corrections | the post's corrections |
| GET | /api/curator/corrections | corrections, newest first (per brand, per field) |
| GET | /api/curator/corrections/status | per brand: corrections per field, calibrations and their accuracy |
| POST | /api/curator/corrections/train | relearn calibrations (one brand or all), rescore the queue |
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from tesoro.api.deps import Changed, CuratorActor, EngineDep, SettingsDep
from tesoro.api.problems import Problem
from tesoro.api.schemas.common import MAX_OFFSET, Id
from tesoro.api.schemas.corrections import (
    CorrectedField,
    CorrectionCreate,
    CorrectionList,
    CorrectionPublic,
    CorrectionStatus,
    CorrectionStatusList,
    CorrectionTrainList,
    CorrectionTrainReport,
)
from tesoro.curator.corrections import CorrectionError, correct, correction_status, train_corrections
from tesoro.store.corrections import list_corrections
from tesoro.store.engine import is_transient, run_transaction, session_scope

__all__ = ["router"]

router = APIRouter(prefix="/api/curator", tags=["curator"])


@router.post(
    "/posts/{post_id}/corrections",
    response_model=CorrectionList,
    summary="Correct a post's sentiment, product or content types",
)
def post_corrections(
    post_id: Id, body: CorrectionCreate, engine: EngineDep, changed: Changed, actor: CuratorActor
) -> CorrectionList:
    changes = body.changes()

    def apply(session: Session) -> list[CorrectionPublic]:
        out: list[CorrectionPublic] = []
        for name, value in changes.items():
            row, before = correct(session, post_id=post_id, field_name=name, value=value, actor=actor)
            out.append(CorrectionPublic.from_row(row, before))
        return out

    try:
        items = run_transaction(engine, apply)
    except CorrectionError as exc:
        raise Problem(exc.problem, str(exc)) from exc
    except DBAPIError as exc:
        if not is_transient(exc):
            raise
        raise Problem("conflict", "other changes to this post kept colliding; try again") from exc
    changed()
    return CorrectionList(items=items)


@router.get("/posts/{post_id}/corrections", response_model=CorrectionList, summary="A post's corrections")
def post_correction_list(post_id: Id, engine: EngineDep) -> CorrectionList:
    with session_scope(engine) as session:
        rows = list_corrections(session, post_id=post_id)
        return CorrectionList(items=[CorrectionPublic.from_row(r) for r in rows])


@router.get("/corrections", response_model=CorrectionList, summary="Corrections, newest first")
def corrections(
    engine: EngineDep,
    brand: Id | None = None,
    field: CorrectedField | None = None,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> CorrectionList:
    with session_scope(engine) as session:
        rows = list_corrections(session, brand_id=brand, field=field, limit=limit, offset=offset)
        return CorrectionList(items=[CorrectionPublic.from_row(r) for r in rows])


def _status(entry: dict[str, Any]) -> CorrectionStatus:
    return CorrectionStatus.model_validate(
        {
            **entry,
            "heads": {
                head: {
                    **info,
                    "trained_at": None if info["trained_at"] is None else info["trained_at"].isoformat(),
                }
                for head, info in entry["heads"].items()
            },
        }
    )


@router.get(
    "/corrections/status",
    response_model=CorrectionStatusList,
    summary="Per brand: how many corrections, and each calibration's accuracy before and after",
)
def corrections_status(engine: EngineDep) -> CorrectionStatusList:
    return CorrectionStatusList(items=[_status(e) for e in correction_status(engine)])


@router.post(
    "/corrections/train",
    response_model=CorrectionTrainList,
    summary="Relearn the calibrations from the corrections (one brand or all) and rescore unreviewed posts",
)
def corrections_train(
    engine: EngineDep, settings: SettingsDep, changed: Changed, brand: Id | None = None, force: bool = False
) -> CorrectionTrainList:
    reports = train_corrections(engine, settings, brand_id=brand, force=force)
    changed()
    return CorrectionTrainList(
        items=[
            CorrectionTrainReport(
                brand_id=r.brand_id,
                trained=r.trained,
                reason=r.reason or None,
                heads=r.heads,
                refreshed=r.refreshed,
            )
            for r in reports
        ]
    )
