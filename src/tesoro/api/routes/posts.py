"""Collected posts, their authors, the sources that collect them, and the dashboard's counts.

Every route here reads (the viewer role and up). Reviewing posts is the queue's
(`tesoro.api.routes.queue`), searching them the library's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query

from tesoro.api.deps import EngineDep, MediaDep, Reader, SettingsDep
from tesoro.api.problems import Problem
from tesoro.api.schemas.common import MAX_OFFSET, Id
from tesoro.api.schemas.posts import (
    AuthorDetailPublic,
    OverviewPublic,
    PostPage,
    PostPublic,
    PostSummary,
    SourcePublic,
)
from tesoro.api.schemas.query import PlatformName
from tesoro.collector.quota import quota_statuses
from tesoro.store.engine import session_scope
from tesoro.store.posts import author_detail, count_posts, get_post_view, list_posts, overview
from tesoro.store.sources import list_sources

__all__ = ["router"]

router = APIRouter()


@router.get("/api/posts", tags=["posts"], response_model=PostPage, summary="Collected posts, newest first")
def posts(
    caller: Reader,
    engine: EngineDep,
    platform: PlatformName | None = Query(None, description="only this platform's posts"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> PostPage:
    with session_scope(engine) as session:
        rows = list_posts(session, platform=platform, limit=limit, offset=offset)
        total = count_posts(session, platform=platform)
        return PostPage(total=total, items=[PostSummary.from_row(p) for p in rows])


@router.get(
    "/api/posts/{post_id}",
    tags=["posts"],
    response_model=PostPublic,
    summary="One post with its author and media",
)
def post(caller: Reader, engine: EngineDep, media: MediaDep, post_id: Id) -> PostPublic:
    with session_scope(engine) as session:
        view = get_post_view(session, post_id=post_id)
    if view is None:
        raise Problem("not_found", f"no post {post_id}")
    return PostPublic.from_view(view, media)


@router.get(
    "/api/sources",
    tags=["sources"],
    response_model=list[SourcePublic],
    summary="Every source, its health and its platform budget (used, left, reset, forecast, next run)",
)
def sources(caller: Reader, engine: EngineDep, settings: SettingsDep) -> list[SourcePublic]:
    with session_scope(engine) as session:
        rows = list_sources(session)
        quotas = quota_statuses(session, settings, rows, now=datetime.now(UTC))
        return [SourcePublic.from_row(s, quotas.get(s.name)) for s in rows]


@router.get(
    "/api/authors/{author_id}",
    tags=["authors"],
    response_model=AuthorDetailPublic,
    summary="An author, their activity and posts",
)
def author(caller: Reader, engine: EngineDep, media: MediaDep, author_id: Id) -> AuthorDetailPublic:
    with session_scope(engine) as session:
        detail = author_detail(session, author_id=author_id)
    if detail is None:
        raise Problem("not_found", f"no author {author_id}")
    return AuthorDetailPublic.from_view(detail, media)


@router.get(
    "/api/browse/overview", tags=["browse"], response_model=OverviewPublic, summary="Counts for the dashboard"
)
def overview_(
    caller: Reader,
    engine: EngineDep,
    brand_id: Id | None = Query(None, description="one brand's posts only"),
    days: int = Query(30, ge=1, le=366, description="the daily volume's window"),
) -> OverviewPublic:
    with session_scope(engine) as session:
        return OverviewPublic.from_view(overview(session, brand_id=brand_id, days=days))
