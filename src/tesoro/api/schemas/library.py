"""The library search: a page of ranked posts with their relevance and the facet counts."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from tesoro.api.schemas.common import Schema
from tesoro.api.schemas.queue import _QUEUE_ITEM_EXAMPLE, LibraryItem

__all__ = ["FacetCount", "LibraryPage"]


class FacetCount(Schema):
    """How many matching posts have one value of a facet."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"value": 1, "count": 3, "label": "Andes Outdoor"}]}
    )

    value: str | int = Field(description="the facet's value (an id for brand and product)")
    count: int
    label: str | None = Field(None, description="brand and product facets only: the name behind the id")


class LibraryPage(Schema):
    """A page of library posts in the chosen order, and the facet counts over every match."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 3,
                    "sort": "relevance",
                    "limit": 24,
                    "offset": 0,
                    "items": [{**_QUEUE_ITEM_EXAMPLE, "queue_state": "approved", "relevance": 0.8123}],
                    "facets": {
                        "brand": [{"value": 1, "count": 3, "label": "Andes Outdoor"}],
                        "platform": [{"value": "x", "count": 2}, {"value": "bluesky", "count": 1}],
                    },
                }
            ]
        }
    )

    total: int = Field(description="posts that match, over all pages")
    sort: Literal["relevance", "treasure", "date", "engagement"]
    limit: int
    offset: int
    items: list[LibraryItem]
    facets: dict[str, list[FacetCount]] = Field(
        description="facet -> counts: brand, product, product_line, content_type, platform, language, "
        "sentiment, rights, state (empty with facets=false)"
    )
