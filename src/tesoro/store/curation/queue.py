"""Cards and the review queue: posts as the review screens show them, their copies, the queue's pages.

The review queue is `post.queue_state = 'new'` ordered by `post.treasure_score`,
restricted to clean originals (`curation_item.filtered IS NULL AND duplicate_of IS
NULL`); the filtered view is the same with a filter reason, and the archived and
rejected views the same in their state. Reads return frozen records assembled in a
fixed number of queries per page (posts, authors, media, tags, copies, the latest
note and rights request), never one query per post.

New arrivals are told apart by post id: ids only grow and posts are ranked in id
order, so "posts of the view with an id above the largest ranked one when the page
was read" (`QueuePage.latest_id`, `queue_arrivals`) are the ones that came since;
reading that largest id is one lookup of the primary key, and the count one indexed
range, cheap enough to poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Integer,
    any_,
    bindparam,
    case,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from tesoro.store.sql import any_of, chunks, read, table_of
from tesoro.store.tables import (
    Author,
    CurationDecision,
    CurationItem,
    Media,
    MediaImage,
    MediaStatus,
    Post,
    PostTag,
    Product,
    RightsRequest,
)
from tesoro.store.versions import ContentChange, content_changes

__all__ = [
    "NOTE_ACTIONS",
    "Arrivals",
    "CopyRef",
    "MediaRef",
    "NoteRef",
    "PostCard",
    "QueueEntry",
    "QueuePage",
    "RequestRef",
    "copies_of",
    "copy_counts",
    "latest_notes",
    "latest_requests",
    "list_queue",
    "post_cards",
    "products_by_id",
    "queue_arrivals",
    "queue_entries",
    "queue_stamp",
]

# Posts per query when reading cards (the ids travel as one array parameter on PostgreSQL).
_CHUNK = 2000


def _ids_in(session: Session, column: Any) -> Any:
    """`column` among the statement's `ids` parameter: `any_of` with the ids bound at execution, so
    that a statement built once serves every page (building and compiling one again for each page
    cost more than running it)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(Integer())))
    return column.in_(bindparam("ids", expanding=True))


# The statements of a page of cards, built once per dialect and kept (they hold no values).
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str, build: Any) -> Any:
    key = (name, session.get_bind().dialect.name)
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = build(session)
    return found


@dataclass(frozen=True, slots=True)
class MediaRef:
    type: str
    url: str
    preview_url: str | None
    width: int | None
    height: int | None
    alt_text: str | None
    # The media item's id when the media pipeline made its thumbnail, and its blurhash placeholder.
    thumbnail_id: int | None = None
    blurhash: str | None = None


@dataclass(frozen=True, slots=True)
class PostCard:
    """A post as the review screens show it (raw text: the UI escapes)."""

    id: int
    platform: str
    external_id: str
    url: str | None
    text: str
    title: str | None
    lang: str | None
    created_at: datetime
    brand_id: int | None
    author_id: int
    author_handle: str
    author_name: str | None
    author_followers: int | None
    author_verified: bool
    author_url: str | None
    likes: int
    reposts: int
    replies: int
    quotes: int
    views: int | None
    hashtags: tuple[str, ...]
    queue_state: str
    rights_status: str
    product_id: int | None  # assigned by a coordinator
    media: tuple[MediaRef, ...] = ()
    tags: tuple[str, ...] = ()


# Labelled as the `PostCard` fields they fill, so a row is read by name.
_CARD_COLUMNS: tuple[Any, ...] = (
    col(Post.id),
    col(Post.platform),
    col(Post.external_id),
    col(Post.url),
    col(Post.text),
    col(Post.title),
    col(Post.lang),
    col(Post.created_at),
    col(Post.brand_id),
    col(Post.author_id),
    col(Author.handle).label("author_handle"),
    col(Author.display_name).label("author_name"),
    col(Author.followers).label("author_followers"),
    col(Author.verified).label("author_verified"),
    col(Author.profile_url).label("author_url"),
    col(Post.likes),
    col(Post.reposts),
    col(Post.replies),
    col(Post.quotes),
    col(Post.views),
    col(Post.hashtags),
    col(Post.queue_state),
    col(Post.rights_status),
    col(Post.product_id),
)


# A post's tags travel as one text joined by the unit separator, which no tag holds
# (`curator.queue.normalize_tag` turns every whitespace character, this one included, into a space).
_TAG_SEPARATOR = "\x1f"


def _tags_column() -> Any:
    return (
        select(func.aggregate_strings(col(PostTag.tag), _TAG_SEPARATOR))
        .where(col(PostTag.post_id) == col(Post.id))
        .scalar_subquery()
    )


def _media_column(session: Session) -> Any:
    """A post's media as one JSON array of [id, type, url, preview, width, height, alt, status,
    blurhash] (any order; status and blurhash from the media pipeline, null before it ran)."""
    image = table_of(MediaImage)
    fields = (
        col(Media.id),
        col(Media.type),
        col(Media.url),
        col(Media.preview_url),
        col(Media.width),
        col(Media.height),
        col(Media.alt_text),
        image.c.status,
        image.c.blurhash,
    )
    if session.get_bind().dialect.name == "postgresql":
        aggregate = func.json_agg(func.json_build_array(*fields))
    else:
        aggregate = func.json_group_array(func.json_array(*fields))
    found = (
        select(aggregate)
        .select_from(table_of(Media).outerjoin(image, image.c.media_id == col(Media.id)))
        .where(col(Media.post_id) == col(Post.id))
    )
    return type_coerce(found.scalar_subquery(), JSON)


def _media(found: list[list[Any]] | None) -> tuple[MediaRef, ...]:
    """The media column's entries as references, in the order they were stored."""
    return tuple(
        MediaRef(
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            m[6],
            thumbnail_id=m[0] if len(m) > 7 and m[7] == MediaStatus.OK else None,
            blurhash=m[8] if len(m) > 8 and m[7] == MediaStatus.OK else None,
        )
        for m in sorted(found or (), key=lambda m: m[0])
    )


def _card(r: Any) -> PostCard:
    """A card from a row of `_CARD_COLUMNS` with the `tags` and `media` columns."""
    return PostCard(
        id=int(r.id),
        platform=r.platform,
        external_id=r.external_id,
        url=r.url,
        text=r.text,
        title=r.title,
        lang=r.lang,
        created_at=r.created_at,
        brand_id=r.brand_id,
        author_id=r.author_id,
        author_handle=r.author_handle,
        author_name=r.author_name,
        author_followers=r.author_followers,
        author_verified=bool(r.author_verified),
        author_url=r.author_url,
        likes=r.likes or 0,
        reposts=r.reposts or 0,
        replies=r.replies or 0,
        quotes=r.quotes or 0,
        views=r.views,
        hashtags=tuple(r.hashtags or ()),
        queue_state=r.queue_state,
        rights_status=r.rights_status,
        product_id=r.product_id,
        media=_media(r.media),
        tags=tuple(sorted(r.tags.split(_TAG_SEPARATOR))) if r.tags else (),
    )


def post_cards(session: Session, *, post_ids: Sequence[int]) -> dict[int, PostCard]:
    """Cards for the posts, in one query (posts with their authors, tags and media).

    Plain column selects, not ORM entities: a page of cards is read on every queue
    and library request, and building mapped objects would cost more than the queries.
    """
    if not post_ids:
        return {}
    stmt = _statement(
        session,
        "cards",
        lambda s: (
            select(*_CARD_COLUMNS, _tags_column().label("tags"), _media_column(s).label("media"))
            .join(Author, col(Author.id) == col(Post.author_id))
            .where(_ids_in(s, col(Post.id)))
        ),
    )
    rows: list[Any] = []
    for chunk in chunks(list(post_ids), _CHUNK):
        rows.extend(read(session, stmt, {"ids": list(chunk)}).all())
    return {int(r.id): _card(r) for r in rows}


@dataclass(frozen=True, slots=True)
class CopyRef:
    """A duplicate shown under its original."""

    id: int
    platform: str
    author_handle: str
    url: str | None
    created_at: datetime
    queue_state: str


@dataclass(frozen=True, slots=True)
class NoteRef:
    """The latest note a coordinator kept on a post's decisions (not undone)."""

    text: str
    actor: str
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class RequestRef:
    """The post's latest rights request, as its card shows it."""

    id: int
    status: str
    channel: str
    text: str
    asked_at: datetime
    reason: str | None = None


# The decisions whose note is the coordinator's own words: an undo's note and the rights workflow's
# ("rights request 12") are the system's.
NOTE_ACTIONS = ("approve", "reject", "feature", "archive", "reopen", "note", "tag", "assign_product")


@dataclass(frozen=True, slots=True)
class QueueEntry:
    card: PostCard
    score: float
    base_score: float
    learned: float | None
    components: dict[str, Any]
    filtered: str | None
    duplicate_of: int | None
    content_types: tuple[str, ...]
    sentiment: str | None
    language: str | None
    scored_product_id: int | None
    copies: tuple[CopyRef, ...] = ()
    copy_count: int = 0
    # Set when the post's content changed after it was approved: what changed since (`store.versions`).
    change: ContentChange | None = None
    note: NoteRef | None = None
    rights_request: RequestRef | None = None

    @property
    def product_id(self) -> int | None:
        """The coordinator's product if they assigned one, else the scorer's match."""
        return self.card.product_id if self.card.product_id is not None else self.scored_product_id


@dataclass(frozen=True, slots=True)
class QueuePage:
    total: int
    items: list[QueueEntry] = field(default_factory=list)
    # The largest ranked post id when the page was read (any view): where "new since" starts counting.
    latest_id: int | None = None


@dataclass(frozen=True, slots=True)
class Arrivals:
    """Posts that entered a view after a given post id: how many, and the largest id among them."""

    count: int
    latest_id: int | None


def _copies(
    session: Session, originals: Sequence[int], limit: int | None
) -> tuple[dict[int, list[CopyRef]], dict[int, int]]:
    """The first `limit` copies of each original (oldest first) and how many it has in all.

    Two plain queries (copy ids by the duplicate_of index, then those posts by primary
    key) rather than one with a window function: the planner's guess for the latter
    turned a 1 ms lookup into a scan of every post.
    """
    kept: dict[int, list[int]] = {}
    counts: dict[int, int] = {}
    for chunk in chunks(list(originals), 10000):
        stmt = (
            select(col(CurationItem.duplicate_of), col(CurationItem.post_id))
            .where(any_of(session, col(CurationItem.duplicate_of), chunk, element=Integer()))
            .order_by(col(CurationItem.duplicate_of), col(CurationItem.created_at), col(CurationItem.post_id))
        )
        for row in session.execute(stmt):
            original = row.duplicate_of
            counts[original] = counts.get(original, 0) + 1
            if limit is None or counts[original] <= limit:
                kept.setdefault(original, []).append(int(row.post_id))
    ids = [pid for pids in kept.values() for pid in pids]
    details: dict[int, CopyRef] = {}
    for chunk in chunks(ids, 10000):
        detail_stmt: Any = (
            select(
                col(Post.id),
                col(Post.platform),
                col(Author.handle).label("author_handle"),
                col(Post.url),
                col(Post.created_at),
                col(Post.queue_state),
            )
            .join(Author, col(Author.id) == col(Post.author_id))
            .where(any_of(session, col(Post.id), chunk, element=Integer()))
        )
        for r in session.execute(detail_stmt):
            details[int(r.id)] = CopyRef(
                id=int(r.id),
                platform=r.platform,
                author_handle=r.author_handle,
                url=r.url,
                created_at=r.created_at,
                queue_state=r.queue_state,
            )
    copies = {o: [details[p] for p in pids if p in details] for o, pids in kept.items()}
    return copies, counts


def copies_of(
    session: Session, *, originals: Sequence[int], limit: int | None = None
) -> dict[int, list[CopyRef]]:
    """The copies of each original, oldest first (at most `limit` each; bot farms make thousands)."""
    return _copies(session, originals, limit)[0]


def copy_counts(session: Session, *, originals: Sequence[int]) -> dict[int, int]:
    """How many copies each original has."""
    out: dict[int, int] = {}
    for chunk in chunks(list(originals), 10000):
        stmt = (
            select(col(CurationItem.duplicate_of), func.count())
            .where(any_of(session, col(CurationItem.duplicate_of), chunk, element=Integer()))
            .group_by(col(CurationItem.duplicate_of))
        )
        out.update({int(o): int(n) for o, n in session.execute(stmt)})
    return out


_copy_item = aliased(CurationItem, name="copy_item")

# A product a coordinator decided on (assigned or cleared, not undone) hides the scorer's suggestion.
_PRODUCT_DECIDED = (
    select(col(CurationDecision.id))
    .where(
        col(CurationDecision.post_id) == col(CurationItem.post_id),
        col(CurationDecision.action) == "assign_product",
        col(CurationDecision.undone).is_(False),
    )
    .exists()
)

# Beside `_CARD_COLUMNS` in one row: the item's product is the scorer's, named apart from the post's.
_ITEM_COLUMNS: tuple[Any, ...] = (
    col(CurationItem.score),
    col(CurationItem.base_score),
    col(CurationItem.learned),
    col(CurationItem.components),
    col(CurationItem.filtered),
    col(CurationItem.duplicate_of),
    col(CurationItem.content_types),
    col(CurationItem.sentiment),
    col(CurationItem.language),
    case((_PRODUCT_DECIDED, None), else_=col(CurationItem.product_id)).label("scored_product_id"),
)


def latest_notes(session: Session, *, post_ids: Sequence[int]) -> dict[int, NoteRef]:
    """Each post's latest coordinator note (of `NOTE_ACTIONS`, not undone), by post id."""
    out: dict[int, NoteRef] = {}
    stmt = _statement(
        session,
        "notes",
        lambda s: (
            select(
                col(CurationDecision.post_id),
                col(CurationDecision.note),
                col(CurationDecision.actor),
                col(CurationDecision.decided_at),
            )
            .where(
                _ids_in(s, col(CurationDecision.post_id)),
                col(CurationDecision.note).is_not(None),
                col(CurationDecision.note) != "",
                col(CurationDecision.undone).is_(False),
                col(CurationDecision.action).in_(NOTE_ACTIONS),
            )
            .order_by(col(CurationDecision.id))
        ),
    )
    for chunk in chunks(list(post_ids), _CHUNK):
        for r in read(session, stmt, {"ids": list(chunk)}):
            out[int(r.post_id)] = NoteRef(text=r.note, actor=r.actor, decided_at=r.decided_at)
    return out


def latest_requests(session: Session, *, post_ids: Sequence[int]) -> dict[int, RequestRef]:
    """Each post's latest rights request, by post id."""
    out: dict[int, RequestRef] = {}
    stmt = _statement(
        session,
        "requests",
        lambda s: (
            select(
                col(RightsRequest.id),
                col(RightsRequest.post_id),
                col(RightsRequest.status),
                col(RightsRequest.channel),
                col(RightsRequest.text),
                col(RightsRequest.asked_at),
                col(RightsRequest.reason),
            )
            .where(_ids_in(s, col(RightsRequest.post_id)))
            .order_by(col(RightsRequest.id))
        ),
    )
    for chunk in chunks(list(post_ids), _CHUNK):
        for r in read(session, stmt, {"ids": list(chunk)}):
            out[int(r.post_id)] = RequestRef(
                id=int(r.id),
                status=r.status,
                channel=r.channel,
                text=r.text,
                asked_at=r.asked_at,
                reason=r.reason,
            )
    return out


def _entries_statement(session: Session) -> Any:
    copy_count = (
        select(func.count())
        .select_from(_copy_item)
        .where(col(_copy_item.duplicate_of) == col(CurationItem.post_id))
        .scalar_subquery()
    )
    return (
        select(
            *_CARD_COLUMNS,
            _tags_column().label("tags"),
            _media_column(session).label("media"),
            *_ITEM_COLUMNS,
            copy_count.label("copy_count"),
            col(Post.held_version),
        )
        .join(CurationItem, col(CurationItem.post_id) == col(Post.id))
        .join(Author, col(Author.id) == col(Post.author_id))
        .where(_ids_in(session, col(Post.id)))
    )


def queue_entries(
    session: Session, *, post_ids: Sequence[int], with_copies: bool = True, copies_limit: int = 20
) -> list[QueueEntry]:
    """Entries for ranked posts, in the given order (unranked ids are left out).

    Each original lists its first `copies_limit` copies; `copy_count` has them all.
    """
    stmt = _statement(session, "entries", _entries_statement)
    rows: dict[int, Any] = {}
    for chunk in chunks(list(post_ids), _CHUNK):
        rows.update((int(r.id), r) for r in read(session, stmt, {"ids": list(chunk)}))
    # Copies are looked up only for the originals that have some (most posts have none).
    counts = {pid: int(r.copy_count or 0) for pid, r in rows.items()}
    originals = [pid for pid, r in rows.items() if r.duplicate_of is None and counts[pid]]
    copies = _copies(session, originals, copies_limit)[0] if with_copies and originals else {}
    changes = content_changes(
        session, post_ids=[pid for pid, r in rows.items() if r.held_version is not None]
    )
    notes = latest_notes(session, post_ids=list(rows))
    requests = latest_requests(session, post_ids=list(rows))
    out: list[QueueEntry] = []
    for pid in post_ids:
        r = rows.get(pid)
        if r is None:
            continue
        out.append(
            QueueEntry(
                card=_card(r),
                score=float(r.score),
                base_score=float(r.base_score),
                learned=r.learned,
                components=dict(r.components or {}),
                filtered=r.filtered,
                duplicate_of=r.duplicate_of,
                content_types=tuple(r.content_types or ()),
                sentiment=r.sentiment,
                language=r.language,
                scored_product_id=r.scored_product_id,
                copies=tuple(copies.get(pid, ())),
                copy_count=counts.get(pid, 0),
                change=changes.get(pid),
                note=notes.get(pid),
                rights_request=requests.get(pid),
            )
        )
    return out


def _view_filters(
    *,
    filtered: bool,
    state: str,
    brand_id: int | None,
    product_id: int | None,
    platform: str | None,
    content_mask: int | None,
) -> list[Any]:
    where: list[Any] = [
        col(Post.queue_state) == state,
        col(CurationItem.duplicate_of).is_(None),
        col(Post.treasure_score).is_not(None),
        col(CurationItem.filtered).is_not(None) if filtered else col(CurationItem.filtered).is_(None),
    ]
    if brand_id is not None:
        where.append(col(Post.brand_id) == brand_id)
    if product_id is not None:
        where.append(func.coalesce(col(Post.product_id), col(CurationItem.product_id)) == product_id)
    if platform is not None:
        where.append(col(Post.platform) == platform)
    if content_mask:
        where.append(col(CurationItem.content_mask).op("&")(content_mask) != 0)
    return where


def list_queue(
    session: Session,
    *,
    filtered: bool = False,
    state: str = "new",
    brand_id: int | None = None,
    product_id: int | None = None,
    platform: str | None = None,
    content_mask: int | None = None,
    after_id: int | None = None,
    until_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    total: int | None = None,
) -> QueuePage:
    """The review queue (clean originals, best first) or, with `filtered`, the filtered view.

    `state` picks the view (new: the queue; archived, rejected: the posts set aside).
    `content_mask` keeps posts having any of the mask's content types; `after_id` keeps
    only posts with a larger id (the arrivals since a page was loaded), `until_id` only posts
    up to that id (the next pages of a view loaded at that `latest_id`, without what arrived since).
    `total`, when the caller knows it (a count it kept, see `queue_stamp`), saves the count: at
    thousands of new posts it is most of the page's database time (it looks up each post's item).
    """
    where = _view_filters(
        filtered=filtered,
        state=state,
        brand_id=brand_id,
        product_id=product_id,
        platform=platform,
        content_mask=content_mask,
    )
    if after_id is not None:
        where.append(col(Post.id) > after_id)
    if until_id is not None:
        where.append(col(Post.id) <= until_id)
    base = select(col(Post.id)).join(CurationItem, col(CurationItem.post_id) == col(Post.id)).where(*where)
    if total is None:
        total = int(session.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    # Read before the page: a post ranked meanwhile is above it, so the next arrivals count it.
    latest = read(session, select(func.max(col(CurationItem.post_id)))).scalar()
    stmt = base.order_by(col(Post.treasure_score).desc(), col(Post.id).desc()).limit(limit).offset(offset)
    ids = [int(pid) for pid in read(session, stmt).scalars()]
    return QueuePage(
        total=total,
        items=queue_entries(session, post_ids=ids),
        latest_id=None if latest is None else int(latest),
    )


def queue_stamp(session: Session) -> tuple[Any, ...]:
    """What moves whenever a view's count may change: the latest write to a post (a decision, a
    rights change, collection) and to a ranked item (ranking, filtering, grouping duplicates), and
    the largest ranked post id. Three lookups at the end of an index: a kept count is valid while
    the stamp is the same (writers stamp with the wall clock, so a transaction that commits after a
    later-stamped one can leave the stamp unmoved: keep counts only for a few seconds too)."""
    stmt = select(
        select(func.max(col(Post.updated_at))).scalar_subquery(),
        select(func.max(col(CurationItem.updated_at))).scalar_subquery(),
        select(func.max(col(CurationItem.post_id))).scalar_subquery(),
    )
    return tuple(read(session, stmt).one())


def queue_arrivals(
    session: Session,
    *,
    after_id: int,
    filtered: bool = False,
    state: str = "new",
    brand_id: int | None = None,
    product_id: int | None = None,
    platform: str | None = None,
    content_mask: int | None = None,
) -> Arrivals:
    """How many posts of the view have an id above `after_id`, and the largest: one count to poll."""
    where = _view_filters(
        filtered=filtered,
        state=state,
        brand_id=brand_id,
        product_id=product_id,
        platform=platform,
        content_mask=content_mask,
    )
    stmt = (
        select(func.count(), func.max(col(Post.id)))
        .select_from(Post)
        .join(CurationItem, col(CurationItem.post_id) == col(Post.id))
        .where(*where, col(Post.id) > after_id)
    )
    count, latest = session.execute(stmt).one()
    return Arrivals(count=int(count), latest_id=None if latest is None else int(latest))


def products_by_id(session: Session) -> dict[int, Product]:
    return {p.id: p for p in session.execute(select(Product)).scalars() if p.id is not None}
