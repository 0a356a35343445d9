"""HTTP routes for relationships and KPIs: `router(engine, settings)`, included by `create_app`.

The app attaches the insights area's access policy to the whole router (reads
for every role that reads, writes for coordinators), so nothing here checks
roles itself; write routes attribute the change to the caller the guard found
(`request.state.principal`). Every route is a thin call into
`tesoro.insights.service`, which the CLI uses too.

JSON lives under /api (`/api/kpis`, `/api/ror/leaderboard`, `/api/authors/{id}/ror`,
`/api/authors/{id}/events` (events logged by hand), `/api/identity/...`, `/api/roe`);
charts are server-rendered SVG under /api/charts, safe to put in an <img> tag, and
readable offline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from tesoro.insights import service
from tesoro.insights.charts import (
    BarItem,
    LinePoint,
    bar_chart,
    line_chart,
    share_of_voice_chart,
    volume_chart,
)
from tesoro.settings import Settings

__all__ = ["router"]

T = TypeVar("T")

BrandQ = Annotated[str | None, Query(max_length=200, description="brand name; default: the only brand")]
PlatformQ = Annotated[str | None, Query(max_length=32, description="x, reddit, bluesky, mastodon, ...")]
SinceQ = Annotated[
    str | None, Query(max_length=40, description="date, ISO time, or relative to `until`: 30d, 12w, 6m, 1y")
]
UntilQ = Annotated[str | None, Query(max_length=40, description="date (that day included) or ISO time")]
BucketQ = Annotated[Literal["day", "week", "month"] | None, Query(description="default: from the window")]
EveryQ = Annotated[Literal["month", "week"], Query(description="history points: end of each month or week")]

_SVG_HEADERS = {
    # An SVG opened on its own is a document: it may not run or load anything.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class LinkIn(BaseModel):
    author_ids: list[int] = Field(min_length=2, max_length=50)
    display_name: str | None = Field(None, max_length=200)


class UnlinkIn(BaseModel):
    author_id: int


class DismissIn(BaseModel):
    author_a: int
    author_b: int


class EventIn(BaseModel):
    kind: str = Field(min_length=1, max_length=40, description="a short label: purchase, meet_up, gift...")
    weight: float = Field(1.0, description="the event's value in ROR (non-zero, -100..100)")
    occurred_at: datetime | None = Field(None, description="when it happened; default: now")
    post_id: int | None = Field(None, description="one of the author's posts it relates to, if any")
    note: str | None = Field(None, max_length=500)


def _actor(request: Request) -> str:
    """Who did it, for the audit log: the guard's caller, else "api"."""
    principal = getattr(request.state, "principal", None)
    actor = getattr(principal, "actor", None)
    return actor if isinstance(actor, str) and actor else "api"


def _call(fn: Callable[[], T]) -> T:
    """Run a service call, turning its errors into HTTP answers (unknown thing 404, bad input 422)."""
    try:
        return fn()
    except (KeyError, IndexError):
        raise  # a bug, not a missing brand or account: let it be a 500 with its traceback
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc).strip("'\"")) from exc
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


def _window(since: str | None, until: str | None, *, default_days: int = 30) -> tuple[datetime, datetime]:
    return _call(lambda: service.parse_window(since, until, default_days=default_days))


def _svg(content: str) -> Response:
    return Response(content=content, media_type="image/svg+xml", headers=_SVG_HEADERS)


def router(engine: Engine, settings: Settings) -> APIRouter:
    """The insights routes for one engine and settings (no guard: the app adds the area's)."""
    api = APIRouter(tags=["insights"])

    @api.get("/api/kpis", summary="Every KPI of a time window, by brand and platform")
    def kpis(
        brand: BrandQ = None,
        platform: PlatformQ = None,
        since: SinceQ = None,
        until: UntilQ = None,
        top: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict[str, Any]:
        start, end = _window(since, until)
        return _call(
            lambda: service.kpi_report(
                engine, settings, brand_name=brand, platform=platform, since=start, until=end, top=top
            )
        )

    @api.get("/api/kpis/volume", summary="Mention volume and sentiment per day, week or month")
    def volume(
        brand: BrandQ = None,
        platform: PlatformQ = None,
        since: SinceQ = None,
        until: UntilQ = None,
        bucket: BucketQ = None,
    ) -> dict[str, Any]:
        start, end = _window(since, until)
        chosen, points = _call(
            lambda: service.volume_report(
                engine, brand_name=brand, platform=platform, since=start, until=end, bucket=bucket
            )
        )
        return {"bucket": chosen, "points": [p.as_dict() for p in points]}

    @api.get("/api/kpis/share-of-voice", summary="The brand's mentions against its competitors'")
    def voice(
        brand: BrandQ = None, platform: PlatformQ = None, since: SinceQ = None, until: UntilQ = None
    ) -> dict[str, Any]:
        start, end = _window(since, until)
        shares = _call(
            lambda: service.share_of_voice_report(
                engine, brand_name=brand, platform=platform, since=start, until=end
            )
        )
        return {"items": [s.as_dict() for s in shares]}

    @api.get("/api/kpis/purchases", summary="Orders of advocates against everyone else's (default: a year)")
    def purchases(brand: BrandQ = None, since: SinceQ = None, until: UntilQ = None) -> dict[str, Any]:
        start, end = _window(since, until, default_days=365)
        return _call(
            lambda: service.purchases_report(engine, settings, brand_name=brand, since=start, until=end)
        )

    @api.get("/api/roe", summary="Return on Engagement of every declared effort, with its trend")
    def roe(brand: BrandQ = None) -> dict[str, Any]:
        results = _call(lambda: service.roe_report(engine, settings, brand_name=brand))
        return {
            "ugc_value": settings.roe.ugc_value,
            "reach_value": settings.roe.reach_value,
            "items": [r.as_dict() for r in results],
        }

    @api.get("/api/ror/leaderboard", summary="People by Return on Relationship, best first")
    def ror_leaderboard(
        brand: BrandQ = None,
        top: Annotated[int, Query(ge=1, le=500)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
        refresh: bool = False,
    ) -> dict[str, Any]:
        return _call(
            lambda: service.leaderboard(
                engine, settings, brand_name=brand, top=top, offset=offset, refresh=refresh
            )
        )

    @api.post("/api/ror/refresh", summary="Recompute everyone's ROR now")
    def ror_refresh(brand: BrandQ = None) -> dict[str, Any]:
        return _call(lambda: service.refresh_ror(engine, settings, brand_name=brand)).as_dict()

    @api.get("/api/authors/{author_id}/ror", summary="A person's ROR, how it was built, and its history")
    def author_ror(
        author_id: int,
        brand: BrandQ = None,
        every: EveryQ = "month",
        events: Annotated[int, Query(ge=0, le=2000)] = 200,
    ) -> dict[str, Any]:
        return _call(
            lambda: service.person_page(
                engine, settings, author_id=author_id, brand_name=brand, every=every, max_events=events
            )
        )

    @api.get("/api/identity/suggestions", summary="Accounts that are probably the same person")
    def identity_suggestions(
        author_id: int | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> dict[str, Any]:
        return {"items": service.suggestions(engine, author_id=author_id, limit=limit)}

    @api.post("/api/identity/link", summary="Link accounts as one person (audited)")
    def identity_link(request: Request, body: Annotated[LinkIn, Body()]) -> dict[str, Any]:
        person = _call(
            lambda: service.link(
                engine, author_ids=body.author_ids, actor=_actor(request), display_name=body.display_name
            )
        )
        return {"person_id": person, "author_ids": sorted(set(body.author_ids))}

    @api.post("/api/identity/unlink", summary="Detach an account from its person (audited)")
    def identity_unlink(request: Request, body: Annotated[UnlinkIn, Body()]) -> dict[str, Any]:
        _call(lambda: service.unlink(engine, author_id=body.author_id, actor=_actor(request)))
        return {"author_id": body.author_id, "person_id": None}

    @api.post("/api/identity/dismiss", summary="Two accounts are different people: stop suggesting them")
    def identity_dismiss(request: Request, body: Annotated[DismissIn, Body()]) -> dict[str, Any]:
        _call(
            lambda: service.dismiss(
                engine, author_a=body.author_a, author_b=body.author_b, actor=_actor(request)
            )
        )
        return {"dismissed": sorted((body.author_a, body.author_b))}

    @api.post(
        "/api/authors/{author_id}/events",
        status_code=201,
        summary="Log a relationship event Tesoro cannot see (a purchase, a meet-up...; audited)",
    )
    def log_event(request: Request, author_id: int, body: Annotated[EventIn, Body()]) -> dict[str, Any]:
        return _call(
            lambda: service.log_event(
                engine,
                author_id=author_id,
                kind=body.kind,
                weight=body.weight,
                occurred_at=body.occurred_at,
                post_id=body.post_id,
                note=body.note,
                actor=_actor(request),
            )
        )

    @api.delete("/api/authors/{author_id}/events/{event_id}", summary="Remove a logged event (audited)")
    def delete_event(request: Request, author_id: int, event_id: int) -> dict[str, Any]:
        removed = _call(
            lambda: service.delete_event(
                engine, author_id=author_id, event_id=event_id, actor=_actor(request)
            )
        )
        return {"deleted": removed}

    # --- charts (SVG) ---------------------------------------------------------------------------

    def _label(brand: str | None, platform: str | None) -> str:
        return " · ".join(x for x in (brand or "all brands", platform) if x)

    @api.get("/api/charts/volume.svg", summary="Chart: mentions over time, by sentiment")
    def volume_svg(
        brand: BrandQ = None,
        platform: PlatformQ = None,
        since: SinceQ = None,
        until: UntilQ = None,
        bucket: BucketQ = None,
    ) -> Response:
        start, end = _window(since, until)
        chosen, points = _call(
            lambda: service.volume_report(
                engine, brand_name=brand, platform=platform, since=start, until=end, bucket=bucket
            )
        )
        title = f"Mentions per {chosen} — {_label(brand, platform)}"
        return _svg(volume_chart(points, bucket=chosen, title=title))

    @api.get("/api/charts/sentiment.svg", summary="Chart: net sentiment over time")
    def sentiment_svg(
        brand: BrandQ = None,
        platform: PlatformQ = None,
        since: SinceQ = None,
        until: UntilQ = None,
        bucket: BucketQ = None,
    ) -> Response:
        start, end = _window(since, until)
        chosen, points = _call(
            lambda: service.volume_report(
                engine, brand_name=brand, platform=platform, since=start, until=end, bucket=bucket
            )
        )
        line = [
            LinePoint(p.start.strftime("%Y-%m" if chosen == "month" else "%b %d"), p.sentiment.net)
            for p in points
        ]
        title = f"Net sentiment per {chosen} (-1 to 1) — {_label(brand, platform)}"
        return _svg(line_chart(line, title=title, lo=-1.0, hi=1.0))

    @api.get("/api/charts/share-of-voice.svg", summary="Chart: share of voice against competitors")
    def voice_svg(
        brand: BrandQ = None, platform: PlatformQ = None, since: SinceQ = None, until: UntilQ = None
    ) -> Response:
        start, end = _window(since, until)
        shares = _call(
            lambda: service.share_of_voice_report(
                engine, brand_name=brand, platform=platform, since=start, until=end
            )
        )
        return _svg(share_of_voice_chart(shares, title=f"Share of voice — {_label(brand, platform)}"))

    @api.get("/api/charts/ror-leaderboard.svg", summary="Chart: the ROR leaderboard")
    def leaderboard_svg(brand: BrandQ = None, top: Annotated[int, Query(ge=1, le=50)] = 15) -> Response:
        board = _call(lambda: service.leaderboard(engine, settings, brand_name=brand, top=top))
        items = [
            BarItem(
                label=f"{row['display_name'] or row['handle']} ({row['platform']})",
                value=float(row["score"]),
                note=f"{row['events']} events, {row['months_active']} months",
            )
            for row in board["items"]
        ]
        return _svg(bar_chart(items, title=f"Return on Relationship — {_label(board['brand'], None)}"))

    @api.get("/api/charts/ror-history.svg", summary="Chart: one person's ROR over time")
    def history_svg(author_id: int, brand: BrandQ = None, every: EveryQ = "month") -> Response:
        page = _call(
            lambda: service.person_page(
                engine, settings, author_id=author_id, brand_name=brand, every=every, max_events=0
            )
        )
        points = [
            LinePoint(p["at"][:7] if every == "month" else p["at"][:10], float(p["score"]))
            for p in page["history"]["points"]
        ]
        account = page["accounts"][0] if page["accounts"] else {"handle": str(author_id)}
        who = account.get("display_name") or account.get("handle")
        return _svg(line_chart(points, title=f"ROR of {who} — {_label(page['brand'], None)}"))

    return api
