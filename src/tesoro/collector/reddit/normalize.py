"""Reddit listing items (`t3` submissions, `t1` comments) as NormalizedPosts, with their media."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tesoro.models import MediaType, NormalizedAuthor, NormalizedMedia, NormalizedPost, Platform, PostMetrics

__all__ = ["REDDIT_WEB", "normalize_all", "normalize_comment", "normalize_submission", "reddit_media"]

log = logging.getLogger(__name__)

REDDIT_WEB = "https://www.reddit.com"
_HASHTAG = re.compile(r"(?<![\w#&/])#([^\W\d_]\w*)")
_USER_MENTION = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})")
_GONE = frozenset({"[deleted]", "[removed]"})


def normalize_all(children: Sequence[Mapping[str, Any]]) -> tuple[NormalizedPost, ...]:
    """The page's submissions and comments; other kinds are skipped and a malformed item is logged and
    skipped, so one bad item never costs the rest of the page."""
    posts: list[NormalizedPost] = []
    for child in children:
        data = child.get("data")
        if not isinstance(data, Mapping):
            continue
        normalize = _NORMALIZERS.get(str(child.get("kind")))
        if normalize is None:
            continue
        try:
            post = normalize(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("skipping malformed Reddit item %r: %s", data.get("name"), exc)
            continue
        if post is not None:
            posts.append(post)
    return tuple(posts)


def normalize_submission(data: Mapping[str, Any]) -> NormalizedPost | None:
    """One `t3` listing item as a NormalizedPost; None when it was deleted or removed."""
    title = _str(data.get("title")) or ""
    selftext = _str(data.get("selftext")) or ""
    if selftext in _GONE:
        selftext = ""
    if not title:
        return None
    text = f"{title}\n\n{selftext}" if selftext else title
    return NormalizedPost(
        platform=Platform.REDDIT,
        external_id=str(data["name"]),
        text=text,
        created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
        author=_author(data),
        url=_permalink_url(data),
        title=title,
        media=reddit_media(data),
        metrics=PostMetrics(
            likes=_int(data.get("score")),
            reposts=_int(data.get("num_crossposts")),
            replies=_int(data.get("num_comments")),
        ),
        conversation_id=str(data["name"]),
        hashtags=_hashtags(text),
        mentions=_mentions(text),
    )


def normalize_comment(data: Mapping[str, Any]) -> NormalizedPost | None:
    """One `t1` listing item; `reply_to_id` is its parent, `conversation_id` its submission."""
    body = _str(data.get("body")) or ""
    if not body or body in _GONE:
        return None
    return NormalizedPost(
        platform=Platform.REDDIT,
        external_id=str(data["name"]),
        text=body,
        created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
        author=_author(data),
        url=_permalink_url(data),
        metrics=PostMetrics(likes=_int(data.get("score"))),
        reply_to_id=_str(data.get("parent_id")) or _str(data.get("link_id")),
        conversation_id=_str(data.get("link_id")),
        hashtags=_hashtags(body),
        mentions=_mentions(body),
    )


_NORMALIZERS: dict[str, Callable[[Mapping[str, Any]], NormalizedPost | None]] = {
    "t3": normalize_submission,
    "t1": normalize_comment,
}


def _author(data: Mapping[str, Any]) -> NormalizedAuthor:
    name = _str(data.get("author")) or "[deleted]"
    gone = name in _GONE
    return NormalizedAuthor(
        platform=Platform.REDDIT,
        external_id=_str(data.get("author_fullname")) or f"name:{name}",
        handle=name,
        profile_url=None if gone else f"{REDDIT_WEB}/user/{name}/",
    )


def _permalink_url(data: Mapping[str, Any]) -> str | None:
    permalink = _str(data.get("permalink"))
    return REDDIT_WEB + permalink if permalink and permalink.startswith("/") else None


def reddit_media(data: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    """What a submission shows: a hosted video, a gallery, or one previewed image or GIF."""
    video = _video(data)
    if video is not None:
        return (video,)
    if data.get("is_gallery"):
        return _gallery(data)
    image = _image(data)
    return (image,) if image is not None else ()


def _video(data: Mapping[str, Any]) -> NormalizedMedia | None:
    holder = _mapping(data.get("secure_media")) or _mapping(data.get("media"))
    video = _mapping(holder.get("reddit_video"))
    url = _str(video.get("fallback_url"))
    if not url:
        return None
    duration = _opt_int(video.get("duration"))
    return NormalizedMedia(
        type=MediaType.GIF if video.get("is_gif") else MediaType.VIDEO,
        url=url,
        preview_url=_preview_source(data),
        width=_opt_int(video.get("width")),
        height=_opt_int(video.get("height")),
        duration_ms=duration * 1000 if duration is not None else None,
    )


def _gallery(data: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    metadata = _mapping(data.get("media_metadata"))
    items = [i for i in _mapping(data.get("gallery_data")).get("items") or [] if isinstance(i, Mapping)]
    media: list[NormalizedMedia] = []
    for item in items:
        meta = _mapping(metadata.get(str(item.get("media_id"))))
        if meta.get("status", "valid") != "valid":
            continue
        source = _mapping(meta.get("s"))
        animated = meta.get("e") == "AnimatedImage"
        url = (_str(source.get("gif")) or _str(source.get("mp4"))) if animated else _str(source.get("u"))
        if not url:
            continue
        previews = [p for p in meta.get("p") or [] if isinstance(p, Mapping)]
        media.append(
            NormalizedMedia(
                type=MediaType.GIF if animated else MediaType.PHOTO,
                url=url,
                preview_url=_str(previews[0].get("u")) if previews else None,
                width=_opt_int(source.get("x")),
                height=_opt_int(source.get("y")),
                alt_text=_str(item.get("caption")),
            )
        )
    return tuple(media)


def _image(data: Mapping[str, Any]) -> NormalizedMedia | None:
    if data.get("post_hint") != "image":
        return None
    images = [i for i in _mapping(data.get("preview")).get("images") or [] if isinstance(i, Mapping)]
    if not images:
        return None
    first = images[0]
    source = _mapping(first.get("source"))
    gif = _mapping(_mapping(_mapping(first.get("variants")).get("gif")).get("source"))
    resolutions = [r for r in first.get("resolutions") or [] if isinstance(r, Mapping)]
    url = _str(gif.get("url")) if gif else (_str(data.get("url")) or _str(source.get("url")))
    if not url:
        return None
    return NormalizedMedia(
        type=MediaType.GIF if gif else MediaType.PHOTO,
        url=url,
        preview_url=_str(resolutions[0].get("url")) if resolutions else _str(source.get("url")),
        width=_opt_int(source.get("width")),
        height=_opt_int(source.get("height")),
    )


def _preview_source(data: Mapping[str, Any]) -> str | None:
    images = [i for i in _mapping(data.get("preview")).get("images") or [] if isinstance(i, Mapping)]
    return _str(_mapping(images[0].get("source")).get("url")) if images else None


def _hashtags(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_HASHTAG.findall(text)))


def _mentions(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_USER_MENTION.findall(text)))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _int(value: Any) -> int:
    return _opt_int(value) or 0
