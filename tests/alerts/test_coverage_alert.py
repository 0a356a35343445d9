"""The coverage_lost alert kind on both stores: a query the budget no longer fits, a rolling window's
slots about to expire, a token about to expire; each alerts once while it lasts, not at every run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from tesoro.alerts.blocks import render
from tesoro.alerts.models import Links, Outgoing, OutgoingAlert
from tesoro.alerts.rules import evaluate_rules
from tesoro.settings import Settings
from tesoro.store.alerts import list_alerts
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.sources import get_source, record_token_expiry
from tesoro.store.spend import add_spend, open_spend
from tesoro.store.tables import Alert

# 12:00 UTC: the day windows below (reset at 00:00 UTC) have 12 hours to go.
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def settings(rules: list[dict[str, object]] | None = None) -> Settings:
    return Settings.model_validate(
        {
            "brands": [{"name": "Andes"}],
            "queries": [{"name": "q", "brand": "Andes", "query": "cumbre"}],
            "sources": [
                {"name": "x-main", "platform": "x", "query": "q", "quota": {"limit": 1_000, "window": "day"}},
                {
                    "name": "x-tags",
                    "platform": "x",
                    "query": "q",
                    "interval": "3d",  # 10 slots a run, 30 a week: fits
                    "quota": {"limit": 30, "window": "rolling_7d", "slot_warning": "1d"},
                },
                {"name": "x-token", "platform": "x", "query": "q", "quota": {"plan": "pro"}},
                {"name": "x-calm", "platform": "x", "query": "q", "quota": {"plan": "pro"}},
            ],
            "alerts": rules if rules is not None else [{"name": "coverage", "kind": "coverage_lost"}],
        }
    )


def spend(engine: Engine, source: str, at: datetime, units: int) -> int:
    with session_scope(engine) as session:
        row = get_source(session, source)
        assert row is not None and row.id is not None
        spend_id = open_spend(session, source_id=row.id, at=at)
        add_spend(session, spend_id=spend_id, units=units, calls=1, at=at)
        return spend_id


def alerts(engine: Engine) -> list[Alert]:
    with session_scope(engine) as session:
        return sorted(list_alerts(session, rule="coverage", limit=100), key=lambda a: a.id or 0)


def test_each_coverage_problem_alerts_once_while_it_lasts(engine: Engine) -> None:
    conf = settings()
    with session_scope(engine) as session:
        sync_catalog(session, conf)
    assert evaluate_rules(engine, conf, now=T0).alerts == 0, "nothing is wrong yet"

    # x-main spent its 1,000 a day by 08:00: 16 hours of waiting at a 15-minute interval.
    for hour in range(8):
        spend(engine, "x-main", T0.replace(hour=hour), 125)
    # x-tags took 10 slots 6 days 12 hours ago: they leave the 7-day window in 12 hours.
    slot = spend(engine, "x-tags", T0 - timedelta(days=6, hours=12), 10)
    spend(engine, "x-calm", T0 - timedelta(hours=1), 40)
    with session_scope(engine) as session:
        token = get_source(session, "x-token")
        assert token is not None and token.id is not None
        record_token_expiry(session, source_id=token.id, expires_at=T0 + timedelta(days=3))

    report = evaluate_rules(engine, conf, now=T0 + MIN)
    assert report.alerts == 3, report.outcomes
    fired = {a.subject: a.payload for a in alerts(engine)}
    expires = (T0 + timedelta(days=3)).isoformat()
    assert set(fired) == {"budget:x-main", f"slot:x-tags:{slot}", f"token:x-token:{expires}"}
    budget = fired["budget:x-main"]
    assert budget["kind"] == "coverage_lost" and budget["reason"] == "over_budget"
    assert budget["quota"]["left"] == 0 and "no longer fits" in budget["summary"]
    assert "spent" in budget["quota"]["note"]
    assert fired[f"slot:x-tags:{slot}"]["expires_at"] == (T0 + timedelta(hours=12)).isoformat()
    assert "in 2d23h" in fired[f"token:x-token:{expires}"]["summary"]

    # Every later run while the problems last, past the rule's cooldown too: nothing new.
    for later in (2 * MIN, timedelta(hours=2), timedelta(hours=5)):
        assert evaluate_rules(engine, conf, now=T0 + later).alerts == 0
    assert len(alerts(engine)) == 3

    # The next day x-main has its budget back, but 125 a run every 15 minutes still does not fit
    # 1,000 a day: the same problem, no new alert.
    assert evaluate_rules(engine, conf, now=T0 + timedelta(days=1)).alerts == 0

    # A problem that clears and comes back is news again: the token renewed, then expiring again.
    with session_scope(engine) as session:
        record_token_expiry(session, source_id=token.id, expires_at=None)
    assert evaluate_rules(engine, conf, now=T0 + timedelta(days=1, minutes=1)).alerts == 0
    with session_scope(engine) as session:
        record_token_expiry(session, source_id=token.id, expires_at=T0 + timedelta(days=3))
    assert evaluate_rules(engine, conf, now=T0 + timedelta(days=1, minutes=2)).alerts == 1
    assert alerts(engine)[-1].subject == f"token:x-token:{expires}"


def test_the_alert_reaches_slack_as_a_readable_message(engine: Engine) -> None:
    conf = settings()
    with session_scope(engine) as session:
        sync_catalog(session, conf)
    for hour in range(8):
        spend(engine, "x-main", T0.replace(hour=hour), 125)
    evaluate_rules(engine, conf, now=T0)
    [alert] = alerts(engine)
    assert alert.id is not None and alert.created_at is not None
    outgoing = OutgoingAlert(alert.id, alert.rule, alert.subject, alert.payload, alert.created_at)
    message = render(Outgoing("coverage", "alert", (outgoing,)), Links())
    assert message.text.startswith("Coverage lost: x-main: The query of x-main no longer fits")
    assert any("posts read" in str(block) for block in message.blocks)


@pytest.mark.parametrize(
    "extra", [{"brand": "Andes"}, {"query": "q"}, {"filter": "cumbre"}, {"min_score": 0.5}]
)
def test_a_coverage_rule_takes_no_post_filters(extra: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="a coverage_lost rule takes no brand"):
        settings([{"name": "coverage", "kind": "coverage_lost", **extra}])
