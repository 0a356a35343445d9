"""bench/data/brand_relevance.jsonl and bench/select_heads.py --task relevance (issue 18).

The labelled set decides which encoder relevance's similarity term reads; these tests check the set's
shape (fields, labels, languages, kinds, the fixed held-out part) and run both stages end to end on a
small sample with hand-made embeddings (no encoder).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tesoro.scoring.relevance import DEFAULT_WEIGHTS
from worlds.benches import bench_module

BENCH = Path(__file__).resolve().parents[2] / "bench"
DATA = BENCH / "data" / "brand_relevance.jsonl"
KINDS = {
    "brand": "relevant",
    "product": "relevant",
    "implicit": "relevant",
    "homonym": "not_relevant",
    "competitor": "not_relevant",
    "category": "not_relevant",
    "spam": "not_relevant",
    "job": "not_relevant",
}


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def select_heads() -> Iterator[ModuleType]:
    with bench_module("select_heads.py", "select_heads_relevance") as module:
        yield module


def test_set_fields_labels_and_languages(records: list[dict[str, str]]) -> None:
    assert len(records) >= 300
    for r in records:
        assert set(r) == {"id", "text", "label", "lang", "kind", "split"}, r
        assert r["text"].strip() == r["text"] and r["text"]
        assert r["lang"] in ("en", "es")
        assert r["kind"] in KINDS and r["label"] == KINDS[r["kind"]], r
        assert r["split"] in ("train", "test")
    assert len({r["id"] for r in records}) == len(records)
    assert len({r["text"] for r in records}) == len(records)
    langs = Counter(r["lang"] for r in records)
    assert abs(langs["en"] - langs["es"]) <= 0.1 * len(records)
    labels = Counter(r["label"] for r in records)
    assert min(labels.values()) >= 0.3 * len(records)


def test_every_kind_in_both_languages_and_a_fixed_held_out_part(records: list[dict[str, str]]) -> None:
    cells: dict[tuple[str, str], Counter[str]] = {}
    for r in records:
        cells.setdefault((r["lang"], r["kind"]), Counter())[r["split"]] += 1
    assert set(cells) == {(lang, kind) for lang in ("en", "es") for kind in KINDS}
    for key, counts in cells.items():
        n = counts["train"] + counts["test"]
        assert counts["test"] == round(0.3 * n), key


def test_demo_catalog_is_the_demo_brand(select_heads: ModuleType) -> None:
    products, brand = select_heads._demo_catalog()
    assert brand.name == "Andes Outdoor"
    assert [p.name for p in products] == ["Cumbre Trail Runner", "Nube Rain Jacket", "Volcan 40L Pack"]
    assert "cumbre" in brand.product_aliases and "andesoutdoor" in brand.handles
    assert len(brand.queries) == 1 and "cumbre" in brand.queries[0]


def test_auc_and_f1(select_heads: ModuleType) -> None:
    y = np.array([1, 1, 0, 0])
    assert select_heads._auc(np.array([0.9, 0.8, 0.1, 0.2]), y) == 1.0
    assert select_heads._auc(np.array([0.5, 0.5, 0.5, 0.5]), y) == 0.5
    assert select_heads._f1(np.array([0.9, 0.1, 0.3, 0.1]), y, 0.2) == pytest.approx(0.5)
    assert select_heads._f1(np.array([0.1, 0.1, 0.1, 0.1]), y, 0.2) == 0.0


def _fake_embeddings(texts: list[str], profiles: list[str]) -> dict[str, Any]:
    """Posts labelled relevant lean toward the profiles; the others do not (every choice alike)."""
    rng = np.random.default_rng(5)
    out = {}
    for k, name in enumerate(("minilm", "use", "both")):
        dim = 12 + 4 * k
        profs = rng.normal(size=(len(profiles), dim))
        lean = np.array([1.0 if "good" in t else 0.0 for t in texts])[:, None]
        posts = profs[np.arange(len(texts)) % len(profiles)] * lean + rng.normal(size=(len(texts), dim))
        unit = [(m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32) for m in (posts, profs)]
        out[name] = (unit[0], unit[1])
    return out


def _sample(tmp_path: Path) -> Path:
    rows = []
    for lang in ("en", "es"):
        for kind, label in KINDS.items():
            for j in range(5):
                word = "good" if label == "relevant" else "other"
                text = f"{word} post {j} about {'cumbre' if kind == 'product' else 'Andes Outdoor'} {lang}"
                if kind == "job":
                    text += ", we're hiring"
                rows.append(
                    {
                        "text": text,
                        "label": label,
                        "lang": lang,
                        "kind": kind,
                        "split": "test" if j < 2 else "train",
                    }
                )
    path = tmp_path / "sample.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_features_are_the_scorers(select_heads: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(select_heads, "_relevance_embeddings", _fake_embeddings)
    records = [
        {
            "text": "good Cumbre Trail Runner on wet rock",
            "label": "relevant",
            "lang": "en",
            "kind": "product",
        },
        {
            "text": "other trekking the Andes, we're hiring",
            "label": "not_relevant",
            "lang": "en",
            "kind": "job",
        },
    ] * 3
    data = select_heads.relevance_data(records, ("minilm", "use", "none"))
    minilm = data.features["minilm"]
    assert minilm[0][:2].tolist() == [1.0, 1.0] and minilm[0][3] > 0  # query, mention, product
    assert minilm[1][4] == 1.0  # the job-ad wording
    assert (data.features["none"][:, 2] == 0).all()
    assert data.centres["minilm"] == (0.35, 0.1)
    # Only the similarity column differs between choices.
    assert np.array_equal(np.delete(data.features["use"], 2, axis=1), np.delete(minilm, 2, axis=1))


def test_fit_is_the_products_and_keeps_defaults_below_the_minimum(select_heads: ModuleType) -> None:
    x = np.zeros((4, 6))
    assert select_heads._relevance_fit(x, np.array([1, 0, 1, 0])) == DEFAULT_WEIGHTS  # below 10 decisions
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 6))
    y = (x[:, 2] > 0).astype(int)
    weights = select_heads._relevance_fit(x, y)
    assert weights.learned and weights.decisions == 30 and weights.off_topic == int((y == 0).sum())


def test_stages_print_their_tables(
    select_heads: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(select_heads, "_relevance_embeddings", _fake_embeddings)
    path = _sample(tmp_path)
    args = argparse.Namespace(relevance_data=path, folds=2, fold_seed=101)
    select_heads.relevance_cv(select_heads.RELEVANCE_CHOICES, args)
    out = capsys.readouterr().out
    assert "(48 posts: 18 relevant" in out
    for name in select_heads.RELEVANCE_CHOICES:
        for how in ("default", "learned"):
            assert f"| {name} | {how} | " in out
        assert f"- {name}, learned on all of train: bias " in out
    select_heads.relevance_test(("minilm",), args)
    out = capsys.readouterr().out
    assert "held-out part of sample.jsonl (32 posts, 12 relevant)" in out
    assert "| minilm | default | " in out and "| minilm | learned | " in out


def test_relevance_task_takes_only_its_stages(select_heads: ModuleType) -> None:
    with pytest.raises(SystemExit):
        select_heads.main(["--task", "relevance", "--stage", "seeds"])
    with pytest.raises(SystemExit):
        select_heads.main(["--task", "relevance", "--stage", "cv", "--candidates", "lin-both"])
    with pytest.raises(SystemExit):
        select_heads.main(["--task", "sentiment", "--stage", "test"])
