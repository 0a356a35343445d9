"""Property tests of the collector boundary (issue 17 item 1): arbitrary JSON values in every field of
every platform's payload, and arbitrary JSON lines in an imported file. No exception escapes a
normaliser, the boundary or the store; every item that passes the boundary is stored, and every
one it refuses is quarantined with the boundary's reason. Both backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from tesoro.collector.bluesky import normalize_post_view
from tesoro.collector.boundary import Refused, check_post
from tesoro.collector.files import RowError, parse_row
from tesoro.collector.importer import import_file
from tesoro.collector.mastodon import normalize_status
from tesoro.collector.reddit.normalize import normalize_all
from tesoro.collector.runner import store_page
from tesoro.collector.x import normalize_tweet
from tesoro.models import NormalizedPost, Page
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post
from tesoro.store.quarantine import list_quarantined

HOSTILE_TEXT = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\ud83d\ude00",
    "",
    " ",
    "x" * 5000,
    "https://img.example/" + "p" * 9000,
    "2099-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "2024-05-01T10:00:00Z",
    "https://img.example/a.jpg",
    "NaN",
    "1e20",
]
HOSTILE_NUMBERS = [float("nan"), float("inf"), -1, 0, 1e20, 10**30, 2**40, 2**63, -(2**63), 1.5, True]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HOSTILE_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(HOSTILE_TEXT),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Half the replaced values are the hostile ones themselves, so refusals are common, not rare.
field_values = st.one_of(st.sampled_from(HOSTILE_TEXT + HOSTILE_NUMBERS), json_values)


def mutated(
    base: dict[str, Any], nested: dict[str, list[str]] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """`base` with any of its keys (and of its nested objects' keys) replaced by arbitrary JSON."""
    top = st.dictionaries(st.sampled_from(sorted(base)), field_values, max_size=4)
    inner = {
        key: st.dictionaries(st.sampled_from(keys), field_values, max_size=3)
        for key, keys in (nested or {}).items()
    }

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        value = json.loads(json.dumps(base))
        for key, strategy in inner.items():
            if isinstance(value.get(key), dict):
                value[key].update(draw(strategy))
        value.update(draw(top))
        return value

    return build()


TWEET = {
    "id": "1700000000000000001",
    "text": "love my cumbre boots #hiking",
    "author_id": "u1",
    "created_at": "2024-05-01T10:00:00.000Z",
    "lang": "en",
    "conversation_id": "1700000000000000001",
    "public_metrics": {"like_count": 3, "retweet_count": 1, "reply_count": 0, "quote_count": 0},
    "attachments": {"media_keys": ["m1"]},
    "entities": {"hashtags": [{"tag": "hiking"}]},
}
USER = {
    "id": "u1",
    "username": "ana",
    "name": "Ana",
    "verified": False,
    "profile_image_url": "https://pbs.example/a.jpg",
    "public_metrics": {"followers_count": 10, "following_count": 2},
}
X_MEDIA = {
    "media_key": "m1",
    "type": "photo",
    "url": "https://pbs.example/p.jpg",
    "width": 800,
    "height": 600,
}
POST_VIEW = {
    "uri": "at://did:plc:abc/app.bsky.feed.post/3kabc",
    "cid": "bafy",
    "author": {
        "did": "did:plc:abc",
        "handle": "ana.bsky.social",
        "displayName": "Ana",
        "avatar": "https://cdn.example/a",
    },
    "record": {
        "$type": "app.bsky.feed.post",
        "text": "love my cumbre",
        "createdAt": "2024-05-01T10:00:00Z",
        "langs": ["en"],
    },
    "embed": {
        "$type": "app.bsky.embed.images#view",
        "images": [
            {
                "thumb": "https://cdn.example/t.jpg",
                "fullsize": "https://cdn.example/f.jpg",
                "alt": "boots",
                "aspectRatio": {"width": 800, "height": 600},
            }
        ],
    },
    "likeCount": 2,
    "repostCount": 0,
    "replyCount": 1,
    "quoteCount": 0,
    "indexedAt": "2024-05-01T10:00:01Z",
}
STATUS = {
    "id": "110000000000000001",
    "created_at": "2024-05-01T10:00:00.000Z",
    "content": '<p>love my cumbre <a href="https://m.example/tags/hiking">#hiking</a></p>',
    "language": "en",
    "url": "https://m.example/@ana/110000000000000001",
    "uri": "https://m.example/users/ana/statuses/110000000000000001",
    "account": {
        "id": "1",
        "username": "ana",
        "acct": "ana",
        "display_name": "Ana",
        "followers_count": 4,
        "following_count": 1,
        "url": "https://m.example/@ana",
        "avatar": "https://m.example/a.png",
    },
    "media_attachments": [
        {
            "id": "9",
            "type": "image",
            "url": "https://m.example/p.png",
            "preview_url": "https://m.example/s.png",
            "meta": {"original": {"width": 640, "height": 480}},
        }
    ],
    "favourites_count": 1,
    "reblogs_count": 0,
    "replies_count": 0,
    "tags": [{"name": "hiking"}],
    "mentions": [],
    "reblog": None,
}
SUBMISSION = {
    "kind": "t3",
    "data": {
        "id": "abc123",
        "name": "t3_abc123",
        "title": "My cumbre boots after a year",
        "selftext": "Still great.",
        "author": "ana",
        "author_fullname": "t2_xyz",
        "created_utc": 1714557600.0,
        "subreddit": "hiking",
        "permalink": "/r/hiking/comments/abc123/my_cumbre_boots/",
        "url": "https://i.redd.it/boots.jpg",
        "post_hint": "image",
        "score": 12,
        "num_comments": 3,
        "preview": {
            "images": [{"source": {"url": "https://i.redd.it/boots.jpg", "width": 800, "height": 600}}]
        },
    },
}


def _x(payload: dict[str, Any]) -> list[NormalizedPost | None]:
    tweet, user, media = payload["tweet"], payload["user"], payload["media"]
    users = {str(tweet.get("author_id")): user} if isinstance(user, dict) else {}
    return [normalize_tweet(tweet, users=users, media={"m1": media} if isinstance(media, dict) else {})]


def _reddit(payload: dict[str, Any]) -> list[NormalizedPost | None]:
    return list(normalize_all([payload]))


x_payloads = st.fixed_dictionaries(
    {
        "tweet": mutated(TWEET, {"public_metrics": list(TWEET["public_metrics"])}),
        "user": mutated(USER, {"public_metrics": list(USER["public_metrics"])}),
        "media": mutated(X_MEDIA),
    }
)
PLATFORMS: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], list[NormalizedPost | None]]]] = {
    "x": (x_payloads, _x),
    "bluesky": (
        mutated(POST_VIEW, {"record": list(POST_VIEW["record"]), "author": list(POST_VIEW["author"])}),
        lambda view: [normalize_post_view(view)],
    ),
    "mastodon": (
        mutated(STATUS, {"account": list(STATUS["account"])}),
        lambda status: [normalize_status(status)],
    ),
    "reddit": (mutated(SUBMISSION, {"data": list(SUBMISSION["data"])}), _reddit),
}

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def expected(post: NormalizedPost, now: datetime) -> NormalizedPost | str:
    """What the boundary makes of a post: the clean post, or the reason it is refused."""
    try:
        return check_post(post, now=now)
    except Refused as exc:
        return str(exc)


def assert_stored_or_quarantined(engine: Engine, source: str, outcomes: list[NormalizedPost | str]) -> None:
    with session_scope(engine) as session:
        reasons = {item.reason for item in list_quarantined(session, source=source, limit=None)}
        for outcome in outcomes:
            if isinstance(outcome, str):
                assert outcome in reasons
            else:
                stored = get_post(session, platform=outcome.platform.value, external_id=outcome.external_id)
                assert stored is not None


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_arbitrary_platform_payloads_are_stored_or_quarantined(engine: Engine, platform: str) -> None:
    strategy, normalise = PLATFORMS[platform]

    @PROPERTY
    @given(payload=strategy)
    def check(payload: Any) -> None:
        posts = [p for p in normalise(payload) if p is not None]  # no exception escapes a normaliser
        now = datetime.now(UTC)
        outcomes = [expected(p, now) for p in posts]
        result = store_page(engine, Page(tuple(posts), {}), source=f"prop-{platform}", now=now)
        assert result.quarantined == sum(isinstance(o, str) for o in outcomes)
        assert_stored_or_quarantined(engine, f"prop-{platform}", outcomes)

    check()


ROW = {
    "id": "r1",
    "text": "love my cumbre",
    "created_at": "2024-05-01T10:00:00Z",
    "author_handle": "ana",
    "author_name": "Ana",
    "author_followers": 3,
    "platform": "x",
    "likes": 1,
    "views": 10,
    "lang": "en",
    "url": "https://x.example/1",
    "media": [{"type": "photo", "url": "https://img.example/a.jpg", "width": 10}],
    "hashtags": ["hiking"],
}
rows = st.one_of(mutated(ROW), json_values)


@given(lines=st.lists(rows, min_size=1, max_size=6))
@PROPERTY
def test_arbitrary_import_rows_are_stored_or_quarantined(
    engine: Engine, tmp_path_factory: Any, lines: list[Any]
) -> None:
    path = Path(tmp_path_factory.mktemp("import")) / "rows.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    now = datetime.now(UTC)
    report = import_file(engine, path)  # no exception escapes
    bad_lines = {bad.line for bad in report.bad_rows}
    assert report.quarantined == len(report.bad_rows)
    with session_scope(engine) as session:
        # One row per distinct item: a line repeated in the file (or met in an earlier example) shares it.
        kept = {_key(json.loads(item.raw)) for item in _rows(session)}
        for number, line in enumerate(lines, start=1):
            outcome = _parsed(line, now)
            if isinstance(outcome, NormalizedPost):
                assert number not in bad_lines
                assert get_post(session, platform=outcome.platform.value, external_id=outcome.external_id)
            else:
                assert number in bad_lines
                # A JSON object is kept as it was read, any other line as its text.
                assert _key(line if isinstance(line, dict) else json.dumps(line) + "\n") in kept


def _rows(session: Any) -> list[Any]:
    return list_quarantined(session, source="import:rows.jsonl", limit=None)


def _key(value: Any) -> Any:
    """A hashable form of a JSON value (NaN made comparable), as `kept` holds them."""
    return json.dumps(value, sort_keys=True)


def _parsed(line: Any, now: datetime) -> NormalizedPost | None:
    if not isinstance(line, dict):
        return None
    try:
        return check_post(parse_row(line), now=now)
    except (RowError, Refused):
        return None
    except Exception:  # an int too long to write as text: the importer refuses the row the same way
        return None
