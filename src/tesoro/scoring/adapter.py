"""A fine-tuned top of the encoder: the sentiment "branch".

The frozen all-MiniLM-L6-v2 embedding was trained for sentence similarity, and a
head on it tops out around 70 points of TweetEval macro-recall. Fine-tuning the
whole encoder would mean shipping (and running) a second 90 MB transformer. A
branch is the middle way: the bottom `cut` layers stay the shared, frozen encoder
(every post goes through them once anyway), and the sentiment model is only a
fine-tuned copy of the top `len(layers)` transformer layers plus a small head:

    tokens -> base layers 1..cut -> base layers cut+1..n -> mean pool -> shared embedding
                               \\-> branch layers (fine-tuned) -> mean pool -> sentiment head

So the shipped weights are the branch's layers (stored as float16) and the head,
a few megabytes, and scoring a post costs the base pass plus `len(layers)` extra
layers. The layer math is written out here (it is BERT's post-norm layer) rather
than borrowed from `transformers`, so the same module trains, exports to ONNX and
runs on any `transformers` version.

File format: `<name>.npz` (plain arrays, `allow_pickle=False`) holding
`layer{i}.{param}` for each branch layer and the head's `w1, b1, w2, b2, labels`,
with a JSON sidecar (`<name>.json`) that records the base encoder, `cut`, the
attention geometry, the training data and the validation metrics.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tesoro.scoring.heads import Head, head_arrays, load_head
from tesoro.scoring.shared import FloatArray, ModelLoadError

__all__ = [
    "LAYER_PARAMS",
    "Branch",
    "branch_module",
    "is_branch_file",
    "load_branch",
    "save_branch",
]


# BERT's names for one layer's parameters, so the branch can start from the base layers' weights.
LAYER_PARAMS = (
    "attention.self.query.weight",
    "attention.self.query.bias",
    "attention.self.key.weight",
    "attention.self.key.bias",
    "attention.self.value.weight",
    "attention.self.value.bias",
    "attention.output.dense.weight",
    "attention.output.dense.bias",
    "attention.output.LayerNorm.weight",
    "attention.output.LayerNorm.bias",
    "intermediate.dense.weight",
    "intermediate.dense.bias",
    "output.dense.weight",
    "output.dense.bias",
    "output.LayerNorm.weight",
    "output.LayerNorm.bias",
)


@dataclass(frozen=True)
class Branch:
    """Fine-tuned top layers of a base encoder plus a classification head on their mean-pooled output."""

    base_encoder: str
    cut: int  # number of base layers below the branch (the branch reads hidden state `cut`)
    num_heads: int
    layer_norm_eps: float
    layers: tuple[dict[str, FloatArray], ...]
    head: Head
    meta: Mapping[str, Any]
    digest: str  # of the weights file: keys the exported ONNX graph

    @property
    def hidden(self) -> int:
        return int(self.layers[0]["attention.self.query.weight"].shape[0])

    @property
    def intermediate(self) -> int:
        return int(self.layers[0]["intermediate.dense.weight"].shape[0])

    def module(self) -> Any:
        """The branch as a torch module holding these weights (eval mode)."""
        module = branch_module(
            self.hidden, self.intermediate, self.num_heads, len(self.layers), self.layer_norm_eps
        )
        module.load_bert_layers(list(self.layers))
        return module.eval()


def save_branch(
    branch_layers: Sequence[Mapping[str, FloatArray]], head: Head, path: Path, meta: Mapping[str, Any]
) -> None:
    """Write the head's arrays and the layers (float16) to `path`, `meta` to the JSON sidecar."""
    arrays = head_arrays(head)
    for i, layer in enumerate(branch_layers):
        arrays.update(
            {f"layer{i}.{name}": np.asarray(layer[name], dtype=np.float16) for name in LAYER_PARAMS}
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    path.with_suffix(".json").write_text(
        json.dumps(dict(meta), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def is_branch_file(path: Path) -> bool:
    """Whether `path` is a branch (its JSON sidecar names a `cut`) rather than a plain head."""
    try:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "cut" in meta


def load_branch(path: Path) -> Branch:
    """Load a branch file; every way it can be wrong is a `ModelLoadError` naming the file."""
    head = load_head(path)  # checks the file exists, is an npz, and the head's shapes and values
    meta = dict(head.meta)
    try:
        count = int(meta["layers"])
        cut = int(meta["cut"])
        num_heads = int(meta["num_heads"])
        eps = float(meta.get("layer_norm_eps", 1e-12))
        base = str(meta["encoder"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"sentiment branch {path}: metadata lacks {exc}") from exc
    try:
        with np.load(path, allow_pickle=False) as data:
            layers = tuple(
                {name: np.asarray(data[f"layer{i}.{name}"], dtype=np.float32) for name in LAYER_PARAMS}
                for i in range(count)
            )
        raw = path.read_bytes()
    except KeyError as exc:
        raise ModelLoadError(f"sentiment branch {path} is incomplete: {exc}") from exc
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelLoadError(f"sentiment branch {path} is corrupt: {exc}") from exc
    if count < 1 or cut < 1:
        raise ModelLoadError(f"sentiment branch {path}: bad geometry (layers={count}, cut={cut})")
    hidden = layers[0]["attention.self.query.weight"].shape[0]
    if num_heads < 1 or hidden % num_heads or head.input_dim != hidden:
        raise ModelLoadError(
            f"sentiment branch {path}: hidden size {hidden} does not fit {num_heads} attention heads "
            f"or its head's input size {head.input_dim}"
        )
    if not all(np.isfinite(array).all() for layer in layers for array in layer.values()):
        raise ModelLoadError(f"sentiment branch {path} contains NaN or infinite weights")
    return Branch(
        base_encoder=base,
        cut=cut,
        num_heads=num_heads,
        layer_norm_eps=eps,
        layers=layers,
        head=head,
        meta=meta,
        digest=hashlib.sha1(raw).hexdigest()[:16],
    )


def branch_module(hidden: int, intermediate: int, num_heads: int, count: int, eps: float) -> Any:
    """A torch module: `count` post-norm BERT layers, (hidden, mask) -> hidden. Untrained until loaded."""
    # deferred: torch is a heavy import, needed only to train or run a branch on torch
    import torch
    from torch import nn

    class _Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query = nn.Linear(hidden, hidden)
            self.key = nn.Linear(hidden, hidden)
            self.value = nn.Linear(hidden, hidden)
            self.attn_out = nn.Linear(hidden, hidden)
            self.attn_norm = nn.LayerNorm(hidden, eps=eps)
            self.inter = nn.Linear(hidden, intermediate)
            self.out = nn.Linear(intermediate, hidden)
            self.out_norm = nn.LayerNorm(hidden, eps=eps)
            self.heads = num_heads
            self.size = hidden // num_heads

        def _split(self, x: Any) -> Any:
            b, t, _ = x.shape
            return x.view(b, t, self.heads, self.size).transpose(1, 2)

        def forward(self, h: Any, bias: Any) -> Any:
            b, t, _ = h.shape
            q, k, v = self._split(self.query(h)), self._split(self.key(h)), self._split(self.value(h))
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.size) + bias
            context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, hidden)
            h = self.attn_norm(self.attn_out(context) + h)
            return self.out_norm(self.out(nn.functional.gelu(self.inter(h))) + h)

    class _Branch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(_Layer() for _ in range(count))

        def forward(self, hidden_state: Any, attention_mask: Any) -> Any:
            bias = (1.0 - attention_mask[:, None, None, :].to(hidden_state.dtype)) * -10000.0
            for layer in self.layers:
                hidden_state = layer(hidden_state, bias)
            return hidden_state

        def load_bert_layers(self, layers: list[Mapping[str, Any]]) -> None:
            """Copy weights given under BERT's parameter names (numpy arrays or tensors)."""
            for mine, theirs in zip(self.layers, layers, strict=True):
                for name, target in _NAME_MAP.items():
                    module_name, param = target.rsplit(".", 1)
                    value = torch.as_tensor(np.asarray(theirs[name], dtype=np.float32))
                    getattr(getattr(mine, module_name), param).data.copy_(value)

        def bert_layers(self) -> list[dict[str, FloatArray]]:
            """The weights under BERT's names, as float32 numpy arrays."""
            out: list[dict[str, FloatArray]] = []
            for mine in self.layers:
                layer: dict[str, FloatArray] = {}
                for name, target in _NAME_MAP.items():
                    module_name, param = target.rsplit(".", 1)
                    tensor = getattr(getattr(mine, module_name), param)
                    layer[name] = tensor.detach().cpu().float().numpy().copy()
                out.append(layer)
            return out

    return _Branch()


_NAME_MAP = {
    "attention.self.query.weight": "query.weight",
    "attention.self.query.bias": "query.bias",
    "attention.self.key.weight": "key.weight",
    "attention.self.key.bias": "key.bias",
    "attention.self.value.weight": "value.weight",
    "attention.self.value.bias": "value.bias",
    "attention.output.dense.weight": "attn_out.weight",
    "attention.output.dense.bias": "attn_out.bias",
    "attention.output.LayerNorm.weight": "attn_norm.weight",
    "attention.output.LayerNorm.bias": "attn_norm.bias",
    "intermediate.dense.weight": "inter.weight",
    "intermediate.dense.bias": "inter.bias",
    "output.dense.weight": "out.weight",
    "output.dense.bias": "out.bias",
    "output.LayerNorm.weight": "out_norm.weight",
    "output.LayerNorm.bias": "out_norm.bias",
}
