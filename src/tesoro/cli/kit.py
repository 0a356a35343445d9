"""What every command module shares: the `--config` option, settings loading that exits cleanly,
and the command group that turns a start-up failure into one line (the traceback only with `--debug`).

The command modules import only what building the command tree needs (typer, Rich, the settings and
the enums their options name) at the top; each command imports the modules that do its work when it
runs. So `tesoro --help` and `tesoro db upgrade` start without the workers, every collector, the web
stack and scipy (seconds of CPU on a small machine).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from tesoro.ops.logs import configure_json_logging
from tesoro.settings import ConfigError, Settings, load_settings

__all__ = [
    "LOG_JSON",
    "ConfigOption",
    "OneLineErrors",
    "configure_logging",
    "console",
    "describe_failure",
    "load_or_exit",
    "out",
]

console = Console(stderr=True)
out = Console(markup=False)  # post text, names and handles are data: "[x]" prints as written

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Settings file (TOML). Default: $TESORO_CONFIG, else built-in defaults.",
        show_default=False,
    ),
]


def _problems(exc: ConfigError) -> str:
    """A settings error on one line: where, then each key and why, joined by '; '."""
    return "; ".join(f"{key}: {reason}" if key else reason for key, reason in exc.problems)


# Failures whose own text already says what failed and what to do: (module, class). Looked up among the
# modules already imported, never imported here: a command that did not load the store or the queue
# cannot have raised their errors, and importing `tesoro.jobs.worker` would load the whole worker stack.
PLAIN_FAILURES = (("tesoro.store.db", "DatabaseUnavailable"), ("tesoro.jobs.worker", "QueueUnavailable"))


def _plain_failure(exc: Exception) -> bool:
    for module_name, class_name in PLAIN_FAILURES:
        found = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(found, type) and isinstance(exc, found):
            return True
    return False


def describe_failure(exc: Exception) -> str:
    """What failed and what to do, on one line, for an error that stopped a command."""
    if _plain_failure(exc):
        return str(exc)
    if isinstance(exc, ConfigError):
        if exc.source == "environment":
            return f"{_problems(exc)}"
        return f"invalid settings in {exc.source}: {_problems(exc)}; fix the file and start again"
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return f"{detail} (run `tesoro --debug ...` to see the traceback)"


class OneLineErrors(TyperGroup):
    """The root command group: an exception that escapes a command prints one `error:` line and exits 1.

    `tesoro --debug <command>` lets it through instead, so the traceback shows. Click's own
    exits, usage errors and aborts (Ctrl-C) pass untouched.
    """

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # typer's Context, a subclass
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # exits, Ctrl-C, usage errors
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            message = escape(describe_failure(exc))
            console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from exc


def load_or_exit(config: Path | None) -> Settings:
    """Load settings; on a bad file print the problems (file, key, reason) on one line, exit status 2."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        console.print("error: ", describe_failure(exc), sep="", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, json_lines=settings.ops.log_json)
    return settings


# `tesoro --log-json` (the root option) asks for JSON lines whatever the settings say.
LOG_JSON = {"forced": False}


# Libraries whose INFO lines are routine traffic: shown only at DEBUG.
CHATTY_LOGGERS = ("alembic", "apscheduler", "httpx", "httpcore")


def configure_logging(level: str, *, json_lines: bool = False) -> None:
    """Tesoro's own lines at `level`; Alembic's, APScheduler's and httpx's chatter (every migration
    step, every job start and end, one line per HTTP request a collector or the media fetcher makes)
    only at DEBUG, so the console reads as a log.
    `json_lines` (or `--log-json`): one JSON object per line (`tesoro.ops.logs`)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if json_lines or LOG_JSON["forced"]:
        configure_json_logging(level)
    if level != "DEBUG":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
