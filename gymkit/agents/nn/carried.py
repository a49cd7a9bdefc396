"""The recurrent state a stateful agent carries per env, one set per ``explore`` stream.

Training (``explore=True``) and evaluation (``explore=False``) never share a state, so an
evaluation in the middle of training leaves the training episodes' states untouched. DQN and
REINFORCE both keep theirs here: NumPy arrays ``(num_envs, units)`` per layer and per state
tensor (``[h]`` or ``[h, c]``), grown with zero rows as env ids appear, zeroed by
``episode_start``, advanced once per ``act``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

State = list[list[np.ndarray]]


class CarriedStates:
    """Per-stream, per-env recurrent state.

    Args:
        units: per layer, the width of each of its state tensors (e.g. ``[[64, 64]]`` for
            one LSTM layer of 64 units).
    """

    def __init__(self, units: list[list[int]]) -> None:
        self.units = units
        #: explore flag -> per layer, per state tensor, an array (num_envs, units)
        self.states: dict[bool, State] = {}

    def stream(self, explore: bool, size: int = 0) -> State:
        """The state arrays of one stream, grown with zero rows to at least ``size`` envs."""
        state = self.states.get(explore)
        have = 0 if state is None else len(state[0][0])
        if state is None or size > have:
            grow = max(size - have, 0)
            zeros = [[np.zeros((grow, u), np.float32) for u in layer] for layer in self.units]
            state = zeros if state is None else [
                [np.concatenate([a, b]) for a, b in zip(old, new, strict=True)]
                for old, new in zip(state, zeros, strict=True)]
            self.states[explore] = state
        return state

    def reset(self, env_ids: np.ndarray, explore: bool) -> None:
        """Zero the state rows of ``env_ids`` (their episodes start now)."""
        ids = np.asarray(env_ids, np.int64)
        if len(ids) == 0:
            return
        for layer in self.stream(explore, int(ids.max()) + 1):
            for array in layer:
                array[ids] = 0.0

    def advance(self, explore: bool, env_ids: np.ndarray, step: Callable[[State], tuple[Any, State]]) -> Any:
        """Run ``step(rows) -> (output, new rows)`` on the rows of ``env_ids`` and store the
        new rows; returns the output."""
        ids = np.asarray(env_ids, np.int64)
        state = self.stream(explore, int(ids.max()) + 1 if len(ids) else 0)
        rows = [[array[ids] for array in layer] for layer in state]
        out, new = step(rows)
        for layer, new_layer in zip(state, new, strict=True):
            for array, value in zip(layer, new_layer, strict=True):
                array[ids] = value
        return out
