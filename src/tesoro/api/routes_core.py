"""Tesoro's own JSON API: posts, sources, authors, the dashboard overview, keys and settings.

Every route takes its guard as a parameter (`READ`, `REVIEW`, `ADMIN`, ...), which
both enforces the role matrix and hands the endpoint its caller for the audit log.
Media URLs leave the API only when they point at an allowed platform host; links
only when they are http(s).

Reviewing is the curator's API (`/api/curator/...`, `tesoro.api.routes_curator`).
The older `/api/review/...` writes remain for integrations written against them,
as thin wrappers over the same curator workflow (`tesoro.store.review`): same
state machine, same decision and audit log, undoable with
`POST /api/curator/decisions/undo`. The older reads that have no faithful wrapper
(`GET /api/review/queue`, `GET /api/review/products`, `GET /api/browse/search`)
answer 410 Gone, naming their replacement. All of them are marked deprecated in
the OpenAPI document and keep their role guards.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from tesoro.api.auth import ADMIN, ANY_KEY, READ, REVIEW, Principal
from tesoro.api.security import MediaFilter, safe_link
from tesoro.settings import Settings
from tesoro.store.browse import (
    AuthorDetail,
    AuthorView,
    MediaView,
    PostView,
    author_detail,
    get_post_view,
    overview,
)
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role, create_key, list_keys, revoke_key
from tesoro.store.posts import count_posts, list_posts
from tesoro.store.review import Action, DecisionResult, ReviewError, assign_product, decide, set_rights
from tesoro.store.sources import list_sources
from tesoro.store.tables import ApiKey, QueueState, RightsState

__all__ = ["build_core_router", "iso", "media_json", "post_json"]

Caller = Annotated[Principal | None, Depends(READ)]
Reviewer = Annotated[Principal | None, Depends(REVIEW)]
Admin = Annotated[Principal | None, Depends(ADMIN)]
AnyKey = Annotated[Principal | None, Depends(ANY_KEY)]

# A skipped decision's problem -> the HTTP status the curator's routes answer it with.
_PROBLEM_STATUS = {"not_found": 404, "invalid": 409, "conflict": 409, "unchanged": 409, "bad_request": 422}


def _retired(old: str, replacement: str, what: str) -> HTTPException:
    """410 Gone for a retired route, naming what replaces it (in the message and a Link header)."""
    path = replacement.split(" ", 1)[-1].split("?", 1)[0]
    return HTTPException(
        410,
        f"{old} was retired; use {replacement} ({what})",
        headers={"Link": f'<{path}>; rel="successor-version"'},
    )


def _add_retired(router: APIRouter, path: str, tag: str, successor: str, what: str) -> None:
    """Register GET `path` as retired: documented as deprecated, it answers 410 naming `successor`."""

    def retired(caller: Caller) -> None:
        raise _retired(f"GET {path}", successor, what)

    router.add_api_route(
        path,
        retired,
        methods=["GET"],
        tags=[tag],
        summary=f"Retired (410): use {successor}",
        deprecated=True,
        status_code=410,
        response_description=f"Retired: use {successor}",
        name=f"retired:{path}",
    )


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit UTC offset (SQLite returns stored UTC times without one)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def media_json(m: MediaView, media: MediaFilter) -> dict[str, Any]:
    url = m.url if media.allowed(m.url) else None
    preview = m.preview_url if media.allowed(m.preview_url) else None
    return {
        "type": m.type,
        "url": url,
        "preview_url": preview,
        "width": m.width,
        "height": m.height,
        "alt_text": m.alt_text,
        "blocked": url is None and preview is None,
    }


def author_json(a: AuthorView) -> dict[str, Any]:
    return {
        "id": a.id,
        "platform": a.platform,
        "handle": a.handle,
        "display_name": a.display_name,
        "followers": a.followers,
        "verified": a.verified,
        "profile_url": safe_link(a.profile_url),
    }


def post_json(p: PostView, media: MediaFilter) -> dict[str, Any]:
    return {
        "id": p.id,
        "platform": p.platform,
        "external_id": p.external_id,
        "text": p.text,
        "title": p.title,
        "url": safe_link(p.url),
        "lang": p.lang,
        "created_at": iso(p.created_at),
        "queue_state": p.queue_state,
        "rights_status": p.rights_status,
        "treasure_score": p.treasure_score,
        "brand_id": p.brand_id,
        "product": {"id": p.product_id, "name": p.product_name} if p.product_id is not None else None,
        "metrics": {"likes": p.likes, "reposts": p.reposts, "replies": p.replies},
        "author": author_json(p.author),
        "media": [media_json(m, media) for m in p.media],
    }


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "role": key.role,
        "created_by": key.created_by,
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at),
        "revoked_at": iso(key.revoked_at),
    }


def author_detail_json(d: AuthorDetail, media: MediaFilter) -> dict[str, Any]:
    return {
        "author": author_json(d.author),
        "bio": d.bio,
        "avatar_url": d.avatar_url if media.allowed(d.avatar_url) else None,
        "following": d.following,
        "first_seen_at": iso(d.first_seen_at),
        "person_id": d.person_id,
        "post_count": d.post_count,
        "approved_count": d.approved_count,
        "activity": [{"month": month, "posts": n} for month, n in d.activity],
        "linked": [author_json(a) for a in d.linked],
        "posts": [post_json(p, media) for p in d.posts],
    }


class DecisionIn(BaseModel):
    action: Action = Field(description="`reset` is the curator's `reopen` (a rejected or archived post)")
    note: str | None = Field(None, max_length=2000)


class ProductIn(BaseModel):
    product_id: int | None


class RightsIn(BaseModel):
    status: RightsState
    note: str | None = Field(None, max_length=2000)


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role


def build_core_router(engine: Engine, settings: Settings, media: MediaFilter) -> APIRouter:
    """The core API; `on_change` hooks (the gallery cache) run after each review write."""
    router = APIRouter()

    def changed(request: Request) -> None:
        for hook in getattr(request.app.state, "on_review_change", ()):
            hook()

    @router.get("/api/me", tags=["auth"], summary="The key this request was made with")
    def me(caller: AnyKey) -> dict[str, Any]:
        assert caller is not None
        return {"key_id": caller.key_id, "name": caller.name, "role": caller.role.value, "via": caller.via}

    @router.get("/api/posts", tags=["posts"], summary="Collected posts, newest first")
    def posts(
        caller: Caller,
        platform: str | None = None,
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        with session_scope(engine) as session:
            rows = list_posts(session, platform=platform, limit=limit, offset=offset)
            total = count_posts(session, platform=platform)
            items = [
                {
                    "id": p.id,
                    "platform": p.platform,
                    "external_id": p.external_id,
                    "text": p.text,
                    "lang": p.lang,
                    "url": safe_link(p.url),
                    "created_at": iso(p.created_at),
                    "likes": p.likes,
                    "reposts": p.reposts,
                    "replies": p.replies,
                    "queue_state": p.queue_state,
                }
                for p in rows
            ]
        return {"total": total, "items": items}

    @router.get("/api/posts/{post_id}", tags=["posts"], summary="One post with its author and media")
    def post(caller: Caller, post_id: int) -> dict[str, Any]:
        with session_scope(engine) as session:
            view = get_post_view(session, post_id=post_id)
        if view is None:
            raise HTTPException(404, f"no post {post_id}")
        return post_json(view, media)

    @router.get("/api/sources", tags=["sources"], summary="Every source and its health")
    def sources(caller: Caller) -> list[dict[str, Any]]:
        with session_scope(engine) as session:
            return [
                {
                    "name": s.name,
                    "platform": s.platform,
                    "enabled": s.enabled,
                    "health": s.health,
                    "last_error": s.last_error,
                    "last_success_at": iso(s.last_success_at),
                    "last_run_at": iso(s.last_run_at),
                    "consecutive_failures": s.consecutive_failures,
                    "next_allowed_at": iso(s.next_allowed_at),
                    "posts_collected": s.posts_collected,
                }
                for s in list_sources(session)
            ]

    @router.get("/api/authors/{author_id}", tags=["authors"], summary="An author, their activity and posts")
    def author(caller: Caller, author_id: int) -> dict[str, Any]:
        with session_scope(engine) as session:
            detail = author_detail(session, author_id=author_id)
        if detail is None:
            raise HTTPException(404, f"no author {author_id}")
        return author_detail_json(detail, media)

    # --- the older review API: writes wrap the curator's workflow, reads are retired -----------------

    def review(request: Request, apply: Callable[[Any], DecisionResult]) -> DecisionResult:
        """Run one older-API write (a curator batch) and answer a skip as the curator's routes do."""
        try:
            with session_scope(engine) as session:
                result = apply(session)
        except ReviewError as exc:
            raise HTTPException(_PROBLEM_STATUS.get(exc.problem, 409), str(exc)) from exc
        changed(request)
        return result

    def written(result: DecisionResult) -> dict[str, Any]:
        return {"post_id": result.post_id, "batch_id": result.batch_id, "decision_id": result.decision_id}

    _add_retired(
        router,
        "/api/review/queue",
        "review",
        "GET /api/curator/queue",
        "new posts, best first, one per duplicate group; decided posts: "
        "GET /api/curator/library?state=approved&state=rejected...",
    )
    _add_retired(
        router, "/api/review/products", "review", "GET /api/curator/products", "products with brand and line"
    )

    @router.post(
        "/api/review/posts/{post_id}/decision",
        tags=["review"],
        summary="Approve, reject, feature... (deprecated: POST /api/curator/posts/{post_id}/decision)",
        description="The curator's decision under its older path and body: the same state machine "
        "(a move it refuses is 409), the same decision log (`GET /api/curator/decisions`) and undo "
        "(`POST /api/curator/decisions/undo`). `reset` means `reopen`.",
        deprecated=True,
    )
    def decision(caller: Reviewer, post_id: int, body: DecisionIn, request: Request) -> dict[str, Any]:
        assert caller is not None
        result = review(
            request,
            lambda session: decide(
                session, post_id=post_id, action=body.action, actor=caller.actor, note=body.note
            ),
        )
        return {**written(result), "from_state": result.from_state, "to_state": result.to_state}

    @router.post(
        "/api/review/posts/{post_id}/product",
        tags=["review"],
        summary="Tag a post with a product (deprecated: POST /api/curator/posts/{post_id}/product)",
        description="The curator's product assignment under its older path: recorded in the decision "
        "log and undoable. A product of another brand, or the product the post already has, is 409.",
        deprecated=True,
    )
    def product(caller: Reviewer, post_id: int, body: ProductIn, request: Request) -> dict[str, Any]:
        assert caller is not None
        result = review(
            request,
            lambda session: assign_product(
                session, post_id=post_id, product_id=body.product_id, actor=caller.actor
            ),
        )
        return {**written(result), "product_id": body.product_id}

    @router.post(
        "/api/review/posts/{post_id}/rights",
        tags=["review"],
        summary="Record the usage-rights status (deprecated: POST /api/curator/posts/{post_id}/rights)",
        description="The curator's rights update under its older path: recorded in the decision log "
        "and undoable. The status the post already has is 409.",
        deprecated=True,
    )
    def rights(caller: Reviewer, post_id: int, body: RightsIn, request: Request) -> dict[str, Any]:
        assert caller is not None
        result = review(
            request,
            lambda session: set_rights(
                session, post_id=post_id, status=body.status, actor=caller.actor, note=body.note
            ),
        )
        return {**written(result), "rights_status": body.status.value}

    # --- search (retired) and overview -----------------------------------------------------------------

    _add_retired(
        router,
        "/api/browse/search",
        "browse",
        "GET /api/curator/library",
        "full-text and meaning search with facet counts; it searches approved and featured "
        "posts unless you pass state=new, state=rejected...",
    )

    @router.get("/api/browse/overview", tags=["browse"], summary="Counts for the dashboard")
    def overview_(
        caller: Caller, brand_id: int | None = None, days: int = Query(30, ge=1, le=366)
    ) -> dict[str, Any]:
        with session_scope(engine) as session:
            o = overview(session, brand_id=brand_id, days=days)
        return {
            "total_posts": o.total_posts,
            "total_authors": o.total_authors,
            "by_state": o.by_state,
            "by_rights": o.by_rights,
            "by_platform": o.by_platform,
            "daily": o.daily,
            "sources_by_health": o.sources_by_health,
            "since": iso(o.since),
        }

    # --- administration ------------------------------------------------------------------------------

    @router.get("/api/keys", tags=["admin"], summary="Every API key (never their secrets)")
    def keys(caller: Admin) -> list[dict[str, Any]]:
        with session_scope(engine) as session:
            return [key_json(k) for k in list_keys(session)]

    @router.post(
        "/api/keys", tags=["admin"], status_code=201, summary="Create a key; its token is shown once"
    )
    def new_key(caller: Admin, body: KeyIn) -> dict[str, Any]:
        assert caller is not None
        with session_scope(engine) as session:
            created = create_key(session, name=body.name, role=body.role, created_by=caller.actor)
            return {**key_json(created.key), "token": created.token}

    @router.delete("/api/keys/{key_id}", tags=["admin"], summary="Revoke a key and end its web sessions")
    def revoke(caller: Admin, key_id: str, response: Response) -> dict[str, Any]:
        with session_scope(engine) as session:
            row = revoke_key(session, key_id=key_id)
            if row is None:
                raise HTTPException(404, f"no key {key_id}")
            return key_json(row)

    @router.get("/api/settings", tags=["admin"], summary="The running configuration (no secrets)")
    def settings_overview(caller: Admin) -> dict[str, Any]:
        data = settings.model_dump(mode="json", exclude={"base_dir"})
        data["database"] = {
            "backend": engine.url.get_backend_name(),
            "url": engine.url.render_as_string(hide_password=True),
        }
        data["queue_states"] = [s.value for s in QueueState]
        return data

    return router
