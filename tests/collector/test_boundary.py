"""The collector boundary: one hostile row never stops an import or a file source (issue 17 item 1),
and a date in the future is refused with a clear reason (issue 16 item 12). Both backends."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tesoro.collector.bluesky import BlueskyCollector, post_key
from tesoro.collector.boundary import FUTURE_SKEW, Refused, check_post, clean_text
from tesoro.collector.files import FileCollector
from tesoro.collector.importer import import_file
from tesoro.collector.mastodon import normalize_page as normalize_mastodon_page
from tesoro.collector.quarantine import retry_quarantined
from tesoro.collector.reddit.normalize import normalize_page as normalize_reddit_page
from tesoro.collector.runner import run_source, store_page
from tesoro.collector.x import _normalize_page
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
from tesoro.settings import Settings
from tesoro.simulator.server import SimulatorServer
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import count_posts, get_post, media_for
from tesoro.store.quarantine import count_quarantined, list_quarantined
from tesoro.store.sources import get_source

NOW = datetime.now(UTC)


def good(i: int) -> dict[str, Any]:
    return {
        "id": f"g{i}",
        "text": f"love my cumbre boots {i}",
        "created_at": "2024-05-01T10:00:00Z",
        "author_handle": f"ana{i}",
        "platform": "x",
    }


def noise(n: int) -> str:
    """Random letters: PostgreSQL compresses a repeated character under its index row limit."""
    rng = random.Random(n)
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    # `surrogatepass`: json.dumps writes a lone surrogate as an escape, as a hostile export would.
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# Rows the boundary must refuse (quarantined, with the reason) ...
REFUSED = {
    "created_at NaN": ({"created_at": float("nan")}, "`created_at` is not a time"),
    "created_at 1e20": ({"created_at": 1e20}, "`created_at` is not a time"),
    "created_at year 1": ({"created_at": "0001-01-01T00:00:00Z"}, "is before 2000-01-01"),
    "created_at 2099": ({"created_at": "2099-01-01T00:00:00Z"}, "is in the future"),
    "likes 10**30": ({"likes": 10**30}, "`likes` is out of range"),
    "5,000-character id": ({"id": noise(5000)}, "`id` is 5000 characters long"),
    "9 kB media URL": (
        {"media": [{"type": "photo", "url": "https://img.example/" + noise(9000)}]},
        "`media[0].url` is 9020 characters long",
    ),
    "5,000-character handle": ({"author_handle": noise(5000)}, "`author handle` is 5000 characters"),
}

# ... and rows it repairs (stored, cleaned).
REPAIRED = {
    "lone surrogate in text": {"text": "great \ud800 boots"},
    "lone surrogate in name": {"author_name": "Ana \udfff"},
    "NUL in text": {"text": "great\x00 boots"},
    "NUL in handle": {"author_handle": "an\x00a"},
    "width 2**40": {"media": [{"type": "photo", "url": "https://img.example/a.jpg", "width": 2**40}]},
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_import_stores_the_good_rows_around_a_refused_one_and_quarantines_it(
    engine: Engine, tmp_path: Path, case: str
) -> None:
    change, reason = REFUSED[case]
    path = write_rows(tmp_path / "posts.jsonl", [good(0), good(1) | change, good(2)])
    report = import_file(engine, path)
    assert (report.inserted, report.quarantined) == (2, 1)
    assert [bad.line for bad in report.bad_rows] == [2] and reason in report.bad_rows[0].reason
    with session_scope(engine) as session:
        assert count_posts(session) == 2
        assert get_post(session, platform="x", external_id="g2") is not None
        [item] = list_quarantined(session)
    assert item.source == "import:posts.jsonl" and item.line == 2 and item.kind == "row"
    assert reason in item.reason and item.platform == "x"
    assert json.loads(item.raw)["text"] == good(1)["text"]
    assert item.first_seen_at is not None and item.last_seen_at is not None


@pytest.mark.parametrize("case", list(REPAIRED))
def test_import_repairs_what_it_can_and_stores_every_row(engine: Engine, tmp_path: Path, case: str) -> None:
    path = write_rows(tmp_path / "posts.jsonl", [good(0), good(1) | REPAIRED[case], good(2)])
    report = import_file(engine, path)
    assert (report.inserted, report.quarantined, report.bad_rows) == (3, 0, [])
    with session_scope(engine) as session:
        post = get_post(session, platform="x", external_id="g1")
        assert post is not None
        media = media_for(session, post_id=post.id or 0)
    assert "\x00" not in post.text
    if "surrogate in text" in case:
        assert post.text == "great \ufffd boots"
    if "NUL in text" in case:
        assert post.text == "great boots"
    if "width" in case:
        assert [(m.url, m.width) for m in media] == [("https://img.example/a.jpg", None)]


def test_reimporting_a_hostile_file_keeps_one_quarantine_row(engine: Engine, tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.jsonl", [good(0), good(1) | {"likes": 10**30}])
    import_file(engine, path)
    import_file(engine, path)
    with session_scope(engine) as session:
        [item] = list_quarantined(session)
    assert item.times_seen == 2


def test_a_future_date_is_refused_with_a_clear_message_and_a_small_skew_is_clamped() -> None:
    author = NormalizedAuthor(Platform.X, "a1", "ana")
    future = NormalizedPost(Platform.X, "1", "hi", datetime(2099, 1, 1, tzinfo=UTC), author)
    with pytest.raises(Refused, match=r"2099-01-01T00:00:00\+00:00 is in the future"):
        check_post(future, now=NOW)
    skewed = NormalizedPost(Platform.X, "2", "hi", NOW + FUTURE_SKEW / 2, author)
    assert check_post(skewed, now=NOW).created_at == NOW
    naive = NormalizedPost(Platform.X, "3", "hi", datetime(2024, 5, 1, 10, 0), author)
    assert check_post(naive, now=NOW).created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_the_boundary_cleans_every_text_field_and_drops_impossible_metadata() -> None:
    author = NormalizedAuthor(
        Platform.X,
        "a\x001",
        "an\x00a",
        display_name="A\ud800",
        followers=-3,
        avatar_url="https://" + "a" * 3000,
    )
    media = NormalizedMedia(
        MediaType.PHOTO, "https://i.example/a.jpg", width=2**40, height=0, duration_ms=2**40, alt_text="x\x00"
    )
    post = NormalizedPost(
        Platform.X,
        "1\x00",
        "t" * 50_000,
        NOW - timedelta(days=1),
        author,
        lang="e\x00n",
        title="\udc00",
        media=(media,),
        metrics=PostMetrics(likes=1, views=None),
        hashtags=("ok", "b\x00ad", "x" * 300),
        reply_to_id="r" * 300,
    )
    clean = check_post(post, now=NOW)
    assert clean.external_id == "1" and len(clean.text) == 40_000 and clean.lang == "en"
    assert clean.title == "\ufffd" and clean.hashtags == ("ok", "bad") and clean.reply_to_id is None
    assert (clean.author.external_id, clean.author.handle, clean.author.display_name) == (
        "a1",
        "ana",
        "A\ufffd",
    )
    assert clean.author.followers is None and clean.author.avatar_url is None
    m = clean.media[0]
    assert (m.width, m.height, m.duration_ms, m.alt_text) == (None, None, None, "x")


def test_clean_text_keeps_well_formed_pairs() -> None:
    assert clean_text("😀 ok") == "😀 ok"
    assert clean_text("\ud83d\ude00 \ud83d") == "😀 \ufffd"


@pytest.mark.parametrize(
    ("metrics", "reason"),
    [
        (PostMetrics(likes=-1), "`likes` is out of range"),
        (PostMetrics(views=2**63), "`views` is out of range"),
        (PostMetrics(reposts=True), "`reposts` must be a whole number"),
    ],
)
def test_impossible_post_metrics_are_refused(metrics: PostMetrics, reason: str) -> None:
    post = NormalizedPost(Platform.X, "1", "hi", NOW, NormalizedAuthor(Platform.X, "a", "a"), metrics=metrics)
    with pytest.raises(Refused, match=reason):
        check_post(post, now=NOW)


@pytest.fixture
def file_source(engine: Engine, tmp_path: Path) -> Path:
    path = tmp_path / "feed.jsonl"
    path.write_text("", encoding="utf-8")
    settings = Settings.model_validate(
        {
            "brands": [{"name": "Andes"}],
            "queries": [{"name": "q", "brand": "Andes", "query": "cumbre"}],
            "sources": [{"name": "feed", "platform": "file", "query": "q", "path": str(path)}],
        }
    )
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    return path


def test_a_file_source_with_a_hostile_post_keeps_collecting(engine: Engine, file_source: Path) -> None:
    hostile = good(1) | {"text": "cumbre\x00 \ud800", "likes": 10**30}
    write_rows(file_source, [good(0), hostile])
    first = run_source(engine, source_name="feed", collector=FileCollector(path=file_source))
    assert (first.status, first.inserted, first.quarantined) == ("ok", 1, 1)
    with file_source.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(good(2)) + "\n")
    second = run_source(engine, source_name="feed", collector=FileCollector(path=file_source))
    assert (second.status, second.inserted, second.quarantined) == ("ok", 1, 0)
    with session_scope(engine) as session:
        source = get_source(session, "feed")
        assert source is not None and source.cursor is not None
        assert source.cursor["line"] == 3
        assert count_posts(session) == 2 and count_quarantined(session, source="feed") == 1


class Hostile:
    """A platform adapter whose page holds posts the database cannot store as they are."""

    platform = Platform.X

    def __init__(self, posts: list[NormalizedPost]) -> None:
        self.posts = posts

    def pages(self, cursor: Cursor | None) -> Iterator[Page]:
        if cursor is None:
            yield Page(tuple(self.posts), {"page": 1})


def test_every_platform_page_passes_the_boundary_in_the_runner(engine: Engine, file_source: Path) -> None:
    author = NormalizedAuthor(Platform.X, "a1", "an\x00a")
    posts = [
        NormalizedPost(Platform.X, "1", "cumbre \x00 ok", NOW - timedelta(hours=1), author),
        NormalizedPost(Platform.X, "2", "cumbre", datetime(2099, 1, 1, tzinfo=UTC), author),
        NormalizedPost(Platform.X, "3", "cumbre", NOW, author, metrics=PostMetrics(likes=10**30)),
        NormalizedPost(Platform.X, "4", "cumbre \ud800", NOW, author),
    ]
    result = run_source(engine, source_name="feed", collector=Hostile(posts))
    assert (result.status, result.inserted, result.quarantined) == ("ok", 2, 2)
    with session_scope(engine) as session:
        reasons = sorted(item.reason for item in list_quarantined(session))
        stored = get_post(session, platform="x", external_id="4")
    assert stored is not None and stored.text == "cumbre \ufffd"
    assert "is in the future" in reasons[0] and "`likes` is out of range" in reasons[1]


def test_retry_stores_what_passes_now_and_keeps_what_is_still_bad(engine: Engine, tmp_path: Path) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    path = write_rows(
        tmp_path / "posts.jsonl", [good(0), good(1) | {"created_at": soon}, good(2) | {"likes": 10**30}]
    )
    import_file(engine, path)
    # An hour later the first refused post is no longer in the future; the second is still bad.
    report = retry_quarantined(engine, now=datetime.now(UTC) + timedelta(hours=2))
    assert (report.stored, report.still_bad) == (1, 1)
    with session_scope(engine) as session:
        assert get_post(session, platform="x", external_id="g1") is not None
        [left] = list_quarantined(session)
    assert left.external_id == "g2" and left.retries == 1 and "`likes` is out of range" in left.reason


def test_retry_rebuilds_a_refused_platform_post(engine: Engine, file_source: Path) -> None:
    author = NormalizedAuthor(Platform.X, "a1", "ana", followers=5)
    media = NormalizedMedia(MediaType.PHOTO, "https://i.example/a.jpg", width=10)
    post = NormalizedPost(
        Platform.X, "9", "cumbre", NOW + timedelta(hours=1), author, media=(media,), hashtags=("cumbre",)
    )
    run_source(engine, source_name="feed", collector=Hostile([post]))
    report = retry_quarantined(engine, now=NOW + timedelta(hours=2))
    assert (report.stored, report.still_bad) == (1, 0)
    with session_scope(engine) as session:
        stored = get_post(session, platform="x", external_id="9")
        source = get_source(session, "feed")
        assert stored is not None and source is not None
        assert [m.width for m in media_for(session, post_id=stored.id or 0)] == [10]
        assert stored.source_id == source.id and stored.hashtags == ["cumbre"]
        assert count_quarantined(session) == 0


def _poison(engine: Engine) -> None:
    """A real database refusal the boundary cannot foresee: a trigger that rejects one post's text."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON post WHEN NEW.text LIKE '%poison%' "
                    "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "IF NEW.text LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned row'; END IF; "
                    "RETURN NEW; END $$"
                )
            )
            connection.execute(
                text("CREATE TRIGGER poison BEFORE INSERT ON post FOR EACH ROW EXECUTE FUNCTION poison()")
            )


def test_a_post_the_database_refuses_costs_only_that_post(engine: Engine, file_source: Path) -> None:
    author = NormalizedAuthor(Platform.X, "a1", "ana")
    posts = [
        NormalizedPost(Platform.X, str(i), f"cumbre {word}", NOW, author)
        for i, word in enumerate(["ok", "poison", "ok"])
    ]
    _poison(engine)
    result = run_source(engine, source_name="feed", collector=Hostile(posts))
    assert (result.status, result.inserted, result.quarantined) == ("ok", 2, 1)
    with session_scope(engine) as session:
        [item] = list_quarantined(session)
        source = get_source(session, "feed")
        assert count_posts(session) == 2 and source is not None and source.cursor == {"page": 1}
    assert (
        item.external_id == "1" and "the database refused it" in item.reason and "poisoned row" in item.reason
    )


def test_a_media_url_of_many_utf8_bytes_is_refused() -> None:
    author = NormalizedAuthor(Platform.X, "a1", "ana")
    url = "https://img.example/" + "é" * 1500  # 1,520 characters, 3,020 bytes: over PostgreSQL's index limit
    post = NormalizedPost(Platform.X, "1", "hi", NOW, author, media=(NormalizedMedia(MediaType.PHOTO, url),))
    with pytest.raises(Refused, match=r"`media\[0\].url` is 3020 bytes long in UTF-8"):
        check_post(post, now=NOW)


def test_fields_without_their_own_rule_are_cleaned_by_type() -> None:
    author = NormalizedAuthor(Platform.X, "a1", "ana")
    post = NormalizedPost(
        Platform.X, "1", "hi", NOW, author, content_flags=("nsfw\x00", "x" * 300), edit_ids=("1", "9" * 5000)
    )
    clean = check_post(post, now=NOW)
    assert clean.content_flags == ("nsfw",) and clean.edit_ids == ("1",)


def test_a_tweet_the_x_normaliser_cannot_use_is_quarantined_with_its_page(engine: Engine) -> None:
    good = {"id": "5", "text": "hi", "author_id": "1", "created_at": "2025-01-01T00:00:00.000Z"}
    body = {
        "data": [good, {**good, "id": "6", "created_at": "x"}, {**good, "id": "7", "author_id": "9"}],
        "includes": {"users": [{"id": "1", "username": "ana"}]},
    }
    rejected: list[RejectedItem] = []
    posts, newest = _normalize_page(body, rejected)
    assert [p.external_id for p in posts] == ["5"] and newest == "7"
    assert [(r.external_id, r.kind) for r in rejected] == [("6", "payload"), ("7", "payload")]
    assert all(r.reason.startswith("malformed tweet") for r in rejected)
    result = store_page(engine, Page(posts, {}, rejected=tuple(rejected)), source="x-feed")
    assert (result.inserted, result.quarantined) == (1, 2)
    first = retry_quarantined(engine)
    second = retry_quarantined(engine)
    assert (first.still_bad, second.still_bad, first.stored + second.stored) == (2, 2, 0)
    with session_scope(engine) as session:
        items = list_quarantined(session, source="x-feed")
    assert sorted(i.external_id or "" for i in items) == ["6", "7"]
    assert all(i.reason.count("not rebuilt here") == 1 and i.retries == 2 for i in items)
    assert {json.loads(i.raw)["author_id"] for i in items} == {"1", "9"}


def test_a_post_view_the_bluesky_normaliser_cannot_use_goes_to_the_page_rejected(
    sim: SimulatorServer,
) -> None:
    collector = BlueskyCollector(
        query="andes",
        handle=sim.state.credentials.bluesky_handle,
        password=sim.state.credentials.bluesky_password,
        base_url=sim.base_url + "/bsky",
        fetch_profiles=False,
    )
    uri = "at://did:plc:a/app.bsky.feed.post/3kabcdefghij2"
    good = {
        "uri": uri,
        "author": {"did": "did:plc:a", "handle": "a.bsky.social"},
        "record": {"text": "hi", "createdAt": "2025-01-01T00:00:00.000Z"},
    }
    key = post_key(uri)
    assert key is not None
    rejected: list[RejectedItem] = []
    posts = collector._normalize([(key, good), (key, {**good, "record": {"text": None}})], rejected)
    assert len(posts) == 1
    [item] = rejected
    assert (item.platform, item.external_id, item.kind) == ("bluesky", uri, "payload")
    assert item.reason.startswith("malformed post view")


def test_mastodon_statuses_and_reddit_items_that_cannot_be_used_are_quarantined_with_their_page(
    engine: Engine,
) -> None:
    account = {"id": "1", "acct": "ana@example.social"}
    status = {"id": "10", "created_at": "2025-01-01T00:00:00Z", "account": account, "content": "<p>hi</p>"}
    statuses = [
        status,
        {**status, "id": "11", "account": {}},  # no author: refused
        {**status, "id": "12", "reblog": status},  # a boost: no post of its own, not refused
        {**status, "id": "13", "created_at": 1e308},  # a time that is no time: refused
    ]
    posts, rejected = normalize_mastodon_page(statuses, set())
    assert [p.external_id for p in posts] == ["10"]
    assert [r.external_id for r in rejected] == ["11", "13"]
    submission = {"name": "t3_a", "title": "Cumbre review", "created_utc": 1735689600, "author": "ana"}
    children = [
        {"kind": "t3", "data": submission},
        {"kind": "t3", "data": {**submission, "name": "t3_b", "title": ""}},  # no title: refused
        {"kind": "t3", "data": {**submission, "name": "t3_c", "created_utc": "soon"}},  # refused
        {"kind": "t1", "data": {"name": "t1_d", "body": "[deleted]"}},  # gone: skipped, not refused
        {"kind": "more", "data": {"name": "t1_e"}},  # not a post kind
    ]
    reddit_posts, reddit_rejected = normalize_reddit_page(children)
    assert [p.external_id for p in reddit_posts] == ["t3_a"]
    assert [r.external_id for r in reddit_rejected] == ["t3_b", "t3_c"]
    for source, page in (
        ("masto", Page(posts, {}, rejected=rejected)),
        ("reddit", Page(reddit_posts, {}, rejected=reddit_rejected)),
    ):
        result = store_page(engine, page, source=source)
        assert (result.inserted, result.quarantined) == (1, 2)
    with session_scope(engine) as session:
        reasons = {i.external_id: i.reason for i in list_quarantined(session)}
    assert set(reasons) == {"11", "13", "t3_b", "t3_c"}
    assert reasons["t3_b"].startswith("malformed submission") and reasons["11"].startswith("malformed status")
