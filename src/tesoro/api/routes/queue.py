"""The review queue and the decisions on it: `/api/curator/...` (reads: viewer; writes: coordinator).

The actor of a decision is the authenticated caller (`request.state.principal.actor`,
set by the app's guard), else the `X-Tesoro-Actor` header, else "anonymous". Every
write is one batch of `tesoro.curator.queue.decide`, so it follows the curator's
state machine, lands in the decision log, and is undone by `POST .../decisions/undo`.
A skipped post is answered with its problem's status (`tesoro.api.problems.STATUS`).

| method | path | what |
| --- | --- | --- |
| GET | /api/curator/queue | new posts, best treasure first, one per duplicate group, with copies |
| GET | /api/curator/queue?state=archived | the posts set aside (archived, or rejected), to reopen |
| GET | /api/curator/queue/arrivals | how many posts entered the view after a post id (cheap, to poll) |
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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from tesoro.api.deps import Changed, CuratorActor, EngineDep, MediaDep
from tesoro.api.problems import Problem
from tesoro.api.schemas.common import MAX_ID, MAX_OFFSET, Id
from tesoro.api.schemas.corrections import CorrectionPublic
from tesoro.api.schemas.decisions import (
    BatchPublic,
    BulkDecisionCreate,
    DecisionCreate,
    DecisionList,
    DecisionPublic,
    ProductAssign,
    RightsUpdate,
    TagsUpdate,
    UndoPublic,
)
from tesoro.api.schemas.query import ContentTypeName, PlatformName
from tesoro.api.schemas.queue import (
    Arrivals,
    CatalogProduct,
    PostDetail,
    ProductList,
    ProductPublic,
    QueueItem,
    QueuePage,
    TagCount,
    TagList,
)
from tesoro.curator.queue import Action, BatchResult, QueueError, decide, undo_last
from tesoro.models import CONTENT_TYPES, content_mask
from tesoro.store.catalog import list_brands, list_products
from tesoro.store.corrections import list_corrections
from tesoro.store.curation import list_queue, queue_arrivals, queue_entries, queue_stamp
from tesoro.store.decisions import decision_history, tag_counts
from tesoro.store.engine import is_transient, run_transaction, session_scope

__all__ = ["QueueCounts", "catalog", "content_mask_of", "router"]

router = APIRouter(prefix="/api/curator", tags=["curator"])


class QueueCounts:
    """The count of each view of the queue, kept while the store's `queue_stamp` stays the same.

    Counting a view looks up the ranked item of every post in it (thousands in a busy queue); the
    stamp is three index lookups. A review write in this process clears the counts at once (it is
    one of `app.state.on_review_change`); a write by another process moves the stamp. Writers stamp
    with the wall clock, so a transaction that commits after a later-stamped one may leave the stamp
    where it was: a count is never kept longer than `ttl_s` either.
    """

    def __init__(self, ttl_s: float = 5.0, entries: int = 256) -> None:
        self.ttl_s = ttl_s
        self.entries = entries
        self._kept: dict[Hashable, tuple[tuple[Any, ...], float, int]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, stamp: tuple[Any, ...]) -> int | None:
        with self._lock:
            found = self._kept.get(key)
        if found is None or found[0] != stamp or time.monotonic() - found[1] > self.ttl_s:
            return None
        return found[2]

    def put(self, key: Hashable, stamp: tuple[Any, ...], count: int) -> None:
        with self._lock:
            if len(self._kept) >= self.entries:
                self._kept.clear()
            self._kept[key] = (stamp, time.monotonic(), count)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


def _counts(request: Request) -> QueueCounts | None:
    counts: QueueCounts | None = getattr(request.app.state, "queue_counts", None)
    return counts


def _page(
    engine: Engine, counts: QueueCounts | None, *, filtered: bool = False, **view: Any
) -> tuple[Any, dict[int, CatalogProduct]]:
    """A page of a view, its count kept in `counts` (see `QueueCounts`)."""
    _, products = catalog(engine)
    paging = {name: view.pop(name) for name in ("limit", "offset")}
    key = (filtered, tuple(sorted(view.items())))
    with session_scope(engine) as session:
        stamp = queue_stamp(session) if counts is not None else ()
        known = counts.get(key, stamp) if counts is not None else None
        page = list_queue(session, filtered=filtered, total=known, **view, **paging)
    if counts is not None and known is None:
        counts.put(key, stamp, page.total)
    return page, products


def catalog(engine: Engine) -> tuple[dict[int, str], dict[int, CatalogProduct]]:
    """Brand names and products by id: the few rows every page of cards names its products with."""
    with session_scope(engine) as session:
        brands = {b.id: b.name for b in list_brands(session) if b.id is not None}
        products = {
            p.id: CatalogProduct(id=p.id, name=p.name, line=p.line, brand_id=p.brand_id)
            for p in list_products(session)
            if p.id is not None
        }
    return brands, products


def content_mask_of(types: Sequence[str] | None) -> int | None:
    """The bit mask of content types asked for, or a bad_request naming the unknown ones."""
    if not types:
        return None
    unknown = sorted(set(types) - set(CONTENT_TYPES))
    if unknown:
        raise Problem("bad_request", f"unknown content types: {', '.join(unknown)}")
    return content_mask(types)


def _run(engine: Engine, changed: Callable[[], None], apply: Callable[[Session], BatchResult]) -> BatchResult:
    """One batch in one transaction; the caches forget after it committed, if anything changed.

    A transaction that loses a race (a deadlock, a serialization failure) runs again a
    few times; if it still loses, the caller gets a 409 to retry, never a 500.
    """
    try:
        result = run_transaction(engine, apply)
    except QueueError as exc:
        raise Problem("bad_request", str(exc)) from exc
    except DBAPIError as exc:
        if not is_transient(exc):
            raise
        raise Problem("conflict", "other decisions on these posts kept colliding; try again") from exc
    if result.applied:
        changed()
    return result


def _single(result: BatchResult) -> BatchPublic:
    """One post's decision: a skip becomes its problem's HTTP status."""
    if result.applied:
        return BatchPublic.from_result(result)
    skip = result.skipped[0]
    raise Problem(skip.problem or "invalid", skip.reason or "not applied")


def _decide(
    engine: Engine, changed: Callable[[], None], post_ids: list[int], body: DecisionCreate, actor: str
) -> BatchResult:
    """The single and the bulk decision routes: one batch, one undo step."""
    return _run(
        engine,
        changed,
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


View = Literal["new", "archived", "rejected"]
_VIEW_DOC = "new: the review queue; archived or rejected: the posts set aside, to reopen"
_AFTER_DOC = "only posts with a larger id: the arrivals since a page's `latest_id`"
_UNTIL_DOC = "only posts up to this id: the next pages of a view read at `latest_id`, without what came since"


@router.get(
    "/queue",
    response_model=QueuePage,
    summary="The review queue: new posts, best first, one per duplicate group",
)
def queue(
    engine: EngineDep,
    media: MediaDep,
    brand: Id | None = None,
    product: Id | None = None,
    platform: PlatformName | None = None,
    content_type: Annotated[
        list[ContentTypeName] | None, Query(description="photo, video, review...")
    ] = None,
    state: View = Query("new", description=_VIEW_DOC),
    after: int | None = Query(None, ge=0, le=MAX_ID, description=_AFTER_DOC),
    until: int | None = Query(None, ge=0, le=MAX_ID, description=_UNTIL_DOC),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    counts: QueueCounts | None = Depends(_counts),
) -> QueuePage:
    page, products = _page(
        engine,
        counts,
        state=state,
        brand_id=brand,
        product_id=product,
        platform=platform,
        content_mask=content_mask_of(content_type),
        after_id=after,
        until_id=until,
        limit=limit,
        offset=offset,
    )
    return QueuePage.from_page(page, products, media)


@router.get(
    "/queue/arrivals",
    response_model=Arrivals,
    summary="How many posts entered the queue (or a view of it) after a post id: cheap enough to poll",
)
def arrivals(
    engine: EngineDep,
    after: int = Query(ge=0, le=MAX_ID, description="the `latest_id` of the page the coordinator has"),
    brand: Id | None = None,
    product: Id | None = None,
    platform: PlatformName | None = None,
    content_type: Annotated[
        list[ContentTypeName] | None, Query(description="photo, video, review...")
    ] = None,
    state: View = Query("new", description=_VIEW_DOC),
    filtered: bool = Query(False, description="count the filtered view's arrivals instead"),
) -> Arrivals:
    mask = content_mask_of(content_type)
    with session_scope(engine) as session:
        found = queue_arrivals(
            session,
            after_id=after,
            filtered=filtered,
            state=state,
            brand_id=brand,
            product_id=product,
            platform=platform,
            content_mask=mask,
        )
    return Arrivals(count=found.count, latest_id=found.latest_id)


@router.get(
    "/queue/filtered",
    response_model=QueuePage,
    summary="Posts kept out of the queue (unsafe, spam, off-topic), with the reason",
)
def filtered(
    engine: EngineDep,
    media: MediaDep,
    brand: Id | None = None,
    platform: PlatformName | None = None,
    after: int | None = Query(None, ge=0, le=MAX_ID, description=_AFTER_DOC),
    until: int | None = Query(None, ge=0, le=MAX_ID, description=_UNTIL_DOC),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    counts: QueueCounts | None = Depends(_counts),
) -> QueuePage:
    page, products = _page(
        engine,
        counts,
        filtered=True,
        brand_id=brand,
        platform=platform,
        after_id=after,
        until_id=until,
        limit=limit,
        offset=offset,
    )
    return QueuePage.from_page(page, products, media)


@router.get(
    "/posts/{post_id}",
    response_model=PostDetail,
    summary="One post with its treasure explanation, duplicates and history",
)
def post_detail(engine: EngineDep, media: MediaDep, post_id: Id) -> PostDetail:
    _, products = catalog(engine)
    with session_scope(engine) as session:
        entries = queue_entries(session, post_ids=[post_id])
        if not entries:
            raise Problem("not_found", f"no ranked post {post_id}")
        entry = entries[0]
        original = None
        if entry.duplicate_of is not None:
            found = queue_entries(session, post_ids=[entry.duplicate_of])
            original = found[0] if found else None
        history = decision_history(session, post_id=post_id, limit=200)
        corrected = list_corrections(session, post_id=post_id)
    item = QueueItem.from_entry(entry, products, media)
    return PostDetail(
        **item.model_dump(),
        original=None if original is None else QueueItem.from_entry(original, products, media),
        decisions=[DecisionPublic.from_record(d) for d in history],
        corrections=[CorrectionPublic.from_row(c) for c in corrected],
    )


@router.post(
    "/posts/{post_id}/decision",
    response_model=BatchPublic,
    summary="Approve, reject, feature, archive or reopen a post",
)
def post_decision(
    post_id: Id, body: DecisionCreate, engine: EngineDep, changed: Changed, actor: CuratorActor
) -> BatchPublic:
    return _single(_decide(engine, changed, [post_id], body, actor))


@router.post(
    "/decisions/bulk", response_model=BatchPublic, summary="One action on many posts, as one undo step"
)
def bulk(body: BulkDecisionCreate, engine: EngineDep, changed: Changed, actor: CuratorActor) -> BatchPublic:
    return BatchPublic.from_result(_decide(engine, changed, body.post_ids, body, actor))


@router.post(
    "/decisions/undo", response_model=UndoPublic, summary="Undo the caller's latest batch of decisions"
)
def undo(engine: EngineDep, changed: Changed, actor: CuratorActor) -> UndoPublic:
    try:
        result = run_transaction(engine, lambda session: undo_last(session, actor=actor))
    except DBAPIError as exc:
        if not is_transient(exc):
            raise
        raise Problem("conflict", "other decisions on these posts kept colliding; try again") from exc
    if result.batch_id is None:
        raise Problem("conflict", "nothing to undo")
    if result.restored:
        changed()
    return UndoPublic.from_result(result)


@router.get("/decisions", response_model=DecisionList, summary="The decision log, newest first")
def decisions(
    engine: EngineDep,
    post_id: Id | None = None,
    actor: str | None = None,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> DecisionList:
    with session_scope(engine) as session:
        rows = decision_history(session, post_id=post_id, actor=actor, limit=limit, offset=offset)
    return DecisionList(items=[DecisionPublic.from_record(d) for d in rows])


@router.post("/posts/{post_id}/tags", response_model=BatchPublic, summary="Add and remove tags")
def post_tags(
    post_id: Id, body: TagsUpdate, engine: EngineDep, changed: Changed, actor: CuratorActor
) -> BatchPublic:
    return _single(
        _run(
            engine,
            changed,
            lambda session: decide(
                session, post_ids=[post_id], action=Action.TAG, actor=actor, add=body.add, remove=body.remove
            ),
        )
    )


@router.get("/tags", response_model=TagList, summary="Tags in use, most used first")
def tags(engine: EngineDep, brand: Id | None = None) -> TagList:
    with session_scope(engine) as session:
        return TagList(items=[TagCount(tag=t, count=n) for t, n in tag_counts(session, brand_id=brand)])


@router.post(
    "/posts/{post_id}/product",
    response_model=BatchPublic,
    summary="Assign a product to a post (null clears it)",
)
def post_product(
    post_id: Id, body: ProductAssign, engine: EngineDep, changed: Changed, actor: CuratorActor
) -> BatchPublic:
    return _single(
        _run(
            engine,
            changed,
            lambda session: decide(
                session,
                post_ids=[post_id],
                action=Action.ASSIGN_PRODUCT,
                actor=actor,
                product_id=body.product_id,
            ),
        )
    )


@router.get(
    "/products", response_model=ProductList, summary="Products a post can be assigned to, with brand and line"
)
def products(engine: EngineDep, brand: Id | None = None) -> ProductList:
    brands, known = catalog(engine)
    items = [
        ProductPublic(**p.model_dump(), brand=brands.get(p.brand_id))
        for p in known.values()
        if brand is None or p.brand_id == brand
    ]
    return ProductList(items=sorted(items, key=lambda p: (str(p.brand), p.name)))


@router.post(
    "/posts/{post_id}/rights",
    response_model=BatchPublic,
    summary="Record the usage-rights status obtained by hand",
)
def post_rights(
    post_id: Id, body: RightsUpdate, engine: EngineDep, changed: Changed, actor: CuratorActor
) -> BatchPublic:
    return _single(
        _run(
            engine,
            changed,
            lambda session: decide(
                session,
                post_ids=[post_id],
                action=Action.SET_RIGHTS,
                actor=actor,
                rights=body.status,
                note=body.note,
            ),
        )
    )
