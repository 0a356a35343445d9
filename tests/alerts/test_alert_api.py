"""The alerts API: rules CRUD with validation, the outbox and the delivery log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tesoro.alerts.delivery import deliver_pending
from tesoro.alerts.rules import evaluate_rules
from tesoro.api.app import init_state
from tesoro.api.routes.alerts import router
from tesoro.settings import Settings
from worlds.alerts import T0, Seeder, make_settings

SeederFor = Callable[[Settings], Seeder]


def client_for(seeder: Seeder) -> TestClient:
    app = FastAPI()
    init_state(app, seeder.settings, seeder.engine)
    app.include_router(router)
    return TestClient(app)


def test_rules_can_be_listed_created_edited_and_deleted(seeder_for: SeederFor) -> None:
    seeder = seeder_for(make_settings([{"name": "from-file", "kind": "new_mention", "query": "andes"}]))
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    client = client_for(seeder)

    [listed] = client.get("/api/alerts/rules").json()
    assert listed["name"] == "from-file" and listed["origin"] == "settings" and listed["edited"] is False

    created = client.post(
        "/api/alerts/rules",
        json={"name": "vip", "kind": "negative_influencer", "min_followers": 5000, "cooldown": "2h"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["config"]["cooldown"] == 7200 and created.json()["origin"] == "api"
    assert client.post("/api/alerts/rules", json={"name": "vip", "kind": "new_mention"}).status_code == 409

    edited = client.patch("/api/alerts/rules/from-file", json={"cooldown": "30m", "enabled": False})
    assert edited.status_code == 200
    assert edited.json()["config"]["cooldown"] == 1800 and edited.json()["enabled"] is False
    assert edited.json()["edited"] is True
    # A restart with the same file keeps the edit.
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + timedelta(minutes=1))
    assert client.get("/api/alerts/rules/from-file").json()["config"]["cooldown"] == 1800

    assert client.delete("/api/alerts/rules/from-file").status_code == 409
    assert client.delete("/api/alerts/rules/vip").status_code == 204
    assert client.get("/api/alerts/rules/vip").status_code == 404


def test_bad_rules_are_refused_with_the_key_and_the_reason(seeder_for: SeederFor) -> None:
    seeder = seeder_for(make_settings())
    client = client_for(seeder)
    cases = [
        ({"name": "x", "kind": "negative_influencer"}, "min_followers"),
        ({"name": "x", "kind": "new_mention", "brand": "Nope"}, "unknown brand"),
        ({"name": "x", "kind": "new_mention", "query": "nope"}, "unknown listening query"),
        ({"name": "x", "kind": "new_mention", "filter": "nike OR"}, "must be followed by a term"),
        ({"name": "x", "kind": "volume_spike", "window": "90m"}, "whole hours"),
        ({"name": "x", "kind": "new_mention", "colour": "red"}, "Extra inputs"),
        ({"name": "Bad Name", "kind": "new_mention"}, "lower-case"),
    ]
    for body, reason in cases:
        response = client.post("/api/alerts/rules", json=body)
        assert response.status_code == 422, body
        assert reason in response.text, (body, response.text)
    client.post("/api/alerts/rules", json={"name": "ok", "kind": "new_mention"})
    assert client.patch("/api/alerts/rules/ok", json={"name": "renamed"}).status_code == 422
    assert client.patch("/api/alerts/rules/ok", json={"min_score": 0.5}).status_code == 422


def test_alerts_and_the_delivery_log_are_readable(seeder_for: SeederFor) -> None:
    seeder = seeder_for(make_settings([{"name": "mentions", "kind": "new_mention", "query": "andes"}]))
    evaluate_rules(seeder.engine, seeder.settings, now=T0)
    seeder.posts(["cumbre <b>bold</b>"], collected_at=T0 + timedelta(minutes=1))
    evaluate_rules(seeder.engine, seeder.settings, now=T0 + timedelta(minutes=2))
    deliver_pending(seeder.engine, seeder.settings, now=T0 + timedelta(minutes=3), environ={})
    client = client_for(seeder)

    body = client.get("/api/alerts", params={"status": "pending"}).json()
    assert body["counts"] == {"pending": 1}
    [alert] = body["items"]
    assert alert["rule"] == "mentions" and alert["attempts"] == 1
    assert alert["payload"]["post"]["text"] == "cumbre <b>bold</b>", "raw in JSON; the UI escapes"
    assert alert["next_attempt_at"].endswith("+00:00")
    [log] = client.get("/api/alerts/deliveries").json()
    assert log["id"] in alert["deliveries"]
    assert (log["channel"], log["status"]) == ("none", "failed")
    assert client.get("/api/alerts", params={"status": "lost"}).status_code == 422
