"""The simulator as a package: who may import it, its data files, and a world pinned byte for byte.

The generator's phrases live in TOML files, so these tests catch what an edit to the data
can break without touching code: a slot name the generator does not know, a file left out
of the wheel, or (deliberately) any change to the world a seed gives.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import random
import tomllib
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

import tesoro.simulator
from tesoro.simulator import generator
from tesoro.simulator.generator.compiled import compiled
from tesoro.simulator.generator.slots import Slots
from tesoro.simulator.generator.vocabulary import FILES, DataFile, load, vocabulary
from tesoro.simulator.model import ProductSpec, WorldSpec
from tesoro.simulator.world import World

SRC = Path(tesoro.simulator.__file__).resolve().parents[1]
PYPROJECT = SRC.parents[1] / "pyproject.toml"
# The only parts of the service allowed to import the simulator: itself and the CLI (`tesoro demo`).
ALLOWED = ("simulator", "cli")


def _imports_simulator(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        if any(n == "tesoro.simulator" or n.startswith("tesoro.simulator.") for n in names):
            lines.append(node.lineno)
    return lines


def test_only_the_simulator_and_the_cli_import_it() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).parts[0] not in ALLOWED
        for line in _imports_simulator(path)
    ]
    assert offenders == [], "the service must not depend on its test double"


def test_the_data_files_are_packaged() -> None:
    patterns = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    data = sorted((SRC / "simulator" / "data").iterdir())
    assert [p.name for p in data] == ["lines.toml", "people.toml", "slots.toml", "templates.toml"]
    for path in data:
        relative = path.relative_to(SRC).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns["tesoro"]), relative


def test_exported_names() -> None:
    names = ["KINDS", "KIND_WEIGHTS", "bluesky_did", "generate_post", "youtube_video_id"]
    assert sorted(generator.__all__) == names
    assert tuple(kind for kind, _ in generator.KIND_WEIGHTS) == generator.KINDS


def _phrases() -> list[tuple[str, str, str]]:
    """(where, lang, phrase) for every phrase a post's slots fill in."""
    words = vocabulary()
    out: list[tuple[str, str, str]] = []
    for (lang, positive), parts in words.reviews.items():
        out += [(f"review.{lang}.{positive}", lang, p) for pool in parts for p in pool]
    for (kind, lang, mode), parts in words.templates.items():
        out += [(f"kinds.{kind}.{lang}.{mode}", lang, p) for pool in parts for p in pool]
    for (kind, lang), titles in words.reddit_titles.items():
        out += [(f"reddit.titles.{kind}", lang, t) for t in titles]
    for (lang, subject), texts in words.alt_texts.items():
        out += [(f"alt_text.{lang}.{subject}", lang, t) for t in texts]
    for lang, rows in words.offtopic.items():
        out += [(f"offtopic.{lang}", lang, text) for _, text in rows]
    for lang, more in words.reddit_more.items():
        out += [(f"reddit.more.{lang}", lang, m) for m in more]
    return out


@pytest.mark.parametrize(
    "product",
    [
        ProductSpec("Cumbre Trail Runner", ("cumbre",), "footwear"),
        ProductSpec("Nube Rain Jacket", ("nube",), "apparel"),
        ProductSpec("Volcan 40L Pack", ("volcan",), "packs"),
        ProductSpec("Lumo Lamp"),
        None,
    ],
    ids=["footwear", "apparel", "packs", "generic", "brand"],
)
def test_every_slot_in_the_data_is_one_the_generator_fills(product: ProductSpec | None) -> None:
    spec = WorldSpec(products=(product,) if product else ())
    world = compiled(spec)
    ctx = world.products[0] if product else world.brand_ctx
    rng = random.Random(1)
    for where, lang, phrase in _phrases():
        slots = Slots(ctx.static[lang], rng, world, ctx, lang, "x")
        slots["stars"] = "5"  # set by the review code path before its template is composed
        text = phrase.format_map(slots)
        assert "{" not in text and "}" not in text, f"{where}: {phrase!r} -> {text!r}"


def _drawn(value: Any) -> Any:
    """A post as plain data without the fields left at their defaults: a field added to the model
    with a default (one more platform shape) is not a change of the world a seed gives."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _drawn(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.default is dataclasses.MISSING or getattr(value, f.name) != f.default
        }
    if isinstance(value, tuple):
        return [_drawn(v) for v in value]
    return value


def test_a_seed_gives_the_same_world_as_before() -> None:
    """Pinned: the first 500 posts of seed 11 on the first four platforms (a platform added later does
    not change their draws). A deliberate change to the data or the draws updates it."""
    first_four = ("x", "reddit", "bluesky", "mastodon")
    posts = World(spec=WorldSpec(seed=11)).grow(
        125, platforms=first_four, now=datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    )
    blob = json.dumps([_drawn(p) for p in posts], default=str, ensure_ascii=False, sort_keys=True)
    assert hashlib.sha256(blob.encode()).hexdigest() == (
        "0099c3c0c210a53faae08a4bee708a4b0a0ddb8b8e31c8c9f2c7bfaf932c19c4"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"spam": {"en": ["fine", 3]}}, "templates.toml: spam.en must be a list of strings"),
        ({"spam": "nope"}, "templates.toml: spam must be a table"),
        ({}, "templates.toml: spam must be present"),
    ],
)
def test_a_bad_data_value_names_the_file_and_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DataFile("templates.toml", data).pools("spam")


def test_a_kind_without_templates_fails_at_load() -> None:
    files = {name: DataFile.packaged(name) for name in FILES}
    del files["templates.toml"].data["kinds"]["meme"]["es"]
    with pytest.raises(ValueError, match=r"kinds\.\(meme\.es\)\.product must be present"):
        load(files)
