"""Encode every labelled split the heads use, once per encoder, into an on-disk cache (never committed).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_datasets.py [--data-dir ../shared/data]
        [--cache-dir ~/.cache/tesoro/embeddings] [--encoders minilm,use]

`bench/select_heads.py` (cross-validation and seeds) and `tesoro train --cache-dir` read the same
files, so the CPU, shared by many people, encodes each data set once. A file is
`<cache>/<encoder>/<data set>.<split>.npy`, one row per record in file order, next to a `.sha1` of
the texts it was made from (a changed data file is encoded again). The MiniLM rows are the
embedding followed by the pooled layers a head may read (`features.CACHED_LAYERS`). Of the 47k
SemEval tweets, the sample that `bench/select_heads.py` cross-validates on (`--semeval-limit`, 8,000 by
default; 0: all) is encoded.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tesoro.scoring.training.features import DATASET_SPLITS, DEFAULT_CACHE, FEATURE_ENCODERS, cached_split
from tesoro.scoring.training.recipes import (
    SEMEVAL_SAMPLE_SEED,
    sentiment_features,
    sentiment_training_data,
)

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--encoders", default=",".join(FEATURE_ENCODERS))
    parser.add_argument("--semeval-limit", type=int, default=8000, help="0: all 47k")
    args = parser.parse_args(argv)
    args.semeval_limit = args.semeval_limit or None
    for dataset, split in DATASET_SPLITS:
        for encoder in args.encoders.split(","):
            started = time.perf_counter()
            rows = cached_split(encoder, args.data_dir, dataset, split, args.cache_dir)
            print(
                f"{encoder:8} {dataset}.{split}: {rows.shape} in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    texts, _, _, sizes = sentiment_training_data(args.data_dir, args.semeval_limit, SEMEVAL_SAMPLE_SEED)
    for encoder in args.encoders.split(","):
        started = time.perf_counter()
        rows = sentiment_features(
            texts,
            sizes,
            [encoder],
            (),
            args.cache_dir,
            semeval_limit=args.semeval_limit,
            seed=SEMEVAL_SAMPLE_SEED,
        )
        print(f"{encoder:8} sentiment training texts: {rows.shape} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
