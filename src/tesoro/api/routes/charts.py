"""Charts as server-rendered SVG under /api/charts: safe in an <img> tag, readable offline.

An SVG opened on its own is a document, so each answer carries a policy that lets
it run or load nothing; names and labels in it are escaped by `tesoro.insights.charts`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tesoro.api.deps import EngineDep, SettingsDep
from tesoro.api.problems import service_call
from tesoro.api.routes.insights import (
    BrandQ,
    BucketQ,
    EveryQ,
    PlatformQ,
    SinceQ,
    UntilQ,
    check_points,
    window,
)
from tesoro.api.schemas.common import Id
from tesoro.insights import service
from tesoro.insights.charts import (
    BarItem,
    LinePoint,
    bar_chart,
    line_chart,
    share_of_voice_chart,
    volume_chart,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/charts", tags=["insights"])

_SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
# How the OpenAPI document describes every chart's answer.
_SVG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}, "description": "an SVG image"}
}


def _svg(content: str) -> Response:
    return Response(content=content, media_type="image/svg+xml", headers=_SVG_HEADERS)


def _label(brand: str | None, platform: str | None) -> str:
    return " · ".join(x for x in (brand or "all brands", platform) if x)


@router.get(
    "/volume.svg", response_class=Response, responses=_SVG, summary="Chart: mentions over time, by sentiment"
)
def volume_svg(
    engine: EngineDep,
    brand: BrandQ = None,
    platform: PlatformQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    bucket: BucketQ = None,
) -> Response:
    start, end = window(since, until)
    check_points(start, end, bucket)
    chosen, points = service_call(
        lambda: service.volume_report(
            engine, brand_name=brand, platform=platform, since=start, until=end, bucket=bucket
        )
    )
    title = f"Mentions per {chosen} — {_label(brand, platform)}"
    return _svg(volume_chart(points, bucket=chosen, title=title))


@router.get(
    "/sentiment.svg", response_class=Response, responses=_SVG, summary="Chart: net sentiment over time"
)
def sentiment_svg(
    engine: EngineDep,
    brand: BrandQ = None,
    platform: PlatformQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    bucket: BucketQ = None,
) -> Response:
    start, end = window(since, until)
    check_points(start, end, bucket)
    chosen, points = service_call(
        lambda: service.volume_report(
            engine, brand_name=brand, platform=platform, since=start, until=end, bucket=bucket
        )
    )
    line = [
        LinePoint(p.start.strftime("%b %Y" if chosen == "month" else "%b %d"), p.sentiment.net)
        for p in points
    ]
    title = f"Net sentiment per {chosen} (-1 to 1) — {_label(brand, platform)}"
    return _svg(line_chart(line, title=title, lo=-1.0, hi=1.0))


@router.get(
    "/share-of-voice.svg",
    response_class=Response,
    responses=_SVG,
    summary="Chart: share of voice against competitors",
)
def voice_svg(
    engine: EngineDep,
    brand: BrandQ = None,
    platform: PlatformQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
) -> Response:
    start, end = window(since, until)
    shares = service_call(
        lambda: service.share_of_voice_report(
            engine, brand_name=brand, platform=platform, since=start, until=end
        )
    )
    return _svg(share_of_voice_chart(shares, title=f"Share of voice — {_label(brand, platform)}"))


@router.get(
    "/ror-leaderboard.svg", response_class=Response, responses=_SVG, summary="Chart: the ROR leaderboard"
)
def leaderboard_svg(
    engine: EngineDep,
    settings: SettingsDep,
    brand: BrandQ = None,
    top: Annotated[int, Query(ge=1, le=50)] = 15,
) -> Response:
    board = service_call(lambda: service.leaderboard(engine, settings, brand_name=brand, top=top))
    items = [
        BarItem(
            label=f"{row['display_name'] or row['handle']} ({row['platform']})",
            value=float(row["score"]),
            note=f"{row['events']} events, {row['months_active']} months",
        )
        for row in board["items"]
    ]
    return _svg(bar_chart(items, title=f"Return on Relationship — {_label(board['brand'], None)}"))


@router.get(
    "/ror-history.svg", response_class=Response, responses=_SVG, summary="Chart: one person's ROR over time"
)
def history_svg(
    engine: EngineDep, settings: SettingsDep, author_id: Id, brand: BrandQ = None, every: EveryQ = "month"
) -> Response:
    page = service_call(
        lambda: service.person_page(
            engine, settings, author_id=author_id, brand_name=brand, every=every, max_events=0
        )
    )
    # "Nov 2026" for a month's end, "Nov 30" for a week's: never an ISO timestamp on the axis.
    points = [
        LinePoint(
            datetime.fromisoformat(p["at"]).strftime("%b %Y" if every == "month" else "%b %d"),
            float(p["score"]),
        )
        for p in page["history"]["points"]
    ]
    account = page["accounts"][0] if page["accounts"] else {"handle": str(author_id)}
    who = account.get("display_name") or account.get("handle")
    return _svg(line_chart(points, title=f"ROR of {who} — {_label(page['brand'], None)}"))
