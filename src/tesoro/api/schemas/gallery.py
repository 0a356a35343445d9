"""The public gallery feed: only what a public page needs (no scores, no internal ids, no follower counts)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Schema, Timestamp, iso
from tesoro.api.security import MediaFilter, safe_link
from tesoro.store.posts import PostView

__all__ = ["GalleryAuthor", "GalleryFeed", "GalleryItem", "GalleryMedia"]

_ITEM_EXAMPLE: dict[str, Any] = {
    "platform": "x",
    "text": "Great grip on the Cumbre",
    "author": {"handle": "ana", "name": "Ana Trail"},
    "permalink": "https://x.com/ana/status/1790000000000000000",
    "created_at": "2026-11-01T11:55:00+00:00",
    "featured": False,
    "product": "Cumbre Trail Runner",
    "media": [
        {
            "type": "photo",
            "url": "https://pbs.twimg.com/media/photo1.jpg",
            "preview_url": None,
            "width": 1200,
            "height": 800,
            "alt": "a shoe on a trail",
        }
    ],
}


class GalleryMedia(Schema):
    """A medium on an allowed platform media host (others are left out, never proxied)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "photo",
                    "url": "https://pbs.twimg.com/media/photo1.jpg",
                    "preview_url": None,
                    "width": 1200,
                    "height": 800,
                    "alt": "a shoe on a trail",
                }
            ]
        }
    )

    type: str = Field(description="photo, video or gif")
    url: str | None
    preview_url: str | None
    width: int | None
    height: int | None
    alt: str = Field(description="the author's description, or an empty string")


class GalleryAuthor(Schema):
    """Who posted it, as the public page shows them."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"handle": "ana", "name": "Ana Trail"}]})

    handle: str
    name: str = Field(description="the display name, else the handle")


class GalleryItem(Schema):
    """The public face of a post: text, who wrote it, where, when, and its allowed media."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM_EXAMPLE]})

    platform: str
    text: str = Field(description="raw: escape it before showing it (the widget does)")
    author: GalleryAuthor
    permalink: str | None = Field(description="the post on its platform; only http(s) links")
    created_at: Timestamp
    featured: bool
    product: str | None = Field(description="the product's name, if the post was tagged with one")
    media: list[GalleryMedia]

    @classmethod
    def from_view(cls, p: PostView, media: MediaFilter) -> GalleryItem:
        items = []
        for m in p.media:
            url = m.url if media.allowed(m.url) else None
            preview = m.preview_url if media.allowed(m.preview_url) else None
            if url is None and preview is None:
                continue
            items.append(
                GalleryMedia(
                    type=m.type,
                    url=url,
                    preview_url=preview,
                    width=m.width,
                    height=m.height,
                    alt=m.alt_text or "",
                )
            )
        return cls(
            platform=p.platform,
            text=p.text,
            author=GalleryAuthor(handle=p.author.handle, name=p.author.display_name or p.author.handle),
            permalink=safe_link(p.url),
            created_at=iso(p.created_at) or "",
            featured=p.queue_state == "featured",
            product=p.product_name,
            media=items,
        )


class GalleryFeed(Schema):
    """A brand's approved, rights-cleared posts, featured first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand": "Andes Outdoor",
                    "brand_slug": "andes-outdoor",
                    "product": None,
                    "type": None,
                    "items": [_ITEM_EXAMPLE],
                }
            ]
        }
    )

    brand: str
    brand_slug: str = Field(description="the brand's name as it appears in gallery URLs")
    product: str | None = Field(description="the product filter, as asked")
    type: str | None = Field(description="the media type filter, as asked")
    items: list[GalleryItem]
