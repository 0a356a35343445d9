"""HTTP routes for alerts: edit the rules, read the outbox and the delivery log.

`router(engine, settings)` returns an `APIRouter` to include in the app; authentication
is added where it is included. Rules from the settings file can be edited here (the
edit survives restarts until the file's version of the rule changes) and disabled, but
not deleted: they would come back at the next start. Rules created here can be deleted.

| method | path | what |
| --- | --- | --- |
| GET | /api/alerts/rules | every rule with its origin, state and last evaluation |
| POST | /api/alerts/rules | create a rule (the `[[alerts]]` keys as JSON) |
| GET | /api/alerts/rules/{name} | one rule |
| PATCH | /api/alerts/rules/{name} | change some keys (`{"cooldown": "2h", "enabled": false}`) |
| DELETE | /api/alerts/rules/{name} | delete a rule made through the API |
| GET | /api/alerts | alerts, newest first, with counts per status (`?status=pending&rule=...`) |
| GET | /api/alerts/deliveries | the delivery log, newest first (`?rule=...&status=failed`) |
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Query, Response, status
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.settings import AlertRuleSettings, Settings
from tesoro.store.alerts import (
    alert_status_counts,
    create_rule,
    delete_rule,
    deliveries_for_alerts,
    get_rule,
    list_alerts,
    list_deliveries,
    list_rules,
    listening_query,
    update_rule,
)
from tesoro.store.catalog import brand_by_name
from tesoro.store.engine import session_scope
from tesoro.store.tables import Alert, AlertDelivery, AlertRule

__all__ = ["router"]

# Starlette renamed the 422 constant; the number is what clients see.
_UNPROCESSABLE = 422


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _rule_out(row: AlertRule) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "enabled": row.enabled,
        "origin": row.origin,
        "edited": row.edited,
        "config": {**row.config, "enabled": row.enabled},
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "last_evaluated_at": _iso(row.last_evaluated_at),
        "state": row.state,
    }


def _alert_out(row: Alert, deliveries: list[int]) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule": row.rule,
        "subject": row.subject,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": _iso(row.created_at),
        "next_attempt_at": _iso(row.next_attempt_at),
        "delivered_at": _iso(row.delivered_at),
        "deliveries": deliveries,
        "payload": row.payload,
    }


def _delivery_out(row: AlertDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule": row.rule,
        "channel": row.channel,
        "kind": row.kind,
        "status": row.status,
        "alert_count": row.alert_count,
        "http_status": row.http_status,
        "error": row.error,
        "response": row.response,
        "retries": row.retries,
        "duration_ms": row.duration_ms,
        "attempt_at": _iso(row.attempt_at),
    }


def _validated(data: dict[str, Any]) -> AlertRuleSettings:
    try:
        return AlertRuleSettings.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"loc": list(e["loc"]), "msg": str(e["msg"]).removeprefix("Value error, ")} for e in exc.errors()
        ]
        raise HTTPException(_UNPROCESSABLE, detail=problems) from exc


def _check_references(session: Session, conf: AlertRuleSettings) -> None:
    problems = []
    if conf.brand is not None and brand_by_name(session, conf.brand) is None:
        problems.append({"loc": ["brand"], "msg": f"unknown brand {conf.brand!r}"})
    if conf.query is not None and listening_query(session, conf.query) is None:
        problems.append({"loc": ["query"], "msg": f"unknown listening query {conf.query!r}"})
    if problems:
        raise HTTPException(_UNPROCESSABLE, detail=problems)


def _require(session: Session, name: str) -> AlertRule:
    row = get_rule(session, name)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no alert rule named {name!r}")
    return row


def router(engine: Engine, settings: Settings) -> APIRouter:
    """The alerts routes over `engine`. `settings` is accepted for symmetry with the other routers."""
    api = APIRouter(prefix="/api/alerts", tags=["alerts"])

    @api.get("/rules")
    def rules() -> list[dict[str, Any]]:
        with session_scope(engine) as session:
            return [_rule_out(r) for r in list_rules(session)]

    @api.post("/rules", status_code=status.HTTP_201_CREATED)
    def create(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        conf = _validated(body)
        with session_scope(engine) as session:
            if get_rule(session, conf.name) is not None:
                raise HTTPException(
                    status.HTTP_409_CONFLICT, detail=f"an alert rule named {conf.name!r} exists"
                )
            _check_references(session, conf)
            return _rule_out(create_rule(session, conf, now=datetime.now(UTC)))

    @api.get("/rules/{name}")
    def rule(name: str) -> dict[str, Any]:
        with session_scope(engine) as session:
            return _rule_out(_require(session, name))

    @api.patch("/rules/{name}")
    def edit(name: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        if "name" in body and body["name"] != name:
            raise HTTPException(
                _UNPROCESSABLE,
                detail=[{"loc": ["name"], "msg": "a rule cannot be renamed; create a new one"}],
            )
        with session_scope(engine) as session:
            row = _require(session, name)
            conf = _validated({**row.config, "enabled": row.enabled, **body, "name": name})
            _check_references(session, conf)
            return _rule_out(update_rule(session, row, conf, now=datetime.now(UTC)))

    @api.delete("/rules/{name}", status_code=status.HTTP_204_NO_CONTENT)
    def delete(name: str) -> Response:
        with session_scope(engine) as session:
            row = _require(session, name)
            if row.origin == "settings":
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    detail=(
                        f"{name!r} comes from the settings file: remove it there, "
                        'or disable it here with PATCH {"enabled": false}'
                    ),
                )
            delete_rule(session, row)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @api.get("")
    def alerts(
        status_: str | None = Query(None, alias="status", pattern="^(pending|delivered)$"),
        rule: str | None = None,
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        with session_scope(engine) as session:
            rows = list_alerts(session, status=status_, rule=rule, limit=limit, offset=offset)
            deliveries = deliveries_for_alerts(session, alert_ids=[r.id for r in rows if r.id is not None])
            return {
                "counts": alert_status_counts(session, rule=rule),
                "items": [_alert_out(r, deliveries.get(r.id or 0, [])) for r in rows],
            }

    @api.get("/deliveries")
    def deliveries(
        rule: str | None = None,
        status_: str | None = Query(None, alias="status", pattern="^(delivered|failed|rate_limited)$"),
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0),
    ) -> list[dict[str, Any]]:
        with session_scope(engine) as session:
            return [
                _delivery_out(d)
                for d in list_deliveries(session, rule=rule, status=status_, limit=limit, offset=offset)
            ]

    return api
