"""`tesoro alerts ...`: the alerts commands, as a typer app to mount on the CLI.

Mount with `app.add_typer(alerts_app, name="alerts")`. Like every command, these only
load settings, open the store and call the functions that do the work.

    tesoro alerts test [--rule NAME] [--message TEXT]   send a test message on the rule's channels
    tesoro alerts evaluate [--rule NAME]                run the rules once (new alerts go pending)
    tesoro alerts deliver                               deliver what is due in the outbox, once
    tesoro alerts rules                                 every rule: kind, origin, last check
    tesoro alerts log [--rule NAME] [--status S] [-n N] the delivery log and what is still pending
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tesoro.cli.kit import ConfigOption, load_or_exit
from tesoro.store.engine import session_scope
from tesoro.text.redact import mask_urls

__all__ = ["alerts_app"]

alerts_app = typer.Typer(help="Slack alerts: test the channels, evaluate rules, deliver, read the log.")
console = Console(stderr=True)
out = Console(markup=False)  # post text, names and handles are data: "[x]" prints as written

RuleOption = Annotated[str | None, typer.Option("--rule", "-r", help="Only this rule.")]


_settings = load_or_exit


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


@alerts_app.command("test")
def test(
    config: ConfigOption = None,
    rule: RuleOption = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Text of the test message.")] = None,
) -> None:
    """Send a test message on a rule's channels (or the shared [slack] set-up) and say how it went."""
    from tesoro.alerts.delivery import send_test
    from tesoro.store.db import open_store

    settings = _settings(config)
    conf = None
    if rule is not None:
        conf = next((a for a in settings.alerts if a.name == rule), None)
        if conf is None:
            console.print(f"[red]error:[/red] no alert rule named {rule!r} in the settings")
            raise typer.Exit(2)
    engine = open_store(settings)
    results = send_test(settings, conf, environ=dict(os.environ), note=message, engine=engine)
    if not results:
        console.print(
            "[red]error:[/red] no channel configured: set [slack] webhook_url_env, or bot_token_env with "
            "default_channel, or a rule's webhook_url_env / json_webhook_url_env"
        )
        raise typer.Exit(1)
    table = Table("channel", "status", "detail")
    for key, result in results:
        table.add_row(key, result.status, mask_urls(result.error or result.response or ""))
    out.print(table)
    if not all(r.ok for _, r in results):
        raise typer.Exit(1)


@alerts_app.command("evaluate")
def evaluate(config: ConfigOption = None, rule: RuleOption = None) -> None:
    """Run the alert rules once; new alerts are stored as pending for `tesoro alerts deliver`."""
    from tesoro.alerts.rules import evaluate_rules
    from tesoro.store.db import open_store

    settings = _settings(config)
    report = evaluate_rules(open_store(settings), settings, only=rule)
    table = Table("rule", "kind", "candidates", "new alerts", "suppressed", "error")
    for o in report.outcomes:
        table.add_row(o.rule, o.kind, str(o.candidates), str(o.alerts), str(o.suppressed), o.error or "")
    out.print(table)
    if any(o.error for o in report.outcomes):
        raise typer.Exit(1)


@alerts_app.command("deliver")
def deliver(config: ConfigOption = None) -> None:
    """Deliver the pending alerts that are due, once (the scheduler does this every 30 seconds)."""
    from tesoro.alerts.delivery import deliver_pending
    from tesoro.store.db import open_store

    settings = _settings(config)
    report = deliver_pending(open_store(settings), settings, environ=dict(os.environ))
    out.print(
        f"{report.claimed} due: {report.delivered} delivered, {report.pending} still pending; "
        f"{report.messages} messages ({report.digests} digests, {report.uncertain} uncertain), "
        f"{report.failed_messages} failed",
        highlight=False,
    )
    for error in dict.fromkeys(report.errors):
        out.print(f"  {mask_urls(error)}", highlight=False, markup=False, soft_wrap=True)
    if report.failed_messages:
        raise typer.Exit(1)


@alerts_app.command("rules")
def rules(config: ConfigOption = None) -> None:
    """Every alert rule: kind, where it comes from, and its last evaluation."""
    from tesoro.store.alerts import list_rules, sync_rules
    from tesoro.store.db import open_store

    settings = _settings(config)
    engine = open_store(settings)
    table = Table("rule", "kind", "enabled", "origin", "last evaluated", "last check")
    with session_scope(engine) as session:
        sync_rules(session, settings, now=datetime.now(UTC))
        for row in list_rules(session):
            check = row.state.get("last_check") or {}
            table.add_row(
                row.name,
                row.kind,
                "yes" if row.enabled else "no",
                row.origin + (" (edited)" if row.edited else ""),
                _when(row.last_evaluated_at),
                str(check.get("reason") or ""),
            )
    out.print(table)


@alerts_app.command("log")
def log(
    config: ConfigOption = None,
    rule: RuleOption = None,
    status: Annotated[
        str | None,
        typer.Option(help="Only deliveries with this status: delivered, uncertain, failed, rate_limited."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many lines.", min=1)] = 20,
) -> None:
    """The delivery log (newest first) and how many alerts are pending or delivered."""
    from tesoro.store.alerts import alert_status_counts, list_alerts, list_deliveries
    from tesoro.store.db import open_store

    settings = _settings(config)
    engine = open_store(settings)
    table = Table("when", "rule", "channel", "kind", "alerts", "status", "retries", "detail")
    with session_scope(engine) as session:
        for d in list_deliveries(session, rule=rule, status=status, limit=limit):
            table.add_row(
                _when(d.attempt_at),
                d.rule,
                d.channel,
                d.kind,
                str(d.alert_count),
                d.status,
                str(d.retries),
                mask_urls(d.error or d.response or "")[:80],
            )
        counts = alert_status_counts(session, rule=rule)
        pending = list_alerts(session, status="pending", rule=rule, limit=5)
    out.print(table)
    out.print(
        f"alerts: {counts.get('pending', 0)} pending, {counts.get('delivered', 0)} delivered", highlight=False
    )
    for alert in pending:
        out.print(
            f"  pending #{alert.id} {alert.rule} {alert.subject}: next try {_when(alert.next_attempt_at)}"
            f"{'; ' + mask_urls(alert.last_error)[:100] if alert.last_error else ''}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
