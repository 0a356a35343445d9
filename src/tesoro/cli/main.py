"""The `tesoro` command line.

Commands stay thin: they load settings, open the store and call the functions
that do the work, so everything a command does can also be done (and tested)
from Python.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tesoro.api.i18n import counted
from tesoro.cli.alerts import alerts_app
from tesoro.cli.curator import curate_app
from tesoro.cli.insights import insights_app, orders_app
from tesoro.cli.kit import (
    LOG_JSON,
    ConfigOption,
    OneLineErrors,
    configure_logging,
    console,
    load_or_exit,
    out,
)
from tesoro.cli.quarantine import quarantine_app
from tesoro.cli.rights import rights_app
from tesoro.cli.scoring import scoring_app
from tesoro.cli.serve import demo_key, keys_app
from tesoro.settings import ConfigError, Settings
from tesoro.store.engine import session_scope

if TYPE_CHECKING:
    from tesoro.collector.quota import QuotaStatus

# Each command imports the modules that do its work when it runs (see `tesoro.cli.kit`): the
# collectors, the scheduler, the workers and the web stack are not loaded to print `--help`.

__all__ = ["app"]

app = typer.Typer(
    name="tesoro",
    help="Tesoro: hear what people say about your brand and find the treasure in what they post.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=OneLineErrors,
    # With --debug the traceback shows, but never the locals: they hold settings and the environment.
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
# One module per command group; this one mounts them in the order `--help` lists them.
app.add_typer(scoring_app)  # score, rescore, eval, train
app.add_typer(alerts_app, name="alerts")
app.add_typer(keys_app, name="keys")
app.add_typer(curate_app, name="curate")  # rank, train, queue, search, stats
app.add_typer(insights_app, name="insights")  # kpis, ror, author, roe, purchases, link, unlink, ...
app.add_typer(orders_app, name="orders")  # orders import FILE
app.add_typer(quarantine_app, name="quarantine")  # list, retry
app.add_typer(rights_app, name="rights")  # request, requests, decide, reask, revoke, receipts, terms, run

_settings = load_or_exit


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="On a failure, show the whole traceback instead of the one-line error."),
    ] = False,
    log_json: Annotated[
        bool,
        typer.Option("--log-json", help="Write logs as one JSON object per line (as [ops] log_json = true)."),
    ] = False,
) -> None:
    """Tesoro: hear what people say about your brand and find the treasure in what they post."""
    LOG_JSON["forced"] = log_json


def _starter_config() -> str:
    return resources.files("tesoro").joinpath("data/tesoro.example.toml").read_text(encoding="utf-8")


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the starter settings file.")] = Path(
        "tesoro.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starter settings file with every key documented."""
    if path.exists() and not force:
        console.print(f"[red]error:[/red] {path} already exists (use --force to overwrite)")
        raise typer.Exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_starter_config(), encoding="utf-8")
    out.print(
        f"Wrote {path}. Edit the brands, products, queries and sources, then run: tesoro -c {path} serve"
    )


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or migrate the database schema to the latest version."""
    from tesoro.store.db import connect_or_raise
    from tesoro.store.migrate import current_revision, head_revision, upgrade

    settings = _settings(config)
    engine = connect_or_raise(settings.database_url, busy_timeout_ms=settings.database.busy_timeout_ms)
    before = current_revision(engine)
    upgrade(engine)
    url = engine.url.render_as_string(hide_password=True)
    out.print(f"database {url}: {before or 'empty'} -> {head_revision()}")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV file of posts.", exists=True, dir_okay=False)],
    config: ConfigOption = None,
    brand: Annotated[
        str | None,
        typer.Option(
            help="The configured brand of rows without their own `brand` (default: the only brand, "
            "else the brand whose listening queries a row matches)."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Keep out rows that match no listening query of their brand.")
    ] = False,
    show_bad: Annotated[int, typer.Option(help="How many bad rows to list (all are counted).")] = 20,
) -> None:
    """Import posts from a JSONL or CSV file; bad rows are reported, good rows are kept.

    Each post gets a brand (its row's `brand`, `--brand`, the only brand, or the brand whose
    listening queries it matches), and the brand's listening queries are applied as a file
    source applies them: rows that match none are listed, and kept out with `--strict`.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from tesoro.collector.importer import brand_rules, import_file
    from tesoro.store.db import open_store

    settings = _settings(config)
    engine = open_store(settings)
    rules = brand_rules(engine, settings)
    if brand is not None and brand not in {rule.name for rule in rules}:
        console.print(f"[red]error:[/red] no brand named {brand!r} in the settings")
        raise typer.Exit(2)
    size = file.stat().st_size
    with Progress(
        TextColumn("[bold]importing[/bold] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal and os.environ.get("TESORO_PROGRESS") != "1",
    ) as progress:
        task = progress.add_task(file.name, total=size)
        report = import_file(
            engine,
            file,
            brands=rules,
            brand=brand,
            strict=strict,
            on_progress=lambda offset: progress.update(task, completed=offset),
        )
    out.print(
        f"{file}: {report.inserted:,} new, {report.updated:,} updated, "
        f"{counted(len(report.bad_rows), 'bad row', 'bad rows')}",
        soft_wrap=True,
        highlight=False,
    )
    for bad in report.bad_rows[:show_bad]:
        out.print(f"  line {bad.line}: {bad.reason}", highlight=False, markup=False, soft_wrap=True)
    if len(report.bad_rows) > show_bad:
        out.print(f"  ... and {len(report.bad_rows) - show_bad} more (use --show-bad N to list them)")
    if report.quarantined:
        out.print(f"  {report.quarantined} kept in quarantine: tesoro quarantine list", highlight=False)
    for name, count in sorted(report.by_brand.items()):
        if count:
            label = f"brand {name}" if name else "no brand (several brands are configured: use --brand)"
            out.print(
                f"  {counted(count, 'post', 'posts')}: {label}", highlight=False, markup=False, soft_wrap=True
            )
    if report.unmatched:
        fate = "kept out (--strict)" if strict else "imported anyway (--strict keeps them out)"
        out.print(
            f"{counted(len(report.unmatched), 'row matches', 'rows match')} "
            f"no listening query of their brand: {fate}",
            highlight=False,
            soft_wrap=True,
        )
        for miss in report.unmatched[:show_bad]:
            whose = f"of {miss.brand}" if miss.brand else "of any brand"
            out.print(
                f"  {miss.platform} {miss.external_id}: matches no listening query {whose}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        if len(report.unmatched) > show_bad:
            out.print(f"  ... and {len(report.unmatched) - show_bad} more (use --show-bad N to list them)")
    if report.bad_rows and report.good_rows == 0:
        raise typer.Exit(1)


@app.command()
def sources(config: ConfigOption = None) -> None:
    """Show every source with its health, its platform budget (used / left / resets at / forecast) and
    when the scheduler runs it next, and why."""
    from tesoro.collector.quota import quota_statuses
    from tesoro.store.db import open_store
    from tesoro.store.sources import list_sources

    settings = _settings(config)
    engine = open_store(settings)
    now = datetime.now(UTC)
    table = Table(
        "source", "platform", "health", "posts", "last success", "quota used / left", "resets at", "next run"
    )
    notes: list[str] = []
    with session_scope(engine) as session:
        rows = list_sources(session)
        quotas = quota_statuses(session, settings, rows, now=now)
        for s in rows:
            q = quotas.get(s.name)
            table.add_row(
                s.name if s.enabled else f"{s.name} (disabled)",
                s.platform,
                s.health,
                str(s.posts_collected),
                _when(s.last_success_at),
                f"{q.used:,} / {q.left:,} {q.budget.unit}" if q else "not metered",
                _when(q.resets_at) if q else "-",
                _when(q.next_run_at) if q else "-",
            )
            if q is not None:
                notes.append(f"{s.name}: {q.forecast}; {q.note}")
                notes += [
                    f"{s.name}: {n} {q.budget.unit} leave the window at {_when(at)}" for n, at in _slots(q)
                ]
                if not q.fits:
                    notes.append(
                        f"{s.name}: coverage lost: the budget no longer fits the configured interval"
                    )
            if s.token_expires_at is not None:
                notes.append(f"{s.name}: the platform token expires at {_when(s.token_expires_at)}")
            if s.last_error:
                notes.append(f"{s.name}: last error: {s.last_error[:200]}")
    out.print(table)
    for line in notes:
        out.print(line, highlight=False, markup=False, soft_wrap=True)


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at is not None else "-"


def _slots(q: QuotaStatus) -> list[tuple[int, datetime]]:
    """Units of a rolling window that expire soon, with when (Instagram's hashtag slots)."""
    return [(row.units, at) for row, at in zip(q.expiring, q.expiring_at, strict=True)]


def _check_secrets(settings: Settings, environ: Mapping[str, str], only: str | None = None) -> None:
    """Refuse to start when an enabled source's secret is not in the environment, naming the variable.

    Without this the service starts and every run of that source fails in the log.
    """
    from tesoro.collector.registry import credential_names

    missing: list[tuple[str, str]] = []
    for source in settings.sources:
        if not source.enabled or (only is not None and source.name != only):
            continue
        for name in credential_names(source)[0]:
            env_name = source.credentials.get(f"{name}_env")
            if env_name is None:
                missing.append((f"source {source.name!r}", f"needs credentials.{name}_env in the settings"))
            elif not environ.get(env_name):
                missing.append((f"source {source.name!r}", f"needs {env_name}, which is not set"))
    if missing:
        what = "; ".join(f"{where} {why}" for where, why in missing)
        raise ConfigError("environment", [("", f"{what}; export it (or disable the source) and start again")])


def _check_port_free(host: str, port: int) -> None:
    """Exit with a clear message when the address is taken, before any collection starts."""

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            console.print(
                f"[red]error:[/red] cannot listen on {host}:{port} ({exc.strerror}); "
                "is another Tesoro running? Pick another with --port or \\[server] port",
                soft_wrap=True,
            )
            raise typer.Exit(1) from exc


def _serve(
    settings: Settings,
    engine: object,
    host: str,
    port: int,
    environ: dict[str, str],
    *,
    workers: int = 1,
    config: Path | None = None,
) -> None:
    import uvicorn

    from tesoro.cli.processes import ApiProcesses, reuseport_listener, supports_reuseport
    from tesoro.jobs.scheduler import build_scheduler
    from tesoro.jobs.worker import check_redis
    from tesoro.ops.metrics import SCHEDULER_LEADER, JobWatch

    _check_port_free(host, port)
    if workers > 1 and not supports_reuseport():
        console.print(
            "[red]error:[/red] --workers above 1 needs Linux (SO_REUSEPORT); run one process per port"
        )
        raise typer.Exit(2)
    if settings.server.run_scheduler:
        # Inline, this process collects and needs the secrets; with RQ the workers do, and Redis must answer.
        if settings.queue.backend == "rq":
            check_redis(settings)
        else:
            _check_secrets(settings, environ)
    scheduler = None
    if settings.server.run_scheduler:
        # Even with no sources the scheduler runs: scoring and alert rules (editable over HTTP) need it.
        scheduler = build_scheduler(engine, settings, environ)  # type: ignore[arg-type]
        scheduler.add_listener(JobWatch(), JobWatch.mask())  # job timings on this process's /metrics
        scheduler.start()
        SCHEDULER_LEADER.set(1)
        enabled = counted(sum(s.enabled for s in settings.sources), "source", "sources")
        out.print(f"collecting from {enabled} on a schedule")
    out.print(f"Tesoro serving on http://{host}:{port}  (API docs at /docs)")
    # Deferred: the web stack (FastAPI and every route's schemas) takes over a second to import, and
    # only serve and demo need it; `tesoro --help` and the other commands start without it.
    from tesoro.api.app import create_app
    from tesoro.api.asgi import uvicorn_options
    from tesoro.api.warmup import settle_gc

    others = ApiProcesses(workers - 1, config=config, host=host, port=port) if workers > 1 else None
    try:
        options = {**uvicorn_options(settings), "host": host, "port": port, "log_level": "warning"}
        application = create_app(settings, engine, environ=environ, warm_up=True)  # type: ignore[arg-type]
        application.state.warmup.after = (
            settle_gc  # a server process: its collector settles after the warm-up
        )
        if others is None:
            uvicorn.run(application, **options)
        else:
            listener = reuseport_listener(host, port)
            others.start()
            out.print(f"{workers} API processes share the port (SO_REUSEPORT)")
            del options["host"], options["port"]
            uvicorn.Server(uvicorn.Config(application, **options)).run(sockets=[listener])
    finally:
        if others is not None:
            others.stop()
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="API processes on the port, each with its own listener (default: [server] workers).",
        ),
    ] = None,
) -> None:
    """Run the API and web UI (and, in the embedded mode, the collection scheduler)."""
    from tesoro.store.db import open_store

    settings = _settings(config)
    engine = open_store(settings)
    _serve(
        settings,
        engine,
        host or settings.server.host,
        settings.server.port if port is None else port,
        dict(os.environ),
        workers=settings.server.workers if workers is None else workers,
        config=config,
    )


@app.command()
def collect(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="One pass over the sources, then exit.")] = False,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
) -> None:
    """Collect new posts from the configured sources (`--once` for a single pass)."""
    from tesoro.jobs.tasks import collect_once
    from tesoro.store.db import open_store

    settings = _settings(config)
    engine = open_store(settings)
    if source is not None and source not in {s.name for s in settings.sources}:
        console.print(f"[red]error:[/red] no source named {source!r}")
        raise typer.Exit(2)
    if once or settings.queue.backend == "inline":
        _check_secrets(settings, os.environ, only=source)
    else:
        from tesoro.jobs.worker import check_redis  # deferred: the RQ stack, which --once never needs

        check_redis(settings)
    if not once:
        from tesoro.jobs.scheduler import build_scheduler  # deferred: APScheduler and every job

        out.print("collecting on a schedule; Ctrl-C to stop")
        build_scheduler(engine, settings, dict(os.environ), blocking=True).start()
        return
    columns = ("source", "status", "new", "updated", "not matching", "quarantined", "retries")
    table = Table(*columns, "quota spent", "error")
    results = collect_once(engine, settings, dict(os.environ), only=source)
    for r in results:
        table.add_row(
            r.source,
            r.status,
            str(r.inserted),
            str(r.updated),
            str(r.filtered_out),
            str(r.quarantined),
            str(r.retries),
            f"{r.units:,} ({r.calls} calls)" if r.calls else "-",
            (r.error or "")[:60],
        )
    out.print(table)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


@app.command()
def scheduler(
    config: ConfigOption = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this process's Prometheus metrics on this port (127.0.0.1)."),
    ] = None,
) -> None:
    """Run only the scheduler (the scaled-out mode): with the RQ backend it enqueues every job for workers.

    On PostgreSQL several may run: one holds the lease and schedules, the others stand by and take
    over within [ops] scheduler_lease_s when it dies (docs/operations.md).
    """
    from prometheus_client import start_http_server

    from tesoro.jobs.scheduler import run_scheduler
    from tesoro.jobs.worker import check_redis
    from tesoro.ops.metrics import PROCESS
    from tesoro.store.db import open_store

    settings = _settings(config)
    engine = open_store(settings)
    if settings.queue.backend == "rq":
        check_redis(settings)
    else:
        _check_secrets(settings, os.environ)
    if metrics_port is not None:
        start_http_server(metrics_port, addr="127.0.0.1", registry=PROCESS)
    out.print(
        f"scheduling {counted(sum(s.enabled for s in settings.sources), 'source', 'sources')}; Ctrl-C to stop"
    )
    with contextlib.suppress(KeyboardInterrupt):
        run_scheduler(engine, settings, dict(os.environ))


@app.command()
def worker(
    config: ConfigOption = None,
    burst: Annotated[bool, typer.Option("--burst", help="Exit when the queue is empty.")] = False,
) -> None:
    """Run an RQ worker (the scaled-out mode): every job the scheduler enqueues on Redis, one at a time."""
    from tesoro.jobs.worker import check_redis, masked_url, run_worker

    settings = _settings(config)
    if settings.queue.backend != "rq":
        console.print("[red]error:[/red] queue.backend is 'inline'; set it to 'rq' to use workers")
        raise typer.Exit(2)
    check_redis(settings)
    _check_secrets(settings, os.environ)
    out.print(f"worker on queue {settings.queue.name!r} at {masked_url(settings.queue.redis_url)}")
    run_worker(settings, burst=burst)


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its database.")] = Path("data/demo"),
    port: Annotated[int, typer.Option(help="Port of the web UI and API.")] = 8000,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
) -> None:
    """Run Tesoro against the local platform simulator: watch posts arrive live."""
    from tesoro.simulator.demo import demo_environment, demo_settings, point_webhooks, start_simulator
    from tesoro.store.db import open_store

    data_dir.mkdir(parents=True, exist_ok=True)
    simulator = start_simulator(data_dir)
    try:
        settings = demo_settings(data_dir, simulator.base_url)
        configure_logging(settings.log_level, json_lines=settings.ops.log_json)
        out.print(
            f"platform simulator on {simulator.base_url} "
            "(X, Reddit, Bluesky, Mastodon, Instagram, Threads, YouTube, TikTok, Slack)"
        )
        # The simulator's webhook calls (Meta's Instagram mentions; TikTok's, with a TikTok mentions
        # source) go to the demo's own endpoints.
        webhook_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        point_webhooks(simulator.state, settings, f"http://{webhook_host}:{port}")
        engine = open_store(settings)

        out.print(f"web UI: http://{host}:{port}/login  (demo key: {demo_key(engine)})", soft_wrap=True)
        _serve(
            settings,
            engine,
            host,
            port,
            demo_environment(os.environ, simulator.state.credentials, simulator.base_url),
        )
    finally:
        simulator.stop()


def main() -> None:  # pragma: no cover - console entry point alias
    sys.exit(app())
