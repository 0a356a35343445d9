"""Listening queries: what a query would match among the latest stored posts (admin).

| method | path | what |
| --- | --- | --- |
| POST | /api/queries/preview | try a query on the last N stored posts: how many match, the newest |

A POST because the query is typed text of any length, but nothing is written. The query is
matched the way collectors re-check a platform's posts (`tesoro.text.query`), title and text
together, so the preview counts what collection would keep.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from tesoro.api.deps import Admin, EngineDep
from tesoro.api.problems import Problem
from tesoro.api.schemas.listening import PreviewPost, QueryPreview, QueryPreviewRequest
from tesoro.store.engine import session_scope
from tesoro.store.recent import recent_posts
from tesoro.text.query import QuerySyntaxError, compile_matcher, normalize, parse, to_string

__all__ = ["router"]

router = APIRouter(prefix="/api/queries", tags=["admin"])


@router.post(
    "/preview",
    response_model=QueryPreview,
    summary="What a listening query matches among the latest stored posts",
)
async def preview(caller: Admin, engine: EngineDep, body: QueryPreviewRequest) -> QueryPreview:
    try:
        node = parse(body.query)
    except QuerySyntaxError as exc:
        raise Problem(
            "bad_request", [{"loc": ["body", "query"], "msg": exc.message, "position": exc.position}]
        ) from exc
    matcher = compile_matcher(node)

    def run() -> QueryPreview:
        with session_scope(engine) as session:
            posts = recent_posts(session, limit=body.recent)
        hits = [p for p in posts if matcher.matches(p.matched_text, p.lang)]
        return QueryPreview(
            query=body.query,
            canonical=to_string(normalize(node)),
            tried=len(posts),
            matched=len(hits),
            items=[PreviewPost.from_post(p) for p in hits[: body.show]],
        )

    return await run_in_threadpool(run)
