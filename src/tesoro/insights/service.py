"""Insights as plain functions of (engine, settings): what the API routes and CLI commands call.

Each function opens its own unit of work, resolves the brand by name (none given
and one brand configured: that brand; several: all of them), reads through the
repository functions and computes with the pure formulas. Results are plain
dicts ready for JSON, so the API and the CLI print the same numbers.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tesoro.insights.kpis import (
    Bucket,
    RoeResult,
    SeriesPoint,
    VoiceShare,
    bucket_series,
    choose_bucket,
    derived_median,
    engagement_kpi,
    purchase_metrics,
    roe,
    sentiment_share,
    share_of_voice,
)
from tesoro.insights.relationship import (
    EventArrays,
    EventKind,
    Identities,
    RorTerms,
    RorWeights,
    compute_ror,
    events_from_facts,
    explain_arrays,
    group_identities,
    period_ends,
    ror_history,
)
from tesoro.settings import RoeEffort, Settings
from tesoro.store import kpis as kpi_store
from tesoro.store.engine import session_scope
from tesoro.store.relationships import (
    add_logged_event,
    advocates,
    brand_account_ids,
    dismiss_suggestion,
    identity_author_ids,
    link_accounts,
    linked_accounts,
    logged_events,
    relationship_facts,
    remove_logged_event,
    replace_ror_scores,
    ror_computed_at,
    ror_leaderboard,
    suggest_links,
    unlink_account,
)
from tesoro.store.scores import engagement_samples
from tesoro.store.tables import Brand, ListeningQuery

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

_RELATIVE = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")


# --- windows and brands -----------------------------------------------------------------------


def _parse_when(value: str, *, end: bool) -> datetime:
    """A date (whole day; an end date includes that day) or an ISO 8601 time (no offset: UTC)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a date (2026-11-01), a time (2026-11-01T10:00:00Z) or 30d/12w"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_time(value: str) -> datetime:
    """One moment from user input: a date (its start, UTC) or an ISO 8601 time (no offset: UTC)."""
    return _parse_when(value, end=False)


def parse_window(
    since: str | None, until: str | None, *, now: datetime | None = None, default_days: int = 30
) -> tuple[datetime, datetime]:
    """[since, until) from user input. `since` may also be relative to `until`: 30d, 12w, 6m, 1y."""
    end = _parse_when(until, end=True) if until else (now or datetime.now(UTC))
    if since is None:
        start = end - timedelta(days=default_days)
    elif match := _RELATIVE.match(since):
        n, unit = int(match.group(1)), match.group(2)
        start = end - timedelta(days=n * {"d": 1, "w": 7, "m": 30, "y": 365}[unit])
    else:
        start = _parse_when(since, end=False)
    if start >= end:
        raise ValueError(
            f"the window is empty: since {start.isoformat()} is not before until {end.isoformat()}"
        )
    return start, end


def resolve_brand(session: Session, name: str | None) -> Brand | None:
    """The named brand; with no name, the only brand when exactly one exists, else None (all brands)."""
    if name is not None:
        brand = session.exec(select(Brand).where(col(Brand.name) == name)).one_or_none()
        if brand is None:
            known = sorted(b.name for b in session.exec(select(Brand)))
            raise LookupError(f"no brand named {name!r} (known: {known})")
        return brand
    brands = list(session.exec(select(Brand).limit(2)))
    return brands[0] if len(brands) == 1 else None


def _handles(session: Session, brand: Brand | None) -> list[dict[str, str]]:
    if brand is not None:
        return [dict(brand.handles)]
    return [dict(b.handles) for b in session.exec(select(Brand))]


def _own_accounts(session: Session, brand: Brand | None) -> list[int]:
    """The brand's own accounts (all brands' when None), left out of every "mentions" KPI."""
    return sorted(brand_account_ids(session, handles=_handles(session, brand)))


def _brand_id(brand: Brand | None) -> int | None:
    return brand.id if brand is not None else None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


# --- ROR --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RorTable:
    """Everyone's ROR for one brand at one moment (columns per person)."""

    brand_id: int | None
    as_of: datetime
    identities: Identities
    terms: RorTerms
    events: int


def ror_table(session: Session, settings: Settings, brand: Brand | None, *, as_of: datetime) -> RorTable:
    """Compute (not store) every person's ROR: a few whole-table scans, then one numpy pass."""
    facts = relationship_facts(
        session,
        brand_id=_brand_id(brand),
        brand_handles=_handles(session, brand),
        ugc_content_types=settings.relationship.ugc_content_types,
        until=as_of,
        spam_threshold=settings.relationship.spam_threshold,
    )
    events = events_from_facts(facts)
    identities = group_identities(events)
    terms = compute_ror(
        events,
        identities.group,
        identities.count,
        as_of=as_of,
        weights=RorWeights.from_settings(settings.relationship),
    )
    return RorTable(_brand_id(brand), as_of, identities, terms, len(events))


@dataclass(frozen=True, slots=True)
class RefreshResult:
    brand: str | None
    people: int
    events: int
    seconds: float
    as_of: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "people": self.people,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "as_of": self.as_of.isoformat(),
        }


def _snapshot_rows(table: RorTable, computed_at: datetime) -> list[dict[str, Any]]:
    t = table.terms
    ids = table.identities
    # Whole columns to Python lists first: indexing numpy arrays element by element is 20x slower.
    last = [None if math.isnan(x) else datetime.fromtimestamp(x, tz=UTC) for x in t.last_event_at.tolist()]
    columns = zip(
        ids.person_id.tolist(),
        ids.author_id.tolist(),
        t.score.tolist(),
        t.events_term.tolist(),
        t.loyalty_term.tolist(),
        t.advocacy_term.tolist(),
        t.trend_term.tolist(),
        t.events.tolist(),
        t.months_active.tolist(),
        last,
        strict=True,
    )
    return [
        {
            "person_id": person if person > 0 else None,
            "author_id": author,
            "score": score,
            "events_term": events_term,
            "loyalty_term": loyalty,
            "advocacy_term": advocacy,
            "trend_term": trend,
            "events": events,
            "months_active": months,
            "last_event_at": last_at,
            "computed_at": computed_at,
        }
        for person, author, score, events_term, loyalty, advocacy, trend, events, months, last_at in columns
    ]


def refresh_ror(
    engine: Engine, settings: Settings, *, brand_name: str | None = None, as_of: datetime | None = None
) -> RefreshResult:
    """Recompute everyone's ROR for the brand and replace the stored leaderboard in one transaction.

    Meant for a scheduled job (hourly is plenty: ROR moves over days) and the
    "refresh" button; readers keep seeing the previous snapshot until the commit.
    """
    started = time.perf_counter()
    moment = as_of or datetime.now(UTC)
    with session_scope(engine) as session:
        brand = resolve_brand(session, brand_name)
        table = ror_table(session, settings, brand, as_of=moment)
        replace_ror_scores(session, brand_id=table.brand_id, rows=_snapshot_rows(table, moment))
    return RefreshResult(
        brand=brand.name if brand else None,
        people=table.identities.count,
        events=table.events,
        seconds=time.perf_counter() - started,
        as_of=moment,
    )


def leaderboard(
    engine: Engine,
    settings: Settings,
    *,
    brand_name: str | None = None,
    top: int = 20,
    offset: int = 0,
    refresh: bool = False,
) -> dict[str, Any]:
    """The stored ROR leaderboard (computed first when asked, or when there is none yet)."""
    with session_scope(engine) as session:
        brand = resolve_brand(session, brand_name)
        computed = ror_computed_at(session, brand_id=_brand_id(brand))
    if refresh or computed is None:
        refresh_ror(engine, settings, brand_name=brand.name if brand else None)
    with session_scope(engine) as session:
        computed = ror_computed_at(session, brand_id=_brand_id(brand))
        rows = ror_leaderboard(session, brand_id=_brand_id(brand), limit=top, offset=offset)
    return {
        "brand": brand.name if brand else None,
        "computed_at": _iso(computed),
        "advocate_min_ror": settings.relationship.advocate_min_ror,
        "items": [row.as_dict() for row in rows],
    }


def _account_json(a: Any) -> dict[str, Any]:
    return {
        "author_id": a.id,
        "platform": a.platform,
        "handle": a.handle,
        "display_name": a.display_name,
        "followers": a.followers,
        "profile_url": a.profile_url,
        "person_id": a.person_id,
    }


def person_page(
    engine: Engine,
    settings: Settings,
    *,
    author_id: int,
    brand_name: str | None = None,
    every: Literal["month", "week"] = "month",
    as_of: datetime | None = None,
    max_events: int = 200,
) -> dict[str, Any]:
    """An author page's relationship data: linked accounts, ROR now with its breakdown, its history.

    Computed live for this one person (their posts only), so it always reflects
    the latest curation decisions even between leaderboard refreshes.
    """
    moment = as_of or datetime.now(UTC)
    weights = RorWeights.from_settings(settings.relationship)
    with session_scope(engine) as session:
        brand = resolve_brand(session, brand_name)
        author_ids = identity_author_ids(session, author_id=author_id)
        if not author_ids:
            raise LookupError(f"no author with id {author_id}")
        accounts = [_account_json(a) for a in linked_accounts(session, author_id=author_id)]
        facts = relationship_facts(
            session,
            brand_id=_brand_id(brand),
            brand_handles=_handles(session, brand),
            ugc_content_types=settings.relationship.ugc_content_types,
            author_ids=author_ids,
            until=moment,
            spam_threshold=settings.relationship.spam_threshold,
        )
        hints = [
            {"author_id": s.author_id, "other_id": s.other_id, "token": s.token, "reason": s.reason}
            for s in suggest_links(session, author_id=author_id, limit=10)
        ]
        logged = logged_events(session, author_ids=author_ids)
    events = events_from_facts(facts)
    breakdown = explain_arrays(events, as_of=moment, weights=weights)
    history = ror_history(events, ends=_history_ends(events, moment, every), weights=weights)
    return {
        "brand": brand.name if brand else None,
        "author_id": author_id,
        "person_id": accounts[0]["person_id"] if accounts else None,
        "accounts": accounts,
        "ror": breakdown.as_dict(max_events=max_events),
        "formula": _formula(weights),
        "history": {"every": every, "points": [p.as_dict() for p in history]},
        "link_suggestions": hints,
        "logged_events": logged,
    }


def _history_ends(events: EventArrays, as_of: datetime, every: Literal["month", "week"]) -> list[datetime]:
    past = events.at[events.at <= as_of.timestamp()]
    if past.size == 0:
        return [as_of]
    first = datetime.fromtimestamp(float(past.min()), tz=UTC)
    # At most five years of months or two years of weeks: older points say nothing new.
    horizon = as_of - (timedelta(days=5 * 366) if every == "month" else timedelta(weeks=104))
    return period_ends(max(first, horizon), as_of, every)


def _formula(weights: RorWeights) -> dict[str, Any]:
    return {
        "text": "ROR = events + loyalty + advocacy + sentiment_trend",
        "half_life_days": weights.half_life_days,
        "loyalty_weight": weights.loyalty_weight,
        "advocacy_weight": weights.advocacy_weight,
        "trend_weight": weights.trend_weight,
        "trend_window_days": weights.trend_window_days,
        "event_values": {kind.value: value for kind, value in weights.values.items()},
    }


# --- identity ---------------------------------------------------------------------------------


def link(engine: Engine, *, author_ids: Sequence[int], actor: str, display_name: str | None = None) -> int:
    with session_scope(engine) as session:
        return link_accounts(session, author_ids=author_ids, actor=actor, display_name=display_name)


def unlink(engine: Engine, *, author_id: int, actor: str) -> None:
    with session_scope(engine) as session:
        unlink_account(session, author_id=author_id, actor=actor)


def dismiss(engine: Engine, *, author_a: int, author_b: int, actor: str) -> None:
    with session_scope(engine) as session:
        dismiss_suggestion(session, author_a=author_a, author_b=author_b, actor=actor)


# --- events logged by hand -------------------------------------------------------------------

# A hand-logged event's value is its weight (times the usual decay); this bounds one entry's effect.
MAX_LOGGED_WEIGHT = 100.0
_LOGGED_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")
# What Tesoro derives from posts, replies and curation itself: logging one by hand would count it twice.
_DERIVED_KINDS = frozenset(kind.value for kind in EventKind if kind is not EventKind.MANUAL)


def log_event(
    engine: Engine,
    *,
    author_id: int,
    kind: str,
    actor: str,
    weight: float = 1.0,
    occurred_at: datetime | None = None,
    post_id: int | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Log what Tesoro cannot see (a purchase, a meet-up, a gift...) as a relationship event.

    It counts in the person's ROR like any event, with its weight as its value. The kind is a
    short label (`purchase`, `meet_up`); kinds Tesoro derives itself are refused. Audited.
    """
    label = re.sub(r"[\s-]+", "_", kind.strip().casefold())
    if not _LOGGED_KIND.fullmatch(label):
        raise ValueError(
            f"kind {kind!r}: use a short label of letters, digits and underscores, starting with a letter "
            "(e.g. purchase, meet_up, gift)"
        )
    if label in _DERIVED_KINDS:
        raise ValueError(
            f"kind {label!r} is derived from posts and curation by Tesoro itself; log what it cannot see "
            "(a purchase, a meet-up, a gift...)"
        )
    if not math.isfinite(weight) or weight == 0 or abs(weight) > MAX_LOGGED_WEIGHT:
        raise ValueError(
            f"weight {weight}: must be a non-zero number "
            f"between -{MAX_LOGGED_WEIGHT:g} and {MAX_LOGGED_WEIGHT:g}"
        )
    moment = now or datetime.now(UTC)
    when = occurred_at or moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > moment + timedelta(minutes=5):
        raise ValueError(f"occurred_at {when.isoformat()} is in the future")
    text = note.replace("\x00", "").strip() if note else None  # PostgreSQL text cannot hold NUL
    if text is not None and len(text) > 500:
        raise ValueError("note: at most 500 characters")
    with session_scope(engine) as session:
        return add_logged_event(
            session,
            author_id=author_id,
            kind=label,
            weight=float(weight),
            occurred_at=when,
            actor=actor,
            post_id=post_id,
            note=text or None,
        )


def delete_event(engine: Engine, *, author_id: int, event_id: int, actor: str) -> dict[str, Any]:
    """Remove a hand-logged event (audited); returns what it was."""
    with session_scope(engine) as session:
        return remove_logged_event(session, author_id=author_id, event_id=event_id, actor=actor)


def suggestions(engine: Engine, *, author_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        found = suggest_links(session, author_id=author_id, limit=limit)
        ids = sorted({s.author_id for s in found} | {s.other_id for s in found})
        accounts: dict[int, dict[str, Any]] = {}
        for author_id_ in ids:
            for account in linked_accounts(session, author_id=author_id_):
                if account.id == author_id_:
                    accounts[author_id_] = _account_json(account)
    return [
        {
            "account": accounts.get(s.author_id),
            "other": accounts.get(s.other_id),
            "token": s.token,
            "reason": s.reason,
        }
        for s in found
    ]


# --- KPIs -------------------------------------------------------------------------------------


def _change(now: float, before: float) -> float | None:
    return (now - before) / before if before else None


def volume_report(
    engine: Engine,
    *,
    brand_name: str | None,
    platform: str | None,
    since: datetime,
    until: datetime,
    bucket: Bucket | None = None,
) -> tuple[Bucket, list[SeriesPoint]]:
    """Volume and sentiment per day/week/month of the window."""
    chosen = bucket or choose_bucket(since, until)
    with session_scope(engine) as session:
        brand = resolve_brand(session, brand_name)
        filters = kpi_store.post_filters(
            since=since,
            until=until,
            brand_id=_brand_id(brand),
            platform=platform,
            exclude_authors=_own_accounts(session, brand),
        )
        rows = kpi_store.daily_sentiment(session, filters)
    return chosen, bucket_series(rows, since=since, until=until, bucket=chosen)


def share_of_voice_report(
    engine: Engine, *, brand_name: str | None, platform: str | None, since: datetime, until: datetime
) -> list[VoiceShare]:
    """The brand's mentions against each configured competitor's (posts whose text names it)."""
    with session_scope(engine) as session:
        brand = resolve_brand(session, brand_name)
        if brand is None:
            return []
        filters = kpi_store.post_filters(
            since=since,
            until=until,
            brand_id=brand.id,
            platform=platform,
            exclude_authors=_own_accounts(session, brand),
        )
        own = kpi_store.totals(session, filters).posts
        rivals = kpi_store.competitor_counts(
            session, names=list(brand.competitors), since=since, until=until, platform=platform
        )
    return share_of_voice(brand.name, own, rivals)


def kpi_report(
    engine: Engine,
    settings: Settings,
    *,
    brand_name: str | None = None,
    platform: str | None = None,
    since: datetime,
    until: datetime,
    top: int = 10,
) -> dict[str, Any]:
    """Every KPI of the window, with the previous window of equal length for the trends."""
    length = until - since
    with session_scope(engine) as session:
        brand = resolve_brand(session, brand_name)
        brand_id = _brand_id(brand)
        own = _own_accounts(session, brand)
        now_f = kpi_store.post_filters(
            since=since, until=until, brand_id=brand_id, platform=platform, exclude_authors=own
        )
        before_f = kpi_store.post_filters(
            since=since - length, until=since, brand_id=brand_id, platform=platform, exclude_authors=own
        )
        platforms = kpi_store.platform_totals(session, now_f)
        # Authors belong to one platform each, so per-platform distinct authors add up exactly.
        current = kpi_store.Totals(
            posts=sum(p[1] for p in platforms),
            authors=sum(p[2] for p in platforms),
            interactions=sum(p[3] for p in platforms),
            potential_reach=kpi_store.potential_reach(session, now_f),
        )
        previous = kpi_store.totals(session, before_f)
        daily = kpi_store.daily_sentiment(session, now_f)
        counts: dict[str | None, int] = {}
        for _, label, n in daily:
            counts[label] = counts.get(label, 0) + n
        sentiment = sentiment_share(counts)
        sentiment_before = sentiment_share(kpi_store.sentiment_counts(session, before_f))
        columns = kpi_store.engagement_columns(session, now_f, platforms=[p[0] for p in platforms])
        engagement = []
        for name, (interactions, followers, views) in columns.items():
            derived = derived_median(engagement_samples(session, platform=name))
            engagement.append(engagement_kpi(name, interactions, followers, views, derived=derived).as_dict())
        top_ugc = kpi_store.top_ugc(
            session, now_f, ugc_content_types=settings.relationship.ugc_content_types, limit=top
        )
        rivals = (
            kpi_store.competitor_counts(
                session, names=list(brand.competitors), since=since, until=until, platform=platform
            )
            if brand is not None
            else {}
        )
    bucket = choose_bucket(since, until)
    series = bucket_series(daily, since=since, until=until, bucket=bucket)
    net_now, net_before = sentiment.net, sentiment_before.net
    return {
        "brand": brand.name if brand else None,
        "platform": platform,
        "window": {"since": since.isoformat(), "until": until.isoformat(), "bucket": bucket},
        "volume": {
            "mentions": current.posts,
            "unique_authors": current.authors,
            "interactions": current.interactions,
            "potential_reach": current.potential_reach,
            "previous": {
                "mentions": previous.posts,
                "unique_authors": previous.authors,
                "interactions": previous.interactions,
                "potential_reach": previous.potential_reach,
            },
            "change": {
                "mentions": _change(current.posts, previous.posts),
                "unique_authors": _change(current.authors, previous.authors),
                "potential_reach": _change(current.potential_reach, previous.potential_reach),
            },
        },
        "by_platform": [
            {"platform": p, "mentions": n, "unique_authors": a, "interactions": i} for p, n, a, i in platforms
        ],
        "sentiment": {
            **sentiment.as_dict(),
            "previous": sentiment_before.as_dict(),
            "net_change": net_now - net_before if net_now is not None and net_before is not None else None,
        },
        "series": [p.as_dict() for p in series],
        "share_of_voice": [
            v.as_dict()
            for v in (share_of_voice(brand.name, current.posts, rivals) if brand is not None else [])
        ],
        "engagement": engagement,
        "top_advocates": leaderboard(engine, settings, brand_name=brand.name if brand else None, top=top)[
            "items"
        ],
        "top_ugc": [p.as_dict() for p in top_ugc],
    }


# --- ROE --------------------------------------------------------------------------------------


def _target(effort: RoeEffort) -> str:
    if effort.query is not None:
        return f"query:{effort.query}"
    if effort.hashtag is not None:
        return f"#{effort.hashtag}"
    return f"brand:{effort.brand}"


def roe_report(engine: Engine, settings: Settings, *, brand_name: str | None = None) -> list[RoeResult]:
    """ROE of every declared effort (optionally of one brand), oldest first per target, with trends."""
    efforts = [e for e in settings.roe.effort if brand_name is None or e.brand == brand_name]
    efforts.sort(key=lambda e: (_target(e), e.start))
    results: list[RoeResult] = []
    previous: dict[str, RoeResult] = {}
    with session_scope(engine) as session:
        for effort in efforts:
            brand = resolve_brand(session, effort.brand)
            assert brand is not None and brand.id is not None
            start = datetime(effort.start.year, effort.start.month, effort.start.day, tzinfo=UTC)
            end = datetime(effort.end.year, effort.end.month, effort.end.day, tzinfo=UTC) + timedelta(days=1)
            query_id = None
            if effort.query is not None:
                row = session.exec(
                    select(ListeningQuery).where(col(ListeningQuery.name) == effort.query)
                ).first()
                query_id = row.id if row is not None else -1
            own = _own_accounts(session, brand)
            filters = kpi_store.post_filters(
                since=start,
                until=end,
                brand_id=brand.id,
                query_id=query_id,
                hashtag=effort.hashtag,
                exclude_authors=own,
            )
            earned = kpi_store.earned_engagement(
                session, filters, ugc_content_types=settings.relationship.ugc_content_types
            )
            published = effort.posts
            if published is None:
                published = kpi_store.brand_posts_count(session, author_ids=own, since=start, until=end)
            target = _target(effort)
            result = roe(
                target=target,
                start=start,
                end=end,
                posts_about=earned.posts,
                interactions=earned.interactions,
                ugc=earned.ugc,
                reach=earned.reach,
                posts_published=published,
                hours=effort.hours,
                spend=effort.spend,
                ugc_value=settings.roe.ugc_value,
                reach_value=settings.roe.reach_value,
                previous=previous.get(target),
            )
            previous[target] = result
            results.append(result)
    return results


# --- purchases --------------------------------------------------------------------------------


def purchases_report(
    engine: Engine, settings: Settings, *, brand_name: str | None = None, since: datetime, until: datetime
) -> dict[str, Any]:
    """Purchase frequency, average order value and repeat rate: advocates (ROR >= threshold) vs the rest.

    An order belongs to a person when its customer was linked to one of their
    accounts; unlinked customers count as "everyone else".
    """
    with session_scope(engine) as session:
        kpi_store.link_orders(session)
        customer, author, person, amount = kpi_store.order_columns(session, since=since, until=until)
        brand = resolve_brand(session, brand_name)
        computed = ror_computed_at(session, brand_id=_brand_id(brand))
    if computed is None and customer:
        refresh_ror(engine, settings, brand_name=brand.name if brand else None)
    threshold = settings.relationship.advocate_min_ror
    with session_scope(engine) as session:
        top = advocates(session, brand_id=_brand_id(brand), min_score=threshold)
    advocate_keys = {f"p{p}" if p is not None else f"a{a}" for a, p in top}
    keys = np.array(
        [
            f"p{p}" if p > 0 else (f"a{a}" if a > 0 else f"c{c}")
            for c, a, p in zip(customer, author.tolist(), person.tolist(), strict=True)
        ],
        dtype=object,
    )
    is_advocate = np.array([k in advocate_keys for k in keys], dtype=np.bool_)
    return {
        "brand": brand.name if brand else None,
        "window": {"since": since.isoformat(), "until": until.isoformat()},
        "advocate_min_ror": threshold,
        "orders": int(keys.size),
        "linked_orders": int(np.count_nonzero(author > 0)),
        "advocates": purchase_metrics(keys[is_advocate], amount[is_advocate]).as_dict(),
        "everyone_else": purchase_metrics(keys[~is_advocate], amount[~is_advocate]).as_dict(),
    }
