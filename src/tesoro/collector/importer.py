"""`tesoro import FILE`: a one-off backfill of a JSONL/CSV file, page by page.

Each page is one transaction, so an interrupted import keeps what it stored and a
second run of the same file adds nothing (posts are unique by platform and id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from tesoro.collector.files import BadRow, FileCollector
from tesoro.collector.runner import store_page

__all__ = ["ImportReport", "import_file"]


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    # Bad rows and posts the database refused, kept in quarantine under `import:<file name>`.
    quarantined: int = 0

    @property
    def good_rows(self) -> int:
        return self.inserted + self.updated


def import_file(
    engine: Engine,
    path: Path,
    *,
    brand_id: int | None = None,
    page_size: int = 2000,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Store every good row of `path`; bad rows are collected in the report with line and reason,
    and quarantined (`tesoro quarantine list`): every row passes the collector boundary."""
    report = ImportReport()
    collector = FileCollector(
        path=path, page_size=page_size, on_bad_row=report.bad_rows.append, on_progress=on_progress
    )
    for page in collector.pages(None):
        result = store_page(engine, page, source=f"import:{path.name}", brand_id=brand_id)
        report.inserted += result.inserted
        report.updated += result.updated
        report.quarantined += result.quarantined
    return report
