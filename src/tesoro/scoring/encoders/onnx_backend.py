"""ONNX Runtime backend for the sentence encoder: the same fp32 numbers, about twice as fast on CPU.

The transformer of a sentence-transformers model (Transformer -> mean Pooling ->
Normalize, which is what all-MiniLM-L6-v2 is) is exported once to ONNX from the
already-loaded torch weights, with eager attention so that ONNX Runtime's BERT
optimizer can fuse it (Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNorm).
The graph stays fp32: no quantization, so every head trained on the torch
embeddings stays valid (the embeddings agree to ~1e-6). `quantize="int8"` asks for
a second graph made from that one by ONNX Runtime's dynamic quantization (int8
weights per output channel, activations quantized per batch; about twice the fp32
speed on CPUs with int8 dot-product instructions), checked against the torch
embeddings by cosine rather than to the digit. `quantize="mixed"` quantizes the same
way but leaves the feed-forward output projections of the first three layers in fp32:
those three matrix products carry most of the int8 error in the embeddings (measured
one product at a time on training texts), so the graph keeps about half of the int8
speed-up with a third of its error (docs/scoring.md, "Encoder backends").

The exported file (~90 MB) is not shipped: it is built from the bundled weights on
first use (a few seconds, no network) and cached under `TESORO_CACHE_DIR` (default
`~/.cache/tesoro`)/onnx, keyed by the model files and the torch / onnxruntime versions.
Before a freshly exported graph is used, its embeddings are compared with the torch
model's on probe texts; any mismatch, or any export failure, leaves the caller on
the torch backend (see `encoders.encoder.Encoder`).

Inference tokenizes the whole batch once, sorts the texts by token count and runs
ONNX Runtime on length-homogeneous chunks, so short posts are not padded to the
length of the longest one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from tesoro.scoring.shared import ModelLoadError

__all__ = ["OnnxBranch", "OnnxSentenceModel", "available", "cache_dir", "load_onnx", "mean_pool"]

log = logging.getLogger(__name__)
_Model = TypeVar("_Model")
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
# A quantized graph's embeddings must stay this close to torch's (cosine) on every probe text.
_MIN_COSINE = {"int8": 0.95, "mixed": 0.97}
# `mixed` keeps this many feed-forward output projections, from the bottom layer up, in fp32.
MIXED_FP32_PROJECTIONS = 3


def available() -> bool:
    """Whether onnxruntime (to run) and onnx (to export) are importable."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def cache_dir() -> Path:
    return Path(os.environ.get("TESORO_CACHE_DIR") or Path.home() / ".cache" / "tesoro").expanduser() / "onnx"


def _model_key(model_path: str) -> str:
    # deferred: onnxruntime and torch are heavy imports, needed only once an encoder is built
    import onnxruntime  # type: ignore[import-untyped]
    import torch

    digest = hashlib.sha1(f"{torch.__version__}\0{onnxruntime.__version__}\0v2".encode())
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
    import torch  # deferred: a heavy import

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
            out = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                output_hidden_states=True,
            )
            # The last layer, then every layer boundary below it: a fine-tuned branch reads one of them.
            return (out.last_hidden_state, *out.hidden_states[1:-1])

    layers = int(getattr(auto_model.config, "num_hidden_layers", 1))
    outputs = ["last_hidden_state", *(f"hidden_{i}" for i in range(1, layers))]
    example = tokenizer(["hello world", "a longer example sentence"], padding=True, return_tensors="pt")
    if "token_type_ids" not in example:
        example["token_type_ids"] = torch.zeros_like(example["input_ids"])
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Wrapper(auto_model.eval()),
                tuple(example[k] for k in _INPUTS),
                str(raw),
                input_names=list(_INPUTS),
                output_names=outputs,
                dynamic_axes={k: {0: "batch", 1: "sequence"} for k in (*_INPUTS, *outputs)},
                opset_version=17,
                dynamo=False,
            )
        if previous is not None:
            auto_model.set_attn_implementation(previous)
        final = Path(tmp) / "final.onnx"
        try:
            # deferred: a heavy import, needed only when a graph is exported
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


def ffn_output_projections(graph: Any) -> list[str]:
    """Names of the feed-forward output projections, bottom layer first.

    Found by shape rather than by the exporter's node names: the MatMuls whose constant weight
    maps the wider intermediate width back to the hidden width (1536 -> 384 in MiniLM). An ONNX
    graph lists its nodes in topological order, so the first one belongs to the first layer.
    """
    from onnx import numpy_helper  # deferred: a heavy import, needed only when a graph is quantized

    shapes = {init.name: numpy_helper.to_array(init).shape for init in graph.initializer}
    found = []
    for node in graph.node:
        if node.op_type != "MatMul" or len(node.input) != 2:
            continue
        shape = shapes.get(node.input[1])
        if shape is not None and len(shape) == 2 and shape[0] > shape[1]:
            found.append(node.name)
    return found


def _quantize_graph(source: Path, target: Path, *, keep_fp32: int = 0) -> None:
    """Dynamic int8 quantization of an exported fp32 graph (weights per output channel).

    `keep_fp32` leaves that many feed-forward output projections, from the bottom layer up, in fp32.
    """
    # deferred: onnx and onnxruntime are heavy imports, needed only when a graph is quantized
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    exclude: list[str] = []
    if keep_fp32:
        exclude = ffn_output_projections(onnx.load(str(source)).graph)[:keep_fp32]
        if len(exclude) < keep_fp32:
            raise ValueError(f"the graph has {len(exclude)} feed-forward output projections, not {keep_fp32}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staged = Path(tmp) / "int8.onnx"
        quantize_dynamic(
            str(source),
            str(staged),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=exclude,
            # The fused BERT operators carry no shape information for the quantizer to infer.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(staged, target)


def _checked_export(
    path: Path, export: Callable[[], None], build: Callable[[], tuple[_Model, bool]], mismatch: str
) -> _Model:
    """Build a model from the cached graph at `path` (exporting it first when missing) and self-check it.

    A cached file that does not load or fails the check is exported again once; a fresh export
    that still fails raises (the caller falls back to torch).
    """
    for attempt in range(2):
        if attempt or not path.is_file():
            export()
        try:
            model, ok = build()
        except Exception:
            if attempt:
                raise
            path.unlink(missing_ok=True)  # a damaged or stale cache file: export again
            continue
        if ok:
            return model
        path.unlink(missing_ok=True)
    raise ValueError(mismatch)


def _session(path: Path) -> Any:
    import onnxruntime as ort  # deferred: a heavy import

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
        self._outputs = {o.name for o in session.get_outputs()}
        self.dim = dim

    @classmethod
    def from_sentence_transformer(
        cls, st_model: Any, model_path: str, *, quantize: str | None = None
    ) -> OnnxSentenceModel:
        """Export (or reuse the cached export of) `st_model` and check it against the torch embeddings.

        A cached file that does not load or does not match is exported again once. Raises on any
        other problem; the caller falls back to torch. With `quantize` ("int8" or "mixed"), the
        quantized graph made from the fp32 one is returned instead (checked by cosine, see the
        module docstring).
        """
        if quantize not in (None, "int8", "mixed"):
            raise ValueError(f"unknown quantization {quantize!r}")
        transformer, max_length = _check_structure(st_model)
        tokenizer = st_model.tokenizer
        normalize = len(list(st_model)) == 3
        dim = int(transformer.auto_model.config.hidden_size)
        path = cache_dir() / f"{Path(model_path).name or 'model'}-{_model_key(model_path)}.onnx"
        expected = st_model.encode(
            list(PROBE_TEXTS), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )

        def export() -> None:
            log.info("exporting %s to ONNX at %s (once)", model_path, path)
            _export(transformer, tokenizer, path)

        def build() -> tuple[OnnxSentenceModel, bool]:
            model = cls(_session(path), tokenizer, max_length, normalize, dim)
            got = model.encode(PROBE_TEXTS, batch_size=2)
            if not normalize:
                got = got / np.linalg.norm(got, axis=1, keepdims=True)
            return model, got.shape == expected.shape and float(np.abs(got - expected).max()) <= _TOLERANCE

        def checked_fp32() -> OnnxSentenceModel:
            return _checked_export(path, export, build, "ONNX embeddings differ from the torch model's")

        if quantize is None:
            return checked_fp32()
        suffix = "int8" if quantize == "int8" else f"int8-fp32ffn{MIXED_FP32_PROJECTIONS}"
        q_path = path.with_name(f"{path.stem}-{suffix}.onnx")
        keep = 0 if quantize == "int8" else MIXED_FP32_PROJECTIONS

        def quantized() -> None:
            checked_fp32()  # made from a checked fp32 graph; a cached quantized graph needs no fp32 session
            log.info("quantizing %s (%s) at %s (once)", path, quantize, q_path)
            _quantize_graph(path, q_path, keep_fp32=keep)

        def build_quantized() -> tuple[OnnxSentenceModel, bool]:
            model = cls(_session(q_path), tokenizer, max_length, normalize, dim)
            got = model.encode(PROBE_TEXTS, batch_size=2)
            got = got / np.linalg.norm(got, axis=1, keepdims=True)
            close = float(np.min(np.sum(got * expected, axis=1))) >= _MIN_COSINE[quantize]
            return model, got.shape == expected.shape and close

        return _checked_export(
            q_path, quantized, build_quantized, f"{quantize} ONNX embeddings are too far from torch's"
        )

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> FloatArray:
        """Mean-pooled (and, like the source model, normalized) embeddings in input order."""
        return self._encode(texts, batch_size, None)[0]

    def encode_with_branch(
        self, texts: Sequence[str], branch: OnnxBranch, *, batch_size: int = 64
    ) -> tuple[FloatArray, FloatArray]:
        """The embeddings plus the branch's mean-pooled output, from one pass of the shared layers."""
        if branch.output not in self._outputs:
            raise ValueError(f"the encoder graph has no output {branch.output!r} for this branch")
        embeddings, pooled = self._encode(texts, batch_size, branch)
        assert pooled is not None
        return embeddings, pooled

    def encode_with_layers(
        self, texts: Sequence[str], layers: Sequence[int], *, batch_size: int = 64
    ) -> tuple[FloatArray, FloatArray]:
        """The embeddings, and each row followed by the normalized mean-pooled output of `layers`."""
        names = [f"hidden_{k}" if f"hidden_{k}" in self._outputs else "last_hidden_state" for k in layers]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        features = np.zeros((len(texts), self.dim * (1 + len(layers))), dtype=np.float32)
        for chunk, feeds, _ in self._batches(texts, batch_size):
            mask = feeds["attention_mask"]
            results = self._session.run(["last_hidden_state", *names], feeds)
            pooled = [mean_pool(hidden, mask) for hidden in results]
            parts = [p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12) for p in pooled]
            out[chunk] = parts[0] if self._normalize else pooled[0]
            features[chunk] = np.concatenate(parts, axis=1)
        return out, features

    def token_states(
        self, texts: Sequence[str], layer: int, *, batch_size: int = 64
    ) -> list[npt.NDArray[np.float16]]:
        """Per text, the float16 (tokens, hidden) output of layer `layer` (what a branch trains on)."""
        name = f"hidden_{layer}" if f"hidden_{layer}" in self._outputs else "last_hidden_state"
        result: list[npt.NDArray[np.float16]] = [np.zeros((0, self.dim), dtype=np.float16)] * len(texts)
        for chunk, feeds, lengths in self._batches(texts, batch_size):
            hidden = self._session.run([name], feeds)[0]
            for row, i in enumerate(chunk):
                result[i] = hidden[row, : lengths[i]].astype(np.float16)
        return result

    def _batches(
        self, texts: Sequence[str], batch_size: int
    ) -> Iterator[tuple[npt.NDArray[np.int64], dict[str, npt.NDArray[np.int64]], npt.NDArray[np.int64]]]:
        """Length-sorted chunks: (text indices, the session's input arrays, every text's token count)."""
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
            yield chunk, {k: v for k, v in feeds.items() if k in self._wanted}, lengths

    def _encode(
        self, texts: Sequence[str], batch_size: int, branch: OnnxBranch | None
    ) -> tuple[FloatArray, FloatArray | None]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        extra = np.zeros((len(texts), branch.dim), dtype=np.float32) if branch is not None else None
        names = ["last_hidden_state"] if branch is None else ["last_hidden_state", branch.output]
        for chunk, feeds, _ in self._batches(texts, batch_size):
            mask = feeds["attention_mask"]
            results = self._session.run(names, feeds)
            pooled = mean_pool(results[0], mask)
            if self._normalize:
                pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[chunk] = pooled
            if branch is not None and extra is not None:
                extra[chunk] = mean_pool(branch.run(results[1], mask), mask)
        return out, extra


def mean_pool(hidden: FloatArray, mask: npt.NDArray[np.int64]) -> FloatArray:
    """Average of the token vectors that the attention mask keeps."""
    weights = mask[..., None].astype(np.float32)
    pooled: FloatArray = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled


class OnnxBranch:
    """A fine-tuned branch (`adapter.Branch`) as its own small ONNX Runtime graph: hidden state in, out."""

    def __init__(self, session: Any, cut: int, dim: int, base_layers: int) -> None:
        self._session = session
        self.cut = cut
        self.dim = dim
        # Reading the top of the encoder is the last hidden state; any other cut is an extra output.
        self.output = "last_hidden_state" if cut == base_layers else f"hidden_{cut}"

    def run(self, hidden: FloatArray, mask: npt.NDArray[np.int64]) -> FloatArray:
        result: FloatArray = self._session.run(None, {"hidden_state": hidden, "attention_mask": mask})[0]
        return result

    @classmethod
    def build(cls, branch: Any, base_layers: int) -> OnnxBranch:
        """Export (or reuse the cached export of) `branch` and check it against its torch module."""
        # deferred: onnxruntime and torch are heavy imports, needed only when a branch is built
        import onnxruntime
        import torch

        if not 1 <= branch.cut <= base_layers:
            raise ValueError(f"branch reads layer {branch.cut}; the encoder has {base_layers}")
        module = branch.module()
        rng = np.random.default_rng(0)
        probe = rng.standard_normal((2, 7, branch.hidden)).astype(np.float32)
        probe_mask = np.ones((2, 7), dtype=np.int64)
        probe_mask[1, 4:] = 0
        with torch.no_grad():
            expected = module(torch.from_numpy(probe), torch.from_numpy(probe_mask)).numpy()
        versions = f"{torch.__version__}-{onnxruntime.__version__}".replace("+", "_")
        path = cache_dir() / f"branch-{branch.digest}-{versions}.onnx"
        keep = probe_mask.astype(bool)

        def build() -> tuple[OnnxBranch, bool]:
            model = cls(_session(path), branch.cut, branch.hidden, base_layers)
            got = model.run(probe, probe_mask)
            same = (
                got.shape == expected.shape and float(np.abs(got[keep] - expected[keep]).max()) <= _TOLERANCE
            )
            return model, same

        return _checked_export(
            path,
            lambda: _export_branch(module, branch.hidden, path),
            build,
            "ONNX branch outputs differ from the torch module's",
        )


def _export_branch(module: Any, hidden: int, target: Path) -> None:
    import torch  # deferred: a heavy import

    example = (torch.zeros(2, 5, hidden), torch.ones(2, 5, dtype=torch.int64))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        raw = Path(tmp) / "branch.onnx"
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                example,
                str(raw),
                input_names=["hidden_state", "attention_mask"],
                output_names=["branch_hidden_state"],
                dynamic_axes={
                    name: {0: "batch", 1: "sequence"}
                    for name in ("hidden_state", "attention_mask", "branch_hidden_state")
                },
                opset_version=17,
                dynamo=False,
            )
        os.replace(raw, target)


def load_onnx(
    st_model: Any, path: str, *, required: bool, quantize: str | None = None
) -> OnnxSentenceModel | None:
    """The ONNX Runtime twin of `st_model` (fp32, or quantized: "int8", "mixed"), or None (torch stays)."""
    if not available():
        if required:
            raise ModelLoadError("encoder backend 'onnx' needs the packages onnxruntime and onnx")
        return None
    try:
        return OnnxSentenceModel.from_sentence_transformer(st_model, path, quantize=quantize)
    except Exception as exc:  # export, optimizer and session errors come in many types
        if required:
            raise ModelLoadError(f"could not build the ONNX encoder from {path}: {exc}") from exc
        log.warning("ONNX encoder unavailable (%s: %s); using torch", type(exc).__name__, exc)
        return None
