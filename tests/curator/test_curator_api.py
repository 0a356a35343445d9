"""The curator's HTTP routes, mounted on a bare app (the real app adds authentication around them)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import init_state
from tesoro.api.routes import library as library_routes
from tesoro.api.routes import queue as queue_routes
from tesoro.api.routes import ranker as ranker_routes
from tesoro.curator.ranking import rank_posts
from worlds.curator import NOW, Spec, catalog_settings, seed, tiny_encode

HOSTILE = '<img src=x onerror=alert(1)> Cumbre shoes are great on the "trail" & rocks'


def test_queue_decisions_library_and_undo_over_http(sqlite_engine: Engine) -> None:
    settings = catalog_settings()
    data = seed(
        sqlite_engine,
        [
            Spec(
                "a",
                HOSTILE,
                content_types=("video",),
                media=("video",),
                product="Cumbre Trail Runner",
                author="ana",
            ),
            Spec(
                "b",
                "Nube rain jacket review after a wet week in the hills, 4 stars",
                content_types=("review",),
                platform="reddit",
                author="tom",
                hours_ago=3,
            ),
            Spec("c", "Free crypto giveaway click here now for Cumbre shoes", spam=0.97, author="bot"),
        ],
        settings,
    )
    rank_posts(sqlite_engine, settings.curator, now=NOW)
    app = FastAPI()
    init_state(app, settings, sqlite_engine, encode=tiny_encode)
    for router in (queue_routes.router, library_routes.router, ranker_routes.router):
        app.include_router(router)
    client = TestClient(app)
    headers = {"X-Tesoro-Actor": "lucia"}

    queue = client.get("/api/curator/queue").json()
    assert [i["id"] for i in queue["items"]] == [data.ids["a"], data.ids["b"]]
    first = queue["items"][0]
    assert first["text"] == HOSTILE  # raw: the UI escapes
    assert first["media"][0]["url"] is None  # not an allowed media host
    assert first["product"]["name"] == "Cumbre Trail Runner" and first["product"]["assigned"] is False
    assert set(first["treasure"]["components"]) >= {"relevance", "content", "safety"}
    filtered = client.get("/api/curator/queue/filtered").json()
    assert [(i["id"], i["treasure"]["filtered"]) for i in filtered["items"]] == [
        (data.ids["c"], "spam (0.97)")
    ]
    assert client.get("/api/curator/queue", params={"content_type": "review"}).json()["total"] == 1
    assert client.get("/api/curator/queue", params={"content_type": "nonsense"}).status_code == 422

    a, b = data.ids["a"], data.ids["b"]
    r = client.post(
        f"/api/curator/posts/{a}/decision", json={"action": "approve", "note": "lovely"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["applied"][0]["to_state"] == "approved"
    assert client.post(f"/api/curator/posts/{a}/decision", json={"action": "approve"}).status_code == 409
    assert client.post("/api/curator/posts/99999/decision", json={"action": "approve"}).status_code == 404
    assert client.post(f"/api/curator/posts/{a}/decision", json={"action": "explode"}).status_code == 422
    r = client.post(f"/api/curator/posts/{a}/tags", json={"add": ["Trail", "hero"]}, headers=headers)
    assert r.status_code == 200
    nube = data.products["Nube Rain Jacket"]
    assert (
        client.post(f"/api/curator/posts/{b}/product", json={"product_id": nube}, headers=headers).status_code
        == 200
    )
    assert (
        client.post(f"/api/curator/posts/{b}/rights", json={"status": "granted"}, headers=headers).status_code
        == 200
    )
    assert client.post(f"/api/curator/posts/{b}/rights", json={"status": "maybe"}).status_code == 422
    bulk = client.post(
        "/api/curator/decisions/bulk", json={"post_ids": [a, b], "action": "feature"}, headers=headers
    )
    assert [o["post_id"] for o in bulk.json()["applied"]] == [a, b]

    library = client.get("/api/curator/library", params={"q": "trail"}).json()
    assert [i["id"] for i in library["items"]] == [a] and library["sort"] == "relevance"
    assert library["items"][0]["tags"] == ["hero", "trail"]
    facets = client.get("/api/curator/library", params={"platform": "reddit"}).json()
    assert facets["total"] == 1
    assert {f["value"]: f["count"] for f in facets["facets"]["platform"]} == {"x": 1, "reddit": 1}
    product_facet = facets["facets"]["product"]
    assert {"value": nube, "count": 1, "label": "Nube Rain Jacket"} in product_facet
    meaning = client.get(
        "/api/curator/library", params={"meaning": "rain jacket in the hills", "min_similarity": 0.2}
    )
    assert meaning.json()["items"][0]["id"] == b
    dated = client.get(
        "/api/curator/library", params={"date_from": "2026-11-20", "date_to": "2026-11-20"}
    ).json()
    assert dated["total"] == 2
    assert client.get("/api/curator/library", params={"date_from": "yesterday"}).status_code == 422
    assert client.get("/api/curator/library", params={"q": '"open'}).status_code == 422

    detail = client.get(f"/api/curator/posts/{a}").json()
    assert [d["action"] for d in detail["decisions"]] == ["feature", "tag", "approve"]
    assert detail["decisions"][-1]["actor"] == "lucia" and detail["decisions"][-1]["note"] == "lovely"
    assert client.get("/api/curator/posts/99999").status_code == 404

    undo = client.post("/api/curator/decisions/undo", headers=headers).json()
    assert sorted(o["post_id"] for o in undo["restored"]) == [a, b]
    assert client.get("/api/curator/library", params={"state": "featured"}).json()["total"] == 0
    log = client.get("/api/curator/decisions", params={"actor": "lucia"}).json()["items"]
    assert log[0]["action"] == "undo"
    assert client.post("/api/curator/decisions/undo").status_code == 409  # anonymous has nothing to undo

    assert client.get("/api/curator/tags").json()["items"] == [
        {"tag": "hero", "count": 1},
        {"tag": "trail", "count": 1},
    ]
    products = client.get("/api/curator/products").json()["items"]
    assert {p["name"] for p in products} == {"Cumbre Trail Runner", "Nube Rain Jacket", "Ola Board"}
    trained = client.post("/api/curator/ranker/train").json()["items"]
    assert trained and not any(r["trained"] for r in trained)
    assert client.get("/api/curator/ranker").json() == {"items": []}
    assert client.post("/api/curator/rank").json()["ranked"] >= 0
