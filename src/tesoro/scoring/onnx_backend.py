"""ONNX Runtime backend for the sentence encoder: the same fp32 numbers, about twice as fast on CPU.

The transformer of a sentence-transformers model (Transformer -> mean Pooling ->
Normalize, which is what all-MiniLM-L6-v2 is) is exported once to ONNX from the
already-loaded torch weights, with eager attention so that ONNX Runtime's BERT
optimizer can fuse it (Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNorm).
The graph stays fp32: no quantization, so every head trained on the torch
embeddings stays valid (the embeddings agree to ~1e-6).

The exported file (~90 MB) is not shipped: it is built from the bundled weights on
first use (a few seconds, no network) and cached under `TESORO_CACHE_DIR` (default
`~/.cache/tesoro`)/onnx, keyed by the model files and the torch / onnxruntime versions.
Before a freshly exported graph is used, its embeddings are compared with the torch
model's on probe texts; any mismatch, or any export failure, leaves the caller on
the torch backend (see `encoder.Encoder`).

Inference tokenizes the whole batch once, sorts the texts by token count and runs
ONNX Runtime on length-homogeneous chunks, so short posts are not padded to the
length of the longest one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["OnnxSentenceModel", "available", "cache_dir"]

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float32]
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PROBE_TEXTS = (
    "I love this phone, best purchase ever!",
    "worst airline, two hours late and no apology",
    "El servicio fue terrible, no vuelvo jamás 😡",
    "ok",
    "Just landed in Denver. Heading to the hotel now, will post pictures later #travel @united",
)
_TOLERANCE = 1e-3


def available() -> bool:
    """Whether onnxruntime (to run) and onnx (to export) are importable."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def cache_dir() -> Path:
    return Path(os.environ.get("TESORO_CACHE_DIR") or Path.home() / ".cache" / "tesoro").expanduser() / "onnx"


def _model_key(model_path: str) -> str:
    import onnxruntime  # type: ignore[import-untyped]
    import torch

    digest = hashlib.sha1(f"{torch.__version__}\0{onnxruntime.__version__}\0v1".encode())
    root = Path(model_path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    for p in files:
        stat = p.stat()
        digest.update(f"{p.relative_to(root)}\0{stat.st_size}\0{int(stat.st_mtime)}\0".encode())
    if not files:
        digest.update(model_path.encode())
    return digest.hexdigest()[:16]


def _check_structure(st_model: Any) -> tuple[Any, int]:
    """The transformer module and max length, if the model is Transformer -> mean Pooling [-> Normalize]."""
    modules = list(st_model)
    names = [type(m).__name__ for m in modules]
    if len(modules) not in (2, 3) or names[0] != "Transformer" or names[1] != "Pooling":
        raise ValueError(f"unsupported module layout {names}")
    if len(modules) == 3 and names[2] != "Normalize":
        raise ValueError(f"unsupported module layout {names}")
    pooling = modules[1].get_config_dict().get("pooling_mode")
    if pooling not in ("mean", None) and not modules[1].get_config_dict().get("pooling_mode_mean_tokens"):
        raise ValueError(f"unsupported pooling {pooling!r}")
    return modules[0], int(st_model.max_seq_length or 512)


def _export(transformer: Any, tokenizer: Any, target: Path) -> None:
    import torch

    auto_model = transformer.auto_model
    previous = getattr(auto_model.config, "_attn_implementation", None)
    try:
        auto_model.set_attn_implementation("eager")  # fusable by ORT's BERT optimizer
    except Exception:  # older transformers or a model without the switch: export as is
        previous = None

    class _Wrapper(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    example = tokenizer(["hello world", "a longer example sentence"], padding=True, return_tensors="pt")
    if "token_type_ids" not in example:
        example["token_type_ids"] = torch.zeros_like(example["input_ids"])
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        raw = Path(tmp) / "raw.onnx"
        import warnings

        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Wrapper(auto_model.eval()),
                tuple(example[k] for k in _INPUTS),
                str(raw),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={k: {0: "batch", 1: "sequence"} for k in (*_INPUTS, "last_hidden_state")},
                opset_version=17,
                dynamo=False,
            )
        if previous is not None:
            auto_model.set_attn_implementation(previous)
        final = Path(tmp) / "final.onnx"
        try:
            from onnxruntime.transformers import optimizer  # type: ignore[import-untyped]

            config = auto_model.config
            optimized = optimizer.optimize_model(
                str(raw),
                model_type="bert",
                num_heads=int(getattr(config, "num_attention_heads", 0)),
                hidden_size=int(getattr(config, "hidden_size", 0)),
                opt_level=1,
            )
            optimized.save_model_to_file(str(final))
        except Exception as exc:  # the plain graph is still correct, only slower
            log.info("onnxruntime BERT fusion skipped: %s", exc)
            raw.replace(final)
        os.replace(final, target)  # atomic: a concurrent reader never sees half a file


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1
    threads = os.environ.get("TESORO_ONNX_THREADS")
    if threads:
        options.intra_op_num_threads = int(threads)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxSentenceModel:
    """Normalized mean-pooled sentence embeddings from an ONNX Runtime session."""

    def __init__(self, session: Any, tokenizer: Any, max_length: int, normalize: bool, dim: int) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._max_length = max_length
        self._normalize = normalize
        self._wanted = {i.name for i in session.get_inputs()}
        self.dim = dim

    @classmethod
    def from_sentence_transformer(cls, st_model: Any, model_path: str) -> OnnxSentenceModel:
        """Export (or reuse the cached export of) `st_model` and check it against the torch embeddings.

        A cached file that does not load or does not match is exported again once. Raises on any
        other problem; the caller falls back to torch.
        """
        transformer, max_length = _check_structure(st_model)
        tokenizer = st_model.tokenizer
        normalize = len(list(st_model)) == 3
        dim = int(transformer.auto_model.config.hidden_size)
        path = cache_dir() / f"{Path(model_path).name or 'model'}-{_model_key(model_path)}.onnx"
        expected = st_model.encode(
            list(PROBE_TEXTS), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        for attempt in range(2):
            if attempt or not path.is_file():
                log.info("exporting %s to ONNX at %s (once)", model_path, path)
                _export(transformer, tokenizer, path)
            try:
                model = cls(_session(path), tokenizer, max_length, normalize, dim)
                got = model.encode(PROBE_TEXTS, batch_size=2)
            except Exception:
                if attempt:
                    raise
                path.unlink(missing_ok=True)  # a damaged or stale cache file: export again
                continue
            if not normalize:
                got = got / np.linalg.norm(got, axis=1, keepdims=True)
            if got.shape == expected.shape and float(np.abs(got - expected).max()) <= _TOLERANCE:
                return model
            path.unlink(missing_ok=True)
        raise ValueError("ONNX embeddings differ from the torch model's")

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> FloatArray:
        """Mean-pooled (and, like the source model, normalized) embeddings in input order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encoded = self._tokenizer(
            [text.strip() for text in texts],
            truncation=True,
            max_length=self._max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=True,
        )
        ids: list[list[int]] = encoded["input_ids"]
        types: list[list[int]] = encoded["token_type_ids"]
        pad = int(self._tokenizer.pad_token_id or 0)
        lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = int(lengths[chunk].max())
            input_ids = np.full((len(chunk), width), pad, dtype=np.int64)
            token_types = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = int(lengths[i])
                input_ids[row, :n] = ids[i]
                token_types[row, :n] = types[i]
                mask[row, :n] = 1
            feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": token_types}
            hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._wanted})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            if self._normalize:
                pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[chunk] = pooled
        return out
