"""A forking worker imports the model libraries once, before its work horses fork (found by bench/cluster.py).

Each RQ work horse is a fresh fork that exits after its job, so without this every scoring run
imported torch and transformers again before it could load the encoder.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tesoro.jobs import worker
from tesoro.settings import Settings


def _settings(score_interval: int) -> Settings:
    return Settings.model_validate({"models": {"score_interval": score_interval}})


@pytest.fixture
def imported(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The modules `preload_job_modules` asks for, without importing them (torch takes seconds)."""
    names: list[str] = []

    def fake_import(name: str) -> object:
        names.append(name)
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return object()

    monkeypatch.setattr(worker.importlib, "import_module", fake_import)
    return names


def test_with_scoring_scheduled_the_model_libraries_are_imported_and_a_missing_one_is_skipped(
    imported: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tesoro.jobs.worker"):
        done = worker.preload_job_modules(_settings(60))
    assert imported == ["sentence_transformers", "onnxruntime"]
    assert done == ["sentence_transformers"]
    assert "not preloading onnxruntime for the scoring jobs: No module named 'onnxruntime'" in caplog.text


def test_without_a_scoring_job_nothing_is_imported(imported: list[str]) -> None:
    assert worker.preload_job_modules(_settings(0)) == []
    assert imported == []


@pytest.mark.parametrize("forking", [True, False])
def test_only_a_forking_worker_preloads_and_before_it_works(
    monkeypatch: pytest.MonkeyPatch, imported: list[str], forking: bool
) -> None:
    order: list[str] = []

    class Forking:
        def __init__(self, queues: list[Any], connection: object) -> None:
            pass

        def work(self, *, burst: bool, with_scheduler: bool) -> None:
            order.append(f"work after {list(imported)}")

    monkeypatch.setattr(worker, "make_queue", lambda settings: type("Q", (), {"connection": None})())
    monkeypatch.setattr(worker, "check_redis", lambda settings, connection=None: None)
    monkeypatch.setattr(worker, "JobWorker", Forking)
    monkeypatch.setattr(worker, "SimpleJobWorker", Forking)
    worker.run_worker(_settings(60), burst=True, forking=forking)
    want = ["sentence_transformers", "onnxruntime"] if forking else []
    assert order == [f"work after {want}"]
