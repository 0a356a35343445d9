"""`rank_posts`: turn scored posts into ranked curation items (treasure score, filter, duplicates).

This is the curator's batch job, run after scoring (`tesoro curate rank`, or the
scheduler). It is incremental: only posts whose item is missing or older than
their latest score set are ranked, so running it every few minutes costs little.
`everything=True` ranks every scored post again: after changing the weights in
`[curator]`, and once a day so recency, the authors' ROR (refreshed hourly) and any
edited post text stay true.

The relationship component reads each author's stored ROR for the post's brand
(`tesoro.store.relationships.ror_for_authors`, the leaderboard's snapshot), so
every caller (the scheduler, `tesoro curate rank`, `POST /api/curator/rank`) ranks
with it; an author the last refresh did not see is neutral.

One transaction per batch: a crash loses at most the batch in flight, and the
next run picks it up again because its items are still missing or stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.curator.dedupe import DuplicateRules, GroupStore, NewPost, assign_groups, fingerprint, with_images
from tesoro.curator.feedback import Ranker, load_ranker_models
from tesoro.curator.treasure import (
    Photo,
    TreasureInputs,
    content_types_of,
    gallery_rate,
    relationship_strength,
    score_treasure,
)
from tesoro.media.images import Quality
from tesoro.models import content_mask
from tesoro.scoring.safety import with_flags
from tesoro.settings import CuratorSettings, RelationshipSettings
from tesoro.store.curation import (
    RankInput,
    apply_group_changes,
    duplicate_candidates,
    group_members,
    groups_led_by,
    posts_to_rank,
    rankable_ids,
    replace_bands,
    save_items,
    stored_posts,
)
from tesoro.store.engine import session_scope
from tesoro.store.gallery import brand_counts, post_counts
from tesoro.store.media import PostImage
from tesoro.store.rankers import ItemFeatures
from tesoro.store.relationships import ror_for_authors
from tesoro.text.search import search_document

__all__ = ["GallerySignal", "RankReport", "rank_posts", "stored_gallery", "stored_ror"]

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RankReport:
    ranked: int = 0
    filtered: int = 0
    copies: int = 0
    seconds: float = 0.0


def stored_ror(session: Session, inputs: Sequence[RankInput]) -> dict[int, float]:
    """Post id -> its author's stored ROR for the post's brand (posts of unknown authors left out)."""
    authors: dict[int | None, set[int]] = {}
    for post in inputs:
        authors.setdefault(post.brand_id, set()).add(post.author_id)
    by_brand = {
        brand: ror_for_authors(session, brand_id=brand, author_ids=sorted(ids))
        for brand, ids in authors.items()
    }
    return {
        post.post_id: by_brand[post.brand_id][post.author_id]
        for post in inputs
        if post.author_id in by_brand[post.brand_id]
    }


@dataclass(frozen=True, slots=True)
class GallerySignal:
    ctr: float  # smoothed towards the baseline
    baseline: float
    impressions: int


def stored_gallery(
    session: Session, inputs: Sequence[RankInput], settings: CuratorSettings, now: datetime
) -> dict[int, GallerySignal]:
    """Post id -> its gallery CTR against its brand's, for posts with enough impressions."""
    since = (now - timedelta(days=settings.gallery_signal_days)).date()
    counts = post_counts(session, post_ids=[p.post_id for p in inputs], since=since)
    enough = {pid: c for pid, c in counts.items() if c.impressions >= settings.gallery_min_impressions}
    if not enough:
        return {}
    brand_of = {p.post_id: p.brand_id for p in inputs if p.brand_id is not None}
    brands = brand_counts(
        session, brand_ids=sorted({brand_of[pid] for pid in enough if pid in brand_of}), since=since
    )
    out: dict[int, GallerySignal] = {}
    for pid, c in enough.items():
        brand = brands.get(brand_of.get(pid, -1))
        if brand is None or not brand.impressions:
            continue
        baseline = (brand.clicks + brand.shop_clicks) / brand.impressions
        rate = gallery_rate(
            c.clicks + c.shop_clicks, c.impressions, baseline, settings.gallery_min_impressions
        )
        out[pid] = GallerySignal(rate, baseline, c.impressions)
    return out


def photo_quality(images: Sequence[PostImage]) -> Photo | None:
    """The post's best processed image as the treasure score reads it (None: none processed yet)."""
    if not images:
        return None
    best = max(images, key=lambda i: i.quality)
    parts = Quality(best.sharpness, best.exposure, best.resolution, best.aspect)
    detail = parts.describe()
    if any(i.group != i.media_id for i in images):
        # An image joined the group of an earlier one: the post re-uses a picture seen before.
        detail += "; the same picture as an earlier post"
    return Photo(best.quality, detail)


def _rows(
    inputs: Sequence[RankInput],
    settings: CuratorSettings,
    ror: Mapping[int, float],
    advocate_ror: float,
    now: datetime,
    gallery: Mapping[int, GallerySignal] | None = None,
) -> tuple[list[dict[str, Any]], list[NewPost], dict[int, tuple[int, ...]]]:
    rows: list[dict[str, Any]] = []
    new: list[NewPost] = []
    bands: dict[int, tuple[int, ...]] = {}
    for post in inputs:
        types = content_types_of(post.content_types, post.media_types)
        author_ror = ror.get(post.post_id)
        signal = (gallery or {}).get(post.post_id)
        treasure = score_treasure(
            TreasureInputs(
                created_at=post.created_at,
                relevance=post.relevance,
                sentiment=post.sentiment,
                sentiment_probs=post.sentiment_probs,
                content_types=types,
                engagement_vs_median=post.engagement_vs_median,
                relationship=None if author_ror is None else relationship_strength(author_ror, advocate_ror),
                ror=author_ror,
                safety=with_flags(post.safety, post.content_flags),
                spam=post.spam,
                gallery_ctr=None if signal is None else signal.ctr,
                gallery_baseline=None if signal is None else signal.baseline,
                gallery_impressions=0 if signal is None else signal.impressions,
                photo=photo_quality(post.images),
            ),
            settings,
            now=now,
        )
        text = f"{post.title}\n{post.text}" if post.title else post.text
        fp = with_images(
            fingerprint(text, min_words=settings.duplicate_min_words),
            list(dict.fromkeys(image.group for image in post.images)),
        )
        embedding = np.frombuffer(post.embedding, dtype=np.float32) if post.embedding else None
        rows.append(
            {
                "post_id": post.post_id,
                "brand_id": post.brand_id,
                "platform": post.platform,
                "created_at": post.created_at,
                "language": (post.language or post.lang or None),
                "sentiment": post.sentiment,
                "product_id": post.product_id,
                "content_mask": content_mask(types),
                "content_types": types,
                "score": treasure.score,
                "base_score": treasure.score,
                "learned": None,
                "components": treasure.as_json(),
                "filtered": treasure.filtered,
                "skeleton": fp.skeleton,
                "signature": fp.signature_bytes,
                "score_id": post.score_id,
                "doc": search_document(post.title, post.text),
                "ranked_at": now,
                "updated_at": now,
            }
        )
        new.append(NewPost(post.post_id, (post.created_at.timestamp(), post.post_id), fp, embedding))
        bands[post.post_id] = fp.bands
    return rows, new, bands


def _apply_learned(rows: list[dict[str, Any]], rankers: Mapping[int, Ranker]) -> None:
    by_brand: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        by_brand.setdefault(row["brand_id"] or 0, []).append(i)
    for key, indexes in by_brand.items():
        ranker = rankers.get(key)
        if ranker is None or ranker.alpha <= 0:
            continue
        features = [
            ItemFeatures(
                post_id=rows[i]["post_id"],
                brand_id=rows[i]["brand_id"],
                base_score=rows[i]["base_score"],
                components=rows[i]["components"],
                content_mask=rows[i]["content_mask"],
                platform=rows[i]["platform"],
                language=rows[i]["language"],
                filtered=rows[i]["filtered"],
                embedding=rows[i].pop("_embedding", None),
            )
            for i in indexes
        ]
        for i, p in zip(indexes, ranker.predict(features), strict=True):
            rows[i]["learned"] = float(p)
            rows[i]["score"] = ranker.final(rows[i]["base_score"], float(p))


def rank_posts(
    engine: Engine,
    settings: CuratorSettings,
    *,
    everything: bool = False,
    brand_id: int | None = None,
    advocate_ror: float | None = None,
    now: datetime | None = None,
    batch_size: int = 1000,
    on_progress: ProgressCallback | None = None,
) -> RankReport:
    """Rank every scored post that needs it; returns counts for the command line.

    `advocate_ror` scales the authors' ROR into the relationship component
    (`relationship_strength`); callers pass `[relationship] advocate_min_ror`, and
    without it the setting's default is used.
    """
    started = time.perf_counter()
    advocate = advocate_ror if advocate_ror is not None else RelationshipSettings().advocate_min_ror
    now = now or datetime.now(UTC)
    rules = DuplicateRules(
        jaccard=settings.duplicate_jaccard,
        related_jaccard=settings.duplicate_related_jaccard,
        cosine=settings.duplicate_cosine,
    )
    rankers = load_ranker_models(engine)
    ranked = filtered = copies = 0
    after = 0
    while True:
        with session_scope(engine) as session:
            ids = rankable_ids(
                session, after_id=after, limit=batch_size, everything=everything, brand_id=brand_id
            )
            if not ids:
                break
            after = ids[-1]
            inputs = posts_to_rank(session, post_ids=ids)
            rows, new, bands = _rows(
                inputs,
                settings,
                stored_ror(session, inputs),
                advocate,
                now,
                stored_gallery(session, inputs, settings, now),
            )
            for row, post in zip(rows, inputs, strict=True):
                row["_embedding"] = post.embedding
            _apply_learned(rows, rankers)
            for row in rows:
                row.pop("_embedding", None)
            # Stamp the write time just before writing: the library index follows changes by it.
            written = datetime.now(UTC)
            for row in rows:
                row["updated_at"] = written
            save_items(session, rows)
            replace_bands(session, bands)
            store = GroupStore(
                candidates=lambda s, b: duplicate_candidates(session, skeletons=s, band_keys=b),
                members=lambda o: group_members(session, originals=o),
                originals=lambda ids: stored_posts(session, post_ids=ids),
                led_by=lambda o: groups_led_by(session, originals=o),
            )
            changes = assign_groups(new, store=store, rules=rules)
            apply_group_changes(session, [(c.post_id, c.original) for c in changes], now=written)
            ranked += len(rows)
            filtered += sum(1 for r in rows if r["filtered"])
            copies += sum(1 for c in changes if c.original is not None)
        if on_progress is not None:
            on_progress(ranked)
    return RankReport(ranked, filtered, copies, time.perf_counter() - started)
