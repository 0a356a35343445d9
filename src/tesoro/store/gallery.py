"""Gallery analytics and shop links: the per-day tile counts of `GalleryStat`, and products' shop URLs.

The beacon (`POST /gallery/beacon`) names tiles by their public key
(`platform:external_id`, as the feed gives it); `record_events` resolves them to
posts of the brand the beacon is for, counts only posts the gallery may show (rights
granted, not deleted), and adds the counts to the day's row in one upsert. Nothing
about the visitor is stored. Reads sum the rows, so the counts of several API
processes simply add up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from tesoro.store.sql import chunks, dialect_insert, table_of
from tesoro.store.tables import (
    Author,
    GalleryStat,
    Media,
    MediaImage,
    MediaStatus,
    Post,
    Product,
    RightsState,
)

__all__ = [
    "EVENT_KINDS",
    "GalleryCounts",
    "PostPerformance",
    "ProductPerformance",
    "ShopLink",
    "blurhashes",
    "brand_counts",
    "post_counts",
    "post_performance",
    "product_performance",
    "record_events",
    "shop_links",
    "tile_key",
]

# The three things a beacon reports, and the column each one adds to.
EVENT_KINDS: dict[str, str] = {"impression": "impressions", "click": "clicks", "shop": "shop_clicks"}


def tile_key(platform: str, external_id: str) -> str:
    """A gallery tile's public key: what the feed shows and the beacon sends back."""
    return f"{platform}:{external_id}"


@dataclass(frozen=True, slots=True)
class ShopLink:
    product_id: int
    name: str
    shop_url: str | None


@dataclass(frozen=True, slots=True)
class GalleryCounts:
    impressions: int = 0
    clicks: int = 0
    shop_clicks: int = 0

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def shop_ctr(self) -> float | None:
        return self.shop_clicks / self.impressions if self.impressions else None


@dataclass(frozen=True, slots=True)
class PostPerformance:
    post_id: int
    platform: str
    external_id: str
    author_handle: str
    product_id: int | None
    product_name: str | None
    counts: GalleryCounts
    text: str = ""


@dataclass(frozen=True, slots=True)
class ProductPerformance:
    product_id: int | None  # None: tiles without a product
    product_name: str | None
    shop_url: str | None
    posts: int
    counts: GalleryCounts


def shop_links(session: Session, *, product_ids: Iterable[int]) -> dict[int, ShopLink]:
    """Product id -> its name and shop URL, for the products of a gallery page."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(col(Product.id), col(Product.name), col(Product.shop_url)).where(col(Product.id).in_(ids))
    )
    return {pid: ShopLink(pid, name, shop_url) for pid, name, shop_url in rows if pid is not None}


def blurhashes(session: Session, *, post_ids: Sequence[int]) -> dict[tuple[int, str], str]:
    """(post id, media URL) -> the blurhash placeholder the media pipeline made of it."""
    out: dict[tuple[int, str], str] = {}
    for part in chunks(sorted(set(post_ids)), 500):
        rows = session.exec(
            select(col(Media.post_id), col(Media.url), col(MediaImage.blurhash))
            .join(MediaImage, col(MediaImage.media_id) == col(Media.id))
            .where(col(Media.post_id).in_(list(part)), col(MediaImage.status) == MediaStatus.OK)
        )
        for post_id, url, placeholder in rows:
            if placeholder:
                out[(post_id, url)] = placeholder
    return out


def _split_key(key: str) -> tuple[str, str] | None:
    platform, sep, external_id = key.partition(":")
    if not sep or not platform or not external_id:
        return None
    return platform, external_id


def record_events(session: Session, *, brand_id: int, events: Sequence[tuple[str, str]], day: date) -> int:
    """Add (tile key, kind) events to `day`'s counts; returns how many were counted.

    An event is dropped, not an error, when its kind is unknown, its key is not a
    post of `brand_id`, or the post may not be shown (rights not granted, deleted):
    a beacon is anonymous, so a wrong or forged key must cost nothing but itself.
    """
    wanted: dict[tuple[str, str], list[str]] = {}
    for key, kind in events:
        column = EVENT_KINDS.get(kind)
        parts = _split_key(key)
        if column is None or parts is None:
            continue
        wanted.setdefault(parts, []).append(column)
    if not wanted:
        return 0
    found: dict[tuple[str, str], tuple[int, int]] = {}
    by_platform: dict[str, list[str]] = {}
    for platform, external_id in wanted:
        by_platform.setdefault(platform, []).append(external_id)
    for platform, external_ids in by_platform.items():
        for part in chunks(sorted(external_ids), 500):
            rows = session.exec(
                select(col(Post.id), col(Post.external_id), col(Post.product_id)).where(
                    col(Post.platform) == platform,
                    col(Post.external_id).in_(list(part)),
                    col(Post.brand_id) == brand_id,
                    col(Post.rights_status) == RightsState.GRANTED.value,
                    col(Post.deleted_at).is_(None),
                )
            )
            for post_id, external_id, product_id in rows:
                assert post_id is not None
                found[(platform, external_id)] = (post_id, product_id or 0)
    totals: dict[tuple[int, int], dict[str, int]] = {}
    counted = 0
    for parts, columns in wanted.items():
        ids = found.get(parts)
        if ids is None:
            continue
        row = totals.setdefault(ids, {"impressions": 0, "clicks": 0, "shop_clicks": 0})
        for column in columns:
            row[column] += 1
            counted += 1
    if not totals:
        return 0
    table = table_of(GalleryStat)
    values = [
        {"day": day, "post_id": post_id, "product_id": product_id, **counts}
        for (post_id, product_id), counts in sorted(totals.items())
    ]
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "post_id", "product_id"],
        set_={name: table.c[name] + stmt.excluded[name] for name in ("impressions", "clicks", "shop_clicks")},
    )
    session.connection().execute(stmt, values)
    return counted


def _sums() -> tuple[Any, Any, Any]:
    return (
        func.coalesce(func.sum(col(GalleryStat.impressions)), 0),
        func.coalesce(func.sum(col(GalleryStat.clicks)), 0),
        func.coalesce(func.sum(col(GalleryStat.shop_clicks)), 0),
    )


def post_counts(session: Session, *, post_ids: Sequence[int], since: date) -> dict[int, GalleryCounts]:
    """Post id -> its counts since `since` (posts without any left out)."""
    out: dict[int, GalleryCounts] = {}
    for part in chunks(sorted(set(post_ids)), 500):
        rows = session.exec(
            select(col(GalleryStat.post_id), *_sums())
            .where(col(GalleryStat.post_id).in_(list(part)), col(GalleryStat.day) >= since)
            .group_by(col(GalleryStat.post_id))
        )
        for post_id, impressions, clicks, shop in rows:
            out[post_id] = GalleryCounts(int(impressions), int(clicks), int(shop))
    return out


def brand_counts(session: Session, *, brand_ids: Sequence[int], since: date) -> dict[int, GalleryCounts]:
    """Brand id -> the counts of all its tiles since `since` (the baseline a post's CTR is read against)."""
    if not brand_ids:
        return {}
    rows = session.exec(
        select(col(Post.brand_id), *_sums())
        .join(Post, col(Post.id) == col(GalleryStat.post_id))
        .where(col(Post.brand_id).in_(sorted(set(brand_ids))), col(GalleryStat.day) >= since)
        .group_by(col(Post.brand_id))
    )
    return {
        int(brand_id): GalleryCounts(int(i), int(c), int(s))
        for brand_id, i, c, s in rows
        if brand_id is not None
    }


def post_performance(
    session: Session, *, brand_id: int, since: date, until: date | None = None, limit: int = 100
) -> list[PostPerformance]:
    """The brand's tiles with their counts in [since, until], most clicked (both kinds) first."""
    impressions, clicks, shop = _sums()
    where: list[Any] = [col(Post.brand_id) == brand_id, col(GalleryStat.day) >= since]
    if until is not None:
        where.append(col(GalleryStat.day) <= until)
    engaged = clicks + shop
    stmt = (
        sa_select(
            col(Post.id),
            col(Post.platform),
            col(Post.external_id),
            col(Author.handle),
            col(Post.product_id),
            col(Product.name),
            col(Post.text),
            impressions,
            clicks,
            shop,
        )
        .select_from(GalleryStat)
        .join(Post, col(Post.id) == col(GalleryStat.post_id))
        .join(Author, col(Author.id) == col(Post.author_id))
        .outerjoin(Product, col(Product.id) == col(Post.product_id))
        .where(*where)
        .group_by(
            col(Post.id),
            col(Post.platform),
            col(Post.external_id),
            col(Author.handle),
            col(Post.product_id),
            col(Product.name),
            col(Post.text),
        )
        .order_by(engaged.desc(), impressions.desc(), col(Post.id))
        .limit(limit)
    )
    return [
        PostPerformance(
            post_id=int(pid),
            platform=platform,
            external_id=external_id,
            author_handle=handle,
            product_id=product_id,
            product_name=product_name,
            counts=GalleryCounts(int(i), int(c), int(s)),
            text=text or "",
        )
        for pid, platform, external_id, handle, product_id, product_name, text, i, c, s in session.execute(
            stmt
        )
    ]


def product_performance(
    session: Session, *, brand_id: int, since: date, until: date | None = None
) -> list[ProductPerformance]:
    """Counts per product the tiles carried (as they were shown), tiles without a product last."""
    impressions, clicks, shop = _sums()
    where: list[Any] = [col(Post.brand_id) == brand_id, col(GalleryStat.day) >= since]
    if until is not None:
        where.append(col(GalleryStat.day) <= until)
    stmt = (
        sa_select(
            col(GalleryStat.product_id),
            func.count(func.distinct(col(GalleryStat.post_id))),
            impressions,
            clicks,
            shop,
        )
        .join(Post, col(Post.id) == col(GalleryStat.post_id))
        .where(*where)
        .group_by(col(GalleryStat.product_id))
    )
    rows = [tuple(r) for r in session.execute(stmt)]
    products = {
        pid: (name, shop_url)
        for pid, name, shop_url in session.exec(
            select(col(Product.id), col(Product.name), col(Product.shop_url)).where(
                col(Product.id).in_([r[0] for r in rows if r[0]])
            )
        )
    }
    out = [
        ProductPerformance(
            product_id=int(pid) or None,
            product_name=products.get(pid, (None, None))[0],
            shop_url=products.get(pid, (None, None))[1],
            posts=int(posts),
            counts=GalleryCounts(int(i), int(c), int(s)),
        )
        for pid, posts, i, c, s in rows
    ]
    out.sort(
        key=lambda p: (p.product_id is None, -(p.counts.clicks + p.counts.shop_clicks), p.product_name or "")
    )
    return out
