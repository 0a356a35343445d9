"""Relationship events: what each person did, derived from the store's facts, as numpy columns.

ROR (`insights.relationship`) is computed over a stream of events. This module
decides which facts become which events (`events_from_facts`: a mention, a positive
or negative mention, a UGC post, the coordinator approving or featuring it, usage
rights granted, a recommendation to others, the brand replying to them, them
replying back, and events logged by hand) and whose events belong together
(`group_identities`: the linked accounts of one person). The store side (reading
the facts in a few set-based queries) is `tesoro.store.relationships`.

Events are kept as columns (`EventArrays`) so a million posts are a few vectorized
operations; `Event` is the one-row form for hand-made histories and the author page.
An event's kind is stored as its index in `KINDS` (`KIND_CODE`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tesoro.store.relationships import RelationshipFacts

__all__ = [
    "ADVOCACY_CODES",
    "ADVOCACY_KINDS",
    "KINDS",
    "KIND_CODE",
    "Event",
    "EventArrays",
    "EventKind",
    "Identities",
    "epoch",
    "events_from_facts",
    "from_epoch",
    "group_identities",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
I8 = NDArray[np.int8]


class EventKind(StrEnum):
    MENTION = "mention"
    POSITIVE_MENTION = "positive_mention"
    NEGATIVE_MENTION = "negative_mention"
    UGC = "ugc"
    UGC_APPROVED = "ugc_approved"
    UGC_FEATURED = "ugc_featured"
    RIGHTS_GRANTED = "rights_granted"
    RECOMMENDATION = "recommendation"
    BRAND_REPLY = "brand_reply"
    REPLIED_BACK = "replied_back"
    # Logged by hand in `relationship_event` with a kind Tesoro does not derive (a meet-up, a gift...):
    # its value is the logged weight alone.
    MANUAL = "manual"


# An event's kind is stored in arrays as its index in this tuple.
KINDS: tuple[EventKind, ...] = tuple(EventKind)
KIND_CODE: dict[EventKind, int] = {kind: i for i, kind in enumerate(KINDS)}
ADVOCACY_KINDS = frozenset({EventKind.UGC, EventKind.RECOMMENDATION})
ADVOCACY_CODES = np.array(sorted(KIND_CODE[k] for k in ADVOCACY_KINDS), dtype=np.int8)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a person did (or the brand did with them), for hand-made histories and the author page.

    `sentiment` is set on mention events only (+1, 0, -1; None when unscored);
    `weight` multiplies the kind's value (1 for derived events).
    """

    kind: EventKind
    at: datetime
    author_id: int = 0
    person_id: int | None = None
    post_id: int | None = None
    reach: int = 0
    sentiment: float | None = None
    weight: float = 1.0


def epoch(at: datetime) -> float:
    """A time as epoch seconds, the unit of every event column (naive means UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def from_epoch(seconds: float) -> datetime:
    """Epoch seconds back to an aware UTC time."""
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True, slots=True)
class EventArrays:
    """Events as numpy columns (one row per event). `person_id` is -1 for an unlinked account."""

    kind: I8
    at: F64
    reach: F64
    sentiment: F64
    weight: F64
    post_id: I64
    author_id: I64
    person_id: I64

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @staticmethod
    def empty() -> EventArrays:
        return EventArrays(
            kind=np.zeros(0, np.int8),
            at=np.zeros(0),
            reach=np.zeros(0),
            sentiment=np.zeros(0),
            weight=np.zeros(0),
            post_id=np.zeros(0, np.int64),
            author_id=np.zeros(0, np.int64),
            person_id=np.zeros(0, np.int64),
        )

    @staticmethod
    def concat(parts: Sequence[EventArrays]) -> EventArrays:
        if not parts:
            return EventArrays.empty()
        return EventArrays(
            kind=np.concatenate([p.kind for p in parts]),
            at=np.concatenate([p.at for p in parts]),
            reach=np.concatenate([p.reach for p in parts]),
            sentiment=np.concatenate([p.sentiment for p in parts]),
            weight=np.concatenate([p.weight for p in parts]),
            post_id=np.concatenate([p.post_id for p in parts]),
            author_id=np.concatenate([p.author_id for p in parts]),
            person_id=np.concatenate([p.person_id for p in parts]),
        )

    def take(self, index: NDArray[Any]) -> EventArrays:
        """The events selected by a boolean mask or an index array."""
        return EventArrays(
            kind=self.kind[index],
            at=self.at[index],
            reach=self.reach[index],
            sentiment=self.sentiment[index],
            weight=self.weight[index],
            post_id=self.post_id[index],
            author_id=self.author_id[index],
            person_id=self.person_id[index],
        )

    @staticmethod
    def from_events(events: Iterable[Event]) -> EventArrays:
        rows = list(events)
        return EventArrays(
            kind=np.array([KIND_CODE[e.kind] for e in rows], dtype=np.int8),
            at=np.array([epoch(e.at) for e in rows], dtype=np.float64),
            reach=np.array([max(e.reach, 0) for e in rows], dtype=np.float64),
            sentiment=np.array(
                [np.nan if e.sentiment is None else e.sentiment for e in rows], dtype=np.float64
            ),
            weight=np.array([e.weight for e in rows], dtype=np.float64),
            post_id=np.array([-1 if e.post_id is None else e.post_id for e in rows], dtype=np.int64),
            author_id=np.array([e.author_id for e in rows], dtype=np.int64),
            person_id=np.array([-1 if e.person_id is None else e.person_id for e in rows], dtype=np.int64),
        )

    def to_events(self) -> list[Event]:
        return [
            Event(
                kind=KINDS[int(self.kind[i])],
                at=from_epoch(float(self.at[i])),
                author_id=int(self.author_id[i]),
                person_id=None if self.person_id[i] < 0 else int(self.person_id[i]),
                post_id=None if self.post_id[i] < 0 else int(self.post_id[i]),
                reach=int(self.reach[i]),
                sentiment=None if math.isnan(self.sentiment[i]) else float(self.sentiment[i]),
                weight=float(self.weight[i]),
            )
            for i in range(len(self))
        ]


def _part(
    kind: EventKind,
    mask: NDArray[np.bool_],
    *,
    at: F64,
    author_id: I64,
    person_id: I64,
    post_id: I64,
    reach: F64 | None = None,
    sentiment: F64 | None = None,
    weight: F64 | None = None,
) -> EventArrays:
    n = int(np.count_nonzero(mask))
    return EventArrays(
        kind=np.full(n, KIND_CODE[kind], dtype=np.int8),
        at=at[mask],
        reach=reach[mask] if reach is not None else np.zeros(n),
        sentiment=sentiment[mask] if sentiment is not None else np.full(n, np.nan),
        weight=weight[mask] if weight is not None else np.ones(n),
        post_id=post_id[mask],
        author_id=author_id[mask],
        person_id=person_id[mask],
    )


def events_from_facts(facts: RelationshipFacts) -> EventArrays:
    """Turn the store's facts into events (vectorized; see the module docstring for the kinds).

    - every post about the brand is a `mention` (carrying its sentiment), plus a
      `positive_mention` or `negative_mention` when it was scored so;
    - a post with media or a UGC content type is `ugc`;
    - queue state approved / featured is `ugc_approved` / `ugc_featured` (a featured
      post only counts as featured), dated by the coordinator's decision when known;
    - rights status granted (or expired: the grant happened) is `rights_granted`; declined,
      revoked or unanswered rights requests are no event, so they never count against the author;
    - a positive post that mentions other accounts or replies to someone else's
      post (not the brand's, not their own) is a `recommendation`;
    - a reply to one of the brand's posts is `replied_back`; a reply by one of the
      brand's accounts to their post is `brand_reply`;
    - rows logged in `relationship_event` keep their kind (or `manual`) and weight.
    Posts by the brand's own accounts never become events.
    """
    p = facts.posts
    curated_at = np.where(np.isnan(p.curated_at), p.at, p.curated_at)
    rights_at = np.where(np.isnan(p.rights_at), p.at, p.rights_at)
    positive = p.sentiment == 1.0

    def post_part(
        kind: EventKind, mask: NDArray[np.bool_], *, at: F64 = p.at, reach: F64 | None = None
    ) -> EventArrays:
        sentiment = p.sentiment if kind is EventKind.MENTION else None
        return _part(
            kind,
            mask,
            at=at,
            author_id=p.author_id,
            person_id=p.person_id,
            post_id=p.post_id,
            reach=reach,
            sentiment=sentiment,
        )

    parts = [
        post_part(EventKind.MENTION, np.ones(len(p), dtype=np.bool_)),
        post_part(EventKind.POSITIVE_MENTION, positive),
        post_part(EventKind.NEGATIVE_MENTION, p.sentiment == -1.0),
        post_part(EventKind.UGC, p.ugc, reach=p.reach),
        post_part(EventKind.UGC_APPROVED, p.queue == 1, at=curated_at),
        post_part(EventKind.UGC_FEATURED, p.queue == 2, at=curated_at),
        post_part(EventKind.RIGHTS_GRANTED, p.rights_granted, at=rights_at),
        post_part(EventKind.RECOMMENDATION, positive & (p.mentions_others | p.reply_to_other), reach=p.reach),
        post_part(EventKind.REPLIED_BACK, p.reply_to_brand),
    ]
    r = facts.replies
    parts.append(
        _part(
            EventKind.BRAND_REPLY,
            np.ones(r.author_id.shape[0], dtype=np.bool_),
            at=r.at,
            author_id=r.author_id,
            person_id=r.person_id,
            post_id=r.post_id,
        )
    )
    logged = facts.logged
    if logged.author_id.shape[0]:
        codes = np.array(
            [KIND_CODE.get(_kind_or_manual(k), KIND_CODE[EventKind.MANUAL]) for k in logged.kind],
            dtype=np.int8,
        )
        parts.append(
            EventArrays(
                kind=codes,
                at=logged.at,
                reach=logged.reach,
                sentiment=np.full(codes.shape[0], np.nan),
                weight=logged.weight,
                post_id=logged.post_id,
                author_id=logged.author_id,
                person_id=logged.person_id,
            )
        )
    events = EventArrays.concat(parts)
    if facts.brand_author_ids:
        brand = np.fromiter(facts.brand_author_ids, dtype=np.int64)
        events = events.take(~np.isin(events.author_id, brand))
    return events


def _kind_or_manual(kind: str) -> EventKind:
    try:
        return EventKind(kind)
    except ValueError:
        return EventKind.MANUAL


@dataclass(frozen=True, slots=True)
class Identities:
    """Which person each event belongs to: linked accounts share a group, a lone account is its own."""

    group: I64  # per event, 0..count-1
    count: int
    author_id: I64  # per group: the representative (lowest) author id
    person_id: I64  # per group: -1 when the account is not linked


def group_identities(events: EventArrays) -> Identities:
    # Persons and lone accounts share one key space: person ids are positive, lone accounts negative.
    key = np.where(events.person_id > 0, events.person_id, -events.author_id)
    keys, group = np.unique(key, return_inverse=True)
    count = int(keys.shape[0])
    representative = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(representative, group, events.author_id)
    person = np.where(keys > 0, keys, -1).astype(np.int64)
    return Identities(
        group=group.astype(np.int64).reshape(-1), count=count, author_id=representative, person_id=person
    )
