"""Sentence encoders: one interface (`Encoder`), backends for torch (fp32 or bf16) and ONNX (fp32 or int8).

`base` holds the model names and the backend interface, `torch_backend` and `onnx_backend` the two
backends, `encoder` the `Encoder` that picks one and the per-process cache (`load_encoder`).
"""

from tesoro.scoring.encoders.base import DEFAULT_ENCODER, resolve_model_path, same_model
from tesoro.scoring.encoders.encoder import (
    PROGRESS_CHUNK,
    Embeddings,
    Encoder,
    clear_cache,
    in_chunks,
    load_encoder,
)
from tesoro.scoring.shared import ModelLoadError

__all__ = [
    "DEFAULT_ENCODER",
    "PROGRESS_CHUNK",
    "Embeddings",
    "Encoder",
    "ModelLoadError",
    "clear_cache",
    "in_chunks",
    "load_encoder",
    "resolve_model_path",
    "same_model",
]
