"""The generator's phrase data, read once from the TOML files in `tesoro/simulator/data/`.

Phrase pools, names and lexicons are data: a writer can add a sentence or a city without
reading the code, and the code stays short enough to read. The files are parsed on first
use and cached for the process; a malformed file or a kind left without templates fails
there, with the file and key, rather than in the middle of a demo.

The layout of each file is described at its top: `lines.toml` (what people say about a
product line), `templates.toml` (post bodies, Reddit titles, replies, spam, off-topic,
alt texts, hashtags), `people.toml` (names, bios, big accounts, outlets, bots) and
`slots.toml` (emoji, cities, countries, distances).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from tesoro.simulator.generator.mix import KINDS

__all__ = ["FILES", "BotWords", "DataFile", "Line", "Template", "Vocabulary", "load", "vocabulary"]

LANGS: tuple[str, ...] = ("en", "es")
# A post template: one phrase is drawn from each pool and the non-empty ones are joined.
Template = tuple[tuple[str, ...], ...]
# Per language (or per slot name): a pool of phrases.
Pools = dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Line:
    """What people say about one product line, in each language."""

    en_noun: str
    en_plural: bool
    es_noun: tuple[str, ...]  # synonyms (regional variants), same gender and number
    es_fem: bool
    es_plural: bool
    pros: Pools
    cons: Pools
    uses: Pools
    tips: Pools
    places: Pools
    sizes: Pools
    looks: Pools  # first impressions, before any use (unboxings)
    usage: Pools  # how much it has been used: 'after {usage}'
    tags: Pools


@dataclass(frozen=True, slots=True)
class BotWords:
    """What one language's bots are called: handle words, display names and bios."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    names: tuple[str, ...]
    bios: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Everything the generator says, typed; keys are described in each data file."""

    lines: dict[str, Line]  # every alias of a line (lower case) -> the line
    generic: Line  # for products whose line has no vocabulary
    reviews: dict[tuple[str, bool], Template]  # (lang, positive)
    templates: dict[tuple[str, str, str], Template]  # (kind, lang, "product" | "brand")
    reddit_more: Pools
    reddit_titles: dict[tuple[str, str], tuple[str, ...]]  # (kind, lang)
    reply_openers: Pools
    spam: Pools
    offtopic: dict[str, tuple[tuple[str, str], ...]]  # lang -> (source, text)
    alt_texts: dict[tuple[str, str], tuple[str, ...]]  # (lang, subject)
    alt_subjects: dict[str, str]  # kind -> subject, where not "product"
    kind_tags: dict[tuple[str, str], tuple[str, ...]]  # (kind, lang)
    emoji: Pools  # slot name -> emoji
    cities: Pools
    countries: Pools
    km: tuple[int, ...]
    fallback_competitors: tuple[str, ...]
    first_names: Pools
    last_names: Pools
    handle_suffixes: Pools
    bios: Pools
    reddit_adjectives: tuple[str, ...]
    reddit_nouns: tuple[str, ...]
    celebrities: dict[str, tuple[tuple[str, str, str], ...]]  # lang -> (handle, name, bio)
    outlets: dict[str, tuple[tuple[str, str, str, str], ...]]  # lang -> (source, handle, name, bio)
    bots: dict[str, BotWords]


class DataFile:
    """One parsed data file, read by key path with a check of each value's type.

    A wrong value fails with the file and the dotted key (`templates.toml: spam.en must be
    a list of strings`), so a data edit that breaks the generator says where.
    """

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name = name
        self.data = data

    @classmethod
    def packaged(cls, name: str) -> DataFile:
        """`simulator/data/<name>`, read through importlib.resources (so it works from a wheel)."""
        text = resources.files("tesoro.simulator").joinpath("data", name).read_text(encoding="utf-8")
        return cls(name, tomllib.loads(text))

    def fail(self, path: tuple[str, ...], expected: str) -> ValueError:
        return ValueError(f"simulator/data/{self.name}: {'.'.join(path) or 'the file'} must be {expected}")

    def has(self, *path: str) -> bool:
        value: Any = self.data
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return False
            value = value[key]
        return True

    def get(self, *path: str) -> Any:
        if not self.has(*path):
            raise self.fail(path, "present")
        value: Any = self.data
        for key in path:
            value = value[key]
        return value

    def keys(self, *path: str) -> list[str]:
        """The keys of the table at `path`, in file order."""
        value = self.get(*path)
        if not isinstance(value, dict):
            raise self.fail(path, "a table")
        return list(value)

    def text(self, *path: str) -> str:
        value = self.get(*path)
        if not isinstance(value, str):
            raise self.fail(path, "a string")
        return value

    def flag(self, *path: str) -> bool:
        value = self.get(*path)
        if not isinstance(value, bool):
            raise self.fail(path, "true or false")
        return value

    def strings(self, *path: str) -> tuple[str, ...]:
        value = self.get(*path)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, "a list of strings")
        return tuple(value)

    def pools(self, *path: str) -> Pools:
        """A table of phrase lists (per language, or per slot name), in file order."""
        return {key: self.strings(*path, key) for key in self.keys(*path)}

    def template(self, *path: str) -> Template:
        value = self.get(*path)
        if not isinstance(value, list) or not value:
            raise self.fail(path, "a non-empty list of phrase lists")
        return tuple(self._pool(path, i, pool) for i, pool in enumerate(value))

    def _pool(self, path: tuple[str, ...], index: int, pool: Any) -> tuple[str, ...]:
        if not isinstance(pool, list) or not all(isinstance(v, str) for v in pool):
            raise self.fail((*path[:-1], f"{path[-1]}[{index}]"), "a list of strings")
        return tuple(pool)

    def records(self, *path: str, fields: tuple[str, ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
        """`[[<path>.<lang>]]` arrays of tables, each row as a tuple of `fields`, in file order."""
        out: dict[str, tuple[tuple[str, ...], ...]] = {}
        for lang in self.keys(*path):
            rows = self.get(*path, lang)
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise self.fail((*path, lang), "an array of tables")
            for i, row in enumerate(rows):
                if not all(isinstance(row.get(f), str) for f in fields):
                    raise self.fail((*path, f"{lang}[{i}]"), f"a table of strings {', '.join(fields)}")
            out[lang] = tuple(tuple(row[f] for f in fields) for row in rows)
        return out


def _lines(data: DataFile) -> tuple[dict[str, Line], Line]:
    place_sets = {name: data.pools("place_sets", name) for name in data.keys("place_sets")}
    if not data.has("lines", "generic"):
        raise data.fail(("lines", "generic"), "present: products of other lines use it")
    by_name: dict[str, Line] = {}
    by_alias: dict[str, Line] = {}
    for name in data.keys("lines"):
        places = data.text("lines", name, "places")
        if places not in place_sets:
            raise data.fail(("lines", name, "places"), f"one of {sorted(place_sets)}")
        line = by_name[name] = Line(
            en_noun=data.text("lines", name, "en_noun"),
            en_plural=data.flag("lines", name, "en_plural"),
            es_noun=data.strings("lines", name, "es_noun"),
            es_fem=data.flag("lines", name, "es_fem"),
            es_plural=data.flag("lines", name, "es_plural"),
            places=place_sets[places],
            **{
                field: data.pools("lines", name, field)
                for field in ("pros", "cons", "uses", "tips", "sizes", "looks", "usage", "tags")
            },
        )
        aliases = data.strings("lines", name, "aliases") if data.has("lines", name, "aliases") else ()
        by_alias.update((alias.casefold(), line) for alias in aliases)
    return by_alias, by_name["generic"]


def _keyed(data: DataFile, *path: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """`[<path>.<kind>] <lang> = [...]` as {(kind, lang): phrases}, in file order."""
    return {
        (kind, lang): phrases
        for kind in data.keys(*path)
        for lang, phrases in data.pools(*path, kind).items()
    }


def _templates(
    data: DataFile,
) -> tuple[dict[tuple[str, bool], Template], dict[tuple[str, str, str], Template]]:
    reviews = {
        (lang, positive): data.template("review", lang, key)
        for lang in LANGS
        for positive, key in ((True, "positive"), (False, "negative"))
    }
    templates = {
        (kind, lang, mode): data.template("kinds", kind, lang, mode)
        for kind in data.keys("kinds")
        for lang in data.keys("kinds", kind)
        for mode in data.keys("kinds", kind, lang)
    }
    missing = [
        f"{kind}.{lang}"
        for kind in KINDS
        if kind not in ("review", "spam", "offtopic")
        for lang in LANGS
        if (kind, lang, "product") not in templates
    ]
    if missing:
        raise data.fail(("kinds", f"({', '.join(missing)})", "product"), "present: every kind needs it")
    return reviews, templates


FILES: tuple[str, ...] = ("lines.toml", "templates.toml", "people.toml", "slots.toml")


@cache
def vocabulary() -> Vocabulary:
    """The packaged data files, parsed once per process."""
    return load({name: DataFile.packaged(name) for name in FILES})


def load(files: Mapping[str, DataFile]) -> Vocabulary:
    """The vocabulary in `files` (one `DataFile` per name in `FILES`), checked as it is read."""
    lines_file, texts, people, slots = (files[name] for name in FILES)
    lines, generic = _lines(lines_file)
    reviews, templates = _templates(texts)
    km = slots.get("distances", "km")
    if not isinstance(km, list) or not all(isinstance(v, int) and v > 0 for v in km):
        raise slots.fail(("distances", "km"), "a list of positive integers")
    return Vocabulary(
        lines=lines,
        generic=generic,
        reviews=reviews,
        templates=templates,
        reddit_more=texts.pools("reddit", "more"),
        reddit_titles=_keyed(texts, "reddit", "titles"),
        reply_openers=texts.pools("replies"),
        spam=texts.pools("spam"),
        offtopic={
            lang: tuple((source, text) for source, text in rows)
            for lang, rows in texts.records("offtopic", fields=("source", "text")).items()
        },
        alt_texts={
            (lang, subject): phrases
            for lang in LANGS
            for subject, phrases in texts.pools("alt_text", lang).items()
        },
        alt_subjects={
            kind: texts.text("alt_text", "subjects", kind) for kind in texts.keys("alt_text", "subjects")
        },
        kind_tags=_keyed(texts, "hashtags"),
        emoji=slots.pools("emoji"),
        cities=slots.pools("cities"),
        countries=slots.pools("countries"),
        km=tuple(km),
        fallback_competitors=slots.strings("competitors", "fallback"),
        first_names=people.pools("first_names"),
        last_names=people.pools("last_names"),
        handle_suffixes=people.pools("handle_suffixes"),
        bios=people.pools("bios"),
        reddit_adjectives=people.strings("reddit_names", "adjectives"),
        reddit_nouns=people.strings("reddit_names", "nouns"),
        celebrities={
            lang: tuple((handle, name, bio) for handle, name, bio in rows)
            for lang, rows in people.records("celebrities", fields=("handle", "name", "bio")).items()
        },
        outlets={
            lang: tuple((source, handle, name, bio) for source, handle, name, bio in rows)
            for lang, rows in people.records("outlets", fields=("source", "handle", "name", "bio")).items()
        },
        bots={
            lang: BotWords(*(people.strings("bots", lang, f) for f in ("first", "second", "names", "bios")))
            for lang in people.keys("bots")
        },
    )
