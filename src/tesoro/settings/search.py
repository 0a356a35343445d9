"""The library index shared between API processes through snapshot files (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from tesoro.settings.base import Section

__all__ = ["SearchSettings"]


class SearchSettings(Section):
    """Snapshots of the library index: written by the `index:snapshot` job, mapped by API processes."""

    snapshot_interval_s: int = Field(
        0,
        ge=0,
        le=86400,
        description="seconds between snapshots of the library index (the `index:snapshot` job); 0: none, "
        "every API process builds its own index from the store",
    )
    snapshot_dir: Path | None = Field(
        None,
        description="where the snapshots are written and read (default: <data_dir>/index); the API "
        "processes and the worker that writes them must see the same folder",
    )
    snapshot_check_s: float = Field(
        5.0, gt=0, le=3600, description="how often an API process looks for a newer snapshot"
    )
    snapshot_keep_s: int = Field(
        900,
        ge=0,
        le=86400,
        description="an older snapshot is deleted this long after a newer one was written (the newest "
        "two are always kept)",
    )
    snapshot_verify: bool = Field(
        True, description="check every file's SHA-256 when opening a snapshot (about a second per GB)"
    )

    @field_validator("snapshot_interval_s")
    @classmethod
    def _not_too_often(cls, value: int) -> int:
        if 0 < value < 10:
            raise ValueError("must be 0 (no snapshots) or at least 10 seconds")
        return value
