"""The alerts' scheduled jobs, for `tesoro.jobs.tasks` to register: evaluate rules, deliver the outbox.

Two jobs rather than one: evaluation reads the store and only writes pending alerts,
delivery talks to Slack. A Slack outage then never delays evaluation, and a slow
evaluation (a spike rule's baseline) never delays the delivery of what is already due.
Both are safe to run while another instance runs (marks and leases), but like the
collection jobs they are meant to run once (coalesced, one instance) in the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from tesoro.alerts.context import RorLookup
from tesoro.alerts.delivery import DeliveryReport, deliver_pending
from tesoro.alerts.rules import EvaluationReport, evaluate_rules
from tesoro.settings import Settings

__all__ = ["AlertJob", "alert_jobs"]


@dataclass(frozen=True, slots=True)
class AlertJob:
    """One job: an APScheduler id, a human name, the call, and its interval in seconds."""

    id: str
    name: str
    func: Callable[[], object]
    interval_s: int


def alert_jobs(
    engine: Engine,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    evaluate_every_s: int = 60,
    deliver_every_s: int = 30,
    ror: RorLookup | None = None,
) -> list[AlertJob]:
    """The alert jobs to schedule. Registered even without rules: rules can be added through the API."""

    def evaluate() -> EvaluationReport:
        return evaluate_rules(engine, settings, ror=ror)

    def deliver() -> DeliveryReport:
        return deliver_pending(engine, settings, environ=environ)

    return [
        AlertJob("alerts:evaluate", "evaluate alert rules", evaluate, evaluate_every_s),
        AlertJob("alerts:deliver", "deliver pending alerts", deliver, deliver_every_s),
    ]
