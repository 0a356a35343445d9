"""`tesoro quarantine ...`: the collected items the collector boundary refused, and retrying them.

Every source and every `tesoro import` passes its items through one boundary
(`collector.boundary`); an item it cannot make safe (a date in 2099, 10**30 likes, a
5,000-character id) is kept here with the reason instead of stopping the run. `retry` runs
the boundary again, after its rules changed or the clock caught up with a skewed date.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from tesoro.cli.kit import ConfigOption, load_or_exit, out
from tesoro.store.engine import session_scope

__all__ = ["quarantine_app"]

quarantine_app = typer.Typer(
    help="Collected items the collector boundary refused: list them, retry them.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_settings = load_or_exit


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@quarantine_app.command("list")
def list_(
    config: ConfigOption = None,
    source: Annotated[
        str | None, typer.Option(help="Only this source (a source's name, or import:FILE for an import).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many to show, latest first.")] = 50,
    raw: Annotated[
        bool, typer.Option("--raw", help="Show each item's kept JSON too (cut to 200 characters).")
    ] = False,
) -> None:
    """List quarantined items, latest first: id, source, line, platform, external id, when, reason."""
    from tesoro.store.db import open_store
    from tesoro.store.quarantine import count_quarantined, list_quarantined

    engine = open_store(_settings(config))
    with session_scope(engine) as session:
        total = count_quarantined(session, source=source)
        items = list_quarantined(session, source=source, limit=limit)
    for item in items:
        where = f" line {item.line}" if item.line is not None else ""
        seen = item.last_seen_at.isoformat(timespec="seconds") if item.last_seen_at else "-"
        times = f", seen {item.times_seen} times" if item.times_seen > 1 else ""
        # Quarantined values are untrusted: printed as plain text, no Rich markup in them is read.
        out.print(
            Text(
                f"#{item.id} {item.source}{where} [{item.platform} {_cut(item.external_id or '-', 40)}]"
                f" {seen}{times}: {item.reason}"
            ),
            soft_wrap=True,
        )
        if raw:
            out.print(Text(f"    {_cut(item.raw, 200)}"), soft_wrap=True)
    out.print(f"{len(items)} of {total} quarantined item(s)", highlight=False)


@quarantine_app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Item ids to retry (default: all of them).")] = None,
    config: ConfigOption = None,
    source: Annotated[str | None, typer.Option(help="Only this source's items.")] = None,
) -> None:
    """Run the collector boundary again on quarantined items; those that pass are stored and released."""
    from tesoro.collector.quarantine import retry_quarantined
    from tesoro.store.db import open_store

    engine = open_store(_settings(config))
    report = retry_quarantined(engine, ids=ids or None, source=source)
    out.print(
        f"{report.stored} stored, {report.still_bad} still refused (kept in quarantine)", highlight=False
    )
