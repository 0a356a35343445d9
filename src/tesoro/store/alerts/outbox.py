"""The alert outbox and its delivery log.

An alert is stored first as `pending` and delivered later, maybe in several tries;
every message attempt is logged with the alerts it carried, so each alert can be
accounted for: delivered by which message, or still pending and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session, col

from tesoro.store.sql import table_of
from tesoro.store.tables import (
    Alert,
    AlertDelivery,
    AlertDeliveryItem,
)

__all__ = [
    "DeliveryWindow",
    "add_alerts",
    "alert_status_counts",
    "claim_due_alerts",
    "delivered_channels",
    "deliveries_for_alerts",
    "delivery_alerts",
    "delivery_rules",
    "delivery_window",
    "finish_alerts",
    "list_alerts",
    "list_deliveries",
    "record_delivery",
    "reschedule_alerts",
]

# Ids per statement (parameter lists stay under the backends' limits).
_CHUNK = 500


def add_alerts(
    session: Session, *, rule: str, alerts: Sequence[tuple[str, dict[str, Any]]], now: datetime
) -> list[int]:
    """Store alerts as pending (the outbox): delivery happens later and may take several tries."""
    rows = [
        Alert(
            rule=rule,
            subject=subject,
            payload=payload,
            status="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        for subject, payload in alerts
    ]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows if r.id is not None]


def claim_due_alerts(session: Session, *, now: datetime, lease_until: datetime, limit: int) -> list[Alert]:
    """Take up to `limit` due pending alerts for delivery, oldest first.

    Claiming pushes `next_attempt_at` to `lease_until` in one `UPDATE ... RETURNING`, so a
    second deliverer running at the same time skips them, and a run that crashes mid-way
    leaves them to be retried once the lease is over (never lost; at worst sent twice).
    """
    due = and_(
        col(Alert.status) == "pending",
        or_(col(Alert.next_attempt_at).is_(None), col(Alert.next_attempt_at) <= now),
    )
    ids = select(col(Alert.id)).where(due).order_by(col(Alert.created_at), col(Alert.id)).limit(limit)
    stmt = (
        update(Alert)
        .where(col(Alert.id).in_(ids.scalar_subquery()), due)
        .values(next_attempt_at=lease_until)
        .returning(col(Alert.id))
    )
    claimed = [i for (i,) in session.execute(stmt)]
    if not claimed:
        return []
    rows: list[Alert] = []
    for start in range(0, len(claimed), _CHUNK):
        chunk = claimed[start : start + _CHUNK]
        rows.extend(session.execute(select(Alert).where(col(Alert.id).in_(chunk))).scalars())
    rows.sort(key=lambda a: (a.created_at or now, a.id or 0))
    return rows


# Statuses of a message that (probably) reached its channel: never sent again, and counted against the
# digest allowance. "uncertain": Slack did not answer in time, and the message may well have been posted.
_CARRIED = ("delivered", "uncertain")


def delivered_channels(session: Session, *, alert_ids: Sequence[int]) -> dict[int, set[str]]:
    """For each alert, the channels a delivered message already carried it to."""
    out: dict[int, set[str]] = {}
    for start in range(0, len(alert_ids), _CHUNK):
        chunk = list(alert_ids[start : start + _CHUNK])
        stmt = (
            select(col(AlertDeliveryItem.alert_id), col(AlertDelivery.channel))
            .join(AlertDelivery, col(AlertDelivery.id) == col(AlertDeliveryItem.delivery_id))
            .where(col(AlertDeliveryItem.alert_id).in_(chunk), col(AlertDelivery.status).in_(_CARRIED))
        )
        for alert_id, channel in session.execute(stmt):
            out.setdefault(alert_id, set()).add(channel)
    return out


@dataclass(frozen=True, slots=True)
class DeliveryWindow:
    """What one (rule, channel) pair was sent recently: the digest decision's inputs."""

    singles: int
    last_digest_at: datetime | None


def delivery_window(session: Session, *, rule: str, channel: str, since: datetime) -> DeliveryWindow:
    base = select(func.count().label("n"), func.max(col(AlertDelivery.attempt_at)).label("last_at")).where(
        col(AlertDelivery.rule) == rule,
        col(AlertDelivery.channel) == channel,
        col(AlertDelivery.attempt_at) >= since,
        col(AlertDelivery.status).in_(_CARRIED),
    )
    singles = session.execute(base.where(col(AlertDelivery.kind) == "alert")).one().n
    last_digest = session.execute(base.where(col(AlertDelivery.kind) == "digest")).one().last_at
    return DeliveryWindow(singles=int(singles or 0), last_digest_at=last_digest)


def record_delivery(
    session: Session,
    *,
    rule: str,
    channel: str,
    kind: str,
    status: str,
    alert_ids: Sequence[int],
    at: datetime,
    http_status: int | None = None,
    error: str | None = None,
    response: str | None = None,
    retries: int = 0,
    duration_ms: int = 0,
) -> int:
    """One line of the delivery log, with the alerts the message carried."""
    row = AlertDelivery(
        rule=rule,
        channel=channel,
        kind=kind,
        status=status,
        alert_count=len(alert_ids),
        http_status=http_status,
        error=error[:2000] if error else None,
        response=response[:200] if response else None,
        retries=retries,
        duration_ms=duration_ms,
        attempt_at=at,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    items = [{"delivery_id": row.id, "alert_id": a} for a in dict.fromkeys(alert_ids)]
    if items:
        session.connection().execute(table_of(AlertDeliveryItem).insert(), items)
    return row.id


def finish_alerts(session: Session, *, alert_ids: Sequence[int], now: datetime, attempted: bool) -> None:
    """Mark alerts delivered (every channel they were due on has them)."""
    for start in range(0, len(alert_ids), _CHUNK):
        chunk = list(alert_ids[start : start + _CHUNK])
        values: dict[str, Any] = {
            "status": "delivered",
            "delivered_at": now,
            "next_attempt_at": None,
            "last_error": None,
        }
        if attempted:
            values["attempts"] = col(Alert.attempts) + 1
        session.execute(update(Alert).where(col(Alert.id).in_(chunk)).values(**values))


def reschedule_alerts(
    session: Session,
    *,
    alert_ids: Sequence[int],
    next_attempt_at: datetime,
    error: str | None,
    attempted: bool,
) -> None:
    """Keep alerts pending for a later run: after a failure (`attempted`), or deferred unsent."""
    for start in range(0, len(alert_ids), _CHUNK):
        chunk = list(alert_ids[start : start + _CHUNK])
        values: dict[str, Any] = {"next_attempt_at": next_attempt_at}
        if attempted:
            values["attempts"] = col(Alert.attempts) + 1
        if error is not None:
            values["last_error"] = error[:2000]
        session.execute(update(Alert).where(col(Alert.id).in_(chunk)).values(**values))


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    rule: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Alert]:
    """Newest first."""
    stmt = select(Alert).order_by(col(Alert.id).desc()).limit(limit).offset(offset)
    if status is not None:
        stmt = stmt.where(col(Alert.status) == status)
    if rule is not None:
        stmt = stmt.where(col(Alert.rule) == rule)
    return list(session.execute(stmt).scalars())


def alert_status_counts(session: Session, *, rule: str | None = None) -> dict[str, int]:
    stmt = select(col(Alert.status), func.count()).group_by(col(Alert.status))
    if rule is not None:
        stmt = stmt.where(col(Alert.rule) == rule)
    return {status: int(n) for status, n in session.execute(stmt)}


def list_deliveries(
    session: Session,
    *,
    rule: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[AlertDelivery]:
    """The delivery log, newest first; `since` (included) and `until` (excluded) bound the attempt time."""
    stmt = select(AlertDelivery).order_by(col(AlertDelivery.id).desc()).limit(limit).offset(offset)
    if rule is not None:
        stmt = stmt.where(col(AlertDelivery.rule) == rule)
    if status is not None:
        stmt = stmt.where(col(AlertDelivery.status) == status)
    if since is not None:
        stmt = stmt.where(col(AlertDelivery.attempt_at) >= since)
    if until is not None:
        stmt = stmt.where(col(AlertDelivery.attempt_at) < until)
    return list(session.execute(stmt).scalars())


def delivery_rules(session: Session) -> list[str]:
    """Every rule name the delivery log holds (rules since deleted and "test" included), sorted."""
    stmt = select(col(AlertDelivery.rule)).distinct().order_by(col(AlertDelivery.rule))
    return [str(name) for name in session.execute(stmt).scalars()]


def delivery_alerts(session: Session, *, delivery_id: int) -> tuple[AlertDelivery, list[Alert]] | None:
    """One line of the delivery log and the alerts its message carried (oldest first), or None."""
    row = session.get(AlertDelivery, delivery_id)
    if row is None:
        return None
    stmt = (
        select(Alert)
        .join(AlertDeliveryItem, col(AlertDeliveryItem.alert_id) == col(Alert.id))
        .where(col(AlertDeliveryItem.delivery_id) == delivery_id)
        .order_by(col(Alert.id))
    )
    return row, list(session.execute(stmt).scalars())


def deliveries_for_alerts(session: Session, *, alert_ids: Sequence[int]) -> dict[int, list[int]]:
    """For each alert, the ids of the delivery-log rows that carried it (any status)."""
    out: dict[int, list[int]] = {}
    for start in range(0, len(alert_ids), _CHUNK):
        chunk = list(alert_ids[start : start + _CHUNK])
        stmt = (
            select(col(AlertDeliveryItem.alert_id), col(AlertDeliveryItem.delivery_id))
            .where(col(AlertDeliveryItem.alert_id).in_(chunk))
            .order_by(col(AlertDeliveryItem.delivery_id))
        )
        for alert_id, delivery_id in session.execute(stmt):
            out.setdefault(alert_id, []).append(delivery_id)
    return out
