"""One evaluator per alert rule kind: what counts as new since the rule's last run, as candidates.

Each evaluator takes the rule's `RuleContext` and returns its candidates with the
rule's next state (its cursors), which `alerts.rules` saves in the same transaction
as the alerts. See `alerts.rules` for what each kind looks at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from tesoro.alerts.context import (
    BATCH,
    OVERLAP,
    TITLES,
    Candidate,
    Evaluated,
    RuleContext,
    alert_title,
    batches,
    post_alert,
    post_payload,
    who,
)
from tesoro.alerts.spikes import SpikeParams, SpikeVerdict, describe, detect_spike, top_terms
from tesoro.collector.quota import QuotaStatus, describe_duration, source_quota
from tesoro.store.alerts import (
    PostFacts,
    failing_sources,
    first_post_at,
    hourly_counts,
    mark_subjects,
    mention_candidates,
    negative_candidates,
    posts_in_window,
    rights_candidates,
    treasure_candidates,
)
from tesoro.store.sources import list_sources
from tesoro.store.tables import Source

__all__ = ["EVALUATORS"]


def _new_mention(ctx: RuleContext) -> Evaluated:
    """New posts, found by an id cursor that only moves past posts stored more than OVERLAP ago.

    Ids are handed out before commit, so a collector's transaction can make a smaller id
    visible after a larger one; posts younger than OVERLAP are read again next run (their
    marks dedupe them) and the cursor keeps the id lookup on the primary key.
    """
    conf = ctx.conf
    floor = int(ctx.state.get("after_id") or 0)
    settled = ctx.now - OVERLAP
    posts = batches(
        lambda after: mention_candidates(
            ctx.session,
            collected_after=ctx.since(),
            created_after=ctx.now - timedelta(seconds=conf.max_age),
            brand_id=ctx.brand_id,
            after_id=max(after, floor),
            limit=BATCH,
        )
    )
    out = []
    cursor, advancing = floor, True
    for post in posts:
        # Only past a run of settled posts: an unsettled one holds the cursor for everything after it.
        advancing = advancing and post.collected_at is not None and post.collected_at <= settled
        if advancing:
            cursor = post.id
        if conf.min_followers is not None and (post.author_followers or 0) < conf.min_followers:
            continue
        if not ctx.matches(post):
            continue
        summary = f"{who(post)} on {post.platform}"
        payload = post_alert(ctx, post, summary, float(post.author_followers or 0))
        out.append(Candidate(f"post:{post.id}", payload, mark=f"post:{post.id}", post_id=post.id))
    return out, {**ctx.state, "since": ctx.now.isoformat(), "after_id": cursor}


def _negative_influencer(ctx: RuleContext) -> Evaluated:
    conf = ctx.conf
    posts = [
        p
        for p in batches(
            lambda after: negative_candidates(
                ctx.session,
                scored_after=ctx.since(),
                created_after=ctx.now - timedelta(seconds=conf.max_age),
                brand_id=ctx.brand_id,
                min_followers=conf.min_followers,
                after_post_id=after,
                limit=BATCH,
            )
        )
        if ctx.matches(p)
    ]
    known: Mapping[int, float] = {}
    if posts:  # looked up even without min_ror: the message shows it
        known = ctx.ror(ctx.session, sorted({p.author_id for p in posts}), ctx.brand_id)
    out = []
    for post in posts:
        ror = known.get(post.author_id)
        if conf.min_ror is not None and ror is not None and ror < conf.min_ror:
            continue
        summary = f"Negative post by {who(post)} on {post.platform}"
        if ror is not None:
            summary += f", ROR {ror:.2f}"
        payload = post_alert(ctx, post, summary, float(post.author_followers or 0), ror=ror)
        out.append(Candidate(f"author:{post.author_id}", payload, mark=f"post:{post.id}", post_id=post.id))
    return out, {**ctx.state, "since": ctx.now.isoformat()}


def _baseline(ctx: RuleContext, fetch: Callable[[int], list[PostFacts]]) -> Evaluated | None:
    """On a rule's first run, take what already qualifies as handled: a new rule does not replay history."""
    if ctx.state.get("baseline_at"):
        return None
    items = [(f"post:{post.id}", post.id) for post in batches(fetch)]
    if items:
        mark_subjects(ctx.session, rule=ctx.conf.name, items=items, now=ctx.now)
    return [], {**ctx.state, "baseline_at": ctx.now.isoformat(), "baseline_posts": len(items)}


def _new_treasure(ctx: RuleContext) -> Evaluated:
    conf = ctx.conf
    assert conf.min_score is not None

    def fetch(after: int, created_after: datetime | None = None) -> list[PostFacts]:
        return treasure_candidates(
            ctx.session,
            rule=conf.name,
            min_score=float(conf.min_score or 0.0),
            created_after=created_after,
            brand_id=ctx.brand_id,
            after_id=after,
            limit=BATCH,
        )

    first = _baseline(ctx, fetch)
    if first is not None:
        return first
    created_after = ctx.now - timedelta(seconds=conf.max_age)
    out = []
    for post in batches(lambda after: fetch(after, created_after)):
        if not ctx.matches(post):
            continue
        score = post.treasure_score or 0.0
        summary = f"Treasure score {score:.2f} for a {post.platform} post by {who(post)}"
        payload = post_alert(ctx, post, summary, score)
        out.append(Candidate(f"post:{post.id}", payload, mark=f"post:{post.id}", post_id=post.id))
    return out, ctx.state


_RIGHTS_SUMMARY = {
    "rights_granted": "{who} granted usage rights for their {platform} post",
    "rights_declined": "{who} declined usage rights for their {platform} post",
    "rights_revoked": "Usage rights for {who}'s {platform} post were revoked: it left the gallery",
    "rights_expiring": "Usage rights for {who}'s {platform} post end soon",
}


def _rights(kind: str, status: str) -> Callable[[RuleContext], Evaluated]:
    """The evaluator of a rights kind: posts whose rights status became `status` (once per post)."""

    def evaluate(ctx: RuleContext) -> Evaluated:
        ending = None
        if kind == "rights_expiring":
            ending = (ctx.now, ctx.now + timedelta(days=ctx.settings.rights.expiry_warning_days))

        def fetch(after: int) -> list[PostFacts]:
            return rights_candidates(
                ctx.session,
                rule=ctx.conf.name,
                brand_id=ctx.brand_id,
                after_id=after,
                limit=BATCH,
                status=status,
                ending=ending,
            )

        # Rights about to expire are news however long they have been granted: no baseline.
        if kind != "rights_expiring":
            first = _baseline(ctx, fetch)
            if first is not None:
                return first
        out = []
        for post in batches(fetch):
            if not ctx.matches(post):
                continue
            summary = _RIGHTS_SUMMARY[kind].format(who=who(post), platform=post.platform)
            payload = post_alert(ctx, post, summary, float(post.treasure_score or 0.0))
            out.append(Candidate(f"post:{post.id}", payload, mark=f"post:{post.id}", post_id=post.id))
        return out, ctx.state

    return evaluate


def _source_failing(ctx: RuleContext) -> Evaluated:
    failing = failing_sources(ctx.session)
    before = set(ctx.state.get("failing") or [])
    out = []
    for source in failing:
        if source.name in before:
            continue
        summary = f"{source.name} ({source.platform}) has failed {source.consecutive_failures} runs in a row"
        payload = {
            "kind": "source_failing",
            "title": f"{TITLES['source_failing']}: {source.name}",
            "summary": summary,
            "rank": float(source.consecutive_failures),
            "source": {
                "name": source.name,
                "platform": source.platform,
                "health": source.health,
                "last_error": source.last_error,
                "consecutive_failures": source.consecutive_failures,
                "last_success_at": source.last_success_at.isoformat() if source.last_success_at else None,
                "last_run_at": source.last_run_at.isoformat() if source.last_run_at else None,
            },
        }
        out.append(Candidate(f"source:{source.name}", payload))
    return out, {**ctx.state, "failing": sorted(s.name for s in failing)}


def _coverage_lost(ctx: RuleContext) -> Evaluated:
    """Sources losing coverage: a query the budget no longer fits, hashtag slots expiring, a token
    about to expire. Each problem (its key) alerts when it appears, not at every run while it lasts."""
    before = set(ctx.state.get("active") or [])
    configured = {s.name: s for s in ctx.settings.sources if s.enabled}
    found: list[tuple[str, Candidate]] = []
    for row in list_sources(ctx.session, enabled_only=True):
        source = configured.get(row.name)
        if source is None:
            continue
        quota = source_quota(ctx.session, source, row, now=ctx.now)
        if quota is not None:
            found += _quota_problems(ctx, row, quota)
        expires = row.token_expires_at
        if expires is not None and expires - ctx.now <= timedelta(seconds=source.quota.token_warning):
            left = expires - ctx.now
            when = f"in {describe_duration(left.total_seconds())}" if left.total_seconds() > 0 else "already"
            summary = (
                f"The {row.platform} token of {row.name} expires at {_stamp(expires)} ({when}): renew it "
                "(docs/collecting.md, Quotas) or the source stops collecting"
            )
            key = f"token:{row.name}:{expires.isoformat()}"
            found.append((key, _coverage_candidate(key, row, "token_expiring", summary, expires=expires)))
    out = [candidate for key, candidate in found if key not in before]
    return out, {**ctx.state, "active": sorted(key for key, _ in found)}


def _quota_problems(ctx: RuleContext, row: Source, quota: QuotaStatus) -> list[tuple[str, Candidate]]:
    found = []
    unit = quota.budget.unit
    if not quota.fits:
        summary = (
            f"The query of {row.name} no longer fits its {row.platform} budget "
            f"({quota.budget.limit:,} {unit} per {quota.budget.window}): {quota.note}; {quota.forecast}"
        )
        key = f"budget:{row.name}"
        found.append((key, _coverage_candidate(key, row, "over_budget", summary, quota=quota)))
    for spent, at in zip(quota.expiring, quota.expiring_at, strict=True):
        summary = (
            f"{spent.units:,} {unit} {row.name} spent at {_stamp(spent.at)} leave its {row.platform} "
            f"{quota.budget.window} window at {_stamp(at)}: to keep covering them the source must spend them "
            f"again ({quota.left:,} of {quota.budget.limit:,} left now)"
        )
        key = f"slot:{row.name}:{spent.id}"
        found.append((key, _coverage_candidate(key, row, "slot_expiring", summary, quota=quota, expires=at)))
    return found


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _coverage_candidate(
    key: str,
    row: Source,
    reason: str,
    summary: str,
    *,
    quota: QuotaStatus | None = None,
    expires: datetime | None = None,
) -> Candidate:
    payload = {
        "kind": "coverage_lost",
        "title": f"{TITLES['coverage_lost']}: {row.name}",
        "summary": summary,
        "rank": quota.stretch if quota is not None else 1.0,
        "reason": reason,
        "source": {
            "name": row.name,
            "platform": row.platform,
            "health": row.health,
            "last_error": row.last_error,
            "last_success_at": row.last_success_at.isoformat() if row.last_success_at else None,
            "token_expires_at": row.token_expires_at.isoformat() if row.token_expires_at else None,
        },
        "expires_at": expires.isoformat() if expires is not None else None,
        "quota": None
        if quota is None
        else {
            "unit": quota.budget.unit,
            "window": quota.budget.window,
            "limit": quota.budget.limit,
            "used": quota.used,
            "left": quota.left,
            "resets_at": quota.resets_at.isoformat() if quota.resets_at else None,
            "next_run_at": quota.next_run_at.isoformat() if quota.next_run_at else None,
            "forecast": quota.forecast,
            "note": quota.note,
        },
    }
    return Candidate(key, payload)


def _spike(ctx: RuleContext) -> Evaluated:
    conf = ctx.conf
    negative = conf.kind == "negative_spike"
    window_hours = conf.window // 3600
    params = SpikeParams(
        window_hours=window_hours,
        baseline_periods=conf.baseline_days,
        min_volume=conf.min_volume,
        threshold=conf.threshold,
    )
    brand_id, query_id = ctx.brand_id, ctx.query_id
    hours = conf.baseline_days * 24 + window_hours
    counts = hourly_counts(
        ctx.session, now=ctx.now, hours=hours, brand_id=brand_id, query_id=query_id, negative_only=negative
    )
    first = first_post_at(ctx.session, brand_id=brand_id, query_id=query_id, negative_only=negative)
    known = 0 if first is None else int((ctx.now - first).total_seconds() // 3600)
    verdict = detect_spike(counts[len(counts) - min(len(counts), known) :] if known else [], params)
    state = {
        **ctx.state,
        "last_check": {
            "at": ctx.now.isoformat(),
            "observed": verdict.observed,
            "expected": round(verdict.expected, 2),
            "spread": round(verdict.spread, 2),
            "z": round(verdict.z, 2),
            "spike": verdict.spike,
            "reason": verdict.reason,
        },
    }
    if not verdict.spike:
        return [], state
    return [_spike_candidate(ctx, verdict, window_hours=window_hours, negative=negative)], state


def _spike_candidate(
    ctx: RuleContext, verdict: SpikeVerdict, *, window_hours: int, negative: bool
) -> Candidate:
    """The alert for a detected spike: the figures, the words that rose, and a few sample posts."""
    conf = ctx.conf
    start = ctx.now - timedelta(hours=window_hours)
    window_posts = posts_in_window(
        ctx.session,
        start=start,
        end=ctx.now,
        brand_id=ctx.brand_id,
        query_id=ctx.query_id,
        negative_only=negative,
        limit=300,
    )
    usual_posts = posts_in_window(
        ctx.session,
        start=ctx.now - timedelta(days=7),
        end=start,
        brand_id=ctx.brand_id,
        query_id=ctx.query_id,
        negative_only=negative,
        limit=1500,
    )
    terms = top_terms(
        [p.text for p in window_posts], [p.text for p in usual_posts], exclude=ctx.exclude_terms
    )
    noun = "negative mentions" if negative else "mentions"
    details = describe(verdict, noun=noun, window_hours=window_hours, terms=terms)
    scope_name = f"brand:{conf.brand}" if conf.brand else f"query:{conf.query}" if conf.query else "all"
    payload = {
        "kind": conf.kind,
        "title": alert_title(ctx),
        "summary": details,
        "details": details,
        "rank": verdict.z,
        "brand": conf.brand,
        "query": conf.query,
        "terms": terms,
        "spike": {
            "observed": verdict.observed,
            "expected": round(verdict.expected, 2),
            "spread": round(verdict.spread, 2),
            "z": round(verdict.z, 2),
            "p_value": verdict.p_value,
            "window_hours": window_hours,
            "baseline": list(verdict.baseline),
        },
        "samples": [post_payload(p) for p in window_posts[:3]],
    }
    return Candidate(f"{conf.kind}:{scope_name}", payload)


# Each rule kind's evaluator (`volume_spike` and `negative_spike` share one).
EVALUATORS: dict[str, Callable[[RuleContext], Evaluated]] = {
    "new_mention": _new_mention,
    "negative_influencer": _negative_influencer,
    "new_treasure": _new_treasure,
    "rights_granted": _rights("rights_granted", "granted"),
    "rights_declined": _rights("rights_declined", "declined"),
    "rights_revoked": _rights("rights_revoked", "revoked"),
    "rights_expiring": _rights("rights_expiring", "granted"),
    "source_failing": _source_failing,
    "coverage_lost": _coverage_lost,
    "volume_spike": _spike,
    "negative_spike": _spike,
}
