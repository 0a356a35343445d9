"""`gone`, the gallery re-check's question: does the platform still have these posts?

Real clients (tweepy, Mastodon.py, atproto, praw) against the simulator's lookup endpoints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tesoro.collector.base import PostLookup, RateLimited, TransientError
from tesoro.collector.bluesky import BlueskyCollector
from tesoro.collector.mastodon import MastodonCollector
from tesoro.collector.reddit import RedditCollector
from tesoro.collector.x import XCollector
from tesoro.simulator import bluesky as bsky
from tesoro.simulator import reddit as sim_reddit
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


def bluesky_lookup(sim: SimulatorServer) -> BlueskyCollector:
    creds = sim.state.credentials
    return BlueskyCollector(
        query="cumbre",
        handle=creds.bluesky_handle,
        password=creds.bluesky_password,
        base_url=f"{sim.base_url}/bsky",
        timeout_s=5.0,
    )


def reddit_lookup(sim: SimulatorServer) -> RedditCollector:
    creds = sim.state.credentials
    return RedditCollector(
        query="cumbre",
        client_id=creds.reddit_client_id,
        client_secret=creds.reddit_client_secret,
        base_url=sim.base_url,
        timeout_s=5.0,
    )


def test_bluesky_a_post_absent_from_get_posts_is_gone(sim: SimulatorServer) -> None:
    world = sim.state.world
    posts = [add(world, "bluesky") for _ in range(30)]
    suspended = add(world, "bluesky", author=SUSPENDED)
    world.delete(posts[2].id)
    world.delete(posts[27].id)
    calls = sim.state.faults.calls["bluesky.posts"]

    gone = bluesky_lookup(sim).gone([bsky.post_uri(p) for p in [*posts, suspended]] + ["https://not.a.uri"])

    # 31 uris take two calls of at most 25; a deleted post and a taken-down author's post are absent.
    assert gone == {bsky.post_uri(posts[2]), bsky.post_uri(posts[27]), bsky.post_uri(suspended)}
    assert sim.state.faults.calls["bluesky.posts"] - calls == 2


@pytest.mark.parametrize(
    ("fault", "error"), [(Fault.RATE_LIMIT, RateLimited), (Fault.SERVER_ERROR, TransientError)]
)
def test_bluesky_lookup_failures_raise_instead_of_answering(
    sim: SimulatorServer, fault: Fault, error: type[Exception]
) -> None:
    post = add(sim.state.world, "bluesky")
    lookup = bluesky_lookup(sim)
    sim.state.faults.inject("bluesky.posts", fault)
    with pytest.raises(error):
        lookup.gone([bsky.post_uri(post)])
    assert lookup.gone([bsky.post_uri(post)]) == frozenset()


def test_reddit_a_deleted_submission_or_comment_is_gone(sim: SimulatorServer) -> None:
    world = sim.state.world
    kept = add(world, "reddit", title="Cumbre review", subreddit="trailrunning")
    deleted = add(world, "reddit", title="Cumbre again", subreddit="trailrunning")
    comment = add(world, "reddit", text="mine too", reply_to=kept.id, subreddit="trailrunning")
    world.delete(deleted.id)
    world.delete(comment.id)
    names = [f"t3_{sim_reddit.base36(kept.id)}", f"t3_{sim_reddit.base36(deleted.id)}"]
    names.append(f"t1_{sim_reddit.base36(comment.id)}")

    gone = reddit_lookup(sim).gone([*names, "t3_zzzzzz", "not a fullname"])

    # Reddit still lists what was deleted, emptied; a fullname it does not list is not concluded gone.
    assert gone == {names[1], names[2]}


def test_reddit_lookup_failures_raise_instead_of_answering(sim: SimulatorServer) -> None:
    post = add(sim.state.world, "reddit", title="Cumbre review", subreddit="trailrunning")
    sim.state.world.delete(post.id)
    name = f"t3_{sim_reddit.base36(post.id)}"
    lookup = reddit_lookup(sim)
    sim.state.faults.inject("reddit.info", Fault.RATE_LIMIT)
    with pytest.raises(RateLimited):
        lookup.gone([name])
    assert lookup.gone([name]) == {name}
