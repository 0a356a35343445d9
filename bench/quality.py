"""Quality of the scoring heads on every validation split in ../shared/data that a head covers.

Prints a markdown table with the issue's targets next to each metric. Not a test:
run it after retraining and paste the table into the README.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/quality.py [--data-dir ../shared/data] [--cache-dir /tmp/emb]
        [--tasks product]   # only these tasks (comma-separated: sentiment, product, offensive, safety)

The safety section measures what the curator filters for safety (the "filtered" view's spam and
unsafe reasons) on bench/data/safety_brand_context.jsonl, brand-context posts in English and Spanish
labelled "unsafe" (abuse, hate, threats, sexual content, spam) or "safe" (reviews, tutorials,
unboxings, questions, complaints, strong words about a product). A fixed 30% of it, stratified by
language and kind, is held out: choose thresholds and rules on the training part only.

brands_sxsw product accuracy uses a product catalog written for the SXSW targets below
(names, aliases, one-line descriptions), exactly as an operator would configure them, and
scores the rows whose annotators named a target product; "none" counts as wrong.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tesoro.curator.treasure import TreasureInputs, score_treasure
from tesoro.scoring.encoders import DEFAULT_ENCODER, Encoder, load_encoder
from tesoro.scoring.heads import DEFAULT_OFFENSIVE_HEAD, Head, load_head
from tesoro.scoring.metrics import evaluate
from tesoro.scoring.pipeline import FAST_OFFENSIVE_HEAD, FAST_SENTIMENT_HEAD, head_proba
from tesoro.scoring.products import ProductMatcher, ProductRef
from tesoro.scoring.safety import spam_score, text_safety
from tesoro.scoring.sentiment import (
    SENTIMENT_LABELS,
    HeadSentiment,
    SentimentModel,
    load_sentiment,
    sentiment_proba,
)
from tesoro.scoring.shared import FloatArray
from tesoro.scoring.training import embed_cached, read_jsonl
from tesoro.settings import CuratorSettings

__all__ = [
    "BRAND_SENTIMENT_SET",
    "SAFETY_SET",
    "SXSW_PRODUCTS",
    "brand_sentiment_table",
    "main",
    "safety_split",
    "safety_table",
]

SAFETY_SET = Path(__file__).resolve().parent / "data" / "safety_brand_context.jsonl"
# Brand-context sentiment posts written for issue 18 (English and Spanish; complaints without negative
# words, slang and idiom, emoticons, mixed praise and complaint, brand posts). Never trained on: all
# of it is reported.
BRAND_SENTIMENT_SET = Path(__file__).resolve().parent / "data" / "brand_sentiment.jsonl"
SAFETY_HELD_OUT = 0.3
SAFETY_SEED = 16

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
    ("tweeteval_sentiment", "sentiment", "macro_recall", 72.0),
    ("airline", "sentiment", "macro_f1", 81.0),
    ("umsab_spanish", "sentiment", "macro_f1", 62.0),
    ("umsab_english", "sentiment", "macro_f1", None),
    ("brands_sxsw", "product", "accuracy", 86.0),
    ("tweeteval_offensive", "offensive", "macro_f1", 77.0),
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
    parser.add_argument(
        "--profile",
        choices=("default", "fast"),
        default="default",
        help="fast: the fast profile's text-only n-gram heads and alias-only product matching",
    )
    all_tasks = sorted({task for _, task, _, _ in ROWS} | {"safety"})
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
    offensive = (
        load_head(DEFAULT_OFFENSIVE_HEAD, expected_dim=encoder.dim)
        if tasks & {"offensive", "safety"}
        else None
    )
    matcher = ProductMatcher(SXSW_PRODUCTS, encoder)
    fast = args.profile == "fast"
    if fast:  # no encoder input anywhere: the heads read the text, the matcher aliases alone
        sentiment = HeadSentiment(load_head(FAST_SENTIMENT_HEAD), name="fast")
        offensive = load_head(FAST_OFFENSIVE_HEAD)
        matcher = ProductMatcher(
            SXSW_PRODUCTS, profile_embeddings=np.zeros((len(SXSW_PRODUCTS), 0), np.float32)
        )
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
        emb = np.zeros((len(texts), 0), np.float32) if fast else embed_cached(encoder, texts, args.cache_dir)
        if task == "sentiment":
            assert sentiment is not None
            gold = [r["label"] for r in records]
            probs = sentiment_proba(sentiment, encoder, texts)
            predicted = [SENTIMENT_LABELS[i] for i in probs.argmax(axis=1)]
        elif task == "offensive":
            assert offensive is not None
            gold = [r["label"] for r in records]
            probs = _offensive_probs(offensive, encoder, texts)
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
            # The pipeline stores the head and the word lists combined (`text_safety`); report that too.
            combined = [
                "offensive" if text_safety(t, float(p))["offensive"] >= 0.5 else "not-offensive"
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
    if "sentiment" in tasks or "product" in tasks or "offensive" in tasks:
        print("\n".join(lines))
    if "sentiment" in tasks:
        assert sentiment is not None
        print("\n" + brand_sentiment_table(read_jsonl(BRAND_SENTIMENT_SET), sentiment, encoder))
    if "safety" in tasks:
        assert offensive is not None
        records = read_jsonl(SAFETY_SET)
        texts = [r["text"] for r in records]
        head = _offensive_probs(offensive, encoder, texts)
        predicted = [safety_filtered(t, float(p)) for t, p in zip(texts, head, strict=True)]
        print("\n" + safety_table(records, predicted))
    print(
        f"\nencoder {encoder.name} ({encoder.backend} backend), "
        f"sentiment {sentiment.name if sentiment is not None else '(not run)'}, profile {args.profile}; "
        f"{time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return 0


def _offensive_probs(head: Head, encoder: Encoder, texts: list[str]) -> FloatArray:
    """P(offensive) per text, feeding the head the encoders (and MiniLM layers) it reads."""
    probs: FloatArray = head_proba(head, encoder, texts)[:, head.labels.index("offensive")]
    return probs


def brand_sentiment_table(records: list[dict[str, str]], sentiment: SentimentModel, encoder: Encoder) -> str:
    """Macro-F1 and accuracy on the brand-sentiment set: all of it, per language and per kind of post."""
    texts = [r["text"] for r in records]
    probs = sentiment_proba(sentiment, encoder, texts)
    predicted = [SENTIMENT_LABELS[i] for i in probs.argmax(axis=1)]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        groups["all"].append(i)
        groups[f"lang {r['lang']}"].append(i)
        groups[f"kind {r['kind']}"].append(i)
    lines = [
        f"brand-sentiment set ({BRAND_SENTIMENT_SET.name}, {len(records)} posts written for issue 18, "
        "never trained on)",
        "",
        "| part | n | macro-F1 | accuracy |",
        "|---|---:|---:|---:|",
    ]
    for name in sorted(groups, key=lambda g: (g != "all", g)):
        rows = groups[name]
        report = evaluate([records[i]["label"] for i in rows], [predicted[i] for i in rows], SENTIMENT_LABELS)
        lines.append(
            f"| {name} | {len(rows)} | {100 * report['macro_f1']:.1f} | {100 * report['accuracy']:.1f} |"
        )
    return "\n".join(lines)


def safety_split(records: list[dict[str, str]]) -> list[str]:
    """Each record's part, "train" or "held-out": a fixed 30% of each (language, kind), seeded."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        groups[(record["lang"], record["kind"])].append(i)
    rng = random.Random(SAFETY_SEED)
    parts = ["train"] * len(records)
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        for i in members[: round(len(members) * SAFETY_HELD_OUT)]:
            parts[i] = "held-out"
    return parts


def safety_filtered(text: str, offensive_head: float, settings: CuratorSettings | None = None) -> str | None:
    """The filtered view's reason for a post with this text (spam or unsafe), as the pipeline scores it."""
    inputs = TreasureInputs(
        created_at=datetime.now(UTC),
        safety=text_safety(text, offensive_head),
        spam=spam_score(text).score,
    )
    conf = settings or CuratorSettings()
    return score_treasure(inputs, conf, now=inputs.created_at).filtered


def safety_table(records: list[dict[str, str]], reasons: list[str | None]) -> str:
    """Precision and recall of "unsafe" (filtered: spam or unsafe) by part and language, and the errors."""
    parts = safety_split(records)
    lines = [
        "| part | language | posts | unsafe | filtered | precision | recall | F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for part in ("train", "held-out", "all"):
        for lang in ("en", "es", "all"):
            rows = [
                (r["label"] == "unsafe", reason is not None)
                for r, reason, p in zip(records, reasons, parts, strict=True)
                if part in ("all", p) and lang in ("all", r["lang"])
            ]
            tp = sum(gold and hit for gold, hit in rows)
            positives = sum(gold for gold, _ in rows)
            flagged = sum(hit for _, hit in rows)
            precision = tp / flagged if flagged else 1.0
            recall = tp / positives if positives else 1.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            lines.append(
                f"| {part} | {lang} | {len(rows)} | {positives} | {flagged} | {precision:.3f} | {recall:.3f} "
                f"| {f1:.3f} |"
            )
    errors: dict[str, list[str]] = defaultdict(list)
    for record, reason, part in zip(records, reasons, parts, strict=True):
        if part == "train" and (record["label"] == "unsafe") != (reason is not None):
            errors[record["kind"]].append(f"{record['text'][:70]!r} -> {reason or 'kept'}")
    lines.append("\nErrors on the training part, by kind:")
    for kind in sorted(errors):
        lines.append(f"- {kind} ({len(errors[kind])}): " + "; ".join(errors[kind][:4]))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
