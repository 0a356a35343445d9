"""The alerts page and the admins' settings page in a real browser (Debian's chromium through Playwright).

The site here is the API world with listening queries, a source, alert rules and a delivery log
(`worlds.admin`); each test asserts what a person sees, in English and Spanish, at a laptop's size
and a phone's, with the keyboard, and with axe-core.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tesoro.api.app import create_app
from tesoro.settings import AlertRuleSettings
from tesoro.store.alerts import create_rule, delete_rule, get_rule
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.keys import Role
from worlds.admin import admin_settings, seed_alerts
from worlds.api import BASE_TIME, HOSTILE_IMG, rank, seed
from worlds.browser import Server, Site, axe, free_port, login, shop_app

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("admin-browser")
    engine = make_engine(f"sqlite:///{shutil.copyfile(sqlite_template, tmp / 'tesoro.db')}")
    shop_port = free_port()
    settings = admin_settings(tmp, allowed_origins=[f"http://127.0.0.1:{shop_port}"])
    seeded = seed(engine, settings)
    rank(engine, settings, seeded)
    seed_alerts(engine, settings)
    app = create_app(settings, engine)
    with Server(app) as tesoro, Server(shop_app(tesoro.url), port=shop_port) as shop:
        yield Site(tesoro, shop, seeded, engine)
    engine.dispose()


def _serious(page: Any) -> list[dict[str, Any]]:
    return [v for v in axe(page, {"exclude": []}) if v["impact"] in ("serious", "critical")]


def _open_a_message(page: Any) -> None:
    page.locator("li.delivery summary").first.click()
    page.locator("li.delivery .slack-message").first.wait_for()


def _preview_a_query(page: Any) -> None:
    page.locator("#preview-query").fill("cumbre")
    page.locator("#preview-result li.post").first.wait_for()


def _preview_a_bad_query(page: Any) -> None:
    page.locator("#preview-query").fill("(cumbre")
    page.locator("#preview-result mark").wait_for()


def _fits(page: Any) -> bool:
    """No horizontal scrolling: nothing wider than the viewport."""
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"))


def _rule_enabled(site: Site, name: str) -> bool:
    with session_scope(site.engine) as session:
        row = get_rule(session, name)
        assert row is not None
        return row.enabled


def test_a_viewer_reads_the_delivery_log_and_a_hostile_message_as_plain_text(page: Any, site: Site) -> None:
    page.set_viewport_size(LAPTOP)
    login(page, site, Role.VIEWER)
    page.get_by_role("link", name="Alerts").click()
    page.wait_for_url(f"{site.tesoro.url}/ui/alerts")
    assert page.get_by_role("heading", name="Delivery log").is_visible()
    deliveries = page.locator("li.delivery")
    assert deliveries.count() == 5
    failed = page.locator("li.delivery[data-status=failed]")
    assert failed.locator(".badge").inner_text() == "Failed"
    assert "HTTP 500 from https://bot:***@hooks.example/services" in failed.inner_text()
    assert failed.locator(".retries").inner_text() == "2"
    assert failed.locator(".carried").inner_text() == "1 alert"  # the plural rule: not "1 alerts"
    # The hostile alert's message, opened with the keyboard.
    hostile = deliveries.filter(has=page.locator(".badge", has_text="Delivered")).nth(1)
    hostile.locator("summary").focus()
    page.keyboard.press("Enter")
    message = hostile.locator(".slack-message")
    message.wait_for()
    assert message.locator(".msg-header").inner_text() == "Negative post by an influencer"
    quote = message.locator("blockquote.msg-quote").inner_text()
    assert "<!channel>" in quote and HOSTILE_IMG in quote and "<script>alert(1)</script>" in quote
    assert message.locator("img, script").count() == 0 and page.dialogs == []
    hrefs = [a.get_attribute("href") or "" for a in message.locator("a").all()]
    assert hrefs and all(h.startswith(("https://x.com/", "http://127.0.0.1:8000/")) for h in hrefs)
    assert message.get_by_role("link", name="Open post").is_visible()
    assert "Notification line" in hostile.locator(".msg-fallback").inner_text()
    # The rules are there, read-only.
    assert page.locator("li.rule").count() == 2
    assert page.locator("button.rule-toggle").count() == 0
    assert page.get_by_text("Only an admin can turn rules on or off.").is_visible()
    assert page.get_by_role("link", name="Settings").count() == 0  # not in a viewer's navigation
    assert page.csp_errors == []


def test_the_alerts_page_in_spanish_filters_and_at_a_phone_width(page: Any, site: Site) -> None:
    page.set_viewport_size(PHONE)
    login(page, site, Role.VIEWER)
    page.goto(f"{site.tesoro.url}/ui/alerts?lang=es")
    assert page.get_by_role("heading", name="Registro de envíos").is_visible()
    assert page.get_by_role("link", name="Alertas").get_attribute("aria-current") == "page"
    page.get_by_label("Estado").select_option("failed")
    page.get_by_role("button", name="Aplicar").click()
    page.wait_for_url("**status=failed**")
    assert page.locator("li.delivery").count() == 1
    assert page.locator("li.delivery .badge").inner_text() == "Fallido"
    assert page.locator("li.delivery .carried").inner_text() == "1 alerta"
    page.locator("li.delivery summary").click()
    page.locator("li.delivery .slack-message").wait_for()
    assert page.get_by_text("Texto de la notificación").is_visible()
    assert _fits(page)
    page.goto(f"{site.tesoro.url}/ui/alerts?from=ayer&to=2026-11-01")
    assert "El día de inicio no es una fecha" in page.get_by_role("alert").inner_text()
    assert page.locator("li.delivery").count() == 5  # the day that is a date still filters (to Nov 1)
    assert _fits(page)


def test_an_admin_turns_a_rule_off_and_on_with_the_keyboard(page: Any, site: Site) -> None:
    page.set_viewport_size(LAPTOP)
    login(page, site, Role.ADMIN)
    page.goto(f"{site.tesoro.url}/ui/alerts")
    rule = page.locator("li.rule[data-rule=vip]")
    button = rule.get_by_role("button", name="Turn off rule vip")
    button.focus()
    page.keyboard.press("Enter")
    rule.get_by_role("button", name="Turn on rule vip").wait_for()
    assert rule.locator("[data-role=state]").inner_text() == "Off"
    assert page.locator("#toast").inner_text() == "Rule vip is off."
    assert _rule_enabled(site, "vip") is False
    page.keyboard.press("Enter")  # the focus stayed on the button
    rule.get_by_role("button", name="Turn off rule vip").wait_for()
    assert rule.locator("[data-role=state]").inner_text() == "On"
    assert _rule_enabled(site, "vip") is True
    assert page.csp_errors == []


def test_an_admin_tries_listening_queries_live(page: Any, site: Site) -> None:
    page.set_viewport_size(LAPTOP)
    login(page, site, Role.ADMIN)
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url(f"{site.tesoro.url}/ui/settings")
    assert page.locator("#config-file").inner_text().endswith("tesoro.toml")
    products = page.locator("#products")
    assert "zapatilla cumbre" in products.inner_text()
    assert products.get_by_role("link", name="https://shop.example.com/cumbre").is_visible()
    assert "<script>alert(1)</script>" in products.inner_text()  # a hostile description, as text
    assert page.get_by_text('In the file: [[products]] with name = "Cumbre Trail Runner"').is_visible()
    assert page.locator("#sources").get_by_role("heading", name="andes-mastodon").is_visible()
    result = page.locator("#preview-result")
    page.get_by_label("Listening query").fill("cumbre")
    result.get_by_text("Matches 3 of the latest 12 stored posts.").wait_for()
    assert result.locator("li.post").count() == 3
    assert HOSTILE_IMG in result.inner_text() and result.locator("img, script").count() == 0
    assert page.dialogs == []
    page.get_by_label("Listening query").fill("(cumbre OR nube")
    error = result.get_by_role("alert")
    error.wait_for()
    assert error.inner_text().startswith("This query cannot be read:")
    assert error.locator("mark").count() == 1
    page.get_by_label("Listening query").fill("zzzz")
    result.get_by_text("No stored post matches this query.").wait_for()
    page.get_by_role("button", name="Try it: query andes-cumbre").focus()
    page.keyboard.press("Enter")
    assert page.get_by_label("Listening query").input_value() == 'cumbre OR "trail runner"'
    result.get_by_text("Matches 3 of the latest 12 stored posts.").wait_for()
    page.get_by_label("Try it on the latest").select_option("100")
    assert page.csp_errors == []


def test_the_settings_page_in_spanish_at_a_phone_width(page: Any, site: Site) -> None:
    page.set_viewport_size(PHONE)
    login(page, site, Role.ADMIN)
    page.goto(f"{site.tesoro.url}/ui/settings?lang=es")
    assert page.get_by_role("heading", name="Consultas de escucha").is_visible()
    page.get_by_label("Consulta de escucha").fill("platforms")
    page.locator("#preview-result").get_by_text(
        "Coinciden 2 de las últimas 12 publicaciones guardadas."
    ).wait_for()
    page.get_by_label("Consulta de escucha").fill('"sin cerrar')
    assert (
        "No se puede leer esta consulta" in page.locator("#preview-result").get_by_role("alert").inner_text()
    )
    assert _fits(page)


def test_a_coordinator_is_told_the_settings_page_is_not_for_them(page: Any, site: Site) -> None:
    page.set_viewport_size(LAPTOP)
    login(page, site, Role.COORDINATOR)
    assert page.get_by_role("link", name="Settings").count() == 0
    assert page.get_by_role("link", name="Alerts").is_visible()
    response = page.goto(f"{site.tesoro.url}/ui/settings")
    assert response is not None and response.status == 403
    assert page.get_by_text("Your key's role cannot open this page.").is_visible()
    assert page.locator("#preview-query").count() == 0
    page.goto(f"{site.tesoro.url}/ui/settings?lang=es")
    assert page.get_by_text("El rol de tu clave no puede abrir esta página.").is_visible()


@pytest.mark.parametrize(
    ("role", "path", "lang", "viewport", "action"),
    [
        (Role.ADMIN, "/ui/alerts", "en", LAPTOP, _open_a_message),
        (Role.VIEWER, "/ui/alerts", "es", PHONE, _open_a_message),
        (Role.ADMIN, "/ui/settings", "en", PHONE, _preview_a_query),
        (Role.ADMIN, "/ui/settings", "es", LAPTOP, _preview_a_bad_query),
        (Role.COORDINATOR, "/ui/settings", "en", PHONE, None),
    ],
    ids=[
        "alerts-en-laptop",
        "alerts-es-phone",
        "settings-en-phone",
        "settings-es-laptop",
        "forbidden-en-phone",
    ],
)
def test_the_pages_pass_axe_and_fit_the_screen(
    browser: Any, site: Site, role: Role, path: str, lang: str, viewport: dict[str, int], action: Any
) -> None:
    context = browser.new_context(
        locale="en-US", viewport=viewport, bypass_csp=True
    )  # only so axe can be injected
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        login(page, site, role)
        page.goto(f"{site.tesoro.url}{path}?lang={lang}")
        if action is not None:
            action(page)
        assert _serious(page) == []
        assert _fits(page)
    finally:
        context.close()


def test_what_goes_wrong_is_said_where_it_happened(page: Any, site: Site) -> None:
    """A refused rule change, a message that cannot be loaded, a preview that fails: each says why."""
    with session_scope(site.engine) as session:  # an API rule whose brand has since left the file
        create_rule(
            session, AlertRuleSettings(name="gone", kind="new_mention", brand="Gone Brand"), now=BASE_TIME
        )
    try:
        page.set_viewport_size(LAPTOP)
        login(page, site, Role.ADMIN)
        page.goto(f"{site.tesoro.url}/ui/alerts")
        rule = page.locator("li.rule[data-rule=gone]")
        rule.get_by_role("button", name="Turn off rule gone").click()
        error = rule.get_by_role("alert")
        error.filter(has_text="could not be changed").wait_for()
        assert error.inner_text() == "Rule gone could not be changed: unknown brand 'Gone Brand'"
        assert rule.locator("[data-role=state]").inner_text() == "On" and _rule_enabled(site, "gone") is True
        page.route("**/message", lambda route: route.fulfill(status=500, json={"detail": "database is down"}))
        first = page.locator("li.delivery").first
        first.locator("summary").click()
        failed = first.get_by_role("alert")
        failed.wait_for()
        assert failed.inner_text() == "The message could not be loaded: database is down"
        page.unroute("**/message")
        first.locator("summary").click()  # closed, and opened again: it tries again
        first.locator("summary").click()
        first.locator(".slack-message").wait_for()
        page.goto(f"{site.tesoro.url}/ui/settings")
        page.route("**/api/queries/preview", lambda route: route.fulfill(status=500, json={"detail": "boom"}))
        page.get_by_label("Listening query").fill("cumbre")
        alert = page.locator("#preview-result").get_by_role("alert")
        alert.wait_for()
        assert alert.inner_text() == "The preview failed: boom"
    finally:
        with session_scope(site.engine) as session:
            row = get_rule(session, "gone")
            if row is not None:
                delete_rule(session, row)
