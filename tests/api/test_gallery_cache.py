"""The gallery's in-process cache renders each body once, however many requests miss it together."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tesoro.api.gallery import GalleryCache

KEY = ("andes-outdoor", "", "", "24")


class Renderer:
    def __init__(self, seconds: float = 0.2) -> None:
        self.calls = 0
        self.seconds = seconds
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.seconds)
        return f'{{"render": {n}}}'.encode()


def test_requests_missing_together_share_one_render() -> None:
    cache, render = GalleryCache(ttl_s=60), Renderer()
    with ThreadPoolExecutor(16) as pool:
        bodies = list(pool.map(lambda _: cache.get_or_render(KEY, render).body, range(16)))
    assert render.calls == 1 and set(bodies) == {b'{"render": 1}'}


def test_an_expired_body_answers_while_one_request_renders_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cache, render = GalleryCache(ttl_s=5), Renderer(seconds=0.3)
    first = cache.get_or_render(KEY, render)
    later = time.monotonic() + 6
    monkeypatch.setattr(time, "monotonic", lambda: later)
    with ThreadPoolExecutor(8) as pool:
        renewing = pool.submit(cache.get_or_render, KEY, render)
        while render.calls < 2:  # the renewal has started
            threading.Event().wait(0.01)
        meanwhile = [
            f.result(timeout=0.2) for f in [pool.submit(cache.get_or_render, KEY, render) for _ in range(6)]
        ]
        renewed = renewing.result()
    assert render.calls == 2
    assert all(item.body == first.body for item in meanwhile)  # not kept waiting for the render
    assert renewed.body == b'{"render": 2}' and cache.get(KEY) == renewed


def test_without_a_ttl_every_request_renders_and_nothing_is_kept() -> None:
    cache, render = GalleryCache(ttl_s=0), Renderer(seconds=0)
    cache.get_or_render(KEY, render)
    cache.get_or_render(KEY, render)
    assert render.calls == 2 and cache.get(KEY) is None
