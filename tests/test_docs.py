"""The docs stay true to the code: generated references are current and every relative link resolves.

docs/cli.md and docs/settings.md carry `cog` blocks generated from the typer app and the settings
models (docs/_gen.py). A command, option or settings key changed without regenerating them fails
here, with the command that fixes it. The link check catches pages renamed or moved without their
links, which the restructure makes likely.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import typer.main
from cogapp import Cog

from tesoro.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATED = [DOCS / "cli.md", DOCS / "settings.md"]
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The Markdown without fenced blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _anchors(page: Path) -> set[str]:
    """Heading anchors as GitHub makes them: lower case, punctuation dropped, spaces to hyphens."""
    anchors: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower())
        anchors.add(text.replace(" ", "-"))
    return anchors


def _relative_links(page: Path) -> list[str]:
    text = _prose(page.read_text(encoding="utf-8"))
    links = _INLINE_LINK.findall(text) + _REFERENCE.findall(text)
    return [link for link in links if not re.match(r"^[a-z][a-z0-9+.-]*:", link, re.IGNORECASE)]


def test_generated_references_match_the_code() -> None:
    status = Cog().main(
        [
            "cog",
            "--check",
            "--diff",
            "--verbosity=0",
            "--check-fail-msg=regenerate with: .venv/bin/cog -r -I docs docs/cli.md docs/settings.md",
            "-I",
            str(DOCS),
            *map(str, GENERATED),
        ]
    )
    assert status == 0, "docs/cli.md or docs/settings.md is out of date (cog --check failed, diff above)"


def test_cli_reference_lists_every_command() -> None:
    """A guard on the generator itself: an empty or partial reference would pass `cog --check`."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")

    def paths(group: object, prefix: str) -> list[str]:
        found = []
        for name, command in getattr(group, "commands", {}).items():
            found.append(f"{prefix} {name}")
            found += paths(command, f"{prefix} {name}")
        return found

    commands = paths(typer.main.get_command(app), "tesoro")
    assert len(commands) > 30
    missing = [c for c in commands if f"`{c}`" not in text]
    assert not missing, f"not in docs/cli.md: {missing}"


def test_settings_reference_lists_every_section() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    for title in ("[database]", "[[sources]]", "[[alerts]]", "[curator.weights]", "[[roe.effort]]"):
        assert f"`{title}`" in text
    assert "`busy_timeout_ms`" in text


def _resolves(page: Path, link: str) -> bool:
    """The file exists and, for a link into a Markdown page, so does the heading it names."""
    target, _, anchor = link.partition("#")
    path = (page.parent / target).resolve() if target else page
    if not path.exists():
        return False
    return not anchor or path.suffix != ".md" or anchor.lower() in _anchors(path)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = [link for link in _relative_links(page) if not _resolves(page, link)]
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_readme_explains_every_runtime_dependency() -> None:
    """Each dependency in pyproject.toml is named in the README's "Dependencies and why"."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Dependencies and why", 1)[1].split("\n## ", 1)[0].casefold()
    words = set(re.findall(r"[\w.-]+", section.replace("_", "-")))
    missing = []
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert name is not None, requirement
        if name.group(0).casefold().replace("_", "-") not in words:
            missing.append(name.group(0))
    assert not missing, f"README.md, Dependencies and why, does not name: {missing}"


def test_link_check_sees_links() -> None:
    """The link pattern really finds links (else the check above would pass on anything)."""
    sample = ROOT / "README.md"
    assert any(link.startswith("docs/") for link in _relative_links(sample))
    assert _resolves(DOCS / "api.md", "operations.md#two-ways-to-run")
    assert not _resolves(DOCS / "api.md", "operations.md#no-such-heading")
    assert not _resolves(DOCS / "api.md", "no-such-page.md")
