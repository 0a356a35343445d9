"""Learning from corrections: a brand's LATER posts scored before and after a coordinator's corrections.

A simulated coordinator with a consistent view (the data set's human labels) reviews a brand's
posts in order. Where the scorer's value differs from their view they correct it; where it
agrees they let it stand (the decided post counts as a confirmation, as in
`tesoro.curator.corrections`). After 50, 100 and 200 corrections the brand's calibration is
learned with the same code the `curator:corrections` job runs (`fit_brand`, or for the content
type the same `learn_calibration` it calls), applied with the scorer's `calibrate_rows`, and the
accuracy is measured on the brand's later posts, which the coordinator never saw.

Posts come from ../shared/data and go through the real scorer (`Scorer.score_batch`: encoder,
sentiment head, product matcher, content-type rules):

- sentiment: brands_sxsw (SXSW 2011 tweets, never used to train a head), one brand each for Apple
  and Google; the coordinator's view is the annotators' emotion toward the brand
  (positive / negative / no emotion = neutral; "can't tell" rows are dropped);
- product: the brands_sxsw rows whose annotators named a target, with bench/quality.py's catalog;
- content type (complaint or not): the airline set (train + validation) for United, US Airways and
  American; the coordinator calls a post a complaint when its annotators read it as negative with a
  reason (the rules read complaints from wording).

Each seed draws the brand's order of posts: the first 60% are the stream the coordinator reviews,
the last 40% (at most --test posts) are the later posts measured. Prints mean +- sd over seeds.

    .venv/bin/python bench/corrections.py [--seeds 5] [--data-dir ../shared/data] [--test 800]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from quality import SXSW_PRODUCTS  # the operator's SXSW catalog, shared with the quality bench

from tesoro.curator.corrections import BrandLabels, fit_brand
from tesoro.scoring.corrections import (
    YES_NO,
    BrandCalibration,
    Calibration,
    calibrate_rows,
    learn_calibration,
    type_inputs,
)
from tesoro.scoring.pipeline import Scorer, load_models
from tesoro.scoring.relevance import BrandProfile
from tesoro.scoring.training import read_jsonl
from tesoro.settings import Settings
from tesoro.store.scores import PostToScore

CHECKPOINTS = (50, 100, 200)
STREAM_SHARE = 0.6
SXSW_BRANDS = {"Apple": 1, "Google": 2}
AIRLINES = {"United": 11, "US Airways": 12, "American": 13}
EMOTION = {"positive": "positive", "negative": "negative", "no_emotion": "neutral"}


@dataclass
class Task:
    head: str  # sentiment, product, complaint
    brand: str
    brand_id: int
    rows: list[dict[str, Any]]  # the scorer's raw rows, one per post
    views: list[Any]  # the coordinator's value per post


def _post(i: int, text: str, brand_id: int) -> PostToScore:
    return PostToScore(
        id=i,
        platform="x",
        text=text,
        title=None,
        lang="en",
        brand_id=brand_id,
        likes=0,
        reposts=0,
        replies=0,
        quotes=0,
        views=None,
        hashtags=(),
        content_hash=None,
        author_id=1,
        followers=None,
        following=None,
    )


def _score(scorer: Scorer, posts: Sequence[PostToScore]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(posts), 512):
        out += scorer.score_batch(posts[start : start + 512])
    return out


def load_tasks(data_dir: Path, heads: set[str]) -> list[Task]:
    sxsw = [
        r
        for split in ("train", "validation")
        for r in read_jsonl(data_dir / "brands_sxsw" / f"{split}.jsonl")
    ]
    airline = [
        r for split in ("train", "validation") for r in read_jsonl(data_dir / "airline" / f"{split}.jsonl")
    ]
    brand_of_product = {p.id: 1 if p.id <= 5 else 2 for p in SXSW_PRODUCTS}
    products = [replace(p, brand_id=brand_of_product[p.id]) for p in SXSW_PRODUCTS]
    profiles = [BrandProfile(id=i, name=name) for name, i in {**SXSW_BRANDS, **AIRLINES}.items()]
    scorer = Scorer(load_models(Settings()), products, profiles)
    by_name = {p.name: p.id for p in products}

    tasks: list[Task] = []
    next_id = 1
    for brand, brand_id in SXSW_BRANDS.items() if heads & {"sentiment", "product"} else ():
        mine = [r for r in sxsw if r["label"] in EMOTION and _sxsw_brand(r) == brand]
        posts = [_post(next_id + k, r["text"], brand_id) for k, r in enumerate(mine)]
        next_id += len(posts)
        rows = _score(scorer, posts)
        tasks.append(Task("sentiment", brand, brand_id, rows, [EMOTION[r["label"]] for r in mine]))
        targeted = [(row, by_name[r["target"]]) for row, r in zip(rows, mine, strict=True) if r.get("target")]
        tasks.append(Task("product", brand, brand_id, [t[0] for t in targeted], [t[1] for t in targeted]))
    for airline_name, brand_id in AIRLINES.items() if "complaint" in heads else ():
        mine = [r for r in airline if r["airline"] == airline_name]
        posts = [_post(next_id + k, r["text"], brand_id) for k, r in enumerate(mine)]
        next_id += len(posts)
        rows = _score(scorer, posts)
        views = [
            r["label"] == "negative" and r.get("negativereason") not in (None, "Can't Tell") for r in mine
        ]
        tasks.append(Task("complaint", airline_name, brand_id, rows, views))
    return tasks


def _sxsw_brand(row: dict[str, Any]) -> str | None:
    """The row's brand: the annotators' where they named one, else the one the text names (not both)."""
    if row.get("brand"):
        return str(row["brand"])
    text = row["text"].casefold()
    apple = any(w in text for w in ("apple", "ipad", "iphone", "itunes", "ipod", "mac"))
    google = any(w in text for w in ("google", "android", "gmail", "youtube", "chrome"))
    if apple != google:
        return "Apple" if apple else "Google"
    return None


def _model_value(task: Task, row: dict[str, Any]) -> Any:
    if task.head == "sentiment":
        return row["sentiment"]
    if task.head == "product":
        return row["product_id"]
    return "complaint" in (row.get("content_types") or [])


def _calibrated(task: Task, labels: BrandLabels, raw: dict[int, dict[str, Any]]) -> BrandCalibration:
    empty = BrandLabels([], [])
    if task.head == "sentiment":
        learned, _ = fit_brand({"sentiment": labels, "product": empty, "content_type": empty}, raw, [])
        return BrandCalibration(sentiment=learned.get("sentiment"))
    if task.head == "product":
        ids = sorted({p.id for p in SXSW_PRODUCTS if (p.id <= 5) == (task.brand_id == 1)})
        learned, _ = fit_brand({"sentiment": empty, "product": labels, "content_type": empty}, raw, ids)
        return BrandCalibration(product=learned.get("product"))
    # complaint: the one content type this coordinator's view differs on
    rows = [raw[p] for p, _ in labels.corrected] + [raw[p] for p in labels.confirmed]
    answers = [YES_NO[int(bool(v))] for _, v in labels.corrected]
    answers += [YES_NO[int("complaint" in (raw[p].get("content_types") or []))] for p in labels.confirmed]
    weights = [1.0] * len(labels.corrected) + [0.5] * len(labels.confirmed)
    emb = np.stack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows]).astype(np.float64)
    cal: Calibration | None
    cal, _ = learn_calibration(
        YES_NO, type_inputs([r.get("content_types") or [] for r in rows], "complaint"), emb, answers, weights
    )
    return BrandCalibration(content_types={} if cal is None else {"complaint": cal})


def _accuracy(task: Task, rows: Sequence[dict[str, Any]], views: Sequence[Any]) -> float:
    return float(np.mean([_model_value(task, r) == v for r, v in zip(rows, views, strict=True)]))


def run_task(task: Task, seed: int, test_cap: int) -> tuple[float, dict[int, float | None], dict[int, str]]:
    """Accuracy on the later posts before, and after each checkpoint (None: the stream ran out)."""
    order = np.random.default_rng(seed).permutation(len(task.rows))
    cut = int(len(order) * STREAM_SHARE)
    stream, later = order[:cut], order[cut:][:test_cap]
    test_rows = [task.rows[i] for i in later]
    test_views = [task.views[i] for i in later]
    before = _accuracy(task, test_rows, test_views)
    raw = {int(task.rows[i]["post_id"]): task.rows[i] for i in stream}
    after: dict[int, float | None] = {}
    kinds: dict[int, str] = {}
    corrected: list[tuple[int, Any]] = []
    confirmed: list[int] = []
    position = 0
    for checkpoint in CHECKPOINTS:
        while len(corrected) < checkpoint and position < len(stream):
            i = int(stream[position])
            position += 1
            row, view = task.rows[i], task.views[i]
            if _model_value(task, row) == view:
                confirmed.append(int(row["post_id"]))
            else:
                corrected.append((int(row["post_id"]), view))
        if len(corrected) < checkpoint:
            after[checkpoint] = None
            continue
        cal = _calibrated(task, BrandLabels(list(corrected), list(confirmed)), raw)
        rows = [dict(r) for r in test_rows]
        calibrate_rows(rows, [task.brand_id] * len(rows), {task.brand_id: cal})
        after[checkpoint] = _accuracy(task, rows, test_views)
        part = cal.sentiment or cal.product or next(iter(cal.content_types.values()), None)
        kinds[checkpoint] = "identity" if part is None else part.kind
    return before, after, kinds


def _fmt(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{100 * values[0]:.1f}"
    return f"{100 * statistics.mean(values):.1f} ± {100 * statistics.stdev(values):.1f}"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--test", type=int, default=800, help="at most this many later posts per brand")
    parser.add_argument("--heads", default="sentiment,product,complaint")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    heads = set(args.heads.split(","))
    tasks = [t for t in load_tasks(args.data_dir, heads) if t.head in heads]
    print(
        f"scored {sum(len(t.rows) for t in tasks)} posts in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    print(f"CPU: {_cpu()}; seeds: {args.seeds}; accuracy in % (mean ± sd)\n")
    print(
        "| head | brand | posts (stream / later) | before | after 50 | after 100 | after 200 | kind at 200 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for task in tasks:
        before: list[float] = []
        after: dict[int, list[float]] = {c: [] for c in CHECKPOINTS}
        kinds: list[str] = []
        for seed in range(args.seeds):
            b, a, k = run_task(task, seed, args.test)
            before.append(b)
            for c in CHECKPOINTS:
                if a[c] is not None:
                    after[c].append(float(a[c]))  # type: ignore[arg-type]
            kinds.append(k.get(CHECKPOINTS[-1], "-"))
        stream = int(len(task.rows) * STREAM_SHARE)
        later = min(len(task.rows) - stream, args.test)
        cells = [
            _fmt(after[c]) + ("" if len(after[c]) == args.seeds else f" ({len(after[c])} seeds)")
            for c in CHECKPOINTS
        ]
        kind = ", ".join(f"{k} {kinds.count(k)}" for k in sorted(set(kinds)))
        print(
            f"| {task.head} | {task.brand} | {stream} / {later} | {_fmt(before)} | "
            f"{' | '.join(cells)} | {kind} |"
        )
        sys.stdout.flush()
    print(f"\n{time.perf_counter() - started:.0f} s in all", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
