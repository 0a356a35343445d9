"""Issue 22, small things: the encoder and the library index warm up in the background at start-up."""

from __future__ import annotations

import gc
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import create_app
from tesoro.api.warmup import GC_YOUNG_THRESHOLD, WARM_TEXT, Warmup, settle_gc
from tesoro.settings import Settings
from tesoro.store.keys import Role
from worlds.api import Seeded
from worlds.curator import tiny_encode


class SlowEncoder:
    """Stands in for the real encoder's load: the first call holds its lock until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.loading = threading.Event()
        self.lock = threading.Lock()
        self.loaded = False
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str] | list[str]) -> npt.NDArray[np.float32]:
        with self.lock:
            self.calls.append(list(texts))
            if not self.loaded:
                self.loading.set()
                assert self.release.wait(20), "the test never released the encoder"
                self.loaded = True
        return tiny_encode(texts)


def test_start_up_warms_in_the_background_and_a_search_meanwhile_still_answers(
    sqlite_engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    encoder = SlowEncoder()
    app = create_app(api_settings, sqlite_engine, encode=encoder, warm_up=True)
    warmup: Warmup = app.state.warmup
    assert not warmup.started  # nothing runs before the server starts
    headers = seeded.headers(Role.ADMIN)
    with TestClient(app, base_url="http://testserver") as client:  # start-up returned: not blocked
        assert warmup.started
        assert encoder.loading.wait(20), "the warm-up never asked the encoder to load"
        assert encoder.calls[0] == [WARM_TEXT]
        assert not warmup.done.is_set()
        # While the encoder loads, the API answers.
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/curator/library", headers=headers).status_code == 200
        with ThreadPoolExecutor(1) as pool:
            during = pool.submit(
                client.get, "/api/curator/library?meaning=trail shoes&sort=relevance", headers=headers
            )
            threading.Event().wait(0.5)
            assert not during.done()  # the meaning search waits for the encoder's load...
            encoder.release.set()  # ...and, once loaded, answers
            answer = during.result(timeout=30)
        assert warmup.done.wait(20)
        assert warmup.errors == [] and warmup.seconds is not None
        after = client.get("/api/curator/library?meaning=trail shoes&sort=relevance", headers=headers)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["items"] == after.json()["items"]
    assert answer.json()["total"] == after.json()["total"]


def test_without_warm_up_nothing_loads_at_start(
    sqlite_engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    encoder = SlowEncoder()
    encoder.release.set()
    app = create_app(api_settings, sqlite_engine, encode=encoder)
    with TestClient(app, base_url="http://testserver"):
        assert not app.state.warmup.started
    assert encoder.calls == []


def test_a_failing_encoder_is_reported_and_the_index_still_warms(
    sqlite_engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    def broken(texts: Sequence[str] | list[str]) -> npt.NDArray[np.float32]:
        raise OSError("model files missing")

    app = create_app(api_settings, sqlite_engine, encode=broken, warm_up=True)
    with TestClient(app, base_url="http://testserver") as client:
        warmup: Warmup = app.state.warmup
        assert warmup.done.wait(20)
        assert warmup.errors == ["encoder: model files missing"]  # the index step before it succeeded
        listing = client.get("/api/curator/library", headers=seeded.headers(Role.ADMIN))
        assert listing.status_code == 200


def test_a_server_settles_its_collector_after_the_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "get_threshold", lambda: (700, 10, 10))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: calls.append(f"threshold {t}"))
    settle_gc()
    assert calls == ["collect", "freeze", f"threshold {(GC_YOUNG_THRESHOLD, 10, 10)}"]
