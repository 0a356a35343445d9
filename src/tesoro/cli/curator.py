"""`tesoro curate ...`: the curator's commands, as a typer app to mount on the CLI.

Mount with `app.add_typer(curate_app, name="curate")`. Like every command, these
only load settings, open the store and call the functions that do the work.

    tesoro curate rank [--all] [--brand NAME]    rank newly scored posts (treasure, filter, duplicates)
    tesoro curate train [--brand NAME]           retrain the learned ranker(s) and re-rank
    tesoro curate queue [--filtered] [--limit N] the top of the review queue (or the filtered view)
    tesoro curate search [TEXT] [--meaning Q]    search the library
    tesoro curate stats                          how many posts are ranked, queued, filtered, copies, library
    tesoro curate correct ID [--sentiment S] [--product P] [--types T]   correct a post (the label wins)
    tesoro curate corrections [--train] [--brand NAME]   corrections and the calibrations they taught
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from tesoro.api.i18n import counted
from tesoro.cli.kit import ConfigOption, console, load_or_exit, out
from tesoro.settings import Settings
from tesoro.store.engine import session_scope

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tesoro.store.curation import QueueEntry

__all__ = ["curate_app"]

curate_app = typer.Typer(
    help="Curation: rank scored posts, learn from decisions, look at the queue and the library.",
    no_args_is_help=True,
)
BrandOption = Annotated[
    str | None, typer.Option("--brand", help="Only this brand (its name in the settings).")
]


def _open(config: Path | None) -> tuple[Settings, Engine]:
    from tesoro.store.db import open_store

    settings = load_or_exit(config)
    return settings, open_store(settings)


def _brand_id(engine: Engine, name: str | None) -> int | None:
    if name is None:
        return None
    from tesoro.store.catalog import brand_by_name

    with session_scope(engine) as session:
        brand = brand_by_name(session, name)
    if brand is None or brand.id is None:
        console.print(f"[red]error:[/red] no brand named {name!r} in the settings", highlight=False)
        raise typer.Exit(2)
    return brand.id


@curate_app.command()
def rank(
    config: ConfigOption = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Rank every scored post again (new weights, daily recency refresh).")
    ] = False,
    brand: BrandOption = None,
    batch_size: Annotated[int, typer.Option(min=1, max=20000)] = 1000,
) -> None:
    """Compute treasure scores, filter reasons and duplicate groups for newly scored posts."""
    from tesoro.curator.ranking import rank_posts

    settings, engine = _open(config)
    brand_id = _brand_id(engine, brand)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("ranking", total=None)
        report = rank_posts(
            engine,
            settings.curator,
            everything=everything,
            brand_id=brand_id,
            advocate_ror=settings.relationship.advocate_min_ror,
            batch_size=batch_size,
            on_progress=lambda done: bar.update(task, completed=done),
        )
    out.print(
        f"ranked {counted(report.ranked, 'post', 'posts')} in {report.seconds:.1f} s: "
        f"{report.filtered:,} filtered, {report.copies:,} grouped as copies"
    )


@curate_app.command()
def train(config: ConfigOption = None, brand: BrandOption = None) -> None:
    """Relearn relevance and retrain the ranker from the decisions, then re-rank the brand's posts."""
    from tesoro.curator.feedback import train_rankers
    from tesoro.curator.relevance_model import train_relevance

    settings, engine = _open(config)
    brand_id = _brand_id(engine, brand)
    names = _brand_names(engine)
    learned = train_relevance(engine, settings, brand_id=brand_id)
    relevance = Table("brand", "relevance weights", "unreviewed posts rescored", "re-ranked")
    for report in learned:
        detail = report.summary + (f" ({report.reason})" if report.reason else "")
        relevance.add_row(
            names.get(report.brand_id, "?"), detail, str(report.refreshed), str(report.reranked)
        )
    if learned:
        out.print(relevance)
    reports = train_rankers(engine, settings.curator, brand_key=brand_id)
    table = Table("brand", "decisions", "approved", "blend", "held-out AUC", "learned weights / why not")
    for r in reports:
        auc = r.metrics.get("cv_auc")
        weights = ", ".join(f"{k} {v:+.2f}" for k, v in r.learned_weights.items() if abs(v) >= 0.05)
        table.add_row(
            names.get(r.brand_key, "(no brand)"),
            str(r.decisions),
            str(r.positives),
            f"{r.alpha:.2f}",
            "-" if auc is None else f"{auc:.2f}",
            weights if r.trained else r.reason,
        )
    out.print(table if reports else "no decisions yet: nothing to learn from")


def _brand_names(engine: Engine) -> dict[int, str]:
    from tesoro.store.catalog import list_brands

    with session_scope(engine) as session:
        return {b.id: b.name for b in list_brands(session) if b.id is not None}


def _short(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _changed(entry: QueueEntry) -> str:
    """A post back in review because its content changed after approval says so first."""
    change = entry.change
    if change is None:
        return ""
    return f"changed since approval (v{change.approved_version} to v{change.version}): "


@curate_app.command()
def queue(
    config: ConfigOption = None,
    brand: BrandOption = None,
    filtered: Annotated[bool, typer.Option("--filtered", help="The filtered view instead.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """The top of the review queue, with each post's score and copies (or the filtered view with reasons)."""
    from tesoro.store.curation import list_queue

    _, engine = _open(config)
    brand_id = _brand_id(engine, brand)
    with session_scope(engine) as session:
        page = list_queue(session, filtered=filtered, brand_id=brand_id, limit=limit)
    table = Table("id", "score", "platform", "author", "text", "reason" if filtered else "copies")
    for e in page.items:
        table.add_row(
            str(e.card.id),
            f"{e.score:.3f}",
            e.card.platform,
            e.card.author_handle,
            _short(_changed(e) + e.card.text),
            (e.filtered or "") if filtered else str(len(e.copies) or ""),
        )
    out.print(table)
    out.print(f"{counted(page.total, 'post', 'posts')} {'filtered' if filtered else 'waiting for review'}")


@curate_app.command()
def search(
    text: Annotated[str | None, typer.Argument(help='Words, "phrases", OR, -exclusions, prefix*.')] = None,
    config: ConfigOption = None,
    meaning: Annotated[
        str | None, typer.Option("--meaning", help="Search by meaning (loads the encoder).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
) -> None:
    """Search the library (approved and featured posts)."""
    from tesoro.scoring.encoders import load_encoder
    from tesoro.search.library import Library, LibraryError, LibraryQuery

    settings, engine = _open(config)
    encode = None
    if meaning:
        encoder = load_encoder(settings.models.encoder, settings.models.device)
        encode = encoder.encode
    library = Library(engine, settings.curator, encode=encode)
    try:
        page = library.search(
            # The table shows no facet counts, so none are computed (seconds saved on a large library).
            LibraryQuery(text=text, meaning=meaning, limit=limit, with_facets=False),
            use_index=meaning is not None,
        )
    except LibraryError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc
    table = Table("id", "score", "relevance", "state", "platform", "text")
    for hit in page.items:
        e = hit.entry
        table.add_row(
            str(e.card.id),
            f"{e.score:.3f}",
            "" if hit.relevance is None else f"{hit.relevance:.3f}",
            e.card.queue_state,
            e.card.platform,
            _short(e.card.text),
        )
    out.print(table)
    out.print(f"{counted(page.total, 'matching post', 'matching posts')} in the library")


@curate_app.command()
def stats(config: ConfigOption = None) -> None:
    """How many posts are ranked, waiting, filtered, grouped as copies and in the library."""
    from tesoro.store.curation import count_items, list_queue
    from tesoro.store.library import LibraryFilters, search_sql

    _, engine = _open(config)
    with session_scope(engine) as session:
        ranked = count_items(session)
        waiting = list_queue(session, limit=1).total
        filtered = list_queue(session, filtered=True, limit=1).total
        library, _ = search_sql(session, filters=LibraryFilters(), limit=1)
    table = Table("ranked", "in the queue", "filtered", "library")
    table.add_row(str(ranked), str(waiting), str(filtered), str(library))
    out.print(table)


def _product_value(engine: Engine, text: str) -> int | None:
    """A product named on the command line: 'none', its id, or its name (any case)."""
    if text.strip().casefold() == "none":
        return None
    if text.strip().isdigit():
        return int(text)
    from tesoro.store.catalog import list_products

    with session_scope(engine) as session:
        found = [p.id for p in list_products(session) if p.name.casefold() == text.strip().casefold()]
    if not found or found[0] is None:
        console.print(f"[red]error:[/red] no product named {text!r}", highlight=False)
        raise typer.Exit(2)
    return found[0]


@curate_app.command()
def correct(
    post_id: Annotated[int, typer.Argument(min=1, help="The post's id.")],
    config: ConfigOption = None,
    sentiment: Annotated[
        str | None, typer.Option("--sentiment", help="negative, neutral or positive.")
    ] = None,
    product: Annotated[
        str | None,
        typer.Option("--product", help="A product of the post's brand (name or id), or 'none'."),
    ] = None,
    types: Annotated[
        str | None,
        typer.Option("--types", help="Every content type that applies, comma-separated (review,complaint)."),
    ] = None,
    actor: Annotated[str, typer.Option("--actor", help="Who corrects it, for the audit log.")] = "cli",
) -> None:
    """Correct a post's sentiment, product or content types: the label wins at once and teaches the brand."""
    from tesoro.curator.corrections import CorrectionError
    from tesoro.curator.corrections import correct as correct_post

    _, engine = _open(config)
    changes: dict[str, object] = {}
    if sentiment is not None:
        changes["sentiment"] = sentiment.strip().casefold()
    if product is not None:
        changes["product"] = _product_value(engine, product)
    if types is not None:
        changes["content_type"] = [t.strip().casefold() for t in types.split(",") if t.strip()]
    if not changes:
        console.print(
            "[red]error:[/red] name at least one of --sentiment, --product, --types", highlight=False
        )
        raise typer.Exit(2)
    try:
        with session_scope(engine) as session:
            done = [
                correct_post(session, post_id=post_id, field_name=name, value=value, actor=actor)
                for name, value in changes.items()
            ]
            lines = [f"{row.field}: {before!r} -> {row.value!r}" for row, before in done]
    except CorrectionError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1 if exc.problem == "not_found" else 2) from exc
    for line in lines:
        out.print(escape(line), highlight=False)


@curate_app.command()
def corrections(
    config: ConfigOption = None,
    brand: BrandOption = None,
    train: Annotated[
        bool, typer.Option("--train", help="Relearn the calibrations first (the scheduler does it too).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --train: relearn even if nothing changed.")
    ] = False,
) -> None:
    """The corrections per brand and field, and each head's calibration with its accuracy before and after."""
    from tesoro.curator.corrections import correction_status, train_corrections

    settings, engine = _open(config)
    brand_id = _brand_id(engine, brand)
    if train:
        for report in train_corrections(engine, settings, brand_id=brand_id, force=force):
            why = f" ({report.reason})" if report.reason else ""
            out.print(
                f"brand {report.brand_id}: {'learned' if report.trained else 'nothing learned'}{why}; "
                f"{counted(report.refreshed, 'unreviewed post', 'unreviewed posts')} rescored",
                highlight=False,
            )
    table = Table(
        "brand", "field / head", "corrections", "scorer was right", "calibration", "accuracy before → after"
    )
    for entry in correction_status(engine):
        if brand_id is not None and entry["brand_id"] != brand_id:
            continue
        for name, count in entry["fields"].items():
            table.add_row(
                escape(entry["brand"]), name, str(count["corrections"]), str(count["model_agreed"]), "", ""
            )
        for head, info in entry["heads"].items():
            before, after = info["accuracy_before"], info["accuracy_after"]
            accuracy = "-" if before is None or after is None else f"{before:.3f} → {after:.3f}"
            table.add_row(
                escape(entry["brand"]), head, "", "", f"{info['kind']} ({info['labels']} labels)", accuracy
            )
    out.print(table if table.row_count else "no corrections yet")
