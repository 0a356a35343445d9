"""The alerts tests' world: settings with rules, and a seeder for hand-made store rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from tesoro.models import NormalizedAuthor, NormalizedPost, Platform, PostMetrics
from tesoro.settings import Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import upsert_posts
from tesoro.store.scores import save_scores
from tesoro.store.tables import Post, Source
from worlds.common import brand_ids, post_id

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

BASE = {
    "brands": [{"name": "Andes Outdoor", "hashtags": ["andesoutdoor"], "handles": {"x": "andesoutdoor"}}],
    "queries": [
        {"name": "andes", "brand": "Andes Outdoor", "query": '("andes outdoor" OR #andesoutdoor OR cumbre)'},
        {"name": "cumbre-es", "brand": "Andes Outdoor", "query": "cumbre lang:es"},
    ],
}


def make_settings(alerts: Sequence[dict[str, Any]] = (), **sections: Any) -> Settings:
    return Settings.model_validate({**BASE, "alerts": list(alerts), **sections})


@dataclass
class Seeder:
    """Writes posts, scores and flags the way the collector, scoring and curator will."""

    engine: Engine
    settings: Settings
    counter: int = 0

    def sync(self) -> None:
        with session_scope(self.engine) as session:
            sync_catalog(session, self.settings)

    def brand_id(self, name: str = "Andes Outdoor") -> int:
        with session_scope(self.engine) as session:
            return brand_ids(session)[name]

    def posts(
        self,
        texts: Sequence[str],
        *,
        collected_at: datetime,
        created_at: datetime | None = None,
        handle: str = "ana",
        followers: int = 100,
        platform: Platform = Platform.X,
        lang: str | None = "en",
        brand: str | None = "Andes Outdoor",
        spread: timedelta = timedelta(0),
        source_id: int | None = None,
    ) -> list[int]:
        """Insert posts (one author unless `handle` has '{i}'), returning their ids in order."""
        brand_id = self.brand_id(brand) if brand else None
        batch = []
        for i, text in enumerate(texts):
            self.counter += 1
            who = handle.format(i=i)
            author = NormalizedAuthor(platform, external_id=f"a-{who}", handle=who, followers=followers)
            batch.append(
                NormalizedPost(
                    platform=platform,
                    external_id=f"p{self.counter}",
                    text=text,
                    created_at=(created_at or collected_at) + spread * i,
                    author=author,
                    lang=lang,
                    url=f"https://x.com/{who}/status/{self.counter}",
                    metrics=PostMetrics(likes=i % 7, reposts=1),
                )
            )
        with session_scope(self.engine) as session:
            upsert_posts(session, batch, brand_id=brand_id, source_id=source_id, now=collected_at)
            return [post_id(session, platform=p.platform.value, external_id=p.external_id) for p in batch]

    def scores(self, post_ids: Sequence[int], sentiment: str, *, at: datetime, version: str = "v1") -> None:
        with session_scope(self.engine) as session:
            save_scores(
                session,
                [
                    {
                        "post_id": pid,
                        "model_version": version,
                        "sentiment": sentiment,
                        "relevance": 0.9,
                        "content_types": [],
                        "safety": {},
                        "scored_at": at,
                    }
                    for pid in post_ids
                ],
            )

    def set_posts(self, post_ids: Sequence[int], **values: Any) -> None:
        with session_scope(self.engine) as session:
            session.execute(update(Post).where(col(Post.id).in_(list(post_ids))).values(**values))

    def source(self, name: str, **values: Any) -> int:
        with session_scope(self.engine) as session:
            row = Source(name=name, platform="x", **values)
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id
