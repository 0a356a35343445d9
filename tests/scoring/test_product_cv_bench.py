"""bench/select_heads.py --task product --stage cv: the matcher's thresholds chosen by k-fold CV (issue 18).

The stage reads each post's answer off two passes of the matcher (mentions only, fallback only) per
setting instead of one pass per combination; these tests check that shortcut against the matcher
itself, and the stage end to end on a small split with hand-made embeddings (no encoder).
"""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tesoro.scoring.products import ProductMatcher
from worlds.benches import bench_module


@pytest.fixture(scope="module")
def select_heads() -> Iterator[ModuleType]:
    with bench_module("select_heads.py", "select_heads_bench") as module:
        yield module


@pytest.fixture(scope="module")
def catalog(select_heads: ModuleType) -> Any:
    from quality import SXSW_PRODUCTS

    return SXSW_PRODUCTS


POSTS = [
    ("Waiting in line for the iPad 2 at #SXSW", "iPad"),
    ("ipads everywhere downtown", "iPad"),
    ("My iPhone battery died again", "iPhone"),
    ("the best app for the iphone this week", "iPad or iPhone App"),
    ("Apple opens a pop up store for the launch", "Apple"),
    ("Google party tonight, free drinks", "Google"),
    ("google maps got me lost on 6th street", "Other Google product or service"),
    ("new android phones at the booth", "Android"),
    ("android market downloads doubled", "Android App"),
    ("that tablet everyone is queueing for", "iPad"),
    ("the search giant announced something", "Google"),
    ("itunes gift cards at the door", "Other Apple product or service"),
]


def _unit(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _embeddings(n_products: int, dim: int, seed: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Profiles, and posts that lean toward their own product with noise (similarities of every size)."""
    rng = np.random.default_rng(seed)
    profiles = _unit(rng.normal(size=(n_products, dim)))
    targets = [k % n_products for k in range(len(POSTS))]
    posts = _unit(
        profiles[targets] * rng.uniform(0.2, 1.0, size=(len(POSTS), 1))
        + rng.normal(size=(len(POSTS), dim)) * 0.12
    )
    return posts, profiles


def test_answers_split_into_mentions_and_fallback(select_heads: ModuleType, catalog: Any) -> None:
    """Mentions-only answers, else fallback-only ones, are the matcher's answers for every setting tried."""
    posts, profiles = _embeddings(len(catalog), 24, seed=3)
    base = posts @ profiles.T
    choice = select_heads._ProductChoice(posts, profiles, base=base, same=True)
    texts = [t for t, _ in POSTS]
    for lo, si, sc, ms, mg in [
        (0.0, 0.2, 1.0, 0.35, 0.03),
        (0.1, 0.3, 1.0, 0.45, 0.05),
        (0.2, 0.4, 1.3, 0.55, 0.08),
    ]:
        alias = choice.matcher(catalog, lo, si, sc, 2.0, 0.05).match(texts, posts)
        fallback = choice.matcher(catalog, 0.1, 0.3, 1.0, ms, mg).match([""] * len(texts), posts)
        whole = choice.matcher(catalog, lo, si, sc, ms, mg).match(texts, posts)
        joined = [f if a.product_id is None else a for a, f in zip(alias, fallback, strict=True)]
        assert [m.product_id for m in joined] == [m.product_id for m in whole]
        assert all(m.via != "embedding" for m in alias) and all(m.via != "alias" for m in fallback)


def test_grid_is_centred_on_the_shipped_matcher(select_heads: ModuleType) -> None:
    defaults = {k: v.default for k, v in inspect.signature(ProductMatcher).parameters.items()}
    assert {k: defaults[k] for k in select_heads.PRODUCT_WEIGHTS} == select_heads.PRODUCT_WEIGHTS
    assert select_heads.PRODUCT_MIN_SIMILARITY[2] == defaults["min_similarity"]
    assert select_heads.PRODUCT_MIN_MARGIN[1] == defaults["min_margin"]
    assert select_heads.PRODUCT_LOOSE[2] == defaults["loose_min_similarity"]
    assert select_heads.PRODUCT_SINGLE_LOOSE[2] == defaults["single_loose_min_similarity"]


def test_thresholds_move_to_the_same_quantile(select_heads: ModuleType) -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(0.2, 0.1, size=(200, 9))
    posts, profiles = _unit(rng.normal(size=(200, 16))), _unit(rng.normal(size=(9, 16)))
    same = select_heads._ProductChoice(posts, profiles, base=base, same=True)
    assert same.moved(0.45) == 0.45 and same.margin(0.05) == 0.05
    other = select_heads._ProductChoice(posts, profiles, base=base, same=False)
    sims = posts @ profiles.T
    for v in (0.1, 0.3, 0.45):
        assert (sims <= other.moved(v)).mean() == pytest.approx((base <= v).mean(), abs=0.01)
    assert other.margin(0.05) == pytest.approx(0.05 * sims.std() / base.std(), abs=1e-3)
    assert isinstance(other.matcher([], 0.1, 0.3, 1.0, 0.45, 0.05), ProductMatcher)


def test_stage_prints_a_table_per_choice(
    select_heads: ModuleType, catalog: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    split = tmp_path / "brands_sxsw"
    split.mkdir()
    rows = [{"text": t, "target": g} for t, g in POSTS * 2] + [{"text": "no product here", "target": None}]
    split.joinpath("train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    n = len(rows) - 1  # rows without a target are not scored

    def fake(texts: list[str], profiles: list[str], cache: Path) -> dict[str, Any]:
        assert len(texts) == n and len(profiles) == len(catalog)
        out = {}
        for k, name in enumerate(("minilm", "use", "both")):
            posts, profs = _embeddings(len(catalog), 16 + 8 * k, seed=k)
            out[name] = (np.vstack([posts, posts]), profs)
        return out

    monkeypatch.setattr(select_heads, "_product_embeddings", fake)
    args = argparse.Namespace(data_dir=tmp_path, folds=2, fold_seed=101, cache_dir=tmp_path / "cache")
    select_heads.product_cv(("minilm", "use", "both"), args)
    out = capsys.readouterr().out
    assert f"({n} rows naming a target)" in out
    for name in ("minilm, shipped thresholds (no tuning)", "minilm", "use", "both"):
        assert f"| {name} | " in out
    for name in ("minilm", "use", "both"):  # the thresholds each of the 2 folds chose
        assert len(out.split(f"\n- {name}: ")[1].splitlines()[0].split(", ")) == 2


def test_product_task_takes_only_the_cv_stage(select_heads: ModuleType) -> None:
    with pytest.raises(SystemExit):
        select_heads.main(["--task", "product", "--stage", "seeds"])
    with pytest.raises(SystemExit):
        select_heads.main(["--task", "product", "--stage", "cv", "--candidates", "lin-both"])
