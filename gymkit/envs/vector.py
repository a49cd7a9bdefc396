"""Gymnasium's sync vector env and episode statistics, with a leaner step for array spaces.

With one cheap env (CartPole, the book's MDP) Gymnasium's ``SyncVectorEnv`` and
``RecordEpisodeStatistics`` cost more per step than the env itself: a space dispatch to
split the actions and another to stack the observations, a ``deepcopy`` of the stacked
observations, and boolean-mask arithmetic on every step whether or not an episode ended.
The two classes here are subclasses that keep every behaviour (NEXT_STEP autoreset, the
``info`` layout with its ``_key`` masks, ``info["episode"]`` and the queues) and take the
short path where the spaces are plain arrays (Box, Discrete, MultiDiscrete, MultiBinary):
the same observations, rewards, flags and infos, step for step
(``tests/test_vector_env.py`` compares them with Gymnasium's on random and scripted envs).
Any other space, or another autoreset mode, uses Gymnasium's own code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.spaces import Box, Discrete, MultiBinary, MultiDiscrete
from gymnasium.vector import AutoresetMode

_ARRAY_SPACES = (Box, Discrete, MultiDiscrete, MultiBinary)


class LeanSyncVectorEnv(gym.vector.SyncVectorEnv):
    """``SyncVectorEnv`` with NEXT_STEP autoreset whose step skips the generic space code
    when observations and actions are plain arrays."""

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]) -> None:
        super().__init__(env_fns, autoreset_mode=AutoresetMode.NEXT_STEP)
        self._lean = (isinstance(self.single_observation_space, _ARRAY_SPACES)
                      and isinstance(self.single_action_space, _ARRAY_SPACES))

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._lean:
            return super().step(actions)
        if len(actions) != self.num_envs:
            raise ValueError(f"{len(actions)} actions for {self.num_envs} envs")
        infos: dict[str, Any] = {}
        for i, env in enumerate(self.envs):
            if self._autoreset_envs[i]:
                self._env_obs[i], env_info = env.reset()
                self._rewards[i] = 0.0
                self._terminations[i] = False
                self._truncations[i] = False
            else:
                (self._env_obs[i], self._rewards[i], self._terminations[i], self._truncations[i],
                 env_info) = env.step(actions[i])
            if env_info:  # an empty info adds nothing (VectorEnv._add_info)
                infos = self._add_info(infos, env_info, i)
        np.stack(self._env_obs, axis=0, out=self._observations)
        self._autoreset_envs = np.logical_or(self._terminations, self._truncations)
        return (self._observations.copy() if self.copy else self._observations, self._rewards.copy(),
                self._terminations.copy(), self._truncations.copy(), infos)


class EpisodeStatistics(gym.wrappers.vector.RecordEpisodeStatistics):
    """``RecordEpisodeStatistics`` whose NEXT_STEP bookkeeping does no masked arithmetic on
    the steps that follow no episode end (most of them)."""

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        if self._autoreset_mode != AutoresetMode.NEXT_STEP:
            return super().step(actions)
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        if not isinstance(infos, dict):
            raise TypeError(f"vector RecordEpisodeStatistics needs a dict info, got {type(infos)}")
        prev = self.prev_dones
        if prev.any():
            live = ~prev
            self.episode_returns[prev] = 0
            self.episode_returns[live] += rewards[live]
            self.episode_lengths[prev] = 0
            self.episode_lengths[live] += 1
            self.episode_start_times[prev] = time.perf_counter()
        else:
            self.episode_returns += rewards
            self.episode_lengths += 1
        self.prev_dones = dones = np.logical_or(terminations, truncations)
        if dones.any():
            self._record(dones, infos)
        return observations, rewards, terminations, truncations, infos

    def _record(self, dones: np.ndarray, infos: dict[str, Any]) -> None:
        """What Gymnasium's wrapper adds at an episode end: ``info[key]`` and the queues."""
        key = self._stats_key
        if key in infos or f"_{key}" in infos:
            raise ValueError(f"Attempted to add episode stats with key '{key}' but this key already "
                             f"exists in info: {list(infos.keys())}")
        episode_time_length = np.round(time.perf_counter() - self.episode_start_times, 6)
        infos[key] = {"r": np.where(dones, self.episode_returns, 0.0),
                      "l": np.where(dones, self.episode_lengths, 0),
                      "t": np.where(dones, episode_time_length, 0.0)}
        infos[f"_{key}"] = dones
        self.episode_count += np.sum(dones)
        ended = np.flatnonzero(dones)
        self.time_queue.extend(episode_time_length[ended])
        self.return_queue.extend(self.episode_returns[ended])
        self.length_queue.extend(self.episode_lengths[ended])
