"""Thumbnails the media pipeline made: small, metadata-free JPEGs served from the store.

`GET /api/media/{media_id}/thumbnail` answers the thumbnail of a processed media item
(viewer role and up, like the posts it belongs to), with a strong ETag (a hash of its bytes)
and a day of private caching; `If-None-Match` gets a 304. An item not processed yet, or
refused (not an image, too big, a private address...), is a 404: the UI then shows the
blurhash placeholder, or the platform's own URL when its host is allowed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tesoro.api.deps import EngineDep, Reader
from tesoro.api.problems import Problem
from tesoro.api.schemas.common import Id
from tesoro.store.engine import session_scope
from tesoro.store.media import thumbnail

__all__ = ["router", "thumbnail_url"]

router = APIRouter()


def thumbnail_url(media_id: int) -> str:
    """Where the UI finds a processed media item's thumbnail."""
    return f"/api/media/{media_id}/thumbnail"


@router.get(
    "/api/media/{media_id}/thumbnail",
    tags=["posts"],
    summary="A processed media item's thumbnail (JPEG, no metadata)",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "the thumbnail"},
        304: {"description": "the thumbnail the caller has (If-None-Match) is current"},
    },
)
def media_thumbnail(caller: Reader, engine: EngineDep, request: Request, media_id: Id) -> Response:
    with session_scope(engine) as session:
        found = thumbnail(session, media_id=media_id)
    if found is None:
        raise Problem("not_found", f"no thumbnail for media {media_id}")
    body, etag, _ = found
    tag = f'"{etag}"'
    headers = {
        "ETag": tag,
        "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff",
    }
    wanted = request.headers.get("if-none-match", "")
    if tag in {t.strip() for t in wanted.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="image/jpeg", headers=headers)
