"""Evaluating alert rules over what is new in the store, into pending alerts (the outbox).

`evaluate_rules` is the job: it mirrors the file's rules into `alert_rule`, then runs
each enabled rule in its own transaction, so one broken rule never blocks the others
and a crash leaves a rule's cursor where it was (nothing skipped, nothing repeated).

What each kind looks at:

- `new_mention`: a post stored since the last run, written within `max_age`, matching the
  rule's `brand`, `query`, `filter` and `min_followers`. Subject: the post.
- `negative_influencer`: a post whose newest score set says "negative", by an author with at
  least `min_followers` (and ROR >= `min_ror` where known). Subject: the author, so an unhappy
  influencer's thread is one alert per cooldown.
- `new_treasure`: a post whose `treasure_score` reaches `min_score`. Subject: the post.
- `rights_granted`, `rights_declined`, `rights_revoked`: a post whose `rights_status` became
  "granted", "declined" or "revoked". Subject: the post.
- `rights_expiring`: a granted post whose rights end within `[rights] expiry_warning_days`.
  Subject: the post (once per post).
- `source_failing`: a source whose health turned "failing". Subject: the source.
- `coverage_lost`: a source about to lose coverage (`collector.quota`): its query no longer fits
  the platform budget (the scheduler stretched it past `quota.stretch_alert`, or it waits long for
  a reset), units of a rolling window expire within `quota.slot_warning` (Instagram's hashtag
  slots), or the token it reported expires within `quota.token_warning`. Subject: the source and
  the problem; each problem alerts once while it lasts, and again only if it comes back.
- `volume_spike`: a significant rise of the brand's / query's posts against the same hours on
  previous days (`tesoro.alerts.spikes`). Subject: the brand or query.
- `negative_spike`: the same, counting only posts whose newest score is negative.

A rule starts from the moment it is created: it never alerts on what was already true
(existing treasures and granted rights are taken as a baseline on its first run).
Every post-level alert is deduplicated for good through `alert_mark` (unique per rule
and subject), and every alert respects the rule's cooldown per subject.

ROR (Return on Relationship): `min_ror` is checked against the ROR that
`insights.people.refresh_ror` stores (`ror_score`, read by `stored_ror`), or any
`ror` lookup passed in. When an author has no ROR value (the table is absent, or not
computed yet for them), the condition is skipped and only `min_followers` applies.

Sentiment comes from the `score` table; until scoring has run, rules that need it
(negative_influencer, negative_spike) simply find nothing.

The modules: this one runs the rules (cursor, dedupe, cooldown, outbox);
`alerts.context` holds what one rule's evaluation sees (`RuleContext`) and the alert
payloads; `alerts.kinds` has one evaluator per kind.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.alerts.context import Candidate, RorLookup, RuleContext
from tesoro.alerts.kinds import EVALUATORS
from tesoro.settings import AlertRuleSettings, Settings
from tesoro.store.alerts import (
    add_alerts,
    get_rule,
    list_rules,
    mark_subjects,
    recently_alerted,
    rule_config,
    save_rule_state,
    sync_rules,
)
from tesoro.store.engine import session_scope

__all__ = [
    "EvaluationReport",
    "RuleOutcome",
    "evaluate_rule",
    "evaluate_rules",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    rule: str
    kind: str
    candidates: int = 0
    alerts: int = 0
    suppressed: int = 0  # already handled, or within the cooldown
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(o.alerts for o in self.outcomes)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def evaluate_rules(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    ror: RorLookup | None = None,
    only: str | None = None,
) -> EvaluationReport:
    """Sync the rules from the settings, then evaluate every enabled rule (or just `only`)."""
    now = now or _utcnow()
    with session_scope(engine) as session:
        sync_rules(session, settings, now=now)
        names = [r.name for r in list_rules(session, enabled_only=True) if only is None or r.name == only]
    outcomes = []
    for name in names:
        try:
            with session_scope(engine) as session:
                outcomes.append(evaluate_rule(session, name, settings, now=now, ror=ror))
        except Exception as exc:  # one broken rule must not stop the others
            log.exception("alert rule %s failed", name)
            outcomes.append(RuleOutcome(name, "?", error=f"{type(exc).__name__}: {exc}"))
    return EvaluationReport(outcomes)


def evaluate_rule(
    session: Session, name: str, settings: Settings, *, now: datetime, ror: RorLookup | None = None
) -> RuleOutcome:
    """One rule, inside the caller's transaction: candidates -> dedupe -> cooldown -> pending alerts."""
    row = get_rule(session, name)
    if row is None:
        raise LookupError(f"no alert rule named {name!r}")
    conf = rule_config(row)
    context = RuleContext.build(session, row, conf, settings, now, ror)
    candidates, state = EVALUATORS[conf.kind](context)
    created, suppressed = _store(session, conf, candidates, now)
    assert row.id is not None
    save_rule_state(session, rule_id=row.id, state=state, evaluated_at=now)
    if created:
        log.info("alert rule %s: %d new alerts", name, created)
    return RuleOutcome(name, conf.kind, len(candidates), created, suppressed)


def _store(
    session: Session, conf: AlertRuleSettings, candidates: Sequence[Candidate], now: datetime
) -> tuple[int, int]:
    marks = [(c.mark, c.post_id) for c in candidates if c.mark is not None]
    fresh = mark_subjects(session, rule=conf.name, items=marks, now=now) if marks else set()
    kept = [c for c in candidates if c.mark is None or c.mark in fresh]
    cooling = recently_alerted(
        session,
        rule=conf.name,
        subjects=(c.subject for c in kept),
        since=now - timedelta(seconds=conf.cooldown),
    )
    chosen: list[Candidate] = []
    seen: set[str] = set()
    for candidate in kept:
        if candidate.subject in cooling or candidate.subject in seen:
            continue
        seen.add(candidate.subject)
        chosen.append(candidate)
    add_alerts(session, rule=conf.name, alerts=[(c.subject, c.payload) for c in chosen], now=now)
    return len(chosen), len(candidates) - len(chosen)
