"""Relationship events logged by hand: what Tesoro cannot see (a purchase, a meet-up), audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from tesoro.store.audit import record_audit
from tesoro.store.tables import (
    Author,
    Post,
    RelationshipEvent,
    as_utc,
)

__all__ = ["add_logged_event", "logged_events", "remove_logged_event"]


def _event_json(event: RelationshipEvent) -> dict[str, Any]:
    at = event.occurred_at
    return {
        "id": event.id,
        "author_id": event.author_id,
        "post_id": event.post_id,
        "kind": event.kind,
        "weight": event.weight,
        "occurred_at": at.isoformat() if at else None,
        "note": event.note,
    }


def add_logged_event(
    session: Session,
    *,
    author_id: int,
    kind: str,
    weight: float,
    occurred_at: datetime,
    actor: str,
    post_id: int | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Store an event someone logged by hand (a purchase, a meet-up, a gift...); audited.

    Unknown author or post: LookupError; a post by another account: ValueError. The kind,
    weight and date are taken as given (the insights service checks them).
    """
    if session.get(Author, author_id) is None:
        raise LookupError(f"no author with id {author_id}")
    if post_id is not None:
        post = session.get(Post, post_id)
        if post is None:
            raise LookupError(f"no post with id {post_id}")
        if post.author_id != author_id:
            raise ValueError(f"post {post_id} is not by author {author_id}")
    at = as_utc(occurred_at)  # kept on the object as given until read back: UTC from the start
    event = RelationshipEvent(
        author_id=author_id, post_id=post_id, kind=kind, weight=weight, occurred_at=at, note=note
    )
    session.add(event)
    session.flush()
    after = _event_json(event)
    record_audit(
        session,
        actor=actor,
        action="relationship.log",
        entity="relationship_event",
        entity_id=str(event.id),
        before=None,
        after=after,
    )
    return after


def logged_events(session: Session, *, author_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The hand-logged events of these accounts, newest first."""
    if not author_ids:
        return []
    stmt = (
        select(RelationshipEvent)
        .where(col(RelationshipEvent.author_id).in_(list(author_ids)))
        .order_by(col(RelationshipEvent.occurred_at).desc(), col(RelationshipEvent.id).desc())
    )
    return [_event_json(e) for e in session.exec(stmt)]


def remove_logged_event(session: Session, *, author_id: int, event_id: int, actor: str) -> dict[str, Any]:
    """Delete a hand-logged event of this author (a mistake); audited with what it was."""
    event = session.get(RelationshipEvent, event_id)
    if event is None or event.author_id != author_id:
        raise LookupError(f"author {author_id} has no logged event {event_id}")
    before = _event_json(event)
    session.delete(event)
    record_audit(
        session,
        actor=actor,
        action="relationship.unlog",
        entity="relationship_event",
        entity_id=str(event_id),
        before=before,
        after=None,
    )
    return before
