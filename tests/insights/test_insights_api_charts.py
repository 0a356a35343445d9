"""The insights router, its SVG charts (hostile names escaped) and the command line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from tesoro.api.app import init_state
from tesoro.api.routes import charts, insights
from tesoro.cli.insights import insights_app, orders_app
from tesoro.insights.charts import BarItem, LinePoint, bar_chart, line_chart, svg_text, volume_chart
from tesoro.insights.kpis import SeriesPoint, sentiment_share
from tesoro.store.engine import session_scope
from tesoro.store.tables import AuditLog, Author, RorScore
from worlds.insights import BRAND, World, build_world, insights_settings

HOSTILE = "<script>alert('x')</script> & \"quoted\" ]]> \x00\x1b[31m\ud800 <img src=x onerror=alert(1)>"
# What a database can hold (no NUL for PostgreSQL, no lone surrogate for either).
HOSTILE_STORED = HOSTILE.replace("\x00", "").replace("\ud800", "")
NO_MARKUP = ("<script", "<img", "onerror=alert(1)>", "\x00", "\x1b")


def parse_svg(svg: str) -> ET.Element:
    """Well-formed XML, or the image would not render at all (a NUL or lone surrogate breaks it)."""
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def assert_inert(svg: str) -> None:
    root = parse_svg(svg)
    for node in root.iter():
        assert node.tag.split("}")[1] in {"svg", "title", "rect", "text", "line", "polyline", "circle"}
        assert not any(name.lower().startswith("on") for name in node.attrib)
    for bad in NO_MARKUP:
        assert bad not in svg


def test_svg_text_escapes_and_drops_what_xml_cannot_carry() -> None:
    text = svg_text(HOSTILE, limit=500)
    assert "<" not in text and ">" not in text and '"' not in text and "'" not in text
    assert "&lt;script&gt;" in text and "&amp;" in text
    assert "\x00" not in text and "\x1b" not in text and "\ud800" not in text
    assert svg_text("x" * 100, limit=10) == "x" * 9 + "\u2026"


def test_charts_with_hostile_names_are_inert_and_well_formed() -> None:
    assert_inert(bar_chart([BarItem(HOSTILE, 3.5, note=HOSTILE), BarItem("ok", -1.0)], title=HOSTILE))
    assert_inert(
        line_chart([LinePoint(HOSTILE, 0.5), LinePoint("b", None), LinePoint("c", -0.2)], title=HOSTILE)
    )
    point = SeriesPoint(datetime(2026, 11, 1, tzinfo=UTC), 3, sentiment_share({"positive": 2, None: 1}))
    assert_inert(volume_chart([point], bucket="day", title=HOSTILE))
    assert_inert(bar_chart([], title=HOSTILE))  # the empty state is escaped too


def test_volume_chart_stacks_sentiment_bars() -> None:
    point = SeriesPoint(
        datetime(2026, 11, 1, tzinfo=UTC), 4, sentiment_share({"positive": 2, "negative": 1, None: 1})
    )
    root = parse_svg(volume_chart([point], bucket="day", title="t"))
    tips = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "Nov 01: 2 positive" in tips and "Nov 01: 1 negative" in tips and "Nov 01: 1 unscored" in tips


@pytest.fixture
def client(sqlite_world: World) -> TestClient:
    app = FastAPI()

    @app.middleware("http")
    async def caller(request: Request, call_next):  # type: ignore[no-untyped-def]
        # What the app's access guard leaves behind for the audit trail.
        request.state.principal = type("P", (), {"actor": "key:test (coordinator)"})()
        return await call_next(request)

    init_state(app, sqlite_world.settings, sqlite_world.engine)
    app.include_router(insights.router)
    app.include_router(charts.router)
    return TestClient(app)


def test_api_kpis_leaderboard_author_and_roe(client: TestClient, sqlite_world: World) -> None:
    kpis = client.get("/api/kpis", params={"since": "2026-11-01", "until": "2026-11-30"}).json()
    assert kpis["volume"]["mentions"] == 6 and kpis["brand"] == BRAND
    assert (
        client.get(
            "/api/kpis", params={"platform": "reddit", "since": "2026-11-01", "until": "2026-11-30"}
        ).json()["volume"]["mentions"]
        == 1
    )
    assert client.post("/api/ror/refresh").status_code == 200
    board = client.get("/api/ror/leaderboard", params={"top": 3}).json()
    assert [row["rank"] for row in board["items"]] == [1, 2, 3]
    ana = sqlite_world.authors["ana@x"]
    page = client.get(f"/api/authors/{ana}/ror", params={"every": "week"}).json()
    assert page["history"]["every"] == "week" and page["ror"]["events_total"] == 7
    assert set(page["formula"]) >= {"half_life_days", "loyalty_weight", "event_values"}
    roe = client.get("/api/roe").json()
    assert len(roe["items"]) == 3
    voice = client.get(
        "/api/kpis/share-of-voice", params={"since": "2026-11-01", "until": "2026-11-30"}
    ).json()
    assert [v["mentions"] for v in voice["items"]] == [6, 2, 2]
    volume = client.get("/api/kpis/volume", params={"since": "2026-11-01", "until": "2026-11-30"}).json()
    assert volume["bucket"] == "day" and len(volume["points"]) == 30


def test_reading_the_leaderboard_never_computes_it(client: TestClient, sqlite_world: World) -> None:
    """A GET (a viewer, or a cross-site link carrying the login cookie) never recomputes ROR."""

    def stored() -> list[tuple[int, float, datetime]]:
        with session_scope(sqlite_world.engine) as session:
            rows = session.exec(select(RorScore).order_by(col(RorScore.id)))
            return [(r.author_id, r.score, r.computed_at) for r in rows]

    empty = client.get("/api/ror/leaderboard", params={"refresh": True})
    assert empty.status_code == 200
    assert empty.json()["computed_at"] is None and empty.json()["items"] == []
    assert stored() == []
    assert client.post("/api/ror/refresh").status_code == 200
    before = stored()
    assert before
    board = client.get("/api/ror/leaderboard", params={"refresh": True}).json()
    assert board["computed_at"] is not None and len(board["items"]) == min(20, len(before))
    assert stored() == before  # same rows, same computation time: nothing was recomputed
    parameters = {
        p["name"]
        for p in client.get("/openapi.json").json()["paths"]["/api/ror/leaderboard"]["get"]["parameters"]
    }
    assert "refresh" not in parameters


def test_api_errors_are_404_and_422(client: TestClient) -> None:
    assert client.get("/api/kpis", params={"brand": "Nope"}).status_code == 404
    assert client.get("/api/authors/999999/ror").status_code == 404
    assert client.get("/api/kpis", params={"since": "soon"}).status_code == 422
    assert client.post("/api/identity/link", json={"author_ids": [1]}).status_code == 422
    assert client.post("/api/identity/link", json={"author_ids": [1, 999999]}).status_code == 404


def test_api_identity_link_unlink_suggest_is_audited(client: TestClient, sqlite_world: World) -> None:
    ana, sky = sqlite_world.authors["ana@x"], sqlite_world.authors["ana.bsky.social@bluesky"]
    suggested = client.get("/api/identity/suggestions").json()["items"]
    assert [(s["account"]["author_id"], s["other"]["author_id"]) for s in suggested] == [(ana, sky)]
    linked = client.post("/api/identity/link", json={"author_ids": [ana, sky], "display_name": "Ana"}).json()
    assert client.get("/api/identity/suggestions").json()["items"] == []
    assert client.post("/api/ror/refresh").status_code == 200
    board = client.get("/api/ror/leaderboard").json()["items"]
    assert board[0]["person_id"] == linked["person_id"] and board[0]["accounts"] == 2
    assert client.post("/api/identity/unlink", json={"author_id": sky}).status_code == 200
    # Unlinking says "not the same person": the suggestion does not come back.
    assert client.get("/api/identity/suggestions").json()["items"] == []
    with session_scope(sqlite_world.engine) as session:
        audit = list(session.exec(select(AuditLog).order_by(col(AuditLog.id))))
        assert [a.action for a in audit] == ["identity.link", "identity.unlink"]
        assert {a.actor for a in audit} == {"key:test (coordinator)"}
        assert audit[0].after == {"person_id": linked["person_id"], "author_ids": [ana, sky]}
        row = session.get(Author, sky)
        assert row is not None and row.person_id is None


def test_reading_charts_and_reports_never_computes_ror(client: TestClient, sqlite_world: World) -> None:
    """A GET only reads: the leaderboard chart and the KPI report show no ROR until a POST refreshes it."""
    for path, params in (
        ("/api/charts/ror-leaderboard.svg", {}),
        ("/api/kpis", {"since": "2026-11-01", "until": "2026-11-30"}),
        ("/api/kpis/purchases", {}),
    ):
        assert client.get(path, params=params).status_code == 200, path
    with session_scope(sqlite_world.engine) as session:
        assert session.exec(select(RorScore)).first() is None


def test_api_charts_are_svg_with_a_locked_down_policy(client: TestClient, sqlite_world: World) -> None:
    params = {"since": "2026-11-01", "until": "2026-11-30"}
    for path in ("volume.svg", "sentiment.svg", "share-of-voice.svg", "ror-leaderboard.svg"):
        response = client.get(f"/api/charts/{path}", params=params if "ror" not in path else {})
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert_inert(response.text)
    history = client.get("/api/charts/ror-history.svg", params={"author_id": sqlite_world.authors["ana@x"]})
    assert_inert(history.text)


def test_api_chart_of_a_hostile_display_name_is_escaped(client: TestClient, sqlite_world: World) -> None:
    with session_scope(sqlite_world.engine) as session:
        author = session.get(Author, sqlite_world.authors["ana@x"])
        assert author is not None
        author.display_name = HOSTILE_STORED
        session.add(author)
    assert client.post("/api/ror/refresh").status_code == 200  # the chart only reads what is stored
    svg = client.get("/api/charts/ror-leaderboard.svg", params={"top": 5}).text
    assert_inert(svg)
    assert "&lt;script&gt;" in svg
    # A platform outside the closed set never reaches a chart's title: it is a 422 (issue 22).
    hostile_platform = client.get("/api/charts/volume.svg", params={"platform": "<b>x</b>"})
    assert hostile_platform.status_code == 422
    assert hostile_platform.headers["content-type"].startswith("application/json")


def test_hostile_brand_and_competitor_names_in_share_of_voice(tmp_path: Path, sqlite_engine: Engine) -> None:
    settings = insights_settings(tmp_path)
    brand = settings.brands[0].model_copy(
        update={"name": "<svg onload=alert(1)>", "competitors": [HOSTILE_STORED]}
    )
    settings = settings.model_copy(
        update={"brands": [brand], "queries": [], "roe": settings.roe.model_copy(update={"effort": []})}
    )
    world = build_world(sqlite_engine, settings)
    app = FastAPI()
    init_state(app, world.settings, world.engine)
    app.include_router(insights.router)
    app.include_router(charts.router)
    svg = (
        TestClient(app)
        .get("/api/charts/share-of-voice.svg", params={"since": "2026-11-01", "until": "2026-11-30"})
        .text
    )
    assert_inert(svg)
    assert "onload=alert(1)&gt;" in svg or "&lt;svg onload" in svg


def test_cli_ror_kpis_author_and_orders_import(sqlite_world: World, tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    db = sqlite_world.engine.url.database
    config.write_text(
        f'[database]\npath = "{db}"\n\n[[brands]]\nname = "{BRAND}"\nhandles = {{ x = "andesoutdoor" }}\n'
        'competitors = ["Patagonia", "Salomon"]\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    ror = runner.invoke(insights_app, ["ror", "-c", str(config), "--top", "3", "--json"])
    assert ror.exit_code == 0, ror.output
    assert json.loads(ror.output)["items"][0]["handle"] == "ana"
    table = runner.invoke(
        insights_app, ["kpis", "-c", str(config), "--since", "2026-11-01", "--until", "2026-11-30"]
    )
    assert table.exit_code == 0, table.output
    assert "mentions" in table.output and "Share of voice" in table.output
    who = runner.invoke(insights_app, ["author", str(sqlite_world.authors["ben@x"]), "-c", str(config)])
    assert who.exit_code == 0 and "brand_reply" in who.output
    orders = tmp_path / "orders.csv"
    orders.write_text("email,date,amount\nben,2026-11-03,20\n", encoding="utf-8")
    imported = runner.invoke(orders_app, ["import", str(orders), "-c", str(config)])
    assert imported.exit_code == 0, imported.output
    assert "1 new" in imported.output and "1 linked" in imported.output
    bad = runner.invoke(insights_app, ["kpis", "-c", str(config), "--brand", "Nope"])
    assert bad.exit_code == 1 and "no brand named" in bad.output


def test_api_log_and_remove_a_relationship_event(client: TestClient, sqlite_world: World) -> None:
    dan, ana = sqlite_world.authors["dan@mastodon.social@mastodon"], sqlite_world.authors["ana@x"]
    before = client.get(f"/api/authors/{dan}/ror").json()["ror"]["score"]
    created = client.post(
        f"/api/authors/{dan}/events", json={"kind": "purchase", "weight": 4, "note": HOSTILE_STORED}
    )
    assert created.status_code == 201, created.text
    event = created.json()
    assert (event["kind"], event["weight"], event["note"]) == ("purchase", 4.0, HOSTILE_STORED)
    page = client.get(f"/api/authors/{dan}/ror").json()
    # Logged just now: worth its whole weight.
    assert page["ror"]["score"] == pytest.approx(before + 4.0, abs=1e-2)
    assert [e["id"] for e in page["logged_events"]] == [event["id"]]
    # Only the author it was logged for can lose it.
    assert client.delete(f"/api/authors/{ana}/events/{event['id']}").status_code == 404
    removed = client.delete(f"/api/authors/{dan}/events/{event['id']}")
    assert removed.status_code == 200 and removed.json()["deleted"]["id"] == event["id"]
    assert client.get(f"/api/authors/{dan}/ror").json()["logged_events"] == []
    assert client.delete(f"/api/authors/{dan}/events/{event['id']}").status_code == 404
    with session_scope(sqlite_world.engine) as session:
        actors = {a.actor for a in session.exec(select(AuditLog))}
    assert actors == {"key:test (coordinator)"}


def test_api_logged_event_errors_are_404_and_422(client: TestClient, sqlite_world: World) -> None:
    dan = sqlite_world.authors["dan@mastodon.social@mastodon"]
    assert client.post("/api/authors/999999/events", json={"kind": "gift"}).status_code == 404
    derived = client.post(f"/api/authors/{dan}/events", json={"kind": "ugc_featured"})
    assert derived.status_code == 422 and "derived" in derived.json()["detail"]
    assert client.post(f"/api/authors/{dan}/events", json={"kind": "gift", "weight": 0}).status_code == 422
    assert client.post(f"/api/authors/{dan}/events", json={"weight": 2}).status_code == 422  # no kind
    future = client.post(
        f"/api/authors/{dan}/events", json={"kind": "gift", "occurred_at": "2999-01-01T00:00:00Z"}
    )
    assert future.status_code == 422 and "future" in future.json()["detail"]


def test_cli_log_event_shows_on_the_author_page_and_can_be_removed(
    sqlite_world: World, tmp_path: Path
) -> None:
    config = tmp_path / "t.toml"
    config.write_text(f'[database]\npath = "{sqlite_world.engine.url.database}"\n', encoding="utf-8")
    dan = str(sqlite_world.authors["dan@mastodon.social@mastodon"])
    runner = CliRunner()
    logged = runner.invoke(
        insights_app,
        [
            "log-event",
            dan,
            "gift",
            "-c",
            str(config),
            "--weight",
            "2.5",
            "--at",
            "2026-11-20",
            "--note",
            "socks",
        ],
    )
    assert logged.exit_code == 0, logged.output
    assert "gift (+2.5)" in logged.output
    event_id = logged.output.split("logged event ")[1].split(":")[0]
    page = runner.invoke(insights_app, ["author", dan, "-c", str(config)])
    assert page.exit_code == 0 and "Logged by hand" in page.output and "socks" in page.output
    refused = runner.invoke(insights_app, ["log-event", dan, "mention", "-c", str(config)])
    assert refused.exit_code == 1 and "derived from posts" in refused.output
    bad_date = runner.invoke(insights_app, ["log-event", dan, "gift", "-c", str(config), "--at", "soon"])
    assert bad_date.exit_code == 1 and "is not a date" in bad_date.output
    removed = runner.invoke(insights_app, ["unlog-event", dan, event_id, "-c", str(config)])
    assert removed.exit_code == 0 and f"removed logged event {event_id}" in removed.output
    again = runner.invoke(insights_app, ["unlog-event", dan, event_id, "-c", str(config)])
    assert again.exit_code == 1 and "no logged event" in again.output
