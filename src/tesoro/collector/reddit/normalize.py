"""Reddit listing items (`t3` submissions, `t1` comments) as NormalizedPosts, with their media."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from tesoro.collector.boundary import normalize_guarded
from tesoro.models import (
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Platform,
    PostMetrics,
    RejectedItem,
    content_flags,
)

__all__ = [
    "REDDIT_WEB",
    "is_gone",
    "normalize_all",
    "normalize_comment",
    "normalize_page",
    "normalize_submission",
    "reddit_flags",
    "reddit_media",
]

log = logging.getLogger(__name__)

REDDIT_WEB = "https://www.reddit.com"
_HASHTAG = re.compile(r"(?<![\w#&/])#([^\W\d_]\w*)")
_USER_MENTION = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})")
_GONE = frozenset({"[deleted]", "[removed]"})


def normalize_page(
    children: Sequence[Mapping[str, Any]],
) -> tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...]]:
    """The page's submissions and comments, and the items that could not be used (quarantined with
    the page): a submission without a title, or any item the normaliser fails on. Other kinds and
    comments whose body is gone are no posts and are skipped; one bad item never costs the page."""
    posts: list[NormalizedPost] = []
    rejected: list[RejectedItem] = []
    for child in children:
        data = child.get("data")
        kind = str(child.get("kind"))
        normalize = _NORMALIZERS.get(kind)
        if normalize is None or not isinstance(data, Mapping):
            continue
        got = normalize_guarded(
            Platform.REDDIT, child, data.get("name"), partial(normalize, data), _MALFORMED[kind]
        )
        if isinstance(got, NormalizedPost):
            posts.append(got)
        elif kind == "t3" or got.reason != _MALFORMED[kind]:
            rejected.append(got)
    return tuple(posts), tuple(rejected)


def normalize_all(children: Sequence[Mapping[str, Any]]) -> tuple[NormalizedPost, ...]:
    """Only the posts of `normalize_page` (what a caller that keeps no quarantine wants)."""
    return normalize_page(children)[0]


_MALFORMED = {
    "t3": "malformed submission: no title",
    "t1": "a comment whose body is gone",  # deleted or removed: no post, and nothing to keep
}


def normalize_submission(data: Mapping[str, Any]) -> NormalizedPost | None:
    """One `t3` listing item as a NormalizedPost (`deleted` when its author deleted it or Reddit or
    a moderator removed it: its body reads `[deleted]` or `[removed]`, `removed_by_category` says why).

    A crosspost carries only its own title: the body, the media and the NSFW mark of what it
    shares are in `crosspost_parent_list[0]`, and the post keeps them (the parent's id is its
    `quote_of_id`).
    """
    title = _str(data.get("title")) or ""
    if not title:
        return None
    parent = _crosspost_parent(data)
    selftext = _selftext(data) or (_selftext(parent) if parent else "")
    text = f"{title}\n\n{selftext}" if selftext else title
    media = reddit_media(data) or (reddit_media(parent) if parent else ())
    return NormalizedPost(
        platform=Platform.REDDIT,
        external_id=str(data["name"]),
        text=text,
        created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
        author=_author(data),
        url=_permalink_url(data),
        title=title,
        media=media,
        metrics=PostMetrics(
            likes=_int(data.get("score")),
            reposts=_int(data.get("num_crossposts")),
            replies=_int(data.get("num_comments")),
        ),
        quote_of_id=(_str(data.get("crosspost_parent")) or _str(parent.get("name"))) if parent else None,
        conversation_id=str(data["name"]),
        hashtags=_hashtags(text),
        mentions=_mentions(text),
        content_flags=reddit_flags(data, *([parent] if parent else [])),
        deleted=is_gone(data),
    )


def is_gone(data: Mapping[str, Any]) -> bool:
    """A submission or comment its author deleted, or Reddit or a moderator removed: Reddit still
    lists it, with `[deleted]` or `[removed]` for its body, or `removed_by_category` saying why."""
    body = _str(data.get("selftext")) if "selftext" in data else _str(data.get("body"))
    return body in _GONE or data.get("removed_by_category") is not None


def _selftext(data: Mapping[str, Any]) -> str:
    text = _str(data.get("selftext")) or ""
    return "" if text in _GONE else text


def _crosspost_parent(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The shared submission of a crosspost ({} for any other post)."""
    parents = data.get("crosspost_parent_list")
    if isinstance(parents, Sequence) and not isinstance(parents, str) and parents:
        return _mapping(parents[0])
    return {}


def reddit_flags(*items: Mapping[str, Any]) -> tuple[str, ...]:
    """`over_18` (the post or its subreddit is NSFW) and `spoiler`, of a post and what it shares."""
    flags: set[str] = set()
    for data in items:
        if data.get("over_18") is True:
            flags.add("nsfw")
        if data.get("spoiler") is True:
            flags.add("spoiler")
    return content_flags(flags)


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
        content_flags=reddit_flags(data),
    )


_NORMALIZERS: dict[str, Callable[[Mapping[str, Any]], NormalizedPost | None]] = {
    "t3": normalize_submission,
    "t1": normalize_comment,
}


def _author(data: Mapping[str, Any]) -> NormalizedAuthor:
    """Reddit names every deleted account `[deleted]` (with no `author_fullname`): such an author is
    `gone`, and the store keeps one per post instead of one person owning every deleted account's posts."""
    name = _str(data.get("author")) or "[deleted]"
    gone = name in _GONE
    return NormalizedAuthor(
        platform=Platform.REDDIT,
        external_id=_str(data.get("author_fullname")) or f"name:{name}",
        handle=name,
        profile_url=None if gone else f"{REDDIT_WEB}/user/{name}/",
        gone=gone,
    )


def _permalink_url(data: Mapping[str, Any]) -> str | None:
    permalink = _str(data.get("permalink"))
    return REDDIT_WEB + permalink if permalink and permalink.startswith("/") else None


def reddit_media(data: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    """What a submission shows: a hosted video, a gallery, one previewed image or GIF, or the
    images and videos embedded in a text post's body (`media_metadata` without `gallery_data`)."""
    video = _video(data)
    if video is not None:
        return (video,)
    if data.get("is_gallery"):
        return _gallery(data)
    image = _image(data)
    if image is not None:
        return (image,)
    return _inline_media(data)


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
    media = (
        _metadata_media(_mapping(metadata.get(str(item.get("media_id")))), _str(item.get("caption")))
        for item in items
    )
    return tuple(m for m in media if m is not None)


def _inline_media(data: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    """Images, GIFs and videos placed inside a text post's body, in the order Reddit lists them."""
    metadata = _mapping(data.get("media_metadata"))
    media = (_metadata_media(_mapping(meta), None) for meta in metadata.values())
    return tuple(m for m in media if m is not None)


def _metadata_media(meta: Mapping[str, Any], caption: str | None) -> NormalizedMedia | None:
    """One `media_metadata` entry: `Image`, `AnimatedImage` (`s.gif`/`s.mp4`) or `RedditVideo`."""
    if meta.get("status", "valid") != "valid":
        return None
    kind = meta.get("e")
    previews = [p for p in meta.get("p") or [] if isinstance(p, Mapping)]
    preview = _str(previews[0].get("u")) if previews else None
    if kind == "RedditVideo":
        url = _str(meta.get("hlsUrl")) or _str(meta.get("dashUrl"))
        if not url:
            return None
        return NormalizedMedia(
            type=MediaType.GIF if meta.get("isGif") is True else MediaType.VIDEO,
            url=url,
            preview_url=preview,
            width=_opt_int(meta.get("x")),
            height=_opt_int(meta.get("y")),
            alt_text=caption,
        )
    source = _mapping(meta.get("s"))
    animated = kind == "AnimatedImage"
    url = (_str(source.get("gif")) or _str(source.get("mp4"))) if animated else _str(source.get("u"))
    if not url:
        return None
    return NormalizedMedia(
        type=MediaType.GIF if animated else MediaType.PHOTO,
        url=url,
        preview_url=preview,
        width=_opt_int(source.get("x")),
        height=_opt_int(source.get("y")),
        alt_text=caption,
    )


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
