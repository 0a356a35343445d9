"""Usage rights: requests to authors, their answers, receipts and terms (`/api/rights/...`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Id, Input, Schema, Timestamp, iso
from tesoro.store.tables import RightsReceipt, RightsReply, RightsRequest, RightsTerms

__all__ = [
    "ReceiptList",
    "ReceiptPublic",
    "RequestBatchPublic",
    "RequestCreated",
    "RequestSkipped",
    "RightsDecisionCreate",
    "RightsReplyPublic",
    "RightsRequestCreate",
    "RightsRequestList",
    "RightsRequestPublic",
    "RightsRevoke",
    "SignedReceipt",
    "TermsPublic",
    "TermsUpdate",
]

Scope = Literal["organic_social", "website_gallery", "paid_ads", "product_pages"]

_REQUEST_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "post_id": 42,
    "brand_id": 1,
    "author_id": 7,
    "platform": "x",
    "language": "es",
    "hashtag": "#YesAndes",
    "terms_id": 3,
    "scope": ["organic_social", "website_gallery"],
    "duration_days": 365,
    "template": "es-2",
    "text": "@ana ¡qué buena publicación! ¿Nos dejas mostrarla en Andes Outdoor (nuestras redes, "
    "365 días)? Si estás de acuerdo, responde #YesAndes. Detalles: https://tesoro.example/rights/consent/12.1",
    "channel": "reply",
    "status": "needs_review",
    "attempt": 1,
    "reason": "sets a condition: 'pero'; reply: 'sí pero denme crédito'",
    "asked_by": "maria",
    "asked_at": "2026-12-01T10:00:00+00:00",
    "sent_at": "2026-12-01T10:05:00+00:00",
    "reply_url": "https://x.com/andesoutdoor/status/1866000000000000001",
    "answered_at": None,
    "future_posts": False,
    "replies": [],
}

_RECEIPT_EXAMPLE: dict[str, Any] = {
    "id": 5,
    "request_id": 12,
    "post_id": 42,
    "author_id": 7,
    "platform": "x",
    "post_url": "https://x.com/ana/status/1865000000000000000",
    "author_external_id": "1200",
    "author_handle": "ana",
    "request_text": "Hi @ana! ... Reply #YesAndes to say yes.",
    "terms_version": 2,
    "terms_sha256": "9f" * 32,
    "scope": ["organic_social"],
    "duration_days": 365,
    "source": "reply",
    "reply_url": "https://x.com/ana/status/1866000000000000003",
    "reply_text": "#YesAndes 🙌",
    "future_posts": False,
    "asked_by": "maria",
    "asked_at": "2026-12-01T10:00:00+00:00",
    "granted_at": "2026-12-02T09:00:00+00:00",
    "ends_at": "2027-12-02T09:00:00+00:00",
    "revoked_at": None,
    "revoke_reason": None,
    "parent_receipt_id": None,
}
_CREATED_EXAMPLE: dict[str, Any] = {
    "request": _REQUEST_EXAMPLE,
    "consent_link": "https://tesoro.example/rights/consent/12.1767225600.abc.sig",
}


class RightsReplyPublic(Schema):
    """One reply read under a request's thread, with the classifier's verdict (untrusted text)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "external_id": "1866000000000000002",
                    "author_handle": "ana",
                    "from_author": True,
                    "text": "sí pero denme crédito",
                    "url": None,
                    "verdict": "needs_review",
                    "reason": "sets a condition: 'pero'",
                    "replied_at": "2026-12-02T08:00:00+00:00",
                }
            ]
        }
    )

    id: int = Field(description="Tesoro's id of the reply")
    external_id: str = Field(description="the platform's id of the reply")
    author_handle: str | None = Field(description="who replied")
    from_author: bool = Field(description="whether the post's author wrote it (only the author can grant)")
    text: str = Field(description="the reply as written")
    url: str | None = Field(description="the reply's link on the platform")
    verdict: str = Field(description="granted, declined, revoked or needs_review")
    reason: str = Field(description="why the classifier read it so")
    replied_at: Timestamp | None = Field(description="when it was written")

    @classmethod
    def from_row(cls, row: RightsReply) -> RightsReplyPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            external_id=row.external_id,
            author_handle=row.author_handle,
            from_author=row.from_author,
            text=row.text,
            url=row.url,
            verdict=row.verdict,
            reason=row.reason,
            replied_at=iso(row.replied_at),
        )


class RightsRequestPublic(Schema):
    """One rights request: what was asked, how, and where it stands."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REQUEST_EXAMPLE]})

    id: int = Field(description="the request's id")
    post_id: int = Field(description="the post asked about")
    brand_id: int = Field(description="the brand that asks")
    author_id: int | None = Field(description="the post's author")
    platform: str = Field(description="the post's platform")
    language: str = Field(description="the language of the text (en or es)")
    hashtag: str = Field(description="the approval hashtag the author replies with")
    terms_id: int = Field(description="the terms version asked under")
    scope: list[str] = Field(description="the uses asked for")
    duration_days: int | None = Field(description="how long the rights last; null: no end date")
    template: str = Field(description="the template variant used")
    text: str = Field(description="the exact text posted or to paste, with the consent link")
    channel: str = Field(description="reply (posted through the API) or manual (the coordinator pastes it)")
    status: str = Field(
        description="queued, sent, needs_review, granted, declined, revoked, no_response, failed or expired"
    )
    attempt: int = Field(description="1, or 2 for the one re-ask after no response")
    reason: str | None = Field(description="why it has its status (a reply's verdict, an error)")
    asked_by: str = Field(description="who asked")
    asked_at: Timestamp = Field(description="when it was asked")
    sent_at: Timestamp | None = Field(description="when it went out")
    reply_url: str | None = Field(description="the link of Tesoro's reply on the platform")
    answered_at: Timestamp | None = Field(description="when it was answered")
    future_posts: bool = Field(description="the author also agreed for future posts (consent page)")
    replies: list[RightsReplyPublic] = Field(description="the replies read under it (on a single request)")

    @classmethod
    def from_row(cls, row: RightsRequest, replies: list[RightsReply] | None = None) -> RightsRequestPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            post_id=row.post_id,
            brand_id=row.brand_id,
            author_id=row.author_id,
            platform=row.platform,
            language=row.language,
            hashtag=row.hashtag,
            terms_id=row.terms_id,
            scope=list(row.scope),
            duration_days=row.duration_days,
            template=row.template,
            text=row.text,
            channel=row.channel,
            status=row.status,
            attempt=row.attempt,
            reason=row.reason,
            asked_by=row.asked_by,
            asked_at=iso(row.asked_at) or "",
            sent_at=iso(row.sent_at),
            reply_url=row.reply_url,
            answered_at=iso(row.answered_at),
            future_posts=row.future_posts,
            replies=[RightsReplyPublic.from_row(r) for r in replies or []],
        )


class RightsRequestList(Schema):
    """Rights requests, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_REQUEST_EXAMPLE]}]})

    items: list[RightsRequestPublic] = Field(description="the requests")


class RightsRequestCreate(Input):
    """Ask the authors of one or more posts for usage rights (one request per post)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"post_ids": [42, 43], "scope": ["website_gallery", "paid_ads"], "duration_days": 180},
                {"post_ids": [42]},
            ]
        }
    )

    post_ids: list[Id] = Field(min_length=1, max_length=100, description="the posts (at most 100)")
    scope: list[Scope] | None = Field(
        None, min_length=1, max_length=4, description="the uses asked for; default: [rights] scope"
    )
    duration_days: int | None = Field(
        None,
        ge=0,
        le=3650,
        description="days the rights last (0: no end date); default: [rights] duration_days",
    )


class RequestCreated(Schema):
    """One request made: the text to post (or paste) and its consent link."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CREATED_EXAMPLE]})

    request: RightsRequestPublic = Field(description="the request recorded")
    consent_link: str = Field(description="the signed, expiring consent page link (shown once)")


class RequestSkipped(Schema):
    """A post no request was made for, and why."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"post_id": 43, "reason": "a request is open already"}]}
    )

    post_id: int = Field(description="the post")
    reason: str = Field(description="why it was skipped")


class RequestBatchPublic(Schema):
    """What a batch of requests did."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "created": [_CREATED_EXAMPLE],
                    "skipped": [{"post_id": 43, "reason": "a request is open already"}],
                }
            ]
        }
    )

    created: list[RequestCreated] = Field(description="the requests made")
    skipped: list[RequestSkipped] = Field(description="the posts skipped, with why")


class RightsDecisionCreate(Input):
    """The coordinator's decision on a request waiting for review (a condition, a question)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"grant": True}, {"grant": False, "note": "asked for payment"}]}
    )

    grant: bool = Field(description="true grants (a receipt is written), false declines")
    note: str | None = Field(None, max_length=5000, description="why, kept as the request's reason")


class RightsRevoke(Input):
    """Revoke a post's usage rights: it leaves the gallery at once; its receipts are marked revoked."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "the author asked by e-mail"}]})

    reason: str = Field(min_length=1, max_length=2000, description="why, kept on the receipts")


class ReceiptPublic(Schema):
    """The proof of one grant, as stored."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RECEIPT_EXAMPLE]})

    id: int = Field(description="the receipt's id")
    request_id: int = Field(description="the request it answers")
    post_id: int = Field(description="the post")
    author_id: int | None = Field(description="the author")
    platform: str = Field(description="the post's platform")
    post_url: str | None = Field(description="the post's link")
    author_external_id: str = Field(description="the author's platform identity (its id there)")
    author_handle: str | None = Field(description="the author's handle when granted")
    request_text: str = Field(description="the request's exact text")
    terms_version: int = Field(description="the terms version agreed to")
    terms_sha256: str = Field(description="the SHA-256 of that version's text")
    scope: list[str] = Field(description="the uses granted")
    duration_days: int | None = Field(description="how long; null: no end date")
    source: str = Field(
        description="reply, consent_page, coordinator, or future_posts (granted under an earlier consent "
        "for the author's future posts: parent_receipt_id)"
    )
    reply_url: str | None = Field(description="the author's reply link")
    reply_text: str | None = Field(description="the author's reply as written")
    future_posts: bool = Field(description="also for the author's future posts")
    asked_by: str = Field(description="who asked")
    asked_at: Timestamp = Field(description="when it was asked")
    granted_at: Timestamp = Field(description="when it was granted")
    ends_at: Timestamp | None = Field(description="when the rights end")
    revoked_at: Timestamp | None = Field(description="when they were revoked")
    revoke_reason: str | None = Field(description="why they were revoked")
    parent_receipt_id: int | None = Field(
        description="for a later post granted under the author's consent for future posts: that consent's "
        "receipt (revoking it revokes this one)"
    )

    @classmethod
    def from_row(cls, row: RightsReceipt) -> ReceiptPublic:
        data = row.model_dump()
        for key in ("asked_at", "granted_at", "ends_at", "revoked_at"):
            data[key] = iso(data[key])
        data["scope"] = list(row.scope)
        data.pop("brand_id", None)
        return cls.model_validate(data)


class ReceiptList(Schema):
    """Receipts, newest grant first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_RECEIPT_EXAMPLE]}]})

    items: list[ReceiptPublic] = Field(description="the receipts")


class SignedReceipt(Schema):
    """A receipt as an exported document, signed with HMAC-SHA256 over its canonical JSON."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "receipt": {"receipt_id": 5, "request_id": 12, "scope": ["organic_social"]},
                    "signature": {"alg": "HMAC-SHA256", "value": "ab" * 32},
                }
            ]
        }
    )

    receipt: dict[str, Any] = Field(description="the receipt document (`tesoro rights receipts --export`)")
    signature: dict[str, str] = Field(description="alg and value (hex) of the signature")


class TermsUpdate(Input):
    """A brand's usage terms; a changed text becomes a new version (old receipts keep theirs)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"body": "By replying #YesAndes you allow Andes Outdoor to ..."}]}
    )

    body: str = Field(min_length=20, max_length=20_000, description="the terms' full text")


class TermsPublic(Schema):
    """One version of a brand's usage terms."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "brand_id": 1,
                    "version": 2,
                    "body": "By replying #YesAndes you allow Andes Outdoor to ...",
                    "sha256": "9f" * 32,
                    "created_at": "2026-11-30T12:00:00+00:00",
                }
            ]
        }
    )

    id: int = Field(description="the terms' id")
    brand_id: int = Field(description="the brand")
    version: int = Field(description="the version number (1, 2, ...)")
    body: str = Field(description="the text")
    sha256: str = Field(description="the SHA-256 of the text (UTF-8)")
    created_at: Timestamp | None = Field(description="when this version was saved")

    @classmethod
    def from_row(cls, row: RightsTerms) -> TermsPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            brand_id=row.brand_id,
            version=row.version,
            body=row.body,
            sha256=row.sha256,
            created_at=iso(row.created_at),
        )
