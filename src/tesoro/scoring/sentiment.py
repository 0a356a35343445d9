"""Sentiment (negative / neutral / positive, with probabilities).

Two interchangeable backends behind one small interface:

* `HeadSentiment` (default): the MLP head shipped in `scoring/weights/`, run on the
  embeddings the pipeline already computed for every post, so sentiment costs
  almost nothing on top of the shared encoder pass.
* `BranchSentiment`: a fine-tuned copy of the encoder's top layers plus a head
  (`adapter.Branch`, from `tesoro train sentiment --branch`). It reads the shared
  encoder's hidden state below those layers, so a post pays for the branch's own
  layers only.
* `TransformersSentiment`: any Hugging Face text-classification model (a local
  folder, or an id already in the local cache), for teams that prefer e.g. a
  multilingual fine-tuned model and accept paying a second transformer pass.

Both return probabilities in `SENTIMENT_LABELS` order, so the rest of Tesoro
never knows which one ran.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tesoro.scoring.adapter import Branch, is_branch_file, load_branch
from tesoro.scoring.encoders import (
    Encoder,
    ModelLoadError,
    UseEncoder,
    load_use,
    resolve_model_path,
    same_model,
)
from tesoro.scoring.heads import WEIGHTS_DIR, Head, join_inputs, load_head

__all__ = [
    "DEFAULT_SENTIMENT_HEAD",
    "SENTIMENT_LABELS",
    "BranchSentiment",
    "HeadSentiment",
    "SentimentModel",
    "TransformersSentiment",
    "load_sentiment",
    "sentiment_proba",
]

SENTIMENT_LABELS = ("negative", "neutral", "positive")
DEFAULT_SENTIMENT_HEAD = WEIGHTS_DIR / "sentiment_head.npz"
_BUNDLED = frozenset({"", "bundled", "head", "default"})

FloatArray = npt.NDArray[np.float32]


class SentimentModel(Protocol):
    """What the pipeline needs: probabilities per post, from its text and/or its embedding."""

    name: str
    uses_embeddings: bool
    # When set, the pipeline passes this branch's pooled output (Encoder.encode_with_branch)
    # instead of the shared embedding.
    branch: Branch | None
    # When not empty, the pipeline passes the embedding followed by these encoder layers'
    # pooled outputs (Encoder.encode_with_layers) instead of the embedding alone.
    pooled_layers: tuple[int, ...]
    # The encoders whose embeddings it reads, joined in this order ("minilm", "use"); empty: text only.
    inputs: tuple[str, ...]

    def predict_proba(self, texts: Sequence[str], embeddings: FloatArray) -> FloatArray:
        """Rows sum to 1; columns are SENTIMENT_LABELS."""
        ...


class HeadSentiment:
    """A head over the shared sentence embedding (and, if it says so, pooled intermediate layers)."""

    uses_embeddings = True
    branch: Branch | None = None
    pooled_layers: tuple[int, ...] = ()
    inputs: tuple[str, ...] = ("minilm",)

    def __init__(self, head: Head, name: str = "bundled") -> None:
        order = [head.labels.index(label) if label in head.labels else -1 for label in SENTIMENT_LABELS]
        if -1 in order:
            raise ModelLoadError(
                f"sentiment head {name!r} has labels {head.labels}, expected {SENTIMENT_LABELS}"
            )
        self._head = head
        self._order = order
        self.name = name
        self.pooled_layers = head.pooled_layers
        self.inputs = head.inputs

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._head.meta)

    def predict_proba(self, texts: Sequence[str], embeddings: FloatArray) -> FloatArray:
        return self._head.predict_proba(embeddings, texts)[:, self._order]


class BranchSentiment(HeadSentiment):
    """A fine-tuned branch of the encoder; `predict_proba` takes the branch's pooled output."""

    def __init__(self, branch: Branch, name: str = "bundled") -> None:
        super().__init__(branch.head, name)
        self.branch = branch
        self.pooled_layers = ()
        self.inputs = ("minilm",)


# Map a model's own label names onto ours ("LABEL_0" style names fall back to index order).
_LABEL_PATTERNS = {
    "negative": re.compile(r"neg|^0$|1 star|2 stars"),
    "neutral": re.compile(r"neu|^1$|3 stars"),
    "positive": re.compile(r"pos|^2$|4 stars|5 stars"),
}


class TransformersSentiment:
    """A Hugging Face sequence-classification model, loaded from local files only."""

    uses_embeddings = False
    branch: Branch | None = None
    pooled_layers: tuple[int, ...] = ()
    inputs: tuple[str, ...] = ()

    def __init__(
        self, name: str, device: str = "cpu", *, batch_size: int = 32, max_length: int = 128
    ) -> None:
        # deferred: a heavy import, needed only for a transformers classifier
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.name = name
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        path = resolve_model_path(name)
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self._model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
        except Exception as exc:  # OSError, ValueError, safetensors errors: all mean "cannot use this"
            raise ModelLoadError(
                f"could not load sentiment model {name!r}: {type(exc).__name__}: {exc}. "
                "Give a local folder or a Hugging Face id already in the local cache."
            ) from exc
        self._model.to(device).eval()
        self._columns = self._map_labels(dict(self._model.config.id2label))

    def _map_labels(self, id2label: dict[int, str]) -> list[list[int]]:
        """For each of our labels, the model outputs that add up to it."""
        n = len(id2label)
        names = {i: str(label).casefold() for i, label in id2label.items()}
        generic = all(re.fullmatch(r"label_\d+", label) for label in names.values())
        if generic:
            if n != 3:
                raise ModelLoadError(f"sentiment model {self.name!r} has {n} unnamed labels; expected 3")
            return [[0], [1], [2]]
        columns = [
            [i for i, label in names.items() if pattern.search(label)] for pattern in _LABEL_PATTERNS.values()
        ]
        if not columns[0] or not columns[2]:
            raise ModelLoadError(
                f"sentiment model {self.name!r} labels {sorted(names.values())} do not name negative/positive"
            )
        return columns

    def predict_proba(self, texts: Sequence[str], embeddings: FloatArray) -> FloatArray:
        # deferred: a heavy import, needed only for a transformers classifier
        import torch

        out = np.zeros((len(texts), len(SENTIMENT_LABELS)), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            encoded = self._tokenizer(
                batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            ).to(self.device)
            with torch.inference_mode():
                probs = torch.softmax(self._model(**encoded).logits.float(), dim=-1).cpu().numpy()
            for j, cols in enumerate(self._columns):
                if cols:
                    out[start : start + len(batch), j] = probs[:, cols].sum(axis=1)
        totals = out.sum(axis=1, keepdims=True)
        result: FloatArray = np.divide(out, totals, out=np.full_like(out, 1 / 3), where=totals > 0)
        return result


def sentiment_proba(
    model: SentimentModel, encoder: Encoder, texts: Sequence[str], use: UseEncoder | None = None
) -> FloatArray:
    """Probabilities for `texts`, feeding `model` what it reads (branch output, embeddings or text only).

    A model that reads the multilingual USE needs `use` (`load_use()` when not given).
    """
    minilm: FloatArray | None = None
    if "minilm" in model.inputs:
        if model.branch is not None:
            _, minilm = encoder.encode_with_branch(texts, model.branch)
        elif model.pooled_layers:
            _, minilm = encoder.encode_with_layers(texts, model.pooled_layers)
        else:
            minilm = encoder.encode(texts)
    use_rows = (use or load_use()).encode(texts) if "use" in model.inputs else None
    if not model.inputs:
        return model.predict_proba(texts, np.zeros((len(texts), 0), dtype=np.float32))
    return model.predict_proba(texts, join_inputs(model.inputs, minilm, use_rows))


def load_sentiment(
    name: str | None = None,
    *,
    device: str = "cpu",
    encoder_dim: int | None = None,
    encoder_name: str | None = None,
) -> SentimentModel:
    """The configured sentiment backend.

    `None`/"bundled" is the shipped head; a path to an `.npz` is another head or a branch
    (e.g. one retrained with `tesoro train sentiment`); anything else is a transformers model.
    `encoder_name`, when given, must be the model the branch was trained on.
    """
    if name is None or name.strip().casefold() in _BUNDLED:
        return _load_npz(DEFAULT_SENTIMENT_HEAD, "bundled", encoder_dim, encoder_name)
    if name.endswith(".npz"):
        return _load_npz(Path(name).expanduser(), name, encoder_dim, encoder_name)
    return TransformersSentiment(name, device)


def _load_npz(path: Path, name: str, encoder_dim: int | None, encoder_name: str | None) -> SentimentModel:
    """A branch file (its sidecar names a `cut`) or a plain head file."""
    if not is_branch_file(path):
        return HeadSentiment(load_head(path, expected_dim=encoder_dim), name=name)
    branch = load_branch(path)
    if encoder_dim is not None and branch.hidden != encoder_dim:
        raise ModelLoadError(
            f"sentiment branch {path} has hidden size {branch.hidden}; the encoder gives {encoder_dim}"
        )
    if encoder_name is not None and not same_model(encoder_name, branch.base_encoder):
        raise ModelLoadError(
            f"sentiment branch {path} was fine-tuned on encoder {branch.base_encoder!r}, not "
            f"{encoder_name!r}: train one for this encoder (`tesoro train sentiment`) or name a "
            "transformers sentiment model in [models] sentiment"
        )
    return BranchSentiment(branch, name=name)
