"""Loading a `bench/` script as a module in a test, with `bench/` on the path for its sibling imports."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


@contextmanager
def bench_module(script: str, name: str) -> Iterator[ModuleType]:
    """`bench/<script>` loaded as module `name` (registered, since dataclasses look their module up there);
    forgotten, and `bench/` taken off the path, afterwards."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)
        sys.path.remove(str(BENCH))
