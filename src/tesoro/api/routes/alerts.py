"""Alert rules, the outbox and the delivery log (reads: viewer; writes: admin).

Rules from the settings file can be edited here (the edit survives restarts until
the file's version of the rule changes) and disabled, but not deleted: they would
come back at the next start. Rules created here can be deleted.

| method | path | what |
| --- | --- | --- |
| GET | /api/alerts/rules | every rule with its origin, state and last evaluation |
| POST | /api/alerts/rules | create a rule (the `[[alerts]]` keys as JSON) |
| GET | /api/alerts/rules/{name} | one rule |
| PATCH | /api/alerts/rules/{name} | change some keys (`{"cooldown": "2h", "enabled": false}`) |
| DELETE | /api/alerts/rules/{name} | delete a rule made through the API |
| GET | /api/alerts | alerts, newest first, with counts per status (`?status=pending&rule=...`) |
| GET | /api/alerts/deliveries | the delivery log, newest first (`?rule=...&status=failed&since=...`) |
| GET | /api/alerts/deliveries/{id}/message | the message one delivery sent, as readable parts and as blocks |
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError
from sqlmodel import Session

from tesoro.alerts.channels import links_for
from tesoro.alerts.models import OutgoingAlert
from tesoro.alerts.readable import plain, readable, rebuild
from tesoro.api.deps import EngineDep, SettingsDep
from tesoro.api.problems import Problem
from tesoro.api.schemas.alerts import (
    AlertPage,
    AlertPublic,
    DeliveryMessage,
    DeliveryPublic,
    MessagePartPublic,
    RuleCreate,
    RulePublic,
    RuleUpdate,
)
from tesoro.api.schemas.common import MAX_OFFSET, Id
from tesoro.settings import AlertRuleSettings, Settings
from tesoro.store.alerts import (
    alert_status_counts,
    create_rule,
    delete_rule,
    deliveries_for_alerts,
    delivery_alerts,
    get_rule,
    list_alerts,
    list_deliveries,
    list_rules,
    listening_query,
    update_rule,
)
from tesoro.store.catalog import brand_by_name
from tesoro.store.engine import session_scope
from tesoro.store.tables import AlertRule

__all__ = ["router"]

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


def _validated(data: dict[str, Any]) -> AlertRuleSettings:
    """The rule as the settings file would have it, or a bad_request naming each key and its reason."""
    try:
        return AlertRuleSettings.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"loc": list(e["loc"]), "msg": str(e["msg"]).removeprefix("Value error, ")} for e in exc.errors()
        ]
        raise Problem("bad_request", problems) from exc


def _check_references(session: Session, conf: AlertRuleSettings, settings: Settings) -> None:
    problems = []
    for key in ("webhook_url_env", "json_webhook_url_env"):
        env_name = getattr(conf, key)
        if env_name and (refusal := settings.alert_env_refusal(env_name)):
            problems.append({"loc": [key], "msg": refusal})
    if conf.brand is not None and brand_by_name(session, conf.brand) is None:
        problems.append({"loc": ["brand"], "msg": f"unknown brand {conf.brand!r}"})
    if conf.query is not None and listening_query(session, conf.query) is None:
        problems.append({"loc": ["query"], "msg": f"unknown listening query {conf.query!r}"})
    if problems:
        raise Problem("bad_request", problems)


def _require(session: Session, name: str) -> AlertRule:
    row = get_rule(session, name)
    if row is None:
        raise Problem("not_found", f"no alert rule named {name!r}")
    return row


@router.get("/rules", response_model=list[RulePublic], summary="Every rule with its origin and state")
def rules(engine: EngineDep) -> list[RulePublic]:
    with session_scope(engine) as session:
        return [RulePublic.from_row(r) for r in list_rules(session)]


@router.post(
    "/rules",
    status_code=201,
    response_model=RulePublic,
    summary="Create a rule (the `[[alerts]]` keys as JSON)",
)
def create(engine: EngineDep, settings: SettingsDep, body: RuleCreate) -> RulePublic:
    conf = _validated(body.root)
    with session_scope(engine) as session:
        if get_rule(session, conf.name) is not None:
            raise Problem("conflict", f"an alert rule named {conf.name!r} exists")
        _check_references(session, conf, settings)
        return RulePublic.from_row(create_rule(session, conf, now=datetime.now(UTC)))


@router.get("/rules/{name}", response_model=RulePublic, summary="One rule")
def rule(engine: EngineDep, name: str) -> RulePublic:
    with session_scope(engine) as session:
        return RulePublic.from_row(_require(session, name))


@router.patch("/rules/{name}", response_model=RulePublic, summary="Change some keys of a rule")
def edit(engine: EngineDep, settings: SettingsDep, name: str, body: RuleUpdate) -> RulePublic:
    changes = body.root
    if "name" in changes and changes["name"] != name:
        raise Problem("bad_request", [{"loc": ["name"], "msg": "a rule cannot be renamed; create a new one"}])
    with session_scope(engine) as session:
        row = _require(session, name)
        conf = _validated({**row.config, "enabled": row.enabled, **changes, "name": name})
        _check_references(session, conf, settings)
        return RulePublic.from_row(update_rule(session, row, conf, now=datetime.now(UTC)))


@router.delete(
    "/rules/{name}",
    status_code=204,
    response_class=Response,
    summary="Delete a rule made through the API (file rules: disable them)",
)
def delete(engine: EngineDep, name: str) -> Response:
    with session_scope(engine) as session:
        row = _require(session, name)
        if row.origin == "settings":
            raise Problem(
                "conflict",
                f"{name!r} comes from the settings file: remove it there, "
                'or disable it here with PATCH {"enabled": false}',
            )
        delete_rule(session, row)
    return Response(status_code=204)


@router.get("", response_model=AlertPage, summary="Alerts, newest first, with counts per status")
def alerts(
    engine: EngineDep,
    status_: Literal["pending", "delivered"] | None = Query(None, alias="status"),
    rule: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> AlertPage:
    with session_scope(engine) as session:
        rows = list_alerts(session, status=status_, rule=rule, limit=limit, offset=offset)
        deliveries = deliveries_for_alerts(session, alert_ids=[r.id for r in rows if r.id is not None])
        return AlertPage(
            counts=alert_status_counts(session, rule=rule),
            items=[AlertPublic.from_row(r, deliveries.get(r.id or 0, [])) for r in rows],
        )


@router.get("/deliveries", response_model=list[DeliveryPublic], summary="The delivery log, newest first")
def deliveries(
    engine: EngineDep,
    rule: str | None = None,
    status_: Literal["delivered", "uncertain", "failed", "rate_limited"] | None = Query(None, alias="status"),
    since: datetime | None = Query(None, description="attempts at or after this time (ISO 8601)"),
    until: datetime | None = Query(None, description="attempts before this time (ISO 8601)"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[DeliveryPublic]:
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and until <= since:
        raise Problem("bad_request", [{"loc": ["query", "until"], "msg": "until must be later than since"}])
    with session_scope(engine) as session:
        rows = list_deliveries(
            session, rule=rule, status=status_, since=since, until=until, limit=limit, offset=offset
        )
        return [DeliveryPublic.from_row(d) for d in rows]


def _aware(value: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC (the store's times are UTC)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get(
    "/deliveries/{delivery_id}/message",
    response_model=DeliveryMessage,
    summary="The message one delivery sent, as readable parts and as Block Kit",
)
def delivery_message(engine: EngineDep, settings: SettingsDep, delivery_id: Id) -> DeliveryMessage:
    with session_scope(engine) as session:
        found = delivery_alerts(session, delivery_id=delivery_id)
        if found is None:
            raise Problem("not_found", f"no delivery {delivery_id}")
        row, carried = found
        delivery = DeliveryPublic.from_row(row)
        alerts = [
            OutgoingAlert(a.id, a.rule, a.subject, dict(a.payload), a.created_at or row.attempt_at)
            for a in carried
            if a.id is not None
        ]
    message = rebuild(row.rule, row.kind, alerts, links_for(settings))
    if message is None:
        return DeliveryMessage(delivery=delivery, available=False, fallback="", parts=[], blocks=[])
    return DeliveryMessage(
        delivery=delivery,
        available=True,
        fallback=plain(message.text)[0],
        parts=[MessagePartPublic.from_part(p) for p in readable(message)],
        blocks=message.blocks,
    )
