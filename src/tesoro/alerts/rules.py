"""Evaluating alert rules over what is new in the store, into pending alerts (the outbox).

`evaluate_rules` is the job: it mirrors the file's rules into `alert_rule`, then runs
each enabled rule in its own transaction, so one broken rule never blocks the others
and a crash leaves a rule's cursor where it was (nothing skipped, nothing repeated).

What each kind looks at:

- `new_mention`: a post stored since the last run, written within `max_age`, matching the
  rule's `brand`, `query`, `filter` and `min_followers`. Subject: the post.
- `negative_influencer`: a post whose newest score set says "negative", by an author with at
  least `min_followers` (and ROR >= `min_ror` where known). Subject: the author, so an unhappy
  influencer's thread is one alert per cooldown.
- `new_treasure`: a post whose `treasure_score` reaches `min_score`. Subject: the post.
- `rights_granted`: a post whose `rights_status` became "granted". Subject: the post.
- `source_failing`: a source whose health turned "failing". Subject: the source.
- `volume_spike`: a significant rise of the brand's / query's posts against the same hours on
  previous days (`tesoro.alerts.spikes`). Subject: the brand or query.
- `negative_spike`: the same, counting only posts whose newest score is negative.

A rule starts from the moment it is created: it never alerts on what was already true
(existing treasures and granted rights are taken as a baseline on its first run).
Every post-level alert is deduplicated for good through `alert_mark` (unique per rule
and subject), and every alert respects the rule's cooldown per subject.

ROR (Return on Relationship): `min_ror` is checked against the ROR stored by the
relationships area (`ror_score`, read by `stored_ror` when that table exists), or any
`ror` lookup passed in. When an author has no ROR value (the table is absent, or not
computed yet for them), the condition is skipped and only `min_followers` applies.

Sentiment comes from the `score` table; until scoring has run, rules that need it
(negative_influencer, negative_spike) simply find nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.alerts.spikes import SpikeParams, describe, detect_spike, top_terms
from tesoro.settings import AlertRuleSettings, Settings
from tesoro.store.alerts import (
    PostFacts,
    add_alerts,
    failing_sources,
    first_post_at,
    get_rule,
    hourly_counts,
    list_rules,
    listening_query,
    mark_subjects,
    mention_candidates,
    negative_candidates,
    posts_in_window,
    recently_alerted,
    rights_candidates,
    rule_config,
    save_rule_state,
    stored_ror,
    sync_rules,
    treasure_candidates,
)
from tesoro.store.catalog import brand_by_name
from tesoro.store.engine import session_scope
from tesoro.store.tables import AlertRule
from tesoro.text.query import Matcher, compile_matcher, parse, positive_terms

__all__ = [
    "Candidate",
    "EvaluationReport",
    "RorLookup",
    "RuleOutcome",
    "evaluate_rule",
    "evaluate_rules",
    "post_payload",
]

log = logging.getLogger(__name__)

# (session, author ids, the rule's brand id) -> each author's ROR where known.
RorLookup = Callable[[Session, Sequence[int], int | None], Mapping[int, float]]

# Posts and scores are committed by other processes; a cursor re-reads this far back so a row
# committed late (its timestamp older than our last run) is still seen. Marks dedupe the overlap.
OVERLAP = timedelta(minutes=10)
_BATCH = 1000
_TITLES = {
    "new_mention": "New mention",
    "negative_influencer": "Negative mention by an influencer",
    "new_treasure": "New treasure",
    "rights_granted": "Usage rights granted",
    "source_failing": "Source failing",
    "volume_spike": "Volume spike",
    "negative_spike": "Negative-sentiment spike",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """Something a rule would alert on. `mark` dedupes forever; `subject` carries the cooldown."""

    subject: str
    payload: dict[str, Any]
    mark: str | None = None
    post_id: int | None = None


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    rule: str
    kind: str
    candidates: int = 0
    alerts: int = 0
    suppressed: int = 0  # already handled, or within the cooldown
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(o.alerts for o in self.outcomes)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def evaluate_rules(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    ror: RorLookup | None = None,
    only: str | None = None,
) -> EvaluationReport:
    """Sync the rules from the settings, then evaluate every enabled rule (or just `only`)."""
    now = now or _utcnow()
    with session_scope(engine) as session:
        sync_rules(session, settings, now=now)
        names = [r.name for r in list_rules(session, enabled_only=True) if only is None or r.name == only]
    outcomes = []
    for name in names:
        try:
            with session_scope(engine) as session:
                outcomes.append(evaluate_rule(session, name, settings, now=now, ror=ror))
        except Exception as exc:  # one broken rule must not stop the others
            log.exception("alert rule %s failed", name)
            outcomes.append(RuleOutcome(name, "?", error=f"{type(exc).__name__}: {exc}"))
    return EvaluationReport(outcomes)


def evaluate_rule(
    session: Session, name: str, settings: Settings, *, now: datetime, ror: RorLookup | None = None
) -> RuleOutcome:
    """One rule, inside the caller's transaction: candidates -> dedupe -> cooldown -> pending alerts."""
    row = get_rule(session, name)
    if row is None:
        raise LookupError(f"no alert rule named {name!r}")
    conf = rule_config(row)
    context = _Context.build(session, row, conf, settings, now, ror)
    candidates, state = _KINDS[conf.kind](context)
    created, suppressed = _store(session, conf, candidates, now)
    assert row.id is not None
    save_rule_state(session, rule_id=row.id, state=state, evaluated_at=now)
    if created:
        log.info("alert rule %s: %d new alerts", name, created)
    return RuleOutcome(name, conf.kind, len(candidates), created, suppressed)


def _store(
    session: Session, conf: AlertRuleSettings, candidates: Sequence[Candidate], now: datetime
) -> tuple[int, int]:
    marks = [(c.mark, c.post_id) for c in candidates if c.mark is not None]
    fresh = mark_subjects(session, rule=conf.name, items=marks, now=now) if marks else set()
    kept = [c for c in candidates if c.mark is None or c.mark in fresh]
    cooling = recently_alerted(
        session,
        rule=conf.name,
        subjects=(c.subject for c in kept),
        since=now - timedelta(seconds=conf.cooldown),
    )
    chosen: list[Candidate] = []
    seen: set[str] = set()
    for candidate in kept:
        if candidate.subject in cooling or candidate.subject in seen:
            continue
        seen.add(candidate.subject)
        chosen.append(candidate)
    add_alerts(session, rule=conf.name, alerts=[(c.subject, c.payload) for c in chosen], now=now)
    return len(chosen), len(candidates) - len(chosen)


@dataclass(slots=True)
class _Context:
    session: Session
    row: AlertRule
    conf: AlertRuleSettings
    settings: Settings
    now: datetime
    ror: RorLookup
    brand_id: int | None
    query_id: int | None
    matchers: list[Matcher]
    exclude_terms: frozenset[str]
    state: dict[str, Any]

    @classmethod
    def build(
        cls,
        session: Session,
        row: AlertRule,
        conf: AlertRuleSettings,
        settings: Settings,
        now: datetime,
        ror: RorLookup | None,
    ) -> _Context:
        brand_id = query_id = None
        matchers: list[Matcher] = []
        exclude: set[str] = set()
        if conf.brand is not None:
            brand = brand_by_name(session, conf.brand)
            if brand is None:
                raise LookupError(
                    f"rule {conf.name}: brand {conf.brand!r} is not in the store (is it configured?)"
                )
            brand_id = brand.id
            exclude.update(conf.brand.split())
            exclude.update(brand.hashtags)
            exclude.update(brand.handles.values())
        if conf.query is not None:
            query = listening_query(session, conf.query)
            if query is None:
                raise LookupError(f"rule {conf.name}: listening query {conf.query!r} is not configured")
            query_id = query.id
            node = parse(query.query)
            matchers.append(compile_matcher(node))
            for term in positive_terms(node):
                exclude.update(term.split())
        if conf.filter is not None:
            matchers.append(compile_matcher(parse(conf.filter)))
        return cls(
            session=session,
            row=row,
            conf=conf,
            settings=settings,
            now=now,
            ror=ror or stored_ror,
            brand_id=brand_id,
            query_id=query_id,
            matchers=matchers,
            exclude_terms=frozenset(exclude),
            state=dict(row.state or {}),
        )

    def since(self, key: str = "since") -> datetime:
        """Where this rule's time cursor stands: its last run (minus the overlap), else its creation."""
        last = _parse_time(self.state.get(key))
        if last is not None:
            return last - OVERLAP
        return _aware(self.row.created_at) or self.now

    def matches(self, post: PostFacts) -> bool:
        text = f"{post.title}\n{post.text}" if post.title else post.text
        return all(m.matches(text, post.lang) for m in self.matchers)


def _batches(fetch: Callable[[int], list[PostFacts]]) -> Iterable[PostFacts]:
    """Keyset pagination by post id over a repository query."""
    after = 0
    while True:
        batch = fetch(after)
        yield from batch
        if len(batch) < _BATCH:
            return
        after = batch[-1].id


def post_payload(post: PostFacts, *, ror: float | None = None) -> dict[str, Any]:
    """A post as an alert carries it: raw data (channels escape it), text capped for messages."""
    return {
        "id": post.id,
        "platform": post.platform,
        "external_id": post.external_id,
        "url": post.url,
        "title": post.title,
        "text": post.text[:3000],
        "lang": post.lang,
        "created_at": post.created_at.isoformat(),
        "rights_status": post.rights_status,
        "author": {
            "id": post.author_id,
            "handle": post.author_handle,
            "name": post.author_name,
            "followers": post.author_followers,
            "url": post.author_url,
            "verified": post.author_verified,
        },
        "metrics": {
            "likes": post.likes,
            "reposts": post.reposts,
            "replies": post.replies,
            "quotes": post.quotes,
            "views": post.views,
        },
        "scores": {
            "sentiment": post.sentiment,
            "relevance": post.relevance,
            "treasure": post.treasure_score,
            "engagement_rate": post.engagement_rate,
            "engagement_vs_median": post.engagement_vs_median,
            "ror": ror,
        },
    }


def _title(ctx: _Context) -> str:
    title = _TITLES[ctx.conf.kind]
    scope = ctx.conf.brand or ctx.conf.query
    return f"{title} · {scope}" if scope else title


def _who(post: PostFacts) -> str:
    followers = f" ({post.author_followers:,} followers)" if post.author_followers is not None else ""
    return f"@{post.author_handle}{followers}"


def _post_alert(ctx: _Context, post: PostFacts, summary: str, rank: float, **extra: Any) -> dict[str, Any]:
    return {
        "kind": ctx.conf.kind,
        "title": _title(ctx),
        "summary": summary,
        "rank": rank,
        "brand": ctx.conf.brand,
        "query": ctx.conf.query,
        "post": post_payload(post, ror=extra.pop("ror", None)),
        **extra,
    }


# --- the kinds ---------------------------------------------------------------------------------------

Evaluated = tuple[list[Candidate], dict[str, Any]]


def _new_mention(ctx: _Context) -> Evaluated:
    """New posts, found by an id cursor that only moves past posts stored more than OVERLAP ago.

    Ids are handed out before commit, so a collector's transaction can make a smaller id
    visible after a larger one; posts younger than OVERLAP are read again next run (their
    marks dedupe them) and the cursor keeps the id lookup on the primary key.
    """
    conf = ctx.conf
    floor = int(ctx.state.get("after_id") or 0)
    settled = ctx.now - OVERLAP
    posts = _batches(
        lambda after: mention_candidates(
            ctx.session,
            collected_after=ctx.since(),
            created_after=ctx.now - timedelta(seconds=conf.max_age),
            brand_id=ctx.brand_id,
            after_id=max(after, floor),
            limit=_BATCH,
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
        summary = f"{_who(post)} on {post.platform}"
        payload = _post_alert(ctx, post, summary, float(post.author_followers or 0))
        out.append(Candidate(f"post:{post.id}", payload, mark=f"post:{post.id}", post_id=post.id))
    return out, {**ctx.state, "since": ctx.now.isoformat(), "after_id": cursor}


def _negative_influencer(ctx: _Context) -> Evaluated:
    conf = ctx.conf
    posts = [
        p
        for p in _batches(
            lambda after: negative_candidates(
                ctx.session,
                scored_after=ctx.since(),
                created_after=ctx.now - timedelta(seconds=conf.max_age),
                brand_id=ctx.brand_id,
                min_followers=conf.min_followers,
                after_post_id=after,
                limit=_BATCH,
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
        summary = f"Negative post by {_who(post)} on {post.platform}"
        if ror is not None:
            summary += f", ROR {ror:.2f}"
        payload = _post_alert(ctx, post, summary, float(post.author_followers or 0), ror=ror)
        out.append(Candidate(f"author:{post.author_id}", payload, mark=f"post:{post.id}", post_id=post.id))
    return out, {**ctx.state, "since": ctx.now.isoformat()}


def _baseline(ctx: _Context, fetch: Callable[[int], list[PostFacts]]) -> Evaluated | None:
    """On a rule's first run, take what already qualifies as handled: a new rule does not replay history."""
    if ctx.state.get("baseline_at"):
        return None
    items = [(f"post:{post.id}", post.id) for post in _batches(fetch)]
    if items:
        mark_subjects(ctx.session, rule=ctx.conf.name, items=items, now=ctx.now)
    return [], {**ctx.state, "baseline_at": ctx.now.isoformat(), "baseline_posts": len(items)}


def _new_treasure(ctx: _Context) -> Evaluated:
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
            limit=_BATCH,
        )

    first = _baseline(ctx, fetch)
    if first is not None:
        return first
    created_after = ctx.now - timedelta(seconds=conf.max_age)
    out = []
    for post in _batches(lambda after: fetch(after, created_after)):
        if not ctx.matches(post):
            continue
        score = post.treasure_score or 0.0
        summary = f"Treasure score {score:.2f} for a {post.platform} post by {_who(post)}"
        payload = _post_alert(ctx, post, summary, score)
        out.append(Candidate(f"post:{post.id}", payload, mark=f"post:{post.id}", post_id=post.id))
    return out, ctx.state


def _rights_granted(ctx: _Context) -> Evaluated:
    def fetch(after: int) -> list[PostFacts]:
        return rights_candidates(
            ctx.session, rule=ctx.conf.name, brand_id=ctx.brand_id, after_id=after, limit=_BATCH
        )

    first = _baseline(ctx, fetch)
    if first is not None:
        return first
    out = []
    for post in _batches(fetch):
        if not ctx.matches(post):
            continue
        summary = f"{_who(post)} granted usage rights for their {post.platform} post"
        payload = _post_alert(ctx, post, summary, float(post.treasure_score or 0.0))
        out.append(Candidate(f"post:{post.id}", payload, mark=f"post:{post.id}", post_id=post.id))
    return out, ctx.state


def _source_failing(ctx: _Context) -> Evaluated:
    failing = failing_sources(ctx.session)
    before = set(ctx.state.get("failing") or [])
    out = []
    for source in failing:
        if source.name in before:
            continue
        summary = f"{source.name} ({source.platform}) has failed {source.consecutive_failures} runs in a row"
        payload = {
            "kind": "source_failing",
            "title": f"{_TITLES['source_failing']}: {source.name}",
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


def _spike(ctx: _Context) -> Evaluated:
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
    start = ctx.now - timedelta(hours=window_hours)
    window_posts = posts_in_window(
        ctx.session,
        start=start,
        end=ctx.now,
        brand_id=brand_id,
        query_id=query_id,
        negative_only=negative,
        limit=300,
    )
    usual_posts = posts_in_window(
        ctx.session,
        start=ctx.now - timedelta(days=7),
        end=start,
        brand_id=brand_id,
        query_id=query_id,
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
        "title": _title(ctx),
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
    return [Candidate(f"{conf.kind}:{scope_name}", payload)], state


_KINDS: dict[str, Callable[[_Context], Evaluated]] = {
    "new_mention": _new_mention,
    "negative_influencer": _negative_influencer,
    "new_treasure": _new_treasure,
    "rights_granted": _rights_granted,
    "source_failing": _source_failing,
    "volume_spike": _spike,
    "negative_spike": _spike,
}
