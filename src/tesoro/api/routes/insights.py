"""Relationships and KPIs as JSON (reads: viewer; writes: coordinator).

Every route is a thin call into `tesoro.insights.service`, which the CLI uses too;
its errors become problems through `tesoro.api.problems.service_errors` (an
unknown brand or author is 404, a bad input 422). Writes attribute the change to
the caller the guard found, for the audit log.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from tesoro.api.deps import AuditActor, EngineDep, SettingsDep
from tesoro.api.problems import field_error, service_call
from tesoro.api.schemas.common import EARLIEST, LATEST, TIME_BOUNDS, Id, Offset, in_bounds
from tesoro.api.schemas.insights import (
    DismissCreate,
    DismissedPublic,
    EventCreate,
    EventDeleted,
    IdentityLink,
    IdentityUnlink,
    KpiReport,
    LeaderboardPublic,
    LinkedPublic,
    LoggedEvent,
    PersonRor,
    PurchasesReport,
    RefreshPublic,
    RoeList,
    RoePublic,
    SuggestionList,
    UnlinkedPublic,
    VoiceList,
    VoiceShare,
    VolumePoint,
    VolumeSeries,
)
from tesoro.api.schemas.query import PlatformName
from tesoro.insights import service

__all__ = [
    "MAX_POINTS",
    "BrandQ",
    "BucketQ",
    "EveryQ",
    "PlatformQ",
    "SinceQ",
    "UntilQ",
    "check_points",
    "router",
    "window",
]

router = APIRouter(tags=["insights"])

BrandQ = Annotated[str | None, Query(max_length=200, description="brand name; default: the only brand")]
PlatformQ = Annotated[PlatformName | None, Query(description="only this platform's posts")]
SinceQ = Annotated[
    str | None, Query(max_length=40, description="date, ISO time, or relative to `until`: 30d, 12w, 6m, 1y")
]
UntilQ = Annotated[str | None, Query(max_length=40, description="date (that day included) or ISO time")]
BucketQ = Annotated[Literal["day", "week", "month"] | None, Query(description="default: from the window")]
EveryQ = Annotated[Literal["month", "week"], Query(description="history points: end of each month or week")]


# Every window lies in schemas.common's time bounds (documented in docs/api.md), else a 422 naming the field,
# and a series has at most MAX_POINTS buckets (a window of days, weeks or months must fit).
MAX_POINTS = 1000
_RELATIVE = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
_BUCKET_DAYS = {"day": 1.0, "week": 7.0, "month": 30.44}


def _out_of_bounds(value: str) -> str | None:
    """Why `value` (a `since` or an `until`) is outside the bounds, or None (a malformed value is not)."""
    if match := _RELATIVE.match(value):
        days = int(match.group(1)) * _UNIT_DAYS[match.group(2)]
        limit = (LATEST - EARLIEST).days
        return None if days <= limit else f"goes back {days} days; at most {limit} (30d, 12w, 6m, 1y...)"
    try:
        moment = service.parse_time(value)
    except (ValueError, OverflowError):
        return None  # not a time: parse_window says what is accepted
    return None if in_bounds(moment) else f"must be {TIME_BOUNDS}"


def window(since: str | None, until: str | None, *, default_days: int = 30) -> tuple[datetime, datetime]:
    """The time window of a request: a time out of bounds is a 422 naming it, a bad date a bad_request."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and (reason := _out_of_bounds(value)) is not None:
            raise field_error("query", name, reason, value)
    try:
        start, end = service_call(lambda: service.parse_window(since, until, default_days=default_days))
    except OverflowError as exc:  # a relative `since` before year 1
        raise field_error("query", "since", f"must be {TIME_BOUNDS}", since) from exc
    if start < EARLIEST:
        raise field_error("query", "since", f"must be {TIME_BOUNDS}", since)
    if end > LATEST:
        raise field_error("query", "until", f"must be {TIME_BOUNDS}", until)
    return start, end


def check_points(start: datetime, end: datetime, bucket: str | None) -> None:
    """Refuse a series of more than MAX_POINTS buckets (422 naming `bucket`) before any work is done."""
    days = (end - start).days
    # With no bucket the service picks one from the window: days up to two months, weeks up to a year.
    chosen = bucket or ("day" if days <= 62 else "week" if days <= 366 else "month")
    points = int(days / _BUCKET_DAYS[chosen]) + 1
    if points > MAX_POINTS:
        raise field_error(
            "query",
            "bucket" if bucket else "since",
            f"{points} {chosen}s is more than the {MAX_POINTS} points a series may have: "
            "use a longer bucket or a shorter window",
            bucket or None,
        )


@router.get(
    "/api/kpis", response_model=KpiReport, summary="Every KPI of a time window, by brand and platform"
)
def kpis(
    engine: EngineDep,
    settings: SettingsDep,
    brand: BrandQ = None,
    platform: PlatformQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> KpiReport:
    start, end = window(since, until)
    report = service_call(
        lambda: service.kpi_report(
            engine, settings, brand_name=brand, platform=platform, since=start, until=end, top=top
        )
    )
    return KpiReport.model_validate(report)


@router.get(
    "/api/kpis/volume",
    response_model=VolumeSeries,
    summary="Mention volume and sentiment per day, week or month",
)
def volume(
    engine: EngineDep,
    brand: BrandQ = None,
    platform: PlatformQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    bucket: BucketQ = None,
) -> VolumeSeries:
    start, end = window(since, until)
    check_points(start, end, bucket)
    chosen, points = service_call(
        lambda: service.volume_report(
            engine, brand_name=brand, platform=platform, since=start, until=end, bucket=bucket
        )
    )
    return VolumeSeries(bucket=chosen, points=[VolumePoint.model_validate(p.as_dict()) for p in points])


@router.get(
    "/api/kpis/share-of-voice",
    response_model=VoiceList,
    summary="The brand's mentions against its competitors'",
)
def voice(
    engine: EngineDep,
    brand: BrandQ = None,
    platform: PlatformQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
) -> VoiceList:
    start, end = window(since, until)
    shares = service_call(
        lambda: service.share_of_voice_report(
            engine, brand_name=brand, platform=platform, since=start, until=end
        )
    )
    return VoiceList(items=[VoiceShare.model_validate(s.as_dict()) for s in shares])


@router.get(
    "/api/kpis/purchases",
    response_model=PurchasesReport,
    summary="Orders of advocates against everyone else's (default: a year)",
)
def purchases(
    engine: EngineDep, settings: SettingsDep, brand: BrandQ = None, since: SinceQ = None, until: UntilQ = None
) -> PurchasesReport:
    start, end = window(since, until, default_days=365)
    report = service_call(
        lambda: service.purchases_report(engine, settings, brand_name=brand, since=start, until=end)
    )
    return PurchasesReport.model_validate(report)


@router.get(
    "/api/roe",
    response_model=RoeList,
    summary="Return on Engagement of every declared effort, with its trend",
)
def roe(engine: EngineDep, settings: SettingsDep, brand: BrandQ = None) -> RoeList:
    results = service_call(lambda: service.roe_report(engine, settings, brand_name=brand))
    return RoeList(
        ugc_value=settings.roe.ugc_value,
        reach_value=settings.roe.reach_value,
        items=[RoePublic.model_validate(r.as_dict()) for r in results],
    )


@router.get(
    "/api/ror/leaderboard",
    response_model=LeaderboardPublic,
    summary="People by Return on Relationship, best first",
)
def ror_leaderboard(
    engine: EngineDep,
    settings: SettingsDep,
    brand: BrandQ = None,
    top: Annotated[int, Query(ge=1, le=500)] = 20,
    offset: Offset = 0,
) -> LeaderboardPublic:
    """The stored leaderboard as it is: a GET never recomputes it (`computed_at` is null until the
    first refresh); the recompute is `POST /api/ror/refresh`, for coordinators."""
    board = service_call(
        lambda: service.leaderboard(
            engine, settings, brand_name=brand, top=top, offset=offset, compute_missing=False
        )
    )
    return LeaderboardPublic.model_validate(board)


@router.post("/api/ror/refresh", response_model=RefreshPublic, summary="Recompute everyone's ROR now")
def ror_refresh(engine: EngineDep, settings: SettingsDep, brand: BrandQ = None) -> RefreshPublic:
    result = service_call(lambda: service.refresh_ror(engine, settings, brand_name=brand))
    return RefreshPublic.model_validate(result.as_dict())


@router.get(
    "/api/authors/{author_id}/ror",
    response_model=PersonRor,
    summary="A person's ROR, how it was built, and its history",
)
def author_ror(
    engine: EngineDep,
    settings: SettingsDep,
    author_id: Id,
    brand: BrandQ = None,
    every: EveryQ = "month",
    events: Annotated[int, Query(ge=0, le=2000)] = 200,
) -> PersonRor:
    page = service_call(
        lambda: service.person_page(
            engine, settings, author_id=author_id, brand_name=brand, every=every, max_events=events
        )
    )
    return PersonRor.model_validate(page)


@router.get(
    "/api/identity/suggestions",
    response_model=SuggestionList,
    summary="Accounts that are probably the same person",
)
def identity_suggestions(
    engine: EngineDep, author_id: Id | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> SuggestionList:
    return SuggestionList.model_validate(
        {"items": service.suggestions(engine, author_id=author_id, limit=limit)}
    )


@router.post(
    "/api/identity/link", response_model=LinkedPublic, summary="Link accounts as one person (audited)"
)
def identity_link(engine: EngineDep, actor: AuditActor, body: IdentityLink) -> LinkedPublic:
    person = service_call(
        lambda: service.link(engine, author_ids=body.author_ids, actor=actor, display_name=body.display_name)
    )
    return LinkedPublic(person_id=person, author_ids=sorted(set(body.author_ids)))


@router.post(
    "/api/identity/unlink",
    response_model=UnlinkedPublic,
    summary="Detach an account from its person (audited)",
)
def identity_unlink(engine: EngineDep, actor: AuditActor, body: IdentityUnlink) -> UnlinkedPublic:
    service_call(lambda: service.unlink(engine, author_id=body.author_id, actor=actor))
    return UnlinkedPublic(author_id=body.author_id, person_id=None)


@router.post(
    "/api/identity/dismiss",
    response_model=DismissedPublic,
    summary="Two accounts are different people: stop suggesting them",
)
def identity_dismiss(engine: EngineDep, actor: AuditActor, body: DismissCreate) -> DismissedPublic:
    service_call(lambda: service.dismiss(engine, author_a=body.author_a, author_b=body.author_b, actor=actor))
    return DismissedPublic(dismissed=sorted((body.author_a, body.author_b)))


@router.post(
    "/api/authors/{author_id}/events",
    status_code=201,
    response_model=LoggedEvent,
    summary="Log a relationship event Tesoro cannot see (a purchase, a meet-up...; audited)",
)
def log_event(engine: EngineDep, actor: AuditActor, author_id: Id, body: EventCreate) -> LoggedEvent:
    logged = service_call(
        lambda: service.log_event(
            engine,
            author_id=author_id,
            kind=body.kind,
            weight=body.weight,
            occurred_at=body.occurred_at,
            post_id=body.post_id,
            note=body.note,
            actor=actor,
        )
    )
    return LoggedEvent.model_validate(logged)


@router.delete(
    "/api/authors/{author_id}/events/{event_id}",
    response_model=EventDeleted,
    summary="Remove a logged event (audited)",
)
def delete_event(engine: EngineDep, actor: AuditActor, author_id: Id, event_id: Id) -> EventDeleted:
    removed = service_call(
        lambda: service.delete_event(engine, author_id=author_id, event_id=event_id, actor=actor)
    )
    return EventDeleted(deleted=LoggedEvent.model_validate(removed))
