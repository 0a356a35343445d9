"""The scoring commands, mounted on a typer app the way cli.py mounts them."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from tesoro.scoring.commands import scoring_app

app = typer.Typer()
app.add_typer(scoring_app)


@app.callback()
def _root() -> None:
    """Tesoro (test root)."""


def test_eval_sentiment_prints_the_official_metric(tmp_path: Path) -> None:
    data = tmp_path / "tiny.jsonl"
    rows = [
        {"text": "I love it, wonderful and amazing", "label": "positive"},
        {"text": "Horrible, the worst, I hate it", "label": "negative"},
        {"text": "Me encanta, es genial", "label": "positive"},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "--task", "sentiment", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "macro_recall (official)" in result.output and "100.0" in result.output


def test_eval_rejects_rows_without_labels(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps({"text": "no label"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "--task", "offensive", "--data", str(data)])
    assert result.exit_code == 1
    assert "lack" in result.output


def test_score_on_an_empty_store(tmp_path: Path) -> None:
    config = tmp_path / "tesoro.toml"
    config.write_text('[database]\npath = "tesoro.db"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["score", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "scored 0 posts" in result.output
