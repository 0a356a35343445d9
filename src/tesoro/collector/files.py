"""File imports: JSONL or CSV backfills of posts, as a collector and for `tesoro import`.

A bad row never stops an import: it is reported with its line number and the
reason, and every good row is kept. The cursor is the byte offset after the last
row of a page, so a file source resumes where it stopped and a file that grows
(an export appended to daily) is read incrementally.

Row fields (JSONL objects or CSV columns; see the README for the full table):
`id` (or `external_id`), `text`, `created_at` (ISO 8601 or epoch seconds),
`author_handle` (or an `author` object with `handle`), and optionally `platform`
(default `file`), `lang`, `url`, `title`, `author_id`, `author_name`,
`author_followers`, `author_following`, `likes`, `reposts`, `replies`, `quotes`,
`views`, `hashtags`, `media` (list of `{type, url, ...}`) or `media_type` + `media_url`, and for
`tesoro import` `brand` (a configured brand's name).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tesoro.collector.boundary import Refused, check_post
from tesoro.models import (
    Cursor,
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Page,
    Platform,
    PostMetrics,
    RejectedItem,
)
from tesoro.text.lang import primary_language

__all__ = ["BadRow", "FileCollector", "RowError", "parse_row"]

log = logging.getLogger(__name__)

_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)
_MENTION = re.compile(r"(?<![\w@])@(\w[\w.]*)", re.UNICODE)
_MAX_TEXT = 40_000
_GONE_HANDLES = frozenset({"[deleted]", "[removed]", "[suspended]"})
_MEDIA_TYPES = {
    "photo": MediaType.PHOTO,
    "image": MediaType.PHOTO,
    "video": MediaType.VIDEO,
    "gif": MediaType.GIF,
    "animated_gif": MediaType.GIF,
}


class RowError(ValueError):
    """Why one row was refused; the importer pairs it with the line number."""


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str


def _text_field(row: Mapping[str, Any], *names: str, required: bool = False) -> str | None:
    for name in names:
        value = row.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise RowError(f"`{name}` must be a string")
        return value
    if required:
        raise RowError(f"`{names[0]}` is missing")
    return None


def _count(row: Mapping[str, Any], name: str) -> int | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RowError(f"`{name}` must be a whole number, got {value!r}")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise RowError(f"`{name}` must be a whole number, got {value!r}")
    if number < 0:
        raise RowError(f"`{name}` cannot be negative ({number})")
    return number


def _epoch(value: float, shown: Any) -> datetime:
    # NaN, an infinity or 1e20 seconds is no time at all (fromtimestamp raises three ways).
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise RowError(f"`created_at` is not a time: {ascii(shown)[:60]}") from None


def _timestamp(value: Any) -> datetime:
    if value is None or value == "":
        raise RowError("`created_at` is missing")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _epoch(float(value), value)
    if not isinstance(value, str):
        raise RowError(f"`created_at` must be an ISO 8601 date, got {ascii(value)[:60]}")
    text = value.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
        return _epoch(float(text), value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError(f"`created_at` is not an ISO 8601 date: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _platform(row: Mapping[str, Any]) -> Platform:
    name = _text_field(row, "platform") or "file"
    try:
        return Platform(name.strip().lower())
    except ValueError as exc:
        known = ", ".join(p.value for p in Platform)
        raise RowError(f"unknown platform {name!r} (known: {known})") from exc


def _author(row: Mapping[str, Any], platform: Platform) -> NormalizedAuthor:
    nested = row.get("author")
    if isinstance(nested, Mapping):
        source: Mapping[str, Any] = {f"author_{k}": v for k, v in nested.items()}
    elif isinstance(nested, str) and nested:
        source = {"author_handle": nested}
    elif nested not in (None, ""):
        raise RowError("`author` must be an object or a handle")
    else:
        source = row
    handle = _text_field(source, "author_handle", "author_username", required=True)
    assert handle is not None
    handle = handle.lstrip("@")
    # An export names a deleted account by a placeholder ("[deleted]"): such an author is `gone`,
    # stored once per post, never one person owning every deleted account's posts.
    gone = handle.casefold() in _GONE_HANDLES
    return NormalizedAuthor(
        platform=platform,
        external_id=_text_field(source, "author_id") or handle.casefold(),
        handle=handle,
        display_name=_text_field(source, "author_name", "author_display_name"),
        followers=_count(source, "author_followers"),
        following=_count(source, "author_following"),
        verified=bool(source.get("author_verified") in (True, "true", "1", 1)),
        profile_url=_http(source.get("author_url"), "author_url"),
        avatar_url=_http(source.get("author_avatar"), "author_avatar"),
        gone=gone,
    )


def _http(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise RowError(f"`{name}` must be an http(s) URL")
    return value


def _media(row: Mapping[str, Any]) -> tuple[NormalizedMedia, ...]:
    items: list[Any]
    raw = row.get("media")
    if isinstance(raw, list):
        items = raw
    elif raw in (None, ""):
        items = [{"type": row.get("media_type"), "url": row.get("media_url")}] if row.get("media_url") else []
    else:
        raise RowError("`media` must be a list of objects")
    media: list[NormalizedMedia] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise RowError(f"`media[{i}]` must be an object")
        kind = _MEDIA_TYPES.get(str(item.get("type") or "photo").lower())
        if kind is None:
            raise RowError(f"`media[{i}].type` must be photo, video or gif")
        url = _http(item.get("url"), f"media[{i}].url")
        if url is None:
            raise RowError(f"`media[{i}].url` is missing")
        media.append(
            NormalizedMedia(
                type=kind,
                url=url,
                preview_url=_http(item.get("preview_url"), f"media[{i}].preview_url"),
                width=_count(item, "width"),
                height=_count(item, "height"),
                duration_ms=_count(item, "duration_ms"),
                size_bytes=_count(item, "size_bytes"),
                alt_text=_text_field(item, "alt_text"),
            )
        )
    return tuple(media)


def _tags(row: Mapping[str, Any], text: str) -> tuple[str, ...]:
    raw = row.get("hashtags")
    if isinstance(raw, list):
        return tuple(str(t).lstrip("#") for t in raw)
    if isinstance(raw, str) and raw.strip():
        return tuple(t.lstrip("#") for t in re.split(r"[\s,;]+", raw.strip()) if t)
    return tuple(_HASHTAG.findall(text))


def parse_row(row: Mapping[str, Any]) -> NormalizedPost:
    """One JSONL object or CSV record -> a normalized post, or `RowError` with the reason."""
    platform = _platform(row)
    external_id = _text_field(row, "id", "external_id", required=True)
    text = _text_field(row, "text", required=True)
    assert external_id is not None and text is not None
    if not text.strip():
        raise RowError("`text` is empty")
    if len(text) > _MAX_TEXT:
        raise RowError(f"`text` is longer than {_MAX_TEXT} characters")
    metrics = PostMetrics(
        likes=_count(row, "likes") or 0,
        reposts=_count(row, "reposts") or 0,
        replies=_count(row, "replies") or 0,
        quotes=_count(row, "quotes") or 0,
        views=_count(row, "views"),
    )
    return NormalizedPost(
        platform=platform,
        external_id=external_id.strip(),
        text=text,
        created_at=_timestamp(row.get("created_at")),
        author=_author(row, platform),
        lang=primary_language(_text_field(row, "lang")),
        url=_http(row.get("url"), "url"),
        title=_text_field(row, "title"),
        media=_media(row),
        metrics=metrics,
        reply_to_id=_text_field(row, "reply_to_id"),
        hashtags=_tags(row, text),
        mentions=tuple(_MENTION.findall(text)),
    )


def _row_platform(row: Any) -> str:
    value = row.get("platform") if isinstance(row, Mapping) else None
    return value.strip().lower()[:32] if isinstance(value, str) and value.strip() else Platform.FILE.value


def _row_id(row: Any) -> str | None:
    if not isinstance(row, Mapping):
        return None
    value = row.get("id", row.get("external_id"))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**30:
        return str(value)
    return value if isinstance(value, str) else None


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() in {".csv", ".tsv"}


class FileCollector:
    """Reads a JSONL or CSV file in pages of `page_size` rows, resumable by byte offset."""

    platform = Platform.FILE

    def __init__(
        self,
        *,
        path: Path,
        page_size: int = 1000,
        on_bad_row: Callable[[BadRow], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        brands: Sequence[str] | None = None,
    ) -> None:
        """`brands`: the configured brand names a row's `brand` may name (the importer's); the
        brand of each row read that names one is in `row_brands` until the caller clears it."""
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        self.path = path
        self.page_size = page_size
        self.on_bad_row = on_bad_row or (lambda bad: log.warning("%s:%d: %s", path, bad.line, bad.reason))
        self.on_progress = on_progress
        self.brands = list(brands) if brands is not None else None
        self.row_brands: dict[tuple[str, str], str] = {}

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        offset = int((cursor or {}).get("offset", 0))
        line = int((cursor or {}).get("line", 0))
        is_csv = _is_csv(self.path)
        with self.path.open("rb") as handle:
            header = self._csv_header(handle) if is_csv else None
            if header is not None and offset == 0:
                offset, line = handle.tell(), 1
            handle.seek(offset)
            yielded_at = offset
            batch: list[NormalizedPost] = []
            rejected: list[RejectedItem] = []
            while raw := self._record(handle, is_csv):
                if not raw.endswith(b"\n") and not is_csv and self._incomplete(raw):
                    break  # a half-written last line (the file is still being appended): next run
                first_line = line + 1
                line += raw.count(b"\n") or 1
                offset = handle.tell()
                parsed = self._parse(raw, first_line, header)
                if isinstance(parsed, NormalizedPost):
                    batch.append(parsed)
                elif parsed is not None:
                    rejected.append(parsed)
                if len(batch) + len(rejected) >= self.page_size:
                    yield self._page(batch, rejected, offset, line)
                    batch, rejected, yielded_at = [], [], offset
            if batch or rejected or offset != yielded_at:
                yield self._page(batch, rejected, offset, line)

    @staticmethod
    def _record(handle: io.BufferedReader, is_csv: bool) -> bytes:
        """One JSONL line, or one CSV record (which may span lines inside quotes)."""
        raw = handle.readline()
        while is_csv and raw and raw.count(b'"') % 2 == 1:
            more = handle.readline()
            if not more:
                break
            raw += more
        return raw

    def _page(
        self, batch: list[NormalizedPost], rejected: list[RejectedItem], offset: int, line: int
    ) -> Page:
        if self.on_progress is not None:
            self.on_progress(offset)
        return Page(posts=tuple(batch), cursor={"offset": offset, "line": line}, rejected=tuple(rejected))

    @staticmethod
    def _incomplete(raw: bytes) -> bool:
        try:
            json.loads(raw)
        except ValueError:
            return True
        return False

    @staticmethod
    def _csv_header(handle: io.BufferedReader) -> list[str] | None:
        first = handle.readline().decode("utf-8-sig")
        fields = next(csv.reader([first]), [])
        return [f.strip() for f in fields] if fields else None

    def _parse(self, raw: bytes, line: int, header: list[str] | None) -> NormalizedPost | RejectedItem | None:
        """A row's post through the collector boundary, or its rejection (reported and quarantined)."""
        text = raw.decode("utf-8", "replace")
        row: Any = text
        try:
            text = raw.decode("utf-8-sig" if line == 1 else "utf-8")
            if not text.strip():
                return None
            row = self._row(text, header)
            post = check_post(parse_row(row))
            self._row_brand(row, post)
            return post
        except UnicodeDecodeError:
            reason = "not UTF-8 text"
        except (RowError, Refused) as exc:
            reason = str(exc)
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON ({exc.msg} at column {exc.colno})"
        except Exception as exc:  # a parser bug costs this row, never the file
            log.exception("%s:%d: unexpected error", self.path, line)
            reason = f"could not read the row: {type(exc).__name__}"
        self.on_bad_row(BadRow(line, reason))
        return RejectedItem(
            platform=_row_platform(row),
            external_id=_row_id(row),
            raw=row,
            reason=reason,
            kind="row",
            line=line,
        )

    def _row_brand(self, row: Mapping[str, Any], post: NormalizedPost) -> None:
        """Remember the row's own `brand` for the importer (only when it passes `brands`)."""
        if self.brands is None:
            return
        name = _text_field(row, "brand")
        if name is None or not name.strip():
            return
        name = name.strip()
        if name not in self.brands:
            known = ", ".join(self.brands) or "none configured"
            raise RowError(f"unknown brand {name!r} (brands: {known})")
        self.row_brands[(post.platform.value, post.external_id)] = name

    @staticmethod
    def _row(text: str, header: list[str] | None) -> Mapping[str, Any]:
        if header is None:
            row = json.loads(text)
            if not isinstance(row, dict):
                raise RowError("each line must be a JSON object")
            return row
        values = next(csv.reader([text]), [])
        if len(values) != len(header):
            raise RowError(f"expected {len(header)} columns, found {len(values)}")
        return dict(zip(header, values, strict=True))
