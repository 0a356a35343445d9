"""The alerts page (the delivery log and the rules) and the admins' settings page.

Like every page, they are not in the OpenAPI document. The alerts page is for every reader
(admins also get the rules' enable / disable buttons, which call the alerts API); the
settings page is for admins (anyone else gets the UI's 403 page: their role cannot open it).

The settings page shows the configuration read-only: the TOML file is the source of truth
for brands, products, listening queries and sources (`tesoro.store.catalog` copies it into
the store at every start), so an edit made here would be overwritten at the next start, and
rewriting the file from a web process would lose its comments and race a person editing it.
The page names the file and the `[[section]]` to change instead (docs/settings.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tesoro.api.auth import ROLE_MATRIX, Access
from tesoro.api.deps import Admin, EngineDep, PagesDep, Reader, SettingsDep
from tesoro.api.schemas.alerts import DeliveryPublic
from tesoro.collector.quota import describe_duration, quota_statuses
from tesoro.store.alerts import delivery_rules, list_deliveries, list_rules
from tesoro.store.engine import session_scope
from tesoro.store.sources import list_sources

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
DELIVERY_STATUSES = ("delivered", "uncertain", "failed", "rate_limited")
# The paths the two pages' scripts call, handed to them in the page data.
ALERT_ENDPOINTS = {
    "delivery_message": "/api/alerts/deliveries/{id}/message",
    "alert_rule": "/api/alerts/rules/{name}",
}
SETTINGS_ENDPOINTS = {"query_preview": "/api/queries/preview"}
PREVIEW_SIZES = (100, 500, 1000, 5000)


@dataclass(frozen=True, slots=True)
class DeliveryFilters:
    """The alerts page's filters as the form sent them, and what was wrong with them."""

    status: str = ""
    rule: str = ""
    start: str = ""
    end: str = ""
    offset: int = 0
    errors: tuple[str, ...] = ()

    def query(self, **changes: Any) -> str:
        """This page's query string with some values changed (the pager's links)."""
        values = {"status": self.status, "rule": self.rule, "from": self.start, "to": self.end}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", 0, None)})


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _filters(
    status: str, rule: str, start: str, end: str, offset: int
) -> tuple[DeliveryFilters, dict[str, Any]]:
    """The filters, and the store's arguments for those that make sense (the others are reported)."""
    errors: list[str] = []
    args: dict[str, Any] = {}
    if status:
        if status in DELIVERY_STATUSES:
            args["status"] = status
        else:
            errors.append("bad_status")
            status = ""
    if rule:
        args["rule"] = rule
    day_start = _day(start) if start else None
    day_end = _day(end) if end else None
    if start and day_start is None:
        errors.append("bad_from")
    if end and day_end is None:
        errors.append("bad_to")
    if day_start and day_end and day_end < day_start:
        errors.append("to_before_from")
        day_end = None
    if day_start:
        args["since"] = datetime.combine(day_start, datetime.min.time(), tzinfo=UTC)
    if day_end:  # the whole day "to" names
        args["until"] = datetime.combine(day_end, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    filters = DeliveryFilters(
        status=status,
        rule=rule,
        start=start if day_start else "",
        end=end if day_end else "",
        offset=offset,
        errors=tuple(errors),
    )
    return filters, args


@router.get("/ui/alerts", response_class=HTMLResponse)
def alerts_page(
    caller: Reader,
    request: Request,
    pages: PagesDep,
    engine: EngineDep,
    status: str = Query("", max_length=32),
    rule: str = Query("", max_length=200),
    start: str = Query("", alias="from", max_length=32),
    end: str = Query("", alias="to", max_length=32),
    offset: int = Query(0, ge=0, le=100_000),
) -> HTMLResponse:
    filters, args = _filters(status.strip(), rule.strip(), start.strip(), end.strip(), offset)
    with session_scope(engine) as session:
        rows = list_deliveries(session, **args, limit=PAGE_SIZE + 1, offset=offset)
        rules = list_rules(session)
        logged_rules = delivery_rules(session)
        deliveries = [(DeliveryPublic.from_row(d), d.attempt_at) for d in rows[:PAGE_SIZE]]
    is_admin = caller is not None and caller.role in ROLE_MATRIX[Access.ADMIN]
    return pages.render(
        request,
        "alerts.html",
        principal=caller,
        page="alerts",
        data={"alert_endpoints": ALERT_ENDPOINTS, "is_admin": is_admin},
        filters=filters,
        statuses=DELIVERY_STATUSES,
        rules=rules,
        rule_names=sorted(
            {r.name for r in rules} | set(logged_rules) | ({filters.rule} if filters.rule else set())
        ),
        deliveries=deliveries,
        has_more=len(rows) > PAGE_SIZE,
        page_size=PAGE_SIZE,
        is_admin=is_admin,
        duration=describe_duration,
    )


@router.get("/ui/settings", response_class=HTMLResponse)
def settings_page(
    caller: Admin, request: Request, pages: PagesDep, engine: EngineDep, settings: SettingsDep
) -> HTMLResponse:
    with session_scope(engine) as session:
        rows = list_sources(session)
        quotas = quota_statuses(session, settings, rows, now=datetime.now(UTC))
    configured = {s.name for s in settings.sources}
    return pages.render(
        request,
        "settings.html",
        principal=caller,
        page="settings",
        data={"settings_endpoints": SETTINGS_ENDPOINTS},
        config_file=str(settings.source_file) if settings.source_file else None,
        settings=settings,
        sources=[s for s in rows if s.name in configured],
        quotas=quotas,
        preview_sizes=PREVIEW_SIZES,
        duration=describe_duration,
    )
