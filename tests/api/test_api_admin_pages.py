"""The alerts page and the settings page over HTTP, and the API they call: a delivery's message as it
was sent, the delivery log's time filter, and the listening-query preview (admin)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import create_app
from tesoro.api.i18n import MESSAGES
from tesoro.api.routes.ui_admin import DELIVERY_STATUSES
from tesoro.models import NormalizedAuthor, NormalizedPost, Platform
from tesoro.settings import Settings
from tesoro.settings.alerts import AlertKind
from tesoro.store.alerts import record_delivery
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.posts import upsert_posts
from worlds.admin import HOSTILE_POST, SHOP_URL, AlertLog, admin_settings, seed_alerts
from worlds.api import BASE_TIME, HOSTILE_IMG, Seeded

HTML = {"Accept": "text/html"}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return admin_settings(tmp_path)


@pytest.fixture
def alert_log(sqlite_engine: Engine, api_settings: Settings, seeded: Seeded) -> AlertLog:
    return seed_alerts(sqlite_engine, api_settings)


@pytest.fixture
def client(
    sqlite_engine: Engine, api_settings: Settings, seeded: Seeded, alert_log: AlertLog
) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, sqlite_engine), base_url="http://testserver") as test_client:
        yield test_client


def _message(client: TestClient, seeded: Seeded, delivery_id: int, role: Role = Role.VIEWER) -> dict:
    response = client.get(f"/api/alerts/deliveries/{delivery_id}/message", headers=seeded.headers(role))
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- the message as sent ---------------------------------------------------------------------------------


def test_a_hostile_post_reads_as_plain_text_and_links_only_where_tesoro_put_them(
    client: TestClient, seeded: Seeded, alert_log: AlertLog
) -> None:
    message = _message(client, seeded, alert_log.deliveries["hostile"])
    assert message["available"] is True
    assert message["delivery"]["status"] == "delivered"
    kinds = [p["kind"] for p in message["parts"]]
    assert kinds[0] == "header" and "quote" in kinds and kinds[-1] == "context"
    assert message["parts"][0]["text"] == "Negative post by an influencer"
    quote = next(p for p in message["parts"] if p["kind"] == "quote")
    # The post's words come back as the author wrote them (Slack's entities decoded), for the page to escape.
    assert quote["text"] == HOSTILE_POST.replace("@here", "@\u2060here")
    assert quote["links"] == []  # "<https://evil.example|Tesoro>" in a post is text, never a link
    links = [link for part in message["parts"] for link in part["links"]]
    assert {link["label"] for link in links} >= {"@mallory", "Open post", "Review in Tesoro"}
    assert all(link["url"].startswith(("https://x.com/", "http://127.0.0.1:8000/ui/queue")) for link in links)
    author = next(p for p in message["parts"] if p["kind"] == "text" and "followers" in p["text"])
    assert author["text"] == f"{HOSTILE_IMG} @mallory · 12.3k followers · x"  # bold stars dropped
    # The blocks are what Slack received: the same text, escaped for mrkdwn.
    assert any("&lt;!channel&gt;" in str(block) for block in message["blocks"])
    assert "<!channel>" not in str(message["blocks"])


def test_a_digest_a_test_and_a_message_whose_alerts_are_gone(
    client: TestClient, seeded: Seeded, alert_log: AlertLog, sqlite_engine: Engine
) -> None:
    digest = _message(client, seeded, alert_log.deliveries["digest"])
    assert digest["parts"][0]["text"] == "2 alerts: Negative post by an influencer"
    assert "@bea" in " ".join(p["text"] for p in digest["parts"])
    assert digest["fallback"] == "2 alerts: Negative post by an influencer (rule vip)"
    test = _message(client, seeded, alert_log.deliveries["test"])
    assert test["parts"][0]["text"] == "Tesoro test alert"
    with session_scope(sqlite_engine) as session:
        orphan = record_delivery(
            session,
            rule="vip",
            channel="slack:#social",
            kind="alert",
            status="failed",
            alert_ids=[],
            at=BASE_TIME,
        )
    gone = _message(client, seeded, orphan)
    assert gone["available"] is False and gone["parts"] == [] and gone["blocks"] == []


def test_a_missing_delivery_is_404_and_a_gallery_key_is_refused(client: TestClient, seeded: Seeded) -> None:
    assert (
        client.get("/api/alerts/deliveries/999999/message", headers=seeded.headers(Role.VIEWER)).status_code
        == 404
    )
    refused = client.get("/api/alerts/deliveries/1/message", headers=seeded.headers(Role.GALLERY))
    assert refused.status_code == 403


def test_the_delivery_log_filters_by_time(client: TestClient, seeded: Seeded, alert_log: AlertLog) -> None:
    headers = seeded.headers(Role.VIEWER)
    since = (BASE_TIME - timedelta(days=1)).isoformat()
    recent = client.get("/api/alerts/deliveries", params={"since": since}, headers=headers).json()
    assert alert_log.deliveries["old"] not in {d["id"] for d in recent}
    assert alert_log.deliveries["hostile"] in {d["id"] for d in recent}
    old = client.get(
        "/api/alerts/deliveries", params={"until": "2026-10-30T00:00:00"}, headers=headers
    ).json()
    assert [d["id"] for d in old] == [alert_log.deliveries["old"]]  # a time without a zone is UTC
    backwards = client.get(
        "/api/alerts/deliveries", params={"since": BASE_TIME.isoformat(), "until": since}, headers=headers
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["msg"] == "until must be later than since"
    masked = client.get("/api/alerts/deliveries", params={"status": "failed"}, headers=headers).json()
    assert masked[0]["error"] is not None and "SECRET" not in masked[0]["error"]


# --- the listening-query preview -------------------------------------------------------------------------


def _preview(client: TestClient, seeded: Seeded, role: Role = Role.ADMIN, **body: object) -> tuple[int, dict]:
    response = client.post("/api/queries/preview", json=body, headers=seeded.headers(role))
    return response.status_code, response.json()


def test_the_preview_counts_what_the_query_matches_among_the_latest_posts(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine
) -> None:
    status, answer = _preview(client, seeded, query="cumbre")
    assert status == 200
    # "Great grip on the Cumbre" and the two hostile posts ("... loved the Cumbre"), newest stored first.
    assert answer["matched"] == 3 and answer["tried"] == len(seeded.posts)
    assert [i["id"] for i in answer["items"]] == sorted((i["id"] for i in answer["items"]), reverse=True)
    assert {i["author_handle"] for i in answer["items"]} == {"ana", "mallory"}
    hostile = next(i for i in answer["items"] if i["author_handle"] == "mallory")
    assert hostile["url"] is None or hostile["url"].startswith("http")  # a javascript: URL is dropped
    status, answer = _preview(client, seeded, query="cumbre -grip", recent=3, show=1)
    assert status == 200 and answer["tried"] == 3 and len(answer["items"]) <= 1
    status, answer = _preview(client, seeded, query="platforms two")
    assert answer["matched"] == 2 and answer["canonical"] == "platforms two"
    # A title is matched with the text, as the collectors' re-check does.
    titled = NormalizedPost(
        platform=Platform.REDDIT,
        external_id="titled",
        text="body without the word",
        title="Nube review",
        created_at=BASE_TIME,
        author=NormalizedAuthor(platform=Platform.REDDIT, external_id="r-dan", handle="dan"),
        lang="en",
    )
    with session_scope(sqlite_engine) as session:
        upsert_posts(session, [titled], brand_id=seeded.brands["Andes Outdoor"])
    status, answer = _preview(client, seeded, query="nube review")
    assert answer["matched"] == 1 and answer["items"][0]["text"] == "Nube review\nbody without the word"


def test_a_bad_query_says_what_and_where(client: TestClient, seeded: Seeded) -> None:
    status, answer = _preview(client, seeded, query="(cumbre OR nube")
    assert status == 422
    [problem] = answer["detail"]
    assert problem["loc"] == ["body", "query"]
    assert "')'" in problem["msg"] or "parenthes" in problem["msg"]
    assert isinstance(problem["position"], int)
    status, answer = _preview(client, seeded, query='"unterminated')
    assert status == 422 and answer["detail"][0]["position"] == 0
    for body in ({"query": ""}, {"query": "x" * 2001}, {"query": "x", "recent": 0}, {"query": "a\x00b"}):
        status, _ = _preview(client, seeded, **body)
        assert status == 422, body


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.VIEWER, Role.GALLERY])
def test_only_an_admin_may_preview(client: TestClient, seeded: Seeded, role: Role) -> None:
    status, _ = _preview(client, seeded, role, query="cumbre")
    assert status == 403


# --- the pages ---------------------------------------------------------------------------------------------


def _page(client: TestClient, seeded: Seeded, path: str, role: Role, **params: str) -> tuple[int, str]:
    response = client.get(path, params=params, headers={**HTML, **seeded.headers(role)})
    return response.status_code, response.text


def test_the_alerts_page_lists_the_log_and_the_rules(client: TestClient, seeded: Seeded) -> None:
    status, html = _page(client, seeded, "/ui/alerts", Role.VIEWER)
    assert status == 200
    assert html.count('class="delivery"') == 5
    # (The page's words are also in its JSON data block for the scripts: assert on the elements.)
    assert ">Delivered</span>" in html and ">Failed</span>" in html and ">Uncertain</span>" in html
    assert "SECRET" not in html and "https://bot:***@hooks.example" in html  # credentials in an error masked
    assert 'href="/ui/alerts" aria-current="page"' in html
    assert (
        "rule-toggle" not in html
        and 'id="rules-readonly">Only an admin can turn rules on or off.</p>' in html
    )
    assert "/ui/settings" not in html  # not in a viewer's navigation
    status, html = _page(client, seeded, "/ui/alerts", Role.ADMIN)
    assert html.count('class="rule-toggle"') == 2 and 'aria-label="Turn off rule vip"' in html
    assert 'href="/ui/settings"' in html


def test_the_alerts_page_filters_and_explains_bad_filters(client: TestClient, seeded: Seeded) -> None:
    status, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, status="failed")
    assert status == 200 and html.count('class="delivery"') == 1
    _, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, rule="test")
    assert html.count('class="delivery"') == 1
    _, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, **{"from": "2026-11-01", "to": "2026-11-01"})
    assert html.count('class="delivery"') == 4  # the old one (three days before) is left out
    _, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, **{"to": "2026-10-30"})
    assert html.count('class="delivery"') == 1
    status, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, status="lost", **{"from": "yesterday"})
    assert status == 200 and html.count('class="delivery"') == 5
    assert "<li>That status does not exist; showing every status.</li>" in html
    assert "<li>The start day is not a date (use YYYY-MM-DD); it was left out.</li>" in html
    _, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, **{"from": "2026-11-02", "to": "2026-11-01"})
    assert "<li>The end day is before the start day; the end day was left out.</li>" in html
    _, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, rule="<script>nope</script>")
    assert (
        'id="deliveries-empty">No deliveries match these filters.</p>' in html and "<script>nope" not in html
    )
    _, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, lang="es", status="failed")
    assert ">Fallido</span>" in html and ">Registro de envíos</h2>" in html


def test_the_settings_page_shows_the_catalogue_read_only(client: TestClient, seeded: Seeded) -> None:
    status, html = _page(client, seeded, "/ui/settings", Role.ADMIN)
    assert status == 200
    assert "tesoro.toml" in html and "[[products]]" in html
    assert "zapatilla cumbre" in html and f'href="{SHOP_URL}"' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "cumbre OR &#34;trail runner&#34;" in html or "cumbre OR &quot;trail runner&quot;" in html
    assert "andes-mastodon" in html and 'href="/ui/sources"' in html
    assert 'id="preview-query"' in html
    _, html = _page(client, seeded, "/ui/settings", Role.ADMIN, lang="es")
    assert ">Consultas de escucha</h2>" in html and ">Archivo de configuración:</span>" in html


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.VIEWER])
def test_the_settings_page_tells_a_non_admin_it_is_not_for_them(
    client: TestClient, seeded: Seeded, role: Role
) -> None:
    status, html = _page(client, seeded, "/ui/settings", role)
    assert status == 403
    assert "<p>Your key&#39;s role cannot open this page.</p>" in html
    assert "tesoro.toml" not in html and "preview-query" not in html
    status, html = _page(client, seeded, "/ui/settings", role, lang="es")
    assert status == 403 and "<p>El rol de tu clave no puede abrir esta página.</p>" in html


def test_the_alerts_page_pages_through_a_long_log(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine
) -> None:
    with session_scope(sqlite_engine) as session:
        for n in range(50):
            record_delivery(
                session,
                rule="mentions",
                channel="slack:#social",
                kind="alert",
                status="delivered",
                alert_ids=[],
                at=BASE_TIME + timedelta(minutes=n),
            )
    _, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, rule="mentions")
    assert html.count('class="delivery"') == 50
    assert 'class="pager"' not in html  # exactly one page: no "older"
    _, html = _page(client, seeded, "/ui/alerts", Role.VIEWER)
    assert html.count('class="delivery"') == 50 and 'class="pager"' in html
    assert (
        '<a href="/ui/alerts?offset=50">Older deliveries</a>' in html and ">Newer deliveries</a>" not in html
    )
    _, html = _page(client, seeded, "/ui/alerts", Role.VIEWER, offset="50")
    assert html.count('class="delivery"') == 5
    assert '<a href="/ui/alerts?">Newer deliveries</a>' in html and ">Older deliveries</a>" not in html
    # The rule filter offers every rule the log names, "test" (a test without a rule) included.
    assert '<option value="test">test</option>' in html


def test_every_rule_kind_and_delivery_status_has_words_in_both_languages() -> None:
    for lang in ("en", "es"):
        words = MESSAGES[lang]
        assert {f"alerts.kinds.{kind}" for kind in get_args(AlertKind)} <= words.keys()
        assert {f"alerts.status.{status}" for status in DELIVERY_STATUSES} <= words.keys()
        assert {f"alerts.kind.{kind}" for kind in ("alert", "digest", "test")} <= words.keys()
