"""The scoring commands, mounted on a typer app the way cli.py mounts them."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from tesoro.cli.scoring import scoring_app
from tesoro.scoring.adapter import load_branch

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


def _tiny_sentiment_data(root: Path) -> Path:
    """The three sentiment training sets and their validation splits, a few obvious rows each."""
    rows = {
        "positive": ["I love this, wonderful", "great service, thank you", "Me encanta, es genial"],
        "negative": ["I hate this, awful", "worst flight ever", "Horrible, no vuelvo"],
        "neutral": ["The store opens at nine", "Flight 22 lands at 5pm", "El vuelo sale a las diez"],
    }
    lines = "\n".join(json.dumps({"text": t, "label": label}) for label, ts in rows.items() for t in ts)
    for name in ("semeval2017_sentiment_en", "airline", "umsab_spanish"):
        (root / name).mkdir(parents=True)
        (root / name / "train.jsonl").write_text(lines + "\n", encoding="utf-8")
    for name in ("tweeteval_sentiment", "airline"):
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "validation.jsonl").write_text(lines + "\n", encoding="utf-8")
    return root


def test_train_sentiment_branch_writes_a_loadable_branch_in_the_chosen_precision(tmp_path: Path) -> None:

    data = _tiny_sentiment_data(tmp_path / "data")
    out = tmp_path / "branch.npz"
    args = ["train", "sentiment", "--branch", "--layers", "1", "--epochs", "1", "--fp32"]
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["precision"] == "float32" and meta["layers"] == 1
    assert set(meta["validation"]) == {"tweeteval_sentiment", "airline"}
    assert load_branch(out).cut == meta["cut"]


def test_train_without_the_training_sets_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "empty"
    data.mkdir()
    result = CliRunner().invoke(
        app, ["train", "sentiment", "--data-dir", str(data), "--out", str(tmp_path / "h.npz")]
    )
    assert result.exit_code == 1
    assert "training data not found" in result.output
    assert not (tmp_path / "h.npz").exists()
