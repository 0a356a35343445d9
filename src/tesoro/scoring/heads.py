"""Small classification heads on top of the frozen sentence encoder.

A head is a one-hidden-layer MLP over the normalized sentence embedding. It is
why the shipped weights are a few hundred kilobytes instead of a second copy of
a transformer: the encoder already runs once per post for the product and
relevance heads, so sentiment and offensiveness cost one extra matrix product.

An optional lexical part adds, per class, the sum of learned weights of hashed word
and character n-grams (a linear "bag of n-grams" model). MiniLM was trained on
English, so on Spanish tweets its embedding carries little sentiment; n-grams such
as "odio", "genial" or "jajaja" carry a lot, cost microseconds and need no encoder.

Heads are stored as `.npz` (plain arrays, loaded with `allow_pickle=False`, so a
weights file can never execute code) with a JSON sidecar that records the label
order, the encoder they were trained on, the training data and the metrics.
Inference is numpy only; torch is needed only to train.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tesoro.scoring.shared import USE_DIM, FloatArray, ModelLoadError

__all__ = [
    "DEFAULT_OFFENSIVE_HEAD",
    "HEAD_INPUTS",
    "WEIGHTS_DIR",
    "Head",
    "TrainConfig",
    "hashed_ngram_batch",
    "hashed_ngrams",
    "head_arrays",
    "join_inputs",
    "lexical_logits",
    "load_head",
    "save_head",
    "train_head",
]

_KEYS = ("w1", "b1", "w2", "b2", "labels")
# The encoders a head may read, in the order their embeddings are joined.
HEAD_INPUTS = ("minilm", "use")
# Shipped weights live inside the package (package-data `scoring/weights/*`).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_OFFENSIVE_HEAD = WEIGHTS_DIR / "offensive_head.npz"
_GELU_C = np.float32(np.sqrt(2.0 / np.pi))
_URL = re.compile(r"https?://\S+|www\.\S+|\{link\}")
_MENTION = re.compile(r"@\w+")
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")


def hashed_ngrams(text: str, buckets: int) -> npt.NDArray[np.int64]:
    """Bucket ids of the text's word 1-2-grams and character 3-4-grams (crc32: stable across processes).

    Links and @handles are replaced by placeholders so that they do not become features. The ids
    come in a fixed order (every word, then every word pair, then each word's character n-grams), so
    that summing their weights gives the same float result in every process.
    """
    codes = _ngram_codes(text)
    if not codes:
        return np.zeros(0, dtype=np.int64)
    return np.array(codes, dtype=np.int64) % buckets


def hashed_ngram_batch(
    texts: Sequence[str], buckets: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """`hashed_ngrams` of every text, concatenated, and each text's count of ids (one numpy pass)."""
    codes: list[int] = []
    counts = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        one = _ngram_codes(text)
        counts[i] = len(one)
        codes.extend(one)
    return np.array(codes, dtype=np.int64) % buckets, counts


# Per word: the crc32 codes of its unigram and its character 3- and 4-grams, its UTF-8 bytes and the
# running crc32 of "b:<word> " (a word pair's code continues it with the second word's bytes). Tweets
# share most of their words, so most texts are hashed from this cache. Bounded: cleared when full (a
# miss only costs the crc32 calls).
_WORD_CODES: dict[str, tuple[int, tuple[int, ...], bytes, int]] = {}
_CACHE_LIMIT = 200_000


def _word_codes(word: str) -> tuple[int, tuple[int, ...], bytes, int]:
    padded = f"<{word}>"
    grams = tuple(
        zlib.crc32(f"c:{padded[i : i + n]}".encode())
        for n in (3, 4)
        for i in range(max(len(padded) - n + 1, 0))
    )
    raw = word.encode()
    found = (zlib.crc32(b"w:" + raw), grams, raw, zlib.crc32(b"b:" + raw + b" "))
    if len(_WORD_CODES) >= _CACHE_LIMIT:
        _WORD_CODES.clear()
    _WORD_CODES[word] = found
    return found


def _ngram_codes(text: str) -> list[int]:
    """The crc32 code of each feature of `text`, in `hashed_ngrams` order."""
    cleaned = _MENTION.sub(" @user ", _URL.sub(" http ", text.casefold()))
    words = _TOKEN.findall(cleaned)
    cache = _WORD_CODES
    per_word = [cache.get(w) or _word_codes(w) for w in words]
    codes = [entry[0] for entry in per_word]
    crc32 = zlib.crc32
    codes += [crc32(second[2], first[3]) for first, second in pairwise(per_word)]
    for entry in per_word:
        codes += entry[1]
    return codes


@dataclass(frozen=True)
class Head:
    """Weights of `softmax(gelu(x @ w1 + b1) @ w2 + b2)` (linear: `softmax(x @ w1 + b1)`) and the labels."""

    w1: FloatArray
    b1: FloatArray
    w2: FloatArray
    b2: FloatArray
    labels: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    lexical: FloatArray | None = None  # (buckets, classes) n-gram weights, or None
    # MiniLM layers whose mean-pooled, normalized output follows the embedding in the input
    # (`Encoder.encode_with_layers`); empty: the MiniLM part is the sentence embedding alone.
    pooled_layers: tuple[int, ...] = ()
    # Which encoders' embeddings the input holds, in this order: "minilm" (with `pooled_layers`),
    # then "use" (the multilingual USE, 512 columns). `join_inputs` builds it.
    inputs: tuple[str, ...] = ("minilm",)

    @property
    def reads_minilm(self) -> bool:
        return "minilm" in self.inputs

    @property
    def reads_use(self) -> bool:
        return "use" in self.inputs

    @property
    def input_dim(self) -> int:
        return int(self.w1.shape[0])

    @property
    def linear(self) -> bool:
        """A linear head (`TrainConfig(hidden=0)`): logits are `x @ w1 + b1`; w2 is empty."""
        return self.w2.size == 0

    def predict_proba(self, x: FloatArray, texts: Sequence[str] | None = None) -> FloatArray:
        """Class probabilities, one row per embedding, columns in `labels` order.

        A head with a lexical part needs the texts the embeddings came from.
        """
        if x.shape[0] == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if self.linear:
            logits = x @ self.w1 + self.b1
        else:
            hidden = x @ self.w1 + self.b1
            # GELU, tanh form: the same as the training module's nn.GELU(approximate="tanh"), no torch needed.
            hidden = 0.5 * hidden * (1.0 + np.tanh(_GELU_C * (hidden + 0.044715 * hidden**3)))
            logits = hidden @ self.w2 + self.b2
        if self.lexical is not None:
            if texts is None or len(texts) != x.shape[0]:
                raise ValueError("this head has a lexical part: pass the texts with the embeddings")
            logits = logits + self._lexical_logits(texts)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs: FloatArray = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return probs

    def _lexical_logits(self, texts: Sequence[str]) -> FloatArray:
        assert self.lexical is not None
        return lexical_logits(self.lexical, texts)

    def predict(self, x: FloatArray, texts: Sequence[str] | None = None) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(x, texts).argmax(axis=1)]


def lexical_logits(lexical: FloatArray, texts: Sequence[str]) -> FloatArray:
    """Per text, the sum of its n-grams' rows of `lexical` scaled by 1/sqrt(their count); zeros if none."""
    ids, counts = hashed_ngram_batch(texts, lexical.shape[0])
    out = np.zeros((len(texts), lexical.shape[1]), dtype=np.float32)
    rows = lexical[ids]
    end = 0
    for i, n in enumerate(counts.tolist()):
        if n:
            start, end = end, end + n
            # Per text, the same reduction as over its own gathered rows: the same float32 sums.
            out[i] = rows[start:end].sum(axis=0) / np.sqrt(n)
    return out


def head_arrays(head: Head) -> dict[str, Any]:
    """The arrays `save_head` writes (float16 weights, the labels, the lexical part when present)."""
    arrays: dict[str, Any] = {
        "w1": head.w1.astype(np.float16),
        "b1": head.b1.astype(np.float16),
        "w2": head.w2.astype(np.float16),
        "b2": head.b2.astype(np.float16),
        "labels": np.array(head.labels),
    }
    if head.lexical is not None:
        arrays["lexical"] = head.lexical.astype(np.float16)
    if head.pooled_layers:
        arrays["pooled_layers"] = np.asarray(head.pooled_layers, dtype=np.int64)
    if head.inputs != ("minilm",):
        arrays["inputs"] = np.array(head.inputs, dtype=np.str_)
    return arrays


def join_inputs(inputs: Sequence[str], minilm: FloatArray | None, use: FloatArray | None) -> FloatArray:
    """A head's input from each encoder's rows, joined in `HEAD_INPUTS` order (MiniLM rows, then USE rows).

    `minilm` is what the head reads of MiniLM (the embedding, plus its pooled layers when it has any).
    """
    blocks: list[FloatArray] = []
    for name, rows in (("minilm", minilm), ("use", use)):
        if name in inputs:
            if rows is None:
                raise ValueError(f"this head reads {list(inputs)}: pass the {name} rows")
            blocks.append(rows)
    if len(blocks) == 1:
        return blocks[0]
    joined: FloatArray = np.concatenate(blocks, axis=1).astype(np.float32, copy=False)
    return joined


def save_head(head: Head, path: Path, meta: Mapping[str, Any]) -> None:
    """Write `path` (.npz) and `path`.json.

    Weights are stored as float16 to halve the size; the rounding is far below the head's error.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **head_arrays(head))
    meta_path = path.with_suffix(".json")
    meta_path.write_text(json.dumps(dict(meta), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_head(path: Path, *, expected_dim: int | None = None) -> Head:
    """Load a head written by `save_head`; any damage is a `ModelLoadError` that names the file."""
    if not path.is_file():
        raise ModelLoadError(f"head weights {path} not found (run `tesoro train` to create them)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in _KEYS if key not in data.files]
            if missing:
                raise ModelLoadError(f"head weights {path} are incomplete: missing {missing}")
            arrays = {key: data[key] for key in _KEYS}
            lexical = data["lexical"].astype(np.float32) if "lexical" in data.files else None
            layers = data["pooled_layers"] if "pooled_layers" in data.files else np.zeros(0, np.int64)
            inputs = (
                tuple(str(name) for name in data["inputs"].tolist())
                if "inputs" in data.files
                else ("minilm",)
            )
    except ModelLoadError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ModelLoadError(f"head weights {path} are corrupt or not an .npz file: {exc}") from exc
    w1, b1, w2, b2 = (arrays[key].astype(np.float32) for key in ("w1", "b1", "w2", "b2"))
    labels = tuple(str(label) for label in arrays["labels"].tolist())
    linear = w2.size == 0
    if linear and (
        w1.ndim != 2
        or w1.shape[1] != len(labels)
        or b1.shape != (len(labels),)
        or (lexical is not None and (lexical.ndim != 2 or lexical.shape[1] != len(labels)))
    ):
        raise ModelLoadError(f"head weights {path} have inconsistent shapes")
    if not linear and (
        w1.ndim != 2
        or w2.ndim != 2
        or w1.shape[1] != b1.shape[0]
        or w1.shape[1] != w2.shape[0]
        or w2.shape[1] != b2.shape[0]
        or w2.shape[1] != len(labels)
        or (lexical is not None and (lexical.ndim != 2 or lexical.shape[1] != len(labels)))
    ):
        raise ModelLoadError(f"head weights {path} have inconsistent shapes")
    if not all(np.isfinite(a).all() for a in (w1, b1, w2, b2, *([] if lexical is None else [lexical]))):
        raise ModelLoadError(f"head weights {path} contain NaN or infinite values")
    if layers.ndim != 1 or not np.issubdtype(layers.dtype, np.integer) or (layers < 1).any():
        raise ModelLoadError(f"head weights {path} name invalid encoder layers: {layers.tolist()}")
    pooled_layers = tuple(int(k) for k in layers.tolist())
    if set(inputs) - set(HEAD_INPUTS) or len(set(inputs)) != len(inputs):
        raise ModelLoadError(f"head weights {path} name unknown encoder inputs {list(inputs)}")
    inputs = tuple(name for name in HEAD_INPUTS if name in inputs)
    if "minilm" not in inputs and pooled_layers:
        raise ModelLoadError(f"head weights {path} pool MiniLM layers but do not read MiniLM")
    use_width = USE_DIM if "use" in inputs else 0
    width = 1 + len(pooled_layers)
    if not inputs:
        # A text-only head (the `fast` profile's): the n-gram weights and a bias, no encoder input.
        if lexical is None or w1.shape[0] != 0 or not linear:
            raise ModelLoadError(
                f"head weights {path} read no encoder, so need n-gram weights and no w1 rows"
            )
    elif "minilm" not in inputs:
        if w1.shape[0] != USE_DIM:
            raise ModelLoadError(
                f"head {path} reads the USE ({USE_DIM} columns) but has {w1.shape[0]} inputs"
            )
    elif expected_dim is not None and w1.shape[0] != expected_dim * width + use_width:
        raise ModelLoadError(
            f"head {path} expects {(w1.shape[0] - use_width) // width}-dimensional embeddings but the "
            f"encoder gives {expected_dim}; retrain it for this encoder (`tesoro train`)"
        )
    meta: dict[str, Any] = {}
    meta_path = path.with_suffix(".json")
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"head metadata {meta_path} is not valid JSON: {exc}") from exc
    return Head(w1, b1, w2, b2, labels, meta, lexical, pooled_layers, inputs)


@dataclass(frozen=True)
class TrainConfig:
    hidden: int = 256  # 0: a linear head (softmax regression on the inputs, plus the lexical part)
    epochs: int = 30
    lr: float = 2e-3
    weight_decay: float = 1e-4
    dropout: float = 0.2
    batch_size: int = 256
    seed: int = 13
    lexical_buckets: int = 2**16  # hashed n-gram buckets (2**16: ~0.4 MB in float16); 0: embedding only
    lexical_weight_decay: float = 1e-6


def train_head(
    x: FloatArray,
    y: Sequence[int],
    labels: Sequence[str],
    *,
    weights: npt.NDArray[np.float64] | None = None,
    texts: Sequence[str] | None = None,
    config: TrainConfig = TrainConfig(),
) -> Head:
    """Fit the MLP with a sample-weighted cross-entropy (weights balance classes and data sets).

    Full-batch-ish Adam over cached embeddings: tens of thousands of rows train in seconds on
    two CPU cores, so the cost of `tesoro train` is the encoder pass, not this.
    """
    # deferred: torch is a heavy import, needed only to train (inference is numpy)
    import torch
    from torch import nn

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    features = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    targets = torch.tensor(list(y), dtype=torch.long)
    w = (
        torch.ones(len(targets))
        if weights is None
        else torch.from_numpy(np.asarray(weights, dtype=np.float32))
    )
    w = w * (len(w) / w.sum())
    model = (
        nn.Sequential(nn.Dropout(config.dropout / 2), nn.Linear(features.shape[1], len(labels)))
        if config.hidden == 0
        else nn.Sequential(
            nn.Dropout(config.dropout / 2),
            nn.Linear(features.shape[1], config.hidden),
            nn.GELU(approximate="tanh"),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, len(labels)),
        )
    )
    groups: list[dict[str, Any]] = [{"params": list(model.parameters()), "weight_decay": config.weight_decay}]
    bag: Any = None
    lexical_logits: Callable[[Any], Any] | None = None
    if config.lexical_buckets:
        if texts is None:
            raise ValueError("lexical_buckets needs the training texts")
        bag, lexical_logits = _lexical_part(texts, config.lexical_buckets, len(labels))
        groups.append({"params": list(bag.parameters()), "weight_decay": config.lexical_weight_decay})
    optimizer = torch.optim.AdamW(groups, lr=config.lr)
    steps = config.epochs * ((len(targets) + config.batch_size - 1) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(steps, 1))
    loss_fn = nn.CrossEntropyLoss(reduction="none")
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(targets), generator=generator)
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            optimizer.zero_grad()
            logits = model(features[idx])
            if lexical_logits is not None:
                logits = logits + lexical_logits(idx)
            loss = (loss_fn(logits, targets[idx]) * w[idx]).mean()
            loss.backward()
            optimizer.step()
            scheduler.step()
    model.eval()
    first = model[1]
    assert isinstance(first, nn.Linear)
    if config.hidden == 0:
        w2 = np.zeros((0, len(labels)), np.float32)
        b2 = np.zeros(len(labels), np.float32)
    else:
        second = model[4]
        assert isinstance(second, nn.Linear)
        w2 = second.weight.detach().numpy().T.copy()
        b2 = second.bias.detach().numpy().copy()
    return Head(
        w1=first.weight.detach().numpy().T.copy(),
        b1=first.bias.detach().numpy().copy(),
        w2=w2,
        b2=b2,
        labels=tuple(labels),
        lexical=None if bag is None else bag.weight.detach().numpy().copy(),
    )


def _lexical_part(texts: Sequence[str], buckets: int, classes: int) -> tuple[Any, Callable[[Any], Any]]:
    """The hashed n-gram bag (all zeros to start) and a function giving its logits for a batch of rows.

    A text's n-gram weights are summed and scaled by 1/sqrt(their count), so a long text does not
    outvote the embedding just by having more n-grams.
    """
    # deferred: torch is a heavy import, needed only to train (inference is numpy)
    import torch
    from torch import nn

    ids = [hashed_ngrams(text, buckets) for text in texts]
    lengths = torch.tensor([len(i) for i in ids], dtype=torch.long)
    flat = torch.from_numpy(np.concatenate(ids) if ids else np.zeros(0, np.int64))
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    scale = 1.0 / lengths.clamp(min=1).float().sqrt()
    bag = nn.EmbeddingBag(buckets, classes, mode="sum")
    nn.init.zeros_(bag.weight)

    def logits(idx: Any) -> Any:
        starts, ends = offsets[idx], offsets[idx + 1]
        pieces = [flat[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
        batch_offsets = torch.tensor(
            [0, *np.cumsum([len(p) for p in pieces])[:-1].tolist()], dtype=torch.long
        )
        return bag(torch.cat(pieces), batch_offsets) * scale[idx].unsqueeze(1)

    return bag, logits
