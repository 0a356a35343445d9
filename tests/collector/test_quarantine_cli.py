"""`tesoro import` of good / hostile / good rows, then `tesoro quarantine list` and `retry`, end to end
on a SQLite file (issue 17 item 1: the import used to exit with a traceback and keep 0 rows)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tesoro.cli.main import app

runner = CliRunner()


def _row(i: int, **change: object) -> str:
    row = {"id": f"g{i}", "text": f"post {i}", "created_at": "2024-05-01T00:00:00Z", "author_handle": "ana"}
    return json.dumps(row | change)


def test_import_quarantines_the_hostile_row_and_the_cli_lists_and_retries_it(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n')
    data = tmp_path / "posts.jsonl"
    lines = [
        _row(0),
        _row(1, created_at="2099-01-01T00:00:00Z"),
        _row(2, likes=10**30),
        _row(3, text="[b]x\ud800"),
    ]
    data.write_text("\n".join(lines) + "\n")

    imported = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert imported.exit_code == 0, imported.output
    assert "2 new, 0 updated, 2 bad rows" in imported.output
    assert "line 2: `created_at` 2099-01-01T00:00:00+00:00 is in the future" in imported.output
    assert "line 3: `likes` is out of range" in imported.output
    assert "2 kept in quarantine: tesoro quarantine list" in imported.output

    listed = runner.invoke(app, ["quarantine", "list", "-c", str(config), "--raw"])
    assert listed.exit_code == 0, listed.output
    assert "import:posts.jsonl" in listed.output and "2 of 2 quarantined item(s)" in listed.output
    assert "is in the future" in listed.output and "`likes` is out of range" in listed.output
    assert '"id": "g1"' in listed.output

    retried = runner.invoke(app, ["quarantine", "retry", "-c", str(config)])
    assert retried.exit_code == 0, retried.output
    assert "0 stored, 2 still refused" in retried.output
    again = runner.invoke(app, ["quarantine", "list", "-c", str(config), "--source", "import:posts.jsonl"])
    assert "2 of 2 quarantined item(s)" in again.output
    other = runner.invoke(app, ["quarantine", "list", "-c", str(config), "--source", "nope"])
    assert "0 of 0 quarantined item(s)" in other.output


def test_collect_once_with_a_hostile_row_in_a_file_source_stays_ok_and_counts_it(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join([_row(0, text="cumbre 0"), _row(1, text="cumbre", likes=10**30)]) + "\n")
    config = tmp_path / "t.toml"
    config.write_text(
        '[database]\npath = "store.db"\n'
        '[[brands]]\nname = "Andes"\n'
        '[[queries]]\nname = "q"\nbrand = "Andes"\nquery = "cumbre"\n'
        f'[[sources]]\nname = "feed"\nplatform = "file"\nquery = "q"\npath = "{feed}"\n'
    )
    first = runner.invoke(app, ["collect", "--once", "-c", str(config)])
    assert first.exit_code == 0, first.output
    assert "quarantined" in first.output
    [row] = [line for line in first.output.splitlines() if "feed" in line]
    assert [cell.strip() for cell in row.split("│")[2:7]] == ["ok", "1", "0", "0", "1"]
    with feed.open("a") as handle:
        handle.write(_row(2, text="cumbre 2") + "\n")
    second = runner.invoke(app, ["collect", "--once", "-c", str(config)])
    [row] = [line for line in second.output.splitlines() if "feed" in line]
    assert [cell.strip() for cell in row.split("│")[2:7]] == ["ok", "1", "0", "0", "0"]
