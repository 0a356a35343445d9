"""A small, hand-counted world for the relationship and KPI tests (fixtures in conftest.py).

November 2026 is the KPI window; everything the tests assert is counted by hand
from the table below (ids are labels, the store assigns its own numbers):

| post | author          | when      | text / facts                                             | sentiment |
| ---- | --------------- | --------- | -------------------------------------------------------- | --------- |
| p1   | ana (x, 1000)   | Nov 3     | photo, @friend1, 10/2/1/0, approved Nov 5, rights granted | positive  |
| p2   | ana (x)         | Oct 10    | likes 1                                                  | neutral   |
| p3   | ben (x, 500)    | Nov 10    | "worse than Salomon", likes 4 replies 2                  | negative  |
| p4   | andesoutdoor (x)| Nov 11    | the brand replies to p3                                  | -         |
| p5   | ben (x)         | Nov 12    | replies to p4                                            | positive  |
| p6   | caro (reddit)   | Nov 15    | "Patagonia vs Andes Outdoor", review, likes 20 replies 5 | positive  |
| p7   | dan (mastodon)  | Nov 20    | #andesoutdoor, likes 3 reposts 1                         | unscored  |
| p8   | ana (bluesky)   | Nov 25    | replies to someone else's post, views 0                  | positive  |
| p9   | eve (x), no brand | Nov 5   | "Salomon and Patagonia"                                  | positive  |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tesoro.models import (
    MediaType,
    NormalizedAuthor,
    NormalizedMedia,
    NormalizedPost,
    Platform,
    PostMetrics,
)
from tesoro.settings import (
    BrandSettings,
    QuerySettings,
    RelationshipSettings,
    RoeEffort,
    RoeSettings,
    Settings,
)
from tesoro.store.catalog import brand_by_name, sync_catalog
from tesoro.store.engine import session_scope
from tesoro.store.posts import get_post, upsert_posts
from tesoro.store.scores import save_scores
from tesoro.store.tables import Author, CurationDecision, Post

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
NOV = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
BRAND = "Andes Outdoor"


def insights_settings(tmp_path: Path, **relationship: object) -> Settings:
    return Settings(
        data_dir=tmp_path,
        brands=[
            BrandSettings(
                name=BRAND,
                handles={"x": "andesoutdoor", "bluesky": "andesoutdoor.bsky.social"},
                hashtags=["andesoutdoor"],
                competitors=["Patagonia", "Salomon"],
            )
        ],
        queries=[QuerySettings(name="andes", brand=BRAND, query="cumbre OR andesoutdoor")],
        relationship=RelationshipSettings.model_validate(relationship),
        roe=RoeSettings(
            effort=[
                RoeEffort(brand=BRAND, start=date(2026, 10, 1), end=date(2026, 10, 31), hours=1),
                RoeEffort(brand=BRAND, start=date(2026, 11, 1), end=date(2026, 11, 30), hours=10, spend=100),
                RoeEffort(
                    brand=BRAND,
                    hashtag="#andesoutdoor",
                    start=date(2026, 11, 1),
                    end=date(2026, 11, 30),
                    hours=2,
                ),
            ]
        ),
    )


def _author(
    platform: Platform, handle: str, followers: int | None, bio: str | None = None
) -> NormalizedAuthor:
    return NormalizedAuthor(
        platform, external_id=f"{platform.value}-{handle}", handle=handle, followers=followers, bio=bio
    )


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, 0, tzinfo=UTC)


@dataclass
class World:
    engine: Engine
    settings: Settings
    authors: dict[str, int] = field(default_factory=dict)
    posts: dict[str, int] = field(default_factory=dict)


def build_world(engine: Engine, settings: Settings) -> World:
    ana = _author(Platform.X, "ana", 1000, bio="trail runner. also ana.bsky.social")
    ana_sky = _author(Platform.BLUESKY, "ana.bsky.social", 200)
    ben = _author(Platform.X, "ben", 500)
    brand = _author(Platform.X, "andesoutdoor", 50_000)
    caro = _author(Platform.REDDIT, "caro", None)
    dan = _author(Platform.MASTODON, "dan@mastodon.social", 100)
    eve = _author(Platform.X, "eve", 10)

    def post(
        label: str,
        who: NormalizedAuthor,
        when: datetime,
        text: str,
        *,
        likes: int = 0,
        reposts: int = 0,
        replies: int = 0,
        views: int | None = None,
        reply_to: str | None = None,
        mentions: tuple[str, ...] = (),
        hashtags: tuple[str, ...] = (),
        photo: bool = False,
    ) -> NormalizedPost:
        media = (
            (NormalizedMedia(MediaType.PHOTO, f"https://pbs.twimg.com/media/{label}.jpg"),) if photo else ()
        )
        return NormalizedPost(
            platform=who.platform,
            external_id=label,
            text=text,
            created_at=when,
            author=who,
            metrics=PostMetrics(likes=likes, reposts=reposts, replies=replies, views=views),
            reply_to_id=reply_to,
            mentions=mentions,
            hashtags=hashtags,
            media=media,
        )

    branded = [
        post(
            "p1",
            ana,
            _at(11, 3),
            "Love my Cumbre, thanks @friend1",
            likes=10,
            reposts=2,
            replies=1,
            mentions=("friend1",),
            photo=True,
        ),
        post("p2", ana, _at(10, 10), "The Cumbre is ok", likes=1),
        post("p3", ben, _at(11, 10), "My Cumbre broke after a week, worse than Salomon", likes=4, replies=2),
        post("p4", brand, _at(11, 11), "@ben sorry to hear that, DM us", reply_to="p3", mentions=("ben",)),
        post(
            "p5", ben, _at(11, 12), "@andesoutdoor thanks, solved", reply_to="p4", mentions=("andesoutdoor",)
        ),
        post("p6", caro, _at(11, 15), "Patagonia vs Andes Outdoor review: Andes wins", likes=20, replies=5),
        post(
            "p7", dan, _at(11, 20), "New #andesoutdoor jacket", likes=3, reposts=1, hashtags=("andesoutdoor",)
        ),
        post("p8", ana_sky, _at(11, 25), "yes, the Nube jacket is great", views=0, reply_to="elsewhere-1"),
    ]
    other = [post("p9", eve, _at(11, 5), "Salomon and Patagonia are both great")]
    world = World(engine=engine, settings=settings)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
        brand_row = brand_by_name(session, settings.brands[0].name)
        assert brand_row is not None
        upsert_posts(session, branded, brand_id=brand_row.id)
        upsert_posts(session, other)
        for label in [p.external_id for p in branded + other]:
            platform = next(p.platform.value for p in branded + other if p.external_id == label)
            row = get_post(session, platform=platform, external_id=label)
            assert row is not None and row.id is not None
            world.posts[label] = row.id
            world.authors.setdefault(_name(session, row.author_id), row.author_id)
        sentiment = {
            "p1": "positive",
            "p2": "neutral",
            "p3": "negative",
            "p5": "positive",
            "p6": "positive",
            "p8": "positive",
            "p9": "positive",
        }
        types = {"p1": ["photo"], "p6": ["review"], "p3": ["complaint"]}
        save_scores(
            session,
            [
                {
                    "post_id": world.posts[label],
                    "model_version": "t1",
                    "sentiment": label_sentiment,
                    "content_types": types.get(label, []),
                    "safety": {},
                }
                for label, label_sentiment in sentiment.items()
            ],
        )
        session.execute(
            update(Post)
            .where(col(Post.id) == world.posts["p1"])
            .values(queue_state="approved", rights_status="granted")
        )
        session.add(
            CurationDecision(
                post_id=world.posts["p1"],
                action="approve",
                from_state="new",
                to_state="approved",
                actor="coordinator",
                decided_at=_at(11, 5),
            )
        )
    return world


def _name(session: Session, author_id: int) -> str:
    author = session.get(Author, author_id)
    assert author is not None
    return f"{author.handle}@{author.platform}"
