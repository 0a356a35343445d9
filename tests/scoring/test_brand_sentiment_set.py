"""The brand-sentiment set of issue 18 (bench/data/brand_sentiment.jsonl) and its report in bench/quality."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

from tesoro.scoring.encoders import load_encoder
from tesoro.scoring.sentiment import SENTIMENT_LABELS, load_sentiment
from tesoro.scoring.training import read_jsonl

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "quality.py"
_spec = importlib.util.spec_from_file_location("bench_quality_brand", _BENCH)
assert _spec is not None and _spec.loader is not None
quality = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(quality)

KINDS = {"quiet-complaint", "slang", "emoticon", "mixed", "brand"}


def test_the_set_covers_the_error_classes_in_both_languages() -> None:
    records = read_jsonl(quality.BRAND_SENTIMENT_SET)
    assert len(records) >= 300
    assert all(set(r) == {"id", "text", "label", "lang", "kind"} for r in records)
    assert {r["label"] for r in records} == set(SENTIMENT_LABELS)
    assert {r["kind"] for r in records} == KINDS
    cells = Counter((r["lang"], r["kind"]) for r in records)
    # slang and idiom is the Spanish error class; every other kind is in both languages
    assert all(cells[(lang, kind)] >= 10 for lang in ("en", "es") for kind in KINDS - {"slang"})
    assert cells[("es", "slang")] >= 30
    texts = [r["text"] for r in records]
    assert len(set(texts)) == len(texts)
    assert len({r["id"] for r in records}) == len(records)
    # the cases the issue names are in it, with the labels a reader gives them
    by_text = {r["text"]: r["label"] for r in records}
    assert by_text["Three years with my Marea Surf Brisa... Best board I've owned"] == "positive"
    assert by_text["Marea replaced my torn Ola under warranty, no questions asked. Legends."] == "positive"
    assert by_text["Returned my Cumbres today. The foam went flat after two hikes."] == "negative"
    assert by_text["Qué huevada es tener que volar con Vuela un feriado"] == "negative"
    assert by_text["Quiero mogollón a mi Brisa, qué tabla"] == "positive"
    assert by_text["Tengo mucha ilusión con la tabla nueva de Marea"] == "positive"


def test_the_report_has_every_language_and_kind() -> None:
    records = read_jsonl(quality.BRAND_SENTIMENT_SET)
    sample = [r for i, r in enumerate(records) if i % 10 == 0]
    encoder = load_encoder()
    table = quality.brand_sentiment_table(sample, load_sentiment(None, encoder_dim=encoder.dim), encoder)
    rows = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")}
    assert {"all", "lang en", "lang es"} <= rows
    assert {f"kind {k}" for k in {r["kind"] for r in sample}} <= rows
