"""Alert rules as the evaluator and the API see them, and the dedupe marks and cooldowns they keep.

Rules are mirrored from the settings file and editable through the API; a mark says
"this rule has already handled this subject", unique per (rule, subject), so two
evaluators racing cannot both alert on the same post.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session, col
from sqlmodel import select as model_select

from tesoro.settings import AlertRuleSettings, Settings
from tesoro.store.sql import dialect_insert, table_of
from tesoro.store.tables import (
    Alert,
    AlertMark,
    AlertRule,
)

__all__ = [
    "create_rule",
    "delete_rule",
    "get_rule",
    "list_rules",
    "mark_subjects",
    "recently_alerted",
    "rule_config",
    "save_rule_state",
    "sync_rules",
    "update_rule",
]

# Ids per statement (parameter lists stay under the backends' limits).
_CHUNK = 500


def _config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()


def _dump(conf: AlertRuleSettings) -> dict[str, Any]:
    return conf.model_dump(mode="json")


def rule_config(rule: AlertRule) -> AlertRuleSettings:
    """The rule's settings as the typed model (the `enabled` column wins over the stored copy)."""
    return AlertRuleSettings.model_validate({**rule.config, "name": rule.name, "enabled": rule.enabled})


def sync_rules(session: Session, settings: Settings, *, now: datetime) -> None:
    """Mirror the file's rules into `alert_rule`, keeping API edits until the file's version changes.

    - a rule new in the file is created;
    - a rule whose file version changed since the last sync takes the file's version (the file
      wins when someone edits it), otherwise the stored one is kept (an API edit survives restarts);
    - a rule created through the API under a name the file now uses is taken over by the file;
    - a file rule that disappeared from the file is disabled, not deleted, so its history stays.
    """
    rows = {r.name: r for r in session.exec(_select_rules())}
    configured: set[str] = set()
    for conf in settings.alerts:
        configured.add(conf.name)
        data = _dump(conf)
        digest = _config_hash(data)
        row = rows.get(conf.name)
        if row is None:
            row = AlertRule(name=conf.name, kind=conf.kind, created_at=now, state={})
        elif row.origin == "settings" and row.settings_hash == digest:
            continue
        row.kind = conf.kind
        row.enabled = conf.enabled
        row.config = data
        row.origin = "settings"
        row.settings_hash = digest
        row.edited = False
        row.updated_at = now
        session.add(row)
    for name, row in rows.items():
        if row.origin == "settings" and name not in configured and row.settings_hash is not None:
            row.enabled = False
            row.settings_hash = None
            row.updated_at = now
            session.add(row)
    session.flush()


def _select_rules() -> Any:
    return model_select(AlertRule).order_by(col(AlertRule.name))


def list_rules(session: Session, *, enabled_only: bool = False) -> list[AlertRule]:
    stmt = _select_rules()
    if enabled_only:
        stmt = stmt.where(col(AlertRule.enabled).is_(True))
    return list(session.exec(stmt))


def get_rule(session: Session, name: str) -> AlertRule | None:
    return session.exec(model_select(AlertRule).where(col(AlertRule.name) == name)).one_or_none()


def create_rule(session: Session, conf: AlertRuleSettings, *, now: datetime) -> AlertRule:
    """A rule that lives only in the store (origin "api"); the caller checks the name is free."""
    row = AlertRule(
        name=conf.name,
        kind=conf.kind,
        enabled=conf.enabled,
        origin="api",
        config=_dump(conf),
        created_at=now,
        updated_at=now,
        state={},
    )
    session.add(row)
    session.flush()
    return row


def update_rule(session: Session, row: AlertRule, conf: AlertRuleSettings, *, now: datetime) -> AlertRule:
    """Store an API edit. A changed kind restarts the rule's evaluation state (its cursors mean nothing)."""
    if conf.kind != row.kind:
        row.state = {}
        row.created_at = now
    row.kind = conf.kind
    row.enabled = conf.enabled
    row.config = _dump(conf)
    row.edited = row.origin == "settings"
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def delete_rule(session: Session, row: AlertRule) -> None:
    """Delete a rule and its dedupe marks; its alerts and delivery log stay (they are history)."""
    session.execute(delete(AlertMark).where(col(AlertMark.rule) == row.name))
    session.delete(row)
    session.flush()


def save_rule_state(session: Session, *, rule_id: int, state: dict[str, Any], evaluated_at: datetime) -> None:
    row = session.get(AlertRule, rule_id)
    if row is None:
        raise LookupError(f"alert rule {rule_id} does not exist")
    row.state = state
    row.last_evaluated_at = evaluated_at
    session.add(row)


# --- dedupe marks and cooldowns --------------------------------------------------------------------


def mark_subjects(
    session: Session, *, rule: str, items: Sequence[tuple[str, int | None]], now: datetime
) -> set[str]:
    """Mark (subject, post id) pairs as handled by `rule`; returns the subjects that were new.

    `INSERT ... ON CONFLICT DO NOTHING RETURNING` makes this the dedupe itself: of two
    evaluators racing on the same post, exactly one gets the subject back.
    """
    unique = dict(items)
    new: set[str] = set()
    table = table_of(AlertMark)
    rows = [{"rule": rule, "subject": s, "post_id": p, "marked_at": now} for s, p in unique.items()]
    for start in range(0, len(rows), _CHUNK):
        stmt = (
            dialect_insert(session, table)
            .on_conflict_do_nothing(index_elements=["rule", "subject"])
            .returning(table.c.subject)
        )
        new.update(subject for (subject,) in session.connection().execute(stmt, rows[start : start + _CHUNK]))
    return new


def recently_alerted(session: Session, *, rule: str, subjects: Iterable[str], since: datetime) -> set[str]:
    """Subjects `rule` has alerted on at or after `since` (the cooldown check)."""
    wanted = sorted(set(subjects))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        stmt = select(col(Alert.subject)).where(
            col(Alert.rule) == rule,
            col(Alert.created_at) >= since,
            col(Alert.subject).in_(wanted[start : start + _CHUNK]),
        )
        found.update(s for (s,) in session.execute(stmt))
    return found
