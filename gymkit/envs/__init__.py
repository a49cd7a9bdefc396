"""Gymnasium envs that gymkit ships, registered under the ``gymkit/`` namespace.

Importing :mod:`gymkit` registers them, after which ``gymnasium.make("gymkit/BookMDP-v0")``
works; ``gymnasium.make("gymkit:gymkit/BookMDP-v0")`` imports gymkit by itself.
"""

from __future__ import annotations

import gymnasium as gym

#: id -> (entry point, max_episode_steps, one-line description)
GYMKIT_ENVS: dict[str, tuple[str, int | None, str]] = {
    "gymkit/BookMDP-v0": (
        "gymkit.envs.book_mdp:BookMDPEnv",
        1000,
        "The 3-state MDP of Figure 16-8 (exposes T, R and possible actions; action mask in info).",
    ),
    "gymkit/EmbeddedReber-v0": (
        "gymkit.envs.reber:EmbeddedReberEnv",
        None,  # episodes end by themselves (max_length - 2 steps at most)
        "Read an embedded Reber string one-hot, then answer its second symbol (memory task).",
    ),
}


def register_envs() -> None:
    """Register every gymkit env with Gymnasium (idempotent)."""
    for env_id, (entry_point, max_steps, _) in GYMKIT_ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps)


def list_envs() -> dict[str, str]:
    """The env ids gymkit registers, with one-line descriptions."""
    return {env_id: desc for env_id, (_, _, desc) in GYMKIT_ENVS.items()}
