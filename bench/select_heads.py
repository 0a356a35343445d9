"""Choose what each head reads and how it is trained by k-fold cross-validation on the TRAINING splits.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/select_heads.py --task sentiment [--stage cv|seeds]
        [--folds 5] [--candidates lin-both,lin-use] [--data-dir ../shared/data]

`--stage probe` (the decision of which encoders a head reads): 5-fold cross-validation of a weighted
ridge probe over every feature set at once (see `probe`).

`--stage cv`: each candidate (which encoders' embeddings, MiniLM layers, head size)
is trained on k-1 folds of the training data and scored on the fold left out, stratified by data set
and label, with the recipe's own sample weights; the table gives the mean and standard deviation over
the folds of each data set's official metric and of their mean (the criterion). Validation splits are
not read.

`--task product --stage cv` (which encoder the product matcher's embedding parts read): for each
embedding choice (`PRODUCT_CHOICES`: MiniLM, the USE, or both) the matcher's embedding thresholds are
picked from a grid on k-1 folds of the brands_sxsw training rows that name a target (bench/quality.py's
catalog) and scored on the fold left out, stratified by target; accuracy, mean ± sd over the folds.

`--task relevance --stage cv` (which encoder relevance's similarity term reads): for each choice
(`RELEVANCE_CHOICES`: MiniLM, the USE, both, or none as in the fast profile) the blend's weights are
learned on k-1 folds of the train part of bench/data/brand_relevance.jsonl as from a brand's decisions
and scored on the fold left out (ROC-AUC, F1 at the curator's min_relevance), next to the default
weights. `--stage test` reads the held-out part, once, for the choice kept (`--candidates`).

`--stage seeds` (the report, once per decision): the chosen candidate (the recipe's defaults, or
`--candidates`) is trained on all the training data with 5 seeds and scored on the validation
splits; the table gives mean ± standard deviation across seeds. A sentiment head is also scored on
the brand-sentiment set (bench/data/brand_sentiment.jsonl, never trained on): all of it and per
language, macro-F1.

Embeddings come from the on-disk cache that `bench/embed_datasets.py` fills (~/.cache/tesoro/embeddings).
Training runs on one torch thread: on a CPU shared with others that is faster than two.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tesoro.scoring.heads import TrainConfig, train_head
from tesoro.scoring.metrics import evaluate
from tesoro.scoring.products import ProductMatcher, ProductRef
from tesoro.scoring.relevance import BrandProfile
from tesoro.scoring.sentiment import SENTIMENT_LABELS
from tesoro.scoring.training import read_jsonl
from tesoro.scoring.training.features import DEFAULT_CACHE, split_features, text_features
from tesoro.scoring.training.recipes import (
    OFFENSIVE_CONFIG,
    OFFENSIVE_INPUTS,
    OFFENSIVE_LABELS,
    OFFENSIVE_POOLED_LAYERS,
    SEMEVAL_SAMPLE_SEED,
    SENTIMENT_CONFIG,
    SENTIMENT_INPUTS,
    SENTIMENT_POOLED_LAYERS,
    SENTIMENT_SOURCES,
    SENTIMENT_VALIDATION,
    balanced_weights,
    sentiment_features,
    sentiment_training_data,
)

__all__ = ["CANDIDATES", "main"]

# name: (inputs, MiniLM pooled layers, head config)
CANDIDATES: dict[str, tuple[tuple[str, ...], tuple[int, ...], TrainConfig]] = {
    "mlp-minilm45": (("minilm",), (4, 5), TrainConfig()),
    "mlp-minilm": (("minilm",), (), TrainConfig()),
    "mlp-both45": (("minilm", "use"), (4, 5), TrainConfig()),
    "lin-minilm45": (("minilm",), (4, 5), TrainConfig(hidden=0)),
    "lin-minilm": (("minilm",), (), TrainConfig(hidden=0)),
    "lin-use": (("use",), (), TrainConfig(hidden=0)),
    "lin-both": (("minilm", "use"), (), TrainConfig(hidden=0)),
    "lin-both45": (("minilm", "use"), (4, 5), TrainConfig(hidden=0)),
    "lin-both45-nolex": (("minilm", "use"), (4, 5), TrainConfig(hidden=0, lexical_buckets=0)),
}
METRIC = {
    "semeval2017_sentiment_en": "macro_recall",
    "tweeteval_sentiment": "macro_recall",
    "airline": "macro_f1",
    "umsab_spanish": "macro_f1",
    "tweeteval_offensive": "macro_f1",
}
SEEDS = (13, 14, 15, 16, 17)
BRAND_SET = Path(__file__).resolve().parent / "data" / "brand_sentiment.jsonl"


@dataclasses.dataclass
class TrainingData:
    texts: list[str]
    ys: list[int]
    groups: list[tuple[str, str]]
    sizes: dict[str, int]
    labels: tuple[str, ...]
    shares: dict[str, float]


def _training(task: str, data_dir: Path, semeval_limit: int | None) -> TrainingData:
    if task == "sentiment":
        texts, ys, groups, sizes = sentiment_training_data(data_dir, semeval_limit, SEMEVAL_SAMPLE_SEED)
        return TrainingData(texts, ys, groups, sizes, SENTIMENT_LABELS, SENTIMENT_SOURCES)
    records = read_jsonl(data_dir / "tweeteval_offensive" / "train.jsonl")
    return TrainingData(
        [r["text"] for r in records],
        [OFFENSIVE_LABELS.index(r["label"]) for r in records],
        [("tweeteval_offensive", r["label"]) for r in records],
        {"tweeteval_offensive": len(records)},
        OFFENSIVE_LABELS,
        {"tweeteval_offensive": 1.0},
    )


def _features(
    task: str,
    data: TrainingData,
    inputs: Sequence[str],
    layers: Sequence[int],
    data_dir: Path,
    cache: Path,
    semeval_limit: int | None,
) -> np.ndarray[Any, Any]:
    if task == "sentiment":
        return sentiment_features(
            data.texts,
            data.sizes,
            inputs,
            layers,
            cache,
            semeval_limit=semeval_limit,
            seed=SEMEVAL_SAMPLE_SEED,
        )
    return split_features(data_dir, "tweeteval_offensive", "train", inputs, layers, cache)


def _folds(groups: Sequence[tuple[str, str]], k: int, seed: int) -> np.ndarray[Any, Any]:
    """A fold number per row, stratified by (data set, label)."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(groups), dtype=np.int64)
    cells: dict[tuple[str, str], list[int]] = {}
    for i, g in enumerate(groups):
        cells.setdefault(g, []).append(i)
    for rows in cells.values():
        order = rng.permutation(rows)
        fold[order] = np.arange(len(order)) % k
    return fold


def _mean_sd(values: Sequence[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * sd:.1f}"


def cross_validate(task: str, names: Sequence[str], args: argparse.Namespace) -> None:
    data = _training(task, args.data_dir, args.semeval_limit)
    fold = _folds(data.groups, args.folds, args.fold_seed)
    weights = balanced_weights(data.groups, data.shares)
    datasets = list(data.sizes)
    print(
        f"\n{task}: {args.folds}-fold cross-validation on the training splits ({len(data.texts)} texts: "
        + ", ".join(f"{d} {n}" for d, n in data.sizes.items())
        + ")\n",
        flush=True,
    )
    header = ["candidate", *[f"{d} {METRIC[d]}" for d in datasets], "mean (criterion)", "s/fit"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header), flush=True)
    group_ds = np.array([g[0] for g in data.groups])
    for name in names:
        inputs, layers, config = CANDIDATES[name]
        x = _features(task, data, inputs, layers, args.data_dir, args.cache_dir, args.semeval_limit)
        per_set: dict[str, list[float]] = {d: [] for d in datasets}
        means: list[float] = []
        spent: list[float] = []
        for k in range(args.folds):
            train = np.flatnonzero(fold != k)
            test = np.flatnonzero(fold == k)
            started = time.perf_counter()
            head = train_head(
                x[train],
                [data.ys[i] for i in train],
                data.labels,
                weights=weights[train],
                texts=[data.texts[i] for i in train],
                config=dataclasses.replace(config, seed=args.fold_seed + k),
            )
            spent.append(time.perf_counter() - started)
            predicted = np.array(head.predict(x[test], [data.texts[i] for i in test]))
            scores = []
            for d in datasets:
                rows = test[group_ds[test] == d]
                mask = group_ds[test] == d
                gold = [data.labels[data.ys[i]] for i in rows]
                value = evaluate(gold, list(predicted[mask]), data.labels)[METRIC[d]]
                per_set[d].append(value)
                scores.append(value)
            means.append(float(np.mean(scores)))
        cells = [_mean_sd(per_set[d]) for d in datasets]
        print(
            f"| {name} | " + " | ".join(cells) + f" | {_mean_sd(means)} | {statistics.mean(spent):.0f} |",
            flush=True,
        )


# Feature sets the probe compares: column blocks of [MiniLM | MiniLM layer 4 | layer 5 | USE].
PROBE_SETS: dict[str, tuple[str, ...]] = {
    "minilm": ("minilm",),
    "minilm45": ("minilm", "l4", "l5"),
    "use": ("use",),
    "minilm+use": ("minilm", "use"),
    "minilm45+use": ("minilm", "l4", "l5", "use"),
}
PROBE_LAMBDAS = (0.3, 3.0, 30.0)


def probe(task: str, args: argparse.Namespace) -> None:
    """Which encoders' embeddings a head should read, by k-fold CV of a weighted ridge probe.

    Every candidate set is a block of columns of one matrix, so each fold's Gram matrix is computed
    once and every (feature set, ridge strength) is a small solve: the whole comparison costs about one
    pass over the data, where training a head per fold and candidate would cost hours on a shared CPU.
    """
    data = _training(task, args.data_dir, args.semeval_limit)
    fold = _folds(data.groups, args.folds, args.fold_seed)
    weights = balanced_weights(data.groups, data.shares)
    x = _features(task, data, ("minilm", "use"), (4, 5), args.data_dir, args.cache_dir, args.semeval_limit)
    blocks = {
        "minilm": slice(0, 384),
        "l4": slice(384, 768),
        "l5": slice(768, 1152),
        "use": slice(1152, 1664),
    }
    x = np.concatenate([x, np.ones((len(x), 1), np.float32)], axis=1)  # the intercept column
    y = np.eye(len(data.labels), dtype=np.float64)[data.ys]
    datasets = list(data.sizes)
    group_ds = np.array([g[0] for g in data.groups])
    grams = []
    for k in range(args.folds):
        rows = fold == k
        xw = x[rows].astype(np.float64) * weights[rows, None]
        grams.append((xw.T @ x[rows].astype(np.float64), xw.T @ y[rows]))
    total_g = sum(g for g, _ in grams)
    total_b = sum(b for _, b in grams)
    print(
        f"\n{task}: {args.folds}-fold cross-validation of a ridge probe on the training splits "
        f"({len(data.texts)} texts: " + ", ".join(f"{d} {n}" for d, n in data.sizes.items()) + ")\n",
        flush=True,
    )
    header = ["features", "ridge", *[f"{d} {METRIC[d]}" for d in datasets], "mean (criterion)"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header), flush=True)
    for name, parts in PROBE_SETS.items():
        cols = np.concatenate(
            [np.arange(x.shape[1])[blocks[p]] for p in parts] + [np.array([x.shape[1] - 1])]
        )
        for lam in PROBE_LAMBDAS:
            per_set: dict[str, list[float]] = {d: [] for d in datasets}
            means = []
            for k in range(args.folds):
                g = (total_g - grams[k][0])[np.ix_(cols, cols)]
                b = (total_b - grams[k][1])[cols]
                reg = lam * np.eye(len(cols))
                reg[-1, -1] = 0.0  # the intercept is not shrunk
                w = np.linalg.solve(g + reg * (g.trace() / len(cols)) / 100, b)
                test = np.flatnonzero(fold == k)
                predicted = (x[np.ix_(test, cols)] @ w).argmax(axis=1)
                scores = []
                for d in datasets:
                    rows = test[group_ds[test] == d]
                    pick = predicted[group_ds[test] == d]
                    value = evaluate(
                        [data.labels[data.ys[i]] for i in rows], [data.labels[j] for j in pick], data.labels
                    )[METRIC[d]]
                    per_set[d].append(value)
                    scores.append(value)
                means.append(float(np.mean(scores)))
            cells = [_mean_sd(per_set[d]) for d in datasets]
            print(f"| {name} | {lam:g} | " + " | ".join(cells) + f" | {_mean_sd(means)} |", flush=True)


def seeds(task: str, name: str | None, args: argparse.Namespace) -> None:
    if name is None:
        inputs, layers, config = (
            (
                SENTIMENT_INPUTS,
                SENTIMENT_POOLED_LAYERS if "minilm" in SENTIMENT_INPUTS else (),
                SENTIMENT_CONFIG,
            )
            if task == "sentiment"
            else (OFFENSIVE_INPUTS, OFFENSIVE_POOLED_LAYERS, OFFENSIVE_CONFIG)
        )
        name = "recipe default"
    else:
        inputs, layers, config = CANDIDATES[name]
    data = _training(task, args.data_dir, args.semeval_limit)
    x = _features(task, data, inputs, layers, args.data_dir, args.cache_dir, args.semeval_limit)
    weights = balanced_weights(data.groups, data.shares)
    validation = SENTIMENT_VALIDATION if task == "sentiment" else ("tweeteval_offensive",)
    sets = {}
    for d in validation:
        records = read_jsonl(args.data_dir / d / "validation.jsonl")
        sets[d] = (
            split_features(args.data_dir, d, "validation", inputs, layers, args.cache_dir),
            [r["text"] for r in records],
            [r["label"] for r in records],
        )
    results: dict[str, list[float]] = {d: [] for d in validation}
    brand: dict[str, list[float]] = {}
    if task == "sentiment":
        records = read_jsonl(BRAND_SET)
        brand_texts = [r["text"] for r in records]
        brand_x = text_features(brand_texts, inputs, layers, args.cache_dir, "brand_sentiment")
        brand_parts = {"all": list(range(len(records)))}
        for lang in sorted({r["lang"] for r in records}):
            brand_parts[lang] = [i for i, r in enumerate(records) if r["lang"] == lang]
        brand = {f"brand {part}": [] for part in brand_parts}
    for seed in args.seeds or SEEDS:
        head = train_head(
            x,
            data.ys,
            data.labels,
            weights=weights,
            texts=data.texts,
            config=dataclasses.replace(config, seed=seed),
        )
        for d, (xv, texts, gold) in sets.items():
            results[d].append(evaluate(gold, head.predict(xv, texts), data.labels)[METRIC[d]])
        if brand:
            predicted = head.predict(brand_x, brand_texts)
            for part, rows in brand_parts.items():
                gold_part = [records[i]["label"] for i in rows]
                report = evaluate(gold_part, [predicted[i] for i in rows], data.labels)
                brand[f"brand {part}"].append(report["macro_f1"])
        shown = {**results, **brand}
        print(f"seed {seed}: " + ", ".join(f"{d} {100 * v[-1]:.1f}" for d, v in shown.items()), flush=True)
    print(
        f"\n{task}, {name} ({'+'.join(inputs)}, layers {list(layers)}, hidden {config.hidden}), "
        f"validation splits, mean ± sd over seeds {list(SEEDS)}:\n"
    )
    columns = [f"{d} {METRIC[d]}" for d in validation] + [f"{b} macro_f1" for b in brand]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    cells = [_mean_sd(results[d]) for d in validation] + [_mean_sd(v) for v in brand.values()]
    print("| " + " | ".join(cells) + " |", flush=True)


def fast(task: str, args: argparse.Namespace) -> None:
    """The fast profile n-gram head: its L2 penalty and bucket count by k-fold CV on the training split."""
    from tesoro.scoring.training.lexical import LexicalConfig
    from tesoro.scoring.training.lexical import cross_validate as lexical_cv

    data = _training(task, args.data_dir, None)  # all 47k SemEval tweets, as `tesoro train` uses
    configs = [LexicalConfig(buckets=b, l2=l2) for b in args.fast_buckets for l2 in args.fast_l2]
    started = time.perf_counter()
    results = lexical_cv(
        data.texts,
        data.ys,
        data.labels,
        balanced_weights(data.groups, data.shares),
        [dataset for dataset, _ in data.groups],
        configs,
        folds=args.folds,
        seed=args.fold_seed,
        metrics=METRIC,
        on_progress=lambda msg: print(msg, flush=True),
    )
    print(
        f"\n{task} fast n-gram head, {args.folds}-fold CV on train ({time.perf_counter() - started:.0f} s), "
    )
    print("criterion: mean over data sets of each one's official metric\n")
    print("| buckets | l2 | mean | per fold |")
    print("|---:|---:|---:|---|")
    for r in results:
        folds = ", ".join(f"{100 * v:.1f}" for v in r["folds"])
        print(f"| {r['config']['buckets']} | {r['config']['l2']:g} | {100 * r['mean']:.1f} | {folds} |")


# Product matching: what the matcher's embeddings are. "both" joins the two normalised embeddings,
# each divided by sqrt(2), so a dot product is the mean of the two cosines.
PRODUCT_CHOICES = ("minilm", "use", "both")
# The grid, in MiniLM's cosines, around the shipped values (0.45, 0.05, 0.1, 0.3). For another
# choice each similarity is moved to the same quantile of that choice's (text, product) cosines on the
# training texts, and the margin is scaled by the ratio of their standard deviations.
PRODUCT_MIN_SIMILARITY = (0.35, 0.4, 0.45, 0.5, 0.55)
PRODUCT_MIN_MARGIN = (0.03, 0.05, 0.08)
PRODUCT_LOOSE = (0.0, 0.05, 0.1, 0.15, 0.2)
PRODUCT_SINGLE_LOOSE = (0.2, 0.25, 0.3, 0.35, 0.4)
# The weights that rank several named products against their similarities, as shipped.
PRODUCT_WEIGHTS = {
    "position_weight": 0.5,
    "specialisation_bonus": 0.3,
    "hashtag_penalty": 0.2,
    "repeat_bonus": 0.1,
}


def _product_embeddings(
    texts: Sequence[str], profiles: Sequence[str], cache: Path
) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """(text embeddings, profile embeddings) per choice; the texts' from the on-disk cache."""
    from tesoro.scoring.encoders import load_encoder, load_use
    from tesoro.scoring.training import embed_cached

    minilm, use = load_encoder(full_precision=True), load_use()
    print(f"encoders: {minilm.name} ({minilm.backend} backend), {use.name}", flush=True)
    m = (embed_cached(minilm, texts, cache), minilm.encode(profiles))
    u = (embed_cached(use, texts, cache), use.encode(profiles))
    half = np.float32(np.sqrt(0.5))
    both = (np.hstack([m[0], u[0]]) * half, np.hstack([m[1], u[1]]) * half)
    return {"minilm": m, "use": u, "both": both}


@dataclasses.dataclass
class _ProductChoice:
    """One embedding choice: its cosines, the grid moved onto them, and the matcher for a setting."""

    x: np.ndarray[Any, Any]  # the texts' embeddings
    profiles: np.ndarray[Any, Any]
    base: np.ndarray[Any, Any]  # MiniLM's (text, product) cosines, the scale the grid is written in
    same: bool  # MiniLM itself: the grid as written

    def __post_init__(self) -> None:
        sims = self.x @ self.profiles.T
        self.sims = sims
        self.ratio = 1.0 if self.same else float(sims.std() / self.base.std())

    def moved(self, v: float) -> float:
        """A MiniLM cosine, moved to the same quantile of this choice's cosines."""
        return v if self.same else round(float(np.quantile(self.sims, float((self.base <= v).mean()))), 3)

    def margin(self, v: float) -> float:
        return round(v * self.ratio, 3)

    def matcher(
        self, products: Sequence[ProductRef], lo: float, si: float, sc: float, ms: float, mg: float
    ) -> ProductMatcher:
        return ProductMatcher(
            products,
            profile_embeddings=self.profiles,
            min_similarity=self.moved(ms),
            min_margin=self.margin(mg),
            loose_min_similarity=self.moved(lo),
            single_loose_min_similarity=self.moved(si),
            **{k: v * sc for k, v in PRODUCT_WEIGHTS.items()},
        )


def product_cv(names: Sequence[str], args: argparse.Namespace) -> None:
    """Which embeddings the product matcher reads, by k-fold CV of its thresholds on the training split.

    A matcher's answer for a post comes from its mentions when a mention is kept (which depends on the
    loose floors and the ranking weights only), else from the embedding fallback (min similarity and
    margin only). So each post's answer is computed once per alias setting and once per fallback
    setting, and every combination is read off those: the whole grid costs a few dozen matcher passes.
    Each fold picks the combination with the most correct answers on the other folds (ties: the one
    nearest the shipped values) and is scored on its own rows.
    """
    from quality import SXSW_PRODUCTS  # bench/quality.py: the catalog the product figure uses

    records = [r for r in read_jsonl(args.data_dir / "brands_sxsw" / "train.jsonl") if r.get("target")]
    texts = [r["text"] for r in records]
    gold = np.array([r["target"] for r in records])
    fold = _folds([("brands_sxsw", r["target"]) for r in records], args.folds, args.fold_seed)
    names_by_id = {p.id: p.name for p in SXSW_PRODUCTS}
    embeddings = _product_embeddings(texts, [p.profile for p in SXSW_PRODUCTS], args.cache_dir)
    base = embeddings["minilm"][0] @ embeddings["minilm"][1].T
    fallback_grid = [(ms, mg) for ms in PRODUCT_MIN_SIMILARITY for mg in PRODUCT_MIN_MARGIN]

    def answers(
        matcher: ProductMatcher, batch: Sequence[str], x: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        return np.array([names_by_id.get(m.product_id, "none") for m in matcher.match(batch, x)])

    print(
        f"\nproduct: {args.folds}-fold cross-validation on brands_sxsw train ({len(texts)} rows naming a "
        "target), accuracy, mean ± sd over the folds\n",
        flush=True,
    )
    results: dict[str, list[float]] = {}
    rows = []
    for name in names:
        choice = _ProductChoice(*embeddings[name], base=base, same=name == "minilm")
        scales = (1.0,) if name == "minilm" else (1.0, round(choice.ratio, 3))
        alias_grid = [(lo, si, sc) for lo in PRODUCT_LOOSE for si in PRODUCT_SINGLE_LOOSE for sc in scales]
        started = time.perf_counter()
        # mentions only (a similarity above 1 is never reached, so no embedding fallback) ...
        by_alias = [
            answers(choice.matcher(SXSW_PRODUCTS, lo, si, sc, 2.0, 0.05), texts, choice.x)
            for lo, si, sc in alias_grid
        ]
        # ... and the fallback only (an empty text names nothing)
        by_fallback = [
            answers(choice.matcher(SXSW_PRODUCTS, 0.1, 0.3, 1.0, ms, mg), [""] * len(texts), choice.x)
            for ms, mg in fallback_grid
        ]
        # correct[alias setting, fallback setting, row]
        correct = np.array([[np.where(a == "none", f, a) == gold for f in by_fallback] for a in by_alias])
        centre = np.array(
            [
                [
                    abs(PRODUCT_LOOSE.index(lo) - 2)
                    + abs(PRODUCT_SINGLE_LOOSE.index(si) - 2)
                    + (sc != 1.0)
                    + abs(PRODUCT_MIN_SIMILARITY.index(ms) - 2)
                    + abs(PRODUCT_MIN_MARGIN.index(mg) - 1)
                    for ms, mg in fallback_grid
                ]
                for lo, si, sc in alias_grid
            ]
        )
        chosen = []
        for k in [*range(args.folds), -1]:  # -1: all of train
            train = fold != k
            hits = correct[:, :, train].sum(axis=2)
            best = np.flatnonzero((hits == hits.max()).ravel())
            a, f = divmod(int(best[np.argmin(centre.ravel()[best])]), len(fallback_grid))
            chosen.append((a, f))
        scores = [float(correct[a, f, fold == k].mean()) for k, (a, f) in enumerate(chosen[:-1])]
        results[name] = scores
        a, f = chosen[-1]
        lo, si, sc, ms, mg = alias_grid[a] + fallback_grid[f]
        # The decomposition must agree with the matcher itself on the whole split.
        whole = answers(choice.matcher(SXSW_PRODUCTS, lo, si, sc, ms, mg), texts, choice.x)
        assert (np.where(by_alias[a] == "none", by_fallback[f], by_alias[a]) == whole).all(), name
        on_all = (
            f"{choice.moved(ms)} / {choice.margin(mg)} / {choice.moved(lo)} / {choice.moved(si)} / x{sc:g} "
            f"(grid {ms} / {mg} / {lo} / {si}): {100 * correct[a, f].mean():.1f} on all of train"
        )
        per_fold = ", ".join(
            "/".join(f"{v:g}" for v in alias_grid[a] + fallback_grid[f]) for a, f in chosen[:-1]
        )
        rows.append((name, scores, on_all, per_fold, time.perf_counter() - started))

    shipped = ProductMatcher(SXSW_PRODUCTS, profile_embeddings=embeddings["minilm"][1])
    fixed = answers(shipped, texts, embeddings["minilm"][0]) == gold
    via = Counter(m.via for m in shipped.match(texts, embeddings["minilm"][0]))
    print(
        "the shipped matcher on these rows answers by "
        + ", ".join(f"{v} {via[v]}" for v in ("alias", "embedding", "none"))
        + " (the embedding decides the fallback, loose mentions and the ranking of several named)\n"
    )
    fixed_folds = _mean_sd([float(fixed[fold == k].mean()) for k in range(args.folds)])
    print("| embeddings | accuracy | minus minilm, per fold | thresholds chosen on all of train | s |")
    print("|---|---:|---:|---|---:|")
    print(
        f"| minilm, shipped thresholds (no tuning) | {fixed_folds} | — | 0.45 / 0.05 / 0.1 / 0.3 / x1: "
        f"{100 * fixed.mean():.1f} on all of train | — |"
    )
    for name, scores, on_all, _, spent in rows:
        diff = "—"
        if "minilm" in results and name != "minilm":
            diff = _mean_sd([s - b for s, b in zip(scores, results["minilm"], strict=True)])
        print(f"| {name} | {_mean_sd(scores)} | {diff} | {on_all} | {spent:.0f} |")
    print(
        "\nthresholds: min similarity / min margin / loose floor (several words) / loose floor (one word) / "
        "ranking weights' scale.\nChosen per fold, in grid values (loose / one word / scale / min similarity"
        " / margin), moved per choice as above:"
    )
    for name, _, _, per_fold, _ in rows:
        print(f"- {name}: {per_fold}")


# Relevance: what the similarity term reads. "both" joins the two normalised embeddings, each divided
# by sqrt(2), so a dot product is the mean of the two cosines; "none" is the fast profile (no term).
RELEVANCE_CHOICES = ("minilm", "use", "both", "none")
RELEVANCE_SET = Path(__file__).resolve().parent / "data" / "brand_relevance.jsonl"
# The term's centre and scale as shipped, in MiniLM's cosines (scoring/relevance.py).
RELEVANCE_CENTRE = 0.35
RELEVANCE_SCALE = 0.1


def _demo_catalog() -> tuple[list[ProductRef], BrandProfile]:
    """The demo's brand, products and query (src/tesoro/data/demo.toml), as the pipeline builds them."""
    import tomllib
    from importlib import resources

    raw = tomllib.loads(resources.files("tesoro").joinpath("data/demo.toml").read_text(encoding="utf-8"))
    brand = raw["brands"][0]
    products = [
        ProductRef(
            id=k + 1,
            name=p["name"],
            aliases=tuple(p.get("aliases", ())),
            description=p.get("description", ""),
            brand_id=1,
        )
        for k, p in enumerate(raw["products"])
        if p["brand"] == brand["name"]
    ]
    profile = BrandProfile(
        id=1,
        name=brand["name"],
        description=brand.get("description", ""),
        handles=tuple(brand.get("handles", {}).values()),
        hashtags=tuple(brand.get("hashtags", ())),
        product_texts=tuple(p.profile for p in products),
        product_aliases=tuple(a for p in products for a in (p.name, *p.aliases)),
        queries=tuple(q["query"] for q in raw["queries"] if q["brand"] == brand["name"]),
    )
    return products, profile


def _relevance_embeddings(
    texts: Sequence[str], profiles: Sequence[str]
) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """(post embeddings, profile embeddings) per choice but "none"."""
    from tesoro.scoring.encoders import load_encoder, load_use

    minilm, use = load_encoder(full_precision=True), load_use()
    print(f"encoders: {minilm.name} ({minilm.backend} backend), {use.name}", flush=True)
    m = (minilm.encode(list(texts)), minilm.encode(list(profiles)))
    u = (use.encode(list(texts)), use.encode(list(profiles)))
    half = np.float32(np.sqrt(0.5))
    both = (np.hstack([m[0], u[0]]) * half, np.hstack([m[1], u[1]]) * half)
    return {"minilm": m, "use": u, "both": both}


def _auc(scores: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    """ROC-AUC (the Mann-Whitney statistic; ties count one half)."""
    pos, neg = scores[y == 1], scores[y == 0]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def _f1(scores: np.ndarray[Any, Any], y: np.ndarray[Any, Any], threshold: float) -> float:
    """F1 of "relevant" where relevant means not filtered as off-topic (relevance >= threshold)."""
    predicted = scores >= threshold
    tp = float((predicted & (y == 1)).sum())
    return 0.0 if tp == 0 else 2 * tp / (predicted.sum() + (y == 1).sum())


@dataclasses.dataclass
class RelevanceData:
    """The labelled set's features per similarity choice, as the pipeline would compute them."""

    records: list[dict[str, str]]
    y: np.ndarray[Any, Any]
    features: dict[str, np.ndarray[Any, Any]]  # choice -> (posts, FEATURES)
    centres: dict[str, tuple[float, float]]  # choice -> (centre, scale) of the similarity term


def relevance_data(records: list[dict[str, str]], choices: Sequence[str]) -> RelevanceData:
    """Each post's relevance features against the demo brand, for each similarity choice.

    Query, mention, job and spam come from the scorer itself and the product confidence from the
    shipped (MiniLM) product matcher, the language hint is the record's own (as a platform's). Only the
    similarity differs between choices: the best cosine between the post and the brand's and products'
    descriptions, centred and scaled as shipped for MiniLM; for another encoder the centre is moved to
    the same quantile of its cosines on the training posts and the scale multiplied by the ratio of
    their spreads, so that the default weights read every choice alike.
    """
    from tesoro.scoring.relevance import RelevanceScorer
    from tesoro.scoring.safety import spam_score

    products, brand = _demo_catalog()
    texts = [r["text"] for r in records]
    y = np.array([1 if r["label"] == "relevant" else 0 for r in records])
    profiles = [f"{brand.name}. {brand.description}".strip(), *brand.product_texts]
    embeddings = _relevance_embeddings(texts, profiles)
    minilm_x, minilm_profiles = embeddings["minilm"]
    matcher = ProductMatcher(products, profile_embeddings=minilm_profiles[1:])
    matches = matcher.match(texts, minilm_x, brand_ids=[brand.id] * len(texts))
    scorer = RelevanceScorer([brand], profile_embeddings={brand.id: minilm_profiles})
    base = np.array(
        [
            scorer.features(
                text,
                minilm_x[i],
                brand_id=brand.id,
                lang=records[i]["lang"],
                spam=spam_score(text).score,
                product_confidence=matches[i].confidence,
            )
            for i, text in enumerate(texts)
        ],
        dtype=np.float64,
    )
    train = np.array([r.get("split", "train") == "train" for r in records])
    cosines = {name: (x @ p.T).max(axis=1).astype(np.float64) for name, (x, p) in embeddings.items()}
    reference = cosines["minilm"][train]
    quantile = float((reference <= RELEVANCE_CENTRE).mean())
    features: dict[str, np.ndarray[Any, Any]] = {}
    centres: dict[str, tuple[float, float]] = {}
    for name in choices:
        f = base.copy()
        if name == "none":
            f[:, 2] = 0.0
            centres[name] = (0.0, 0.0)
        else:
            cos = cosines[name]
            if name == "minilm":
                centre, scale = RELEVANCE_CENTRE, RELEVANCE_SCALE
            else:
                centre = float(np.quantile(cos[train], quantile))
                scale = RELEVANCE_SCALE * float(cos[train].std() / reference.std())
            f[:, 2] = np.clip((cos - centre) / scale, -2.0, 2.0)
            centres[name] = (centre, scale)
        features[name] = f
    # The MiniLM column is the scorer's own.
    if "minilm" in features:
        assert np.allclose(features["minilm"][:, 2], base[:, 2], atol=1e-5)
    return RelevanceData(records, y, features, centres)


def _relevance_fit(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> Any:
    """A brand's weights learned from these labels as from its coordinator's decisions.

    Relevant posts are approvals, the others rejections marked off-topic (the label says so: full
    weight), fitted by `curator.relevance_model.learn_weights` with its prior and minimum.
    """
    from tesoro.curator.relevance_model import learn_weights

    weights, _, _ = learn_weights(
        [(tuple(row), int(label), not label) for row, label in zip(x, y, strict=True)]
    )
    return weights


def _relevance_scores(x: np.ndarray[Any, Any], weights: Any) -> np.ndarray[Any, Any]:
    from tesoro.scoring.relevance import relevance_from_features

    return np.array([relevance_from_features(tuple(row), weights) for row in x])


def relevance_cv(names: Sequence[str], args: argparse.Namespace) -> None:
    """Which encoder relevance's similarity term reads, by k-fold CV on the labelled set's train part.

    For each choice, each fold's weights are learned from the other folds' labels (as a brand's from
    its decisions) and scored on its own rows: ROC-AUC, and F1 of "relevant" at the curator's
    `min_relevance` (below it a post is filtered as off-topic). The default (unlearned) weights are
    scored on the same folds.
    """
    from tesoro.scoring.relevance import DEFAULT_WEIGHTS
    from tesoro.settings import CuratorSettings

    threshold = CuratorSettings().min_relevance
    records = [r for r in read_jsonl(args.relevance_data) if r.get("split", "train") == "train"]
    data = relevance_data(records, names)
    fold = _folds([(r["lang"], r["kind"]) for r in records], args.folds, args.fold_seed)
    langs = np.array([r["lang"] for r in records])
    print(
        f"\nrelevance: {args.folds}-fold cross-validation on the train part of {args.relevance_data.name} "
        f"({len(records)} posts: {int(data.y.sum())} relevant; folds stratified by language and kind), "
        f"F1 of relevant at min_relevance {threshold:g}, mean ± sd over the folds\n",
        flush=True,
    )
    header = [
        "similarity",
        "weights",
        "ROC-AUC",
        "F1",
        "F1 en",
        "F1 es",
        "minus minilm's, per fold: AUC",
        "F1",
    ]
    print("| " + " | ".join(header) + " |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    seen: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for name in names:
        x = data.features[name]
        for how in ("default", "learned"):
            aucs, f1s, f1_lang = [], [], {"en": [], "es": []}
            for k in range(args.folds):
                test = fold == k
                weights = DEFAULT_WEIGHTS if how == "default" else _relevance_fit(x[~test], data.y[~test])
                scores = _relevance_scores(x[test], weights)
                aucs.append(_auc(scores, data.y[test]))
                f1s.append(_f1(scores, data.y[test], threshold))
                for lang in f1_lang:
                    part = langs[test] == lang
                    f1_lang[lang].append(_f1(scores[part], data.y[test][part], threshold))
            seen[(name, how)] = (aucs, f1s)
            diffs = ["—", "—"]
            if name != "minilm" and ("minilm", how) in seen:
                diffs = [
                    _mean_sd([a - b for a, b in zip(ours, base, strict=True)])
                    for ours, base in zip((aucs, f1s), seen[("minilm", how)], strict=True)
                ]
            cells = [_mean_sd(aucs), _mean_sd(f1s), _mean_sd(f1_lang["en"]), _mean_sd(f1_lang["es"]), *diffs]
            print(f"| {name} | {how} | " + " | ".join(cells) + " |", flush=True)
    print("\nsimilarity term per choice: clip((cosine - centre) / scale, -2, 2):")
    for name, (centre, scale) in data.centres.items():
        if name != "none":
            print(f"- {name}: centre {centre:.3f}, scale {scale:.3f}")
    for name in names:
        weights = _relevance_fit(data.features[name], data.y)
        print(
            f"- {name}, learned on all of train: "
            + ", ".join(f"{k} {v:.2f}" for k, v in weights.to_json().items())
        )


def relevance_test(names: Sequence[str], args: argparse.Namespace) -> None:
    """The held-out part, once: the default weights, and each choice learned on all of the train part."""
    from tesoro.scoring.relevance import DEFAULT_WEIGHTS
    from tesoro.settings import CuratorSettings

    threshold = CuratorSettings().min_relevance
    records = read_jsonl(args.relevance_data)
    data = relevance_data(records, names)
    train = np.array([r.get("split", "train") == "train" for r in records])
    test = ~train
    langs = np.array([r["lang"] for r in records])
    kinds = np.array([r["kind"] for r in records])
    print(
        f"\nrelevance: held-out part of {args.relevance_data.name} ({int(test.sum())} posts, "
        f"{int(data.y[test].sum())} relevant), weights learned on the train part ({int(train.sum())})\n"
    )
    print("| similarity | weights | ROC-AUC | F1 | F1 en | F1 es | recall | precision |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    misses: dict[str, list[str]] = {}
    for name in names:
        x = data.features[name]
        for how in ("default", "learned"):
            weights = DEFAULT_WEIGHTS if how == "default" else _relevance_fit(x[train], data.y[train])
            scores = _relevance_scores(x[test], weights)
            y = data.y[test]
            predicted = scores >= threshold
            recall = float((predicted & (y == 1)).sum() / max((y == 1).sum(), 1))
            precision = float((predicted & (y == 1)).sum() / max(predicted.sum(), 1))
            cells = [
                f"{100 * _auc(scores, y):.1f}",
                f"{100 * _f1(scores, y, threshold):.1f}",
                *(
                    f"{100 * _f1(scores[langs[test] == lang], y[langs[test] == lang], threshold):.1f}"
                    for lang in ("en", "es")
                ),
                f"{100 * recall:.1f}",
                f"{100 * precision:.1f}",
            ]
            print(f"| {name} | {how} | " + " | ".join(cells) + " |", flush=True)
            wrong = Counter(kinds[test][predicted != (y == 1)])
            misses[f"{name}, {how}"] = [f"{k} {n}" for k, n in sorted(wrong.items())]
    print("\nwrong at min_relevance, by kind:")
    for key, wrong in misses.items():
        print(f"- {key}: " + (", ".join(wrong) or "none"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("sentiment", "offensive", "product", "relevance"), required=True)
    parser.add_argument("--stage", choices=("probe", "cv", "seeds", "fast", "test"), default="probe")
    parser.add_argument(
        "--fast-l2", type=lambda v: [float(k) for k in v.split(",")], default=[3e-5, 1e-4, 3e-4, 1e-3]
    )
    parser.add_argument(
        "--fast-buckets", type=lambda v: [int(k) for k in v.split(",")], default=[2**16, 2**18]
    )
    parser.add_argument("--candidates", default="", help="comma-separated names of CANDIDATES")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=101)
    parser.add_argument("--semeval-limit", type=int, default=8000, help="0: all 47k")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--relevance-data", type=Path, default=RELEVANCE_SET, help="--task relevance: the set"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads while training")
    parser.add_argument(
        "--seeds",
        type=lambda v: [int(k) for k in v.split(",")],
        default=None,
        help="seeds stage: these seeds only",
    )
    args = parser.parse_args(argv)
    args.semeval_limit = args.semeval_limit or None
    names = [n for n in args.candidates.split(",") if n]
    if args.task == "product":  # no head is trained: no torch
        if args.stage != "cv" or not set(names) <= set(PRODUCT_CHOICES):
            parser.error(f"--task product: only --stage cv, --candidates among {', '.join(PRODUCT_CHOICES)}")
        product_cv(names or PRODUCT_CHOICES, args)
        return 0
    if args.task == "relevance":  # no head is trained: no torch
        if args.stage not in ("cv", "test") or not set(names) <= set(RELEVANCE_CHOICES):
            parser.error(
                "--task relevance: only --stage cv or test, --candidates among "
                + ", ".join(RELEVANCE_CHOICES)
            )
        if args.stage == "cv":
            relevance_cv(names or RELEVANCE_CHOICES, args)
        else:
            relevance_test(names or ("minilm",), args)
        return 0
    if args.stage == "test":
        parser.error("--stage test: only with --task relevance")
    import torch

    torch.set_num_threads(args.threads)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidates {unknown}; known: {', '.join(CANDIDATES)}")
    if args.stage == "fast":
        fast(args.task, args)
    elif args.stage == "probe":
        probe(args.task, args)
    elif args.stage == "cv":
        cross_validate(args.task, names or [n for n in CANDIDATES if n.startswith("lin-")], args)
    else:
        seeds(args.task, names[0] if names else None, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
