"""The learned rankers and ranking on demand: `/api/curator/ranker`, `/ranker/train`, `/rank`."""

from __future__ import annotations

from fastapi import APIRouter

from tesoro.api.deps import Changed, EngineDep, SettingsDep
from tesoro.api.routes.queue import catalog
from tesoro.api.schemas.common import Id
from tesoro.api.schemas.ranker import (
    RankerList,
    RankerPublic,
    RankReportPublic,
    TrainList,
    TrainReportPublic,
)
from tesoro.curator.feedback import load_ranker_models, train_rankers
from tesoro.curator.ranking import rank_posts

__all__ = ["router"]

router = APIRouter(prefix="/api/curator", tags=["curator"])


@router.get("/ranker", response_model=RankerList, summary="Each brand's learned ranker")
def ranker_status(engine: EngineDep) -> RankerList:
    brands, _ = catalog(engine)
    rankers = load_ranker_models(engine)
    return RankerList(
        items=[
            RankerPublic(
                brand_id=key or None,
                brand=brands.get(key),
                decisions=r.decisions,
                approvals=r.positives,
                blend=round(r.alpha, 4),
                metrics=r.metrics,
                learned_weights=r.learned_weights(),
            )
            for key, r in sorted(rankers.items())
        ]
    )


@router.post(
    "/ranker/train",
    response_model=TrainList,
    summary="Retrain the learned ranker (one brand or all) and re-rank",
)
def ranker_train(
    engine: EngineDep, settings: SettingsDep, changed: Changed, brand: Id | None = None
) -> TrainList:
    reports = train_rankers(engine, settings.curator, brand_key=brand)
    changed()
    return TrainList(
        items=[
            TrainReportPublic(
                brand_id=r.brand_key or None,
                trained=r.trained,
                reason=r.reason or None,
                decisions=r.decisions,
                approvals=r.positives,
                blend=round(r.alpha, 4),
                metrics=r.metrics,
                learned_weights=r.learned_weights,
            )
            for r in reports
        ]
    )


@router.post(
    "/rank",
    response_model=RankReportPublic,
    summary="Rank newly scored posts now (the scheduler also does this)",
)
def rank_now(
    engine: EngineDep, settings: SettingsDep, changed: Changed, everything: bool = False
) -> RankReportPublic:
    report = rank_posts(
        engine, settings.curator, everything=everything, advocate_ror=settings.relationship.advocate_min_ror
    )
    changed()
    return RankReportPublic(
        ranked=report.ranked, filtered=report.filtered, copies=report.copies, seconds=round(report.seconds, 3)
    )
