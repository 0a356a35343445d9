"""ROR per person, as the API and the command line ask for it: the table, the leaderboard, a person's page.

Also the coordinator actions that change whose events count for whom: linking the
accounts of one human across platforms (and dismissing a suggested link), and
relationship events logged by hand for what Tesoro cannot see (a purchase, a
meet-up). Each function opens its own unit of work, reads through the repository
functions of `store.relationships` and computes with the pure formulas of
`insights.relationship`; results are plain dicts ready for JSON.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.insights.events import EventArrays, EventKind, Identities, events_from_facts, group_identities
from tesoro.insights.relationship import (
    RorTerms,
    RorWeights,
    compute_ror,
    explain_arrays,
    period_ends,
    ror_history,
)
from tesoro.insights.scope import brand_handles, brand_id_of, iso_time, resolve_brand
from tesoro.settings import Settings
from tesoro.store.engine import session_scope
from tesoro.store.kpis import link_orders
from tesoro.store.relationships import (
    add_logged_event,
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
from tesoro.store.tables import Brand

__all__ = [
    "MAX_LOGGED_WEIGHT",
    "RefreshResult",
    "RorTable",
    "delete_event",
    "dismiss",
    "leaderboard",
    "link",
    "log_event",
    "person_page",
    "refresh_ror",
    "ror_table",
    "suggestions",
    "unlink",
]


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
        brand_id=brand_id_of(brand),
        brand_handles=brand_handles(session, brand),
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
    return RorTable(brand_id_of(brand), as_of, identities, terms, len(events))


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
        # Orders whose customer was collected since they were imported are linked here, not by a
        # report's GET: reading never writes.
        link_orders(session)
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
    compute_missing: bool = False,
) -> dict[str, Any]:
    """The stored ROR leaderboard (computed first when asked, or, with `compute_missing`, when there
    is none yet: the CLI asks for that; every HTTP GET reads only, so a link can never start the
    recompute)."""
    with session_scope(engine) as session:
        brand = resolve_brand(session, brand_name)
        computed = ror_computed_at(session, brand_id=brand_id_of(brand))
    if refresh or (computed is None and compute_missing):
        refresh_ror(engine, settings, brand_name=brand.name if brand else None)
    with session_scope(engine) as session:
        computed = ror_computed_at(session, brand_id=brand_id_of(brand))
        rows = ror_leaderboard(session, brand_id=brand_id_of(brand), limit=top, offset=offset)
    return {
        "brand": brand.name if brand else None,
        "computed_at": iso_time(computed),
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
            brand_id=brand_id_of(brand),
            brand_handles=brand_handles(session, brand),
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
