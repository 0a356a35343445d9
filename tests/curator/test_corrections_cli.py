"""`tesoro curate correct` and `tesoro curate corrections` on a settings file and a SQLite store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from tesoro.cli.curator import curate_app
from tesoro.store.corrections import corrections_for
from tesoro.store.engine import make_engine, session_scope
from worlds.curator import Spec, seed

CONFIG = """
[database]
path = "tesoro.db"

[[brands]]
name = "Andes Outdoor"

[[brands]]
name = "Costa Surf"

[[products]]
name = "Cumbre Trail Runner"
brand = "Andes Outdoor"

[[products]]
name = "Nube Rain Jacket"
brand = "Andes Outdoor"

[[products]]
name = "Ola Board"
brand = "Costa Surf"
"""


def test_correct_and_list_corrections(tmp_path: Path, migrated_sqlite: Callable[[Path], Path]) -> None:
    config = tmp_path / "tesoro.toml"
    config.write_text(CONFIG)
    engine = make_engine(f"sqlite:///{migrated_sqlite(tmp_path / 'tesoro.db')}")
    data = seed(engine, [Spec("a", "Cumbre shoes", sentiment="positive")])
    a = data.ids["a"]
    runner = CliRunner()

    r = runner.invoke(
        curate_app,
        [
            "correct",
            str(a),
            "--config",
            str(config),
            "--sentiment",
            "Negative",
            "--product",
            "nube rain jacket",
            "--types",
            "review, complaint",
            "--actor",
            "lucia",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "sentiment: 'positive' -> 'negative'" in r.output
    with session_scope(engine) as session:
        assert corrections_for(session, post_ids=[a]) == {
            a: {
                "sentiment": "negative",
                "product": data.products["Nube Rain Jacket"],
                "content_type": ["review", "complaint"],
            }
        }

    # Refused: another brand's product, an unknown product name, a bad label, nothing to correct, no post.
    for args, code in (
        (["--product", "Ola Board"], 2),
        (["--product", "Kayak"], 2),
        (["--sentiment", "furious"], 2),
        ([], 2),
    ):
        r = runner.invoke(curate_app, ["correct", str(a), "--config", str(config), *args])
        assert r.exit_code == code, (args, r.output)
    r = runner.invoke(curate_app, ["correct", str(a + 99), "--config", str(config), "--sentiment", "neutral"])
    assert r.exit_code == 1 and "no post" in r.output
    r = runner.invoke(curate_app, ["correct", str(a), "--config", str(config), "--product", "none"])
    assert r.exit_code == 0, r.output
    with session_scope(engine) as session:
        assert corrections_for(session, post_ids=[a])[a]["product"] is None

    r = runner.invoke(curate_app, ["corrections", "--config", str(config)])
    assert r.exit_code == 0, r.output
    assert "Andes Outdoor" in r.output and "sentiment" in r.output and "content_type" in r.output
