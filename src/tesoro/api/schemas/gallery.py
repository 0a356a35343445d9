"""The public gallery feed: only what a public page needs (no scores, no internal ids, no follower counts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Schema, Timestamp, iso
from tesoro.api.security import MediaFilter, safe_link
from tesoro.store.gallery import GalleryCounts
from tesoro.store.posts import MediaView, PostView

# (post id, medium) -> (the kept copy's URL, width, height), or None when it has no copy.
KeptCopies = Callable[[int, MediaView], "tuple[str, int | None, int | None] | None"]

__all__ = [
    "Beacon",
    "BeaconEvent",
    "GalleryAuthor",
    "GalleryCountsOut",
    "GalleryFeed",
    "GalleryItem",
    "GalleryMedia",
    "GalleryPerformance",
    "GalleryShop",
    "KeptCopies",
    "PostPerformanceOut",
    "ProductPerformanceOut",
]

_ITEM_EXAMPLE: dict[str, Any] = {
    "key": "x:1790000000000000000",
    "platform": "x",
    "text": "Great grip on the Cumbre",
    "author": {"handle": "ana", "name": "Ana Trail"},
    "permalink": "https://x.com/ana/status/1790000000000000000",
    "created_at": "2026-11-01T11:55:00+00:00",
    "featured": False,
    "product": "Cumbre Trail Runner",
    "shop": {
        "product": "Cumbre Trail Runner",
        "url": "https://shop.example.com/cumbre?utm_source=tesoro&utm_medium=ugc-gallery"
        "&utm_campaign=andes-outdoor&utm_content=x%3A1790000000000000000",
    },
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
    blurhash: str | None = Field(None, description="a blurred placeholder to draw while the image loads")


class GalleryAuthor(Schema):
    """Who posted it, as the public page shows them."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"handle": "ana", "name": "Ana Trail"}]})

    handle: str
    name: str = Field(description="the display name, else the handle")


class GalleryShop(Schema):
    """The "shop this" link of a tile: the product's shop URL with the gallery's UTM parameters."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM_EXAMPLE["shop"]]})

    product: str = Field(description="the product's name")
    url: str = Field(
        description="the product's shop_url with utm_source, utm_medium, utm_campaign, utm_content"
    )


class GalleryItem(Schema):
    """The public face of a post: text, who wrote it, where, when, its allowed media and its shop link."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM_EXAMPLE]})

    key: str = Field(description="the tile's key (platform:id), what the beacon reports events with")
    platform: str
    text: str = Field(description="raw: escape it before showing it (the widget does)")
    author: GalleryAuthor
    permalink: str | None = Field(description="the post on its platform; only http(s) links")
    created_at: Timestamp
    featured: bool
    product: str | None = Field(description="the product's name, if the post was tagged with one")
    shop: GalleryShop | None = Field(None, description="set when the post's product has a shop URL")
    media: list[GalleryMedia]

    @classmethod
    def from_view(
        cls,
        p: PostView,
        media: MediaFilter,
        shop: Callable[[PostView], GalleryShop | None] | None = None,
        copies: KeptCopies | None = None,
        placeholders: dict[tuple[int, str], str] | None = None,
    ) -> GalleryItem:
        """The public item; with `copies`, media are Tesoro's kept copies, never the platform's URLs."""
        items = []
        for m in p.media:
            if copies is not None:
                kept = copies(p.id, m)
                if kept is not None:
                    items.append(
                        GalleryMedia(
                            type=m.type,
                            url=kept[0] if m.type == "photo" else None,
                            preview_url=kept[0],
                            width=kept[1],
                            height=kept[2],
                            alt=m.alt_text or "",
                            blurhash=(placeholders or {}).get((p.id, m.url)),
                        )
                    )
                continue
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
                    blurhash=(placeholders or {}).get((p.id, m.url)),
                )
            )
        return cls(
            key=f"{p.platform}:{p.external_id}",
            platform=p.platform,
            text=p.text,
            author=GalleryAuthor(handle=p.author.handle, name=p.author.display_name or p.author.handle),
            permalink=safe_link(p.url),
            created_at=iso(p.created_at) or "",
            featured=p.queue_state == "featured",
            product=p.product_name,
            shop=shop(p) if shop is not None else None,
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


class BeaconEvent(Schema):
    """One thing a visitor did with a tile."""

    key: str = Field(max_length=300, description="the tile's key from the feed")
    kind: str = Field(
        max_length=16,
        description="impression (half the tile in view), click (opened, or followed to the original) or "
        "shop (its shop link followed); another kind is dropped, not an error",
    )


class Beacon(Schema):
    """What the widget and the iframe send: a brand and a few events (no visitor data at all)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"brand": "andes-outdoor", "events": [{"key": "x:1790000000000000000", "kind": "impression"}]}
            ]
        }
    )

    brand: str = Field(max_length=200)
    events: list[BeaconEvent] = Field(max_length=500)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


_COUNTS: dict[str, Any] = {"impressions": 300, "clicks": 21, "shop_clicks": 6, "ctr": 0.07, "shop_ctr": 0.02}


class GalleryCountsOut(Schema):
    """Impressions, clicks and shop clicks, and the rates they make."""

    model_config = ConfigDict(json_schema_extra={"examples": [_COUNTS]})

    impressions: int = Field(description="times half the tile was in a visitor's viewport")
    clicks: int = Field(description="tiles opened or followed to the original post")
    shop_clicks: int = Field(description="'shop this' links followed")
    ctr: float | None = Field(description="clicks / impressions; null without impressions")
    shop_ctr: float | None = Field(description="shop clicks / impressions")

    @staticmethod
    def counts(c: GalleryCounts) -> dict[str, Any]:
        return {
            "impressions": c.impressions,
            "clicks": c.clicks,
            "shop_clicks": c.shop_clicks,
            "ctr": _rate(c.ctr),
            "shop_ctr": _rate(c.shop_ctr),
        }


class PostPerformanceOut(GalleryCountsOut):
    """A gallery post's counts over the period."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "post_id": 42,
                    "key": "x:1790000000000000000",
                    "excerpt": "First hike in the Cumbre and my feet are still dry",
                    "author": "ana",
                    "product": None,
                    **_COUNTS,
                }
            ]
        }
    )

    post_id: int
    key: str = Field(description="the tile's key (platform:id)")
    excerpt: str = Field(description="the post's first words, up to 100 characters (… when cut)")
    author: str = Field(description="the author's handle")
    product: str | None = Field(description="the product the tiles carried")


class ProductPerformanceOut(GalleryCountsOut):
    """A product's counts over the period: the tiles that carried it (null: tiles without a product)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "product": "Cumbre Trail Runner",
                    "shop_url": "https://shop.example.com/cumbre",
                    "posts": 3,
                    **_COUNTS,
                }
            ]
        }
    )

    product: str | None = Field(description="the product's name; null for tiles without a product")
    shop_url: str | None = Field(description="the product's shop URL as configured (no UTM parameters)")
    posts: int = Field(description="gallery posts with events")


class GalleryPerformance(Schema):
    """How the brand's gallery did: per post and per product, over the last `days` days."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand": "Andes Outdoor",
                    "since": "2026-11-08",
                    "until": "2026-12-07",
                    "totals": {
                        "impressions": 1200,
                        "clicks": 48,
                        "shop_clicks": 12,
                        "ctr": 0.04,
                        "shop_ctr": 0.01,
                    },
                    "posts": [
                        {
                            "post_id": 42,
                            "key": "x:1790000000000000000",
                            "excerpt": "First hike in the Cumbre and my feet are still dry",
                            "author": "ana",
                            "product": "Cumbre Trail Runner",
                            "impressions": 300,
                            "clicks": 21,
                            "shop_clicks": 6,
                            "ctr": 0.07,
                            "shop_ctr": 0.02,
                        }
                    ],
                    "products": [
                        {
                            "product": "Cumbre Trail Runner",
                            "shop_url": "https://shop.example.com/cumbre",
                            "posts": 3,
                            "impressions": 700,
                            "clicks": 30,
                            "shop_clicks": 12,
                            "ctr": 0.0429,
                            "shop_ctr": 0.0171,
                        }
                    ],
                }
            ]
        }
    )

    brand: str
    since: str = Field(description="first day counted (UTC)")
    until: str = Field(description="last day counted (UTC)")
    totals: GalleryCountsOut = Field(description="every tile of the brand")
    posts: list[PostPerformanceOut] = Field(description="the posts with events, most clicked first")
    products: list[ProductPerformanceOut] = Field(description="per product the tiles carried")
