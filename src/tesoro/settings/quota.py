"""Each source's platform budget: how much it may spend, in which unit, over which window.

Every platform meters its API differently: X bills posts read per calendar month (the amount depends
on the plan bought), Instagram allows 30 unique hashtags per account in a rolling 7 days, YouTube
gives 10,000 quota units a day (reset at midnight Pacific time), TikTok's Research API 1,000
requests a day (reset at midnight UTC; its brand mentions, plan `mentions`, are unmetered), Threads
2,200 keyword-search queries in a rolling 24 hours, Reddit 100 requests a minute per OAuth client.
`PLATFORM_BUDGETS` holds those defaults per platform and plan; a source's `[sources.quota]` table picks
a plan and may override any part of it (a smaller share of an account two sources use, an enterprise
limit, a billing day other than the 1st).

Platforms that only answer with a 429 (Bluesky, Mastodon) and file imports have no budget
(`window = "none"`): the runner's rate-limit handling is all they need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from tesoro.settings.base import Section, parse_interval

__all__ = ["PLATFORM_BUDGETS", "Budget", "QuotaSettings", "QuotaWindow", "resolve_budget"]

QuotaWindow = Literal["none", "minute", "day", "rolling_24h", "rolling_7d", "month"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Budget:
    """One source's resolved budget: `limit` `unit`s per `window`.

    Fixed windows (`minute`, `day`, `month`) start again at `reset_time` in `reset_timezone` (a month
    on `reset_day`); rolling windows (`rolling_24h`, `rolling_7d`) free each unit that long after it
    was spent. `window = "none"` means the platform meters nothing Tesoro must plan for.
    """

    platform: str
    plan: str
    unit: str
    limit: int
    window: QuotaWindow
    reset_time: time = time(0, 0)
    reset_timezone: str = "UTC"
    reset_day: int = 1
    # False: the units are slots a run takes once and then keeps using (Instagram's unique hashtags),
    # not the cost of every run. The scheduler never stretches a source for them and a run gets no
    # allowance: the collector itself refuses what would need a slot more and collects the rest.
    paced: bool = True

    @property
    def metered(self) -> bool:
        return self.window != "none" and self.limit > 0


# The defaults per platform and plan; the first plan of each platform is its default plan.
PLATFORM_BUDGETS: dict[str, dict[str, Budget]] = {
    "x": {
        # X API v2 plans (developer.x.com, "Products"): posts read per month, reset on the billing day.
        "basic": Budget("x", "basic", "posts read", 15_000, "month"),
        "free": Budget("x", "free", "posts read", 100, "month"),
        "pro": Budget("x", "pro", "posts read", 1_000_000, "month"),
    },
    # Reddit's Data API: 100 queries per minute per OAuth client id.
    "reddit": {"default": Budget("reddit", "default", "requests", 100, "minute")},
    # Instagram Graph API: 30 unique hashtags per account in a rolling 7 days.
    "instagram": {"default": Budget("instagram", "default", "hashtags", 30, "rolling_7d", paced=False)},
    # YouTube Data API v3: 10,000 units a day per project, reset at midnight Pacific time.
    "youtube": {
        "default": Budget(
            "youtube", "default", "quota units", 10_000, "day", reset_timezone="America/Los_Angeles"
        )
    },
    # TikTok Research API: 1,000 requests a day, reset at 12 AM UTC.
    # TikTok API for Business brand mentions (a source with `account_id`): no request budget TikTok
    # documents publicly; it answers code 40100 when the app calls too often.
    "tiktok": {
        "default": Budget("tiktok", "default", "requests", 1_000, "day"),
        "mentions": Budget("tiktok", "mentions", "requests", 0, "none"),
    },
    # Threads keyword search: 2,200 queries per user in a rolling 24 hours.
    "threads": {"default": Budget("threads", "default", "queries", 2_200, "rolling_24h")},
    # Rate-limited by 429 only (the runner parks the source until the reset the platform names).
    "bluesky": {"default": Budget("bluesky", "default", "requests", 0, "none")},
    "mastodon": {"default": Budget("mastodon", "default", "requests", 0, "none")},
    "file": {"default": Budget("file", "default", "rows", 0, "none")},
}


class QuotaSettings(Section):
    """A source's `[sources.quota]`: the plan it runs on and, where needed, the budget spelled out."""

    plan: str | None = Field(
        None, description="the platform plan (X: basic, free or pro); unset: the platform's default plan"
    )
    limit: Annotated[int, Field(ge=0)] | None = Field(
        None, description="units per window; unset: the plan's (give each source its share of one account)"
    )
    window: QuotaWindow | None = Field(
        None, description="none, minute, day, rolling_24h, rolling_7d or month; unset: the platform's"
    )
    reset_time: str | None = Field(None, description="'HH:MM' a day or month window starts again at")
    reset_timezone: str | None = Field(None, description="IANA time zone of reset_time (YouTube: Pacific)")
    reset_day: Annotated[int, Field(ge=1, le=28)] | None = Field(
        None, description="day of the month a month window starts again (the plan's billing day)"
    )
    stretch_alert: Annotated[float, Field(ge=1.0, le=1000.0)] = Field(
        2.0,
        description="a coverage_lost alert fires once the scheduler stretches the source's interval "
        "beyond this many times the configured one (or the budget is spent before its reset)",
    )
    slot_warning: int = Field(
        86400, description="rolling windows: warn this long before spent units (hashtag slots) expire"
    )
    token_warning: int = Field(
        7 * 86400, description="warn this long before the token the source reported expires"
    )

    @field_validator("slot_warning", "token_warning", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> int:
        return parse_interval(value)

    @field_validator("reset_time")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None and not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day: write 'HH:MM' (24-hour clock)")
        return value

    @field_validator("reset_timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"{value!r} is not a known time zone (e.g. 'UTC', 'America/Los_Angeles')"
            ) from exc
        return value


def resolve_budget(platform: str, quota: QuotaSettings) -> Budget:
    """The platform's budget for the source's plan, with the source's overrides applied.

    An unknown plan raises `ValueError` naming the known ones; a platform Tesoro knows no budget for
    is unmetered unless the source gives `limit` and `window` itself.
    """
    plans = PLATFORM_BUDGETS.get(platform)
    if plans is None:
        base = Budget(platform, "default", "requests", 0, "none")
    elif quota.plan is None:
        base = next(iter(plans.values()))
    elif quota.plan in plans:
        base = plans[quota.plan]
    else:
        raise ValueError(f"{platform} has no plan {quota.plan!r} (known: {', '.join(plans)})")
    reset_time = base.reset_time
    if quota.reset_time is not None:
        hours, minutes = quota.reset_time.split(":")
        reset_time = time(int(hours), int(minutes))
    return Budget(
        platform=platform,
        plan=base.plan,
        unit=base.unit,
        limit=base.limit if quota.limit is None else quota.limit,
        window=base.window if quota.window is None else quota.window,
        reset_time=reset_time,
        reset_timezone=quota.reset_timezone or base.reset_timezone,
        reset_day=quota.reset_day or base.reset_day,
        paced=base.paced,
    )
