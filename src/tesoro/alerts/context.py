"""What one alert rule's evaluation sees, and the shape of the alerts it makes.

`RuleContext` gathers, once per rule and run, the rule's settings and stored state,
its brand and listening query resolved from the store, the compiled text matchers
and the ROR lookup; the evaluators of `alerts.kinds` read everything through it. A
`Candidate` is something a rule would alert on, before dedupe and cooldown
(`alerts.rules`). `post_payload` is how an alert carries a post: raw data, escaped
by each channel, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from tesoro.settings import AlertRuleSettings, Settings
from tesoro.store.alerts import PostFacts, listening_query, stored_ror
from tesoro.store.catalog import brand_by_name
from tesoro.store.tables import AlertRule
from tesoro.text.query import Matcher, compile_matcher, parse, positive_terms

__all__ = [
    "BATCH",
    "OVERLAP",
    "TITLES",
    "Candidate",
    "Evaluated",
    "RorLookup",
    "RuleContext",
    "alert_title",
    "batches",
    "post_alert",
    "post_payload",
    "who",
]

# (session, author ids, the rule's brand id) -> each author's ROR where known.
RorLookup = Callable[[Session, Sequence[int], int | None], Mapping[int, float]]
# Posts and scores are committed by other processes; a cursor re-reads this far back so a row
# committed late (its timestamp older than our last run) is still seen. Marks dedupe the overlap.
OVERLAP = timedelta(minutes=10)
# Posts read per repository query (keyset pages).
BATCH = 1000
# Each kind's alert title; the rule's brand or query is appended.
TITLES = {
    "new_mention": "New mention",
    "negative_influencer": "Negative mention by an influencer",
    "new_treasure": "New treasure",
    "rights_granted": "Usage rights granted",
    "rights_declined": "Usage rights declined",
    "rights_revoked": "Usage rights revoked",
    "rights_expiring": "Usage rights about to expire",
    "source_failing": "Source failing",
    "coverage_lost": "Coverage lost",
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


# What an evaluator returns: the candidates, and the rule's state to save with them.
Evaluated = tuple[list[Candidate], dict[str, Any]]


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(slots=True)
class RuleContext:
    """One rule's evaluation: its settings, stored state, brand, query and matchers, read once per run."""

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
    ) -> RuleContext:
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
        return self.row.created_at or self.now

    def matches(self, post: PostFacts) -> bool:
        text = f"{post.title}\n{post.text}" if post.title else post.text
        return all(m.matches(text, post.lang) for m in self.matchers)


def batches(fetch: Callable[[int], list[PostFacts]]) -> Iterable[PostFacts]:
    """Keyset pagination by post id over a repository query."""
    after = 0
    while True:
        batch = fetch(after)
        yield from batch
        if len(batch) < BATCH:
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


def alert_title(ctx: RuleContext) -> str:
    """The kind's title with the rule's brand or query, so a channel shows which rule spoke."""
    title = TITLES[ctx.conf.kind]
    scope = ctx.conf.brand or ctx.conf.query
    return f"{title} · {scope}" if scope else title


def who(post: PostFacts) -> str:
    """The post's author as a summary names them: handle and, when known, followers."""
    followers = f" ({post.author_followers:,} followers)" if post.author_followers is not None else ""
    return f"@{post.author_handle}{followers}"


def post_alert(ctx: RuleContext, post: PostFacts, summary: str, rank: float, **extra: Any) -> dict[str, Any]:
    """The payload of an alert about one post (`rank` orders a digest; `ror` goes into the post)."""
    return {
        "kind": ctx.conf.kind,
        "title": alert_title(ctx),
        "summary": summary,
        "rank": rank,
        "brand": ctx.conf.brand,
        "query": ctx.conf.query,
        "post": post_payload(post, ror=extra.pop("ror", None)),
        **extra,
    }
