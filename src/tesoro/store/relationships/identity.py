"""Identity: accounts of the same human on several platforms share an `Author.person_id`.

Linking and unlinking are coordinator actions, written to the audit log with the
before and after state; suggestions come from bios that name another stored
account, and a dismissed suggestion stays dismissed. A deleted or suspended account
(`Author.gone`) is never linked nor suggested: it speaks for nobody.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from tesoro.store.audit import record_audit
from tesoro.store.sql import like_escape
from tesoro.store.tables import (
    Author,
    IdentityDismissal,
    Person,
)

__all__ = [
    "LinkSuggestion",
    "dismiss_suggestion",
    "identity_author_ids",
    "link_accounts",
    "linked_accounts",
    "suggest_links",
    "unlink_account",
]


def identity_author_ids(session: Session, *, author_id: int) -> list[int]:
    """Every account of the person behind `author_id` (just itself when it is not linked)."""
    author = session.get(Author, author_id)
    if author is None:
        return []
    if author.person_id is None:
        return [author_id]
    stmt = select(col(Author.id)).where(col(Author.person_id) == author.person_id).order_by(col(Author.id))
    return [i for i in session.exec(stmt) if i is not None]


def linked_accounts(session: Session, *, author_id: int) -> list[Author]:
    ids = identity_author_ids(session, author_id=author_id)
    if not ids:
        return []
    return list(session.exec(select(Author).where(col(Author.id).in_(ids)).order_by(col(Author.id))))


def link_accounts(
    session: Session, *, author_ids: Sequence[int], actor: str, display_name: str | None = None
) -> int:
    """Make the given accounts one person; returns the person id. Audited.

    When some of them already belong to persons, those persons are merged into the
    oldest one (their other accounts come along): linking is transitive, so "A is B"
    and "B is C" must end with one person, not two.
    """
    wanted = sorted(set(author_ids))
    if len(wanted) < 2:
        raise ValueError("linking needs at least two different accounts")
    authors = list(session.exec(select(Author).where(col(Author.id).in_(wanted))))
    missing = sorted(set(wanted) - {a.id for a in authors if a.id is not None})
    if missing:
        raise LookupError(f"no account with id {missing}")
    gone = sorted(a.id for a in authors if a.gone and a.id is not None)
    if gone:
        raise ValueError(f"accounts {gone} were deleted or suspended: they are nobody to link")
    persons = sorted({a.person_id for a in authors if a.person_id is not None})
    members = list(authors)
    if persons:
        others = select(Author).where(col(Author.person_id).in_(persons), col(Author.id).not_in(wanted))
        members.extend(session.exec(others))
        target = persons[0]
    else:
        first = min(authors, key=lambda a: a.id or 0)
        person = Person(
            display_name=display_name or first.display_name or first.handle, created_at=datetime.now(UTC)
        )
        session.add(person)
        session.flush()
        assert person.id is not None
        target = person.id
    before = {str(a.id): a.person_id for a in members}
    for author in members:
        author.person_id = target
        session.add(author)
    member_ids = sorted(a.id for a in members if a.id is not None)
    # The coordinator has now said they are the same: earlier "not the same" answers no longer hold.
    session.execute(
        delete(IdentityDismissal).where(
            col(IdentityDismissal.author_a).in_(member_ids), col(IdentityDismissal.author_b).in_(member_ids)
        )
    )
    if len(persons) > 1:
        session.flush()
        for merged in persons[1:]:
            row = session.get(Person, merged)
            if row is not None:
                session.delete(row)
    record_audit(
        session,
        actor=actor,
        action="identity.link",
        entity_id=str(target),
        before={"person_of": before},
        after={"person_id": target, "author_ids": member_ids},
    )
    session.flush()
    return target


def unlink_account(session: Session, *, author_id: int, actor: str) -> None:
    """Detach one account from its person. Audited, and remembered as "not the same person".

    The dismissal keeps the suggestion that may have caused the link from coming back.
    """
    author = session.get(Author, author_id)
    if author is None:
        raise LookupError(f"no account with id {author_id}")
    if author.person_id is None:
        return
    person_id = author.person_id
    others = [i for i in identity_author_ids(session, author_id=author_id) if i != author_id]
    author.person_id = None
    session.add(author)
    now = datetime.now(UTC)
    for other in others:
        _dismiss(session, author_id, other, actor=actor, at=now)
    record_audit(
        session,
        actor=actor,
        action="identity.unlink",
        entity_id=str(person_id),
        before={"person_id": person_id, "author_ids": sorted([author_id, *others])},
        after={"person_id": person_id, "author_ids": sorted(others), "detached": author_id},
    )
    session.flush()


def _dismiss(session: Session, a: int, b: int, *, actor: str, at: datetime) -> None:
    low, high = sorted((a, b))
    if session.get(IdentityDismissal, (low, high)) is None:
        session.add(IdentityDismissal(author_a=low, author_b=high, actor=actor, at=at))


def dismiss_suggestion(session: Session, *, author_a: int, author_b: int, actor: str) -> None:
    """Record that two accounts are different people, so they are never suggested again. Audited."""
    if author_a == author_b:
        raise ValueError("an account cannot be dismissed against itself")
    for author_id in (author_a, author_b):
        if session.get(Author, author_id) is None:
            raise LookupError(f"no account with id {author_id}")
    _dismiss(session, author_a, author_b, actor=actor, at=datetime.now(UTC))
    record_audit(
        session,
        actor=actor,
        action="identity.dismiss",
        entity_id="-",
        before=None,
        after={"author_ids": sorted((author_a, author_b))},
    )
    session.flush()


@dataclass(frozen=True, slots=True)
class LinkSuggestion:
    """`author_id`'s bio names `other_id`'s handle on another platform."""

    author_id: int
    other_id: int
    token: str
    reason: str


# Handles written in bios: profile URLs per platform, then @handles and Bluesky domains.
_URL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("x", re.compile(r"(?:twitter|x)\.com/@?([A-Za-z0-9_]{1,15})\b", re.IGNORECASE)),
    ("reddit", re.compile(r"reddit\.com/(?:u|user)/([A-Za-z0-9_-]{3,20})", re.IGNORECASE)),
    ("bluesky", re.compile(r"bsky\.app/profile/([A-Za-z0-9.-]+[A-Za-z0-9])", re.IGNORECASE)),
    ("instagram", re.compile(r"instagram\.com/([A-Za-z0-9_.]+[A-Za-z0-9_])", re.IGNORECASE)),
    ("tiktok", re.compile(r"tiktok\.com/@([A-Za-z0-9_.]+[A-Za-z0-9_])", re.IGNORECASE)),
    ("youtube", re.compile(r"youtube\.com/@([A-Za-z0-9_.-]+[A-Za-z0-9_])", re.IGNORECASE)),
)
_MASTODON_URL = re.compile(r"https?://([A-Za-z0-9.-]+\.[A-Za-z]{2,})/@([A-Za-z0-9_]+)\b")
_AT_HANDLE = re.compile(
    r"(?<![\w.@/])@([A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_](?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)"
)
_BSKY_DOMAIN = re.compile(r"(?<![\w.@/])([A-Za-z0-9-]+\.bsky\.social)\b", re.IGNORECASE)


def _handles_in(bio: str) -> list[tuple[str | None, str]]:
    """(platform or None when any platform fits, handle) for every account a bio names."""
    found: list[tuple[str | None, str]] = []
    for platform, pattern in _URL_PATTERNS:
        found.extend((platform, m.group(1)) for m in pattern.finditer(bio))
    found.extend(("mastodon", f"{m.group(2)}@{m.group(1)}") for m in _MASTODON_URL.finditer(bio))
    for m in _AT_HANDLE.finditer(bio):
        handle = m.group(1)
        found.append(("mastodon" if "@" in handle else None, handle))
    found.extend(("bluesky", m.group(1)) for m in _BSKY_DOMAIN.finditer(bio))
    return found


class _Candidate(NamedTuple):
    """A stored account (`other_id`) that the bio of `source_id` names as `token`."""

    source_id: int
    other_id: int
    token: str
    platform: str  # the source's platform


def _candidates(session: Session, sources: Sequence[tuple[int, str, int | None, str]]) -> list[_Candidate]:
    """(source id, other id, token, source label) for stored accounts the sources' bios name."""
    wanted: dict[str, list[tuple[int, str | None, str, str, int | None]]] = {}
    for author_id, platform, person_id, bio in sources:
        for hint, handle in _handles_in(bio):
            key = handle.lower()
            wanted.setdefault(key, []).append((author_id, hint, platform, handle, person_id))
    if not wanted:
        return []
    names = sorted({*wanted, *(entry[3] for entries in wanted.values() for entry in entries)})
    out: list[_Candidate] = []
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        stmt = select(col(Author.id), col(Author.platform), col(Author.handle), col(Author.person_id)).where(
            col(Author.handle).in_(chunk), col(Author.gone).is_(False)
        )
        for other in session.execute(stmt):
            for source_id, hint, platform, token, person_id in wanted.get(other.handle.lower(), []):
                if other.id == source_id or other.platform == platform:
                    continue
                if hint is not None and hint != other.platform:
                    continue
                if person_id is not None and person_id == other.person_id:
                    continue
                if other.id is not None:
                    out.append(_Candidate(source_id, other.id, token, platform))
    return out


def suggest_links(session: Session, *, author_id: int | None = None, limit: int = 50) -> list[LinkSuggestion]:
    """Accounts that are probably the same person: one's bio names the other's handle elsewhere.

    With `author_id`, only suggestions involving that account (its bio, and bios that
    name it); without, a scan over every bio that could name an account, in id order,
    stopping at `limit`. Pairs already linked or dismissed are left out.
    """
    dismissed = {
        (a, b)
        for a, b in session.exec(select(col(IdentityDismissal.author_a), col(IdentityDismissal.author_b)))
    }
    results: dict[tuple[int, int], LinkSuggestion] = {}

    def add(rows: list[_Candidate]) -> None:
        for source_id, other_id, token, platform in rows:
            pair = (min(source_id, other_id), max(source_id, other_id))
            if pair in dismissed or pair in results:
                continue
            results[pair] = LinkSuggestion(
                author_id=source_id,
                other_id=other_id,
                token=token,
                reason=f"the {platform} profile's bio names {token!r}",
            )

    bio_hint = or_(
        col(Author.bio).like("%@%"),
        col(Author.bio).like("%/%"),
        func.lower(col(Author.bio)).like("%.bsky.social%"),
    )
    columns = (col(Author.id), col(Author.platform), col(Author.person_id), col(Author.bio))
    if author_id is not None:
        me = session.get(Author, author_id)
        if me is None or me.gone:
            return []
        own = [(author_id, me.platform, me.person_id, me.bio)] if me.bio else []
        add(_candidates(session, own))
        # Bios elsewhere that name this account.
        pattern = f"%{like_escape(me.handle.lower())}%"
        stmt = select(*columns).where(
            func.lower(col(Author.bio)).like(pattern, escape="\\"),
            col(Author.id) != author_id,
            col(Author.gone).is_(False),
        )
        found = session.execute(stmt)
        rows = [(r.id, r.platform, r.person_id, r.bio) for r in found if r.bio and r.id is not None]
        add([c for c in _candidates(session, rows) if c.other_id == author_id])
        return list(results.values())[:limit]

    after = 0
    while len(results) < limit:
        stmt = (
            select(*columns)
            .where(
                col(Author.id) > after, col(Author.bio).is_not(None), col(Author.gone).is_(False), bio_hint
            )
            .order_by(col(Author.id))
            .limit(2000)
        )
        found = session.execute(stmt)
        rows = [(r.id, r.platform, r.person_id, r.bio) for r in found if r.bio and r.id is not None]
        if not rows:
            break
        after = rows[-1][0]  # the last author id of the page
        add(_candidates(session, rows))
    return list(results.values())[:limit]
