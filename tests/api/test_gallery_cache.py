"""The gallery's in-process cache renders each body once, however many requests miss it together."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tesoro.api.gallery import GalleryCache

KEY = ("andes-outdoor", "", "", "24")


class Renderer:
    """A slow render the test controls: each call sets `started`, then holds until `gate` is open."""

    def __init__(self, *, held: bool = False) -> None:
        self.calls = 0
        self.started = threading.Event()
        self.gate = threading.Event()
        if not held:
            self.gate.set()
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            self.calls += 1
            n = self.calls
        self.started.set()
        assert self.gate.wait(timeout=10), "the test never let the render finish"
        return f'{{"render": {n}}}'.encode()


def test_requests_missing_together_share_one_render() -> None:
    cache, render = GalleryCache(ttl_s=60), Renderer(held=True)
    together = threading.Barrier(17)

    def request(_: int) -> bytes:
        together.wait(timeout=10)
        return cache.get_or_render(KEY, render).body

    with ThreadPoolExecutor(16) as pool:
        answers = pool.map(request, range(16))
        together.wait(timeout=10)  # all 16 are asking now
        assert render.started.wait(timeout=10)  # and one of them renders, held
        render.gate.set()
        bodies = list(answers)
    assert render.calls == 1 and set(bodies) == {b'{"render": 1}'}


def test_an_expired_body_answers_while_one_request_renders_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cache, render = GalleryCache(ttl_s=5), Renderer()
    first = cache.get_or_render(KEY, render)
    later = time.monotonic() + 6
    monkeypatch.setattr(time, "monotonic", lambda: later)
    render.gate.clear()
    render.started.clear()
    with ThreadPoolExecutor(8) as pool:
        renewing = pool.submit(cache.get_or_render, KEY, render)
        assert render.started.wait(timeout=10)  # the renewal has started, and is held
        meanwhile = [
            f.result(timeout=5) for f in [pool.submit(cache.get_or_render, KEY, render) for _ in range(6)]
        ]
        render.gate.set()
        renewed = renewing.result()
    assert render.calls == 2
    assert all(item.body == first.body for item in meanwhile)  # not kept waiting for the render
    assert renewed.body == b'{"render": 2}' and cache.get(KEY) == renewed


def test_without_a_ttl_every_request_renders_and_nothing_is_kept() -> None:
    cache, render = GalleryCache(ttl_s=0), Renderer()
    cache.get_or_render(KEY, render)
    cache.get_or_render(KEY, render)
    assert render.calls == 2 and cache.get(KEY) is None
