"""Usage rights: how well Tesoro reads the authors' answers, and (later sections) the workflow.

    .venv/bin/python bench/rights.py [--errors train|held-out]

The reply classifier (`tesoro.curator.rights_replies`) is measured on
bench/data/rights_replies.jsonl: replies to a rights request in English and Spanish, written for
this benchmark, each labelled granted / declined / revoked / needs_review, with its kind (the
approval hashtag, yes in words, a condition, sarcasm, a question, a no, "please remove", no clear
answer, hostile text, another account answering). A fixed 30% of each (language, kind) is held
out: the rules were chosen looking at the training part only. A wrong grant is a legal risk, so
the targets are precision of "granted" 0.99 and recall 0.9.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

from tesoro.curator.rights_replies import ReplyVerdict, classify_reply

__all__ = ["REPLIES", "main", "reply_split", "reply_table"]

REPLIES = Path(__file__).resolve().parent / "data" / "rights_replies.jsonl"
HELD_OUT = 0.3
SEED = 21
PRECISION_TARGET = 0.99
RECALL_TARGET = 0.9


def read_replies(path: Path = REPLIES) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def reply_split(records: list[dict[str, object]]) -> list[str]:
    """Each record's part, "train" or "held-out": a fixed 30% of each (language, kind), seeded."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        groups[(str(record["lang"]), str(record["kind"]))].append(i)
    rng = random.Random(SEED)
    parts = ["train"] * len(records)
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        for i in members[: round(len(members) * HELD_OUT)]:
            parts[i] = "held-out"
    return parts


def _predict(record: dict[str, object]) -> str:
    return classify_reply(
        str(record["text"]), hashtag=str(record["hashtag"]), from_author=bool(record["from_author"])
    ).verdict.value


def reply_scores(records: list[dict[str, object]]) -> dict[str, float]:
    """Precision and recall of "granted", accuracy over the four verdicts, and the counts."""
    granted = ReplyVerdict.GRANTED.value
    tp = fp = fn = correct = 0
    for record in records:
        predicted, label = _predict(record), str(record["label"])
        correct += predicted == label
        tp += predicted == granted and label == granted
        fp += predicted == granted and label != granted
        fn += predicted != granted and label == granted
    return {
        "n": len(records),
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "accuracy": correct / len(records) if records else 0.0,
        "wrong_grants": fp,
    }


def reply_table(records: list[dict[str, object]], parts: list[str]) -> list[str]:
    lines = [
        "| part | language | replies | precision (granted) | recall (granted) | accuracy (4 verdicts) "
        "| wrong grants |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for part in ("train", "held-out"):
        for lang in ("en", "es", "all"):
            chosen = [
                r for r, p in zip(records, parts, strict=True) if p == part and lang in ("all", r["lang"])
            ]
            s = reply_scores(chosen)
            lines.append(
                f"| {part} | {lang} | {s['n']:.0f} | {s['precision']:.3f} | {s['recall']:.3f} | "
                f"{s['accuracy']:.3f} | {s['wrong_grants']:.0f} |"
            )
    held = reply_scores([r for r, p in zip(records, parts, strict=True) if p == "held-out"])
    ok_p = "met" if held["precision"] >= PRECISION_TARGET else "NOT met"
    ok_r = "met" if held["recall"] >= RECALL_TARGET else "NOT met"
    lines.append("")
    lines.append(
        f"Targets on the held-out part: precision {PRECISION_TARGET} {ok_p}, recall {RECALL_TARGET} {ok_r}."
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--errors", choices=("train", "held-out"), help="also list the misread replies of one part"
    )
    args = parser.parse_args(argv)
    records = read_replies()
    parts = reply_split(records)
    kinds = Counter((str(r["lang"]), str(r["label"])) for r in records)
    print(
        f"## Reply classifier ({len(records)} labelled replies: "
        + ", ".join(f"{k[0]} {k[1]} {v}" for k, v in sorted(kinds.items()))
        + ")"
    )
    print()
    print("\n".join(reply_table(records, parts)))
    if args.errors:
        print()
        for record, part in zip(records, parts, strict=True):
            if part == args.errors and _predict(record) != record["label"]:
                verdict = classify_reply(
                    str(record["text"]),
                    hashtag=str(record["hashtag"]),
                    from_author=bool(record["from_author"]),
                )
                print(
                    f"- [{record['kind']}] {record['text']!r}: labelled {record['label']}, "
                    f"read {verdict.verdict} ({verdict.reason})"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
