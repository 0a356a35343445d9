"""Fixtures shared by the scoring tests."""

from __future__ import annotations

import pytest

from tesoro.scoring.encoders import Encoder, load_encoder


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    """The process-wide default encoder (loaded once; `load_encoder` caches it)."""
    return load_encoder()
