"""Post versions and aliases: what a coordinator approved stays what the gallery shows.

Two things change a stored post after it was decided, and neither may reach the
public unreviewed:

- **Edits.** When re-collection brings new text, title or media for an approved or
  featured post, the approved content is kept as a `PostVersion` (the *held*
  version, `post.held_version`), the new content becomes the post's next version,
  and the post goes back to review (`queue_state = 'new'`), recorded as a decision
  by the collector. The gallery keeps serving the held version until a coordinator
  decides again; the queue shows the difference (`content_changes`).
- **Deletion.** A post the platform deleted (`mark_deleted`) leaves the gallery.

X edit chains: an edited tweet arrives with a new id and `edit_history_tweet_ids`
(the original first). The store keeps one post per chain under the chain's first
id, with every id of the chain as a `PostAlias`, so decisions, rights and links
stay on one row and any id of the chain finds it (`resolve_ids`); a reply or quote naming any
version is stored naming the chain's post (`canonical_links`). A superseded
version (its own id is not the chain's last) never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, delete, select, tuple_, update
from sqlmodel import Session, col

from tesoro.models import NormalizedPost
from tesoro.store.decisions import record_decision, reviewables
from tesoro.store.scores import drop_scores
from tesoro.store.sql import any_of, chunks, dialect_insert, table_of
from tesoro.store.tables import Media, Post, PostAlias, PostVersion, QueueState

__all__ = [
    "COLLECTOR_ACTOR",
    "ContentChange",
    "HeldContent",
    "StoredContent",
    "apply_changes",
    "canonical_links",
    "canonical_posts",
    "content_changes",
    "held_content",
    "mark_deleted",
    "read_stored",
    "release_held",
    "resolve_ids",
    "save_aliases",
]

# The actor of the decision that sends a changed post back to review.
COLLECTOR_ACTOR = "collector"
# States whose content is public (or was approved for it): a change to them is held for review.
_HOLDING_STATES = frozenset({QueueState.APPROVED.value, QueueState.FEATURED.value})
_CHUNK = 1000


def _media_json(media: Iterable[Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": m.type if isinstance(m.type, str) else m.type.value,
            "url": m.url,
            "preview_url": m.preview_url,
            "width": m.width,
            "height": m.height,
            "alt_text": m.alt_text,
        }
        for m in media
    ]


# --- edit chains ----------------------------------------------------------------------------------


def canonical_posts(
    posts: Sequence[NormalizedPost],
) -> tuple[dict[tuple[str, str], NormalizedPost], dict[tuple[str, str], bool]]:
    """One post per (platform, canonical id), and whether each is its chain's newest version.

    The canonical id of an edited post is the first id of its chain; a post without a
    chain is its own. Within one batch the newest version of a chain wins (the last one
    seen among equals, as before).
    """
    latest: dict[tuple[str, str], NormalizedPost] = {}
    head: dict[tuple[str, str], bool] = {}
    for post in posts:
        chain = post.edit_ids
        first = chain[0] if chain else post.external_id
        is_head = not chain or chain[-1] == post.external_id
        key = (post.platform.value, first)
        if key in latest and head[key] and not is_head:
            continue  # a superseded version never replaces the newest one
        latest[key] = replace(post, external_id=first) if first != post.external_id else post
        head[key] = is_head
    return latest, head


def canonical_links(
    session: Session, posts: Mapping[tuple[str, str], NormalizedPost]
) -> dict[tuple[str, str], NormalizedPost]:
    """Replies and quotes name the post they answer by the id of the version they saw: a reference to
    any id of an edit chain is stored as the chain's post id, so the link finds the one post."""
    chain_ids = {
        (key[0], alias): key[1] for key, post in posts.items() for alias in post.edit_ids if alias != key[1]
    }
    wanted: dict[str, set[str]] = {}
    for (platform, _), post in posts.items():
        for ref in (post.reply_to_id, post.quote_of_id):
            if ref is not None and (platform, ref) not in chain_ids:
                wanted.setdefault(platform, set()).add(ref)
    for platform, refs in wanted.items():
        for chunk in chunks(sorted(refs), _CHUNK):
            stmt: Any = (
                select(col(PostAlias.external_id), col(Post.external_id).label("own"))
                .join(Post, col(Post.id) == col(PostAlias.post_id))
                .where(col(PostAlias.platform) == platform, col(PostAlias.external_id).in_(chunk))
            )
            for alias, own in session.execute(stmt):
                if alias != own:
                    chain_ids[(platform, alias)] = own
    if not chain_ids:
        return dict(posts)
    out: dict[tuple[str, str], NormalizedPost] = {}
    for key, post in posts.items():
        reply = chain_ids.get((key[0], post.reply_to_id or ""), post.reply_to_id)
        quote = chain_ids.get((key[0], post.quote_of_id or ""), post.quote_of_id)
        changed = reply != post.reply_to_id or quote != post.quote_of_id
        out[key] = replace(post, reply_to_id=reply, quote_of_id=quote) if changed else post
    return out


def save_aliases(
    session: Session, posts: Mapping[tuple[str, str], NormalizedPost], post_ids: Mapping[tuple[str, str], int]
) -> None:
    """Every id of each post's edit chain, pointing at its one post."""
    rows = [
        {"platform": key[0], "external_id": alias, "post_id": post_ids[key]}
        for key, post in posts.items()
        if key in post_ids
        for alias in dict.fromkeys(post.edit_ids)
    ]
    for chunk in chunks(rows, _CHUNK):
        stmt = dialect_insert(session, table_of(PostAlias)).on_conflict_do_nothing()
        session.connection().execute(stmt, chunk)


def resolve_ids(session: Session, *, platform: str, external_ids: Sequence[str]) -> dict[str, int]:
    """The post each id stands for, whether it is the post's own id or one of its aliases."""
    if not external_ids:
        return {}
    wanted = list(dict.fromkeys(external_ids))
    found: dict[str, int] = {}
    for chunk in chunks(wanted, _CHUNK):
        for external_id, post_id in session.execute(
            select(col(PostAlias.external_id), col(PostAlias.post_id)).where(
                col(PostAlias.platform) == platform, col(PostAlias.external_id).in_(chunk)
            )
        ):
            found[external_id] = int(post_id)
        for external_id, post_id in session.execute(
            select(col(Post.external_id), col(Post.id)).where(
                col(Post.platform) == platform, col(Post.external_id).in_(chunk)
            )
        ):
            found.setdefault(external_id, int(post_id))
    return found


# --- changes of decided posts -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredContent:
    """What the store holds of a post that re-collection may change."""

    id: int
    author_id: int
    text: str
    title: str | None
    queue_state: str
    version: int
    held_version: int | None
    media: tuple[dict[str, Any], ...]

    @property
    def watched(self) -> bool:
        """A change to this post must be reviewed before it can be public."""
        return self.queue_state in _HOLDING_STATES or self.held_version is not None


def read_stored(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredContent]:
    """The stored content of the posts among `keys` that exist (media only for watched posts)."""
    if not keys:
        return {}
    rows = session.execute(
        select(
            col(Post.id),
            col(Post.author_id),
            col(Post.platform),
            col(Post.external_id),
            col(Post.text),
            col(Post.title),
            col(Post.queue_state),
            col(Post.version),
            col(Post.held_version),
        ).where(tuple_(col(Post.platform), col(Post.external_id)).in_(keys))
    ).all()
    watched = [int(r.id) for r in rows if r.queue_state in _HOLDING_STATES or r.held_version is not None]
    media: dict[int, list[Media]] = {}
    if watched:
        for m in session.execute(
            select(Media)
            .where(any_of(session, col(Media.post_id), watched, element=Integer()))
            .order_by(col(Media.id))
        ).scalars():
            media.setdefault(m.post_id, []).append(m)
    return {
        (r.platform, r.external_id): StoredContent(
            id=int(r.id),
            author_id=int(r.author_id),
            text=r.text,
            title=r.title,
            queue_state=r.queue_state,
            version=int(r.version or 1),
            held_version=r.held_version,
            media=tuple(_media_json(media.get(int(r.id), ()))),
        )
        for r in rows
    }


def _changed(stored: StoredContent, post: NormalizedPost) -> bool:
    if stored.text != post.text or (stored.title or None) != (post.title or None):
        return True
    return {m["url"] for m in stored.media} != {m.url for m in post.media}


def apply_changes(
    session: Session,
    stored: Mapping[tuple[str, str], StoredContent],
    posts: Mapping[tuple[str, str], NormalizedPost],
    *,
    now: datetime,
) -> list[int]:
    """After an upsert wrote the new content: version, hold and re-queue each watched post that changed.

    Returns the ids of the posts sent back to review. A post's media rows follow its
    newest version (media the platform removed are removed), so the queue shows what
    is current and the held version keeps what was approved; its score sets go, so the
    scoring pipeline judges the new words (spam, safety, relevance) before it ranks again.
    """
    changed = [
        (s, posts[key]) for key, s in stored.items() if key in posts and s.watched and _changed(s, posts[key])
    ]
    if not changed:
        return []
    before = reviewables(session, post_ids=[s.id for s, _ in changed])
    versions = table_of(PostVersion)
    post_table = table_of(Post)
    requeued: list[int] = []
    for s, post in changed:
        old_row = {
            "post_id": s.id,
            "version": s.version,
            "text": s.text,
            "title": s.title,
            "media": list(s.media),
            "external_id": None,
            "collected_at": None,
        }
        session.connection().execute(dialect_insert(session, versions).on_conflict_do_nothing(), [old_row])
        new_version = s.version + 1
        session.connection().execute(
            dialect_insert(session, versions),
            [
                {
                    "post_id": s.id,
                    "version": new_version,
                    "text": post.text,
                    "title": post.title,
                    "media": _media_json(post.media),
                    "external_id": (post.edit_ids[-1] if post.edit_ids else post.external_id),
                    "collected_at": now,
                }
            ],
        )
        held = s.held_version if s.held_version is not None else s.version
        session.execute(
            update(post_table)
            .where(post_table.c.id == s.id)
            .values(version=new_version, held_version=held, queue_state=QueueState.NEW.value, updated_at=now)
        )
        urls = [m.url for m in post.media]
        # The scores judged the approved words: the scoring pipeline scores the new version afresh.
        drop_scores(session, post_id=s.id)
        drop = delete(Media).where(col(Media.post_id) == s.id)
        if urls:
            drop = drop.where(col(Media.url).not_in(urls))
        session.execute(drop)
        was = before.get(s.id)
        if was is not None and was.queue_state != QueueState.NEW.value:
            record_decision(
                session,
                post_id=s.id,
                action="content_changed",
                actor=COLLECTOR_ACTOR,
                before=was,
                after=replace(was, queue_state=QueueState.NEW.value),
                note=(
                    f"the platform's content changed after the decision: version {new_version} waits "
                    f"for review; the gallery keeps version {held}"
                ),
                batch_id=f"changed-{s.id}-{new_version}",
                now=now,
            )
        requeued.append(s.id)
    return requeued


def release_held(session: Session, *, post_id: int) -> None:
    """A coordinator decided on the current version: no held version is served any more."""
    post = table_of(Post)
    session.execute(update(post).where(post.c.id == post_id).values(held_version=None))


def mark_deleted(session: Session, *, platform: str, external_ids: Sequence[str], now: datetime) -> int:
    """The platform deleted these posts (any id of an edit chain): they leave the gallery."""
    ids = sorted(set(resolve_ids(session, platform=platform, external_ids=external_ids).values()))
    if not ids:
        return 0
    post = table_of(Post)
    result = session.execute(
        update(post)
        .where(post.c.id.in_(ids), post.c.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- what readers see --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeldContent:
    """The approved version a post's gallery entry keeps showing while a change waits for review."""

    version: int
    text: str
    title: str | None
    media: tuple[dict[str, Any], ...]


def held_content(session: Session, *, post_ids: Sequence[int]) -> dict[int, HeldContent]:
    """The held version of each post that has one."""
    if not post_ids:
        return {}
    out: dict[int, HeldContent] = {}
    for chunk in chunks(list(post_ids), _CHUNK):
        stmt = (
            select(
                col(PostVersion.post_id),
                col(PostVersion.version),
                col(PostVersion.text),
                col(PostVersion.title),
                col(PostVersion.media),
            )
            .join(Post, col(Post.id) == col(PostVersion.post_id))
            .where(
                any_of(session, col(Post.id), chunk, element=Integer()),
                col(PostVersion.version) == col(Post.held_version),
            )
        )
        for r in session.execute(stmt):
            out[int(r.post_id)] = HeldContent(int(r.version), r.text, r.title, tuple(r.media or ()))
    return out


@dataclass(frozen=True, slots=True)
class ContentChange:
    """What changed since the approved version: the queue shows it beside the card."""

    approved_version: int
    version: int
    old_text: str
    new_text: str
    old_title: str | None
    new_title: str | None
    media_added: tuple[str, ...]
    media_removed: tuple[str, ...]


def content_changes(session: Session, *, post_ids: Sequence[int]) -> dict[int, ContentChange]:
    """For each post waiting with a held version: the approved content against the current one."""
    held = held_content(session, post_ids=post_ids)
    if not held:
        return {}
    current: dict[int, Any] = {
        int(r.id): r
        for r in session.execute(
            select(col(Post.id), col(Post.text), col(Post.title), col(Post.version)).where(
                col(Post.id).in_(list(held))
            )
        )
    }
    urls: dict[int, list[str]] = {}
    for post_id, url in session.execute(
        select(col(Media.post_id), col(Media.url))
        .where(col(Media.post_id).in_(list(held)))
        .order_by(col(Media.id))
    ):
        urls.setdefault(int(post_id), []).append(url)
    out: dict[int, ContentChange] = {}
    for post_id, h in held.items():
        now_row = current.get(post_id)
        if now_row is None:
            continue
        old_urls = [m["url"] for m in h.media]
        new_urls = urls.get(post_id, [])
        out[post_id] = ContentChange(
            approved_version=h.version,
            version=int(now_row.version),
            old_text=h.text,
            new_text=now_row.text,
            old_title=h.title,
            new_title=now_row.title,
            media_added=tuple(u for u in new_urls if u not in old_urls),
            media_removed=tuple(u for u in old_urls if u not in new_urls),
        )
    return out
