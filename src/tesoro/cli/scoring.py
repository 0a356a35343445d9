"""`tesoro score | rescore | eval | train`: the scoring commands, as a typer app to mount on the CLI.

Mount with `app.add_typer(scoring_app)` (no name: the commands join the top level).
Like every command, these only load settings, open the store and call the
functions that do the work, so everything here can be done from Python too.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from tesoro.api.i18n import counted
from tesoro.cli.kit import ConfigOption, console, load_or_exit, out
from tesoro.scoring.training import SEMEVAL_LIMIT, SENTIMENT_POOLED_LAYERS, BranchConfig
from tesoro.settings import Settings

if TYPE_CHECKING:
    from tesoro.scoring.encoders import Encoder

__all__ = ["scoring_app"]

scoring_app = typer.Typer(no_args_is_help=True)


class Task(StrEnum):
    sentiment = "sentiment"
    product = "product"
    offensive = "offensive"


class TrainTask(StrEnum):
    sentiment = "sentiment"
    offensive = "offensive"


_settings = load_or_exit


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
    return typer.Exit(1)


@scoring_app.command()
def score(
    config: ConfigOption = None,
    model_version: Annotated[
        str | None, typer.Option(help="Version name; default: derived from the models.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Posts per batch.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Score at most this many posts.")] = None,
) -> None:
    """Score every post that has no score set for the current model version."""
    from tesoro.scoring.encoders import ModelLoadError
    from tesoro.scoring.pipeline import load_models, score_pending
    from tesoro.store.db import open_store

    settings = _settings(config)
    engine = open_store(settings)
    try:
        models = load_models(settings, model_version=model_version)
    except ModelLoadError as exc:
        raise _fail(exc) from exc
    started = time.perf_counter()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("scoring", total=None)
        n = score_pending(
            engine,
            settings,
            batch_size=batch_size,
            limit=limit,
            models=models,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    elapsed = time.perf_counter() - started
    rate = f" ({n / elapsed:.0f} posts/s)" if n and elapsed > 0 else ""
    out.print(f"scored {counted(n, 'post', 'posts')} with model version {models.version}{rate}")


@scoring_app.command()
def rescore(
    model_version: Annotated[
        str, typer.Option("--model-version", help="Version to (re)write, e.g. after a model change.")
    ],
    config: ConfigOption = None,
    batch_size: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Score every post again under --model-version (that version's rows are replaced, others kept)."""
    from tesoro.scoring.encoders import ModelLoadError
    from tesoro.scoring.pipeline import load_models
    from tesoro.scoring.pipeline import rescore as rescore_all
    from tesoro.store.db import open_store

    settings = _settings(config)
    engine = open_store(settings)
    try:
        models = load_models(settings, model_version=model_version)
    except ModelLoadError as exc:
        raise _fail(exc) from exc
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("re-scoring", total=None)
        n = rescore_all(
            engine,
            settings,
            model_version=model_version,
            batch_size=batch_size,
            models=models,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    out.print(f"re-scored {counted(n, 'post', 'posts')} as {model_version}")


@scoring_app.command("eval")
def eval_(
    task: Annotated[Task, typer.Option("--task", help="What to evaluate.")],
    data: Annotated[
        Path, typer.Option("--data", exists=True, dir_okay=False, help="JSONL with `text` and `label`.")
    ],
    config: ConfigOption = None,
    model: Annotated[str | None, typer.Option(help="Sentiment backend (default: the bundled head).")] = None,
) -> None:
    """Print the official metric (and macro-F1, accuracy) of a model on a labelled JSONL file.

    sentiment: labels negative/neutral/positive, official metric macro-averaged recall.
    offensive: labels offensive/not-offensive, macro-F1. product: labels are configured
    product names (or "none"), accuracy.
    """
    from tesoro.scoring.encoders import ModelLoadError
    from tesoro.scoring.metrics import evaluate
    from tesoro.scoring.training import read_jsonl

    settings = _settings(config)
    records = read_jsonl(data)
    bad = [i for i, r in enumerate(records, 1) if not isinstance(r.get("text"), str) or "label" not in r]
    if bad:
        raise _fail(ValueError(f"{data}: lines {bad[:5]} lack a `text` string or a `label`"))
    texts = [r["text"] for r in records]
    gold = [str(r["label"]) for r in records]
    try:
        predicted = _predict(task, texts, settings, model)
    except ModelLoadError as exc:
        raise _fail(exc) from exc
    report = evaluate(gold, predicted)
    official = {Task.sentiment: "macro_recall", Task.offensive: "macro_f1", Task.product: "accuracy"}[task]
    table = Table("metric", "value", title=f"{task.value} on {data.name} ({len(records)} examples)")
    for key in ("macro_recall", "macro_f1", "accuracy"):
        name = f"{key} (official)" if key == official else key
        table.add_row(name, f"{100 * report[key]:.1f}")
    out.print(table)


def _predict(task: Task, texts: list[str], settings: Settings, model: str | None) -> list[str]:
    from tesoro.scoring.encoders import ModelLoadError, load_encoder
    from tesoro.scoring.heads import DEFAULT_OFFENSIVE_HEAD, load_head
    from tesoro.scoring.pipeline import head_proba
    from tesoro.scoring.products import ProductMatcher, ProductRef
    from tesoro.scoring.sentiment import SENTIMENT_LABELS, load_sentiment, sentiment_proba
    from tesoro.scoring.training import OFFENSIVE_LABELS

    conf = settings.models
    encoder = load_encoder(conf.encoder, conf.device, batch_size=conf.batch_size)
    if task is Task.sentiment:
        sentiment = load_sentiment(
            model or getattr(conf, "sentiment", None),
            device=conf.device,
            encoder_dim=encoder.dim,
            encoder_name=conf.encoder,
        )
        return [SENTIMENT_LABELS[i] for i in sentiment_proba(sentiment, encoder, texts).argmax(axis=1)]
    if task is Task.offensive:
        head = load_head(DEFAULT_OFFENSIVE_HEAD, expected_dim=encoder.dim)
        probs = head_proba(head, encoder, texts)[:, head.labels.index("offensive")]
        return [OFFENSIVE_LABELS[int(p >= 0.5)] for p in probs]

    products = [
        ProductRef(id=i, name=p.name, aliases=tuple(p.aliases), description=p.description)
        for i, p in enumerate(settings.products)
    ]
    if not products:
        raise ModelLoadError("--task product needs products in the settings file ([[products]])")
    matcher = ProductMatcher(products, encoder)
    names = {p.id: p.name for p in products}
    return [
        names[m.product_id] if m.product_id is not None else "none"
        for m in matcher.match(texts, encoder.encode(texts))
    ]


@scoring_app.command()
def train(
    task: Annotated[TrainTask, typer.Argument(help="Which head to train.")] = TrainTask.sentiment,
    data_dir: Annotated[
        Path,
        typer.Option("--data-dir", exists=True, file_okay=False, help="Folder with the labelled data sets."),
    ] = Path("../shared/data"),
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Weights file (.npz); default: the bundled one.")
    ] = None,
    config: ConfigOption = None,
    semeval_limit: Annotated[
        int,
        typer.Option(
            help="Sentiment: SemEval tweets to sample (0 = all 47k, what the bundled head was trained on; "
            "fewer = quicker)."
        ),
    ] = SEMEVAL_LIMIT or 0,
    cache_dir: Annotated[Path | None, typer.Option(help="Cache encoder outputs here between runs.")] = None,
    branch: Annotated[
        bool,
        typer.Option(
            "--branch", help="Sentiment: fine-tune the encoder's top layers (a branch) instead of a head."
        ),
    ] = False,
    layers: Annotated[int, typer.Option(min=1, help="Sentiment branch: top layers to fine-tune.")] = 2,
    epochs: Annotated[float, typer.Option(min=0.05, help="Sentiment branch: passes over the data.")] = 1.0,
    threads: Annotated[int, typer.Option(min=0, help="CPU threads for torch (0: torch's default).")] = 0,
    bf16: Annotated[
        bool | None,
        typer.Option(
            "--bf16/--fp32",
            help="Sentiment branch: train under bfloat16 autocast or in float32 "
            "(default: bfloat16 on a GPU or a CPU with AMX, else float32).",
        ),
    ] = None,
    pooled_layers: Annotated[
        str,
        typer.Option(
            help="Sentiment head: MiniLM layers whose pooled output it reads besides the embedding "
            "(comma-separated; '' for the embedding alone)."
        ),
    ] = ",".join(map(str, SENTIMENT_POOLED_LAYERS)),
    profile: Annotated[
        str,
        typer.Option(
            help="'fast': the fast profile's text-only n-gram head (no encoder; seconds to a minute) "
            "instead of the default profile's head."
        ),
    ] = "default",
) -> None:
    """Reproduce the bundled weights from the labelled data (uses a GPU when settings say `device = "cuda"`).

    Sentiment: a head on the frozen embedding (minutes); with --branch, a fine-tuned copy of the encoder's
    top layers (about 9 minutes for 3 layers, 2 epochs over the 59k texts on a 2-core CPU with AMX; a few
    times longer in float32 on other CPUs; minutes on a GPU).
    """
    from tesoro.scoring.encoders import ModelLoadError, load_encoder

    settings = _settings(config)
    conf = settings.models
    if profile not in ("default", "fast"):
        raise _fail(ValueError(f"--profile {profile!r}: expected 'default' or 'fast'"))
    if profile == "fast":
        from tesoro.scoring.pipeline import FAST_OFFENSIVE_HEAD, FAST_SENTIMENT_HEAD
        from tesoro.scoring.training.lexical import train_fast_offensive, train_fast_sentiment

        started = time.perf_counter()
        fast_target = out_path or (
            FAST_SENTIMENT_HEAD if task is TrainTask.sentiment else FAST_OFFENSIVE_HEAD
        )
        trainer = train_fast_sentiment if task is TrainTask.sentiment else train_fast_offensive
        try:
            meta = trainer(data_dir, fast_target, on_progress=console.print)
        except (FileNotFoundError, ValueError) as exc:
            raise _fail(exc) from exc
        out.print(json.dumps(meta["validation"], indent=2))
        out.print(
            f"wrote {fast_target} ({fast_target.stat().st_size / 1024:.0f} KiB) "
            f"in {time.perf_counter() - started:.0f} s"
        )
        return
    try:
        chosen_layers = tuple(int(k) for k in pooled_layers.replace(" ", "").split(",") if k)
    except ValueError:
        raise _fail(
            ValueError(f"--pooled-layers {pooled_layers!r}: expected layer numbers such as 4,5")
        ) from None
    try:
        # Heads are trained on full-precision embeddings, never on the int8 graph's.
        encoder = load_encoder(conf.encoder, conf.device, batch_size=conf.batch_size, full_precision=True)
        if chosen_layers:
            encoder.encode_with_layers(["check"], chosen_layers)
    except ModelLoadError as exc:
        raise _fail(exc) from exc
    started = time.perf_counter()
    try:
        target, meta = _train_weights(
            task,
            data_dir,
            out_path,
            encoder=encoder,
            semeval_limit=semeval_limit or None,
            cache_dir=cache_dir,
            branch=BranchConfig(layers=layers, epochs=epochs, threads=threads, bf16=bf16) if branch else None,
            device=conf.device,
            pooled_layers=chosen_layers,
        )
    except (FileNotFoundError, ValueError, ModelLoadError) as exc:
        raise _fail(exc) from exc
    out.print(json.dumps(meta["validation"], indent=2))
    out.print(
        f"wrote {target} ({target.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - started:.0f} s"
    )


def _train_weights(
    task: TrainTask,
    data_dir: Path,
    out_path: Path | None,
    *,
    encoder: Encoder,
    semeval_limit: int | None,
    cache_dir: Path | None,
    branch: BranchConfig | None,
    device: str,
    pooled_layers: tuple[int, ...],
) -> tuple[Path, dict[str, Any]]:
    """Train the chosen weights and write them (by default over the bundled file); (path, metadata)."""
    from tesoro.scoring.heads import DEFAULT_OFFENSIVE_HEAD
    from tesoro.scoring.sentiment import DEFAULT_SENTIMENT_HEAD
    from tesoro.scoring.training import train_offensive, train_sentiment, train_sentiment_branch

    if task is not TrainTask.sentiment:
        target = out_path or DEFAULT_OFFENSIVE_HEAD
        meta = train_offensive(
            data_dir, target, encoder=encoder, cache_dir=cache_dir, on_progress=console.print
        )
    elif branch is None:
        target = out_path or DEFAULT_SENTIMENT_HEAD
        meta = train_sentiment(
            data_dir,
            target,
            encoder=encoder,
            semeval_limit=semeval_limit,
            cache_dir=cache_dir,
            on_progress=console.print,
            pooled_layers=pooled_layers,
        )
    else:
        target = out_path or DEFAULT_SENTIMENT_HEAD.with_name("sentiment_branch.npz")
        meta = train_sentiment_branch(
            data_dir,
            target,
            encoder=encoder,
            semeval_limit=semeval_limit,
            cache_dir=cache_dir,
            config=branch,
            device=device,
            on_progress=console.print,
        )
    return target, meta
