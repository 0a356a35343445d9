"""What every command module shares: the `--config` option and settings loading that exits cleanly."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tesoro.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigOption", "console", "load_or_exit", "out"]

console = Console(stderr=True)
out = Console()

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Settings file (TOML). Default: $TESORO_CONFIG, else built-in defaults.",
        show_default=False,
    ),
]


def load_or_exit(config: Path | None) -> Settings:
    """Load settings; on a bad file print the problems (file, key, reason) and exit with status 2."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, markup=False)
        raise typer.Exit(2) from exc
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings
