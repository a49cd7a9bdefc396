"""DQN's files in a checkpoint: the networks' weights (``critic``, ``actor`` and, with
``overlap``, ``player.weights.h5``) and the optimizer slots, ``optimizer.npz`` (``v0, v1, ...``),
with their checked restore (the same number of variables, each of the same shape)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OPTIMIZER_FILE = "optimizer.npz"
STATE_FILE = "dqn_state.json"
#: the player network of ``overlap: true`` (it acts one round behind the critic)
PLAYER_FILE = "player.weights.h5"


def save_networks(directory: Path, critic: Any, actor: Any, player: Any = None) -> None:
    """Write each network's weights (the player's too, when there is one)."""
    critic.save_weights(directory / "critic.weights.h5")
    actor.save_weights(directory / "actor.weights.h5")
    if player is not None:  # it plays one round behind: part of the exact state
        player.save_weights(directory / PLAYER_FILE)


def load_networks(directory: Path, critic: Any, actor: Any, player: Any = None) -> bool:
    """Read back what :func:`save_networks` wrote; False when a player has no file to read
    (a folder saved without overlap)."""
    from gymkit.safe_files import load_keras_weights

    load_keras_weights(critic, directory / "critic.weights.h5")
    load_keras_weights(actor, directory / "actor.weights.h5")
    if player is None:
        return True
    if not (directory / PLAYER_FILE).exists():
        return False
    load_keras_weights(player, directory / PLAYER_FILE)
    return True


def save_optimizer_variables(path: Path, optimizer: Any) -> None:
    """Write ``optimizer.variables`` to ``path`` as ``v0, v1, ...``."""
    from gymkit.safe_files import save_npz

    opt_vars = {f"v{i}": v.numpy() for i, v in enumerate(optimizer.variables)}
    save_npz(path, opt_vars)


def load_optimizer_variables(path: Path, optimizer: Any) -> None:
    """Assign what :func:`save_optimizer_variables` wrote, refusing another optimizer's file."""
    from gymkit.errors import RunDirError
    from gymkit.safe_files import load_npz

    saved = load_npz(path, finite="all")
    variables = optimizer.variables
    if set(saved) != {f"v{i}" for i in range(len(variables))}:
        raise RunDirError(f"{path} holds {len(saved)} arrays, this agent's optimizer "
                          f"{len(variables)}: it was saved by another config; restore it from a copy")
    for i, var in enumerate(variables):
        value = saved[f"v{i}"]
        if tuple(value.shape) != tuple(var.shape):
            raise RunDirError(f"{path} member v{i} has shape {value.shape}, the "
                              f"optimizer's variable {tuple(var.shape)}: restore it from a copy")
        var.assign(value)


def save_weights_and_counters(directory: Path, networks: tuple[Any, Any, Any], state: dict[str, Any]) -> None:
    """The networks ``(critic, actor, player or None)`` and the agent's counters and generator
    states (``dqn_state.json``)."""
    save_networks(directory, *networks)
    (directory / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")


def load_weights_and_counters(directory: Path, networks: tuple[Any, Any, Any],
                              optimizer: Any) -> tuple[dict[str, Any], bool]:
    """Load what :func:`save_weights_and_counters` wrote into ``networks`` and, unless the
    folder is policy-only, the optimizer slots; return ``dqn_state.json``'s dict and whether
    the player had weights to load (False: a folder saved without overlap)."""
    from gymkit.errors import RunDirError
    from gymkit.safe_files import read_json

    player_loaded = load_networks(directory, *networks)
    state = read_json(directory / STATE_FILE)
    if not isinstance(state, dict):
        raise RunDirError(f"{directory / STATE_FILE} is not a JSON object: restore it from a copy")
    if not state.get("policy_only", False):
        load_optimizer_variables(directory / OPTIMIZER_FILE, optimizer)
    return state, player_loaded
