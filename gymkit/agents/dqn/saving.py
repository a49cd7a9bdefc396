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


def save_weights_and_counters(agent: Any, directory: Path, policy_only: bool) -> None:
    """The networks, the counters and the random generators' states (``dqn_state.json``)."""
    last = agent.join_training()  # the networks as of the last round's end
    save_networks(directory, agent.critic, agent.actor, agent.player)
    state = {
        "env_steps": agent.env_steps, "train_steps": agent.train_steps,
        "next_round_at": agent.next_round_at, "stack_size": agent.stack_size,
        "padding": agent.padding, "rng": agent.rng.bit_generator.state,
        "eval_rng": agent.eval_rng.bit_generator.state,
        "replay_streams": None if agent.replay is None or policy_only else agent.replay.num_streams,
        "policy_only": policy_only,
        "last_round": None if last is None else list(last),
    }
    (directory / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")


def load_weights_and_counters(agent: Any, directory: Path) -> None:
    """Read back what :func:`save_weights_and_counters` wrote, the optimizer slots and the replay
    (the agent's own state codec: it sets the agent's private fields as ``load_state`` would)."""
    from gymkit.errors import RunDirError
    from gymkit.safe_files import read_json

    if not load_networks(directory, agent.critic, agent.actor, agent.player):
        agent._sync_player()  # saved without overlap: the player starts level with the playing net
    state = read_json(directory / STATE_FILE)
    if not isinstance(state, dict):
        raise RunDirError(f"{directory / STATE_FILE} is not a JSON object: restore it from a copy")
    if not state.get("policy_only", False):
        load_optimizer_variables(directory / OPTIMIZER_FILE, agent.learner.optimizer)
    agent.env_steps, agent.train_steps = state["env_steps"], state["train_steps"]
    agent.learner.train_steps.assign(agent.train_steps)
    agent.next_round_at = state["next_round_at"]
    agent.stack_size, agent.padding = state["stack_size"], state["padding"]
    agent.rng.bit_generator.state = state["rng"]
    if "eval_rng" in state:
        agent.eval_rng.bit_generator.state = state["eval_rng"]
    if agent._rounds is not None and state.get("last_round") is not None:
        loss, q_mean = state["last_round"]
        agent._rounds.last = (float(loss), float(q_mean))
    if state["replay_streams"] is not None:
        agent.replay = agent._make_replay(state["replay_streams"])
        agent.replay.load(directory / "replay")
    agent._numpy_stale = True
