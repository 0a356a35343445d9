"""Gallery performance: what visitors of the brand's site did with each gallery tile, counted per day.

One row per (day, post, product): how many times the tile was seen (half of it in the
viewport), opened, and how many "shop this" clicks it led to. Only counts are kept,
never who: no address, no user agent, no cookie (`tesoro.store.gallery`).
`product_id` is 0 when the tile carried no product (a composite primary key cannot
hold a NULL).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Date
from sqlmodel import Field, SQLModel

__all__ = ["GalleryStat"]


class GalleryStat(SQLModel, table=True):
    __tablename__ = "gallery_stat"
    day: date = Field(sa_column=Column(Date, primary_key=True, nullable=False))
    post_id: int = Field(foreign_key="post.id", primary_key=True, index=True)
    product_id: int = Field(default=0, primary_key=True)
    impressions: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    clicks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    shop_clicks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
