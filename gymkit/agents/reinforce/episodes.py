"""REINFORCE's episode buffers: the steps of each episode until an update learns from it, and
their flattening into named arrays for a checkpoint's ``episodes.npz`` (and back)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class _Episode:
    observations: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    truncated: bool = False
    final_observation: np.ndarray | None = None
    #: per step, the allowed actions (bool, n_actions) or None when the env gave no mask
    masks: list[np.ndarray | None] = field(default_factory=list)


def _pack_episodes(complete: list[_Episode], open_: dict[int, _Episode]) -> dict[str, np.ndarray]:
    """Flatten episode buffers into named arrays for ``np.savez`` (env id -1: complete)."""
    arrays: dict[str, np.ndarray] = {}
    rows = [(-1, e) for e in complete] + list(open_.items())
    for i, (env_id, e) in enumerate(rows):
        arrays[f"{i}_observations"] = np.stack(e.observations)
        arrays[f"{i}_actions"] = np.asarray(e.actions, np.int64)
        arrays[f"{i}_rewards"] = np.asarray(e.rewards, np.float64)
        arrays[f"{i}_meta"] = np.array([env_id, int(e.truncated)], np.int64)
        given = [m for m in e.masks if m is not None]
        if given:  # int8 rows: 1 allowed, 0 forbidden, -1 for a step without a mask
            none = np.full(len(given[0]), -1, np.int8)
            arrays[f"{i}_masks"] = np.stack([none if m is None else m.astype(np.int8) for m in e.masks])
        if e.final_observation is not None:
            arrays[f"{i}_final"] = e.final_observation
    return arrays


def _unpack_episodes(arrays: dict[str, np.ndarray]) -> tuple[list[_Episode], dict[int, _Episode]]:
    complete: list[_Episode] = []
    open_: dict[int, _Episode] = {}
    for i in range(sum(1 for k in arrays if k.endswith("_meta"))):
        env_id, truncated = (int(x) for x in arrays[f"{i}_meta"])
        episode = _Episode(
            observations=list(arrays[f"{i}_observations"]),
            actions=arrays[f"{i}_actions"].tolist(),
            rewards=arrays[f"{i}_rewards"].tolist(),
            truncated=bool(truncated),
            final_observation=arrays.get(f"{i}_final"),
        )
        saved_masks = arrays.get(f"{i}_masks")
        episode.masks = ([None] * len(episode.actions) if saved_masks is None else
                         [None if row[0] < 0 else row.astype(bool) for row in saved_masks])
        if env_id < 0:
            complete.append(episode)
        else:
            open_[env_id] = episode
    return complete, open_
