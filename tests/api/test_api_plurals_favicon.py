"""Issue 22, small things: counted messages take the language's plural form; every page links a favicon."""

from __future__ import annotations

import re
from importlib import resources
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from tesoro.api.i18n import LANGUAGES, MESSAGES, Translator, counted, plural_category
from tesoro.api.routes.favicon import FAVICON_CACHE
from tesoro.store.keys import Role
from worlds.api import Seeded


@pytest.mark.parametrize(
    ("lang", "count", "text"),
    [
        ("en", 0, "0 posts"),
        ("en", 1, "1 post"),
        ("en", 2, "2 posts"),
        ("en", 1234, "1,234 posts"),
        ("es", 0, "0 publicaciones"),
        ("es", 1, "1 publicación"),
        ("es", 2, "2 publicaciones"),
        ("es", 1234, "1.234 publicaciones"),
        ("es", 1_000_000, "1.000.000 de publicaciones"),  # CLDR's "many" in Spanish
    ],
)
def test_a_count_takes_its_plural_form_and_the_locales_digits(lang: str, count: int, text: str) -> None:
    assert Translator(lang).plural("queue.count", count) == text


def test_every_counted_message_has_the_forms_its_language_needs() -> None:
    for lang in LANGUAGES:
        # A plural form counts something ("ctype.other", the content type "Other", is not one).
        counted_keys = {
            k.rsplit(".", 1)[0]
            for k, v in MESSAGES[lang].items()
            if re.search(r"\.(one|many|other)$", k) and "{count}" in v
        }
        assert counted_keys, lang
        for key in counted_keys:
            assert f"{key}.one" in MESSAGES[lang] and f"{key}.other" in MESSAGES[lang], (lang, key)
        # No message counts something outside a plural form: "{count} posts" alone would say "1 posts".
        loose = [
            k
            for k, v in MESSAGES[lang].items()
            if "{count}" in v and not k.endswith((".one", ".many", ".other"))
        ]
        assert loose == [], (lang, loose)
    assert plural_category("en", 1) == "one" and plural_category("es", 1_000_000) == "many"


def test_other_counted_messages_and_the_cli_helper() -> None:
    en, es = Translator("en"), Translator("es")
    assert en.plural("queue.copies", 1) == "1 copy" and es.plural("queue.copies", 1) == "1 copia"
    assert en.plural("consent.days", 1) == "1 day" and es.plural("consent.days", 30) == "30 días"
    assert en.plural("sources.slots_expiring", 1, at="noon") == "1 expires at noon"
    assert es.plural("sources.slots_expiring", 3, at="mediodía") == "3 caducan el mediodía"
    assert counted(1, "post", "posts") == "1 post"
    assert counted(12345, "post", "posts") == "12,345 posts"
    assert counted(0, "copy", "copies") == "0 copies"


def test_the_favicon_is_an_svg_served_with_a_long_cache(client: TestClient) -> None:
    for path in ("/favicon.svg", "/favicon.ico"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.headers["cache-control"] == FAVICON_CACHE
        assert "max-age=31536000" in FAVICON_CACHE
        root = ElementTree.fromstring(response.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    shipped = resources.files("tesoro.api").joinpath("static", "favicon.svg").read_bytes()
    assert client.get("/favicon.svg").content == shipped


def test_every_page_links_the_favicon(client: TestClient, seeded: Seeded) -> None:
    headers = seeded.headers(Role.ADMIN)
    pages = ["/login", "/ui/queue", "/ui/library", "/ui/dashboard", "/ui/sources", "/docs"]
    for lang in ("en", "es"):
        for path in pages:
            html = client.get(f"{path}?lang={lang}", headers=headers if path != "/login" else {}).text
            link = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', html)
            assert link, (lang, path)
            assert link.group(1).startswith("/favicon.svg?v=")
            assert client.get(link.group(1)).status_code == 200


def test_every_page_template_with_a_head_links_the_favicon() -> None:
    """The consent page (its own <head>) too; embed.html is the widget's iframe, never a tab of its own."""
    templates = resources.files("tesoro.api").joinpath("templates")
    heads = [t for t in templates.iterdir() if t.name.endswith(".html") and "<head>" in t.read_text("utf-8")]
    assert {t.name for t in heads} >= {"base.html", "consent.html"}
    for template in heads:
        if template.name != "embed.html":
            assert '<link rel="icon" type="image/svg+xml" href="{{ favicon }}">' in template.read_text(
                "utf-8"
            )
