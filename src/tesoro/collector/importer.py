"""`tesoro import FILE`: a one-off backfill of a JSONL/CSV file, page by page.

Each page is one transaction, so an interrupted import keeps what it stored and a
second run of the same file adds nothing (posts are unique by platform and id).

Every imported post gets a brand: the row's own `brand`, else the one named with
`--brand`, else the only configured brand, else the brand whose listening queries it
matches. Like a file source, the import applies the brand's listening queries: a row
that matches none is reported, and kept out under `strict`. Importing again can give
posts stored without a brand their brand (a brand once set is never moved).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from tesoro.collector.files import BadRow, FileCollector
from tesoro.collector.runner import store_page
from tesoro.models import NormalizedPost, Page
from tesoro.settings import Settings
from tesoro.store.catalog import brand_by_name
from tesoro.store.engine import session_scope
from tesoro.text.query import Matcher, compile_matcher, parse

__all__ = ["BrandRule", "ImportReport", "Unmatched", "brand_rules", "import_file"]


@dataclass(frozen=True, slots=True)
class BrandRule:
    """A configured brand as the import assigns it: its id and its listening queries."""

    id: int
    name: str
    queries: tuple[Matcher, ...] = ()

    def matches(self, post: NormalizedPost) -> bool:
        """Whether the post matches one of the brand's queries (a brand without queries takes all)."""
        if not self.queries:
            return True
        text = f"{post.title}\n{post.text}" if post.title else post.text
        return any(q.matches(text, post.lang) for q in self.queries)


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A row that matches no listening query of its brand (`brand` None: no brand could be chosen)."""

    platform: str
    external_id: str
    brand: str | None


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    # Bad rows and posts the database refused, kept in quarantine under `import:<file name>`.
    quarantined: int = 0
    # Rows that match no listening query: stored and listed, or (strict) kept out.
    unmatched: list[Unmatched] = field(default_factory=list)
    kept_out: int = 0
    # Stored posts per brand name ("" for posts left without a brand).
    by_brand: dict[str, int] = field(default_factory=dict)

    @property
    def good_rows(self) -> int:
        return self.inserted + self.updated


def brand_rules(engine: Engine, settings: Settings) -> list[BrandRule]:
    """The configured brands, in the settings' order, with their stored ids and compiled queries."""
    rules: list[BrandRule] = []
    with session_scope(engine) as session:
        for brand in settings.brands:
            row = brand_by_name(session, brand.name)
            if row is None or row.id is None:
                continue
            queries = tuple(
                compile_matcher(parse(q.query)) for q in settings.queries if q.brand == brand.name
            )
            rules.append(BrandRule(id=row.id, name=brand.name, queries=queries))
    return rules


class _Assigner:
    """Chooses each post's brand and checks it against that brand's listening queries."""

    def __init__(self, rules: Sequence[BrandRule], brand: str | None, row_brands: dict[tuple[str, str], str]):
        self.by_name = {rule.name: rule for rule in rules}
        if brand is not None and brand not in self.by_name:
            known = ", ".join(self.by_name) or "none configured"
            raise LookupError(f"no brand named {brand!r} in the settings (brands: {known})")
        self.rules = list(rules)
        self.default = self.by_name[brand] if brand is not None else (rules[0] if len(rules) == 1 else None)
        self.row_brands = row_brands

    def assign(self, post: NormalizedPost) -> tuple[BrandRule | None, bool]:
        """(the post's brand, whether it matches that brand's queries)."""
        named = self.row_brands.get((post.platform.value, post.external_id))
        rule = self.by_name.get(named) if named is not None else self.default
        if rule is not None:
            return rule, rule.matches(post)
        if not self.rules:
            return None, True  # nothing configured: nothing to assign or apply
        found = next((r for r in self.rules if r.queries and r.matches(post)), None)
        return found, found is not None


def import_file(
    engine: Engine,
    path: Path,
    *,
    brands: Sequence[BrandRule] = (),
    brand: str | None = None,
    strict: bool = False,
    page_size: int = 2000,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Store every good row of `path`; bad rows are collected in the report with line and reason,
    and quarantined (`tesoro quarantine list`): every row passes the collector boundary.

    `brands` (from `brand_rules`) are the configured brands; `brand` names the one for rows
    without their own `brand`. Raises `LookupError` for an unknown `brand`; a row naming an
    unknown brand is a bad row.
    """
    report = ImportReport()
    collector = FileCollector(
        path=path,
        page_size=page_size,
        on_bad_row=report.bad_rows.append,
        on_progress=on_progress,
        brands=[rule.name for rule in brands] if brands else None,
    )
    assigner = _Assigner(brands, brand, collector.row_brands)
    source = f"import:{path.name}"
    for page in collector.pages(None):
        groups: dict[BrandRule | None, list[NormalizedPost]] = {}
        for post in page.posts:
            rule, matched = assigner.assign(post)
            if not matched:
                report.unmatched.append(
                    Unmatched(post.platform.value, post.external_id, rule.name if rule else None)
                )
                if strict:
                    report.kept_out += 1
                    continue
            groups.setdefault(rule, []).append(post)
        collector.row_brands.clear()
        # One transaction per brand of the page; the first carries the page's refused rows.
        parts = list(groups.items()) or [(None, [])]
        for i, (rule, posts) in enumerate(parts):
            part = Page(posts=tuple(posts), cursor=page.cursor, rejected=page.rejected if i == 0 else ())
            result = store_page(engine, part, source=source, brand_id=rule.id if rule else None)
            report.inserted += result.inserted
            report.updated += result.updated
            report.quarantined += result.quarantined
            name = rule.name if rule else ""
            report.by_brand[name] = report.by_brand.get(name, 0) + result.inserted + result.updated
    return report
