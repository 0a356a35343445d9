"""Repository functions of the library: filters, facets and full-text search in SQL, and the index feed.

The library is every approved or featured post (other states can be asked for).
Two ways to search it, with the same filters and the same answers:

- **In SQL** (`search_sql`, `facets_sql`): no memory needed, used by the command
  line, the gallery and as the reference the tests hold the in-memory path to.
- **In memory** (`tesoro.search.index`): the API's path, fed by `index_rows`,
  `changed_items` and `changed_posts`; it matches and ranks words itself, from each
  item's stored search document (`curator.postings`).

Full text is backend-specific (see the curator migration): SQLite FTS5 with BM25
ranking, PostgreSQL `tsvector @@ tsquery` with `ts_rank`. Both index the same
folded, stemmed document and receive the same parsed query
(`tesoro.text.search.SearchQuery`), so they match the same posts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, case, column, func, literal_column, select, table
from sqlalchemy import text as sql_text
from sqlalchemy.sql import Subquery
from sqlmodel import Session, SQLModel, col

from tesoro.models import CONTENT_TYPES, content_mask
from tesoro.store.fulltext import fts5_match, tsquery_text
from tesoro.store.tables import CurationItem, Post, PostTag, Product, Score
from tesoro.text.search import SearchQuery

__all__ = [
    "FACETS",
    "LIBRARY_STATES",
    "NO_ENGAGEMENT",
    "IndexRow",
    "LibraryFilters",
    "PostChange",
    "Sort",
    "append_rows",
    "changed_items",
    "changed_posts",
    "facets_sql",
    "index_rows",
    "item_count",
    "product_lines",
    "search_sql",
    "tagged_posts",
    "text_matches",
]

LIBRARY_STATES: tuple[str, ...] = ("approved", "featured")
FACETS: tuple[str, ...] = (
    "state",
    "brand",
    "product",
    "product_line",
    "content_type",
    "platform",
    "language",
    "sentiment",
    "rights",
)
Sort = Literal["relevance", "treasure", "date", "engagement"]
# A post without an engagement figure (no platform benchmark yet) sorts after every post with one.
NO_ENGAGEMENT = -1.0


@dataclass(frozen=True, slots=True)
class LibraryFilters:
    """What the coordinator narrowed the library to: OR within a filter, AND across filters.

    `date_from` is inclusive and `date_to` exclusive (the API turns a day into its end).
    """

    states: tuple[str, ...] = LIBRARY_STATES
    brand_ids: tuple[int, ...] = ()
    product_ids: tuple[int, ...] = ()
    product_lines: tuple[str, ...] = ()
    content_types: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    date_from: datetime | None = None
    date_to: datetime | None = None
    # Posts with any of these tags (normalized as `curator.queue.normalize_tag` does). Not a facet.
    tags: tuple[str, ...] = ()

    def without(self, facet: str) -> LibraryFilters:
        """The same filters minus one facet's own (for that facet's counts: multi-select faceting)."""
        field_name = {
            "state": "states",
            "brand": "brand_ids",
            "product": "product_ids",
            "product_line": "product_lines",
            "content_type": "content_types",
            "platform": "platforms",
            "language": "languages",
            "sentiment": "sentiments",
            "rights": "rights",
        }[facet]
        return replace(self, **{field_name: ()})  # type: ignore[arg-type]


_EFFECTIVE_PRODUCT = func.coalesce(col(Post.product_id), col(CurationItem.product_id))


def _where(filters: LibraryFilters) -> list[Any]:
    where: list[Any] = []
    if filters.states:
        where.append(col(Post.queue_state).in_(filters.states))
    if filters.brand_ids:
        where.append(col(CurationItem.brand_id).in_(filters.brand_ids))
    if filters.product_ids:
        where.append(_EFFECTIVE_PRODUCT.in_(filters.product_ids))
    if filters.product_lines:
        where.append(col(Product.line).in_(filters.product_lines))
    if filters.content_types:
        where.append(col(CurationItem.content_mask).op("&")(content_mask(filters.content_types)) != 0)
    if filters.platforms:
        where.append(col(CurationItem.platform).in_(filters.platforms))
    if filters.languages:
        where.append(col(CurationItem.language).in_(filters.languages))
    if filters.sentiments:
        where.append(col(CurationItem.sentiment).in_(filters.sentiments))
    if filters.rights:
        where.append(col(Post.rights_status).in_(filters.rights))
    if filters.date_from is not None:
        where.append(col(CurationItem.created_at) >= filters.date_from)
    if filters.date_to is not None:
        where.append(col(CurationItem.created_at) < filters.date_to)
    if filters.tags:
        tagged = select(col(PostTag.post_id)).where(col(PostTag.tag).in_(filters.tags))
        where.append(col(CurationItem.post_id).in_(tagged))
    return where


def tagged_posts(session: Session, *, tags: Sequence[str]) -> list[int]:
    """Ids of the posts with any of the tags (the in-memory index keeps no tags: it asks at query time)."""
    stmt = select(col(PostTag.post_id)).where(col(PostTag.tag).in_(list(tags))).distinct()
    return [int(pid) for pid in session.execute(stmt).scalars()]


_fts = table("curation_fts", column("rowid"), column("doc"))
_search_vector: Any = literal_column("curation_item.search_vector")


def _tsquery(query: SearchQuery) -> Any:
    return func.to_tsquery(literal_column("'simple'::regconfig"), tsquery_text(query))


def _matches(session: Session, query: SearchQuery) -> Subquery:
    """(post_id, relevance) of the posts matching `query`; higher relevance is better."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return (
            select(
                _fts.c.rowid.label("post_id"),
                (-func.bm25(literal_column("curation_fts"))).label("relevance"),
            )
            .select_from(_fts)
            .where(literal_column("curation_fts").op("MATCH")(fts5_match(query)))
            .subquery("matches")
        )
    if dialect == "postgresql":
        q = _tsquery(query)
        return (
            select(
                col(CurationItem.post_id).label("post_id"),
                func.ts_rank(_search_vector, q).label("relevance"),
            )
            .where(_search_vector.op("@@")(q))
            .subquery("matches")
        )
    raise RuntimeError(f"full-text search is not supported on {dialect!r}")


def text_matches(
    session: Session, *, query: SearchQuery, states: Sequence[str] = ()
) -> list[tuple[int, float]]:
    """Every ranked post matching the query, with the database's relevance (BM25 / `ts_rank`)."""
    matches = _matches(session, query)
    stmt = select(matches.c.post_id, matches.c.relevance)
    if states:
        stmt = stmt.join(Post, col(Post.id) == matches.c.post_id).where(col(Post.queue_state).in_(states))
    return [(int(pid), float(rel or 0.0)) for pid, rel in session.execute(stmt)]


_ENGAGEMENT = func.coalesce(col(Score.engagement_vs_median), NO_ENGAGEMENT)


def _base(filters: LibraryFilters, matches: Subquery | None, *, with_score: bool = False) -> Any:
    stmt = select(col(CurationItem.post_id)).join(Post, col(Post.id) == col(CurationItem.post_id))
    if with_score:
        stmt = stmt.outerjoin(Score, col(Score.id) == col(CurationItem.score_id))
    if filters.product_lines:
        stmt = stmt.outerjoin(Product, col(Product.id) == _EFFECTIVE_PRODUCT)
    if matches is not None:
        stmt = stmt.join(matches, matches.c.post_id == col(CurationItem.post_id))
    return stmt.where(*_where(filters))


def search_sql(
    session: Session,
    *,
    filters: LibraryFilters,
    query: SearchQuery | None = None,
    sort: Sort = "treasure",
    limit: int = 24,
    offset: int = 0,
) -> tuple[int, list[tuple[int, float | None]]]:
    """(total, [(post_id, relevance)]) of one page; relevance is None without a text query."""
    matches = _matches(session, query) if query is not None else None
    base = _base(filters, matches, with_score=sort == "engagement")
    total = int(session.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    relevance = matches.c.relevance if matches is not None else literal_column("NULL")
    stmt = base.add_columns(relevance.label("relevance"))
    if sort == "relevance" and matches is not None:
        stmt = stmt.order_by(matches.c.relevance.desc(), col(CurationItem.post_id).desc())
    elif sort == "date":
        stmt = stmt.order_by(col(CurationItem.created_at).desc(), col(CurationItem.post_id).desc())
    elif sort == "engagement":
        stmt = stmt.order_by(_ENGAGEMENT.desc(), col(CurationItem.post_id).desc())
    else:
        stmt = stmt.order_by(col(CurationItem.score).desc(), col(CurationItem.post_id).desc())
    rows = session.execute(stmt.limit(limit).offset(offset)).all()
    return total, [(int(r.post_id), None if r.relevance is None else float(r.relevance)) for r in rows]


_FACET_COLUMNS: dict[str, Any] = {
    "state": col(Post.queue_state),
    "brand": col(CurationItem.brand_id),
    "product": _EFFECTIVE_PRODUCT,
    "product_line": col(Product.line),
    "platform": col(CurationItem.platform),
    "language": col(CurationItem.language),
    "sentiment": col(CurationItem.sentiment),
    "rights": col(Post.rights_status),
}


def facets_sql(
    session: Session, *, filters: LibraryFilters, query: SearchQuery | None = None
) -> dict[str, list[tuple[Any, int]]]:
    """Counts per value of every facet, each under all filters but its own, most frequent first."""
    out: dict[str, list[tuple[Any, int]]] = {}
    for facet in FACETS:
        narrowed = filters.without(facet)
        matches = _matches(session, query) if query is not None else None
        ids = _base(narrowed, matches).subquery("ids")
        if facet == "content_type":
            counts = [
                func.sum(case((col(CurationItem.content_mask).op("&")(1 << i) != 0, 1), else_=0))
                for i in range(len(CONTENT_TYPES))
            ]
            stmt = select(*counts).join(ids, ids.c.post_id == col(CurationItem.post_id))
            row = session.execute(stmt).one()
            pairs = [(CONTENT_TYPES[i], int(n or 0)) for i, n in enumerate(row)]
        else:
            value = _FACET_COLUMNS[facet]
            stmt = (
                select(value, func.count())
                .select_from(CurationItem)
                .join(ids, ids.c.post_id == col(CurationItem.post_id))
                .join(Post, col(Post.id) == col(CurationItem.post_id))
            )
            if facet == "product_line":
                stmt = stmt.outerjoin(Product, col(Product.id) == _EFFECTIVE_PRODUCT)
            stmt = stmt.where(value.is_not(None)).group_by(value)
            pairs = [(v, int(n)) for v, n in session.execute(stmt)]
        out[facet] = sorted((p for p in pairs if p[1] > 0), key=lambda p: (-p[1], str(p[0])))
    return out


# --------------------------------------------------------------------------- the in-memory index's feed


@dataclass(frozen=True, slots=True)
class IndexRow:
    post_id: int
    brand_id: int | None
    platform: str
    created_at: datetime
    language: str | None
    sentiment: str | None
    scored_product_id: int | None
    content_mask: int
    score: float
    filtered: bool
    duplicate: bool
    item_updated_at: datetime | None
    queue_state: str
    rights_status: str
    product_id: int | None
    post_updated_at: datetime | None
    embedding: bytes | None
    doc: str = ""  # the search document (`curator.text.search_document`)
    engagement: float | None = None  # the score set's engagement against the platform median


# Labelled where the item and the post share a column name, so `_index_row` reads by name.
_INDEX_COLUMNS: tuple[Any, ...] = (
    col(CurationItem.post_id),
    col(CurationItem.brand_id),
    col(CurationItem.platform),
    col(CurationItem.created_at),
    col(CurationItem.language),
    col(CurationItem.sentiment),
    col(CurationItem.product_id).label("scored_product_id"),
    col(CurationItem.content_mask),
    col(CurationItem.score),
    col(CurationItem.filtered),
    col(CurationItem.duplicate_of),
    col(CurationItem.updated_at).label("item_updated_at"),
    col(Post.queue_state),
    col(Post.rights_status),
    col(Post.product_id),
    col(Post.updated_at).label("post_updated_at"),
    col(Score.embedding),
    col(CurationItem.doc),
    col(Score.engagement_vs_median),
)


def _index_row(r: Any) -> IndexRow:
    return IndexRow(
        post_id=int(r.post_id),
        brand_id=r.brand_id,
        platform=r.platform,
        created_at=r.created_at,
        language=r.language,
        sentiment=r.sentiment,
        scored_product_id=r.scored_product_id,
        content_mask=int(r.content_mask or 0),
        score=float(r.score),
        filtered=r.filtered is not None,
        duplicate=r.duplicate_of is not None,
        item_updated_at=r.item_updated_at,
        queue_state=r.queue_state,
        rights_status=r.rights_status,
        product_id=r.product_id,
        post_updated_at=r.post_updated_at,
        embedding=r.embedding,
        doc=r.doc or "",
        engagement=r.engagement_vs_median,
    )


def item_count(session: Session) -> int:
    """How many ranked items the store holds (what a full index build will read)."""
    return int(session.execute(select(func.count()).select_from(CurationItem)).scalar_one())


def index_rows(
    session: Session, *, after_id: int = 0, limit: int = 20000, post_ids: Sequence[int] | None = None
) -> list[IndexRow]:
    """Items with their post's reviewable fields and embedding: by id page, or the given ids."""
    stmt = (
        select(*_INDEX_COLUMNS)
        .join(Post, col(Post.id) == col(CurationItem.post_id))
        .outerjoin(Score, col(Score.id) == col(CurationItem.score_id))
    )
    if post_ids is not None:
        stmt = stmt.where(col(CurationItem.post_id).in_(post_ids))
    else:
        stmt = (
            stmt.where(col(CurationItem.post_id) > after_id).order_by(col(CurationItem.post_id)).limit(limit)
        )
    return [_index_row(r) for r in session.execute(stmt)]


def changed_items(session: Session, *, since: datetime) -> list[tuple[int, datetime]]:
    """(post_id, updated_at) of items written after `since` (cheap: no embeddings)."""
    stmt = select(col(CurationItem.post_id), col(CurationItem.updated_at)).where(
        col(CurationItem.updated_at) > since
    )
    return [(int(r.post_id), r.updated_at) for r in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class PostChange:
    post_id: int
    updated_at: datetime
    queue_state: str
    rights_status: str
    product_id: int | None


def changed_posts(session: Session, *, since: datetime) -> list[PostChange]:
    """Reviewable fields of ranked posts changed after `since` (decisions, by any writer)."""
    stmt = (
        select(
            col(Post.id),
            col(Post.updated_at),
            col(Post.queue_state),
            col(Post.rights_status),
            col(Post.product_id),
        )
        .join(CurationItem, col(CurationItem.post_id) == col(Post.id))
        .where(col(Post.updated_at) > since)
    )
    return [
        PostChange(
            post_id=int(r.id),
            updated_at=r.updated_at,
            queue_state=r.queue_state,
            rights_status=r.rights_status,
            product_id=r.product_id,
        )
        for r in session.execute(stmt)
    ]


def product_lines(session: Session) -> dict[int, str | None]:
    return {
        int(pid): line
        for pid, line in session.execute(select(col(Product.id), col(Product.line)))
        if pid is not None
    }


# --------------------------------------------------------------------------- bulk loading


def append_rows(session: Session, table_name: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert many new rows into one table, as fast as the backend takes them; returns how many.

    For loading a whole library at once (the benchmarks, an import into an empty
    store), not for collection: no conflict handling, every row is new and names
    the same columns. PostgreSQL gets one `COPY ... FROM STDIN` (JSON columns sent
    as text), SQLite one `executemany` of a plain INSERT. Rows with explicit ids move
    the table's id sequence past them (PostgreSQL), so later inserts do not collide.
    """
    if not rows:
        return 0
    table = SQLModel.metadata.tables[table_name]
    names = list(rows[0])
    connection = session.connection()
    if session.get_bind().dialect.name != "postgresql":
        connection.execute(table.insert(), list(rows))
        return len(rows)
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    dumps = [json.dumps if name in json_columns else None for name in names]
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    columns = ", ".join(f'"{name}"' for name in names)  # column names come from the table
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    value if dump is None or value is None else dump(value)
                    for value, dump in zip((row[name] for name in names), dumps, strict=True)
                ]
            )
    if "id" in names and "id" in table.columns:
        session.execute(
            sql_text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'(SELECT max(id) FROM "{table.name}"))'
            )
        )
    return len(rows)
