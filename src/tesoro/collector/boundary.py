"""The collector boundary: the one place every collected post is made safe to store, or refused.

Every path into the store passes each post through `check_post`: the runner for every
platform's pages, the file source and `tesoro import` (the file parser calls it per row, so a
refusal keeps its line number). It repairs what can be repaired without changing meaning and
refuses the rest with a reason a person can act on:

- text: NUL characters are stripped (PostgreSQL cannot store them) and lone surrogates (a
  half of a UTF-16 pair, which no database can encode) become U+FFFD; long text is cut;
- ids and handles longer than `MAX_ID` / `MAX_HANDLE` are refused (cutting them could merge
  two posts); optional URLs longer than `MAX_URL` are dropped, a media URL that long refuses
  the post (its media is the point of it);
- counts: a post's metrics must be whole numbers in 0..2**63-1 (refused otherwise); optional
  metadata out of range (an author's followers, a width of 2**40) is dropped;
- dates: `created_at` must fall between `EARLIEST` and now plus `FUTURE_SKEW`; a time inside
  the skew allowance is clamped to now, a later one (2099-01-01) is refused as in the future.

A refused item goes to quarantine (`store.quarantine`) with its reason; the rest of its page
is stored and the cursor moves on, so one hostile post never stops a source.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from tesoro.models import (
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Page,
    Platform,
    PostMetrics,
    RejectedItem,
)

__all__ = [
    "EARLIEST",
    "FUTURE_SKEW",
    "MAX_HANDLE",
    "MAX_ID",
    "MAX_TEXT",
    "MAX_URL",
    "Refused",
    "check_post",
    "clean_text",
    "is_finite_number",
    "normalize_guarded",
    "normalize_items",
    "post_from_json",
    "post_to_json",
    "rejected_payload",
    "rejected_post",
    "screen",
]

MAX_ID = 256
MAX_HANDLE = 256
MAX_NAME = 512
MAX_URL = 2048
MAX_TEXT = 40_000
MAX_TITLE = 2_000
MAX_LONG = 10_000  # bios, alt texts and any other free text
MAX_LANG = 35
MAX_TAG = 256
MAX_TAGS = 200
MAX_REASON = 1_000
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
MAX_PIXELS = 100_000  # a width or height beyond this is not a real picture
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(minutes=5)


class Refused(ValueError):
    """Why a post cannot be stored even after repair; the message is shown in quarantine."""


def clean_text(value: str) -> str:
    """`value` without NUL characters and with every lone surrogate replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value.isascii():  # most ids, URLs and handles: no surrogate can be in it
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A well-formed pair stays one character; a lone half becomes the replacement character.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def _shown(value: Any, limit: int = 60) -> str:
    """A value for a reason: printable ASCII, cut (a reason must itself be safe to store and show)."""
    try:
        text = ascii(value)
    except ValueError:  # an int of more than 4300 digits has no text
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _required_str(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise Refused(f"`{name}` must be text, got {_shown(value)}")
    text = clean_text(value).strip()
    if not text:
        raise Refused(f"`{name}` is empty")
    if len(text) > limit:
        raise Refused(f"`{name}` is {len(text)} characters long (at most {limit})")
    return text


def _optional_str(value: Any, limit: int, *, cut: bool = True) -> str | None:
    """Free text is cut at `limit`; a reference (`cut=False`: an id, a URL, a code) longer is dropped."""
    if not isinstance(value, str):
        return None
    text = clean_text(value)
    if len(text) > limit:
        return text[:limit] if cut else None
    return text


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(f"`{name}` must be a whole number, got {_shown(value)}")
    if not 0 <= value <= INT64_MAX:
        raise Refused(f"`{name}` is out of range: {_shown(value)} (0 to 2**63-1)")
    return value


def _optional_int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _created_at(value: Any, now: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise Refused(f"`created_at` must be a date and time, got {_shown(value)}")
    at: datetime = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if at < EARLIEST:
        raise Refused(f"`created_at` {at.isoformat()} is before {EARLIEST.date().isoformat()}")
    if at > now + FUTURE_SKEW:
        raise Refused(
            f"`created_at` {at.isoformat()} is in the future (now is {now.isoformat(timespec='seconds')};"
            f" at most {int(FUTURE_SKEW.total_seconds())} s of clock skew is accepted)"
        )
    return min(at, now)


def _tags(values: Any) -> tuple[str, ...]:
    if not isinstance(values, tuple | list):
        return ()
    kept = (_optional_str(v, MAX_TAG, cut=False) for v in values)
    return tuple(v for v in kept if v)[:MAX_TAGS]


def _author(author: Any, platform: Platform) -> NormalizedAuthor:
    if not isinstance(author, NormalizedAuthor):
        raise Refused("the post has no author")
    handle = _required_str(author.handle, "author handle", MAX_HANDLE)
    return dataclasses.replace(
        author,
        platform=platform,
        external_id=_required_str(author.external_id, "author id", MAX_ID),
        handle=handle,
        display_name=_optional_str(author.display_name, MAX_NAME),
        followers=_optional_int(author.followers, 0, INT64_MAX),
        following=_optional_int(author.following, 0, INT64_MAX),
        verified=author.verified is True,
        profile_url=_optional_str(author.profile_url, MAX_URL, cut=False),
        avatar_url=_optional_str(author.avatar_url, MAX_URL, cut=False),
        bio=_optional_str(author.bio, MAX_LONG),
    )


def _media(item: Any, i: int) -> NormalizedMedia:
    if not isinstance(item, NormalizedMedia) or not isinstance(item.type, MediaType):
        raise Refused(f"`media[{i}]` is not a photo, video or gif")
    url = _required_str(item.url, f"media[{i}].url", MAX_URL)
    if len(url.encode("utf-8")) > MAX_URL:  # indexed: PostgreSQL limits an index entry's bytes
        raise Refused(
            f"`media[{i}].url` is {len(url.encode('utf-8'))} bytes long in UTF-8 (at most {MAX_URL})"
        )
    if not url.startswith(("http://", "https://")):
        raise Refused(f"`media[{i}].url` is not an http(s) URL")
    return dataclasses.replace(
        item,
        url=url,
        preview_url=_optional_str(item.preview_url, MAX_URL, cut=False),
        width=_optional_int(item.width, 1, MAX_PIXELS),
        height=_optional_int(item.height, 1, MAX_PIXELS),
        duration_ms=_optional_int(item.duration_ms, 0, INT32_MAX),
        size_bytes=_optional_int(item.size_bytes, 0, INT64_MAX),
        alt_text=_optional_str(item.alt_text, MAX_LONG),
    )


def _metrics(metrics: Any) -> PostMetrics:
    if not isinstance(metrics, PostMetrics):
        raise Refused("the post's metrics are missing")
    views = None if metrics.views is None else _count(metrics.views, "views")
    return PostMetrics(
        likes=_count(metrics.likes, "likes"),
        reposts=_count(metrics.reposts, "reposts"),
        replies=_count(metrics.replies, "replies"),
        quotes=_count(metrics.quotes, "quotes"),
        views=views,
    )


# Fields every post has, checked by name; any other field (added later) is cleaned by its type.
_CHECKED = {
    "platform",
    "external_id",
    "text",
    "created_at",
    "author",
    "lang",
    "url",
    "title",
    "media",
    "metrics",
    "reply_to_id",
    "quote_of_id",
    "conversation_id",
    "hashtags",
    "mentions",
}


# The fields added to NormalizedPost after the rules above were written, cleaned by `_other`.
_UNCHECKED = tuple(f.name for f in dataclasses.fields(NormalizedPost) if f.name not in _CHECKED)


def _other(value: Any) -> Any:
    """A field the boundary has no rule for: its text is cleaned and capped, anything else kept."""
    if isinstance(value, str):
        return _optional_str(value, MAX_LONG)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        kept = (_optional_str(v, MAX_ID, cut=False) for v in value)  # flags, ids: one too long is dropped
        return tuple(v for v in kept if v)
    return value


def check_post(post: NormalizedPost, *, now: datetime | None = None) -> NormalizedPost:
    """`post` made safe to store (see the module docstring), or `Refused` with the reason."""
    now = now or datetime.now(UTC)
    if not isinstance(post, NormalizedPost):
        raise Refused(f"not a post: {type(post).__name__}")
    try:
        platform = Platform(post.platform)
    except ValueError:
        raise Refused(f"unknown platform {_shown(post.platform)}") from None
    if not isinstance(post.text, str):
        raise Refused(f"`text` must be text, got {_shown(post.text)}")
    if not isinstance(post.media, tuple | list):
        raise Refused("`media` must be a list")
    changes: dict[str, Any] = {
        "platform": platform,
        "external_id": _required_str(post.external_id, "id", MAX_ID),
        "text": clean_text(post.text)[:MAX_TEXT],
        "created_at": _created_at(post.created_at, now),
        "author": _author(post.author, platform),
        "lang": _optional_str(post.lang, MAX_LANG, cut=False),
        "url": _optional_str(post.url, MAX_URL, cut=False),
        "title": _optional_str(post.title, MAX_TITLE),
        "media": tuple(_media(m, i) for i, m in enumerate(post.media)),
        "metrics": _metrics(post.metrics),
        "reply_to_id": _optional_str(post.reply_to_id, MAX_ID, cut=False),
        "quote_of_id": _optional_str(post.quote_of_id, MAX_ID, cut=False),
        "conversation_id": _optional_str(post.conversation_id, MAX_ID, cut=False),
        "hashtags": _tags(post.hashtags),
        "mentions": _tags(post.mentions),
    }
    for name in _UNCHECKED:
        changes[name] = _other(getattr(post, name))
    return dataclasses.replace(post, **changes)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return repr(value)


def post_to_json(post: NormalizedPost) -> dict[str, Any]:
    """A post as JSON values (the quarantine's `raw` for a refused post)."""
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(post), default=_json_default))
    return data


def _build(cls: Any, data: Any, **nested: Any) -> Any:
    if not isinstance(data, Mapping):
        raise Refused(f"cannot rebuild {cls.__name__}: not an object")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name in nested:
            value = nested[f.name](value)
        elif isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise Refused(f"cannot rebuild {cls.__name__}: {exc}") from None


def _datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _media_list(value: Any) -> tuple[NormalizedMedia, ...]:
    items = value if isinstance(value, list) else []
    return tuple(_build(NormalizedMedia, m, type=_media_type) for m in items)


def _media_type(value: Any) -> Any:
    try:
        return MediaType(value)
    except ValueError:
        return value


def _platform(value: Any) -> Any:
    try:
        return Platform(value)
    except ValueError:
        return value


def post_from_json(data: Any) -> NormalizedPost:
    """The post `post_to_json` wrote (not yet checked: pass it to `check_post`), or `Refused`."""
    post: NormalizedPost = _build(
        NormalizedPost,
        data,
        platform=_platform,
        created_at=_datetime,
        author=lambda a: _build(NormalizedAuthor, a, platform=_platform),
        media=_media_list,
        metrics=lambda m: _build(PostMetrics, m),
    )
    return post


def rejected_post(post: NormalizedPost, reason: str) -> RejectedItem:
    """A post the boundary refused, as a quarantine item that can rebuild it."""
    external_id = getattr(post, "external_id", None)
    try:
        raw: Any = post_to_json(post)
    except Exception:  # not a dataclass after all: keep what it looks like
        raw = repr(post)
    return RejectedItem(
        platform=str(getattr(post, "platform", "")),
        external_id=external_id if isinstance(external_id, str) else None,
        raw=raw,
        reason=reason,
        kind="post",
    )


def rejected_payload(platform: Platform, item: Any, external_id: Any, reason: str) -> RejectedItem:
    """A platform item its normaliser could not use (malformed, or a shape nobody foresaw).

    Kept as `kind` "payload": a retry cannot rebuild it (that needs the platform's context: the
    page's users, media, profiles); the platform serves it again if it changes.
    """
    return RejectedItem(
        platform=platform.value,
        external_id=external_id if isinstance(external_id, str) else None,
        raw=item,
        reason=reason,
        kind="payload",
    )


def normalize_guarded(
    platform: Platform,
    item: Any,
    external_id: Any,
    normalize: Callable[[], NormalizedPost | None],
    malformed: str,
) -> NormalizedPost | RejectedItem:
    """`normalize()` for one platform item: its post, or why not (`malformed` when it returned None,
    the exception when it raised) as a rejected item, so one item never costs its page."""
    try:
        post = normalize()
    except Exception as exc:  # an unforeseen shape costs this item, not the page
        reason = (
            f"the {platform.value} normaliser failed on it: {type(exc).__name__}: {_shown(str(exc), 300)}"
        )
        return rejected_payload(platform, item, external_id, reason)
    return post if post is not None else rejected_payload(platform, item, external_id, malformed)


def normalize_items(
    platform: Platform,
    items: Iterable[Any],
    *,
    id_key: str,
    normalize: Callable[[Mapping[str, Any]], NormalizedPost | None],
    malformed: str,
    not_an_object: str,
) -> tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...]]:
    """A page of JSON objects as posts and rejected items: each through `normalize_guarded`, anything
    that is not an object refused with `not_an_object`, so one bad item never costs its page."""
    posts: list[NormalizedPost] = []
    rejected: list[RejectedItem] = []
    for item in items:
        if not isinstance(item, Mapping):
            rejected.append(rejected_payload(platform, item, None, not_an_object))
            continue
        got = normalize_guarded(platform, item, item.get(id_key), partial(normalize, item), malformed)
        if isinstance(got, NormalizedPost):
            posts.append(got)
        else:
            rejected.append(got)
    return tuple(posts), tuple(rejected)


def screen(
    page: Page, *, now: datetime | None = None
) -> tuple[tuple[NormalizedPost, ...], tuple[RejectedItem, ...]]:
    """A page's posts that pass the boundary, and its refused items (the adapter's and ours)."""
    now = now or datetime.now(UTC)
    kept: list[NormalizedPost] = []
    rejected: list[RejectedItem] = list(page.rejected)
    for post in page.posts:
        try:
            kept.append(check_post(post, now=now))
        except Refused as exc:
            rejected.append(rejected_post(post, str(exc)))
        except Exception as exc:  # a bug here must cost one post, never the page
            rejected.append(rejected_post(post, f"the boundary failed: {type(exc).__name__}: {exc}"))
    return tuple(kept), tuple(rejected)


def is_finite_number(value: Any) -> bool:
    """True for an int or a finite float (a NaN or an infinity is never a count or a time)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
