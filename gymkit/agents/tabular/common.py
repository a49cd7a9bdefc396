"""What the tabular agents share: the space check, the learning rate and the saved tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gymkit.agents.base import require_discrete_actions, require_discrete_observations
from gymkit.errors import RunDirError, SpaceError

STATE_FILE = "tabular.json"


def check_tabular_spaces(agent: str, observation_space: gym.Space, action_space: gym.Space) -> None:
    """Raise a SpaceError unless both spaces are Discrete and start at 0 (table indices)."""
    require_discrete_observations(agent, observation_space)
    require_discrete_actions(agent, action_space)
    for what, space in (("observation", observation_space), ("action", action_space)):
        if int(space.start) != 0:
            raise SpaceError(
                f"agent '{agent}' indexes its table by {what}, but the env's {what} space "
                f"{space} starts at {int(space.start)}: wrap the env so that it starts at 0"
            )


def learning_rate(learning_rate0: float, learning_rate_decay: float, t: int) -> float:
    """The book's decaying learning rate ``alpha_t = alpha0 / (1 + t * decay)``."""
    return learning_rate0 / (1.0 + t * learning_rate_decay)


def as_states(observations: np.ndarray) -> np.ndarray:
    """A batch of Discrete observations as a flat int array of table rows."""
    return np.asarray(observations, dtype=np.int64).reshape(-1)


def as_mask(action_mask: np.ndarray | None, n: int) -> np.ndarray | None:
    """A batch of action masks as booleans of shape ``(n, n_actions)``, or None."""
    if action_mask is None:
        return None
    return np.asarray(action_mask, dtype=bool).reshape(n, -1)


def save_tables(directory: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write each table as ``NAME.npy`` and the counters (``meta``) as ``tabular.json``."""
    from gymkit.safe_files import save_npy

    directory = Path(directory)
    for name, array in arrays.items():
        save_npy(directory / f"{name}.npy", array)
    (directory / STATE_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")


def load_tables(directory: Path, names: tuple[str, ...], like: dict[str, np.ndarray] | None = None
                ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read back what :func:`save_tables` wrote: numbers only (no pickle), no NaN (``-inf``
    marks impossible actions), and the dtype and shape of ``like[name]`` when given."""
    from gymkit.safe_files import load_npy, read_json

    directory = Path(directory)
    like = like or {}
    arrays = {}
    for name in names:
        ref = like.get(name)
        arrays[name] = load_npy(directory / f"{name}.npy", finite="nan",
                                dtype=None if ref is None else ref.dtype,
                                shape=None if ref is None else ref.shape)
    meta = read_json(directory / STATE_FILE)
    if not isinstance(meta, dict):
        raise RunDirError(f"{directory / STATE_FILE} is not a JSON object: the run directory is damaged; "
                          "restore it from a copy")
    return arrays, meta
