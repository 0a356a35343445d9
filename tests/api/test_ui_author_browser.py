"""The author page and the dashboard's KPIs in chromium: what a person reads there.

Named measures in the reader's language (no field names), dates and numbers in the locale, y-axis
ticks that differ, charts as wide as their box (and redrawn when it changes), a one-point history as
a value, advocates' full handles linked to their pages, axe-clean pages at a desktop and a phone width.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlmodel import col, select

from tesoro.api.i18n import MESSAGES
from tesoro.insights import service
from tesoro.models import NormalizedAuthor, NormalizedPost, Platform
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.posts import upsert_posts
from tesoro.store.tables import Post
from worlds.api import HOSTILE_IMG, make_settings
from worlds.browser import Site, axe, login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP_SIZE = {"width": 1366, "height": 768}
# What the old pages showed: JSON field names as labels, ISO dates on axes.
RAW = re.compile(
    r"author_id|events_total|sentiment_trend|trend_window|months_active|potential_reach|unique_authors"
    r"|\bscore\b|\bterms\b|\bvolume ·|\d{4}-\d{2}-\d{2}|\d{4}-\d{2}\b"
)


@pytest.fixture(scope="module", autouse=True)
def world(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The seeded site plus a newcomer who posted an hour ago (a one-point ROR history), and the
    stored ROR leaderboard computed once (the dashboard lists it)."""
    now = datetime.now(UTC)
    newcomer = NormalizedAuthor(
        platform=Platform.BLUESKY,
        external_id="bsky-newcomer",
        handle="newcomer.with.a.rather.long.handle.bsky.social",
        display_name="Nuria Nueva",
        followers=321,
    )
    post = NormalizedPost(
        platform=Platform.BLUESKY,
        external_id="newcomer-1",
        text="Primera salida con las Cumbre, ¡qué agarre!",
        created_at=now - timedelta(hours=1),
        author=newcomer,
        lang="es",
    )
    with session_scope(site.engine) as session:
        upsert_posts(session, [post], brand_id=site.seeded.brands["Andes Outdoor"])
    settings = make_settings(tmp_path_factory.mktemp("ror"))
    for brand in (None, "Andes Outdoor"):  # the dashboard shows all brands first
        service.refresh_ror(site.engine, settings, brand_name=brand)
    yield


def _author_of(site: Site, external_id: str) -> int:
    with session_scope(site.engine) as session:
        row = session.exec(select(Post).where(col(Post.external_id) == external_id)).one()
        return int(row.author_id)


def _ticks(page: Any, chart: str, axis: str) -> list[str]:
    texts = page.locator(f"{chart} svg text.tick-{axis}").all_text_contents()
    return [t.replace("\xa0", " ").strip() for t in texts]


def _width_ratio(page: Any, chart: str) -> float:
    """The chart's drawn width over its box's width (1.0: drawn at the box's width)."""
    return float(
        page.eval_on_selector(
            chart, "box => box.querySelector('svg').getBoundingClientRect().width / box.clientWidth"
        )
    )


def _no_overflow(page: Any) -> None:
    """Nothing wider than the window: the page never scrolls sideways (what does is named)."""
    wide = page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth ? [] :"
        " [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)"
    )
    assert wide == [], wide


def _serious(page: Any) -> list[dict[str, Any]]:
    return [v for v in axe(page, {"exclude": []}) if v["impact"] in ("serious", "critical")]


def test_the_author_page_reads_as_measures_in_spanish(page: Any, site: Site) -> None:
    login(page, site, Role.VIEWER)
    page.goto(f"{site.tesoro.url}/ui/authors/{_author_of(site, 'gal-photo')}?lang=es")
    page.locator(".ror-part").first.wait_for()
    es = MESSAGES["es"]
    names = page.locator(".ror-part dt").all_inner_texts()
    assert names == [es[f"ror.part.{p}"] for p in ("events", "loyalty", "advocacy", "sentiment_trend")]
    helps = page.locator(".ror-part .help").all_inner_texts()
    assert all(h.strip() for h in helps) and "90 días" in helps[0]  # the half-life, from the settings
    assert page.locator("#ror-title").inner_text() == "Retorno de la relación (ROR)"
    # What counted, in words: "Menciones", "Derechos cedidos"..., never "rights_granted".
    kinds = page.locator("#ror-kinds tbody th").all_inner_texts()
    assert es["event.rights_granted"] in kinds and es["event.mention"] in kinds
    main = page.locator("main").inner_text()
    assert not RAW.search(main), RAW.search(main)
    # The score in Spanish digits (a decimal comma), and the history over months named in Spanish.
    assert re.fullmatch(r"\d+,\d", page.locator(".ror-score").inner_text().strip())
    page.locator("#ror-chart svg").wait_for()
    months = _ticks(page, "#ror-chart", "x")
    assert months and all(re.fullmatch(r"[a-z]{3,4}\.? \d{4}", m) for m in months), months
    ys = _ticks(page, "#ror-chart", "y")
    assert len(ys) >= 3 and len(set(ys)) == len(ys), ys
    assert 0.97 <= _width_ratio(page, "#ror-chart") <= 1.01
    # The handle links to the profile, whole; the month bars are named in Spanish too.
    handle = page.locator(".author-head a.handle")
    assert handle.inner_text() == "@ana" and handle.get_attribute("href") == "https://x.com/ana"
    assert _ticks(page, "#activity-chart", "x") == ["nov 2026"]
    ys = _ticks(page, "#activity-chart", "y")
    assert ys[0] == "0" and len(set(ys)) == len(ys), ys
    assert page.dialogs == [] and page.csp_errors == []


def test_a_one_point_history_is_a_value_not_a_lone_dot(page: Any, site: Site) -> None:
    login(page, site, Role.VIEWER)
    page.goto(f"{site.tesoro.url}/ui/authors/{_author_of(site, 'newcomer-1')}")
    single = page.locator("#ror-chart .single-value")
    single.wait_for()
    assert page.locator("#ror-chart svg").count() == 0
    assert re.fullmatch(r"\d+\.\d", single.locator(".value").inner_text())
    assert (
        single.get_by_text(re.compile(r"^Only one point so far: [A-Z][a-z]{2} \d{1,2}, \d{4}\.$")).count()
        == 1
    )
    # The full handle, however long, is on the page and wraps instead of being cut.
    handle = page.locator(".author-head .handle")
    assert handle.inner_text() == "@newcomer.with.a.rather.long.handle.bsky.social"
    page.set_viewport_size(PHONE)
    assert handle.evaluate("h => h.scrollWidth <= h.clientWidth + 1")
    _no_overflow(page)


def test_charts_follow_their_box_when_the_window_changes(page: Any, site: Site) -> None:
    login(page, site, Role.VIEWER)
    page.set_viewport_size(DESKTOP_SIZE)
    page.goto(f"{site.tesoro.url}/ui/authors/{_author_of(site, 'gal-photo')}")
    page.locator("#ror-chart svg").wait_for()
    wide = page.eval_on_selector("#ror-chart svg", "s => s.getBoundingClientRect().width")
    page.set_viewport_size({"width": 800, "height": 768})
    page.wait_for_function(
        "w => Math.abs(document.querySelector('#ror-chart svg').getAttribute('width') - w) > 50", arg=wide
    )
    assert 0.97 <= _width_ratio(page, "#ror-chart") <= 1.01
    # Its text stays at its real size: the viewBox is the drawn size, nothing is scaled down.
    box = page.eval_on_selector(
        "#ror-chart svg", "s => [s.viewBox.baseVal.width, s.getBoundingClientRect().width]"
    )
    assert abs(box[0] - box[1]) <= 2, box


def test_dashboard_kpis_in_spanish_with_linked_advocates(page: Any, site: Site) -> None:
    login(page, site, Role.VIEWER)
    page.goto(f"{site.tesoro.url}/ui/dashboard?lang=es")
    page.select_option("#kpi-filters select[name=brand]", "Andes Outdoor")
    page.select_option("#kpi-filters select[name=since]", "1y")
    page.locator(".measure[data-kpi=mentions] .value").filter(has_text=re.compile(r"^1\d$")).wait_for()
    es = MESSAGES["es"]
    names = page.locator(".measure dt").all_inner_texts()
    assert names[:5] == [
        es[f"kpi.{k}"]
        for k in ("mentions", "unique_authors", "potential_reach", "interactions", "net_sentiment")
    ]
    assert all(h.strip() for h in page.locator(".measure .help").all_inner_texts())
    # The period in Spanish dates ("del 7 dic 2025 al 7 dic 2026"), never ISO.
    period = page.locator("#kpi-window").inner_text()
    assert period.startswith("Del ") and not re.search(r"\d{4}-\d{2}", period), period
    # Mentions per week: ticks in Spanish months, y ticks all different, the chart as wide as its box.
    page.locator("#mentions-chart svg").wait_for()
    assert page.locator("#mentions-title").inner_text() == es["kpi.mentions_chart.week"]
    for chart in ("#mentions-chart", "#sentiment-chart"):
        ys = _ticks(page, chart, "y")
        assert len(ys) >= 3 and len(set(ys)) == len(ys), (chart, ys)
        xs = _ticks(page, chart, "x")
        assert xs and all(re.fullmatch(r"\d{1,2} [a-z]{3,4}\.?", x) for x in xs), (chart, xs)
        assert 0.97 <= _width_ratio(page, chart) <= 1.01, chart
    assert _ticks(page, "#sentiment-chart", "y")[0] == "-100 %"
    # The advocates: every handle whole and linked to its author page, the hostile name as text.
    rows = page.locator("#leaderboard tbody tr")
    rows.first.wait_for()
    for n in range(rows.count()):
        row = rows.nth(n)
        link = row.locator("a.handle")
        href = urlsplit(link.get_attribute("href") or "")
        assert href.netloc == urlsplit(site.tesoro.url).netloc
        assert href.path == f"/ui/authors/{row.get_attribute('data-author-id')}"
        assert link.inner_text().startswith("@") and link.get_attribute("title") == link.inner_text()
    assert page.locator("#roe").inner_text() == es["kpi.roe_none"]  # no effort declared in this world
    assert page.locator("#leaderboard").get_by_text(HOSTILE_IMG).count() == 1
    assert page.locator("#leaderboard img").count() == 0
    main = page.locator("main").inner_text()
    assert not RAW.search(main), RAW.search(main)
    # Following a handle opens that author's page.
    page.locator("#leaderboard a.handle", has_text="@bea").click()
    page.wait_for_url(re.compile(r"/ui/authors/\d+"))
    assert page.locator("h1").inner_text() == "Bea"
    assert page.dialogs == [] and page.csp_errors == []


def test_a_kpi_answer_that_fails_says_so_and_the_rest_still_loads(page: Any, site: Site) -> None:
    login(page, site, Role.VIEWER)
    page.route("**/api/kpis?*", lambda route: route.fulfill(status=500, body="{}"))
    page.goto(f"{site.tesoro.url}/ui/dashboard")
    page.locator("#kpis .load-failed").wait_for()
    assert page.locator("#mentions-chart .load-failed").count() == 1
    page.locator("#leaderboard tbody tr").first.wait_for()  # the leaderboard has its own answer
    assert page.locator("#state-chart svg").count() == 1


@pytest.mark.parametrize("lang", ["en", "es"])
def test_author_and_dashboard_are_accessible_at_desktop_and_phone_widths(
    browser: Any, site: Site, lang: str
) -> None:
    context = browser.new_context(bypass_csp=True)  # only so that axe can be injected
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, site, Role.COORDINATOR)
    for size in (DESKTOP_SIZE, PHONE):
        page.set_viewport_size(size)
        page.goto(f"{site.tesoro.url}/ui/authors/{_author_of(site, 'gal-photo')}?lang={lang}")
        page.locator("#ror-chart svg").wait_for()
        assert _serious(page) == [], (lang, size)
        _no_overflow(page)
        page.goto(f"{site.tesoro.url}/ui/dashboard?lang={lang}")
        page.locator("#kpis .measure").first.wait_for()
        page.locator("#leaderboard > *").first.wait_for()
        assert _serious(page) == [], (lang, size)
        _no_overflow(page)
    context.close()


def test_the_kpi_period_is_chosen_with_the_keyboard(page: Any, site: Site) -> None:
    login(page, site, Role.VIEWER)
    page.goto(f"{site.tesoro.url}/ui/dashboard")
    page.locator("#kpis .measure").first.wait_for()
    before = page.locator("#kpi-window").inner_text()
    page.focus("#kpi-filters select[name=since]")
    page.keyboard.press("End")  # the last option: the last 12 months
    page.locator("#kpi-window").filter(has_not_text=before).wait_for()
    assert page.locator("#kpi-filters select[name=since]").input_value() == "1y"
    mentions = page.locator(".measure[data-kpi=mentions] .value").inner_text()
    assert int(mentions.replace(",", "")) > 0


def test_a_narrow_history_gets_distinct_ticks_in_the_readers_digits(page: Any, site: Site) -> None:
    """The issue's case: scores between 55 and 57 labelled "57, 57, 56, 56, 55"; drawn by the page's own
    chart code into a box on the page."""
    login(page, site, Role.VIEWER)
    page.goto(f"{site.tesoro.url}/ui/authors/{_author_of(site, 'gal-photo')}?lang=es")
    page.locator("#ror-chart svg").wait_for()
    page.evaluate(
        """() => {
          const box = document.createElement("div");
          box.id = "narrow";
          document.querySelector("main").appendChild(box);
          window.TesoroCharts.line(box, [{name: "ROR", points: [
            {x: "2026-09-30T23:59:59Z", y: 55.3}, {x: "2026-10-31T23:59:59Z", y: 56.1},
            {x: "2026-11-30T23:59:59Z", y: 56.8}, {x: "2026-12-07T12:00:00Z", y: 57.0}]}],
            {bucket: "month", digits: 1, zero: false});
        }"""
    )
    ys = _ticks(page, "#narrow", "y")
    assert len(ys) >= 3 and len(set(ys)) == len(ys), ys
    assert all(re.fullmatch(r"\d{2},\d", y) for y in ys), ys  # a decimal comma in Spanish
    months = _ticks(page, "#narrow", "x")
    assert re.fullmatch(r"sept?\.? 2026", months[0]) and months[1] == "oct 2026", months


def test_a_period_without_mentions_says_so_and_a_resize_keeps_it_that_way(page: Any, site: Site) -> None:
    login(page, site, Role.VIEWER)
    page.set_viewport_size(DESKTOP_SIZE)
    page.goto(f"{site.tesoro.url}/ui/dashboard")
    page.select_option("#kpi-filters select[name=brand]", "Other Brand")
    page.select_option("#kpi-filters select[name=since]", "1y")
    page.locator("#mentions-chart svg").wait_for()
    page.select_option("#kpi-filters select[name=since]", "7d")
    page.locator("#mentions-chart .no-data").wait_for()
    page.set_viewport_size({"width": 900, "height": 768})  # the old chart must not come back
    page.wait_for_timeout(300)
    assert page.locator("#mentions-chart svg").count() == 0
    assert page.locator("#mentions-chart").inner_text() == MESSAGES["en"]["common.no_data"]
    assert page.locator(".measure[data-kpi=mentions] .value").inner_text() == "0"


def test_an_author_page_whose_ror_fails_says_so_and_shows_the_rest(page: Any, site: Site) -> None:
    login(page, site, Role.VIEWER)
    page.route(re.compile(r".*/api/authors/\d+/ror\b.*"), lambda route: route.fulfill(status=503, body="{}"))
    page.goto(f"{site.tesoro.url}/ui/authors/{_author_of(site, 'gal-photo')}")
    page.locator("#ror-summary .load-failed").wait_for()
    assert page.locator("#ror-chart .load-failed").inner_text() == MESSAGES["en"]["common.load_failed"]
    assert page.locator("#activity-chart svg rect").count() >= 1  # posts per month come with the page
    assert page.locator(".post-list li").count() >= 1


def test_roe_efforts_are_named_as_people_name_them(page: Any, site: Site) -> None:
    """Targets read "Andes Outdoor", "#cumbre", "Consulta de escucha «andes»" (the API says brand:...,
    query:...), each trend names its unit, and a missing ratio is a dash."""
    effort = {
        "start": "2026-10-01",
        "end": "2026-10-31",
        "earned": {"posts_about": 40, "interactions": 900, "ugc": 6, "reach": 50000, "total": 1050.0},
        "effort": {"posts": 8, "hours": 12.0, "spend": None},
        "roe": {"per_post": 131.25, "per_hour": 87.5, "per_spend": None},
        "trend": {"per_post": 0.12, "per_hour": -0.5, "per_spend": None},
    }
    body = {
        "ugc_value": 25.0,
        "reach_value": 0.0,
        "items": [
            {**effort, "target": "brand:Andes Outdoor"},
            {**effort, "target": "#cumbre"},
            {**effort, "target": "query:andes"},
        ],
    }
    login(page, site, Role.VIEWER)
    page.route("**/api/roe*", lambda route: route.fulfill(status=200, json=body))
    page.goto(f"{site.tesoro.url}/ui/dashboard?lang=es")
    rows = page.locator("#roe tbody tr")
    rows.first.wait_for()
    assert page.locator("#roe tbody th").all_inner_texts() == [
        "Andes Outdoor",
        "#cumbre",
        "Consulta de escucha «andes»",
    ]
    cells = [c.replace("\xa0", " ") for c in rows.first.locator("td").all_inner_texts()]
    assert cells[0] == "1 oct 2026 \u2013 31 oct 2026"
    assert cells[1:5] == ["1.050", "131,3", "87,5", "\u2013"]  # no spend declared: a dash
    assert cells[5] == "+12 % por publicación · -50 % por hora"
    assert "25" in page.locator("#roe-help").inner_text()
