"""Usage-rights tables: the brand's terms (versioned), the requests sent to authors, their replies, receipts.

A `RightsRequest` is one ask for one post (a batch makes one per post): the exact text
sent, the terms version, scope and duration asked, how it went out (a reply posted through
the platform's API, or text and a consent link for the coordinator to paste) and where it
stands. Every reply read from the thread is kept in `RightsReply` with the classifier's
verdict and reason. A grant writes a `RightsReceipt`: a self-contained copy of everything a
lawyer would ask for (what was asked, the terms and their hash, the answer with its time and
the author's platform identity, who asked and when); receipts are never rewritten, only
marked revoked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tesoro.store.tables.types import timestamp

__all__ = ["RightsReceipt", "RightsReply", "RightsRequest", "RightsTerms"]


class RightsTerms(SQLModel, table=True):
    """One version of a brand's usage terms; a new text is a new version, old ones stay for old receipts."""

    __tablename__ = "rights_terms"
    __table_args__ = (UniqueConstraint("brand_id", "version", name="uq_rights_terms_brand_version"),)
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    version: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str = Field(max_length=64)
    created_at: datetime | None = timestamp()


class RightsRequest(SQLModel, table=True):
    __tablename__ = "rights_request"
    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="author.id", index=True)
    platform: str = Field(index=True)
    language: str = Field(max_length=8)
    hashtag: str
    terms_id: int = Field(foreign_key="rights_terms.id")
    scope: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    duration_days: int | None = None  # None: no end date
    template: str  # the template variant used, e.g. "es-2"
    text: str = Field(sa_column=Column(Text, nullable=False))
    # "reply": posted through the platform's API; "manual": the coordinator pastes the text.
    channel: str = Field(max_length=16)
    # queued, sent, granted, declined, revoked, needs_review, no_response, failed, expired
    status: str = Field(max_length=16, index=True)
    attempt: int = 1
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    asked_by: str
    asked_at: datetime = timestamp(nullable=False, index=True)
    sent_at: datetime | None = timestamp()
    # The reply Tesoro posted (its platform id and link), where the author's answers are looked for.
    reply_external_id: str | None = None
    reply_url: str | None = None
    answered_at: datetime | None = timestamp()
    # The consent link's one-time nonce (its hash) and when the page was answered.
    consent_nonce_hash: str = Field(max_length=64, index=True)
    consent_used_at: datetime | None = timestamp()
    future_posts: bool = False


class RightsReply(SQLModel, table=True):
    """One reply read under a request's thread, with the classifier's verdict."""

    __tablename__ = "rights_reply"
    __table_args__ = (UniqueConstraint("request_id", "external_id", name="uq_rights_reply_request_external"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="rights_request.id", index=True)
    external_id: str
    author_external_id: str
    author_handle: str | None = None
    from_author: bool
    text: str = Field(sa_column=Column(Text, nullable=False))
    url: str | None = None
    verdict: str = Field(max_length=16)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    replied_at: datetime | None = timestamp()
    seen_at: datetime | None = timestamp()


class RightsReceipt(SQLModel, table=True):
    """The proof of one grant, self-contained (copied, not joined, so later edits cannot change it)."""

    __tablename__ = "rights_receipt"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="rights_request.id", index=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="author.id", index=True)
    brand_id: int = Field(foreign_key="brand.id")
    platform: str
    post_url: str | None = None
    author_external_id: str
    author_handle: str | None = None
    request_text: str = Field(sa_column=Column(Text, nullable=False))
    terms_version: int
    terms_sha256: str = Field(max_length=64)
    scope: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    duration_days: int | None = None
    # "reply" (the author's reply: its link and text), "consent_page" (the page's record),
    # "coordinator" (granted by hand on a request without a reply from the author) or "future_posts"
    # (a later post of an author who approved "for my future posts as well": `parent_receipt_id`).
    source: str = Field(max_length=16)
    reply_url: str | None = None
    reply_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    future_posts: bool = False
    asked_by: str
    asked_at: datetime = timestamp(nullable=False)
    granted_at: datetime = timestamp(nullable=False, index=True)
    ends_at: datetime | None = timestamp(index=True)
    revoked_at: datetime | None = timestamp()
    revoke_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A grant under an author's consent for future posts: the receipt of that consent (revoking it
    # revokes this one too).
    parent_receipt_id: int | None = Field(default=None, foreign_key="rights_receipt.id", index=True)
