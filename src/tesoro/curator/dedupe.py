"""Near-duplicates: the same content posted again, by other accounts or on other platforms.

A creator cross-posts one video to X, Bluesky and Mastodon; a fan account copies a
review word for word; a bot farm repeats one line a hundred times. The coordinator
should review each piece of content once, so the queue shows the earliest post of
a group (the original) with its copies listed under it.

Two posts are duplicates when any of these holds:

- their *skeletons* are identical: the words that remain once links, @mentions,
  #hashtags and a leading "RT" are removed, folded for case and accents. This is
  what cross-posting and reposting change, so it catches them exactly;
- their word 3-shingles overlap by at least `duplicate_jaccard` (MinHash estimate),
  which tolerates a few edited words;
- they overlap by at least `related_jaccard` and their sentence embeddings have a
  cosine of at least `duplicate_cosine`: a rewording that keeps half the wording
  and all of the meaning.

Posts shorter than `duplicate_min_words` are never grouped by their words: two people writing
"love these shoes!" did not copy each other.

Pixels join the words: two posts showing the same picture (their images share an image group,
near-copies by perceptual hash: `tesoro.media.dedupe`) are duplicates too, however short or
different their text, so a photo re-posted on another platform or by another account with a new
caption is reviewed once. Each image group is one more band key, so those posts are found as
candidates the same way.

Candidates are found without comparing every pair: MinHash signatures are cut into
bands (locality-sensitive hashing), every band is a key in the store, and only
posts sharing a key or a skeleton are compared. Bands of 4 rows over 64 hashes
find 99.8 % of pairs at Jaccard 0.75 and compare 1 % of pairs at Jaccard 0.3.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tesoro.models import CreatedKey, Fingerprint, Signature, StoredPost
from tesoro.text.search import skeleton_tokens

__all__ = [
    "BANDS",
    "NUM_PERM",
    "DuplicateRules",
    "GroupChange",
    "GroupStore",
    "NewPost",
    "assign_groups",
    "fingerprint",
    "image_bands",
    "jaccard_estimate",
    "with_images",
]

NUM_PERM = 64
BANDS = 16
_ROWS = NUM_PERM // BANDS
_SHINGLE = 3
_rng = np.random.default_rng(20261122)
# Multiply-shift hashing on uint64 (wrapping arithmetic is intended): odd multipliers are permutations.
_A = _rng.integers(1, 2**63 - 1, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63 - 1, size=NUM_PERM, dtype=np.uint64)
_SHIFT = np.uint64(32)


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def fingerprint(text: str, *, min_words: int = 5) -> Fingerprint:
    """Fingerprint one post's text (title and body joined by the caller, if it has a title)."""
    tokens = skeleton_tokens(text)
    if len(tokens) < min_words:
        return Fingerprint(None, None)
    skeleton = hashlib.sha1(" ".join(tokens).encode("utf-8")).hexdigest()
    shingles = {" ".join(tokens[i : i + _SHINGLE]) for i in range(len(tokens) - _SHINGLE + 1)}
    hashes = np.fromiter((_hash64(s) for s in shingles), dtype=np.uint64, count=len(shingles))
    with np.errstate(over="ignore"):
        permuted = (hashes[:, None] * _A[None, :] + _B[None, :]) >> _SHIFT
    signature = permuted.min(axis=0).astype(np.uint32)
    bands = tuple(
        # Signed 63-bit keys: they fit a BIGINT column on every backend.
        _hash64(f"{band}:" + signature[band * _ROWS : (band + 1) * _ROWS].tobytes().hex()) >> 1
        for band in range(BANDS)
    )
    return Fingerprint(skeleton, signature, bands)


def jaccard_estimate(a: Signature, b: Signature) -> float:
    """Share of equal MinHash values: an unbiased estimate of the shingle sets' Jaccard similarity."""
    return float(np.count_nonzero(a == b)) / float(len(a))


@dataclass(frozen=True, slots=True)
class DuplicateRules:
    """Thresholds from settings (`[curator]` duplicate_* keys)."""

    jaccard: float = 0.75
    related_jaccard: float = 0.4
    cosine: float = 0.95


@dataclass(slots=True)
class _Member:
    post_id: int
    created: CreatedKey
    fingerprint: Fingerprint | None
    embedding: npt.NDArray[np.float32] | None
    original: int | None  # the stored group's original (None: an original itself, or alone)


@dataclass(frozen=True, slots=True)
class GroupChange:
    """`post_id` now belongs to the group whose original is `original` (None: it is an original)."""

    post_id: int
    original: int | None


@dataclass(frozen=True, slots=True)
class NewPost:
    post_id: int
    created: CreatedKey
    fingerprint: Fingerprint
    embedding: npt.NDArray[np.float32] | None = None


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        root = self.parent.setdefault(x, x)
        while root != self.parent[root]:
            root = self.parent[root]
        while x != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def image_bands(groups: Iterable[int]) -> tuple[int, ...]:
    """Band keys for a post's image groups: posts showing the same picture share one."""
    return tuple(sorted({_hash64(f"image:{group}") >> 1 for group in groups}))


def with_images(fp: Fingerprint, groups: Sequence[int]) -> Fingerprint:
    """The fingerprint with the post's image groups and their band keys added."""
    if not groups:
        return fp
    return Fingerprint(fp.skeleton, fp.signature, fp.bands + image_bands(groups), tuple(groups))


def _similar(a: _Member, b: _Member, rules: DuplicateRules) -> bool:
    fa, fb = a.fingerprint, b.fingerprint
    if fa is None or fb is None:
        return False
    if fa.images and fb.images and not set(fa.images).isdisjoint(fb.images):
        return True  # the same picture (near-copies by perceptual hash), whatever the words
    if fa.skeleton is None or fb.skeleton is None:
        return False
    if fa.skeleton == fb.skeleton:
        return True
    if fa.signature is None or fb.signature is None:
        return False
    overlap = jaccard_estimate(fa.signature, fb.signature)
    if overlap >= rules.jaccard:
        return True
    if overlap >= rules.related_jaccard and a.embedding is not None and b.embedding is not None:
        return float(np.dot(a.embedding, b.embedding)) >= rules.cosine
    return False


@dataclass(frozen=True, slots=True)
class GroupStore:
    """How `assign_groups` reads the store (the repository functions, bound to a session).

    - `candidates(skeletons, band_keys)`: stored posts sharing a skeleton or a band,
      with fingerprints; a few per group are enough, since a group's members match
      each other.
    - `members(originals)`: every stored member of those groups, originals included,
      without fingerprints (to move a group under a new original).
    - `originals(ids)`: those posts themselves, without fingerprints (their dates).
    - `led_by(ids)`: the members of groups led by these (re-ranked) posts, with
      fingerprints, so the group can be rebuilt.
    """

    candidates: Callable[[Sequence[str], Sequence[int]], Iterable[StoredPost]]
    members: Callable[[Sequence[int]], Iterable[StoredPost]]
    originals: Callable[[Sequence[int]], Iterable[StoredPost]]
    led_by: Callable[[Sequence[int]], Iterable[StoredPost]]


def assign_groups(new: Sequence[NewPost], *, store: GroupStore, rules: DuplicateRules) -> list[GroupChange]:
    """Group new (or re-ranked) posts with each other and the store's posts; return what changed.

    The groups of re-ranked posts are rebuilt (an edited post may no longer match its
    copies). A post joins the group of any post it matches; when it is older than
    that group's original (a backfill), or bridges two groups, the earliest post
    becomes the original and every member moves under it. Every new post gets a
    change (`original=None` when it stands alone or leads its group).

    The work per call is bounded by the new posts and their candidates, not by the
    size of the groups they join: a bot farm's thousandth copy costs what the second
    did, unless it changes the group's original.
    """
    members: dict[int, _Member] = {
        n.post_id: _Member(n.post_id, n.created, n.fingerprint, n.embedding, None) for n in new
    }
    every: dict[int, _Member] = dict(members)
    stored_original: dict[int, int | None] = {}

    def add_stored(found: Iterable[StoredPost]) -> None:
        for s in found:
            if s.post_id in members:
                continue
            stored_original[s.post_id] = s.original
            current = every.get(s.post_id)
            if current is None:
                every[s.post_id] = _Member(s.post_id, s.created, s.fingerprint, s.embedding, s.original)
            elif current.fingerprint is None and s.fingerprint is not None:
                current.fingerprint, current.embedding = s.fingerprint, s.embedding

    add_stored(store.led_by(sorted(members)))
    active = set(members) | {p for p, o in stored_original.items() if o in members}
    for p in active:
        every[p].original = None
    fingerprints = [every[p].fingerprint for p in active]
    skeletons = sorted({f.skeleton for f in fingerprints if f is not None and f.skeleton})
    bands = sorted({b for f in fingerprints if f is not None for b in f.bands})
    if skeletons or bands:
        add_stored(store.candidates(skeletons, bands))
    # The originals of the stored posts found, for their dates (they decide who leads).
    missing = sorted(
        {o for p, o in stored_original.items() if p not in active and o is not None and o not in every}
    )
    if missing:
        add_stored(store.originals(missing))
    uf = _UnionFind()
    for m in every.values():
        uf.find(m.post_id)
        if m.post_id not in active and m.original is not None and m.original in every:
            uf.union(m.post_id, m.original)
    # Only posts sharing a skeleton or a band are compared, and only when one of them is active.
    buckets: dict[object, list[int]] = {}
    for m in every.values():
        if m.fingerprint is None:
            continue
        if m.fingerprint.skeleton is not None:
            buckets.setdefault(m.fingerprint.skeleton, []).append(m.post_id)
        for b in m.fingerprint.bands:
            buckets.setdefault(b, []).append(m.post_id)
    for ids in buckets.values():
        if len(ids) < 2:
            continue
        for a in (p for p in ids if p in active):
            for b in ids:
                if a != b and uf.find(a) != uf.find(b) and _similar(every[a], every[b], rules):
                    uf.union(a, b)
    groups: dict[int, list[int]] = {}
    for p in every:
        groups.setdefault(uf.find(p), []).append(p)
    changes: list[GroupChange] = []
    moved_groups: dict[int, int] = {}  # stored original -> its new original
    for group in groups.values():
        if not any(p in active for p in group):
            continue
        leader = min(group, key=lambda p: every[p].created)
        for p in sorted(group):
            target = None if p == leader else leader
            if p in members or target != stored_original.get(p):
                changes.append(GroupChange(p, target))
            if p not in active and stored_original.get(p) is None and p != leader:
                moved_groups[p] = leader  # p led a stored group that now has another original
    if moved_groups:
        seen = {c.post_id for c in changes}
        for s in store.members(sorted(moved_groups)):
            if s.post_id in seen or s.original is None or s.original not in moved_groups:
                continue
            changes.append(GroupChange(s.post_id, moved_groups[s.original]))
            seen.add(s.post_id)
    return changes
