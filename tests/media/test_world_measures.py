"""What the pixels tell on the simulator's pictures, against its ground truth.

The simulator draws each media item's picture from its URL and knows which are near-copies of
one shared scene and which were taken blurry or dark (`tesoro.simulator.images`). Over a few
hundred of its photos: image groups find the near-copies (precision and recall), and photo
quality orders blurry and dark photos below sharp ones.
"""

from __future__ import annotations

import itertools

import pytest

from tesoro.media.dedupe import ImageGroups
from tesoro.media.images import ImageError, process_image
from tesoro.simulator.images import image_spec, render

_SIZES = ((1080, 1350), (1920, 1080), (1080, 1080), (3024, 4032))


@pytest.mark.slow
def test_near_copies_are_found_and_quality_orders_the_takes() -> None:
    groups = ImageGroups.of([], distance=10)
    seen: list[tuple[int, int | None, str, float]] = []  # (group, scene, take, quality)
    for i in range(300):
        identity = f"https://pbs.twimg.com/media/world-{i}.jpg"
        width, height = _SIZES[i % len(_SIZES)]
        try:
            facts = process_image(render(identity, width, height, edge=640), original_size=(width, height))
        except ImageError:
            assert image_spec(identity).fault in {"corrupt", "not_image"}
            continue
        spec = image_spec(identity)
        if spec.fault == "tiny":
            continue
        group = groups.assign(i, facts.phash)
        seen.append((group, spec.scene if spec.shared else None, spec.take, facts.quality.score))
    tp = fp = fn = 0
    for a, b in itertools.combinations(seen, 2):
        same, found = a[1] is not None and a[1] == b[1], a[0] == b[0]
        tp, fp, fn = tp + (same and found), fp + (found and not same), fn + (same and not found)
    assert tp + fn >= 10, "the world has near-copies"
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    assert precision >= 0.95 and recall >= 0.85, (precision, recall, tp, fp, fn)
    sharp = [q for _, _, take, q in seen if take == "sharp"]
    for take in ("blurry", "dark"):
        worse = [q for _, _, t, q in seen if t == take]
        assert worse
        below = sum(1 for w in worse for s in sharp if s > w) / (len(worse) * len(sharp))
        assert below >= 0.85, (take, below)
