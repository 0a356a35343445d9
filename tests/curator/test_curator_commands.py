"""`tesoro curate ...` end to end on a settings file and a SQLite store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from tesoro.cli.curator import curate_app
from tesoro.curator.queue import decide
from tesoro.store.engine import make_engine, session_scope
from worlds.curator import Spec, catalog_settings, seed

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
line = "footwear"

[[products]]
name = "Nube Rain Jacket"
brand = "Andes Outdoor"
line = "apparel"

[[products]]
name = "Ola Board"
brand = "Costa Surf"
line = "boards"

[curator]
min_relevance = 0.3
"""


def test_rank_queue_search_stats_and_train(tmp_path: Path, migrated_sqlite: Callable[[Path], Path]) -> None:
    config = tmp_path / "tesoro.toml"
    config.write_text(CONFIG)
    engine = make_engine(f"sqlite:///{migrated_sqlite(tmp_path / 'tesoro.db')}")
    data = seed(
        engine,
        [
            Spec(
                "a", "Trail day in my Cumbre shoes, the grip on wet rock was superb", content_types=("photo",)
            ),
            Spec(
                "b",
                "Is the Nube jacket worth it for winter hiking in the rain?",
                author="q",
                content_types=("question",),
            ),
            Spec("c", "Cumbre summit of ministers opens in Lima", relevance=0.25, author="news"),
        ],
        catalog_settings(),
    )
    runner = CliRunner()
    result = runner.invoke(curate_app, ["rank", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "ranked 3 posts" in result.output and "1 filtered" in result.output
    result = runner.invoke(curate_app, ["queue", "-c", str(config)])
    assert result.exit_code == 0 and "2 posts waiting for review" in result.output
    result = runner.invoke(curate_app, ["queue", "--filtered", "-c", str(config)])
    assert "off-topic" in result.output
    with session_scope(engine) as session:
        decide(session, post_ids=[data.ids["a"]], action="approve", actor="lucia")
    result = runner.invoke(curate_app, ["search", "trail", "-c", str(config)])
    assert result.exit_code == 0 and "1 matching post in" in result.output
    assert runner.invoke(curate_app, ["search", '"bad', "-c", str(config)]).exit_code == 2
    result = runner.invoke(curate_app, ["stats", "-c", str(config)])
    assert result.exit_code == 0 and "3" in result.output
    result = runner.invoke(curate_app, ["train", "-c", str(config)])
    assert result.exit_code == 0 and "decisions" in result.output
    # one decision is too few to move relevance: the brand keeps the hand-set weights, and says so
    assert "relevance weights" in result.output and "default" in result.output
    assert runner.invoke(curate_app, ["rank", "--brand", "Nope", "-c", str(config)]).exit_code == 2
    engine.dispose()


def test_the_queue_marks_a_post_changed_since_approval(
    tmp_path: Path, migrated_sqlite: Callable[[Path], Path]
) -> None:
    config = tmp_path / "tesoro.toml"
    config.write_text(CONFIG)
    engine = make_engine(f"sqlite:///{migrated_sqlite(tmp_path / 'tesoro.db')}")
    spec = Spec("a", "Trail day in my Cumbre shoes, the grip on wet rock was superb")
    data = seed(engine, [spec], catalog_settings())
    runner = CliRunner()
    assert runner.invoke(curate_app, ["rank", "-c", str(config)]).exit_code == 0
    with session_scope(engine) as session:
        decide(session, post_ids=[data.ids["a"]], action="approve", actor="lucia")
    seed(engine, [replace(spec, text="Cumbre shoes 70% off at cheap-boots.example")], catalog_settings())
    result = runner.invoke(curate_app, ["queue", "-c", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "changed since approval (v1 to v2): Cumbre" in result.output
    assert "1 post waiting for review" in result.output


def test_post_text_prints_as_written_not_as_markup(
    tmp_path: Path, migrated_sqlite: Callable[[Path], Path]
) -> None:
    """Post text is data: "[bold]" or "[/red]" in a post shows as typed and never breaks the table."""
    config = tmp_path / "tesoro.toml"
    config.write_text(CONFIG)
    engine = make_engine(f"sqlite:///{migrated_sqlite(tmp_path / 'tesoro.db')}")
    seed(engine, [Spec("a", "[bold]Cumbre[/bold] shoes [link=x]win[/link] [/red]")], catalog_settings())
    runner = CliRunner()
    assert runner.invoke(curate_app, ["rank", "-c", str(config)]).exit_code == 0
    result = runner.invoke(curate_app, ["queue", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "[bold]Cumbre[/bold]" in result.output and "[link=x]" in result.output
    result = runner.invoke(curate_app, ["search", '"[x]', "-c", str(config)])
    assert result.exit_code == 2 and "[red]" not in result.output
    engine.dispose()
