"""`tesoro rights ...`: ask authors for usage rights, decide, revoke, and export receipts.

tesoro rights request POST_ID...        ask the authors (one request per post)
tesoro rights requests [--status S]     the requests, newest first
tesoro rights decide REQUEST --grant|--decline   decide a request waiting for review
tesoro rights reask REQUEST             ask once more after no response
tesoro rights revoke POST_ID --reason   revoke a post's rights (it leaves the gallery)
tesoro rights receipts [--post N] [--author N] [--export ID [--html] [--out FILE]]
tesoro rights terms BRAND [--file F]    show a brand's terms, or save a new version
tesoro rights run                       one pass of the job: send, read replies, no response, expiry
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from tesoro.cli.kit import ConfigOption, console, load_or_exit, out
from tesoro.settings import RIGHTS_SCOPES, Settings
from tesoro.store.engine import run_transaction, session_scope

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from tesoro.curator.rights_requests import RequestBatch

__all__ = ["rights_app"]

rights_app = typer.Typer(
    help="Usage rights: ask authors, decide, revoke, export receipts.", no_args_is_help=True
)

ActorOption = Annotated[str, typer.Option("--actor", help="Who asks or decides (kept on the records).")]
T = TypeVar("T")


def _open(config: Path | None) -> tuple[Settings, Engine]:
    from tesoro.store.db import open_store

    settings = load_or_exit(config)
    return settings, open_store(settings)


def _write(engine: Engine, apply: Callable[[Session], T]) -> T:
    from tesoro.curator.queue import QueueError

    try:
        return run_transaction(engine, apply)
    except QueueError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc


def _print_batch(batch: RequestBatch) -> None:
    table = Table("request", "post", "platform", "channel", "text to post or paste")
    for request, _link in batch.created:
        table.add_row(
            str(request.id), str(request.post_id), request.platform, request.channel, escape(request.text)
        )
    if batch.created:
        out.print(table)
    for post_id, why in batch.skipped:
        out.print(f"skipped post {post_id}: {escape(why)}", highlight=False)


@rights_app.command()
def request(
    post_ids: Annotated[list[int], typer.Argument(help="The posts whose authors are asked.")],
    config: ConfigOption = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help=f"A use asked for (repeat): {', '.join(RIGHTS_SCOPES)}."),
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", min=0, max=3650, help="Days (0: no end date).")
    ] = None,
    actor: ActorOption = "cli",
) -> None:
    """Ask the authors of posts for usage rights: one recorded request per post."""
    from tesoro.api.security import load_session_secret
    from tesoro.curator.rights_requests import create_requests

    settings, engine = _open(config)
    secret = load_session_secret(settings)
    batch = _write(
        engine,
        lambda session: create_requests(
            session,
            post_ids=post_ids,
            actor=actor,
            settings=settings.rights,
            secret=secret,
            scope=scope,
            duration_days=days,
        ),
    )
    _print_batch(batch)


@rights_app.command("requests")
def list_requests(
    config: ConfigOption = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="Only this status (repeat).")] = None,
    post: Annotated[int | None, typer.Option("--post", help="Only this post's requests.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The rights requests, newest first."""
    from tesoro.store import rights as store

    _, engine = _open(config)
    table = Table("request", "post", "platform", "status", "attempt", "asked", "reason")
    with session_scope(engine) as session:
        for r in store.list_requests(session, statuses=status or (), post_id=post, limit=limit):
            table.add_row(
                str(r.id),
                str(r.post_id),
                r.platform,
                r.status,
                str(r.attempt),
                f"{r.asked_at:%Y-%m-%d %H:%M} {escape(r.asked_by)}",
                escape(r.reason or ""),
            )
    out.print(table)


@rights_app.command()
def decide(
    request_id: Annotated[int, typer.Argument(help="The request waiting for review.")],
    config: ConfigOption = None,
    grant: Annotated[
        bool, typer.Option("--grant/--decline", help="Grant (writes a receipt) or decline.")
    ] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
    actor: ActorOption = "cli",
) -> None:
    """Grant or decline a request waiting for review (a condition, a question)."""
    from tesoro.curator.rights_requests import decide_request

    _, engine = _open(config)
    row = _write(
        engine,
        lambda session: decide_request(session, request_id=request_id, grant=grant, actor=actor, note=note),
    )
    out.print(f"request {row.id}: {row.status}", highlight=False)


@rights_app.command("reask")
def reask_command(
    request_id: Annotated[int, typer.Argument(help="A request with no response.")],
    config: ConfigOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Ask once more after no response (the second request is the last)."""
    from tesoro.api.security import load_session_secret
    from tesoro.curator.rights_requests import reask

    settings, engine = _open(config)
    secret = load_session_secret(settings)
    batch = _write(
        engine,
        lambda session: reask(
            session, request_id=request_id, actor=actor, settings=settings.rights, secret=secret
        ),
    )
    _print_batch(batch)


@rights_app.command("revoke")
def revoke_command(
    post_id: Annotated[int, typer.Argument(help="The post.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept on the receipts).")],
    config: ConfigOption = None,
    actor: ActorOption = "cli",
) -> None:
    """Revoke a post's usage rights: it leaves the gallery; its receipts are marked revoked."""
    from tesoro.curator.rights_requests import revoke

    _, engine = _open(config)
    count = _write(engine, lambda session: revoke(session, post_id=post_id, actor=actor, reason=reason))
    out.print(f"post {post_id}: rights revoked ({count} receipt(s) marked)", highlight=False)


@rights_app.command()
def receipts(
    config: ConfigOption = None,
    post: Annotated[int | None, typer.Option("--post", help="Only this post's receipts.")] = None,
    author: Annotated[int | None, typer.Option("--author", help="Only this author's receipts.")] = None,
    export: Annotated[int | None, typer.Option("--export", help="Export this receipt, signed.")] = None,
    html: Annotated[bool, typer.Option("--html", help="Export as a standalone HTML document.")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the export here (default: stdout).")
    ] = None,
) -> None:
    """List receipts per post or author, or export one as signed JSON or HTML."""
    from tesoro.api.security import load_session_secret
    from tesoro.curator.rights_requests import receipt_document, receipt_html, sign_document
    from tesoro.store import rights as store

    settings, engine = _open(config)
    with session_scope(engine) as session:
        if export is not None:
            row = store.get_receipt(session, receipt_id=export)
            if row is None:
                console.print(f"[red]error:[/red] no receipt {export}", highlight=False)
                raise typer.Exit(2)
            signed = sign_document(load_session_secret(settings), receipt_document(row))
            text = receipt_html(signed) if html else json.dumps(signed, ensure_ascii=False, indent=2) + "\n"
            if out_file is None:
                typer.echo(text, nl=False)
            else:
                out_file.write_text(text, encoding="utf-8")
                out.print(f"receipt {export} written to {out_file}", highlight=False)
            return
        table = Table("receipt", "post", "author", "via", "scope", "granted", "ends", "revoked")
        for r in store.list_receipts(session, post_id=post, author_id=author):
            table.add_row(
                str(r.id),
                str(r.post_id),
                escape(r.author_handle or r.author_external_id),
                f"{r.source} (receipt {r.parent_receipt_id})" if r.parent_receipt_id else r.source,
                ", ".join(r.scope),
                f"{r.granted_at:%Y-%m-%d}",
                f"{r.ends_at:%Y-%m-%d}" if r.ends_at else "-",
                f"{r.revoked_at:%Y-%m-%d}" if r.revoked_at else "-",
            )
    out.print(table)


@rights_app.command()
def terms(
    brand: Annotated[str, typer.Argument(help="The brand's name in the settings.")],
    config: ConfigOption = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Save this file's text as the new terms.")
    ] = None,
) -> None:
    """Show a brand's current usage terms, or save a new version from a file."""
    from tesoro.curator.queue import QueueError
    from tesoro.curator.rights_requests import default_terms
    from tesoro.store import rights as store
    from tesoro.store.catalog import brand_by_name

    _, engine = _open(config)
    body = file.read_text(encoding="utf-8") if file is not None else None

    def apply(session: Session) -> tuple[int, str, str]:
        found = brand_by_name(session, brand)
        if found is None or found.id is None:
            raise QueueError(f"no brand named {brand!r} in the settings")
        row = (
            store.save_terms(session, brand_id=found.id, body=body)
            if body is not None
            else store.latest_terms(session, brand_id=found.id)
            or store.save_terms(session, brand_id=found.id, body=default_terms(brand))
        )
        return row.version, row.sha256, row.body

    version, digest, text = _write(engine, apply)
    out.print(f"version {version} sha256 {digest}", highlight=False)
    if body is None:
        typer.echo(text)


@rights_app.command()
def run(config: ConfigOption = None) -> None:
    """One pass of the rights job: send queued requests, read replies, mark no response, expire rights."""
    from tesoro.jobs.tasks import run_rights

    settings, engine = _open(config)
    report = run_rights(settings, engine, os.environ)
    out.print(" ".join(f"{key}={value}" for key, value in report.items()), highlight=False)
