"""The marketing reports: volume and sentiment, share of voice, every KPI of a window, ROE, purchases.

Each function opens its own unit of work, resolves the brand and the window
(`insights.scope`), reads set-based aggregates through `store.kpis` and computes
with the pure formulas of `insights.kpis`. The brand's own accounts are left out of
every "mentions" figure: a brand talking about itself is not earned attention.
Results are plain dicts (or result types with `as_dict`) ready for JSON, so the API
and the command line print the same numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

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
from tesoro.insights.people import leaderboard
from tesoro.insights.scope import brand_id_of, own_accounts, resolve_brand
from tesoro.settings import RoeEffort, Settings
from tesoro.store import kpis as kpi_store
from tesoro.store.alerts import listening_query
from tesoro.store.engine import session_scope
from tesoro.store.relationships import advocates
from tesoro.store.scores import engagement_samples

__all__ = [
    "kpi_report",
    "purchases_report",
    "roe_report",
    "share_of_voice_report",
    "volume_report",
]


# --- KPIs -------------------------------------------------------------------------------------


def _change(now: float, before: float) -> float | None:
    return (now - before) / before if before else None


def _volume_json(current: kpi_store.Totals, previous: kpi_store.Totals) -> dict[str, Any]:
    """The window's volume figures, the previous window's, and the relative change of each."""
    return {
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
    }


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
            brand_id=brand_id_of(brand),
            platform=platform,
            exclude_authors=own_accounts(session, brand),
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
            exclude_authors=own_accounts(session, brand),
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
        brand_id = brand_id_of(brand)
        own = own_accounts(session, brand)
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
        "volume": _volume_json(current, previous),
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
                row = listening_query(session, effort.query)
                query_id = row.id if row is not None else -1
            own = own_accounts(session, brand)
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
    accounts (at import, and at every ROR refresh for customers collected later);
    unlinked customers count as "everyone else".
    """
    with session_scope(engine) as session:
        customer, author, person, amount = kpi_store.order_columns(session, since=since, until=until)
        brand = resolve_brand(session, brand_name)
    threshold = settings.relationship.advocate_min_ror
    with session_scope(engine) as session:
        top = advocates(session, brand_id=brand_id_of(brand), min_score=threshold)
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
