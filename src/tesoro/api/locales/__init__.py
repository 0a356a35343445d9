"""The web UI's words in English and Spanish, one module per page or area.

Each module holds two dicts, `EN` and `ES`, with the same keys; `catalogue()` joins them into one
catalogue per language and refuses a key that two modules define, so a page's words can be written
next to the page without one shared file that every change touches. A new module is added to
`MODULES` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from tesoro.api.locales import (
    alerts,
    author,
    common,
    consent,
    dashboard,
    gallery,
    insights,
    library,
    queue,
    rights,
    settings,
    sources,
)

MODULES: tuple[ModuleType, ...] = (
    common,
    queue,
    library,
    author,
    dashboard,
    insights,
    sources,
    gallery,
    consent,
    rights,
    alerts,
    settings,
)


def catalogue() -> dict[str, Mapping[str, str]]:
    """{"en": {...}, "es": {...}}: every module's words, each key defined once."""
    joined: dict[str, dict[str, str]] = {"en": {}, "es": {}}
    for module in MODULES:
        for lang, words in (("en", module.EN), ("es", module.ES)):
            clash = joined[lang].keys() & words.keys()
            if clash:
                raise ValueError(f"{module.__name__} redefines {sorted(clash)} ({lang})")
            joined[lang].update(words)
    return dict(joined)
