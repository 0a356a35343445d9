"""HTTP routes of the curator: the review queue, decisions, tags, products, rights, the library, the ranker.

`router(engine, settings, encode=None)` returns an `APIRouter`; authentication and
roles are added where it is included (reads need `read`, writes `review`). The
actor of a decision is the authenticated caller (`request.state.principal.actor`,
set by the app's guard), else the `X-Tesoro-Actor` header, else "anonymous".

Text fields (post text, titles, names, notes, tags) are returned raw: the UI
escapes them. Links are returned only when they are plain http(s) URLs, and media
URLs only when they point at an allowed media host (`[gallery] media_hosts`).

| method | path | what |
| --- | --- | --- |
| GET | /api/curator/queue | new posts, best treasure first, one per duplicate group, with copies |
| GET | /api/curator/queue/filtered | unsafe, spammy or off-topic posts, with the reason |
| GET | /api/curator/posts/{id} | one post: treasure explanation, duplicates, tags, history |
| POST | /api/curator/posts/{id}/decision | approve, reject, feature, archive, reopen (+product, tags, note) |
| POST | /api/curator/posts/{id}/tags | add and remove tags |
| POST | /api/curator/posts/{id}/product | assign a product (null clears) |
| POST | /api/curator/posts/{id}/rights | set the usage-rights status |
| POST | /api/curator/decisions/bulk | one action on many posts (one undo step) |
| POST | /api/curator/decisions/undo | undo the caller's latest batch |
| GET | /api/curator/decisions | the decision log (who, what, when, undone) |
| GET | /api/curator/tags | tags in use, most used first |
| GET | /api/curator/products | products with brand and line |
| GET | /api/curator/library | search approved/featured posts: text, meaning, filters, facets, paging |
| GET | /api/curator/ranker | each brand's learned ranker: decisions, blend, quality, learned weights |
| POST | /api/curator/ranker/train | retrain (one brand or all) and re-rank |
| POST | /api/curator/rank | rank newly scored posts now |
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from tesoro.api.security import MediaFilter, safe_link
from tesoro.curator.feedback import load_ranker_models, train_rankers
from tesoro.curator.queue import Action, BatchResult, Outcome, QueueError, decide, undo_last
from tesoro.curator.ranking import rank_posts
from tesoro.models import CONTENT_TYPES, content_mask
from tesoro.search.library import (
    Encode,
    Library,
    LibraryError,
    LibraryFilters,
    LibraryQuery,
    MeaningUnavailable,
)
from tesoro.settings import Settings
from tesoro.store.catalog import list_brands, list_products
from tesoro.store.curation import QueueEntry, list_queue, queue_entries
from tesoro.store.decisions import DecisionRecord, decision_history, tag_counts
from tesoro.store.engine import session_scope
from tesoro.store.library import LIBRARY_STATES
from tesoro.store.tables import QueueState, RightsState

__all__ = ["current_actor", "router"]

_UNPROCESSABLE = 422


def current_actor(request: Request) -> str:
    """Who is deciding: the authenticated key, else the X-Tesoro-Actor header, else 'anonymous'."""
    principal = getattr(request.state, "principal", None)
    actor = getattr(principal, "actor", None)
    if isinstance(actor, str) and actor:
        return actor
    header = (request.headers.get("x-tesoro-actor") or "").strip()
    return header[:200] or "anonymous"


Actor = Annotated[str, Depends(current_actor)]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


class DecisionBody(BaseModel):
    action: Literal["approve", "reject", "feature", "archive", "reopen", "note"]
    note: str | None = Field(None, max_length=5000)
    product_id: int | None = None
    add_tags: list[str] = Field(default_factory=list, max_length=50)
    remove_tags: list[str] = Field(default_factory=list, max_length=50)
    include_copies: bool = False


class BulkBody(DecisionBody):
    action: Literal["approve", "reject", "feature", "archive", "reopen", "note", "tag"]  # type: ignore[assignment]
    post_ids: list[int] = Field(min_length=1, max_length=1000)


class TagsBody(BaseModel):
    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)


class ProductBody(BaseModel):
    product_id: int | None


class RightsBody(BaseModel):
    status: Literal["none", "requested", "granted", "declined", "expired"]
    note: str | None = Field(None, max_length=5000)


def _lazy_encoder(settings: Settings) -> Encode:
    """The scoring encoder, loaded on the first meaning query (loading costs a second and ~100 MB)."""
    holder: dict[str, Any] = {}
    lock = threading.Lock()

    def encode(texts: list[str]) -> npt.NDArray[np.float32]:
        with lock:
            if "encoder" not in holder:
                try:
                    from tesoro.scoring.encoder import load_encoder

                    holder["encoder"] = load_encoder(
                        settings.models.encoder, settings.models.device, batch_size=settings.models.batch_size
                    )
                except Exception as exc:  # ImportError, ModelLoadError, OSError: the model is not usable here
                    raise MeaningUnavailable(f"search by meaning is unavailable: {exc}") from exc
        return np.asarray(holder["encoder"].encode(texts), dtype=np.float32)

    return encode


def _day_start(value: str, *, end: bool) -> datetime:
    """'2026-11-01' (a whole day, UTC) or a full ISO timestamp; a day's end is the next day's start."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), tzinfo=UTC)
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HTTPException(
            _UNPROCESSABLE, f"not a date: {value!r} (use 2026-11-01 or an ISO timestamp)"
        ) from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def router(engine: Engine, settings: Settings, encode: Encode | None = None) -> APIRouter:
    """The curator's routes over `engine`; `encode` embeds meaning queries (default: the scoring encoder)."""
    api = APIRouter(prefix="/api/curator", tags=["curator"])
    media = MediaFilter(settings.gallery.media_hosts)
    library = Library(engine, settings.curator, encode=encode or _lazy_encoder(settings))

    def names() -> tuple[dict[int, str], dict[int, dict[str, Any]]]:
        with session_scope(engine) as session:
            brands = {b.id: b.name for b in list_brands(session) if b.id is not None}
            products = {
                p.id: {"id": p.id, "name": p.name, "line": p.line, "brand_id": p.brand_id}
                for p in list_products(session)
                if p.id is not None
            }
        return brands, products

    def entry_json(
        entry: QueueEntry, products: dict[int, dict[str, Any]], relevance: float | None = None
    ) -> dict[str, Any]:
        card = entry.card
        product = products.get(entry.product_id) if entry.product_id is not None else None
        out: dict[str, Any] = {
            "id": card.id,
            "platform": card.platform,
            "external_id": card.external_id,
            "url": safe_link(card.url),
            "title": card.title,
            "text": card.text,
            "lang": card.lang,
            "language": entry.language,
            "created_at": _iso(card.created_at),
            "brand_id": card.brand_id,
            "author": {
                "id": card.author_id,
                "handle": card.author_handle,
                "name": card.author_name,
                "followers": card.author_followers,
                "verified": card.author_verified,
                "url": safe_link(card.author_url),
            },
            "metrics": {
                "likes": card.likes,
                "reposts": card.reposts,
                "replies": card.replies,
                "quotes": card.quotes,
                "views": card.views,
            },
            "media": [
                {
                    "type": m.type,
                    "url": m.url if media.allowed(m.url) else None,
                    "preview_url": m.preview_url if media.allowed(m.preview_url) else None,
                    "width": m.width,
                    "height": m.height,
                    "alt_text": m.alt_text,
                }
                for m in card.media
            ],
            "hashtags": list(card.hashtags),
            "queue_state": card.queue_state,
            "rights_status": card.rights_status,
            "product": None if product is None else {**product, "assigned": card.product_id is not None},
            "tags": list(card.tags),
            "content_types": list(entry.content_types),
            "sentiment": entry.sentiment,
            "treasure": {
                "score": round(entry.score, 4),
                "base_score": round(entry.base_score, 4),
                "learned": None if entry.learned is None else round(entry.learned, 4),
                "components": entry.components,
                "filtered": entry.filtered,
            },
            "duplicate_of": entry.duplicate_of,
            "copy_count": entry.copy_count,
            "copies": [
                {
                    "id": c.id,
                    "platform": c.platform,
                    "author_handle": c.author_handle,
                    "url": safe_link(c.url),
                    "created_at": _iso(c.created_at),
                    "queue_state": c.queue_state,
                }
                for c in entry.copies
            ],
        }
        if relevance is not None:
            out["relevance"] = round(relevance, 4)
        return out

    def outcome_json(o: Outcome) -> dict[str, Any]:
        return {
            "post_id": o.post_id,
            "applied": o.applied,
            "from_state": o.from_state,
            "to_state": o.to_state,
            "decision_id": o.decision_id,
            "reason": o.reason,
            "problem": o.problem,
        }

    def batch_json(result: BatchResult) -> dict[str, Any]:
        return {
            "batch_id": result.batch_id,
            "action": result.action,
            "actor": result.actor,
            "applied": [outcome_json(o) for o in result.applied],
            "skipped": [outcome_json(o) for o in result.skipped],
        }

    def decision_json(d: DecisionRecord) -> dict[str, Any]:
        return {
            "id": d.id,
            "post_id": d.post_id,
            "action": d.action,
            "from_state": d.from_state,
            "to_state": d.to_state,
            "product_id": d.product_id,
            "note": d.note,
            "actor": d.actor,
            "decided_at": _iso(d.decided_at),
            "undone": d.undone,
            "batch_id": d.batch_id,
        }

    def changed(request: Request) -> None:
        library.invalidate()
        for hook in getattr(request.app.state, "on_review_change", ()):
            hook()

    def single(result: BatchResult) -> dict[str, Any]:
        """One post's decision: a skip becomes the matching HTTP error."""
        if result.applied:
            return batch_json(result)
        skip = result.skipped[0]
        status = {"not_found": 404, "invalid": 409, "conflict": 409, "unchanged": 409}.get(
            skip.problem or "", 409
        )
        raise HTTPException(status, skip.reason or "not applied")

    def run(request: Request, apply: Any) -> BatchResult:
        try:
            with session_scope(engine) as session:
                result: BatchResult = apply(session)
        except QueueError as exc:
            raise HTTPException(_UNPROCESSABLE, str(exc)) from exc
        if result.applied:
            changed(request)
        return result

    def mask_of(types: list[str] | None) -> int | None:
        if not types:
            return None
        unknown = sorted(set(types) - set(CONTENT_TYPES))
        if unknown:
            raise HTTPException(_UNPROCESSABLE, f"unknown content types: {', '.join(unknown)}")
        return content_mask(types)

    @api.get("/queue", summary="The review queue: new posts, best first, one per duplicate group")
    def queue(
        brand: int | None = None,
        product: int | None = None,
        platform: str | None = None,
        content_type: Annotated[list[str] | None, Query()] = None,
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        _, products = names()
        with session_scope(engine) as session:
            page = list_queue(
                session,
                brand_id=brand,
                product_id=product,
                platform=platform,
                content_mask=mask_of(content_type),
                limit=limit,
                offset=offset,
            )
        return {"total": page.total, "items": [entry_json(e, products) for e in page.items]}

    @api.get(
        "/queue/filtered", summary="Posts kept out of the queue (unsafe, spam, off-topic), with the reason"
    )
    def filtered(
        brand: int | None = None,
        platform: str | None = None,
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        _, products = names()
        with session_scope(engine) as session:
            page = list_queue(
                session, filtered=True, brand_id=brand, platform=platform, limit=limit, offset=offset
            )
        return {"total": page.total, "items": [entry_json(e, products) for e in page.items]}

    @api.get("/posts/{post_id}", summary="One post with its treasure explanation, duplicates and history")
    def post_detail(post_id: int) -> dict[str, Any]:
        _, products = names()
        with session_scope(engine) as session:
            entries = queue_entries(session, post_ids=[post_id])
            if not entries:
                raise HTTPException(404, f"no ranked post {post_id}")
            entry = entries[0]
            original = None
            if entry.duplicate_of is not None:
                found = queue_entries(session, post_ids=[entry.duplicate_of])
                original = found[0] if found else None
            history = decision_history(session, post_id=post_id, limit=200)
        out = entry_json(entry, products)
        out["original"] = None if original is None else entry_json(original, products)
        out["decisions"] = [decision_json(d) for d in history]
        return out

    def decide_posts(request: Request, post_ids: list[int], body: DecisionBody, actor: str) -> BatchResult:
        """The single and the bulk decision routes: one batch, one undo step."""
        return run(
            request,
            lambda session: decide(
                session,
                post_ids=post_ids,
                action=body.action,
                actor=actor,
                note=body.note,
                product_id=body.product_id,
                add=body.add_tags,
                remove=body.remove_tags,
                include_copies=body.include_copies,
            ),
        )

    @api.post("/posts/{post_id}/decision", summary="Approve, reject, feature, archive or reopen a post")
    def post_decision(post_id: int, body: DecisionBody, request: Request, actor: Actor) -> dict[str, Any]:
        return single(decide_posts(request, [post_id], body, actor))

    @api.post("/decisions/bulk", summary="One action on many posts, as one undo step")
    def bulk(body: BulkBody, request: Request, actor: Actor) -> dict[str, Any]:
        return batch_json(decide_posts(request, body.post_ids, body, actor))

    @api.post("/decisions/undo", summary="Undo the caller's latest batch of decisions")
    def undo(request: Request, actor: Actor) -> dict[str, Any]:
        with session_scope(engine) as session:
            result = undo_last(session, actor=actor)
        if result.batch_id is None:
            raise HTTPException(409, "nothing to undo")
        if result.restored:
            changed(request)
        return {
            "batch_id": result.batch_id,
            "action": result.action,
            "restored": [outcome_json(o) for o in result.restored],
            "skipped": [outcome_json(o) for o in result.skipped],
        }

    @api.get("/decisions", summary="The decision log, newest first")
    def decisions(
        post_id: int | None = None,
        actor: str | None = None,
        limit: int = Query(100, ge=1, le=500),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        with session_scope(engine) as session:
            rows = decision_history(session, post_id=post_id, actor=actor, limit=limit, offset=offset)
        return {"items": [decision_json(d) for d in rows]}

    @api.post("/posts/{post_id}/tags", summary="Add and remove tags")
    def post_tags(post_id: int, body: TagsBody, request: Request, actor: Actor) -> dict[str, Any]:
        result = run(
            request,
            lambda session: decide(
                session, post_ids=[post_id], action=Action.TAG, actor=actor, add=body.add, remove=body.remove
            ),
        )
        return single(result)

    @api.get("/tags", summary="Tags in use, most used first")
    def tags(brand: int | None = None) -> dict[str, Any]:
        with session_scope(engine) as session:
            return {"items": [{"tag": t, "count": n} for t, n in tag_counts(session, brand_id=brand)]}

    @api.post("/posts/{post_id}/product", summary="Assign a product to a post (null clears it)")
    def post_product(post_id: int, body: ProductBody, request: Request, actor: Actor) -> dict[str, Any]:
        result = run(
            request,
            lambda session: decide(
                session,
                post_ids=[post_id],
                action=Action.ASSIGN_PRODUCT,
                actor=actor,
                product_id=body.product_id,
            ),
        )
        return single(result)

    @api.get("/products", summary="Products a post can be assigned to, with brand and line")
    def products(brand: int | None = None) -> dict[str, Any]:
        brands, catalog = names()
        items = [
            {**p, "brand": brands.get(p["brand_id"])}
            for p in catalog.values()
            if brand is None or p["brand_id"] == brand
        ]
        return {"items": sorted(items, key=lambda p: (str(p["brand"]), p["name"]))}

    @api.post("/posts/{post_id}/rights", summary="Record the usage-rights status obtained by hand")
    def post_rights(post_id: int, body: RightsBody, request: Request, actor: Actor) -> dict[str, Any]:
        result = run(
            request,
            lambda session: decide(
                session,
                post_ids=[post_id],
                action=Action.SET_RIGHTS,
                actor=actor,
                rights=body.status,
                note=body.note,
            ),
        )
        return single(result)

    @api.get("/library", summary="Search the library: words, meaning, filters, facet counts, paging")
    def search_library(
        q: str | None = Query(None, max_length=500, description='words, "phrases", OR, -exclusions, prefix*'),
        meaning: str | None = Query(None, max_length=500, description="search by meaning"),
        brand: Annotated[list[int] | None, Query()] = None,
        product: Annotated[list[int] | None, Query()] = None,
        line: Annotated[list[str] | None, Query()] = None,
        content_type: Annotated[list[str] | None, Query()] = None,
        platform: Annotated[list[str] | None, Query()] = None,
        language: Annotated[list[str] | None, Query()] = None,
        sentiment: Annotated[list[str] | None, Query()] = None,
        rights: Annotated[list[str] | None, Query()] = None,
        state: Annotated[list[str] | None, Query()] = None,
        date_from: str | None = None,
        date_to: str | None = None,
        sort: Literal["relevance", "treasure", "date"] | None = None,
        limit: int = Query(24, ge=1, le=100),
        offset: int = Query(0, ge=0, le=10000),
        facets: bool = True,
        min_similarity: float | None = Query(None, ge=-1, le=1),
    ) -> dict[str, Any]:
        states = tuple(state or LIBRARY_STATES)
        unknown_states = sorted(set(states) - {s.value for s in QueueState})
        unknown_rights = sorted(set(rights or ()) - {r.value for r in RightsState})
        if unknown_states or unknown_rights:
            raise HTTPException(
                _UNPROCESSABLE, f"unknown values: {', '.join(unknown_states + unknown_rights)}"
            )
        mask_of(content_type)
        filters = LibraryFilters(
            states=states,
            brand_ids=tuple(brand or ()),
            product_ids=tuple(product or ()),
            product_lines=tuple(line or ()),
            content_types=tuple(content_type or ()),
            platforms=tuple(platform or ()),
            languages=tuple(language or ()),
            sentiments=tuple(sentiment or ()),
            rights=tuple(rights or ()),
            date_from=_day_start(date_from, end=False) if date_from else None,
            date_to=_day_start(date_to, end=True) if date_to else None,
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
            raise HTTPException(503, str(exc)) from exc
        except LibraryError as exc:
            raise HTTPException(_UNPROCESSABLE, str(exc)) from exc
        brands, catalog = names()
        labels: dict[str, dict[Any, str]] = {
            "brand": {k: v for k, v in brands.items()},
            "product": {k: str(v["name"]) for k, v in catalog.items()},
        }
        return {
            "total": page.total,
            "sort": page.sort,
            "limit": page.limit,
            "offset": page.offset,
            "items": [entry_json(hit.entry, catalog, hit.relevance) for hit in page.items],
            "facets": {
                name: [
                    {
                        "value": value,
                        "count": count,
                        **({"label": labels[name].get(value)} if name in labels else {}),
                    }
                    for value, count in counts
                ]
                for name, counts in page.facets.items()
            },
        }

    @api.get("/ranker", summary="Each brand's learned ranker")
    def ranker_status() -> dict[str, Any]:
        brands, _ = names()
        rankers = load_ranker_models(engine)
        return {
            "items": [
                {
                    "brand_id": key or None,
                    "brand": brands.get(key),
                    "decisions": r.decisions,
                    "approvals": r.positives,
                    "blend": round(r.alpha, 4),
                    "metrics": r.metrics,
                    "learned_weights": r.learned_weights(),
                }
                for key, r in sorted(rankers.items())
            ]
        }

    @api.post("/ranker/train", summary="Retrain the learned ranker (one brand or all) and re-rank")
    def ranker_train(request: Request, brand: int | None = None) -> dict[str, Any]:
        reports = train_rankers(engine, settings.curator, brand_key=brand)
        changed(request)
        return {
            "items": [
                {
                    "brand_id": r.brand_key or None,
                    "trained": r.trained,
                    "reason": r.reason or None,
                    "decisions": r.decisions,
                    "approvals": r.positives,
                    "blend": round(r.alpha, 4),
                    "metrics": r.metrics,
                    "learned_weights": r.learned_weights,
                }
                for r in reports
            ]
        }

    @api.post("/rank", summary="Rank newly scored posts now (the scheduler also does this)")
    def rank_now(request: Request, everything: bool = False) -> dict[str, Any]:
        report = rank_posts(engine, settings.curator, everything=everything)
        changed(request)
        return {
            "ranked": report.ranked,
            "filtered": report.filtered,
            "copies": report.copies,
            "seconds": round(report.seconds, 3),
        }

    return api
