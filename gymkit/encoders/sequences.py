"""Padding ragged sequences into one batch with a mask (NumPy only: no TensorFlow import).

Episodes have different lengths, so a list of them cannot become one tensor (the failure in
the book-era notebook ``np.array(text_as_int)`` of ragged lists). :func:`ragged_to_padded`
right-pads them to the longest and returns the mask of real steps, which the recurrent
encoders take so that padded steps change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def ragged_to_padded(
    sequences: Sequence[Any],
    *,
    max_length: int | None = None,
    pad_value: float = 0.0,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad sequences of different lengths into ``(padded, mask)``.

    Args:
        sequences: ``B`` array-likes of shape ``(T_i, *obs_shape)`` (``T_i`` may be 0).
        max_length: pad (or cut) to this length; default: the longest ``T_i``.
        pad_value: the value of padded steps (the mask, not this value, marks them).
        dtype: dtype of ``padded``.

    Returns:
        ``padded`` of shape ``(B, T, *obs_shape)`` and a boolean ``mask`` of shape ``(B, T)``,
        true on real steps.

    Example:
        >>> padded, mask = ragged_to_padded([[1, 2, 3], [4]])
        >>> padded.tolist(), mask.tolist()
        ([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]], [[True, True, True], [True, False, False]])
    """
    arrays = [np.asarray(s, dtype=dtype) for s in sequences]
    if not arrays:
        raise ValueError("ragged_to_padded needs at least one sequence")
    shapes = {a.shape[1:] for a in arrays if a.ndim >= 1}
    if any(a.ndim == 0 for a in arrays) or len(shapes) > 1:
        raise ValueError(f"every sequence must have shape (T_i, *obs_shape); got {[a.shape for a in arrays]}")
    obs_shape = shapes.pop()
    length = max(len(a) for a in arrays) if max_length is None else int(max_length)
    padded = np.full((len(arrays), length, *obs_shape), pad_value, dtype=dtype)
    mask = np.zeros((len(arrays), length), dtype=bool)
    for i, a in enumerate(arrays):
        n = min(len(a), length)
        padded[i, :n] = a[:n]
        mask[i, :n] = True
    return padded, mask


#: Keras's name for the same operation.
pad_sequences = ragged_to_padded
