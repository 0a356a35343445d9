"""`tesoro insights ...` and `tesoro orders import`: the relationship and KPI command line.

Two typer apps to mount on the main CLI:

    app.add_typer(insights_app, name="insights")
    app.add_typer(orders_app, name="orders")

Commands only load settings, open the store and call `tesoro.insights.service`,
so the numbers are the API's. Handles and names are attacker-controlled text:
tables print them as plain `Text`, never as rich markup. Every command has
`--json` for scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tesoro.api.i18n import counted
from tesoro.cli.kit import ConfigOption, load_or_exit
from tesoro.settings import Settings

__all__ = ["insights_app", "orders_app"]

insights_app = typer.Typer(
    help="Relationships and KPIs: ROR leaderboard, person pages, KPIs, ROE, identities.", no_args_is_help=True
)
orders_app = typer.Typer(
    help="Orders: compare advocates' purchases with everyone else's.", no_args_is_help=True
)
console = Console(stderr=True)
out = Console(markup=False)  # post text, names and handles are data: "[x]" prints as written

BrandOption = Annotated[str | None, typer.Option(help="Brand name (default: the only configured brand).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ActorOption = Annotated[str, typer.Option(help="Who does this, for the audit log.")]


_settings = load_or_exit


def _open(config: Path | None) -> tuple[Settings, Any]:
    from tesoro.store.db import open_store

    settings = _settings(config)
    return settings, open_store(settings)


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"error: {exc}", highlight=False, markup=False)
    return typer.Exit(1)


def _json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str, ensure_ascii=False))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _n(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=Text(title), title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    out.print(table)


@insights_app.command()
def kpis(
    config: ConfigOption = None,
    brand: BrandOption = None,
    platform: Annotated[str | None, typer.Option(help="Only this platform (x, reddit, ...).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Start: a date, an ISO time, or 30d / 12w / 6m / 1y.")
    ] = "30d",
    until: Annotated[
        str | None, typer.Option(help="End: a date (included) or an ISO time; default now.")
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=100, help="How many advocates and UGC posts.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """KPIs of a window: volume, reach, sentiment, share of voice, engagement vs medians, advocates, UGC."""
    from tesoro.insights import service

    settings, engine = _open(config)
    try:
        start, end = service.parse_window(since, until)
        report = service.kpi_report(
            engine, settings, brand_name=brand, platform=platform, since=start, until=end, top=top
        )
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    if as_json:
        _json(report)
        return
    _print_kpis(report, f"{start:%Y-%m-%d} to {end:%Y-%m-%d}")


def _print_kpis(report: dict[str, Any], window: str) -> None:
    """The KPI report as tables: the headline numbers against the previous window, then the details."""
    v, s = report["volume"], report["sentiment"]
    title = f"{report['brand'] or 'all brands'} {report['platform'] or ''} {window}"
    _table(
        title,
        ["KPI", "value", "previous window", "change"],
        [
            ["mentions", v["mentions"], v["previous"]["mentions"], _pct(v["change"]["mentions"])],
            [
                "unique authors",
                v["unique_authors"],
                v["previous"]["unique_authors"],
                _pct(v["change"]["unique_authors"]),
            ],
            [
                "potential reach",
                v["potential_reach"],
                v["previous"]["potential_reach"],
                _pct(v["change"]["potential_reach"]),
            ],
            ["interactions", v["interactions"], v["previous"]["interactions"], ""],
            ["positive share", _pct(s["share"]["positive"]), _pct(s["previous"]["share"]["positive"]), ""],
            ["negative share", _pct(s["share"]["negative"]), _pct(s["previous"]["share"]["negative"]), ""],
            ["net sentiment", _n(s["net"]), _n(s["previous"]["net"]), _n(s["net_change"])],
        ],
    )
    _table(
        "Share of voice",
        ["name", "mentions", "share"],
        [[x["name"], x["mentions"], _pct(x["share"])] for x in report["share_of_voice"]],
    )
    _table(
        "Engagement rate (median per post) against the platform's median",
        ["platform", "posts", "median rate", "platform median", "source", "x median"],
        [
            [
                e["platform"],
                e["posts"],
                _pct(e["median_rate"]),
                _pct(e["platform_median"]),
                e["median_source"] or "-",
                _n(e["vs_median"]),
            ]
            for e in report["engagement"]
        ],
    )
    _advocates(report["top_advocates"])
    _table(
        "Top UGC",
        ["post", "platform", "author", "interactions", "treasure", "text"],
        [
            [
                p["post_id"],
                p["platform"],
                p["handle"],
                p["interactions"],
                _n(p["treasure_score"]),
                p["text"][:60],
            ]
            for p in report["top_ugc"]
        ],
    )


def _advocates(rows: list[dict[str, Any]]) -> None:
    _table(
        "Top advocates by ROR",
        ["#", "author", "platform", "accounts", "ROR", "events", "loyalty", "advocacy", "trend", "months"],
        [
            [
                r["rank"],
                r["display_name"] or r["handle"],
                r["platform"],
                r["accounts"],
                _n(r["score"]),
                _n(r["terms"]["events"]),
                _n(r["terms"]["loyalty"]),
                _n(r["terms"]["advocacy"]),
                _n(r["terms"]["sentiment_trend"]),
                r["months_active"],
            ]
            for r in rows
        ],
    )


@insights_app.command()
def ror(
    config: ConfigOption = None,
    brand: BrandOption = None,
    top: Annotated[int, typer.Option(min=1, max=500, help="How many people.")] = 20,
    refresh: Annotated[bool, typer.Option("--refresh", help="Recompute everyone's ROR first.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The ROR leaderboard (computed and stored when there is none yet, or with --refresh)."""
    from tesoro.insights import service

    settings, engine = _open(config)
    try:
        board = service.leaderboard(
            engine, settings, brand_name=brand, top=top, refresh=refresh, compute_missing=True
        )
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    if as_json:
        _json(board)
        return
    _advocates(board["items"])
    out.print(Text(f"computed at {board['computed_at']}; advocates have ROR >= {board['advocate_min_ror']}"))


@insights_app.command()
def author(
    author_id: Annotated[int, typer.Argument(help="An author id (any of the person's linked accounts).")],
    config: ConfigOption = None,
    brand: BrandOption = None,
    every: Annotated[str, typer.Option(help="History points: month or week.")] = "month",
    events: Annotated[int, typer.Option(min=0, help="How many of the newest events to list.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """One person's ROR: the four terms, the events that built it, and its history."""
    from tesoro.insights import service

    if every not in ("month", "week"):
        raise _fail(ValueError("--every must be month or week"))
    period: Literal["month", "week"] = "month" if every == "month" else "week"
    settings, engine = _open(config)
    try:
        page = service.person_page(
            engine, settings, author_id=author_id, brand_name=brand, every=period, max_events=events
        )
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    if as_json:
        _json(page)
        return
    accounts = ", ".join(f"{a['handle']} ({a['platform']})" for a in page["accounts"])
    r = page["ror"]
    out.print(Text(f"{accounts}: ROR {r['score']:.2f} as of {r['as_of']}"))
    _table("Terms", ["term", "value"], [[k, _n(v)] for k, v in r["terms"].items()])
    _table(
        "Events (newest first)",
        ["when", "kind", "post", "value", "decay", "contribution", "advocacy"],
        [
            [
                e["at"][:10],
                e["kind"],
                e["post_id"],
                _n(e["value"]),
                _n(e["decay"], 3),
                _n(e["contribution"]),
                _n(e["advocacy"]),
            ]
            for e in r["events"]
        ],
    )
    _table("History", ["at", "ROR"], [[p["at"][:10], _n(p["score"])] for p in page["history"]["points"]])
    if page["logged_events"]:
        _table(
            "Logged by hand",
            ["id", "when", "kind", "weight", "post", "note"],
            [
                [
                    e["id"],
                    (e["occurred_at"] or "")[:10],
                    e["kind"],
                    _n(e["weight"]),
                    e["post_id"],
                    e.get("note"),
                ]
                for e in page["logged_events"]
            ],
        )


@insights_app.command()
def roe(config: ConfigOption = None, brand: BrandOption = None, as_json: JsonOption = False) -> None:
    """Return on Engagement of every effort declared in [[roe.effort]], with the trend per target."""
    from tesoro.insights import service

    settings, engine = _open(config)
    try:
        results = [r.as_dict() for r in service.roe_report(engine, settings, brand_name=brand)]
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    if as_json:
        _json(results)
        return
    if not results:
        out.print("no effort declared: add [[roe.effort]] entries to the settings (see tesoro.example.toml)")
        return
    _table(
        "Return on Engagement (earned = interactions + ugc_value x UGC + reach_value x reach)",
        [
            "target",
            "period",
            "earned",
            "UGC",
            "posts",
            "hours",
            "spend",
            "per post",
            "per hour",
            "per spend",
            "trend/hour",
        ],
        [
            [
                r["target"],
                f"{r['start']}..{r['end']}",
                _n(r["earned"]["total"]),
                r["earned"]["ugc"],
                r["effort"]["posts"],
                r["effort"]["hours"],
                r["effort"]["spend"],
                _n(r["roe"]["per_post"]),
                _n(r["roe"]["per_hour"]),
                _n(r["roe"]["per_spend"]),
                _pct(r["trend"]["per_hour"]),
            ]
            for r in results
        ],
    )


@insights_app.command()
def purchases(
    config: ConfigOption = None,
    brand: BrandOption = None,
    since: Annotated[str | None, typer.Option(help="Start (default: a year before --until).")] = "365d",
    until: Annotated[str | None, typer.Option(help="End (default: now).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Purchase frequency, average order value and repeat rate: advocates against everyone else."""
    from tesoro.insights import service

    settings, engine = _open(config)
    try:
        start, end = service.parse_window(since, until)
        report = service.purchases_report(engine, settings, brand_name=brand, since=start, until=end)
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    if as_json:
        _json(report)
        return
    rows = []
    for group in ("advocates", "everyone_else"):
        m = report[group]
        rows.append(
            [
                group.replace("_", " "),
                m["customers"],
                m["orders"],
                _n(m["revenue"]),
                _n(m["purchase_frequency"]),
                _n(m["average_order_value"]),
                _pct(m["repeat_purchase_rate"]),
            ]
        )
    _table(
        f"Purchases ({counted(report['orders'], 'order', 'orders')}, "
        f"{report['linked_orders']:,} linked to authors)",
        ["group", "customers", "orders", "revenue", "frequency", "avg order", "repeat rate"],
        rows,
    )


@insights_app.command()
def link(
    author_ids: Annotated[list[int], typer.Argument(help="Two or more author ids of the same person.")],
    config: ConfigOption = None,
    actor: ActorOption = "cli",
    name: Annotated[str | None, typer.Option(help="The person's display name.")] = None,
) -> None:
    """Link accounts as one person (their ROR is then computed together). Audited."""
    from tesoro.insights import service

    _, engine = _open(config)
    try:
        person = service.link(engine, author_ids=author_ids, actor=actor, display_name=name)
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    out.print(Text(f"linked {sorted(set(author_ids))} as person {person}"))


@insights_app.command("log-event")
def log_event(
    author_id: Annotated[int, typer.Argument(help="The author the event is about.")],
    kind: Annotated[str, typer.Argument(help="A short label: purchase, meet_up, gift...")],
    config: ConfigOption = None,
    weight: Annotated[float, typer.Option(help="Its value in ROR (non-zero, -100..100).")] = 1.0,
    at: Annotated[
        str | None, typer.Option("--at", help="When it happened (date or ISO time); default: now.")
    ] = None,
    post: Annotated[int | None, typer.Option(help="One of the author's posts it relates to.")] = None,
    note: Annotated[str | None, typer.Option(help="Why, for the audit log (up to 500 characters).")] = None,
    actor: ActorOption = "cli",
) -> None:
    """Log a relationship event Tesoro cannot see (a purchase, a meet-up, a gift). Audited."""
    from tesoro.insights import service

    _, engine = _open(config)
    try:
        when = service.parse_time(at) if at else None
        event = service.log_event(
            engine,
            author_id=author_id,
            kind=kind,
            weight=weight,
            occurred_at=when,
            post_id=post,
            note=note,
            actor=actor,
        )
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    out.print(
        Text(f"logged event {event['id']}: {event['kind']} ({event['weight']:+g}) for author {author_id}")
    )


@insights_app.command("unlog-event")
def unlog_event(
    author_id: Annotated[int, typer.Argument(help="The author the event was logged for.")],
    event_id: Annotated[int, typer.Argument(help="The logged event's id (see `insights author`).")],
    config: ConfigOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Remove an event logged by mistake. Audited."""
    from tesoro.insights import service

    _, engine = _open(config)
    try:
        service.delete_event(engine, author_id=author_id, event_id=event_id, actor=actor)
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    out.print(Text(f"removed logged event {event_id}"))


@insights_app.command()
def unlink(
    author_id: Annotated[int, typer.Argument(help="The account to detach from its person.")],
    config: ConfigOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Detach an account from its person; it will not be suggested with them again. Audited."""
    from tesoro.insights import service

    _, engine = _open(config)
    try:
        service.unlink(engine, author_id=author_id, actor=actor)
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    out.print(Text(f"account {author_id} stands alone now"))


@insights_app.command()
def suggest(
    config: ConfigOption = None,
    author_id: Annotated[
        int | None, typer.Option("--author", help="Only suggestions for this account.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Accounts that are probably the same person (one's bio names the other's handle)."""
    from tesoro.insights import service

    _, engine = _open(config)
    items = service.suggestions(engine, author_id=author_id, limit=limit)
    if as_json:
        _json(items)
        return

    def who(account: dict[str, Any] | None) -> str:
        return (
            "?" if account is None else f"{account['author_id']}: {account['handle']} ({account['platform']})"
        )

    _table(
        "Link suggestions",
        ["account", "probably also", "why"],
        [[who(i["account"]), who(i["other"]), i["reason"]] for i in items],
    )


@insights_app.command()
def dismiss(
    author_a: Annotated[int, typer.Argument()],
    author_b: Annotated[int, typer.Argument()],
    config: ConfigOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Record that two accounts are different people, so they are not suggested again. Audited."""
    from tesoro.insights import service

    _, engine = _open(config)
    try:
        service.dismiss(engine, author_a=author_a, author_b=author_b, actor=actor)
    except (LookupError, ValueError) as exc:
        raise _fail(exc) from exc
    out.print(Text(f"{author_a} and {author_b} will not be suggested together again"))


@orders_app.callback()
def _orders() -> None:
    """Orders: compare advocates' purchases with everyone else's."""


@orders_app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: customer (handle or e-mail), date, amount[, order_id, platform].",
            exists=True,
            dir_okay=False,
        ),
    ],
    config: ConfigOption = None,
    show_bad: Annotated[int, typer.Option(help="How many bad rows to list (all are counted).")] = 20,
) -> None:
    """Import orders; customers are linked to authors by handle, or by an e-mail in their bio."""
    from tesoro.insights.orders import import_orders

    _, engine = _open(config)
    try:
        report = import_orders(engine, file)
    except ValueError as exc:
        raise _fail(exc) from exc
    out.print(
        Text(
            f"{file}: {counted(report.read, 'order', 'orders')} read, {report.inserted:,} new, "
            f"{report.read - report.inserted:,} already stored, {report.linked:,} linked to authors, "
            f"{counted(len(report.bad_rows), 'bad row', 'bad rows')}"
        )
    )
    for bad in report.bad_rows[:show_bad]:
        out.print(Text(f"  line {bad.line}: {bad.reason}"))
    if len(report.bad_rows) > show_bad:
        out.print(Text(f"  ... and {len(report.bad_rows) - show_bad} more (use --show-bad N to list them)"))
    if report.bad_rows and not report.read:
        raise typer.Exit(1)
