"""Output heads shared by the neural agents' networks (NumPy or ``keras.ops``, no import of either)."""

from __future__ import annotations

from typing import Any

import numpy as np


def dueling_q(value: Any, advantages: Any, ops: Any = np) -> Any:
    """``Q = V + A - mean_a A`` (Wang et al., 2016; the mean keeps V and A identifiable).

    ``ops`` is NumPy or ``keras.ops``: the one formula every dueling head uses, the Keras
    layer, the recurrent head and the NumPy acting paths.
    """
    return value + advantages - ops.mean(advantages, axis=-1, keepdims=True)
