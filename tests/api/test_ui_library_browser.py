"""The library page in a real browser: words and meaning, sort, dates, pages, the URL, links, languages.

The module's site gets a fuller shelf than the shared world (`SHELF` more approved posts over
five weeks, with growing engagement) so that paging, the date range and the engagement sort
have something to show; the two copies of the world's duplicate group are approved too.
"""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import col, update

from tesoro.curator.ranking import rank_posts
from tesoro.models import NormalizedAuthor, NormalizedPost, Platform
from tesoro.settings import CuratorSettings
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.posts import upsert_posts
from tesoro.store.scores import save_scores
from tesoro.store.tables import Post
from worlds.api import BASE_TIME
from worlds.browser import Site, axe, login
from worlds.common import SENTIMENT_PROBS, post_id

pytestmark = pytest.mark.browser

SHELF = 26  # with the world's library (4) and its duplicate group (2): 32 posts, two pages of 24
# Words for the shelf's posts, ten of them each at random, so no two posts look like copies.
WORDS = [
    "rain",
    "storm",
    "ridge",
    "summit",
    "valley",
    "river",
    "glacier",
    "forest",
    "desert",
    "canyon",
    "dawn",
    "dusk",
    "night",
    "fog",
    "wind",
    "snow",
    "hail",
    "mud",
    "rock",
    "sand",
    "camp",
    "tent",
    "stove",
    "map",
    "compass",
    "rope",
    "boots",
    "gloves",
    "hood",
    "zipper",
    "pocket",
    "seam",
    "cuff",
    "collar",
    "lining",
    "weight",
    "colour",
    "orange",
    "blue",
    "green",
    "grey",
    "black",
    "fit",
    "size",
    "warm",
    "dry",
    "light",
    "loud",
    "quiet",
]


@pytest.fixture(scope="module")
def shelf(site: Site) -> Site:
    """`SHELF` approved, ranked posts, one a day back from BASE_TIME, engagement growing with age."""
    ids: list[int] = []
    with session_scope(site.engine) as session:
        brand = site.seeded.brands["Andes Outdoor"]
        posts = [
            NormalizedPost(
                platform=Platform.MASTODON,
                external_id=f"shelf-{n}",
                text=f"Shelf post {n}: the Nube jacket, " + " ".join(random.Random(n).sample(WORDS, 10)),
                created_at=BASE_TIME - timedelta(days=n + 1),
                author=NormalizedAuthor(Platform.MASTODON, "m-rosa", "rosa", display_name="Rosa"),
                url=f"https://mastodon.social/@rosa/{n}",
                lang="es" if n % 2 else "en",
            )
            for n in range(SHELF)
        ]
        upsert_posts(session, posts, brand_id=brand)
        ids = [post_id(session, platform="mastodon", external_id=p.external_id) for p in posts]
        save_scores(
            session,
            [
                {
                    "post_id": pid,
                    "model_version": "shelf-1",
                    "sentiment": "positive",
                    "sentiment_probs": dict(SENTIMENT_PROBS["positive"]),
                    "relevance": 0.7,
                    "product_id": None,
                    "product_confidence": None,
                    "content_types": [],
                    "language": "es" if n % 2 else "en",
                    "safety": {"profanity": 0.0, "offensive": 0.0, "hate": 0.0, "adult": 0.0},
                    "spam": 0.0,
                    "engagement_rate": None,
                    "engagement_vs_median": 0.5 + n,  # the oldest engages most
                    "embedding": None,
                    "scored_at": BASE_TIME,
                }
                for n, pid in enumerate(ids)
            ],
        )
    rank_posts(site.engine, CuratorSettings())
    wanted = [*ids, site.seeded.posts["dup-x"], site.seeded.posts["dup-bsky"]]
    with session_scope(site.engine) as session:
        session.exec(
            update(Post).where(col(Post.id).in_(wanted)).values(queue_state="approved", updated_at=BASE_TIME)
        )  # type: ignore[call-overload]
    return site


def _query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def _count(page: Any, text: str) -> None:
    page.locator("#result-count").filter(has_text=re.compile(f"^{re.escape(text)}$")).wait_for()


def _serious(page: Any) -> list[dict[str, Any]]:
    return [v for v in axe(page, {"exclude": []}) if v["impact"] in ("serious", "critical")]


def test_sort_dates_and_pages_are_kept_in_the_url(page: Any, shelf: Site) -> None:
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library")
    _count(page, "32 posts")
    assert page.locator("#page-info").inner_text() == "Page 1 of 2"
    assert page.locator("#sort").input_value() == "treasure"
    assert page.locator("#results article.card").count() == 24
    # Sort by engagement with the keyboard: the oldest shelf post engages most.
    page.locator("#sort").focus()
    page.locator("#sort").select_option("engagement")
    page.wait_for_url("**sort=engagement**")
    first = page.locator("#results article.card").first
    first.filter(has_text=f"Shelf post {SHELF - 1}:").wait_for()
    # The next page, by keyboard: the count takes the focus, the URL holds the offset.
    page.locator("#next").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**offset=24**")
    page.locator("#page-info").filter(has_text="Page 2 of 2").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "result-count"
    assert page.locator("#results article.card").count() == 8
    assert page.locator("#next").is_disabled() and not page.locator("#prev").is_disabled()
    # A date range: ten days of shelf posts, the range shown as the reader writes dates.
    page.fill("#date-from", "2026-10-20")
    page.fill("#date-to", "2026-10-29")  # filling fires the change that applies it
    page.wait_for_url("**date_to=2026-10-29**")
    query = _query(page)
    assert query["date_from"] == ["2026-10-20"] and query["sort"] == ["engagement"] and "offset" not in query
    _count(page, "10 posts")
    chips = page.locator("#active-filters li")
    assert chips.nth(0).inner_text().startswith("From Oct 20, 2026")
    assert chips.nth(1).inner_text().startswith("To Oct 29, 2026")
    # Back and forward restore the form and the results from the URL.
    page.go_back()
    page.wait_for_function("() => !location.search.includes('date_to')")
    page.go_back()
    page.wait_for_function("() => location.search.includes('offset=24') && !location.search.includes('date')")
    _count(page, "32 posts")
    assert page.locator("#sort").input_value() == "engagement"
    assert page.locator("#date-from").input_value() == ""
    page.go_forward()
    page.go_forward()
    _count(page, "10 posts")
    assert page.locator("#date-to").input_value() == "2026-10-29"
    # A chip's button removes only its filter.
    page.get_by_role("button", name="Remove filter: From Oct 20, 2026").click()
    page.wait_for_function(
        "() => !location.search.includes('date_from') && location.search.includes('date_to')"
    )
    _count(page, "24 posts")
    assert page.dialogs == [] and page.csp_errors == []


def test_a_shared_link_opens_the_same_search(page: Any, shelf: Site) -> None:
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library?q=nube&sort=date&language=es&offset=0")
    _count(page, "13 posts")
    assert page.locator("#search-q").input_value() == "nube"
    assert page.locator("input[name=mode][value=words]").is_checked()
    assert page.locator("#sort").input_value() == "date"
    assert page.locator("#facets button[aria-pressed=true]").inner_text().startswith("Spanish")
    assert "Shelf post 1:" in page.locator("#results article.card").first.inner_text()
    # Platforms are named as their owners write them, not by the API's lower-case code.
    platforms = page.locator("#facets fieldset.facet", has_text="Platform").locator("button")
    assert platforms.first.inner_text().startswith("Mastodon")


def test_bad_dates_are_said_plainly_and_never_sent(page: Any, shelf: Site) -> None:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/curator/library" in r.url else None)
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library?date_from=2026-02-30")
    page.locator("#form-error").filter(has_text="“2026-02-30” is not a date").wait_for()
    assert sent == []
    page.goto(f"{shelf.tesoro.url}/ui/library")
    _count(page, "32 posts")
    page.fill("#date-from", "2026-10-20")
    page.wait_for_url("**date_from=2026-10-20**")
    page.fill("#date-to", "2026-10-01")
    page.locator("#form-error").filter(has_text="The end date comes before the start date.").wait_for()
    assert "date_to" not in page.url
    # The server says the same to a client that skips the page (a 422 naming the field).
    response = page.request.get(
        f"{shelf.tesoro.url}/api/curator/library?date_from=2026-10-20&date_to=2026-10-01",
        headers=shelf.seeded.headers(Role.COORDINATOR),
    )
    assert response.status == 422 and response.json()["detail"][0]["loc"] == ["query", "date_to"]


def test_a_date_the_server_refuses_is_said_as_a_sentence_not_json(page: Any, shelf: Site) -> None:
    # A real day the page lets through, outside what the server accepts: its 422 names the field.
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library?date_from=1850-01-01")
    alert = page.locator("#results p.error[role=alert]")
    alert.wait_for()
    said = alert.inner_text()
    assert "date_from: must be between 1970-01-01 and 2099-12-31" in said, said
    assert "{" not in said and "[" not in said and "loc" not in said, said


def test_a_query_the_server_cannot_read_shows_its_reason(page: Any, shelf: Site) -> None:
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library?q=%22unbalanced")
    alert = page.locator("#results [role=alert]")
    alert.wait_for()
    assert alert.inner_text().startswith("The search could not be read:")
    assert page.locator("#next").is_disabled() and page.locator("#prev").is_disabled()


def test_search_by_meaning_says_when_the_model_is_still_loading(page: Any, shelf: Site) -> None:
    """The encoder's first load is slow: while a meaning search waits, a note says why; the answer
    then shows as any other. The server's answer is a canned one, as the test's posts have no
    embeddings (and loading the real encoder here would take the machine for a while)."""
    held: list[Any] = []
    page.route(
        lambda url: "/api/curator/library" in url and "meaning=" in url, lambda route: held.append(route)
    )
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library")
    _count(page, "32 posts")
    canned = page.request.get(
        f"{shelf.tesoro.url}/api/curator/library?q=nube&limit=1",
        headers=shelf.seeded.headers(Role.COORDINATOR),
    ).json()
    canned["items"][0]["relevance"] = 0.8123
    canned["total"] = 1
    canned["sort"] = "relevance"
    page.locator("input[name=mode][value=meaning]").check()  # the mode switch, then the words
    assert (
        page.locator("#search-q")
        .get_attribute("placeholder", timeout=1000)
        .startswith("Describe what you look for")
    )
    page.fill("#search-q", "people using the jacket in the rain")
    page.keyboard.press("Enter")
    page.wait_for_url("**meaning=people+using+the+jacket+in+the+rain**")
    warming = page.locator("#warming")
    warming.wait_for(state="visible")
    assert "loads the language model" in warming.inner_text()
    assert len(held) == 1 and "q=" not in held[0].request.url
    held[0].fulfill(status=200, content_type="application/json", body=json.dumps(canned))
    _count(page, "1 post")
    assert warming.is_hidden()
    assert page.locator("#results .similarity").inner_text() == "Similarity 0.81"
    assert (
        page.locator("#active-filters li").first.inner_text().startswith("Meaning: people using the jacket")
    )
    # Back to words: the same text searched as words.
    page.locator("input[name=mode][value=words]").check()
    page.wait_for_url("**q=people+using**")
    assert "meaning" not in _query(page)


def test_meaning_unavailable_is_a_clear_message(page: Any, shelf: Site) -> None:
    page.route(
        lambda url: "/api/curator/library" in url and "meaning=" in url,
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"detail": "the encoder failed to load"}),
        ),
    )
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library?meaning=trail")
    alert = page.locator("#results [role=alert]")
    alert.wait_for()
    assert alert.inner_text() == (
        "Search by meaning is not available right now (the encoder failed to load). "
        "Search by words still works."
    )
    assert page.locator("input[name=mode][value=meaning]").is_checked()


def test_an_empty_library_says_why_and_where_to_go(page: Any, shelf: Site) -> None:
    """A brand that approved nothing yet: the page says the library is empty (not that nothing matches)
    and links the queue; a search that finds nothing still says that nothing matches."""
    empty = {"total": 0, "items": [], "facets": {}, "sort": "treasure", "offset": 0, "limit": 24}
    page.route(
        lambda url: "/api/curator/library" in url,
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(empty)),
    )
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library?lang=es")
    note = page.locator("#library-empty")
    note.wait_for()
    assert note.inner_text().startswith("La biblioteca guarda las publicaciones aprobadas o destacadas")
    assert (note.locator("a").get_attribute("href") or "").endswith("/ui/queue")
    page.goto(f"{shelf.tesoro.url}/ui/library?lang=es&q=nada")
    page.wait_for_function("() => document.querySelector('#library-empty')?.textContent.includes('coincide')")
    assert page.locator("#library-empty a").count() == 0


def test_each_result_links_its_queue_post_author_and_duplicate_group(page: Any, shelf: Site) -> None:
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library?q=platforms")
    _count(page, "2 posts")
    original_id = shelf.seeded.posts["dup-bsky"]
    copy_id = shelf.seeded.posts["dup-x"]
    original = page.locator(f"#results article.card[data-id='{original_id}']")
    copy = page.locator(f"#results article.card[data-id='{copy_id}']")
    base = shelf.tesoro.url
    assert original.locator("a.to-queue").get_attribute("href") == f"{base}/ui/queue?post={original_id}"
    author = original.locator("a.to-author")
    assert author.inner_text() == "Author page: @ana.bsky.social"
    assert re.fullmatch(re.escape(base) + r"/ui/authors/\d+", author.get_attribute("href") or "")
    group = original.locator("details.group")
    assert group.locator("summary").inner_text() == "Duplicate group: 1 copy"
    group.locator("summary").focus()
    page.keyboard.press("Enter")  # open the group with the keyboard
    link = group.locator("a", has_text="x @ana")
    assert link.get_attribute("href") == f"{base}/ui/queue?post={copy_id}"
    assert copy.locator("a.to-original").inner_text() == f"Copy of post #{original_id}: open the original"
    # Following a link opens that post in the queue.
    copy.locator("a.to-queue").click()
    page.wait_for_url(f"**/ui/queue?post={copy_id}")
    page.locator(f"#queue-list article.card[data-id='{copy_id}']").wait_for()


@pytest.mark.parametrize(
    ("size", "lang"),
    [((1366, 768), "en"), ((390, 844), "en"), ((1366, 768), "es"), ((390, 844), "es")],
)
def test_the_page_is_axe_clean_and_fits_desktop_and_phone(
    browser: Any, shelf: Site, size: tuple[int, int], lang: str
) -> None:
    locale = "es-ES" if lang == "es" else "en-US"
    # bypass_csp only so that axe can be injected.
    context = browser.new_context(
        locale=locale, viewport={"width": size[0], "height": size[1]}, bypass_csp=True
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    try:
        tab.goto(f"{shelf.tesoro.url}/login?lang={lang}")
        tab.fill("#key", shelf.seeded.tokens[Role.COORDINATOR])
        tab.click("button[type=submit]")
        tab.wait_for_url("**/ui/queue**")
        tab.goto(f"{shelf.tesoro.url}/ui/library?q=platforms&date_from=2026-10-01&sort=date")
        counted = "2 publicaciones" if lang == "es" else "2 posts"
        tab.locator("#result-count").filter(has_text=counted).wait_for()
        assert tab.locator("html").get_attribute("lang") == lang
        chip = tab.locator("#active-filters li", has_text="2026").inner_text()
        assert chip.startswith("Desde el 1 oct 2026" if lang == "es" else "From Oct 1, 2026")
        if lang == "es":
            assert tab.locator("#sort option[value=engagement]").inner_text() == "Interacción"
            assert tab.locator("#results .group summary").inner_text() == "Grupo de duplicados: 1 copia"
            assert tab.locator("#page-info").inner_text() == "Página 1 de 1"
        overflow = tab.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = tab.evaluate(
            "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
            "document.documentElement.clientWidth + 0.5).map(e => e.tagName + '#' + e.id + '.' + e.className)"
        )
        assert overflow <= 0, f"{overflow}px of horizontal overflow at {size}: {wide[:8]}"
        phone = size[0] < 800
        assert tab.locator("#facets-box").evaluate("d => d.open") is (not phone)
        assert _serious(tab) == []
        # Every control is reachable by the keyboard, in order: the mode, the box, the options.
        tab.locator("input[name=mode][value=words]").focus()
        reached = []
        for _ in range(10):
            tab.keyboard.press("Tab")
            reached.append(
                tab.evaluate("() => document.activeElement.id || document.activeElement.className")
            )
        # A date input's day, month and year are stops of their own: one entry per control.
        order = [r for i, r in enumerate(reached) if i == 0 or r != reached[i - 1]]
        assert order[:6] == ["search-q", "search-submit", "sort", "tag", "date-from", "date-to"]
    finally:
        context.close()


def test_a_new_search_sorts_by_best_match_unless_a_sort_was_chosen(page: Any, shelf: Site) -> None:
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library")
    _count(page, "32 posts")
    assert page.locator("#sort").input_value() == "treasure"  # no words: treasure, and "best match" is off
    assert page.locator("#sort option[value=relevance]").is_disabled()
    page.fill("#search-q", "jacket")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search === '?q=jacket'")
    page.locator("#result-count").filter(has_text="posts").wait_for()
    page.wait_for_function("() => document.querySelector('#sort').value === 'relevance'")
    page.locator("#sort").select_option("date")
    page.wait_for_url("**sort=date**")
    page.fill("#search-q", "nube")
    page.keyboard.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('q') === 'nube'")
    assert _query(page) == {"q": ["nube"], "sort": ["date"]}


def test_pick_a_tag(page: Any, shelf: Site) -> None:
    headers = shelf.seeded.headers(Role.COORDINATOR)
    for name in ("shelf-3", "shelf-4"):
        with session_scope(shelf.engine) as session:
            pid = post_id(session, platform="mastodon", external_id=name)
        response = page.request.post(
            f"{shelf.tesoro.url}/api/curator/posts/{pid}/tags", data={"add": ["Rain Test"]}, headers=headers
        )
        assert response.ok, response.text()
    login(page, shelf)
    page.goto(f"{shelf.tesoro.url}/ui/library")
    _count(page, "32 posts")
    page.locator("#tag option[value='rain test']").wait_for(state="attached")
    page.locator("#tag").focus()
    page.locator("#tag").select_option("rain test")
    page.wait_for_url("**tag=rain+test**")
    _count(page, "2 posts")
    cards = page.locator("#results article.card")
    assert {cards.nth(i).locator(".tags").inner_text() for i in range(2)} == {"Tags: rain test"}
    page.get_by_role("button", name="Remove filter: Tag: rain test").click()
    _count(page, "32 posts")
    assert page.locator("#tag").input_value() == ""
