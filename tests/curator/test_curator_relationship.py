"""The treasure score's relationship part reads the author's stored ROR, whoever asks for the ranking.

Each caller (the scheduler's daily re-rank, `tesoro curate rank --all`, `POST
/api/curator/rank`) ranks a small world after a real ROR refresh: the brand's
long-time fan scores above neutral, with their ROR in the explanation, and an
author the refresh never saw stays neutral.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tesoro.api.app import init_state
from tesoro.api.routes import ranker as ranker_routes
from tesoro.cli.curator import curate_app
from tesoro.curator.ranking import rank_posts
from tesoro.curator.treasure import relationship_strength
from tesoro.insights.service import refresh_ror
from tesoro.jobs.tasks import curator_rerank_job
from tesoro.settings import Settings, load_settings
from tesoro.store.curation import get_item
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.relationships import ror_for_authors
from tesoro.store.tables import Post
from worlds.curator import NOW, Spec, seed

CONFIG = """
[database]
path = "tesoro.db"

[[brands]]
name = "Andes Outdoor"

[[products]]
name = "Cumbre Trail Runner"
brand = "Andes Outdoor"

[relationship]
advocate_min_ror = 6.0
"""

MONTH_H = 24 * 30


def _fan_posts() -> list[Spec]:
    """`fan` wrote about the brand every month for a year; `once` wrote once, last week."""
    return [
        Spec(
            f"fan{m}",
            f"Month {m} with my Cumbre shoes on the trail, still great",
            author="fan",
            hours_ago=m * MONTH_H + 2,
        )
        for m in range(12)
    ] + [Spec("once", "First try of the Cumbre shoes on a short trail walk", author="once", hours_ago=24 * 7)]


def _rank_with_job(settings: Settings, engine: Engine, config: Path) -> None:
    curator_rerank_job(engine, settings)


def _rank_with_cli(settings: Settings, engine: Engine, config: Path) -> None:
    result = CliRunner().invoke(curate_app, ["rank", "--all", "-c", str(config)])
    assert result.exit_code == 0, result.output


def _rank_with_api(settings: Settings, engine: Engine, config: Path) -> None:
    app = FastAPI()
    init_state(app, settings, engine)
    app.include_router(ranker_routes.router)
    response = TestClient(app).post("/api/curator/rank", params={"everything": "true"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("rank", [_rank_with_job, _rank_with_cli, _rank_with_api], ids=["job", "cli", "api"])
def test_every_caller_ranks_with_the_authors_ror(
    rank: Callable[[Settings, Engine, Path], None], tmp_path: Path, migrated_sqlite: Callable[[Path], Path]
) -> None:
    config = tmp_path / "tesoro.toml"
    config.write_text(CONFIG)
    settings = load_settings(config, environ={})
    engine = make_engine(f"sqlite:///{migrated_sqlite(tmp_path / 'tesoro.db')}")
    data = seed(engine, _fan_posts(), settings)
    rank_posts(engine, settings.curator, now=NOW)  # before any ROR: everyone is neutral
    with session_scope(engine) as session:
        item = get_item(session, post_id=data.ids["fan0"])
        assert item is not None and item.components["relationship"]["value"] == 0.5
    refresh_ror(engine, settings, brand_name="Andes Outdoor", as_of=NOW)
    late = seed(
        engine, [Spec("late", "Just found the Cumbre shoes, trail time soon", author="late")], settings
    )

    rank(settings, engine, config)

    with session_scope(engine) as session:
        fan, once, newcomer = (
            get_item(session, post_id=pid) for pid in (data.ids["fan0"], data.ids["once"], late.ids["late"])
        )
        fan_author = session.get_one(Post, data.ids["fan0"]).author_id
        fan_ror = ror_for_authors(session, brand_id=data.brands["Andes Outdoor"], author_ids=[fan_author])[
            fan_author
        ]
    assert fan is not None and once is not None and newcomer is not None
    part = fan.components["relationship"]
    assert part["value"] == pytest.approx(relationship_strength(fan_ror, 6.0), abs=1e-4)
    assert part["value"] > 0.9 and f"ROR {fan_ror:.1f}" in part["detail"]
    assert 0.5 < once.components["relationship"]["value"] < part["value"]
    assert newcomer.components["relationship"]["value"] == 0.5
    assert "no ROR yet" in newcomer.components["relationship"]["detail"]
    engine.dispose()


def test_relationship_strength_squashes_ror_around_neutral() -> None:
    assert relationship_strength(0.0, 15.0) == 0.5
    assert relationship_strength(15.0, 15.0) == pytest.approx(0.5 + 0.5 * math.tanh(1.0))
    assert relationship_strength(-30.0, 15.0) < 0.5 < relationship_strength(3.0, 15.0) < 0.6
    assert relationship_strength(1e9, 15.0) <= 1.0 and relationship_strength(-1e9, 15.0) >= 0.0
    with pytest.raises(ValueError):
        relationship_strength(1.0, 0.0)
