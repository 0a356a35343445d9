"""The simulator's own media host: the pictures behind every post's media URLs, served locally.

The world keeps each platform's real media URL shapes (pbs.twimg.com, i.redd.it, cdn.bsky.app,
files.mastodon.social, ...). When a server is started with `serve_media=True`, its API answers
rewrite those URLs to `{base}/media/{host}/{path}` on the simulator itself (`MediaRewrite`,
applied to every JSON answer), and `GET /media/{host}/{path}` draws the picture
(`tesoro.simulator.images`): previews at most 640 pixels on the longer side, full photos at
most 1600, GIFs as GIF, video previews as posters, profile pictures as avatars; a video file
itself is not served (404). The demo, the UI and the gallery so show real pictures, and the
media pipeline has something real to fetch.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tesoro.simulator.faults import Fault
from tesoro.simulator.images import avatar, render
from tesoro.simulator.model import BSKY_MEDIA_HOST, PLATFORMS, VIDEO_PLATFORMS, SimMedia
from tesoro.simulator.state import SimState

__all__ = ["MEDIA_HOSTS", "PREVIEW_EDGE", "MediaIndex", "MediaRewrite", "local_media_url", "routes"]

# The hosts the generator's media URLs (and avatars) use.
MEDIA_HOSTS: tuple[str, ...] = (
    "pbs.twimg.com",
    "video.twimg.com",
    "i.redd.it",
    "v.redd.it",
    "preview.redd.it",
    BSKY_MEDIA_HOST,
    "video.bsky.app",
    "files.mastodon.social",
    "scontent.cdninstagram.com",  # Instagram and Threads (Meta's CDN)
    "i.ytimg.com",  # YouTube thumbnails
    "p16-sign-va.tiktokcdn.com",  # TikTok covers
)
PREVIEW_EDGE = 640
FULL_EDGE = 1600
_AVATAR_MARKS = ("/avatar/", "/profile_images/", "/avatars/")


def local_media_url(base: str, url: str) -> str:
    """Where the simulator at `base` serves a media URL of the world (unchanged if not a media host)."""
    for host in MEDIA_HOSTS:
        prefix = f"https://{host}/"
        if url.startswith(prefix):
            return f"{base}/media/{host}/{url[len(prefix) :]}"
    return url


class MediaIndex:
    """Media URL (host + path, no query) -> the media item and whether it is the preview."""

    def __init__(self, state: SimState) -> None:
        self._state = state
        self._index: dict[str, tuple[SimMedia, bool]] = {}
        self._size = -1
        self._lock = threading.Lock()

    @staticmethod
    def _key(url: str) -> str:
        # Decoded, as the route's path parameters are (Bluesky's video URLs quote the did's colons).
        return unquote(url.split("://", 1)[-1].split("?", 1)[0])

    def find(self, host: str, path: str) -> tuple[SimMedia, bool] | None:
        key = unquote(f"{host}/{path}")
        found = self._index.get(key)
        if found is None and len(self._state.world) != self._size:
            self._rebuild()
            found = self._index.get(key)
        return found

    def _rebuild(self) -> None:
        with self._lock:
            size = len(self._state.world)
            index: dict[str, tuple[SimMedia, bool]] = {}
            for platform in (*PLATFORMS, *VIDEO_PLATFORMS):
                for post in self._state.world.posts(platform):
                    for media in post.media:
                        index[self._key(media.url)] = (media, False)
                        index.setdefault(self._key(media.preview_url), (media, True))
            self._index, self._size = index, size


def routes(state: SimState) -> list[BaseRoute]:
    index = MediaIndex(state)

    async def media(request: Request) -> Response:
        # Faults injected on the route "media" (tests): a 429, a 503, or a request held too long.
        fault = state.faults.take("media")
        if fault is Fault.RATE_LIMIT:
            return Response(b"slow down", status_code=429, headers={"Retry-After": "30"})
        if fault is Fault.SERVER_ERROR:
            return Response(b"unavailable", status_code=503)
        if fault is Fault.TIMEOUT:
            await asyncio.sleep(state.timeout_hold_s)
            return Response(b"gateway timeout", status_code=504)
        host = request.path_params["host"]
        path = request.path_params["path"]
        found = index.find(host, path)
        headers = {"Cache-Control": "public, max-age=86400"}
        if found is None:
            if any(mark in f"/{path}" for mark in _AVATAR_MARKS):
                return Response(avatar(f"{host}/{path}"), media_type="image/jpeg", headers=headers)
            return Response(b"not found", status_code=404, media_type="text/plain")
        item, preview = found
        if not preview and item.type == "video":
            return Response(b"video files are not served", status_code=404, media_type="text/plain")
        gif = item.type == "gif" and not preview and item.url.endswith(".gif")
        body = render(
            item.url,
            item.width,
            item.height,
            edge=PREVIEW_EDGE if preview else FULL_EDGE,
            poster=preview and item.type != "photo",
            gif=gif,
        )
        return Response(body, media_type="image/gif" if gif else "image/jpeg", headers=headers)

    return [Route("/media/{host}/{path:path}", media, methods=["GET"])]


class MediaRewrite:
    """Rewrites the world's media URLs in JSON answers to the simulator's media host (see module doc).

    Pure ASGI: the JSON body is collected, rewritten and sent with its new length.
    """

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        base = self.state.media_base
        if scope["type"] != "http" or base is None:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        replacements = _replacements(base)

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                kinds = {k.lower(): v for k, v in message.get("headers", [])}
                if b"json" not in kinds.get(b"content-type", b""):
                    start = None
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            for old, new in replacements:
                body = body.replace(old, new)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)


def _replacements(base: str) -> Sequence[tuple[bytes, bytes]]:
    return [(f"https://{host}/".encode(), f"{base}/media/{host}/".encode()) for host in MEDIA_HOSTS]
