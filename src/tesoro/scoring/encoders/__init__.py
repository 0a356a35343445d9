"""Sentence encoders: MiniLM (`Encoder`: torch fp32/bf16 or ONNX fp32/int8) and the multilingual USE (`use`).

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
    load_use,
)
from tesoro.scoring.encoders.use import USE_DIM, USE_ENCODER, UseEncoder, is_use
from tesoro.scoring.shared import ModelLoadError

__all__ = [
    "DEFAULT_ENCODER",
    "PROGRESS_CHUNK",
    "USE_DIM",
    "USE_ENCODER",
    "Embeddings",
    "Encoder",
    "ModelLoadError",
    "UseEncoder",
    "clear_cache",
    "in_chunks",
    "is_use",
    "load_encoder",
    "load_use",
    "resolve_model_path",
    "same_model",
]
