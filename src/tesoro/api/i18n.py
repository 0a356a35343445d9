"""English and Spanish for the web UI: message catalogues, language choice, locale formatting.

The catalogue is a plain dict (no compiled .mo files to build or ship) because
the UI has a few hundred words; the browser's scripts get the same catalogue as
JSON, so server-rendered and script-rendered text always agree. Numbers and
dates are formatted with Babel's CLDR data on the server and `Intl` in the
browser, so "12.345" and "12,345" follow the reader's locale either way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import UTC

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from tesoro.api.locales import catalogue

__all__ = ["LANGUAGES", "MESSAGES", "Translator", "counted", "negotiate", "plural_category"]

# Shown for a missing number or date (an en dash, as typesetting has it).
MISSING = "\u2013"

LANGUAGES = ("en", "es")

# CLDR's plural rules, as Babel has them: English "one"/"other"; Spanish adds "many" for whole
# millions ("1.000.000 de publicaciones"). A counted message is stored once per category as
# KEY.one, KEY.many, KEY.other; a missing category falls back to KEY.other. The browser picks the
# category with Intl.PluralRules (app.js `tn`), from the same CLDR rules.
_PLURAL_RULES = {lang: Locale.parse(lang).plural_form for lang in LANGUAGES}


def plural_category(lang: str, count: float) -> str:
    """The CLDR plural category of `count` in `lang`: "one", "many" or "other"."""
    rule = _PLURAL_RULES.get(lang, _PLURAL_RULES["en"])
    return str(rule(abs(count)))


def counted(count: int, one: str, other: str) -> str:
    """An English count with its noun, for the CLI's lines: "1 post", "2 posts", "1,234 posts"."""
    noun = one if plural_category("en", count) == "one" else other
    return f"{format_decimal(count, format='#,##0', locale='en')} {noun}"


MESSAGES: Mapping[str, Mapping[str, str]] = catalogue()


def negotiate(*, accept_language: str | None, setting: str = "auto", override: str | None = None) -> str:
    """The UI language: an explicit choice (cookie/?lang=), else the setting, else the browser's."""
    if override in LANGUAGES:
        return str(override)
    if setting in LANGUAGES:
        return setting
    best, best_q = "en", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


class Translator:
    """Messages and number/date formats for one language, as the templates use them."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self.messages = MESSAGES[self.lang]

    def __call__(self, key: str, **values: object) -> str:
        text = self.messages.get(key) or MESSAGES["en"].get(key) or key
        return text.format(**values) if values else text

    def plural(self, key: str, count: int, **values: object) -> str:
        """A counted message: the form of KEY for `count`'s plural category, the count in the locale.

        `{count}` in the message is the formatted number ("1,234" / "1.234").
        """
        category = plural_category(self.lang, count)
        for lang in (self.lang, "en"):
            messages = MESSAGES[lang]
            text = messages.get(f"{key}.{category}") or messages.get(f"{key}.other")
            if text:
                return text.format(count=self.number(count), **values)
        return key

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return MISSING
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=fmt, locale=self.lang)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return MISSING
        return format_datetime(value, format="medium", tzinfo=UTC, locale=self.lang) + " UTC"

    def date(self, value: dt.datetime | dt.date | str | None) -> str:
        """A day as the language writes it ("8 nov 2026", "Nov 8, 2026"); an ISO string is read first."""
        if value is None or value == "":
            return MISSING
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return format_date(value, format="medium", locale=self.lang)
