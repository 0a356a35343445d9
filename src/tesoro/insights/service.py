"""Insights as plain functions of (engine, settings): the one surface the API routes and CLI commands call.

The functions live by topic: `insights.scope` (windows and brands from user input),
`insights.people` (ROR per person, the leaderboard, identities, events logged by
hand) and `insights.reports` (volume, share of voice, KPIs, ROE, purchases). This
module names them together so that a route and a command reach the same function
the same way (`service.kpi_report(...)`), and print the same numbers.
"""

from __future__ import annotations

from tesoro.insights.people import (
    MAX_LOGGED_WEIGHT,
    RefreshResult,
    RorTable,
    delete_event,
    dismiss,
    leaderboard,
    link,
    log_event,
    person_page,
    refresh_ror,
    ror_table,
    suggestions,
    unlink,
)
from tesoro.insights.reports import (
    kpi_report,
    purchases_report,
    roe_report,
    share_of_voice_report,
    volume_report,
)
from tesoro.insights.scope import parse_time, parse_window, resolve_brand

__all__ = [
    "MAX_LOGGED_WEIGHT",
    "RefreshResult",
    "RorTable",
    "delete_event",
    "dismiss",
    "kpi_report",
    "leaderboard",
    "link",
    "log_event",
    "parse_time",
    "parse_window",
    "person_page",
    "purchases_report",
    "refresh_ror",
    "resolve_brand",
    "roe_report",
    "ror_table",
    "share_of_voice_report",
    "suggestions",
    "unlink",
    "volume_report",
]
