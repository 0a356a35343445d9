"""Running the service: log format, who may read /metrics, the scheduler's lease."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tesoro.settings.base import Section

__all__ = ["OpsSettings"]


class OpsSettings(Section):
    """Logs, metrics and the scheduler's lease (docs/operations.md)."""

    log_json: bool = Field(
        False,
        description="write logs as one JSON object per line (time, level, logger, message, request_id); "
        "`tesoro --log-json` does the same",
    )
    metrics_access: Literal["admin", "public", "off"] = Field(
        "admin",
        description="GET /metrics: 'admin' needs an admin key (Prometheus sends it as a bearer token), "
        "'public' answers anyone (only behind a network that keeps it private), 'off' answers 404",
    )
    scheduler_lease_s: Annotated[int, Field(ge=2, le=600)] = Field(
        15,
        description="seconds within which a standby `tesoro scheduler` takes over from a dead one "
        "(PostgreSQL only; on SQLite one scheduler runs without a lease)",
    )
