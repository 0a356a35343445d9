"""Each source's platform budget where people look: /api/sources, the source-health page (English
and Spanish) and `tesoro sources`; used / left / resets at / forecast / next run and why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tesoro.api.app import create_app
from tesoro.api.i18n import MESSAGES
from tesoro.cli.main import app as cli
from tesoro.settings import Settings, load_settings
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.sources import get_source, record_token_expiry
from tesoro.store.spend import add_spend, open_spend
from worlds.api import Seeded, make_settings, seed

SOURCES = [
    # A rolling day, so the figures do not depend on when the test runs.
    {"name": "x-main", "platform": "x", "query": "q", "quota": {"limit": 1_000, "window": "rolling_24h"}},
    {"name": "bsky", "platform": "bluesky", "query": "q"},
]


def quota_settings(tmp_path: Path) -> Settings:
    base = make_settings(tmp_path).model_dump(exclude={"base_dir", "source_file"})
    return Settings.model_validate(
        {
            **base,
            "base_dir": tmp_path,
            "queries": [{"name": "q", "brand": "Andes Outdoor", "query": "cumbre"}],
            "sources": SOURCES,
        }
    )


def spend_runs(engine: Engine, now: datetime) -> None:
    """Four runs of 100 posts read, one an hour, the last an hour ago; a token that expires in 5 days."""
    with session_scope(engine) as session:
        row = get_source(session, "x-main")
        assert row is not None and row.id is not None
        for hours in (4, 3, 2, 1):
            at = now - timedelta(hours=hours)
            add_spend(
                session, spend_id=open_spend(session, source_id=row.id, at=at), units=100, calls=2, at=at
            )
        row.last_run_at = now - timedelta(hours=1)
        session.add(row)
        record_token_expiry(session, source_id=row.id, expires_at=now + timedelta(days=5))


@pytest.fixture
def quota_client(sqlite_engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Seeded, datetime]]:
    settings = quota_settings(tmp_path)
    seeded = seed(sqlite_engine, settings)
    now = datetime.now(UTC)
    spend_runs(sqlite_engine, now)
    with TestClient(create_app(settings, sqlite_engine), base_url="http://testserver") as client:
        yield client, seeded, now


def test_api_sources_shows_used_left_reset_forecast_and_the_plan(
    quota_client: tuple[TestClient, Seeded, datetime],
) -> None:
    client, seeded, now = quota_client
    body = {s["name"]: s for s in client.get("/api/sources", headers=seeded.headers(Role.VIEWER)).json()}
    assert body["bsky"]["quota"] is None
    x = body["x-main"]
    quota = x["quota"]
    assert (quota["unit"], quota["window"], quota["limit"], quota["used"], quota["left"]) == (
        "posts read",
        "rolling_24h",
        1_000,
        400,
        600,
    )
    assert quota["per_run"] == 100.0
    # The oldest run frees its 100 a day after it was spent.
    assert datetime.fromisoformat(quota["resets_at"]) - (now - timedelta(hours=4)) == timedelta(days=1)
    # 600 left at 100 per 15 minutes: gone in 90 minutes.
    runs_out = datetime.fromisoformat(quota["exhausted_at"])
    assert abs((runs_out - now).total_seconds() - 5_400) < 5
    assert quota["forecast"].startswith("at this rate the x quota runs out at ")
    # 100 a run, 1,000 a day: one run every 2 h 24 min keeps inside the budget.
    assert (quota["interval_s"], quota["planned_interval_s"], quota["reason"]) == (900, 8_640, "stretched")
    assert datetime.fromisoformat(quota["next_run_at"]) == now - timedelta(hours=1) + timedelta(seconds=8_640)
    assert quota["fits"] is False and quota["note"].startswith("stretched from 15m to 2h24m")
    assert datetime.fromisoformat(x["token_expires_at"]) > now


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_source_health_page_shows_the_same_in_both_languages(
    quota_client: tuple[TestClient, Seeded, datetime], lang: str
) -> None:
    client, seeded, _ = quota_client
    headers = {**seeded.headers(Role.VIEWER), "Accept-Language": lang}
    html = client.get("/ui/sources", headers=headers).text
    messages = MESSAGES[lang]
    for key in (
        "sources.quota",
        "sources.resets",
        "sources.forecast",
        "sources.next_run",
        "sources.not_metered",
    ):
        assert messages[key] in html, key
    assert messages["sources.coverage_lost"] in html
    assert messages["sources.runs_out"].split("{")[0] in html
    stretched = messages["sources.plan.stretched"].format(interval="15m", planned="2h24m")
    assert stretched in html
    assert messages["sources.token_expires"].split("{")[0] in html
    assert "400 / 600" in html
    # The budget's unit in the page's language (the API keeps the platform's English term).
    assert f'400 / 600 <span class="muted">{messages["sources.unit.posts_read"]}</span>' in html


def test_tesoro_sources_prints_the_budget_and_the_forecast(tmp_path: Path) -> None:
    config = tmp_path / "tesoro.toml"
    config.write_text(
        '[database]\npath = "store.db"\n[[brands]]\nname = "Andes"\n'
        '[[queries]]\nname = "q"\nbrand = "Andes"\nquery = "cumbre"\n'
        '[[sources]]\nname = "x-main"\nplatform = "x"\nquery = "q"\n'
        '[sources.quota]\nlimit = 1000\nwindow = "rolling_24h"\n'
        '[[sources]]\nname = "bsky"\nplatform = "bluesky"\nquery = "q"\n'
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade", "-c", str(config)]).exit_code == 0
    engine = open_store(load_settings(config))
    spend_runs(engine, datetime.now(UTC))
    result = runner.invoke(cli, ["sources", "-c", str(config)], terminal_width=250)
    assert result.exit_code == 0, result.output
    assert "400 / 600 posts read" in result.output and "not metered" in result.output
    assert "x-main: at this rate the x quota runs out at " in result.output
    assert "stretched from 15m to 2h24m" in result.output
    assert "x-main: coverage lost" in result.output
    assert "x-main: the platform token expires at " in result.output


def test_metrics_show_quota_used_left_and_coverage(quota_client: tuple[TestClient, Seeded, datetime]) -> None:
    client, seeded, _ = quota_client
    text = client.get("/metrics", headers=seeded.headers(Role.ADMIN)).text
    assert 'tesoro_quota_left{source="x-main",unit="posts read"} 600.0' in text
    assert 'tesoro_quota_used{source="x-main",unit="posts read"} 400.0' in text
    assert 'tesoro_quota_fits{source="x-main"} 0.0' in text  # stretched: coverage is lost
    assert 'source="bsky"' not in text.split("tesoro_quota_left", 1)[1]  # unmetered: no budget
