"""Duplicate detection in the store: LSH band keys, stored fingerprints, and the duplicate groups.

`curator.dedupe` decides what is a copy of what; these functions find the stored
candidates that share a skeleton or a band key and write the groups it settles on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    delete,
    or_,
    select,
    text,
)
from sqlmodel import Session, col

from tesoro.models import Fingerprint, StoredPost
from tesoro.store.media import post_images
from tesoro.store.sql import any_of, bulk_update, chunks, dialect_insert, table_of
from tesoro.store.tables import CurationBand, CurationItem, Score

__all__ = [
    "apply_group_changes",
    "duplicate_candidates",
    "group_members",
    "groups_led_by",
    "replace_bands",
    "stored_posts",
]


def replace_bands(session: Session, bands: Mapping[int, Sequence[int]]) -> None:
    """Store each post's LSH band keys, replacing what it had (its text may have changed)."""
    ids = list(bands)
    for chunk in chunks(ids, 10000):
        session.execute(
            delete(CurationBand).where(any_of(session, col(CurationBand.post_id), chunk, element=Integer()))
        )
    rows = [(key, pid) for pid, keys in bands.items() for key in set(keys)]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        # Two array parameters instead of a placeholder per value (see `tesoro.store.sql.any_of`).
        sql = text(
            "INSERT INTO curation_band (key, post_id) "
            "SELECT * FROM unnest(CAST(:keys AS bigint[]), CAST(:ids AS integer[])) ON CONFLICT DO NOTHING"
        )
        for chunk in chunks(rows, 50000):
            session.execute(sql, {"keys": [k for k, _ in chunk], "ids": [p for _, p in chunk]})
        return
    table = table_of(CurationBand)
    stmt = dialect_insert(session, table).on_conflict_do_nothing()
    session.connection().execute(stmt, [{"key": k, "post_id": p} for k, p in rows])


def _stored_posts(session: Session, where: Any, *, fingerprints: bool = True) -> list[StoredPost]:
    columns = [col(CurationItem.post_id), col(CurationItem.created_at), col(CurationItem.duplicate_of)]
    stmt = select(*columns)
    if fingerprints:
        stmt = stmt.add_columns(
            col(CurationItem.skeleton), col(CurationItem.signature), col(Score.embedding)
        ).outerjoin(Score, col(Score.id) == col(CurationItem.score_id))
    out: list[StoredPost] = []
    rows = session.execute(stmt.where(where)).all()
    groups: dict[int, list[int]] = {}
    if fingerprints and rows:
        for post_id, found in post_images(session, post_ids=[int(r.post_id) for r in rows]).items():
            groups[post_id] = list(dict.fromkeys(i.group for i in found))
    for row in rows:
        post_id = int(row.post_id)
        key = (row.created_at.timestamp(), post_id)
        if not fingerprints:
            out.append(StoredPost(post_id, key, row.duplicate_of))
            continue
        vector = np.frombuffer(row.embedding, dtype=np.float32) if row.embedding else None
        images = tuple(groups.get(post_id, ()))
        fp = Fingerprint(row.skeleton, Fingerprint.signature_from(row.signature), (), images)
        out.append(StoredPost(post_id, key, row.duplicate_of, fp, vector))
    return out


def duplicate_candidates(
    session: Session, *, skeletons: Sequence[str], band_keys: Sequence[int], per_group: int = 3
) -> list[StoredPost]:
    """Stored items sharing a skeleton or an LSH band key, with fingerprints and embeddings.

    At most `per_group` per duplicate group (and skeleton): the members of a group
    match each other, so a few stand for all of them, and a bot farm's thousand
    copies do not all have to be loaded for every new copy.
    """
    kept: dict[tuple[int, str | None], list[int]] = {}

    def keep(rows: Iterable[Any], with_skeleton: bool) -> None:
        for row in rows:
            post_id = row.post_id
            group = row.duplicate_of if row.duplicate_of is not None else post_id
            slot = kept.setdefault((group, row.skeleton if with_skeleton else None), [])
            if post_id in slot:
                continue
            if post_id == group:
                slot.insert(0, post_id)  # the original first when it is among the matches
                del slot[per_group:]
            elif len(slot) < per_group:
                slot.append(post_id)

    light = (col(CurationItem.post_id), col(CurationItem.duplicate_of), col(CurationItem.skeleton))
    for chunk in chunks(list(skeletons), 10000):
        where = any_of(session, col(CurationItem.skeleton), chunk, element=String())
        keep(session.execute(select(*light).where(where).order_by(col(CurationItem.post_id))), True)
    for chunk in chunks(list(band_keys), 10000):
        stmt = (
            select(*light)
            .join(CurationBand, col(CurationBand.post_id) == col(CurationItem.post_id))
            .where(any_of(session, col(CurationBand.key), chunk, element=BigInteger()))
            .distinct()
            .order_by(col(CurationItem.post_id))
        )
        keep(session.execute(stmt), False)
    ids = sorted({pid for slot in kept.values() for pid in slot})
    out: list[StoredPost] = []
    for chunk in chunks(ids, 10000):
        out.extend(
            _stored_posts(session, any_of(session, col(CurationItem.post_id), chunk, element=Integer()))
        )
    return out


def group_members(session: Session, *, originals: Sequence[int]) -> list[StoredPost]:
    """Every stored member of the groups led by `originals`, originals included (no fingerprints)."""
    out: list[StoredPost] = []
    for chunk in chunks(list(originals), 10000):
        where = or_(
            any_of(session, col(CurationItem.duplicate_of), chunk, element=Integer()),
            any_of(session, col(CurationItem.post_id), chunk, element=Integer()),
        )
        out.extend(_stored_posts(session, where, fingerprints=False))
    return out


def stored_posts(session: Session, *, post_ids: Sequence[int]) -> list[StoredPost]:
    """The items themselves, without fingerprints (their dates and groups)."""
    out: list[StoredPost] = []
    for chunk in chunks(list(post_ids), 10000):
        where = any_of(session, col(CurationItem.post_id), chunk, element=Integer())
        out.extend(_stored_posts(session, where, fingerprints=False))
    return out


def groups_led_by(session: Session, *, originals: Sequence[int]) -> list[StoredPost]:
    """The copies of these originals, with fingerprints (their group is being rebuilt)."""
    out: list[StoredPost] = []
    for chunk in chunks(list(originals), 10000):
        out.extend(
            _stored_posts(session, any_of(session, col(CurationItem.duplicate_of), chunk, element=Integer()))
        )
    return out


def apply_group_changes(
    session: Session, changes: Sequence[tuple[int, int | None]], *, now: datetime
) -> None:
    """Set `duplicate_of` (the group's original, None for an original) for each (post_id, original)."""
    bulk_update(
        session,
        table_name="curation_item",
        key="post_id",
        columns={"duplicate_of": "int", "updated_at": "ts"},
        rows=[{"post_id": p, "duplicate_of": o, "updated_at": now} for p, o in changes],
    )
