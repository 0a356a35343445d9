"""The review queue's coordinator day in a real browser: notes and tags, the selection and bulk actions,
archive and reopen, the duplicate group, rights on the card, new arrivals while the page is open, and the
page's accessibility in both languages at a desktop and a phone width.

Each test starts from the seeded queue (`_reset`): the module's tests share one site and its store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import col, delete, select, update

from tesoro.curator.relevance_model import is_off_topic
from tesoro.models import Platform
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.rankers import relevance_examples
from tesoro.store.tables import CurationDecision, Post, PostTag, RightsReceipt, RightsReply, RightsRequest
from worlds.api import HOSTILE_IMG
from worlds.arrivals import arrive, arrive_many
from worlds.browser import Site, axe, login, queue_states
from worlds.common import eventually

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect

QUEUE = ["q-high", "q-mid", "q-hostile", "dup-x", "dup-bsky"]
CARDS = "#queue-list article.card"


def _reset(site: Site) -> None:
    """The seeded queue again: every queue post new, untagged, without a product, rights or requests;
    the posts earlier tests made to arrive are decided (rejected) so they leave the queue."""
    ids = [site.seeded.posts[n] for n in QUEUE]
    with session_scope(site.engine) as session:
        requests = select(RightsRequest.id).where(col(RightsRequest.post_id).in_(ids))
        session.exec(delete(RightsReply).where(col(RightsReply.request_id).in_(requests)))
        session.exec(delete(RightsReceipt).where(col(RightsReceipt.post_id).in_(ids)))
        session.exec(delete(RightsRequest).where(col(RightsRequest.post_id).in_(ids)))
        session.exec(delete(PostTag).where(col(PostTag.post_id).in_(ids)))
        session.exec(
            update(Post)
            .where(col(Post.id).in_(ids))
            .values(queue_state="new", product_id=None, rights_status="none")
        )
        seeded = set(site.seeded.posts.values())
        session.exec(
            update(Post)
            .where(col(Post.queue_state) == "new", col(Post.id).not_in(seeded))
            .values(queue_state="rejected")
        )


def _card(page: Any, text: str) -> Any:
    return page.locator(CARDS, has_text=text)


def _cursor(page: Any) -> Any:
    return page.locator(f"{CARDS}[aria-current=true]")


def _wait(check: Any, timeout: float = 5.0) -> None:
    eventually(check, timeout=timeout, message="the store did not change in time")


def _ids(page: Any, selector: str) -> list[int]:
    return [int(n) for n in page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.dataset.id)")]


def _decisions(site: Site, name: str) -> list[CurationDecision]:
    with session_scope(site.engine) as session:
        rows = session.exec(
            select(CurationDecision)
            .where(col(CurationDecision.post_id) == site.seeded.posts[name])
            .order_by(col(CurationDecision.id))
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def _tags(site: Site, name: str) -> list[str]:
    with session_scope(site.engine) as session:
        return sorted(
            session.exec(select(PostTag.tag).where(col(PostTag.post_id) == site.seeded.posts[name])).all()
        )


@pytest.fixture
def fresh(site: Site) -> Site:
    _reset(site)
    return site


@pytest.fixture
def a11y(browser: Any) -> Iterator[Any]:
    """A context that lets axe-core's script in (the app's CSP would refuse it) and may use the clipboard."""
    context = browser.new_context(locale="en-US", bypass_csp=True, viewport={"width": 1366, "height": 768})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


def _serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_a_note_and_tags_from_the_keyboard_and_an_off_topic_rejection(page: Any, fresh: Site) -> None:
    site = fresh
    login(page, site)
    first = page.locator(CARDS).first
    first.wait_for()
    assert "Best treasure in the queue" in first.inner_text()
    first.click(position={"x": 5, "y": 30})
    page.keyboard.press("n")  # a note (and tags) on the card under the cursor
    page.locator("#note-dialog[open]").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "note-text"
    assert page.locator("#note-for").inner_text() == "For 1 post"
    page.keyboard.type(f"hero shot {HOSTILE_IMG}")
    page.locator("#note-tags").fill("Hero,  summer  trail ,")
    page.keyboard.press("Control+Enter")
    note = first.locator(".note .note-text")
    note.wait_for()
    assert note.inner_text() == f"hero shot {HOSTILE_IMG}"  # text, never HTML
    assert first.locator(".tags li").all_inner_texts() == ["hero", "summer trail"]
    assert "test coordinator" in first.locator(".note .by").inner_text()
    assert first.locator(".state-new").count() == 1  # a note alone decides nothing
    assert page.locator("img[src=x]").count() == 0
    _wait(lambda: _tags(site, "q-high") == ["hero", "summer trail"])

    # t: tags only, with the ones it has ticked; unticking removes, Enter in the field saves.
    page.keyboard.press("t")
    page.locator("#note-dialog[open]").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "note-tags"
    page.locator("#note-current-tags input[value=hero]").uncheck()
    page.locator("#note-tags").focus()
    page.keyboard.type("trail")
    page.keyboard.press("Enter")
    expect(first.locator(".tags li")).to_have_text(["summer trail", "trail"])
    _wait(lambda: _tags(site, "q-high") == ["summer trail", "trail"])

    # A tag the workflow refuses is said with the reason; the card keeps its tags.
    page.keyboard.press("t")
    page.locator("#note-dialog[open]").wait_for()
    page.keyboard.type("x" * 70)
    page.keyboard.press("Enter")
    page.locator("#toast", has_text="longer than 64 characters").wait_for()
    expect(first.locator(".tags li")).to_have_text(["summer trail", "trail"])
    assert _tags(site, "q-high") == ["summer trail", "trail"]

    # Saving nothing says so and changes nothing.
    page.keyboard.press("n")
    page.locator("#note-dialog[open]").wait_for()
    page.keyboard.press("Control+Enter")
    page.locator("#toast", has_text="Nothing to save").wait_for()

    # The off-topic button writes what the relevance learner reads and picks "reject".
    page.keyboard.press("n")
    page.locator("#note-dialog[open]").wait_for()
    page.locator("#note-off-topic").focus()
    page.keyboard.press("Enter")
    assert page.locator("#note-text").input_value() == "off-topic"
    assert page.locator("#note-decision").input_value() == "reject"
    page.keyboard.press("Control+Enter")
    first.locator(".state-rejected").wait_for()
    assert first.locator(".note .note-text").inner_text() == "off-topic"
    _wait(lambda: queue_states(site, ["q-high"])["q-high"][0] == "rejected")
    last = _decisions(site, "q-high")[-1]
    assert (last.action, last.note) == ("reject", "off-topic")
    with session_scope(site.engine) as session:  # what the relevance learner will read of it
        examples = relevance_examples(session, brand_id=site.seeded.brands["Andes Outdoor"])
    learned = next(e for e in examples if e.post.post_id == site.seeded.posts["q-high"])
    assert learned.label == 0 and is_off_topic(learned.notes, learned.tags)
    # The cursor moved on after the decision, as with r.
    assert "Middle of the queue" in _cursor(page).inner_text()
    assert page.dialogs == [] and page.csp_errors == []


def test_select_a_range_and_act_on_it_in_one_undo_step(page: Any, fresh: Site) -> None:
    site = fresh
    login(page, site)
    cards = page.locator(CARDS)
    cards.first.wait_for()
    cards.first.click(position={"x": 5, "y": 30})
    bar = page.locator("#bulk-bar")
    assert bar.is_hidden()
    top = cards.nth(1).bounding_box()["y"]
    page.keyboard.press("x")  # the first
    assert bar.is_visible() and page.locator("#bulk-count").inner_text() == "1 post selected"
    assert cards.nth(1).bounding_box()["y"] == top  # the bar floats: nothing on the page moved
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Shift+X")  # from the first to the third
    assert page.locator("#bulk-count").inner_text() == "3 posts selected"
    assert page.locator(f"{CARDS}.picked").count() == 3
    assert cards.nth(3).locator("input.pick-box").is_checked() is False
    page.keyboard.press("Escape")  # a clear way out
    assert bar.is_hidden() and page.locator(f"{CARDS}.picked").count() == 0

    # Shift-click on a checkbox picks a range too.
    cards.nth(0).locator("input.pick-box").click()
    cards.nth(2).locator("input.pick-box").click(modifiers=["Shift"])
    assert page.locator("#bulk-count").inner_text() == "3 posts selected"
    page.keyboard.press("a")  # approve the three at once
    page.locator("#toast", has_text="3 posts updated").wait_for()
    for n in range(3):
        cards.nth(n).locator(".state-approved").wait_for()
    assert cards.nth(3).locator(".state-new").count() == 1
    assert bar.is_hidden()  # a decision ends the selection
    states = queue_states(site, ["q-high", "q-mid", "q-hostile", "dup-bsky"])
    assert [states[n][0] for n in ("q-high", "q-mid", "q-hostile", "dup-bsky")] == [
        "approved",
        "approved",
        "approved",
        "new",
    ]
    page.keyboard.press("u")  # one undo step brings all three back
    for n in range(3):
        cards.nth(n).locator(".state-new").wait_for()
    _wait(lambda: {s for s, _ in queue_states(site, ["q-high", "q-mid", "q-hostile"]).values()} == {"new"})

    # Tags and a product for a selection, from the bar's buttons and the keys.
    cards.nth(0).click(position={"x": 5, "y": 30})
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.locator("#bulk-bar button[data-bulk=tags]").click()
    page.locator("#note-dialog[open]").wait_for()
    assert page.locator("#note-for").inner_text() == "For 2 posts"
    page.keyboard.type("summer")
    page.keyboard.press("Enter")
    cards.nth(1).locator(".tags li", has_text="summer").wait_for()
    expect(cards.nth(0).locator(".tags li")).to_have_text(["summer"])
    assert page.locator("#bulk-count").inner_text() == "2 posts selected"  # tags keep the selection
    # What it did is said above the floating bar, not under it.
    page.locator("#toast.show", has_text="Tags saved").wait_for()
    toast, dock = page.locator("#toast").bounding_box(), bar.bounding_box()
    assert toast["y"] + toast["height"] <= dock["y"]
    page.keyboard.press("p")
    page.locator("#product-dialog[open]").wait_for()
    page.locator("#product-select").select_option(label="Cumbre Trail Runner")
    page.locator("#product-select").press("Enter")
    cards.nth(1).locator(".badge.product", has_text="Cumbre").wait_for()
    cards.nth(0).locator(".badge.product", has_text="Cumbre").wait_for()
    cumbre = site.seeded.products["Cumbre Trail Runner"]
    _wait(
        lambda: (
            queue_states(site, ["q-high", "q-mid"]) == {"q-high": ("new", cumbre), "q-mid": ("new", cumbre)}
        )
    )
    assert _tags(site, "q-high") == ["summer"] and _tags(site, "q-mid") == ["summer"]
    # Ask for rights for both with q: X posts take the request through the API (queued).
    page.keyboard.press("q")
    page.locator("#toast", has_text="Rights requested for 2 posts").wait_for()
    cards.nth(0).locator(".badge.rights", has_text="Rights requested").wait_for()
    cards.nth(1).locator(".badge.rights", has_text="Rights requested").wait_for()
    page.keyboard.press("Escape")
    assert page.dialogs == [] and page.csp_errors == []


def test_a_bulk_action_reports_what_it_skipped_and_applies_the_rest(page: Any, fresh: Site) -> None:
    site = fresh
    with session_scope(site.engine) as session:  # one of them is archived meanwhile, by someone else
        session.exec(
            update(Post).where(col(Post.id) == site.seeded.posts["q-mid"]).values(queue_state="archived")
        )
    login(page, site)
    cards = page.locator(CARDS)
    cards.first.wait_for()
    page.locator(CARDS, has_text="Middle of the queue").wait_for(state="detached")
    cards.first.click(position={"x": 5, "y": 30})
    page.keyboard.press("x")
    with session_scope(site.engine) as session:
        session.exec(
            update(Post).where(col(Post.id) == site.seeded.posts["q-high"]).values(queue_state="archived")
        )
    page.keyboard.press("j")
    page.keyboard.press("Shift+X")
    page.keyboard.press("o")  # reopen: the archived one is reopened, the new one cannot be
    page.locator("#toast", has_text="1 post left as it was").wait_for()
    assert "already new" in page.locator("#toast").inner_text()
    _wait(lambda: queue_states(site, ["q-high"])["q-high"][0] == "new")
    assert page.dialogs == [] and page.csp_errors == []


def test_archive_then_reopen_from_the_archived_view(page: Any, fresh: Site) -> None:
    site = fresh
    login(page, site)
    first = page.locator(CARDS).first
    first.wait_for()
    first.click(position={"x": 5, "y": 30})
    page.keyboard.press("e")
    first.locator(".state-archived").wait_for()
    page.locator("#toast", has_text="Archived").wait_for()
    _wait(lambda: queue_states(site, ["q-high"])["q-high"][0] == "archived")
    page.select_option("#state-filter", "archived")
    expect(page.locator("#queue-count")).to_have_text("1 post")
    expect(page.locator(CARDS)).to_have_count(1)
    archived = _card(page, "Best treasure in the queue")
    assert archived.locator("button", has_text="Reopen").is_visible()
    page.keyboard.press("o")
    archived.locator(".state-new").wait_for()
    _wait(lambda: queue_states(site, ["q-high"])["q-high"][0] == "new")
    page.select_option("#state-filter", "new")
    _card(page, "Best treasure in the queue").wait_for()
    page.select_option("#state-filter", "archived")
    page.locator("#queue-list .empty").wait_for()
    assert page.dialogs == [] and page.csp_errors == []


def test_the_duplicate_group_from_its_card(page: Any, fresh: Site) -> None:
    site = fresh
    login(page, site)
    card = _card(page, "TWO platforms")
    card.wait_for()
    opener = card.locator("button.group-open")
    assert opener.inner_text() == "g 2 posts in its group"
    assert _card(page, "Best treasure").locator("button.group-open").count() == 0  # no copies, no group
    card.click(position={"x": 5, "y": 30})
    page.keyboard.press("g")
    dialog = page.locator("#group-dialog[open]")
    dialog.wait_for()
    rows = dialog.locator("#group-list li")
    assert rows.count() == 2
    assert "bluesky @ana.bsky.social" in rows.nth(0).inner_text()
    assert "original" in rows.nth(0).inner_text() and "this card" in rows.nth(0).inner_text()
    assert "x @ana" in rows.nth(1).inner_text() and "New" in rows.nth(1).inner_text()
    page.keyboard.press("Escape")
    page.locator("#group-dialog[open]").wait_for(state="detached")
    assert _cursor(page).inner_text() == card.inner_text()  # back on the card
    opener.click()
    dialog.wait_for()
    page.locator("#group-reject").click()
    card.locator(".state-rejected").wait_for()
    _wait(lambda: {s for s, _ in queue_states(site, ["dup-x", "dup-bsky"]).values()} == {"rejected"})
    page.locator("#toast", has_text="2 posts updated").wait_for()
    assert page.dialogs == [] and page.csp_errors == []


def test_rights_states_and_actions_on_the_card(a11y: Any, fresh: Site) -> None:
    site = fresh
    page = a11y
    coordinator = site.seeded.headers(Role.COORDINATOR)
    mid, hostile = site.seeded.posts["q-mid"], site.seeded.posts["q-hostile"]
    made = page.request.post(
        f"{site.tesoro.url}/api/rights/requests", data={"post_ids": [mid, hostile]}, headers=coordinator
    )
    assert made.ok, made.text()
    with session_scope(site.engine) as session:  # the answers the reply reader would have recorded
        session.exec(
            update(RightsRequest)
            .where(col(RightsRequest.post_id) == mid)
            .values(status="needs_review", reason="sets a condition: 'but credit me'")
        )
        session.exec(
            update(RightsRequest).where(col(RightsRequest.post_id) == hostile).values(status="no_response")
        )
        session.exec(update(Post).where(col(Post.id) == hostile).values(rights_status="none"))
    insta = arrive(
        site.engine,
        site.seeded.brands["Andes Outdoor"],
        "ig-paste",
        "Cumbre on Instagram",
        platform=Platform.INSTAGRAM,
    )
    login(page, site)
    review = _card(page, "Middle of the queue")
    review.wait_for()
    assert review.locator("header .badge.rights").inner_text() == "Rights: reply to review"
    assert "but credit me" in review.locator(".rights-panel .reason").inner_text()
    quiet = _card(page, "loved the Cumbre")
    assert quiet.locator("header .badge.rights").inner_text() == "Rights: no response"
    review.locator("button", has_text="Grant").click()
    review.locator("header .badge.rights", has_text="Rights granted").wait_for()
    assert review.locator("button", has_text="Ask for rights").count() == 0
    quiet.locator("button", has_text="Ask again").click()
    quiet.locator("header .badge.rights", has_text="Rights requested").wait_for()
    with session_scope(site.engine) as session:
        statuses = session.exec(
            select(RightsRequest.attempt, RightsRequest.status).where(col(RightsRequest.post_id) == hostile)
        ).all()
    assert sorted(statuses) == [(1, "no_response"), (2, "queued")]

    # Instagram cannot take the request through its API: the card gives the text and the link to copy.
    paste = _card(page, "Cumbre on Instagram")
    paste.wait_for()
    paste.click(position={"x": 5, "y": 30})
    page.keyboard.press("q")
    text = paste.locator(".paste .paste-text")
    text.wait_for()
    assert paste.locator("header .badge.rights").inner_text() == "Rights requested"
    with session_scope(site.engine) as session:
        request = session.exec(select(RightsRequest).where(col(RightsRequest.post_id) == insta)).one()
        assert request.channel == "manual"
        assert text.inner_text() == request.text
    paste.locator("button", has_text="Copy the consent link").click()
    page.locator("#toast", has_text="Copied").wait_for()
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert "/rights/consent/" in link and link in request.text
    paste.locator("button", has_text="Copy the text").click()
    _wait(lambda: page.evaluate("() => navigator.clipboard.readText()") == request.text)
    assert _serious(axe(page, {"include": [["#queue-list"]]})) == []

    # The same states in Spanish.
    page.goto(f"{site.tesoro.url}/ui/queue?lang=es")
    _card(page, "Cumbre on Instagram").locator(".paste").wait_for()
    assert (
        _card(page, "Middle of the queue").locator("header .badge.rights").inner_text()
        == "Derechos concedidos"
    )
    assert (
        _card(page, "loved the Cumbre").locator("header .badge.rights").inner_text() == "Derechos solicitados"
    )
    es = _card(page, "Cumbre on Instagram")
    assert es.locator("button", has_text="Copiar el enlace de consentimiento").is_visible()
    assert "pega este texto" in es.locator(".paste p").first.inner_text()
    with session_scope(site.engine) as session:
        session.exec(
            update(RightsRequest).where(col(RightsRequest.post_id) == mid).values(status="needs_review")
        )
        session.exec(update(Post).where(col(Post.id) == mid).values(rights_status="requested"))
    page.reload()
    badge = _card(page, "Middle of the queue").locator("header .badge.rights")
    badge.wait_for()
    assert badge.inner_text() == "Derechos: respuesta por revisar"
    assert page.dialogs == []


def test_new_arrivals_are_announced_and_merged_without_moving_the_cursor(page: Any, fresh: Site) -> None:
    site = fresh
    page.clock.install()
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, site)
    cards = page.locator(CARDS)
    cards.first.wait_for()
    before = cards.count()
    counted = page.locator("#queue-count").inner_text()  # the server's count of the view, as first shown
    cards.first.click(position={"x": 5, "y": 30})
    page.keyboard.press("j")
    page.keyboard.press("j")  # the cursor on the third card
    held = _cursor(page)
    held_text = held.locator("p.text").inner_text()
    held.evaluate("node => node.scrollIntoView({block: 'center'})")
    top = held.bounding_box()["y"]
    andes = site.seeded.brands["Andes Outdoor"]
    arrive(site.engine, andes, "live-1", "Fresh from the trail: Cumbre grip", relevance=1.0, minutes=5)
    arrive(site.engine, andes, "live-2", "Another Cumbre post just in", relevance=0.35, minutes=6)
    arrive(
        site.engine,
        site.seeded.brands["Andes Outdoor"],
        "live-3",
        "A third new one",
        relevance=0.2,
        minutes=7,
    )
    bar = page.locator("#arrivals")
    assert bar.is_hidden()
    page.clock.run_for(16_000)  # the next poll
    bar.wait_for()
    assert bar.inner_text() == "3 new posts: show them"
    assert cards.count() == before  # announced, not shown: nothing moved
    assert held.bounding_box()["y"] == pytest.approx(top, abs=1)
    page.keyboard.press("l")
    _card(page, "Fresh from the trail").wait_for()
    assert cards.count() == before + 3
    assert bar.is_hidden()
    cursor = _cursor(page)
    assert cursor.count() == 1 and cursor.locator("p.text").inner_text() == held_text
    assert cursor.bounding_box()["y"] == pytest.approx(top, abs=1)  # same place on the screen
    assert page.evaluate("() => document.activeElement.getAttribute('aria-current')") == "true"
    assert cards.first.locator("p.text").inner_text() == "Fresh from the trail: Cumbre grip"  # at its rank
    assert page.locator("#queue-count").inner_text() == f"{int(counted.split()[0]) + 3} posts"
    page.keyboard.press("j")  # the keys carry on from the same card
    assert _cursor(page).locator("p.text").inner_text() != held_text
    # One more: the bar counts it alone, in the singular.
    arrive(site.engine, andes, "live-4", "One more Cumbre post", relevance=0.9, minutes=8)
    page.clock.run_for(16_000)
    bar.wait_for()
    assert bar.inner_text() == "1 new post: show it"
    bar.click()
    _card(page, "One more Cumbre post").wait_for()
    shown = cards.count()
    # A wave bigger than one page of the API comes in whole (different words: no duplicate group).
    words = ["grip", "mud", "rain", "summit", "laces", "heel", "river", "snow", "sand", "road", "rocks"]
    wave = [
        (f"wave-{n}", f"Cumbre wave {n}: {words[n % 11]} {words[n // 11]} day number {n}", 0.3 + n / 1000)
        for n in range(120)
    ]
    arrive_many(site.engine, andes, wave, author="wave", minutes=9)
    page.clock.run_for(16_000)
    bar.wait_for()
    assert bar.inner_text() == "120 new posts: show them"
    page.keyboard.press("l")
    expect(cards).to_have_count(shown + 120)
    assert page.dialogs == [] and page.csp_errors == []


def test_the_queue_page_is_accessible_in_both_languages_and_on_a_phone(a11y: Any, fresh: Site) -> None:
    site = fresh
    page = a11y
    login(page, site)
    page.locator(CARDS).first.wait_for()
    assert _serious(axe(page, {"exclude": []})) == []
    keys = page.locator("#queue-keys").inner_text()
    for words in (
        "x select",
        "e archive",
        "o reopen",
        "n note",
        "t tags",
        "q ask for rights",
        "g duplicate",
        "Esc",
    ):
        assert words in keys
    page.locator(CARDS).first.click(position={"x": 5, "y": 30})
    page.keyboard.press("x")
    page.locator("#bulk-bar").wait_for()
    assert _serious(axe(page, {"exclude": []})) == []
    page.keyboard.press("n")
    page.locator("#note-dialog[open]").wait_for()
    assert _serious(axe(page, {"include": [["#note-dialog"]]})) == []
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    _card(page, "TWO platforms").locator("button.group-open").click()
    page.locator("#group-dialog[open]").wait_for()
    assert _serious(axe(page, {"include": [["#group-dialog"]]})) == []
    page.keyboard.press("Escape")

    page.set_viewport_size({"width": 390, "height": 844})
    for lang in ("en", "es"):
        page.goto(f"{site.tesoro.url}/ui/queue?lang={lang}")
        page.locator(CARDS).first.wait_for()
        page.locator(CARDS).first.click(position={"x": 5, "y": 30})
        page.keyboard.press("x")
        page.locator("#bulk-bar").wait_for()
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (lang, overflow)
        assert _serious(axe(page, {"exclude": []})) == [], lang
        page.keyboard.press("n")
        page.locator("#note-dialog[open]").wait_for()
        box = page.locator("#note-dialog").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (lang, box)
        page.keyboard.press("Escape")
    # Spanish words, counted in Spanish.
    assert "x seleccionar" in page.locator("#queue-keys").inner_text()
    assert page.locator("#bulk-count").inner_text() == "1 publicación seleccionada"
    assert page.locator("#state-filter option[value=archived]").inner_text() == "Archivadas"
    assert page.dialogs == []


def test_errors_are_said_and_a_failed_poll_tries_again(page: Any, fresh: Site) -> None:
    site = fresh
    page.clock.install()
    login(page, site)
    cards = page.locator(CARDS)
    cards.first.wait_for()
    cards.first.click(position={"x": 5, "y": 30})
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")

    def refuse(route: Any) -> None:
        route.fulfill(status=503, content_type="application/json", body='{"detail": "the store is busy"}')

    page.route("**/api/curator/decisions/bulk", refuse)
    page.keyboard.press("r")
    page.locator("#toast", has_text="the store is busy").wait_for()
    assert page.locator("#bulk-count").inner_text() == "2 posts selected"  # kept, to try again
    assert cards.nth(0).locator(".state-new").count() == 1
    assert queue_states(site, ["q-high"])["q-high"][0] == "new"
    page.unroute("**/api/curator/decisions/bulk")
    page.keyboard.press("r")  # the same keys, once it answers again
    page.locator("#toast", has_text="2 posts updated").wait_for()
    _wait(lambda: {s for s, _ in queue_states(site, ["q-high", "q-mid"]).values()} == {"rejected"})

    # A poll that fails shows nothing; the next one announces the arrival.
    page.route("**/api/curator/queue/arrivals*", refuse)
    arrive(site.engine, site.seeded.brands["Andes Outdoor"], "poll-1", "Arrived while the poll failed")
    page.clock.run_for(16_000)
    page.wait_for_timeout(300)
    assert page.locator("#arrivals").is_hidden()
    page.unroute("**/api/curator/queue/arrivals*")
    page.evaluate("() => window.scrollTo(0, 0)")
    top = cards.nth(0).bounding_box()["y"]
    page.clock.run_for(16_000)
    page.locator("#arrivals", has_text="1 new post").wait_for()
    assert cards.nth(0).bounding_box()["y"] == top  # the announcement moved nothing
    assert page.dialogs == [] and page.csp_errors == []


def test_a_viewer_reads_notes_tags_and_rights_but_changes_nothing(page: Any, fresh: Site) -> None:
    site = fresh
    high = site.seeded.posts["q-high"]
    made = page.request.post(
        f"{site.tesoro.url}/api/curator/posts/{high}/decision",
        data={"action": "note", "note": "ask Ana for the raw photo", "add_tags": ["hero"]},
        headers=site.seeded.headers(Role.COORDINATOR),
    )
    assert made.ok, made.text()
    login(page, site, Role.VIEWER)
    card = _card(page, "Best treasure in the queue")
    card.wait_for()
    assert card.locator(".note .note-text").inner_text() == "ask Ana for the raw photo"
    assert card.locator(".tags li").all_inner_texts() == ["hero"]
    assert card.locator("header .badge.rights").inner_text() == "No rights"
    assert page.locator("input.pick-box").count() == 0 and page.locator("#bulk-bar").count() == 0
    assert card.locator("button", has_text="Approve").count() == 0
    card.click(position={"x": 5, "y": 30})
    page.keyboard.press("x")
    page.keyboard.press("e")
    page.locator("#toast", has_text="Read-only").wait_for()
    assert queue_states(site, ["q-high"])["q-high"][0] == "new"
    # The duplicate group is there to read.
    _card(page, "TWO platforms").locator("button.group-open").click()
    page.locator("#group-dialog[open] #group-list li").first.wait_for()
    assert page.locator("#group-reject").count() == 0
    page.keyboard.press("Escape")
    assert page.dialogs == [] and page.csp_errors == []


def test_the_queue_loads_a_page_and_fetches_the_next_as_the_cursor_or_the_scroll_comes_near(
    page: Any, fresh: Site
) -> None:
    site = fresh
    andes = site.seeded.brands["Andes Outdoor"]
    words = ["grip", "mud", "rain", "summit", "laces", "heel", "river", "snow", "sand", "road", "rocks"]
    long = [
        (
            f"long-{n}",
            f"Cumbre long queue {n}: {words[n % 11]} {words[n // 11]} trail day {n}",
            0.99 - n / 200,
        )
        for n in range(60)
    ]
    arrive_many(site.engine, andes, long, author="long", minutes=11)
    login(page, site)
    cards = page.locator(CARDS)
    cards.first.wait_for()
    expect(cards).to_have_count(50)  # the first page only
    total = int(page.locator("#queue-count").inner_text().split()[0])
    assert total > 50
    ids = _ids(page, CARDS)
    # j down the cards: nearing the last one fetches the next page, and j goes on past the boundary.
    cards.first.click(position={"x": 5, "y": 30})
    for _ in range(49):
        page.keyboard.press("j")
    expect(cards).to_have_count(total)
    page.keyboard.press("j")
    cursor = _cursor(page)
    assert int(cursor.get_attribute("data-id")) not in ids  # the 51st card, from the second page
    every = _ids(page, CARDS)
    assert every[:50] == ids and len(set(every)) == total  # appended in order, none twice
    # A range selected across the boundary, acted on in one step and undone in one.
    page.keyboard.press("k")
    page.keyboard.press("k")
    page.keyboard.press("x")
    for _ in range(4):
        page.keyboard.press("j")
    page.keyboard.press("X")
    assert page.locator("#bulk-count").inner_text() == "5 posts selected"
    assert _ids(page, f"{CARDS}.picked") == every[48:53]  # the 49th to the 53rd
    page.keyboard.press("r")
    expect(page.locator(f"{CARDS} .state-rejected")).to_have_count(5)
    page.keyboard.press("u")
    expect(page.locator(f"{CARDS} .state-rejected")).to_have_count(0)
    # Scrolling with the mouse fetches the next page too; a decision on the first page meanwhile
    # (the server's pages shift by one) neither hides a post nor shows one twice.
    page.reload()
    cards.first.wait_for()
    expect(cards).to_have_count(50)
    cards.first.click(position={"x": 5, "y": 30})
    page.keyboard.press("a")
    expect(page.locator(f"{CARDS} .state-approved")).to_have_count(1)
    page.mouse.wheel(0, 200_000)
    expect(cards).to_have_count(total)
    again = _ids(page, CARDS)
    assert sorted(again) == sorted(every)
    assert page.dialogs == [] and page.csp_errors == []
