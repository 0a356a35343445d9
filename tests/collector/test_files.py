"""File imports: good rows kept, bad rows reported with line and reason, re-import adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tesoro.collector.files import BadRow, FileCollector, RowError, parse_row
from tesoro.collector.importer import import_file
from tesoro.models import MediaType, Platform
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts, get_post, media_for

GOOD = {
    "id": "1",
    "text": "Unboxing my #Cumbre today",
    "created_at": "2026-11-01T10:00:00Z",
    "author_handle": "@ana",
    "platform": "x",
    "likes": 5,
}


def jsonl(tmp_path: Path, rows: list[object], name: str = "posts.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_parse_row_flat_and_nested_author() -> None:
    flat = parse_row(GOOD)
    nested = parse_row(
        {
            **GOOD,
            "author_handle": None,
            "author": {"handle": "ana", "id": "42", "followers": 10, "name": "Ana"},
        }
    )
    assert flat.platform is Platform.X and flat.author.handle == "ana" and flat.metrics.likes == 5
    assert flat.hashtags == ("Cumbre",)
    assert nested.author.external_id == "42" and nested.author.followers == 10
    assert flat.created_at.tzinfo is not None


def test_parse_row_media_forms() -> None:
    listed = parse_row(
        {**GOOD, "media": [{"type": "video", "url": "https://v.redd.it/a.mp4", "duration_ms": 3000}]}
    )
    flat = parse_row({**GOOD, "media_type": "photo", "media_url": "https://i.redd.it/a.jpg"})
    assert listed.media[0].type is MediaType.VIDEO and listed.media[0].duration_ms == 3000
    assert flat.media[0].url == "https://i.redd.it/a.jpg"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"text": ""}, "`text` is missing"),
        ({"text": "   "}, "`text` is empty"),
        ({"id": None}, "`id` is missing"),
        ({"created_at": "yesterday"}, "not an ISO 8601 date"),
        ({"created_at": None}, "`created_at` is missing"),
        ({"author_handle": None}, "`author_handle` is missing"),
        ({"likes": -3}, "cannot be negative"),
        ({"likes": "many"}, "whole number"),
        ({"platform": "myspace"}, "unknown platform 'myspace'"),
        ({"url": "javascript:alert(1)"}, "`url` must be an http(s) URL"),
        ({"media": [{"type": "hologram", "url": "https://x/y"}]}, "photo, video or gif"),
        ({"media": [{"type": "photo", "url": "data:image/png;base64,AA"}]}, "http(s) URL"),
        ({"media": "a picture"}, "`media` must be a list"),
    ],
)
def test_parse_row_refuses_bad_rows(change: dict[str, object], reason: str) -> None:
    with pytest.raises(RowError) as info:
        parse_row({**GOOD, **change})
    assert reason in str(info.value)


def test_import_reports_bad_rows_by_line_and_keeps_good_ones(tmp_path: Path, engine: Engine) -> None:
    path = jsonl(
        tmp_path,
        [
            GOOD,
            "{not json",
            {**GOOD, "id": "2", "created_at": "not a date"},
            "[1, 2, 3]",
            "",
            {**GOOD, "id": "3", "text": "<script>alert(1)</script>"},
        ],
    )
    report = import_file(engine, path)
    assert report.inserted == 2
    assert [b.line for b in report.bad_rows] == [2, 3, 4]
    assert "not valid JSON" in report.bad_rows[0].reason
    assert "ISO 8601" in report.bad_rows[1].reason
    assert "JSON object" in report.bad_rows[2].reason
    with session_scope(engine) as session:
        hostile = get_post(session, platform="x", external_id="3")
        assert hostile is not None and hostile.text == "<script>alert(1)</script>"


def test_second_import_adds_zero_rows(tmp_path: Path, engine: Engine) -> None:
    path = jsonl(tmp_path, [{**GOOD, "id": str(i), "likes": i} for i in range(250)])
    first = import_file(engine, path, page_size=100)
    second = import_file(engine, path, page_size=100)
    assert (first.inserted, first.updated) == (250, 0)
    assert (second.inserted, second.updated) == (0, 250)
    with session_scope(engine) as session:
        assert count_posts(session) == 250


def test_csv_with_quoted_newlines_and_bad_row(tmp_path: Path, sqlite_engine: Engine) -> None:
    path = tmp_path / "posts.csv"
    path.write_text(
        "id,text,created_at,author_handle,likes,media_type,media_url\n"
        '1,"Great jacket,\nkept me dry ""all day""",2026-11-01T10:00:00+01:00,ana,3,photo,https://i.redd.it/x.jpg\n'
        "2,Broken row,2026-11-01,bob\n"
        "3,Nube jacket review,1762000000,carla,,,\n",
        encoding="utf-8",
    )
    report = import_file(sqlite_engine, path)
    assert report.inserted == 2
    assert report.bad_rows == [BadRow(4, "expected 7 columns, found 4")]
    with session_scope(sqlite_engine) as session:
        first = get_post(session, platform="file", external_id="1")
        assert first is not None and first.text == 'Great jacket,\nkept me dry "all day"'
        assert [m.url for m in media_for(session, post_id=first.id or 0)] == ["https://i.redd.it/x.jpg"]


def test_file_collector_resumes_from_cursor_and_reads_appended_rows(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [{**GOOD, "id": str(i)} for i in range(5)])
    collector = FileCollector(path=path, page_size=2)
    pages = list(collector.pages(None))
    assert [len(p.posts) for p in pages] == [2, 2, 1]
    resumed = list(collector.pages(pages[0].cursor))
    assert [p.external_id for page in resumed for p in page.posts] == ["2", "3", "4"]
    # An export that grows: only the new rows, and a half-written last line waits for the next run.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({**GOOD, "id": "5"}) + "\n" + '{"id": "6", "te')
    more = list(collector.pages(pages[-1].cursor))
    assert [p.external_id for page in more for p in page.posts] == ["5"]
    assert list(collector.pages(more[-1].cursor)) == []


def test_not_utf8_row_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + '{"id": "2", "text": "ca\xf1a"}\n'.encode("latin-1"))
    bad: list[BadRow] = []
    posts = [p for page in FileCollector(path=path, on_bad_row=bad.append).pages(None) for p in page.posts]
    assert len(posts) == 1
    assert bad == [BadRow(2, "not UTF-8 text")]
