"""`gone`, the gallery re-check's question: does the platform still have these posts?

Real clients (tweepy, Mastodon.py) against the simulator's lookup endpoints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tesoro.collector.base import PostLookup, RateLimited, TransientError
from tesoro.collector.mastodon import MastodonCollector
from tesoro.collector.x import XCollector
from tesoro.simulator.faults import Fault
from tesoro.simulator.model import SimAuthor, SimPost
from tesoro.simulator.server import SimulatorServer
from tesoro.simulator.world import World

WHEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ANA = SimAuthor(7, "ana", "Ana", followers=10, following=5)
SUSPENDED = SimAuthor(8, "spammer", "Spammer", followers=1, following=900, gone=True)


def add(world: World, platform: str, text: str = "Cumbre after 100 km", **fields: Any) -> SimPost:
    values: dict[str, Any] = {
        "id": world.next_id(),
        "platform": platform,
        "created_at": WHEN,
        "text": text,
        "lang": "en",
        "author": ANA,
        "kind": "review",
    } | fields
    post = SimPost(**values)
    world.add(post)
    return post


def x_lookup(sim: SimulatorServer) -> XCollector:
    return XCollector(query="cumbre", bearer_token=sim.state.credentials.x_bearer, base_url=sim.base_url)


def mastodon_lookup(sim: SimulatorServer) -> MastodonCollector:
    return MastodonCollector(
        query="#andesoutdoor",
        access_token=sim.state.credentials.mastodon_token,
        base_url=f"{sim.base_url}/mastodon",
        timeout_s=5.0,
    )


def test_x_names_the_deleted_tweets_among_more_than_one_call_of_ids(sim: SimulatorServer) -> None:
    world = sim.state.world
    posts = [add(world, "x") for _ in range(150)]
    edited = world.edit(posts[3].id, text="Cumbre after 120 km")
    for post in (posts[0], posts[120], posts[3]):
        world.delete(post.id)
    lookup = x_lookup(sim)
    assert isinstance(lookup, PostLookup)
    calls = sim.state.faults.calls["x.lookup"]

    gone = lookup.gone([str(p.id) for p in posts] + ["not-an-id"])

    # Deleting an edited tweet deletes its whole chain; 150 ids take two calls of at most 100.
    assert gone == {str(posts[0].id), str(posts[120].id), str(posts[3].id)}
    assert str(edited.id) not in {str(p.id) for p in world.posts("x")}
    assert sim.state.faults.calls["x.lookup"] - calls == 2


def test_x_lookup_failures_raise_instead_of_answering(sim: SimulatorServer) -> None:
    post = add(sim.state.world, "x")
    sim.state.world.delete(post.id)
    lookup = x_lookup(sim)
    sim.state.faults.inject("x.lookup", Fault.RATE_LIMIT)
    with pytest.raises(RateLimited):
        lookup.gone([str(post.id)])
    sim.state.faults.inject("x.lookup", Fault.SERVER_ERROR)
    with pytest.raises(TransientError):
        lookup.gone([str(post.id)])
    assert lookup.gone([str(post.id)]) == {str(post.id)}


def test_the_simulated_x_lookup_takes_at_most_100_ids(sim: SimulatorServer) -> None:
    headers = {"Authorization": f"Bearer {sim.state.credentials.x_bearer}"}
    many = ",".join(str(i) for i in range(1, 102))
    answer = requests.get(f"{sim.base_url}/2/tweets", params={"ids": many}, headers=headers, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["parameters"] == {"ids": [many]}


def test_mastodon_a_deleted_status_or_a_suspended_author_is_gone(sim: SimulatorServer) -> None:
    world = sim.state.world
    kept, deleted = add(world, "mastodon"), add(world, "mastodon")
    suspended = add(world, "mastodon", author=SUSPENDED)
    world.delete(deleted.id)

    gone = mastodon_lookup(sim).gone([str(kept.id), str(deleted.id), str(suspended.id), "!bad"])

    assert gone == {str(deleted.id), str(suspended.id)}


@pytest.mark.parametrize(
    ("fault", "error"), [(Fault.RATE_LIMIT, RateLimited), (Fault.SERVER_ERROR, TransientError)]
)
def test_mastodon_lookup_failures_raise_instead_of_answering(
    sim: SimulatorServer, fault: Fault, error: type[Exception]
) -> None:
    post = add(sim.state.world, "mastodon")
    sim.state.world.delete(post.id)
    lookup = mastodon_lookup(sim)
    sim.state.faults.inject("mastodon.status", fault)
    with pytest.raises(error):
        lookup.gone([str(post.id)])
    assert lookup.gone([str(post.id)]) == {str(post.id)}
