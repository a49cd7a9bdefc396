"""A lean single-env driver for the tabular tests and benchmark.

It does what the loop does for one env (act with the info's action mask, step, observe,
update), plus a per-step hook that the steps-to-optimal measurement needs.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from gymkit.agents.base import Agent, Transitions

_ENV_ID = np.zeros(1, dtype=np.int64)


def _mask(info: dict) -> np.ndarray | None:
    mask = info.get("action_mask")
    return None if mask is None else np.asarray(mask, dtype=bool)[None]


def drive(
    env: gym.Env,
    agent: Agent,
    steps: int,
    *,
    seed: int,
    on_step: Callable[[int], None] | None = None,
) -> list[float]:
    """Train ``agent`` for ``steps`` env steps; return the undiscounted episode returns.

    ``on_step(t)`` is called after the agent observed step ``t`` (1-based).
    """
    agent.bind_env(env)
    obs, info = env.reset(seed=seed)
    returns, total = [], 0.0
    # One row, refilled each step: the agent reads a batch during observe() and keeps no reference.
    batch = Transitions(np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1), np.zeros(1, np.int64),
                        np.zeros(1, bool), np.zeros(1, bool), _ENV_ID)
    for t in range(1, steps + 1):
        batch.observations[0] = obs
        action = int(agent.act(batch.observations, explore=True, action_mask=_mask(info))[0])
        next_obs, reward, terminated, truncated, info = env.step(action)
        batch.actions[0], batch.rewards[0], batch.next_observations[0] = action, reward, next_obs
        batch.terminated[0], batch.truncated[0] = terminated, truncated
        agent.observe(batch)
        agent.update()
        if on_step is not None:
            on_step(t)
        total += float(reward)
        obs = next_obs
        if terminated or truncated:
            returns.append(total)
            total = 0.0
            obs, info = env.reset()
    return returns


def evaluate(env: gym.Env, agent: Agent, episodes: int, *, seed: int) -> np.ndarray:
    """Undiscounted returns of the greedy policy (``explore=False``) over ``episodes``."""
    returns = np.zeros(episodes)
    obs, info = env.reset(seed=seed)
    for i in range(episodes):
        done = False
        while not done:
            action = int(agent.act(np.array([obs]), explore=False, action_mask=_mask(info))[0])
            obs, reward, terminated, truncated, info = env.step(action)
            returns[i] += float(reward)
            done = terminated or truncated
        obs, info = env.reset()
    return returns
