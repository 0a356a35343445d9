"""Repository functions that mirror the settings' brands, products, queries and sources into the store.

The TOML file is the source of truth for configuration; the store keeps rows for
them so that posts, scores and cursors can reference them. Syncing is by name
and idempotent. A source removed from the file is disabled, not deleted, so its
cursor and history survive being commented out for a while.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from tesoro.settings import Settings
from tesoro.store.tables import Brand, ListeningQuery, Product, Source
from tesoro.text.slug import slugify

__all__ = [
    "brand_by_name",
    "brand_by_slug",
    "list_brands",
    "list_products",
    "product_by_slug",
    "slugify",
    "sync_catalog",
]


def sync_catalog(session: Session, settings: Settings) -> None:
    brands = {b.name: b for b in session.exec(select(Brand))}
    for conf in settings.brands:
        brand = brands.get(conf.name) or Brand(name=conf.name)
        brand.description = conf.description
        # A comprehension, not dict(): dict[PlatformName, str] is not a dict[str, str] to the type checker.
        brand.handles = {platform: handle for platform, handle in conf.handles.items()}
        brand.hashtags = list(conf.hashtags)
        brand.competitors = list(conf.competitors)
        session.add(brand)
        brands[conf.name] = brand
    session.flush()

    products = {p.name: p for p in session.exec(select(Product))}
    for pconf in settings.products:
        product = products.get(pconf.name) or Product(name=pconf.name, brand_id=0)
        product.brand_id = _id(brands[pconf.brand])
        product.aliases = list(pconf.aliases)
        product.description = pconf.description
        product.line = pconf.line
        product.url = pconf.url
        product.shop_url = pconf.shop_url
        session.add(product)

    queries = {q.name: q for q in session.exec(select(ListeningQuery))}
    for qconf in settings.queries:
        query = queries.get(qconf.name) or ListeningQuery(name=qconf.name, brand_id=0, query=qconf.query)
        query.brand_id = _id(brands[qconf.brand])
        query.query = qconf.query
        session.add(query)
        queries[qconf.name] = query
    session.flush()

    sources = {s.name: s for s in session.exec(select(Source))}
    configured = set()
    for sconf in settings.sources:
        configured.add(sconf.name)
        source = sources.get(sconf.name) or Source(name=sconf.name, platform=sconf.platform)
        if source.platform != sconf.platform:
            # Same name, another platform: the old cursor means nothing there.
            source.cursor = None
        source.platform = sconf.platform
        source.interval_s = sconf.interval
        source.enabled = sconf.enabled
        source.query_id = _id(queries[sconf.query]) if sconf.query else None
        session.add(source)
    for name, source in sources.items():
        if name not in configured:
            source.enabled = False
            session.add(source)
    session.flush()


def _id(row: Brand | ListeningQuery) -> int:
    assert row.id is not None, "row must be flushed before its id is used"
    return row.id


def brand_by_name(session: Session, name: str) -> Brand | None:
    return session.exec(select(Brand).where(col(Brand.name) == name)).one_or_none()


def list_brands(session: Session) -> list[Brand]:
    return list(session.exec(select(Brand).order_by(col(Brand.name))))


def list_products(session: Session, *, brand_id: int | None = None) -> list[Product]:
    stmt = select(Product).order_by(col(Product.name))
    if brand_id is not None:
        stmt = stmt.where(col(Product.brand_id) == brand_id)
    return list(session.exec(stmt))


# --- slugs: the form brand and product names take in public URLs (the gallery; tesoro.text.slug) --


def brand_by_slug(session: Session, slug: str) -> Brand | None:
    """A brand by its URL slug (or its exact name): brands are few, so this compares in Python."""
    wanted = slugify(slug)
    for brand in session.exec(select(Brand)):
        if brand.name == slug or slugify(brand.name) == wanted:
            return brand
    return None


def product_by_slug(session: Session, *, brand_id: int, slug: str) -> Product | None:
    """A brand's product by its URL slug (or its exact name)."""
    wanted = slugify(slug)
    for product in session.exec(select(Product).where(col(Product.brand_id) == brand_id)):
        if product.name == slug or slugify(product.name) == wanted:
            return product
    return None
