"""Types every scoring module shares: the load error and the float array alias.

A module of its own so that encoders, heads and the sentiment branch can all raise and
annotate the same way without importing one another (they used to, in a loop).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["USE_DIM", "FloatArray", "ModelLoadError"]

FloatArray = npt.NDArray[np.float32]
# The multilingual Universal Sentence Encoder's embedding width (heads size their inputs by it).
USE_DIM = 512


class ModelLoadError(RuntimeError):
    """A model (encoder, head or classifier) could not be loaded; the message says which and why."""
