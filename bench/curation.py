"""Curation benchmark: does the queue learn a coordinator's taste? precision@20 before and after decisions.

    .venv/bin/python bench/curation.py [--posts 600] [--seeds 3] [--round 10] [--database-url URL]

A simulated coordinator with hidden preferences works the review queue of a
simulator world (`--posts` per platform, four platforms). The brand runs a
campaign for the Volcan 40L Pack and is launching in Spanish-speaking markets,
so the coordinator approves videos, tutorials, unboxings and photos (reviews
less so) of the pack and Spanish posts, and rejects memes, comparisons with
competitors, complaints, questions, negative posts, celebrities' posts and
posts about no product, with some personal noise. The generic treasure score
knows none of this.

The coordinator reviews the top `--round` posts of the queue, then the ranker is
retrained and the queue re-ranked, again and again. precision@20 is the share of
the next 20 posts in the queue that the coordinator would approve. A control run
makes the same decisions without learning, because working the queue itself
changes what is left in it. The table shows both, per seed and on average.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from pathlib import Path

from curator_sim import NOW, Truth, bench_settings, generate, store_world
from sqlalchemy.engine import Engine

from tesoro.curator.feedback import load_ranker_models, train_rankers
from tesoro.curator.queue import decide
from tesoro.curator.ranking import rank_posts
from tesoro.store.curation import list_queue
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.migrate import upgrade

CHECKPOINTS = (0, 50, 100, 200)
_TYPE_TASTE = {
    "video": 2.0,
    "tutorial": 2.0,
    "unboxing": 1.5,
    "photo": 1.0,
    "review": 0.8,
    "testimonial": 0.5,
}


def would_approve(t: Truth) -> bool:
    """The coordinator's hidden taste (deterministic per post, noise included)."""
    u = _TYPE_TASTE.get(t.kind, -2.0)
    if t.product == "Volcan 40L Pack":
        u += 1.5
    elif t.product is None:
        u -= 0.5
    if t.lang == "es":
        u += 0.7
    if t.sentiment == "negative":
        u -= 2.0
    if t.followers > 100_000:
        u -= 1.5
    noise = random.Random(int(hashlib.sha1(str(t.post_id).encode()).hexdigest()[:8], 16)).gauss(0.0, 0.6)
    return u + noise > 2.0


def precision_at(engine: Engine, truth: dict[int, Truth], k: int = 20) -> float:
    with session_scope(engine) as session:
        top = list_queue(session, limit=k).items
    return sum(would_approve(truth[e.card.id]) for e in top) / max(len(top), 1)


def run(
    engine: Engine, truth: dict[int, Truth], *, learn: bool, round_size: int, overrides: dict[str, float]
) -> dict[int, float]:
    settings = bench_settings().curator.model_copy(update=overrides)
    rank_posts(engine, settings, now=NOW)
    out = {0: precision_at(engine, truth)}
    decided = 0
    while decided < CHECKPOINTS[-1]:
        with session_scope(engine) as session:
            top = list_queue(session, limit=round_size).items
        approve = [e.card.id for e in top if would_approve(truth[e.card.id])]
        reject = [e.card.id for e in top if not would_approve(truth[e.card.id])]
        with session_scope(engine) as session:
            if approve:
                decide(session, post_ids=approve, action="approve", actor="coordinator")
            if reject:
                decide(session, post_ids=reject, action="reject", actor="coordinator")
        decided += len(top)
        if learn:
            train_rankers(engine, settings, now=NOW)
        if decided in CHECKPOINTS:
            out[decided] = precision_at(engine, truth)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=600, help="posts per platform")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--round", type=int, default=10, help="decisions between retrainings")
    parser.add_argument("--l2", type=float, default=None, help="override [curator] ranker_l2")
    parser.add_argument("--dims", type=int, default=None, help="override [curator] ranker_embedding_dims")
    args = parser.parse_args()
    overrides: dict[str, float] = {}
    if args.l2 is not None:
        overrides["ranker_l2"] = args.l2
    if args.dims is not None:
        overrides["ranker_embedding_dims"] = args.dims
    rows: list[tuple[int, str, dict[int, float]]] = []
    started = time.perf_counter()
    for seed in range(1, args.seeds + 1):
        posts = generate(args.posts, seed=seed)
        for learn in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
                upgrade(engine)
                truth = {t.post_id: t for t in store_world(engine, posts, seed=seed)}
                result = run(engine, truth, learn=learn, round_size=args.round, overrides=overrides)
                if learn:
                    ranker = next(iter(load_ranker_models(engine).values()), None)
                    auc = ranker.metrics.get("cv_auc") if ranker else None
                    print(
                        f"seed {seed}: {len(posts)} posts, blend {ranker.alpha if ranker else 0:.2f}, "
                        f"held-out AUC {auc if auc is None else round(auc, 3)}"
                    )
                engine.dispose()
            rows.append((seed, "learning" if learn else "control (no learning)", result))
    print()
    header = " | ".join(f"after {n}" if n else "before" for n in CHECKPOINTS)
    print(f"| seed | queue | {header} |")
    print("|---|---|" + "---:|" * len(CHECKPOINTS))
    for seed, label, result in rows:
        print(f"| {seed} | {label} | " + " | ".join(f"{result[n]:.2f}" for n in CHECKPOINTS) + " |")
    for label in ("learning", "control (no learning)"):
        means = [sum(r[n] for _, lab, r in rows if lab == label) / args.seeds for n in CHECKPOINTS]
        print(f"| mean | {label} | " + " | ".join(f"**{m:.2f}**" for m in means) + " |")
    learned = [sum(r[n] for _, lab, r in rows if lab == "learning") / args.seeds for n in CHECKPOINTS]
    print(
        f"\nprecision@20 gain after 100 decisions: {100 * (learned[2] - learned[0]):+.0f} points "
        f"(target: +20); {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
