"""Quality of the scoring heads on every validation split in ../shared/data that a head covers.

Prints a markdown table with the issue's targets next to each metric. Not a test:
run it after retraining and paste the table into the README.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/quality.py [--data-dir ../shared/data] [--cache-dir /tmp/emb]
        [--tasks product]   # only these tasks (comma-separated: sentiment, product, offensive)

brands_sxsw product accuracy uses a product catalog written for the SXSW targets below
(names, aliases, one-line descriptions), exactly as an operator would configure them, and
scores the rows whose annotators named a target product; "none" counts as wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tesoro.scoring.encoders import DEFAULT_ENCODER, load_encoder
from tesoro.scoring.heads import DEFAULT_OFFENSIVE_HEAD, load_head
from tesoro.scoring.metrics import evaluate
from tesoro.scoring.products import ProductMatcher, ProductRef
from tesoro.scoring.safety import lexicon_safety
from tesoro.scoring.sentiment import SENTIMENT_LABELS, load_sentiment, sentiment_proba
from tesoro.scoring.training import embed_cached, read_jsonl

__all__ = ["SXSW_PRODUCTS", "main"]

SXSW_PRODUCTS = [
    ProductRef(1, "iPad", ("ipad", "ipad 2"), "Apple's iPad tablet computer, including the new iPad 2"),
    ProductRef(2, "iPhone", ("iphone", "iphone 4", "iphone 3gs"), "Apple's iPhone smartphone"),
    ProductRef(
        3,
        "iPad or iPhone App",
        (
            "iphone app",
            "ipad app",
            "ios app",
            "app store",
            "iphone game",
            "ipad game",
            "iphone application",
            "ipad application",
        ),
        "Apps and games for the iPhone and iPad, downloaded from the App Store",
    ),
    ProductRef(
        4,
        "Apple",
        ("apple", "apple store", "apple retail store", "apple pop up store", "apple popup store", "aapl"),
        "Apple, the company, its retail stores and its news",
    ),
    ProductRef(
        5,
        "Other Apple product or service",
        (
            "itunes",
            "itunes store",
            "mac",
            "macbook",
            "macbook pro",
            "macbook air",
            "imac",
            "ipod",
            "ipod touch",
            "apple tv",
            "mac os x",
            "facetime",
            "ibooks",
            "mobileme",
        ),
        "Apple's other products and services: iTunes, Mac computers, the iPod, Apple TV, and accessories"
        " such as cases and chargers",
    ),
    ProductRef(
        6, "Google", ("google", "google search"), "Google, the company: search, its people and its news"
    ),
    ProductRef(
        7,
        "Other Google product or service",
        (
            "google maps",
            "street view",
            "gmail",
            "google docs",
            "google calendar",
            "google reader",
            "google voice",
            "google tv",
            "google earth",
            "google analytics",
            "google buzz",
            "google goggles",
            "google places",
            "google latitude",
            "google translate",
            "google chrome",
            "chrome",
            "youtube",
            "blogger",
            "picasa",
            "hotpot",
            "google hotpot",
            "circles",
            "google circles",
            "google doodle",
            "nexus s",
            "nexus one",
            "google apps",
            "google labs",
            "google art project",
            "fusion tables",
            "google checkout",
        ),
        "Google's products and services other than search and Android: Maps, Gmail, Docs, YouTube, Chrome,"
        " Google TV, the Google doodles and its new social services",
    ),
    ProductRef(
        8,
        "Android",
        ("android", "android phone", "android tablet", "honeycomb", "gingerbread"),
        "Google's Android operating system and the phones and tablets that run it",
    ),
    ProductRef(
        9,
        "Android App",
        ("android app", "android market", "android application", "android game"),
        "Apps and games for Android phones, from the Android Market",
    ),
]

# (data set, task, official metric, target in %)
ROWS = [
    ("tweeteval_sentiment", "sentiment", "macro_recall", 75.0),
    ("airline", "sentiment", "macro_f1", 80.0),
    ("umsab_spanish", "sentiment", "macro_f1", 58.0),
    ("umsab_english", "sentiment", "macro_f1", None),
    ("brands_sxsw", "product", "accuracy", 85.0),
    ("tweeteval_offensive", "offensive", "macro_f1", 75.0),
]
UNCOVERED = ("tweeteval_emotion", "tweeteval_irony", "tweeteval_hate")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="reuse embeddings between runs")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument(
        "--sentiment",
        default=None,
        help="sentiment backend: bundled head (default), a head or branch .npz, or a transformers model",
    )
    all_tasks = sorted({task for _, task, _, _ in ROWS})
    parser.add_argument(
        "--tasks",
        default=",".join(all_tasks),
        help=f"comma-separated subset of {', '.join(all_tasks)} (default: all)",
    )
    args = parser.parse_args(argv)
    tasks = {t.strip() for t in args.tasks.split(",") if t.strip()}
    if not tasks <= set(all_tasks):
        parser.error(f"unknown task(s): {', '.join(sorted(tasks - set(all_tasks)))}")

    started = time.perf_counter()
    encoder = load_encoder(args.encoder)
    sentiment = (
        load_sentiment(args.sentiment, encoder_dim=encoder.dim, encoder_name=args.encoder)
        if "sentiment" in tasks
        else None
    )
    offensive = load_head(DEFAULT_OFFENSIVE_HEAD, expected_dim=encoder.dim) if "offensive" in tasks else None
    matcher = ProductMatcher(SXSW_PRODUCTS, encoder)
    names = {p.id: p.name for p in SXSW_PRODUCTS}

    lines = [
        "| data set (validation) | task | n | official metric | Tesoro | target | met | macro-F1 | accuracy"
        " |",
        "|---|---|---:|---|---:|---:|:-:|---:|---:|",
    ]
    for dataset, task, metric, target in ROWS:
        path = args.data_dir / dataset / "validation.jsonl"
        if task not in tasks or not path.is_file():
            continue
        records = read_jsonl(path)
        if task == "product":
            records = [r for r in records if r.get("target")]
        texts = [r["text"] for r in records]
        emb = embed_cached(encoder, texts, args.cache_dir)
        if task == "sentiment":
            assert sentiment is not None
            gold = [r["label"] for r in records]
            probs = (
                sentiment.predict_proba(texts, emb)
                if sentiment.branch is None and not sentiment.pooled_layers
                else sentiment_proba(sentiment, encoder, texts)
            )
            predicted = [SENTIMENT_LABELS[i] for i in probs.argmax(axis=1)]
        elif task == "offensive":
            assert offensive is not None
            gold = [r["label"] for r in records]
            probs = offensive.predict_proba(emb, texts)[:, offensive.labels.index("offensive")]
            predicted = ["offensive" if p >= 0.5 else "not-offensive" for p in probs]
        else:
            gold = [r["target"] for r in records]
            predicted = [
                names[m.product_id] if m.product_id is not None else "none" for m in matcher.match(texts, emb)
            ]
        report = evaluate(gold, predicted)
        value = 100 * report[metric]
        met = "—" if target is None else ("yes" if value >= target else "no")
        lines.append(
            f"| {dataset} | {task} | {len(records)} | {metric.replace('_', '-')} | {value:.1f} | "
            f"{'—' if target is None else f'{target:.0f}'} | {met} | {100 * report['macro_f1']:.1f} | "
            f"{100 * report['accuracy']:.1f} |"
        )
        if task == "offensive":
            # The pipeline stores max(head, lexicon); report that combination too.
            combined = [
                "offensive" if max(p, lexicon_safety(t).offensive) >= 0.5 else "not-offensive"
                for p, t in zip(probs, texts, strict=True)
            ]
            rep = evaluate(gold, combined)
            lines.append(
                f"| {dataset} (head + lexicon, as stored) | offensive | {len(records)} | macro-f1 | "
                f"{100 * rep['macro_f1']:.1f} | 75 | {'yes' if rep['macro_f1'] >= 0.75 else 'no'} | "
                f"{100 * rep['macro_f1']:.1f} | {100 * rep['accuracy']:.1f} |"
            )
    for dataset in UNCOVERED:
        if tasks == set(all_tasks) and (args.data_dir / dataset / "validation.jsonl").is_file():
            lines.append(
                f"| {dataset} | — | — | not scored (no head for this task yet) | — | — | — | — | — |"
            )
    print("\n".join(lines))
    print(
        f"\nencoder {encoder.name} ({encoder.backend} backend), "
        f"sentiment {sentiment.name if sentiment is not None else '(not run)'}; "
        f"{time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
