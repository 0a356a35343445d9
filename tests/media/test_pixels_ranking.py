"""Pixels in the ranking: photo quality in the treasure score, image near-duplicates in the groups.

The posts are the curator world's hand-made scored posts; their media URLs (media.example) are
served by the simulator's picture generator through a mock transport (the host would leave the
machine), and the real fetcher, pipeline, store and ranking do the rest, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import numpy as np
from sqlalchemy.engine import Engine

from tesoro.curator.dedupe import DuplicateRules, GroupStore, NewPost, assign_groups, fingerprint, with_images
from tesoro.curator.ranking import rank_posts
from tesoro.curator.treasure import Photo, TreasureInputs, score_treasure
from tesoro.media.fetch import FetchPolicy, SafeFetcher
from tesoro.media.pipeline import process_media
from tesoro.settings import CuratorSettings, Settings
from tesoro.simulator.images import image_spec, render
from tesoro.store.engine import session_scope
from tesoro.store.tables import CurationItem
from worlds.curator import NOW, Spec, catalog_settings, seed

TEXT = "Took the Cumbre trail runners up the ridge this morning, the grip on wet rock is unreal"


def _identity(want: Callable[[object], bool], tag: str) -> str:
    for i in range(5000):
        identity = f"https://pics.example/{tag}/{i}.jpg"
        if want(image_spec(identity)):
            return identity
    raise AssertionError(f"no picture for {tag}")


def _fetcher(pictures: dict[str, str]) -> SafeFetcher:
    """media.example/{key}/0.jpg -> the simulator's picture `pictures[key]`."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["host"] == "media.example"
        key = request.url.path.split("/")[1]
        if key not in pictures:
            return httpx.Response(404)
        body = render(pictures[key], 1080, 1350, edge=640)
        return httpx.Response(200, content=body, headers={"Content-Type": "image/jpeg"})

    policy = FetchPolicy(allowed_hosts=frozenset({"media.example"}))
    return SafeFetcher(
        policy, resolver=lambda host, port: ["93.184.216.34"], transport=httpx.MockTransport(handler)
    )


def _settings() -> Settings:
    base = catalog_settings()
    return base.model_copy(
        update={"gallery": base.gallery.model_copy(update={"media_hosts": ["media.example"]})}
    )


def _items(engine: Engine, ids: dict[str, int]) -> dict[str, CurationItem]:
    with session_scope(engine) as session:
        return {key: session.get(CurationItem, pid) for key, pid in ids.items()}  # type: ignore[misc]


def test_blurry_and_dark_photos_rank_below_the_sharp_one_with_the_same_text(engine: Engine) -> None:
    def plain(take: str) -> Callable[[object], bool]:
        return lambda s: s.take == take and s.fault is None and not s.shared  # type: ignore[attr-defined]

    pictures = {
        "sharp": _identity(plain("sharp"), "sharp"),
        "blurry": _identity(plain("blurry"), "blurry"),
        "dark": _identity(plain("dark"), "dark"),
    }
    specs = [
        Spec(key, TEXT, author=f"author-{key}", media=("photo",), content_types=("photo", "review"))
        for key in pictures
    ]
    settings = _settings()
    seeded = seed(engine, specs, settings)
    rank_posts(engine, settings.curator, now=NOW)
    before = {k: i.score for k, i in _items(engine, seeded.ids).items()}
    assert before["sharp"] == before["blurry"] == before["dark"], "no pixels seen yet: the same score"

    report = process_media(engine, settings, fetcher=_fetcher(pictures))
    assert report.processed == 3
    rank_posts(engine, settings.curator, now=NOW + timedelta(minutes=1))  # the images made them due

    items = _items(engine, seeded.ids)
    assert items["sharp"].score > items["blurry"].score
    assert items["sharp"].score > items["dark"].score
    assert "photo quality" in items["blurry"].components["content"]["detail"]
    assert "blurry" in items["blurry"].components["content"]["detail"]
    assert "badly exposed" in items["dark"].components["content"]["detail"]


def test_the_same_picture_on_other_platforms_and_accounts_is_one_group(engine: Engine) -> None:
    scene = image_spec(_identity(lambda s: s.shared and s.take == "sharp" and s.fault is None, "a")).scene  # type: ignore[attr-defined]

    def copy_of(s: object) -> bool:
        return s.shared and s.scene == scene and s.fault is None  # type: ignore[attr-defined]

    first = _identity(copy_of, "first")
    second = _identity(lambda s: copy_of(s) and True, "second")
    other = _identity(lambda s: not s.shared and s.take == "sharp" and s.fault is None, "other")  # type: ignore[attr-defined]
    specs = [
        Spec(
            "orig", "Summit selfie with the pack", platform="x", author="ana", hours_ago=5, media=("photo",)
        ),
        Spec(
            "repost",
            "Look what I found today!!",
            platform="mastodon",
            author="bea",
            hours_ago=2,
            media=("photo",),
        ),
        Spec(
            "different",
            "Morning coffee before the long climb",
            platform="bluesky",
            author="cid",
            hours_ago=1,
            media=("photo",),
        ),
    ]
    settings = _settings()
    seeded = seed(engine, specs, settings)
    process_media(engine, settings, fetcher=_fetcher({"orig": first, "repost": second, "different": other}))
    rank_posts(engine, settings.curator, now=NOW)
    items = _items(engine, seeded.ids)
    assert items["repost"].duplicate_of == seeded.ids["orig"]
    assert items["orig"].duplicate_of is None and items["different"].duplicate_of is None


def test_the_content_component_scales_with_photo_quality() -> None:
    settings = CuratorSettings()
    base = TreasureInputs(created_at=NOW, relevance=0.8, sentiment="positive", content_types=("photo",))
    unknown = score_treasure(base, settings, now=NOW)
    sharp = score_treasure(
        TreasureInputs(**{**_fields(base), "photo": Photo(0.95, "sharp")}), settings, now=NOW
    )
    blurry = score_treasure(
        TreasureInputs(**{**_fields(base), "photo": Photo(0.3, "blurry")}), settings, now=NOW
    )
    assert unknown.score >= sharp.score > blurry.score
    text_only = TreasureInputs(
        **{**_fields(base), "content_types": ("review",), "photo": Photo(0.1, "blurry")}
    )
    assert "photo quality" not in score_treasure(text_only, settings, now=NOW).as_json()["content"]["detail"]


def _fields(inputs: TreasureInputs) -> dict[str, object]:
    return {name: getattr(inputs, name) for name in TreasureInputs.__slots__}  # type: ignore[attr-defined]


def test_short_posts_with_the_same_image_group_are_grouped_others_are_not() -> None:
    def post(pid: int, text: str, groups: list[int]) -> NewPost:
        return NewPost(pid, (float(pid), pid), with_images(fingerprint(text), groups), None)

    empty = GroupStore(lambda s, b: [], lambda o: [], lambda i: [], lambda o: [])
    changes = assign_groups(
        [post(1, "love it", [7]), post(2, "so good", [7]), post(3, "love it", [9]), post(4, "so good", [])],
        store=empty,
        rules=DuplicateRules(),
    )
    assert {c.post_id: c.original for c in changes} == {1: None, 2: 1, 3: None, 4: None}
    assert np.all(np.array(with_images(fingerprint("x"), [7]).bands) >= 0)
