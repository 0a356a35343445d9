"""Relationship tables: people, events logged by hand, orders, ROR snapshots, dismissed identities.

Most relationship events are not stored: they are derived on read from posts, scores,
queue states, rights and replies (see `tesoro.store.relationships`), so a change of
sentiment model or a curation decision shows in the next computation without a
backfill. What is stored here is what cannot be derived: the people behind linked
accounts, the events a coordinator logs by hand (a purchase, a meet-up), imported
orders, the last computed ROR per person (the leaderboard and alert rules read it
instead of recomputing a million posts per request), and the coordinator's "these two
accounts are not the same person" answers, so a dismissed suggestion stays dismissed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["CustomerOrder", "IdentityDismissal", "Person", "RelationshipEvent", "RorScore"]


class Person(SQLModel, table=True):
    """One human behind one or more linked accounts; ROR is computed per person."""

    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = None
    created_at: datetime | None = timestamp()


class RelationshipEvent(SQLModel, table=True):
    __tablename__ = "relationship_event"
    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="author.id", index=True)
    post_id: int | None = Field(default=None, foreign_key="post.id")
    kind: str = Field(index=True)
    weight: float = 1.0
    reach: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    occurred_at: datetime | None = timestamp(index=True)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # why, when logged by hand


class CustomerOrder(SQLModel, table=True):
    """One order from an imported orders CSV, linked to an author when the customer is known.

    `order_key` makes importing the same file twice a no-op: the CSV's own order id
    when it has one, otherwise a fingerprint of customer, time and amount.
    """

    __tablename__ = "customer_order"
    __table_args__ = (UniqueConstraint("order_key", name="uq_customer_order_key"),)
    id: int | None = Field(default=None, primary_key=True)
    order_key: str
    # A handle (lower case, without '@') or an e-mail address (lower case).
    customer: str = Field(index=True)
    platform: str | None = None
    author_id: int | None = Field(default=None, foreign_key="author.id", index=True)
    ordered_at: datetime = timestamp(nullable=False, index=True)
    amount: float
    imported_at: datetime | None = timestamp()


class RorScore(SQLModel, table=True):
    """The last computed Return on Relationship of one person (or lone account) for one brand.

    `brand_id` is NULL for the all-brands computation. `author_id` is the person's
    representative account (the lowest author id); `person_id` is NULL for an
    account that is not linked to any other.
    """

    __tablename__ = "ror_score"
    __table_args__ = (Index("ix_ror_score_brand_score", "brand_id", "score"),)
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    author_id: int = Field(foreign_key="author.id", index=True)
    score: float
    events_term: float
    loyalty_term: float
    advocacy_term: float
    trend_term: float
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    months_active: int
    last_event_at: datetime | None = timestamp()
    computed_at: datetime = timestamp(nullable=False)


class IdentityDismissal(SQLModel, table=True):
    """Two accounts the coordinator said are different people (always stored with author_a < author_b)."""

    __tablename__ = "identity_dismissal"
    author_a: int = Field(foreign_key="author.id", primary_key=True)
    author_b: int = Field(foreign_key="author.id", primary_key=True)
    actor: str
    at: datetime | None = timestamp()
