"""Repository functions for alerts: rules, dedupe marks, the outbox and its delivery log.

Every query the alerts area needs is built here (the evaluator and the outbox only
call these functions). Reads return plain frozen records (`PostFacts`) with exactly
what a rule or a message needs, in two queries per batch, never one per post.

Times are stored in UTC; SQLite hands them back without an offset, so every
datetime leaving this module is made timezone-aware again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    and_,
    cast,
    delete,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import table as sql_table
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col
from sqlmodel import select as model_select

from tesoro.settings import AlertRuleSettings, Settings
from tesoro.store.posts import _insert, _table
from tesoro.store.tables import (
    Alert,
    AlertDelivery,
    AlertDeliveryItem,
    AlertMark,
    AlertRule,
    Author,
    ListeningQuery,
    Post,
    Score,
    Source,
    SourceHealth,
)

__all__ = [
    "DeliveryWindow",
    "PostFacts",
    "add_alerts",
    "alert_status_counts",
    "claim_due_alerts",
    "create_rule",
    "delete_rule",
    "delivered_channels",
    "deliveries_for_alerts",
    "delivery_window",
    "failing_sources",
    "finish_alerts",
    "first_post_at",
    "get_rule",
    "hourly_counts",
    "list_alerts",
    "list_deliveries",
    "list_rules",
    "listening_query",
    "mark_subjects",
    "mention_candidates",
    "negative_candidates",
    "posts_in_window",
    "recently_alerted",
    "record_delivery",
    "reschedule_alerts",
    "rights_candidates",
    "rule_config",
    "save_rule_state",
    "stored_ror",
    "sync_rules",
    "treasure_candidates",
    "update_rule",
]

_CHUNK = 500


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    result = _utc(value)
    assert result is not None
    return result


def _detached(session: Session, rows: Sequence[Any]) -> None:
    """Detach rows before making their times timezone-aware, so reading never writes them back."""
    for row in rows:
        session.expunge(row)


# --- rules -----------------------------------------------------------------------------------------


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
    table = _table(AlertMark)
    rows = [{"rule": rule, "subject": s, "post_id": p, "marked_at": now} for s, p in unique.items()]
    for start in range(0, len(rows), _CHUNK):
        stmt = (
            _insert(session, table)
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


# --- the outbox ------------------------------------------------------------------------------------


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
    _detached(session, rows)
    for row in rows:
        row.created_at = _utc(row.created_at)
    rows.sort(key=lambda a: (a.created_at or now, a.id or 0))
    return rows


def delivered_channels(session: Session, *, alert_ids: Sequence[int]) -> dict[int, set[str]]:
    """For each alert, the channels a delivered message already carried it to."""
    out: dict[int, set[str]] = {}
    for start in range(0, len(alert_ids), _CHUNK):
        chunk = list(alert_ids[start : start + _CHUNK])
        stmt = (
            select(col(AlertDeliveryItem.alert_id), col(AlertDelivery.channel))
            .join(AlertDelivery, col(AlertDelivery.id) == col(AlertDeliveryItem.delivery_id))
            .where(col(AlertDeliveryItem.alert_id).in_(chunk), col(AlertDelivery.status) == "delivered")
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
    base = select(func.count(), func.max(col(AlertDelivery.attempt_at))).where(
        col(AlertDelivery.rule) == rule,
        col(AlertDelivery.channel) == channel,
        col(AlertDelivery.attempt_at) >= since,
        col(AlertDelivery.status) == "delivered",
    )
    singles = session.execute(base.where(col(AlertDelivery.kind) == "alert")).one()[0]
    last_digest = session.execute(base.where(col(AlertDelivery.kind) == "digest")).one()[1]
    return DeliveryWindow(singles=int(singles or 0), last_digest_at=_utc(last_digest))


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
        session.connection().execute(_table(AlertDeliveryItem).insert(), items)
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
    rows = list(session.execute(stmt).scalars())
    _detached(session, rows)
    for row in rows:
        row.created_at = _utc(row.created_at)
        row.next_attempt_at = _utc(row.next_attempt_at)
        row.delivered_at = _utc(row.delivered_at)
    return rows


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
    limit: int = 50,
    offset: int = 0,
) -> list[AlertDelivery]:
    """The delivery log, newest first."""
    stmt = select(AlertDelivery).order_by(col(AlertDelivery.id).desc()).limit(limit).offset(offset)
    if rule is not None:
        stmt = stmt.where(col(AlertDelivery.rule) == rule)
    if status is not None:
        stmt = stmt.where(col(AlertDelivery.status) == status)
    rows = list(session.execute(stmt).scalars())
    _detached(session, rows)
    for row in rows:
        row.attempt_at = _aware(row.attempt_at)
    return rows


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


# --- what the rules look at ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostFacts:
    """One post with its author and latest scores: what a rule tests and a message shows."""

    id: int
    platform: str
    external_id: str
    text: str
    title: str | None
    url: str | None
    lang: str | None
    created_at: datetime
    collected_at: datetime | None
    likes: int
    reposts: int
    replies: int
    quotes: int
    views: int | None
    brand_id: int | None
    source_id: int | None
    treasure_score: float | None
    rights_status: str
    author_id: int
    author_handle: str
    author_name: str | None
    author_followers: int | None
    author_url: str | None
    author_verified: bool
    sentiment: str | None = None
    relevance: float | None = None
    engagement_rate: float | None = None
    engagement_vs_median: float | None = None
    score_id: int | None = None

    @property
    def interactions(self) -> int:
        return self.likes + self.reposts + self.replies + self.quotes


_POST_COLUMNS = (
    col(Post.id),
    col(Post.platform),
    col(Post.external_id),
    col(Post.text),
    col(Post.title),
    col(Post.url),
    col(Post.lang),
    col(Post.created_at),
    col(Post.collected_at),
    col(Post.likes),
    col(Post.reposts),
    col(Post.replies),
    col(Post.quotes),
    col(Post.views),
    col(Post.brand_id),
    col(Post.source_id),
    col(Post.treasure_score),
    col(Post.rights_status),
    col(Post.author_id),
    col(Author.handle),
    col(Author.display_name),
    col(Author.followers),
    col(Author.profile_url),
    col(Author.verified),
)


def _latest_scores(session: Session, post_ids: Sequence[int]) -> dict[int, Score]:
    out: dict[int, Score] = {}
    for start in range(0, len(post_ids), _CHUNK):
        chunk = list(post_ids[start : start + _CHUNK])
        stmt = select(Score).where(col(Score.post_id).in_(chunk)).order_by(col(Score.id))
        for score in session.execute(stmt).scalars():
            out[score.post_id] = score  # the newest score set wins
    return out


def _facts(session: Session, stmt: Any) -> list[PostFacts]:
    rows = session.execute(stmt).all()
    scores = _latest_scores(session, [r[0] for r in rows])
    facts: list[PostFacts] = []
    for r in rows:
        score = scores.get(r[0])
        facts.append(
            PostFacts(
                id=r[0],
                platform=r[1],
                external_id=r[2],
                text=r[3],
                title=r[4],
                url=r[5],
                lang=r[6],
                created_at=_aware(r[7]),
                collected_at=_utc(r[8]),
                likes=r[9] or 0,
                reposts=r[10] or 0,
                replies=r[11] or 0,
                quotes=r[12] or 0,
                views=r[13],
                brand_id=r[14],
                source_id=r[15],
                treasure_score=r[16],
                rights_status=r[17],
                author_id=r[18],
                author_handle=r[19],
                author_name=r[20],
                author_followers=r[21],
                author_url=r[22],
                author_verified=bool(r[23]),
                sentiment=score.sentiment if score else None,
                relevance=score.relevance if score else None,
                engagement_rate=score.engagement_rate if score else None,
                engagement_vs_median=score.engagement_vs_median if score else None,
                score_id=score.id if score else None,
            )
        )
    return facts


def _posts() -> Any:
    return select(*_POST_COLUMNS).join(Author, col(Author.id) == col(Post.author_id))


def _scope(stmt: Any, *, brand_id: int | None, query_id: int | None) -> Any:
    if brand_id is not None:
        stmt = stmt.where(col(Post.brand_id) == brand_id)
    if query_id is not None:
        sources = select(col(Source.id)).where(col(Source.query_id) == query_id)
        stmt = stmt.where(col(Post.source_id).in_(sources))
    return stmt


def mention_candidates(
    session: Session,
    *,
    collected_after: datetime,
    created_after: datetime,
    brand_id: int | None,
    after_id: int,
    limit: int,
) -> list[PostFacts]:
    """Posts first stored after `collected_after` and written after `created_after`, by id."""
    stmt = (
        _scope(_posts(), brand_id=brand_id, query_id=None)
        .where(
            col(Post.id) > after_id,
            col(Post.collected_at) > collected_after,
            col(Post.created_at) >= created_after,
        )
        .order_by(col(Post.id))
        .limit(limit)
    )
    return _facts(session, stmt)


def negative_candidates(
    session: Session,
    *,
    scored_after: datetime,
    created_after: datetime,
    brand_id: int | None,
    min_followers: int | None,
    after_post_id: int,
    limit: int,
) -> list[PostFacts]:
    """Recent posts whose newest score set, scored after `scored_after`, says "negative"."""
    newer = _table(Score).alias("newer")
    latest_negative = exists().where(
        col(Score.post_id) == col(Post.id),
        col(Score.sentiment) == "negative",
        col(Score.scored_at) > scored_after,
        ~exists().where(newer.c.post_id == col(Score.post_id), newer.c.id > col(Score.id)),
    )
    stmt = _scope(_posts(), brand_id=brand_id, query_id=None).where(
        col(Post.id) > after_post_id, col(Post.created_at) >= created_after, latest_negative
    )
    if min_followers is not None:
        stmt = stmt.where(col(Author.followers) >= min_followers)
    return _facts(session, stmt.order_by(col(Post.id)).limit(limit))


def _unmarked(rule: str) -> Any:
    return ~exists().where(col(AlertMark.rule) == rule, col(AlertMark.post_id) == col(Post.id))


def treasure_candidates(
    session: Session,
    *,
    rule: str,
    min_score: float,
    created_after: datetime | None,
    brand_id: int | None,
    after_id: int,
    limit: int,
) -> list[PostFacts]:
    """Posts at or above `min_score` that `rule` has not handled yet."""
    stmt = _scope(_posts(), brand_id=brand_id, query_id=None).where(
        col(Post.id) > after_id, col(Post.treasure_score) >= min_score, _unmarked(rule)
    )
    if created_after is not None:
        stmt = stmt.where(col(Post.created_at) >= created_after)
    return _facts(session, stmt.order_by(col(Post.id)).limit(limit))


def rights_candidates(
    session: Session, *, rule: str, brand_id: int | None, after_id: int, limit: int
) -> list[PostFacts]:
    """Posts whose usage rights are granted and that `rule` has not handled yet."""
    stmt = _scope(_posts(), brand_id=brand_id, query_id=None).where(
        col(Post.id) > after_id, col(Post.rights_status) == "granted", _unmarked(rule)
    )
    return _facts(session, stmt.order_by(col(Post.id)).limit(limit))


def failing_sources(session: Session) -> list[Source]:
    """Enabled sources whose health is "failing" (three failed runs in a row)."""
    stmt = (
        model_select(Source)
        .where(col(Source.health) == SourceHealth.FAILING.value, col(Source.enabled).is_(True))
        .order_by(col(Source.name))
    )
    rows = list(session.exec(stmt))
    _detached(session, rows)
    for row in rows:
        row.last_success_at = _utc(row.last_success_at)
        row.last_run_at = _utc(row.last_run_at)
    return rows


def listening_query(session: Session, name: str) -> ListeningQuery | None:
    """A listening query by name (rules made through the API name queries the file defines)."""
    return session.exec(model_select(ListeningQuery).where(col(ListeningQuery.name) == name)).one_or_none()


def stored_ror(session: Session, author_ids: Sequence[int], brand_id: int | None) -> dict[int, float]:
    """Each author's last computed ROR, where the relationships area has stored one; else nothing.

    Reads the `ror_score` table by name (brand-specific row first, then the all-brands row;
    an author linked to a person gets the person's score) without importing that area, so
    alerts work with or without it. Any problem reading it means "ROR unknown", inside a
    savepoint so the rule's transaction survives.
    """
    ids = sorted(set(author_ids))
    if not ids or not sa_inspect(session.connection()).has_table("ror_score"):
        return {}
    ror = sql_table(
        "ror_score",
        sql_column("author_id", Integer),
        sql_column("person_id", Integer),
        sql_column("brand_id", Integer),
        sql_column("score", Float),
        sql_column("computed_at", DateTime(timezone=True)),
    )
    linked = or_(
        ror.c.author_id == col(Author.id),
        and_(ror.c.person_id.is_not(None), ror.c.person_id == col(Author.person_id)),
    )
    brands = (
        ror.c.brand_id.is_(None)
        if brand_id is None
        else or_(ror.c.brand_id.is_(None), ror.c.brand_id == brand_id)
    )
    stmt = (
        select(col(Author.id), ror.c.brand_id, ror.c.score)
        .join(ror, linked)
        .where(col(Author.id).in_(ids), brands)
        .order_by(ror.c.computed_at)
    )
    found: dict[int, tuple[bool, float]] = {}
    try:
        with session.begin_nested():
            for author_id, row_brand, score in session.execute(stmt):
                specific = row_brand is not None
                if author_id not in found or specific or not found[author_id][0]:
                    found[author_id] = (specific, float(score))
    except SQLAlchemyError:
        return {}
    return {author_id: score for author_id, (_, score) in found.items()}


# --- counts for spike detection --------------------------------------------------------------------


def _negative_now() -> Any:
    """The post's newest score set says "negative"."""
    newer = _table(Score).alias("newer")
    return exists().where(
        col(Score.post_id) == col(Post.id),
        col(Score.sentiment) == "negative",
        ~exists().where(newer.c.post_id == col(Score.post_id), newer.c.id > col(Score.id)),
    )


def _naive_utc(value: datetime) -> datetime:
    return _aware(value).replace(tzinfo=None)


def _hours_before(session: Session, now: datetime) -> Any:
    """Whole hours between a post's `created_at` and `now` (0: the hour that ends at `now`).

    Buckets are anchored at `now`, not at clock hours, so bucket 24·k is exactly the same
    stretch of time k days earlier: the daily-seasonal baseline needs no realignment.
    """
    if session.get_bind().dialect.name == "sqlite":
        stamp = _naive_utc(now).isoformat(sep=" ", timespec="microseconds")
        millis = func.round((func.julianday(stamp) - func.julianday(col(Post.created_at))) * 86_400_000.0)
        return cast(millis, Integer) / 3_600_000
    elapsed = literal(_aware(now), DateTime(timezone=True)) - col(Post.created_at)
    return cast(func.floor(extract("epoch", elapsed) / 3600), Integer)


def hourly_counts(
    session: Session,
    *,
    now: datetime,
    hours: int,
    brand_id: int | None = None,
    query_id: int | None = None,
    negative_only: bool = False,
) -> list[int]:
    """Posts per hour over the `hours` hours before `now`, oldest first (the last is the hour to `now`).

    Counted by the post's own time (`created_at`), grouped in the database; scoped to a
    brand, to the posts collected for a listening query, and/or to negative posts.
    """
    end = _aware(now)
    start = end - timedelta(hours=hours)
    bucket = _hours_before(session, now).label("bucket")
    stmt = select(bucket, func.count()).where(col(Post.created_at) >= start, col(Post.created_at) < end)
    stmt = _scope(stmt, brand_id=brand_id, query_id=query_id)
    if negative_only:
        stmt = stmt.where(_negative_now())
    counts = [0] * hours
    for hours_ago, n in session.execute(stmt.group_by(bucket)):
        index = int(hours_ago)
        if 0 <= index < hours:
            counts[hours - 1 - index] += int(n)
    return counts


def first_post_at(
    session: Session,
    *,
    brand_id: int | None = None,
    query_id: int | None = None,
    negative_only: bool = False,
) -> datetime | None:
    """When the scope's history starts: hours before it are unknown, not zero."""
    stmt = _scope(select(func.min(col(Post.created_at))), brand_id=brand_id, query_id=query_id)
    if negative_only:
        stmt = stmt.where(_negative_now())
    return _utc(session.execute(stmt).scalar_one_or_none())


def posts_in_window(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    brand_id: int | None = None,
    query_id: int | None = None,
    negative_only: bool = False,
    limit: int = 500,
) -> list[PostFacts]:
    """Posts written in [start, end), most engaging first: a spike's samples and its top terms."""
    interactions = col(Post.likes) + col(Post.reposts) + col(Post.replies) + col(Post.quotes)
    stmt = _scope(_posts(), brand_id=brand_id, query_id=query_id).where(
        col(Post.created_at) >= start, col(Post.created_at) < end
    )
    if negative_only:
        stmt = stmt.where(_negative_now())
    return _facts(session, stmt.order_by(interactions.desc(), col(Post.id).desc()).limit(limit))
