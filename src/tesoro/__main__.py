"""`python -m tesoro` runs the CLI."""

from tesoro.cli.main import app

app()
