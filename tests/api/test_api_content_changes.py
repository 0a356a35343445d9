"""A post that changes after approval: held for the gallery, back in the queue with its diff (issue 17.2)."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.models import MediaType, NormalizedMedia
from tesoro.settings import Settings
from tesoro.store.engine import session_scope
from tesoro.store.keys import Role
from tesoro.store.posts import upsert_posts
from worlds.api import PLAN, Seeded, rank

NEW_PHOTO = NormalizedMedia(MediaType.PHOTO, "https://pbs.twimg.com/media/photo2.jpg")
CHANGED = "Great grip on the Cumbre, now 70% off at cheap-boots.example"


def _recollect_changed(engine: Engine, seeded: Seeded) -> int:
    original = next(p for p, *_ in PLAN if p.external_id == "gal-photo")
    with session_scope(engine) as session:
        upsert_posts(
            session,
            [replace(original, text=CHANGED, media=(NEW_PHOTO,))],
            brand_id=seeded.brands["Andes Outdoor"],
        )
    return seeded.posts["gal-photo"]


def _gallery(client: TestClient) -> dict[str, list[str | None]]:
    items = client.get("/gallery/andes-outdoor.json").json()["items"]
    return {i["text"]: [m["url"] for m in i["media"]] for i in items}


def test_a_change_after_approval_waits_in_the_queue_with_its_diff_while_the_gallery_keeps_the_approved_post(
    client: TestClient, sqlite_engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    rank(sqlite_engine, api_settings, seeded)
    post_id = _recollect_changed(sqlite_engine, seeded)
    viewer = seeded.headers(Role.VIEWER)

    public = _gallery(client)
    assert public["Great grip on the Cumbre"] == ["https://pbs.twimg.com/media/photo1.jpg"]
    assert CHANGED not in public

    queue = client.get("/api/curator/queue", headers=viewer).json()["items"]
    item = next(i for i in queue if i["id"] == post_id)
    assert item["queue_state"] == "new" and item["text"] == CHANGED
    change = item["change"]
    assert (change["approved_version"], change["version"]) == (1, 2)
    assert (change["old_text"], change["new_text"]) == ("Great grip on the Cumbre", CHANGED)
    assert change["diff"] == [
        {"op": "same", "text": "Great grip on the "},
        {"op": "removed", "text": "Cumbre"},
        {"op": "added", "text": "Cumbre, now 70% off at cheap-boots.example"},
    ]
    assert change["media_added"] == ["https://pbs.twimg.com/media/photo2.jpg"]
    # The tracking pixel's host is not allowed: its URL never leaves, even in a diff.
    assert change["media_removed"] == ["https://pbs.twimg.com/media/photo1.jpg", None]
    history = client.get(f"/api/curator/posts/{post_id}", headers=viewer).json()
    assert history["change"] == change

    coordinator = seeded.headers(Role.COORDINATOR)
    decided = client.post(
        f"/api/curator/posts/{post_id}/decision", json={"action": "approve"}, headers=coordinator
    )
    assert decided.status_code == 200, decided.text
    assert _gallery(client)[CHANGED] == ["https://pbs.twimg.com/media/photo2.jpg"]
    assert client.get(f"/api/curator/posts/{post_id}", headers=viewer).json()["change"] is None


def test_rejecting_the_change_takes_the_post_out_of_the_gallery(
    client: TestClient, sqlite_engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    rank(sqlite_engine, api_settings, seeded)
    post_id = _recollect_changed(sqlite_engine, seeded)
    coordinator = seeded.headers(Role.COORDINATOR)
    decided = client.post(
        f"/api/curator/posts/{post_id}/decision", json={"action": "reject"}, headers=coordinator
    )
    assert decided.status_code == 200, decided.text
    public = _gallery(client)
    assert "Great grip on the Cumbre" not in public and CHANGED not in public
