"""Deep links into the web UI (issue 16.14): Slack buttons and the API's `ui_url` open one post."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.alerts.blocks import render
from tesoro.alerts.channels import links_for
from tesoro.alerts.models import Outgoing, OutgoingAlert
from tesoro.settings import Settings
from tesoro.store.keys import Role
from worlds.api import Seeded, rank


def _buttons(blocks: list[dict[str, object]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in blocks:
        if block.get("type") == "actions":
            for element in block["elements"]:  # type: ignore[attr-defined]
                found[element["action_id"]] = element["url"]
    return found


def _post_alert(post_id: int) -> OutgoingAlert:
    return OutgoingAlert(
        1,
        "mentions",
        f"post:{post_id}",
        {
            "kind": "new_mention",
            "title": "New mention",
            "post": {
                "id": post_id,
                "platform": "x",
                "text": "Love my Cumbre",
                "url": "https://x.com/a/status/1",
            },
        },
        datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_the_slack_review_buttons_open_pages_that_exist(
    client: TestClient, seeded: Seeded, api_settings: Settings
) -> None:
    post_id = seeded.posts["q-mid"]
    links = links_for(api_settings)  # the settings' defaults, as delivery builds them
    single = render(Outgoing("mentions", "alert", (_post_alert(post_id),)), links)
    url = _buttons(single.blocks)["review"]
    parts = urlsplit(url)
    assert url.startswith(api_settings.slack.app_base_url)
    assert parts.path == "/ui/queue" and parse_qs(parts.query) == {"post": [str(post_id)]}
    page = client.get(f"{parts.path}?{parts.query}", headers=seeded.headers(Role.VIEWER))
    assert page.status_code == 200 and 'id="queue-list"' in page.text
    # Without a session the browser logs in first and comes back to the same post.
    anonymous = client.get(
        f"{parts.path}?{parts.query}", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next=%2Fui%2Fqueue%3Fpost%3D{post_id}"
    digest = render(Outgoing("mentions", "digest", (_post_alert(post_id), _post_alert(post_id + 1))), links)
    queue = urlsplit(_buttons(digest.blocks)["review"])
    assert client.get(queue.path, headers=seeded.headers(Role.VIEWER)).status_code == 200


def test_every_post_object_of_the_api_links_to_its_page_in_the_ui(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine, api_settings: Settings
) -> None:
    rank(sqlite_engine, api_settings, seeded)
    viewer = seeded.headers(Role.VIEWER)
    listed = client.get("/api/posts?limit=100", headers=viewer).json()["items"]
    assert listed and all(p["ui_url"] == f"/ui/queue?post={p['id']}" for p in listed)
    post_id = seeded.posts["q-high"]
    one = client.get(f"/api/posts/{post_id}", headers=viewer).json()
    assert one["ui_url"] == f"/ui/queue?post={post_id}"
    queue = client.get("/api/curator/queue?limit=100", headers=viewer).json()["items"]
    assert queue and all(item["ui_url"] == f"/ui/queue?post={item['id']}" for item in queue)
    curated = client.get(f"/api/curator/posts/{post_id}", headers=viewer).json()
    assert curated["ui_url"] == f"/ui/queue?post={post_id}"
    assert client.get(one["ui_url"], headers=viewer).status_code == 200
