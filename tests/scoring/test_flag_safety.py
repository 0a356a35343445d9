"""Platform safety flags (Reddit `over_18`, Mastodon `sensitive`, content warnings) in the safety scores."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from tesoro.models import MediaType, NormalizedAuthor, NormalizedMedia, NormalizedPost, Platform
from tesoro.scoring.pipeline import load_models, score_pending
from tesoro.scoring.safety import flag_safety, with_flags
from tesoro.settings import BrandSettings, QuerySettings, Settings
from tesoro.store.catalog import sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post, upsert_posts
from tesoro.store.scores import scores_for


def test_flags_become_safety_scores() -> None:
    assert flag_safety(()) == {}
    assert flag_safety(["nsfw"]) == {"nsfw": 1.0}
    assert flag_safety(["sensitive", "spoiler"]) == {"nsfw": 1.0, "content_warning": 0.4}
    assert flag_safety(["made-up"]) == {}
    # Merged into the text's scores, each category keeps the higher one.
    assert with_flags({"adult": 0.2, "nsfw": 0.5}, ["nsfw"]) == {"adult": 0.2, "nsfw": 1.0}
    assert with_flags({"profanity": 1.0}, ()) == {"profanity": 1.0}


def test_an_nsfw_post_with_harmless_text_is_scored_unsafe(sqlite_engine: Engine) -> None:
    settings = Settings(
        brands=[BrandSettings(name="Andes", description="Trail running shoes.")],
        queries=[QuerySettings(name="andes", brand="Andes", query="andes OR cumbre")],
    )
    photo = (NormalizedMedia(MediaType.PHOTO, "https://i.redd.it/beach.jpg"),)
    author = NormalizedAuthor(Platform.REDDIT, external_id="t2_a", handle="a")

    def post(external_id: str, flags: tuple[str, ...]) -> NormalizedPost:
        return NormalizedPost(
            platform=Platform.REDDIT,
            external_id=external_id,
            text="My new Cumbre shoes at the beach today",
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
            author=author,
            media=photo,
            content_flags=flags,
        )

    with session_scope(sqlite_engine) as session:
        sync_catalog(session, settings)
        upsert_posts(session, [post("t3_nsfw", ("nsfw",)), post("t3_clean", ())])
    assert score_pending(sqlite_engine, settings, models=load_models(settings)) == 2
    with session_scope(sqlite_engine) as session:
        safety = {}
        for external_id in ("t3_nsfw", "t3_clean"):
            row = get_post(session, platform="reddit", external_id=external_id)
            assert row is not None and row.id is not None
            (score,) = scores_for(session, post_id=row.id)
            safety[external_id] = score.safety
    assert safety["t3_nsfw"]["nsfw"] == 1.0
    assert "nsfw" not in safety["t3_clean"] and max(safety["t3_clean"].values()) < 0.7
