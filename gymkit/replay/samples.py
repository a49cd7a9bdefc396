"""What :meth:`gymkit.replay.ReplayMemory.sample` returns: a batch of n-step transitions."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ReplaySample(NamedTuple):
    """A sampled batch (n-step returns already summed).

    Attributes:
        observations: ``(batch, *obs_shape)``.
        actions: ``(batch,)`` int32.
        rewards: ``(batch,)`` float32, ``sum_{i<n} gamma^i r_{t+i}``.
        next_observations: ``(batch, *obs_shape)``, the state to bootstrap from.
        discounts: ``(batch,)`` float32, ``gamma^n`` or 0 where the episode terminated.
        terminated, truncated: ``(batch,)`` bool, how the n-step window ended.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    discounts: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
