"""The review queue's shapes: queue and library items with their treasure explanation, tags, products.

Text fields (post text, titles, names, notes, tags) are returned raw: the UI
escapes them. Links are returned only when they are plain http(s) URLs, and media
URLs only when they point at an allowed media host (`[gallery] media_hosts`);
`QueueItem.from_entry` applies both.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Schema, Timestamp, iso
from tesoro.api.schemas.corrections import CorrectionPublic
from tesoro.api.schemas.decisions import DecisionPublic
from tesoro.api.schemas.posts import UI_URL_DOC, post_ui_url
from tesoro.api.security import MediaFilter, safe_link
from tesoro.curator.changes import word_diff
from tesoro.store.curation import QueueEntry, RequestRef
from tesoro.store.curation.queue import QueuePage as StoredQueuePage

__all__ = [
    "Arrivals",
    "AssignedProduct",
    "CatalogProduct",
    "ContentChangePublic",
    "CopyPublic",
    "LibraryItem",
    "NotePublic",
    "PostDetail",
    "ProductList",
    "ProductPublic",
    "QueueAuthor",
    "QueueItem",
    "QueueMedia",
    "QueueMetrics",
    "QueuePage",
    "RightsRequestBrief",
    "TagCount",
    "TagList",
    "TextPart",
    "Treasure",
]


# --- queue items ---------------------------------------------------------------------------------------


class QueueAuthor(Schema):
    """The post's author, as a card shows them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "handle": "ana",
                    "name": "Ana Trail",
                    "followers": 12345,
                    "verified": False,
                    "url": "https://x.com/ana",
                }
            ]
        }
    )

    id: int
    handle: str
    name: str | None
    followers: int | None
    verified: bool
    url: str | None = Field(description="only http(s) links, else null")


class QueueMetrics(Schema):
    """Engagement counts as last collected."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"likes": 12, "reposts": 3, "replies": 1, "quotes": 0, "views": None}]
        }
    )

    likes: int
    reposts: int
    replies: int
    quotes: int
    views: int | None


class QueueMedia(Schema):
    """A medium of the post (URLs off the allowed media hosts are null)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "photo",
                    "url": "https://pbs.twimg.com/media/photo1.jpg",
                    "preview_url": None,
                    "width": 1200,
                    "height": 800,
                    "alt_text": "a shoe on a trail",
                }
            ]
        }
    )

    type: str
    url: str | None = Field(description="only on an allowed media host, else null")
    preview_url: str | None = Field(description="only on an allowed media host, else null")
    width: int | None
    height: int | None
    alt_text: str | None
    thumbnail_url: str | None = Field(
        None, description="Tesoro's own thumbnail (metadata-free JPEG), once the media pipeline made it"
    )
    blurhash: str | None = Field(None, description="a blurhash placeholder to paint while the image loads")


class CatalogProduct(Schema):
    """A product of the catalog."""

    id: int
    name: str
    line: str | None = Field(description="the product line, if the settings give one")
    brand_id: int


class AssignedProduct(CatalogProduct):
    """The post's product: assigned by a coordinator, or else the scorer's match."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": 1, "name": "Cumbre Trail Runner", "line": "trail", "brand_id": 1, "assigned": True}
            ]
        }
    )

    assigned: bool = Field(description="true when a coordinator assigned it, false for the scorer's guess")


class Treasure(Schema):
    """Why the post ranks where it does."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "score": 0.597,
                    "base_score": 0.597,
                    "learned": None,
                    "components": {
                        "relevance": {
                            "value": 0.95,
                            "weight": 3.0,
                            "contribution": 0.2591,
                            "detail": "relevance 0.95",
                        }
                    },
                    "filtered": None,
                }
            ]
        }
    )

    score: float = Field(description="the ranking score, 0..1 (the base score blended with the learned one)")
    base_score: float = Field(description="the weighted sum of the components")
    learned: float | None = Field(description="the brand's learned ranker's score, once it has one")
    components: dict[str, Any] = Field(
        description="component -> {value, weight, contribution, detail}: relevance, content, safety..."
    )
    filtered: str | None = Field(
        description="why the post is kept out of the queue (unsafe, spam, off-topic)"
    )


class CopyPublic(Schema):
    """Another post with the same words (a duplicate), shown on the original's card."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 11,
                    "platform": "x",
                    "author_handle": "ana",
                    "url": "https://x.com/ana/status/11",
                    "created_at": "2026-11-01T11:05:00+00:00",
                    "queue_state": "new",
                }
            ]
        }
    )

    id: int
    platform: str
    author_handle: str
    url: str | None
    created_at: Timestamp
    queue_state: str


class TextPart(Schema):
    """One run of a word diff: text kept, removed or added."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"op": "added", "text": "now 50% off"}]})

    op: Literal["same", "added", "removed"] = Field(description="kept, added or removed")
    text: str = Field(description="raw: escape it before showing it")


_CHANGE_EXAMPLE: dict[str, Any] = {
    "approved_version": 1,
    "version": 2,
    "old_text": "Love my Cumbre",
    "new_text": "Love my Cumbre, 50% off at shop.example",
    "old_title": None,
    "new_title": None,
    "diff": [
        {"op": "same", "text": "Love my "},
        {"op": "removed", "text": "Cumbre"},
        {"op": "added", "text": "Cumbre, 50% off at shop.example"},
    ],
    "media_added": ["https://pbs.twimg.com/media/b.jpg"],
    "media_removed": ["https://pbs.twimg.com/media/a.jpg"],
}


class ContentChangePublic(Schema):
    """The post's content changed on the platform after it was approved: the approved version
    (which the public gallery keeps showing) against the current one, waiting for review."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CHANGE_EXAMPLE]})

    approved_version: int = Field(description="the version the gallery keeps serving")
    version: int = Field(description="the current version, waiting for review")
    old_text: str = Field(description="raw: escape it before showing it")
    new_text: str = Field(description="raw: escape it before showing it")
    old_title: str | None = Field(description="the approved title (Reddit), raw")
    new_title: str | None = Field(description="the current title (Reddit), raw")
    diff: list[TextPart] = Field(description="old_text to new_text, word by word")
    media_added: list[str | None] = Field(description="media URLs (null where the host is not allowed)")
    media_removed: list[str | None] = Field(description="media URLs (null where the host is not allowed)")


class NotePublic(Schema):
    """The latest note a coordinator kept with a decision on the post (raw: escape it)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "off-topic: a mountain, not our shoe",
                    "actor": "key:415472f2f1fa (Ana)",
                    "decided_at": "2026-11-01T12:00:00+00:00",
                }
            ]
        }
    )

    text: str = Field(description="raw: escape it before showing it")
    actor: str = Field(description="who wrote it")
    decided_at: Timestamp | None = Field(description="when")


# A consent link inside a request's text (`tesoro.curator.rights_requests.consent_link`).
_CONSENT_LINK = re.compile(r"https?://\S+/rights/consent/[A-Za-z0-9._~%-]+")


class RightsRequestBrief(Schema):
    """The post's latest rights request as its card shows it (in full: /api/rights/requests/{id})."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "status": "sent",
                    "channel": "manual",
                    "text": "@ana May Andes Outdoor share this? Reply #YesAndes to agree. "
                    "Terms: https://tesoro.example/rights/consent/12.1767225600.abc.sig",
                    "consent_link": "https://tesoro.example/rights/consent/12.1767225600.abc.sig",
                    "asked_at": "2026-12-01T10:00:00+00:00",
                    "reason": None,
                }
            ]
        }
    )

    id: int
    status: str = Field(
        description="queued, sent, needs_review, granted, declined, revoked, no_response, failed or expired"
    )
    channel: str = Field(description="reply (posted through the API) or manual (the coordinator pastes it)")
    text: str | None = Field(description="the text to paste (manual channel only), raw")
    consent_link: str | None = Field(description="the consent link inside that text (manual channel only)")
    asked_at: Timestamp = Field(description="when it was asked")
    reason: str | None = Field(description="why it has its status (a reply to review, an error), raw")

    @classmethod
    def from_ref(cls, ref: RequestRef) -> RightsRequestBrief:
        manual = ref.channel == "manual"
        link = _CONSENT_LINK.search(ref.text) if manual else None
        return cls(
            id=ref.id,
            status=ref.status,
            channel=ref.channel,
            text=ref.text if manual else None,
            consent_link=safe_link(link.group(0)) if link else None,
            asked_at=iso(ref.asked_at) or "",
            reason=ref.reason,
        )


_QUEUE_ITEM_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "platform": "x",
    "external_id": "q-high",
    "url": "https://x.com/ana/status/q-high",
    "ui_url": "/ui/queue?post=42",
    "title": None,
    "text": "Best treasure in the queue",
    "lang": "en",
    "language": "en",
    "created_at": "2026-11-01T11:20:00+00:00",
    "brand_id": 1,
    "author": {
        "id": 7,
        "handle": "ana",
        "name": "Ana Trail",
        "followers": 12345,
        "verified": False,
        "url": "https://x.com/ana",
    },
    "metrics": {"likes": 12, "reposts": 3, "replies": 1, "quotes": 0, "views": None},
    "media": [],
    "hashtags": ["trailrunning"],
    "queue_state": "new",
    "rights_status": "none",
    "product": {"id": 1, "name": "Cumbre Trail Runner", "line": None, "brand_id": 1, "assigned": False},
    "tags": [],
    "content_types": ["review"],
    "sentiment": "positive",
    "treasure": {
        "score": 0.597,
        "base_score": 0.597,
        "learned": None,
        "components": {
            "relevance": {"value": 0.95, "weight": 3.0, "contribution": 0.2591, "detail": "relevance 0.95"}
        },
        "filtered": None,
    },
    "duplicate_of": None,
    "copy_count": 0,
    "copies": [],
    "change": None,
    "note": None,
    "rights_request": None,
}


class QueueItem(Schema):
    """A ranked post as the queue and the library show it: the card, its scores and its duplicates."""

    model_config = ConfigDict(json_schema_extra={"examples": [_QUEUE_ITEM_EXAMPLE]})

    id: int
    platform: str
    external_id: str
    url: str | None = Field(description="only http(s) links, else null")
    ui_url: str = Field(description=UI_URL_DOC)
    title: str | None
    text: str = Field(description="raw: escape it before showing it")
    lang: str | None = Field(description="the language the platform reported")
    language: str | None = Field(description="the language the scorer detected")
    created_at: Timestamp
    brand_id: int | None
    author: QueueAuthor
    metrics: QueueMetrics
    media: list[QueueMedia]
    hashtags: list[str]
    queue_state: str
    rights_status: str
    product: AssignedProduct | None
    tags: list[str]
    content_types: list[str] = Field(description="photo, video, review, unboxing, tutorial...")
    sentiment: str | None = Field(description="positive, neutral or negative")
    treasure: Treasure
    duplicate_of: int | None = Field(description="the original post when this one is a copy")
    copy_count: int
    copies: list[CopyPublic]
    change: ContentChangePublic | None = Field(
        None, description="set when the content changed after approval: what changed, for review"
    )
    note: NotePublic | None = Field(None, description="the latest note a coordinator kept on it")
    rights_request: RightsRequestBrief | None = Field(None, description="its latest rights request")

    @classmethod
    def from_entry(
        cls, entry: QueueEntry, products: dict[int, CatalogProduct], media: MediaFilter
    ) -> QueueItem:
        return cls(**_entry_fields(entry, products, media))


def _entry_fields(
    entry: QueueEntry, products: dict[int, CatalogProduct], media: MediaFilter
) -> dict[str, Any]:
    # Nested models as plain dicts: the item validates them in one call, which costs a third of
    # building each nested model on its own (a page of cards builds hundreds).
    card = entry.card
    product = products.get(entry.product_id) if entry.product_id is not None else None
    return dict(
        id=card.id,
        platform=card.platform,
        external_id=card.external_id,
        url=safe_link(card.url),
        ui_url=post_ui_url(card.id),
        title=card.title,
        text=card.text,
        lang=card.lang,
        language=entry.language,
        created_at=iso(card.created_at) or "",
        brand_id=card.brand_id,
        author=dict(
            id=card.author_id,
            handle=card.author_handle,
            name=card.author_name,
            followers=card.author_followers,
            verified=card.author_verified,
            url=safe_link(card.author_url),
        ),
        metrics=dict(
            likes=card.likes,
            reposts=card.reposts,
            replies=card.replies,
            quotes=card.quotes,
            views=card.views,
        ),
        media=[
            dict(
                type=m.type,
                url=m.url if media.allowed(m.url) else None,
                preview_url=m.preview_url if media.allowed(m.preview_url) else None,
                width=m.width,
                height=m.height,
                alt_text=m.alt_text,
                thumbnail_url=None if m.thumbnail_id is None else f"/api/media/{m.thumbnail_id}/thumbnail",
                blurhash=m.blurhash,
            )
            for m in card.media
        ],
        hashtags=list(card.hashtags),
        queue_state=card.queue_state,
        rights_status=card.rights_status,
        product=None
        if product is None
        else {**product.model_dump(), "assigned": card.product_id is not None},
        tags=list(card.tags),
        content_types=list(entry.content_types),
        sentiment=entry.sentiment,
        treasure=dict(
            score=round(entry.score, 4),
            base_score=round(entry.base_score, 4),
            learned=None if entry.learned is None else round(entry.learned, 4),
            components=entry.components,
            filtered=entry.filtered,
        ),
        duplicate_of=entry.duplicate_of,
        copy_count=entry.copy_count,
        copies=[
            dict(
                id=c.id,
                platform=c.platform,
                author_handle=c.author_handle,
                url=safe_link(c.url),
                created_at=iso(c.created_at) or "",
                queue_state=c.queue_state,
            )
            for c in entry.copies
        ],
        change=None if entry.change is None else _change(entry, media),
        note=None
        if entry.note is None
        else dict(text=entry.note.text, actor=entry.note.actor, decided_at=iso(entry.note.decided_at)),
        rights_request=None
        if entry.rights_request is None
        else RightsRequestBrief.from_ref(entry.rights_request),
    )


def _change(entry: QueueEntry, media: MediaFilter) -> ContentChangePublic:
    change = entry.change
    assert change is not None
    return ContentChangePublic(
        approved_version=change.approved_version,
        version=change.version,
        old_text=change.old_text,
        new_text=change.new_text,
        old_title=change.old_title,
        new_title=change.new_title,
        diff=[TextPart(op=op, text=text) for op, text in word_diff(change.old_text, change.new_text)],
        media_added=[u if media.allowed(u) else None for u in change.media_added],
        media_removed=[u if media.allowed(u) else None for u in change.media_removed],
    )


class LibraryItem(QueueItem):
    """A library post: a queue item, and how well it matches the words or the meaning searched for."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_QUEUE_ITEM_EXAMPLE, "queue_state": "approved", "relevance": 0.8123}]
        }
    )

    relevance: float | None = Field(
        None, description="searches with words or a meaning only (the key is absent otherwise)"
    )

    @classmethod
    def from_hit(
        cls,
        entry: QueueEntry,
        products: dict[int, CatalogProduct],
        media: MediaFilter,
        relevance: float | None,
    ) -> LibraryItem:
        item = cls(**_entry_fields(entry, products, media))
        if relevance is not None:
            item.relevance = round(relevance, 4)  # set only here, so an unset one is left out
        return item


class QueuePage(Schema):
    """A page of the queue (or of the filtered posts), best first."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"total": 6, "latest_id": 42, "items": [_QUEUE_ITEM_EXAMPLE]}]}
    )

    total: int = Field(description="posts that match, over all pages")
    latest_id: int | None = Field(
        None,
        description="the largest ranked post id when the page was read (any view): ask for arrivals after it",
    )
    items: list[QueueItem]

    @classmethod
    def from_page(
        cls, page: StoredQueuePage, products: dict[int, CatalogProduct], media: MediaFilter
    ) -> QueuePage:
        """The API's page of a page the store listed (the queue, a view of it, or the filtered posts)."""
        items = [_entry_fields(e, products, media) for e in page.items]
        return cls.model_validate({"total": page.total, "latest_id": page.latest_id, "items": items})


class Arrivals(Schema):
    """Posts that entered the view since the page was loaded: poll it, then load them with `after`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 12, "latest_id": 811}]})

    count: int = Field(description="posts of the view with an id above `after`")
    latest_id: int | None = Field(description="the largest of their ids (null when there are none)")


class PostDetail(QueueItem):
    """One ranked post with the post it copies (if it is a duplicate) and its decision history."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_QUEUE_ITEM_EXAMPLE, "original": None, "decisions": []}]}
    )

    original: QueueItem | None = Field(description="the post this one copies, if it is a duplicate")
    decisions: list[DecisionPublic] = Field(description="its decisions, newest first")
    corrections: list[CorrectionPublic] = Field(
        default_factory=list, description="the coordinator's corrections (sentiment, product, content types)"
    )


# --- tags and products ---------------------------------------------------------------------------


class TagCount(Schema):
    """A tag and how many posts have it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"tag": "trail", "count": 12}]})

    tag: str
    count: int = Field(description="posts with this tag")


class TagList(Schema):
    """Tags in use, most used first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [{"tag": "trail", "count": 12}]}]})

    items: list[TagCount]


class ProductPublic(CatalogProduct):
    """A product a post can be assigned to, with its brand's name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "Cumbre Trail Runner",
                    "line": None,
                    "brand_id": 1,
                    "brand": "Andes Outdoor",
                }
            ]
        }
    )

    brand: str | None


class ProductList(Schema):
    """Products by brand and name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 1,
                            "name": "Cumbre Trail Runner",
                            "line": None,
                            "brand_id": 1,
                            "brand": "Andes Outdoor",
                        }
                    ]
                }
            ]
        }
    )

    items: list[ProductPublic]
