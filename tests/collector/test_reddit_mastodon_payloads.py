"""Reddit and Mastodon shapes the simulator lacked, from payloads written after the platforms' docs.

Crossposts keep the shared post's body and media, text posts keep the images and videos in their body,
platform safety flags (Reddit `over_18`/`spoiler`, Mastodon `sensitive`/`spoiler_text`) become
`content_flags`, and deleted or suspended accounts are `gone` authors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tesoro.collector.files import parse_row
from tesoro.collector.mastodon import normalize_status
from tesoro.collector.reddit.normalize import normalize_all, normalize_submission
from tesoro.models import MediaType

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def test_a_crosspost_keeps_the_shared_posts_body_media_and_nsfw_mark() -> None:
    (post,) = normalize_all([payload("reddit_crosspost.json")])
    assert post.external_id == "t3_1h9x2kq"
    assert post.title == "Found this review of the Cumbre boots in r/hiking"
    assert post.text == (
        "Found this review of the Cumbre boots in r/hiking\n\n"
        "Soles still grip on wet granite, the toe cap is scuffed but whole. Would buy again."
    )
    assert [(m.type, m.url, m.width, m.height) for m in post.media] == [
        (MediaType.PHOTO, "https://i.redd.it/q8c1wn0ux45e1.jpeg", 3024, 4032)
    ]
    assert post.quote_of_id == "t3_1h8v0aa", "the crosspost points at what it shares"
    assert post.content_flags == ("nsfw",), "the parent's over_18 covers the crosspost showing it"
    assert post.author.handle == "trail_owl" and not post.author.gone


def test_a_text_post_keeps_the_photos_and_video_in_its_body() -> None:
    post = normalize_submission(payload("reddit_text_post_inline_media.json")["data"])
    assert post is not None
    assert [(m.type, m.url, m.width) for m in post.media] == [
        (
            MediaType.PHOTO,
            "https://preview.redd.it/kx1b2c3d4e5f.jpg?width=3024&format=pjpg&auto=webp&s=a1",
            3024,
        ),
        (
            MediaType.PHOTO,
            "https://preview.redd.it/ab9z8y7x6w5v.png?width=1080&format=png&auto=webp&s=b2",
            1080,
        ),
        (
            MediaType.VIDEO,
            "https://v.redd.it/link/1ha03mz/asset/vv1d3o4p5q6r/HLSPlaylist.m3u8?a=1736150000",
            1920,
        ),
    ], "the failed upload is left out"
    assert post.media[0].preview_url is not None and "width=108" in post.media[0].preview_url
    assert post.content_flags == ("spoiler",)


def test_a_deleted_reddit_account_is_a_gone_author() -> None:
    post = normalize_submission(payload("reddit_text_post_inline_media.json")["data"])
    assert post is not None
    assert post.author.gone and post.author.handle == "[deleted]" and post.author.profile_url is None


def test_a_reddit_post_without_flags_has_none() -> None:
    data = dict(payload("reddit_crosspost.json")["data"])
    data["crosspost_parent_list"] = [dict(data["crosspost_parent_list"][0], over_18=False)]
    post = normalize_submission(data)
    assert post is not None and post.content_flags == ()


def test_mastodon_sensitive_media_content_warnings_and_suspended_accounts() -> None:
    hidden, warned, plain = (
        normalize_status(s) for s in payload("mastodon_sensitive_status.json")["statuses"]
    )
    assert hidden is not None and warned is not None and plain is not None
    assert hidden.content_flags == ("sensitive", "spoiler"), "the photo is hidden behind a warning"
    assert hidden.title == "boots"
    assert hidden.author.gone, "the server suspended the account"
    # Mastodon sets `sensitive` on any status with a content warning: with no media it adds nothing.
    assert warned.content_flags == ("spoiler",)
    assert not warned.author.gone
    assert plain.content_flags == ()


def test_an_imported_row_by_a_deleted_account_is_a_gone_author() -> None:
    row = {"id": "1", "text": "old Cumbre review", "created_at": "2026-11-01T00:00:00Z", "platform": "reddit"}
    assert parse_row(row | {"author_handle": "[deleted]"}).author.gone
    assert not parse_row(row | {"author_handle": "ana"}).author.gone
