"""Rights requests on Reddit, YouTube and Instagram, end to end through praw, google-api-python-client and
the Graph API client against the simulator, on both stores.

Every collected post with a brand is asked; the rights job posts the request (a Reddit comment, a
YouTube comment or reply, an Instagram comment through the mentions edge), each simulated author
answers as the simulator's behaviour for that post says, and each request ends where that answer
leads. Instagram media found by hashtag are never commented on: their requests are manual.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from tesoro.collector.base import AuthFailed, CollectorError
from tesoro.collector.instagram import InstagramCollector
from tesoro.collector.reddit import RedditCollector
from tesoro.collector.registry import build_collector
from tesoro.collector.runner import store_page
from tesoro.collector.youtube import YouTubeCollector
from tesoro.curator.rights_requests import create_requests
from tesoro.jobs.tasks import collect_source, run_rights
from tesoro.settings import Settings
from tesoro.simulator import instagram as sim_ig
from tesoro.simulator import youtube as sim_yt
from tesoro.simulator.demo import demo_environment, demo_settings
from tesoro.simulator.faults import Fault
from tesoro.simulator.generator import generate_post
from tesoro.simulator.rights import mention_brand
from tesoro.simulator.server import SimulatorServer
from tesoro.store import rights as store
from tesoro.store.catalog import brand_by_name, sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post_view
from tesoro.store.sources import get_source
from tesoro.store.spend import recent_spend
from tesoro.store.tables import Post

SECRET = b"p" * 32
EXPECTED = {
    "hashtag": "granted",
    "words": "granted",
    "no": "declined",
    "question": "needs_review",
    "condition": "needs_review",
    "silence": "sent",
    "late": "sent",
    "other_account": "sent",
    "deleted": "sent",
}
SOURCES = {"reddit": "demo-reddit", "youtube": "demo-youtube", "instagram": "demo-instagram"}


def sim_ids(sim: SimulatorServer, platform: str) -> dict[str, int]:
    """The stored external id of each of the platform's simulated posts, to its simulator id."""
    out: dict[str, int] = {}
    world = sim.state.world
    for post in (*world.posts(platform), *world.deleted(platform)):
        if platform == "reddit":
            kind = "t1" if post.reply_to is not None else "t3"
            out[f"{kind}_{_base36(post.id)}"] = post.id
        elif platform == "youtube":
            out[sim_yt.video_id(post) if post.reply_to is None else sim_yt.comment_id(post.id)] = post.id
        else:
            out[sim_ig.media_id(post)] = post.id
    return out


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def _collect_mentions(
    sim: SimulatorServer, engine: Engine, settings: Settings, environ: dict[str, str]
) -> None:
    """What Meta's `mentions` webhook makes Tesoro collect: each media that @mentions the brand."""
    source = settings.source("demo-instagram")
    collector = build_collector(settings, source, environ, engine=engine)
    assert isinstance(collector, InstagramCollector)
    with session_scope(engine) as session:
        brand = brand_by_name(session, "Andes Outdoor")
        assert brand is not None
        brand_id = brand.id
    for post in sim.state.world.posts("instagram"):
        if sim_ig.mentions(post, sim.state.world.spec.handle):
            page = collector.mentioned_media(sim_ig.media_id(post))
            store_page(engine, page, source=source.name, brand_id=brand_id)


def _setup(
    sim: SimulatorServer,
    engine: Engine,
    tmp_path: Path,
    platform: str,
    environ_changes: dict[str, str] | None = None,
) -> tuple[Settings, dict[str, str], list[int]]:
    world = sim.state.world
    if platform == "instagram":
        world.generator = mention_brand(generate_post)
    world.grow(40, platforms=(platform,))
    world.late_after = timedelta(hours=5)
    settings = demo_settings(tmp_path, sim.base_url)
    caps = {platform: 1000}
    settings = settings.model_copy(
        update={"rights": settings.rights.model_copy(update={"daily_caps": caps, "batch_size": 500})}
    )
    environ = demo_environment({}, sim.state.credentials, sim.base_url) | (environ_changes or {})
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    if platform == "instagram":
        # Meta's webhook announces a mention as it is posted, before a hashtag search finds it.
        _collect_mentions(sim, engine, settings, environ)
    result = collect_source(engine, settings, SOURCES[platform], environ)
    assert result.status == "ok", result.error
    with session_scope(engine) as session:
        ids = [
            i
            for i in session.exec(
                select(Post.id).where(col(Post.brand_id).is_not(None), col(Post.platform) == platform)
            )
            if i is not None
        ]
        assert ids
        batch = create_requests(session, post_ids=ids, actor="maria", settings=settings.rights, secret=SECRET)
        assert batch.created, batch.skipped
        asked = [r.post_id for r, _ in batch.created]
    return settings, environ, asked


@pytest.mark.parametrize("platform", sorted(SOURCES))
def test_requests_are_posted_through_the_real_client_and_every_answer_ends_where_it_should(
    sim: SimulatorServer, engine: Engine, tmp_path: Path, platform: str
) -> None:
    settings, environ, asked = _setup(sim, engine, tmp_path, platform)
    report = run_rights(settings, engine, environ)
    ids = sim_ids(sim, platform)
    behaviours = sim.state.world.behaviours
    seen: dict[str, int] = {}
    channels: dict[str, int] = {}
    with session_scope(engine) as session:
        for post_id in asked:
            view = get_post_view(session, post_id=post_id)
            assert view is not None
            (request,) = store.list_requests(session, post_id=post_id)
            channels[request.channel] = channels.get(request.channel, 0) + 1
            if request.channel == "manual":
                # Instagram media that do not @mention the brand: the text to paste, never a comment.
                assert platform == "instagram"
                assert f"@{sim.state.world.spec.handle}" not in view.text.casefold()
                assert request.status == "sent" and request.reply_external_id is None
                continue
            if request.status == "failed":
                # A video whose owner turned comments off: YouTube refuses, the others go on.
                assert platform == "youtube" and "commentsDisabled" in (request.reason or ""), request.reason
                continue
            behaviour = behaviours[ids[view.external_id]]
            seen[behaviour] = seen.get(behaviour, 0) + 1
            assert request.status == EXPECTED[behaviour], (behaviour, request.status, request.reason)
            if request.status == "granted":
                (receipt,) = store.list_receipts(session, post_id=post_id)
                assert receipt.source == "reply" and receipt.reply_text
                assert platform == "instagram" or receipt.reply_url  # Meta gives a comment no link
                assert view.rights_status == "granted"
            if behaviour == "other_account":
                replies = store.replies_of(session, request_id=request.id or 0)
                assert replies and not any(r.from_author for r in replies)
    assert report["sent"] == channels.get("reply", 0) - report["failed"]
    assert {"hashtag", "no"} <= set(seen), seen
    if platform == "instagram":
        assert channels.get("manual") and channels.get("reply"), channels
    # The late answers arrive: the next pass, 6 simulated hours later, reads them and grants. (On the
    # simulator's clock: Reddit's 100 requests a minute are spent by now, and come back by then.)
    sim.state.world.skip(timedelta(hours=6))
    run_rights(settings, engine, environ, now=datetime.now(UTC) + timedelta(hours=6))
    with session_scope(engine) as session:
        for post_id in asked:
            view = get_post_view(session, post_id=post_id)
            assert view is not None
            if view.external_id in ids and behaviours.get(ids[view.external_id]) == "late":
                (request,) = store.list_requests(session, post_id=post_id)
                assert request.status == "granted"


def test_youtube_comments_spend_fifty_units_each_and_count_against_the_source(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings, environ, _ = _setup(sim, engine, tmp_path, "youtube")
    before = sim.state.spent.get("youtube", 0)
    report = run_rights(settings, engine, environ)
    with session_scope(engine) as session:
        # Every request sent is read once in the same pass.
        watched = report["sent"]
        row = get_source(session, "demo-youtube")
        assert row is not None and row.id is not None
        (spend,) = recent_spend(session, source_id=row.id, runs=1)
    # Each comment posted (or refused: YouTube charges the attempt) costs 50; each thread read 1.
    posted = report["sent"] + report["failed"]
    assert sim.state.spent["youtube"] - before == 50 * posted + watched
    assert spend.units == 50 * posted + watched and spend.calls == posted + watched


def test_with_a_wrong_brand_account_password_every_reddit_request_fails_with_the_reason(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings, environ, asked = _setup(
        sim, engine, tmp_path, "reddit", {"TESORO_DEMO_REDDIT_PASSWORD": "not-the-password"}
    )
    report = run_rights(settings, engine, environ)
    assert report["sent"] == 0 and report["failed"] == len(asked)
    with session_scope(engine) as session:
        reasons = {r.reason for r in store.list_requests(session, statuses=("failed",))}
    (reason,) = reasons
    assert reason and "Reddit refused the app credentials" in reason and "invalid_grant" in reason


def test_a_failing_comment_fails_one_request_and_the_others_go_out(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings, environ, asked = _setup(sim, engine, tmp_path, "reddit")
    # An answer praw cannot read fails that request (a 429 keeps it queued: see test_rights_e2e.py).
    sim.state.faults.inject("reddit.comment", Fault.MALFORMED, times=1)
    report = run_rights(settings, engine, environ)
    assert report["failed"] == 1 and report["sent"] == len(asked) - 1
    with session_scope(engine) as session:
        (failed,) = store.list_requests(session, statuses=("failed",))
        assert failed.reason


def test_youtube_without_the_channel_token_fails_each_request_with_what_to_set(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings, environ, asked = _setup(sim, engine, tmp_path, "youtube")
    source = settings.source("demo-youtube")
    without = {k: v for k, v in source.credentials.items() if k != "oauth_token_env"}
    settings = settings.model_copy(
        update={
            "sources": [
                s.model_copy(update={"credentials": without}) if s.name == source.name else s
                for s in settings.sources
            ]
        }
    )
    report = run_rights(settings, engine, environ)
    assert report["sent"] == 0 and report["failed"] == len(asked)
    with session_scope(engine) as session:
        reasons = {r.reason for r in store.list_requests(session, statuses=("failed",))}
    assert reasons == {"posting on YouTube needs the channel's OAuth token: set credentials oauth_token_env"}
    assert sim.state.world.behaviours == {}  # nothing reached YouTube


def test_a_mention_first_found_by_hashtag_gets_its_owner_from_the_mention_and_is_asked_under_it(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    world = sim.state.world
    world.generator = mention_brand(generate_post)
    world.grow(40, platforms=("instagram",))
    settings = demo_settings(tmp_path, sim.base_url)
    environ = demo_environment({}, sim.state.credentials, sim.base_url)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
    # The hashtag search stores the media first, without their owner; the webhook's later read of the
    # mention names the owner, the post takes it, and the request goes under the media as a comment.
    assert collect_source(engine, settings, "demo-instagram", environ).status == "ok"
    with session_scope(engine) as session:
        # Hashtag media come without their owner (tagged media name it).
        by_hashtag = {
            p.id
            for p in session.exec(select(Post).where(col(Post.platform) == "instagram"))
            if p.id is not None
            and "andesoutdoor" in p.mentions
            and (store.author_external_id(session, author_id=p.author_id) or "").startswith("media:")
        }
    assert by_hashtag
    _collect_mentions(sim, engine, settings, environ)
    with session_scope(engine) as session:
        batch = create_requests(
            session, post_ids=sorted(by_hashtag), actor="maria", settings=settings.rights, secret=SECRET
        )
        assert len(batch.created) == len(by_hashtag)
        assert {r.channel for r, _ in batch.created} == {"reply"}
        owners = {
            store.author_external_id(session, author_id=p.author_id)
            for p in session.exec(select(Post).where(col(Post.id).in_(sorted(by_hashtag))))
        }
        assert owners and not any((o or "media:").startswith("media:") for o in owners)
    report = run_rights(settings, engine, environ)  # within the platform's daily cap; the rest wait
    assert report["sent"] > 0 and report["failed"] == 0
    assert report["sent"] + report["waiting"] == len(by_hashtag)


def test_a_request_under_a_reddit_comment_is_read_from_its_submissions_forest(sim: SimulatorServer) -> None:
    world = sim.state.world
    world.grow(40, platforms=("reddit",))
    world.late_after = timedelta(hours=5)
    creds = sim.state.credentials
    reddit = RedditCollector(
        query="andes",
        client_id=creds.reddit_client_id,
        client_secret=creds.reddit_client_secret,
        username=creds.reddit_username,
        password=creds.reddit_password,
        base_url=sim.base_url,
        subreddits=world.spec.subreddits,
    )
    comments = [p for p in world.posts("reddit") if p.reply_to is not None]
    answered = 0
    for comment in comments[:12]:
        target = f"t1_{_base36(comment.id)}"
        reply_id, url = reddit.post_reply(post_external_id=target, text="May we share this? Reply #YesAndes")
        assert (
            reply_id.startswith("t1_")
            and "@t3_" in reply_id
            and url
            and url.startswith("https://www.reddit.com/r/")
        )
        replies = reddit.fetch_replies(post_external_id=target, reply_id=reply_id)
        behaviour = world.behaviours[comment.id]
        from_author = [r for r in replies if r.author_external_id == f"t2_{_base36(comment.author.id)}"]
        if behaviour in ("hashtag", "words", "no", "question", "condition"):
            assert len(from_author) == 1 and from_author[0].created_at is not None, behaviour
            answered += 1
        else:
            assert from_author == [], behaviour
    assert answered
    # Without the brand's account, posting is refused before any call; reading needs none.
    reader = RedditCollector(
        query="andes",
        client_id=creds.reddit_client_id,
        client_secret=creds.reddit_client_secret,
        base_url=sim.base_url,
    )
    with pytest.raises(AuthFailed, match="username_env and password_env"):
        reader.post_reply(post_external_id=f"t3_{_base36(comments[0].reply_to or 0)}", text="hi")
    with pytest.raises(CollectorError, match="not a Reddit submission or comment"):
        reddit.post_reply(post_external_id="42", text="hi")


def test_a_thread_whose_post_was_deleted_reads_as_no_replies_on_each_platform(sim: SimulatorServer) -> None:
    world = sim.state.world
    world.generator = mention_brand(generate_post)
    world.grow(20, platforms=("reddit", "youtube", "instagram"))
    creds = sim.state.credentials
    reddit = RedditCollector(
        query="andes",
        client_id=creds.reddit_client_id,
        client_secret=creds.reddit_client_secret,
        username=creds.reddit_username,
        password=creds.reddit_password,
        base_url=sim.base_url,
    )
    youtube = YouTubeCollector(
        query="andes",
        api_key=creds.youtube_api_key,
        oauth_token=creds.youtube_oauth_token,
        base_url=sim.base_url,
    )
    instagram = InstagramCollector(
        access_token=creds.instagram_token,
        account_id=creds.instagram_user_id,
        base_url=f"{sim.base_url}/instagram/v21.0",
    )
    submission = next(p for p in world.posts("reddit") if p.reply_to is None)
    video = next(p for p in world.posts("youtube") if p.reply_to is None and not p.author.is_bot)
    media = next(p for p in world.posts("instagram") if sim_ig.mentions(p, world.spec.handle))
    cases = [
        (youtube, video.id, sim_yt.video_id(video)),
        (instagram, media.id, sim_ig.media_id(media)),
    ]
    # YouTube and Instagram delete the comments with their video or media.
    for channel, sim_id, external_id in cases:
        reply_id, _ = channel.post_reply(post_external_id=external_id, text="May we share this? #YesAndes")
        if world.find(sim_id) is not None:
            world.delete(sim_id)
        assert channel.fetch_replies(post_external_id=external_id, reply_id=reply_id) == [], external_id
    # Reddit keeps a deleted submission's comments (its own text emptied): the answers stay readable.
    target = f"t3_{_base36(submission.id)}"
    reply_id, _ = reddit.post_reply(post_external_id=target, text="May we share this? #YesAndes")
    before = reddit.fetch_replies(post_external_id=target, reply_id=reply_id)
    world.delete(submission.id)
    assert reddit.fetch_replies(post_external_id=target, reply_id=reply_id) == before
    # A submission Reddit does not have at all (404) has no replies.
    assert reddit.fetch_replies(post_external_id="t3_zzzzzz", reply_id="t1_zzzzzz") == []


def test_past_the_youtube_budget_left_requests_wait_in_the_queue_instead_of_failing(
    sim: SimulatorServer, engine: Engine, tmp_path: Path
) -> None:
    settings, environ, asked = _setup(sim, engine, tmp_path, "youtube")
    with session_scope(engine) as session:
        row = get_source(session, "demo-youtube")
        assert row is not None and row.id is not None
        used = sum(r.units for r in recent_spend(session, source_id=row.id, runs=50))
    # Room for one comment (50 units) and a few reads, not two comments.
    source = settings.source("demo-youtube")
    tight = source.model_copy(update={"quota": source.quota.model_copy(update={"limit": used + 60})})
    settings = settings.model_copy(
        update={"sources": [tight if s.name == source.name else s for s in settings.sources]}
    )
    report = run_rights(settings, engine, environ)
    assert report["sent"] + report["failed"] == 1 and report["waiting"] == len(asked) - 1, report
    with session_scope(engine) as session:
        assert len(store.list_requests(session, statuses=("queued",))) == len(asked) - 1
        spent = sum(r.units for r in recent_spend(session, source_id=row.id, runs=50))
    assert used + 50 <= spent <= used + 60
