"""Issue 22, small things: an enumerated query parameter answers 422 with the allowed values, never []."""

from __future__ import annotations

from typing import get_args

import pytest
from fastapi.testclient import TestClient

from tesoro.api.schemas.query import (
    ContentTypeName,
    PlatformName,
    QueueStateName,
    RightsStateName,
    SentimentLabel,
)
from tesoro.models import CONTENT_TYPES, Platform
from tesoro.store.keys import Role
from tesoro.store.tables import QueueState, RightsState
from worlds.api import Seeded


@pytest.fixture
def client(shared_api: tuple[TestClient, Seeded]) -> TestClient:
    """One app for the module: its tests only read."""
    return shared_api[0]


@pytest.fixture
def seeded(shared_api: tuple[TestClient, Seeded]) -> Seeded:
    return shared_api[1]


def test_each_literal_holds_exactly_its_enums_values() -> None:
    assert set(get_args(PlatformName)) == {p.value for p in Platform}
    assert set(get_args(QueueStateName)) == {s.value for s in QueueState}
    assert set(get_args(RightsStateName)) == {r.value for r in RightsState}
    assert set(get_args(ContentTypeName)) == set(CONTENT_TYPES)
    assert set(get_args(SentimentLabel)) == {"negative", "neutral", "positive"}


# Every GET with an enumerated query parameter, with a value outside its set.
UNKNOWN = [
    ("/api/posts?platform=myspace", "platform", "'reddit'"),
    ("/api/curator/queue?platform=myspace", "platform", "'mastodon'"),
    ("/api/curator/queue?content_type=selfie", "content_type", "'unboxing'"),
    ("/api/curator/queue/filtered?platform=myspace", "platform", "'x'"),
    ("/api/curator/library?platform=myspace", "platform", "'bluesky'"),
    ("/api/curator/library?content_type=selfie", "content_type", "'photo'"),
    ("/api/curator/library?state=lost", "state", "'featured'"),
    ("/api/curator/library?rights=maybe", "rights", "'granted'"),
    ("/api/curator/library?sentiment=angry", "sentiment", "'positive'"),
    ("/api/kpis?platform=myspace", "platform", "'threads'"),
    ("/api/kpis/volume?platform=myspace", "platform", "'threads'"),
    ("/api/kpis/share-of-voice?platform=myspace", "platform", "'x'"),
    ("/api/charts/volume.svg?platform=myspace", "platform", "'x'"),
    ("/api/alerts?status=lost", "status", "'pending'"),
    ("/api/alerts/deliveries?status=lost", "status", "'rate_limited'"),
]


@pytest.mark.parametrize(("url", "name", "allowed"), UNKNOWN)
def test_an_unknown_value_is_a_422_naming_the_allowed_ones(
    client: TestClient, seeded: Seeded, url: str, name: str, allowed: str
) -> None:
    response = client.get(url, headers=seeded.headers(Role.ADMIN))
    assert response.status_code == 422, (url, response.status_code, response.text[:300])
    errors = response.json()["detail"]
    assert [e["loc"][-1] for e in errors] == [name] or errors[0]["loc"][1] == name
    assert allowed in errors[0]["msg"]  # "Input should be 'x', 'reddit', ..."


def test_a_known_value_still_filters(client: TestClient, seeded: Seeded) -> None:
    headers = seeded.headers(Role.ADMIN)
    every = client.get("/api/posts", headers=headers).json()["total"]
    x_only = client.get("/api/posts?platform=x", headers=headers).json()
    assert every > x_only["total"] >= 1
    assert {p["platform"] for p in x_only["items"]} == {"x"}
    assert client.get("/api/curator/library?state=new&content_type=photo", headers=headers).status_code == 200
