"""Train the sentiment branch (`adapter.Branch`): fine-tune the encoder's top layers, then fit the head.

1. Every training text goes once through the frozen bottom `cut` layers; their
   token states are kept (float16, in memory, optionally cached on disk).
2. A copy of the top layers (initialised from the encoder's own) and a small
   classifier are fine-tuned on those states with AdamW, a linear warm-up/decay
   schedule and the same per-data-set, per-class weights as the frozen head, in
   length-bucketed mini-batches (tweets are short: little padding).
3. The final head (`heads.Head`: an MLP plus hashed word/character n-grams, which
   carry the Spanish sentiment words the English encoder does not know) is fitted
   on the fine-tuned branch's pooled output.

The layers run under bfloat16 autocast on a GPU or a CPU with AMX (weights, optimizer
state and loss stay float32): on a 2-core Sapphire Rapids CPU that makes a step 1.6x
faster than float32, and three layers, two epochs over 59k texts take 9 minutes. In
float32 on a CPU without AMX, two layers, one epoch over 36k texts took 44 minutes.
Validation splits are never trained on; their metrics go into the metadata.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tesoro.scoring.adapter import LAYER_PARAMS, Branch, branch_module
from tesoro.scoring.encoders import Encoder, ModelLoadError, in_chunks
from tesoro.scoring.encoders.base import cpu_has_bf16_matrix_units
from tesoro.scoring.encoders.torch_backend import load_sentence_transformer, torch_mean_pool
from tesoro.scoring.heads import Head, TrainConfig, train_head
from tesoro.scoring.metrics import evaluate
from tesoro.scoring.sentiment import SENTIMENT_LABELS

__all__ = ["BranchConfig", "branch_features", "train_branch"]

Progress = Callable[[str], None]
States = list[npt.NDArray[np.float16]]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BranchConfig:
    layers: int = 2  # top layers fine-tuned (the rest stay shared and frozen)
    epochs: float = 1.0
    lr: float = 1e-4  # for the layers; the classifier uses 10x
    batch_size: int = 32
    warmup: float = 0.06  # share of the steps
    weight_decay: float = 0.01
    dropout: float = 0.1
    seed: int = 13
    threads: int = 0  # torch CPU threads; 0 = torch's default
    bf16: bool | None = None  # bfloat16 autocast for the layers; None: on a GPU or a CPU with AMX


def token_states_cached(
    encoder: Encoder,
    texts: Sequence[str],
    layer: int,
    cache_dir: Path | None,
    on_progress: Progress | None = None,
) -> States:
    """`encoder.token_states`, kept in `cache_dir` under a digest of the encoder, layer and texts."""

    def compute() -> States:
        return in_chunks(texts, lambda part: encoder.token_states(part, layer), on_progress, "frozen layers")

    if cache_dir is None:
        return compute()
    digest = hashlib.sha1(f"{encoder.name}\0{layer}".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    path = cache_dir / f"states-{digest.hexdigest()[:20]}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            flat, offsets = data["flat"], data["offsets"]
        if len(offsets) == len(texts) + 1:
            return [flat[offsets[i] : offsets[i + 1]] for i in range(len(texts))]
    states = compute()
    offsets = np.cumsum([0, *(len(s) for s in states)])
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, flat=np.concatenate(states), offsets=offsets)
    return states


def _base_layers(encoder: Encoder, cut: int) -> list[dict[str, Any]]:
    """The encoder's own weights for layers cut+1..n, under BERT's parameter names (the starting point)."""
    model = load_sentence_transformer(encoder.name, encoder.path, "cpu")
    try:
        blocks = model[0].auto_model.encoder.layer
    except AttributeError as exc:
        raise ModelLoadError(f"encoder {encoder.name!r} is not a BERT-style model; cannot branch it") from exc
    layers = []
    for block in blocks[cut:]:
        state = block.state_dict()
        missing = [name for name in LAYER_PARAMS if name not in state]
        if missing:
            raise ModelLoadError(f"encoder {encoder.name!r} layers lack {missing[:3]}; cannot branch it")
        layers.append({name: state[name].detach().float().numpy() for name in LAYER_PARAMS})
    config = model[0].auto_model.config
    layers_meta = {
        "num_heads": int(config.num_attention_heads),
        "layer_norm_eps": float(getattr(config, "layer_norm_eps", 1e-12)),
    }
    layers.append(layers_meta)
    return layers


def _pad(states: Sequence[npt.NDArray[np.float16]], rows: Sequence[int]) -> tuple[Any, Any]:
    # deferred: torch is a heavy import; this module is loaded by the CLI
    import torch

    width = max(len(states[i]) for i in rows)
    dim = states[rows[0]].shape[1]
    hidden = np.zeros((len(rows), width, dim), dtype=np.float32)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, i in enumerate(rows):
        n = len(states[i])
        hidden[r, :n] = states[i]
        mask[r, :n] = 1
    return torch.from_numpy(hidden), torch.from_numpy(mask)


def _batches(states: States, order: list[int], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled mini-batches of similar length (sorted within windows of 50 batches)."""
    batches: list[list[int]] = []
    window = size * 50
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(states[i]))
        batches.extend(chunk[j : j + size] for j in range(0, len(chunk), size))
    rng.shuffle(batches)
    return batches


def use_bf16(config: BranchConfig, device: str) -> bool:
    """Whether training runs the layers under bfloat16 autocast (fp32 weights, optimizer and loss)."""
    if config.bf16 is not None:
        return config.bf16
    if device.startswith("cuda"):
        return True
    return device == "cpu" and cpu_has_bf16_matrix_units()


def _autocast(device: str, enabled: bool) -> Any:
    # deferred: torch is a heavy import; this module is loaded by the CLI
    import torch

    return torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=enabled)


def branch_features(
    module: Any, states: States, device: str = "cpu", batch_size: int = 256, bf16: bool = False
) -> FloatArray:
    """Mean-pooled branch output for each text's token states (inference mode)."""
    # deferred: torch is a heavy import; this module is loaded by the CLI
    import torch

    out = np.zeros((len(states), states[0].shape[1] if states else 0), dtype=np.float32)
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    module.eval()
    with torch.inference_mode(), _autocast(device, bf16):
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            hidden, mask = _pad(states, rows)
            hidden, mask = hidden.to(device), mask.to(device)
            out[rows] = torch_mean_pool(module(hidden, mask).float(), mask).cpu().numpy()
    return out


def train_branch(
    encoder: Encoder,
    texts: Sequence[str],
    labels: Sequence[int],
    weights: npt.NDArray[np.float64],
    validation: dict[str, tuple[list[str], list[str]]],
    *,
    config: BranchConfig = BranchConfig(),
    head_config: TrainConfig = TrainConfig(),
    device: str = "cpu",
    cache_dir: Path | None = None,
    on_progress: Progress | None = None,
) -> tuple[Branch, dict[str, Any]]:
    """Fine-tune `config.layers` top layers on (texts, labels) and fit the final head.

    `validation` maps a data set name to (texts, gold labels); returns the branch (not yet
    saved) and metadata with the validation metrics.
    """
    # deferred: torch is a heavy import; this module is loaded by the CLI
    import torch

    say = on_progress or (lambda _msg: None)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    if not 1 <= config.layers < encoder.layers:
        raise ValueError(f"layers must be 1..{encoder.layers - 1} (the encoder has {encoder.layers})")
    cut = encoder.layers - config.layers
    say(f"running {len(texts)} training texts through the frozen layers 1..{cut}")
    states = token_states_cached(encoder, texts, cut, cache_dir, on_progress=say)
    module, classifier, geometry = _starting_point(encoder, cut, config, head_config)
    bf16 = use_bf16(config, device)
    precision = "bfloat16 autocast" if bf16 else "float32"
    started = time.perf_counter()
    _fine_tune(
        module, classifier, states, labels, weights, config, device=device, bf16=bf16, rng=rng, say=say
    )
    say("fitting the head on the fine-tuned branch")
    features = branch_features(module, states, device, bf16=bf16)
    head = train_head(
        features, list(labels), SENTIMENT_LABELS, weights=weights, texts=texts, config=head_config
    )
    metrics: dict[str, dict[str, float]] = {}
    for name, (val_texts, gold) in validation.items():
        say(f"validating on {name} ({len(val_texts)} texts)")
        val_states = token_states_cached(encoder, val_texts, cut, cache_dir)
        predicted = head.predict(branch_features(module, val_states, device, bf16=bf16), val_texts)
        metrics[name] = {k: round(v, 4) for k, v in evaluate(gold, predicted, head.labels).items()}
    module.cpu()
    meta: dict[str, Any] = {
        "task": "sentiment",
        "kind": "branch",
        "encoder": encoder.name,
        "cut": cut,
        "layers": config.layers,
        "num_heads": geometry["num_heads"],
        "layer_norm_eps": geometry["layer_norm_eps"],
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "branch_config": asdict(config),
        "precision": precision,
        "head_config": asdict(head_config),
        "train_seconds": round(time.perf_counter() - started),
        "validation": metrics,
    }
    branch = Branch(
        base_encoder=encoder.name,
        cut=cut,
        num_heads=geometry["num_heads"],
        layer_norm_eps=geometry["layer_norm_eps"],
        layers=tuple(module.bert_layers()),
        head=Head(head.w1, head.b1, head.w2, head.b2, head.labels, lexical=head.lexical, meta=meta),
        meta=meta,
        digest="unsaved",
    )
    return branch, meta


def _starting_point(
    encoder: Encoder, cut: int, config: BranchConfig, head_config: TrainConfig
) -> tuple[Any, Any, dict[str, Any]]:
    """The branch initialised from the encoder's own top layers, a fresh classifier on it, and the
    attention geometry (heads, layer-norm epsilon) the saved branch records."""
    # deferred: torch is a heavy import; this module is loaded by the CLI
    from torch import nn

    *base, geometry = _base_layers(encoder, cut)
    hidden = int(base[0]["attention.self.query.weight"].shape[0])
    intermediate = int(base[0]["intermediate.dense.weight"].shape[0])
    module = branch_module(
        hidden, intermediate, geometry["num_heads"], config.layers, geometry["layer_norm_eps"]
    )
    module.load_bert_layers(base)
    classifier = nn.Sequential(
        nn.Dropout(config.dropout),
        nn.Linear(hidden, head_config.hidden),
        nn.GELU(approximate="tanh"),
        nn.Linear(head_config.hidden, len(SENTIMENT_LABELS)),
    )
    return module, classifier, geometry


def _fine_tune(
    module: Any,
    classifier: Any,
    states: States,
    labels: Sequence[int],
    weights: npt.NDArray[np.float64],
    config: BranchConfig,
    *,
    device: str,
    bf16: bool,
    rng: random.Random,
    say: Progress,
) -> None:
    """AdamW over the branch and a throw-away classifier (ten times the branch's learning rate), with
    linear warm-up and decay; the classifier only steers the branch, the final head is fitted after."""
    # deferred: torch is a heavy import; this module is loaded by the CLI
    import torch
    from torch import nn

    module.to(device).train()
    classifier.to(device).train()
    optimizer = torch.optim.AdamW(
        [
            {"params": module.parameters(), "lr": config.lr},
            {"params": classifier.parameters(), "lr": config.lr * 10},
        ],
        weight_decay=config.weight_decay,
    )
    steps = max(1, math.ceil(config.epochs * len(states) / config.batch_size))
    warmup = max(1, int(config.warmup * steps))

    def schedule(step: int) -> float:
        return min(1.0, (step + 1) / warmup) * max(0.0, (steps - step) / steps)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    y = torch.tensor(list(labels), dtype=torch.long)
    w = torch.tensor(weights / weights.mean(), dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(reduction="none")
    step, started, running = 0, time.perf_counter(), 0.0
    precision = "bfloat16 autocast" if bf16 else "float32"
    say(f"fine-tuning {config.layers} layers: {steps} steps of {config.batch_size} on {device} ({precision})")
    while step < steps:
        for rows in _batches(states, list(range(len(states))), config.batch_size, rng):
            if step >= steps:
                break
            batch, mask = _pad(states, rows)
            batch, mask = batch.to(device), mask.to(device)
            with _autocast(device, bf16):
                logits = classifier(torch_mean_pool(module(batch, mask).float(), mask)).float()
            bw = w[rows].to(device)
            loss = (loss_fn(logits, y[rows].to(device)) * bw).sum() / bw.sum()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            value = float(loss.item())
            running = 0.98 * running + 0.02 * value if step > 1 else value
            if step % 100 == 0 or step == steps:
                elapsed = time.perf_counter() - started
                eta = elapsed / step * (steps - step)
                say(f"step {step}/{steps}  loss {running:.3f}  {elapsed:.0f} s elapsed, ~{eta:.0f} s left")
