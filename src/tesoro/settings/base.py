"""What every settings section shares: the error type, the strict base model and small value parsers.

Kept apart from the sections so each domain module (catalog, alerts, curator, ...) can import it
without importing the others.
"""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigError", "Section", "parse_interval", "slug"]

_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
# The longest interval (a cooldown, a session, a schedule): 10 years, which still fits a 32-bit column.
_MAX_INTERVAL_S = 315_360_000
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class ConfigError(Exception):
    """A settings problem, phrased for the operator: where, which key, and why."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {key}: {reason}" if key else f"{source}: {reason}" for key, reason in problems]
        super().__init__("invalid configuration\n  " + "\n  ".join(lines))


def parse_interval(value: str | int | float, *, minimum: int = 10) -> int:
    """'90s', '5m', '2h', '1d' or a number of seconds -> seconds (at least `minimum`)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '5m', got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        seconds = int(value)
    elif not isinstance(value, str):
        raise ValueError(f"expected a duration like '5m' or a number of seconds, got {type(value).__name__}")
    else:
        match = _INTERVAL.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not a duration: use a number of seconds or '30s', '5m', '2h', '1d'"
            )
        seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2) or "s"]
    if seconds < minimum:
        if minimum == 10:
            raise ValueError("must be at least 10 seconds, or the platforms will rate-limit every run")
        raise ValueError(f"must be at least {minimum} second{'' if minimum == 1 else 's'}")
    if seconds > _MAX_INTERVAL_S:
        raise ValueError(f"must be at most {_MAX_INTERVAL_S} seconds (10 years)")
    return seconds


class Section(BaseModel):
    """Base for file sections: unknown keys are mistakes (typos), not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def slug(value: str) -> str:
    """A name other settings refer to (a query, a source, a rule): refused unless it is a plain slug."""
    if not _SLUG.match(value):
        raise ValueError(
            f"{value!r} must be lower-case letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return value
