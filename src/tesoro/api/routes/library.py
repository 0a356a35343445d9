"""GET /api/curator/library: search approved and featured posts by words, meaning and facets.

The search itself is `tesoro.search.library.Library`, one per process (it owns the
in-memory index), kept on `app.state.library`; the route only parses the query
string and names the facets' brands and products.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from tesoro.api.deps import EngineDep, LibraryDep, MediaDep
from tesoro.api.problems import Problem, field_error
from tesoro.api.routes.queue import catalog, content_mask_of
from tesoro.api.schemas.common import MAX_OFFSET, TIME_BOUNDS, Id, in_bounds
from tesoro.api.schemas.library import FacetCount, LibraryPage
from tesoro.api.schemas.query import (
    ContentTypeName,
    PlatformName,
    QueueStateName,
    RightsStateName,
    SentimentLabel,
)
from tesoro.api.schemas.queue import LibraryItem
from tesoro.curator.queue import QueueError, normalize_tag
from tesoro.search.library import LibraryError, LibraryFilters, LibraryQuery, MeaningUnavailable
from tesoro.store.library import LIBRARY_STATES
from tesoro.store.tables import QueueState, RightsState

__all__ = ["router"]

router = APIRouter(prefix="/api/curator", tags=["curator"])

# Facets whose values are ids: the answer names them.
_LABELLED = ("brand", "product")


def _day_start(value: str, *, end: bool, name: str) -> datetime:
    """'2026-11-01' (a whole day, UTC) or a full ISO timestamp; a day's end is the next day's start.

    Not a date, or a time outside the API's bounds (`schemas.common.TIME_BOUNDS`): a 422 naming the
    field `name`.
    """
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            stamp = datetime.combine(day, time(), tzinfo=UTC)
        else:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise field_error("query", name, "not a date (use 2026-11-01 or an ISO timestamp)", value) from exc
    if not in_bounds(stamp):
        raise field_error("query", name, f"must be {TIME_BOUNDS}", value)
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return stamp + timedelta(days=1) if end and len(value) == 10 else stamp


def _filters(
    *,
    state: Sequence[str] | None,
    rights: Sequence[str] | None,
    content_type: Sequence[str] | None,
    values: dict[str, list[Any] | None],
    date_from: str | None,
    date_to: str | None,
    tags: Sequence[str] | None = None,
) -> LibraryFilters:
    states = tuple(state or LIBRARY_STATES)
    unknown_states = sorted(set(states) - {s.value for s in QueueState})
    unknown_rights = sorted(set(rights or ()) - {r.value for r in RightsState})
    if unknown_states or unknown_rights:
        raise Problem("bad_request", f"unknown values: {', '.join(unknown_states + unknown_rights)}")
    content_mask_of(content_type)  # refuses unknown content types
    start = _day_start(date_from, end=False, name="date_from") if date_from else None
    end = _day_start(date_to, end=True, name="date_to") if date_to else None
    if start is not None and end is not None and end <= start:
        raise field_error("query", "date_to", "must not be before date_from", date_to)
    normalized: list[str] = []
    for tag in tags or ():
        try:
            normalized.append(normalize_tag(tag))
        except QueueError as exc:
            raise field_error("query", "tag", str(exc), tag) from exc
    return LibraryFilters(
        states=states,
        brand_ids=tuple(values["brand"] or ()),
        product_ids=tuple(values["product"] or ()),
        product_lines=tuple(values["line"] or ()),
        content_types=tuple(content_type or ()),
        platforms=tuple(values["platform"] or ()),
        languages=tuple(values["language"] or ()),
        sentiments=tuple(values["sentiment"] or ()),
        rights=tuple(rights or ()),
        date_from=start,
        date_to=end,
        tags=tuple(normalized),
    )


@router.get(
    "/library",
    response_model=LibraryPage,
    # A hit's relevance and a facet's label are present only where they mean something.
    response_model_exclude_unset=True,
    summary="Search the library: words, meaning, filters, facet counts, paging",
)
def search_library(
    engine: EngineDep,
    media: MediaDep,
    library: LibraryDep,
    q: str | None = Query(None, max_length=500, description='words, "phrases", OR, -exclusions, prefix*'),
    meaning: str | None = Query(None, max_length=500, description="search by meaning"),
    brand: Annotated[list[Id] | None, Query(max_length=50)] = None,
    product: Annotated[list[Id] | None, Query(max_length=50)] = None,
    line: Annotated[list[str] | None, Query(description="product line")] = None,
    content_type: Annotated[list[ContentTypeName] | None, Query()] = None,
    platform: Annotated[list[PlatformName] | None, Query()] = None,
    language: Annotated[list[str] | None, Query()] = None,
    sentiment: Annotated[list[SentimentLabel] | None, Query()] = None,
    rights: Annotated[list[RightsStateName] | None, Query()] = None,
    tag: Annotated[
        list[str] | None,
        Query(max_length=20, description="posts with any of these tags (case and spaces ignored)"),
    ] = None,
    state: Annotated[list[QueueStateName] | None, Query(description="default: approved and featured")] = None,
    date_from: str | None = Query(None, description="a day (2026-11-01) or an ISO timestamp"),
    date_to: str | None = Query(None, description="a day (included) or an ISO timestamp"),
    sort: Literal["relevance", "treasure", "date", "engagement"] | None = Query(
        None,
        description="default: relevance with words or a meaning, else treasure; engagement: against the "
        "platform median, highest first",
    ),
    limit: int = Query(24, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    facets: bool = True,
    min_similarity: float | None = Query(None, ge=-1, le=1),
) -> LibraryPage:
    filters = _filters(
        state=state,
        rights=rights,
        content_type=content_type,
        values={
            "brand": brand,
            "product": product,
            "line": line,
            "platform": platform,
            "language": language,
            "sentiment": sentiment,
        },
        date_from=date_from,
        date_to=date_to,
        tags=tag,
    )
    query = LibraryQuery(
        text=q,
        meaning=meaning,
        filters=filters,
        sort=sort,
        limit=limit,
        offset=offset,
        min_similarity=min_similarity,
        with_facets=facets,
    )
    try:
        page = library.search(query)
    except MeaningUnavailable as exc:
        raise Problem("unavailable", str(exc)) from exc
    except LibraryError as exc:
        raise Problem("bad_request", str(exc)) from exc
    brands, products = catalog(engine)
    labels: dict[str, dict[Any, str]] = {"brand": brands, "product": {k: v.name for k, v in products.items()}}

    def counts(name: str, values: list[tuple[Any, int]]) -> list[FacetCount]:
        if name in _LABELLED:
            return [FacetCount(value=v, count=n, label=labels[name].get(v)) for v, n in values]
        return [FacetCount(value=v, count=n) for v, n in values]

    return LibraryPage(
        total=page.total,
        sort=page.sort,
        limit=page.limit,
        offset=page.offset,
        items=[LibraryItem.from_hit(hit.entry, products, media, hit.relevance) for hit in page.items],
        facets={name: counts(name, values) for name, values in page.facets.items()},
    )
