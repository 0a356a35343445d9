"""`python -m tesoro` runs the CLI."""

from tesoro.cli import app

app()
