"""SkipStart: the book's skip_start no-ops after each reset."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from gymkit.envs.atari import register_atari_envs
from gymkit.errors import ConfigError, EnvError
from gymkit.wrappers.skip_start import SkipStart


class CountingEnv(gym.Env):
    """Observation = steps since reset; episode k (from 0) lasts lengths[k] steps (then the last one)."""

    def __init__(self, lengths=(100,)):
        self.observation_space = gym.spaces.Box(0, 10_000, (1,), np.int64)
        self.action_space = gym.spaces.Discrete(2)
        self.lengths = list(lengths)
        self.episodes = -1
        self.t = 0
        self.actions: list[int] = []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episodes += 1
        self.t = 0
        return np.array([0]), {"episode": self.episodes}

    def step(self, action):
        self.actions.append(int(action))
        self.t += 1
        length = self.lengths[min(self.episodes, len(self.lengths) - 1)]
        return np.array([self.t]), 1.0, self.t >= length, False, {"episode": self.episodes}


def test_skips_with_noops():
    env = SkipStart(CountingEnv(), skip_start=7)
    obs, info = env.reset(seed=0)
    assert obs[0] == 7 and info["skip_start_reward"] == 7.0
    assert env.unwrapped.actions == [0] * 7
    obs, reward, *_ = env.step(1)
    assert obs[0] == 8 and reward == 1.0  # the agent's own rewards are untouched


def test_zero_skip_is_a_plain_reset():
    env = SkipStart(CountingEnv(), skip_start=0)
    obs, info = env.reset(seed=0)
    assert obs[0] == 0 and info["skip_start_reward"] == 0.0


def test_episode_ending_during_skip_resets_again():
    env = SkipStart(CountingEnv(lengths=(3, 5, 50)), skip_start=10)
    obs, info = env.reset(seed=0)
    # Episodes 0 (3 steps) and 1 (5 steps) end inside the skip; episode 2 gets its 10 no-ops.
    assert info["episode"] == 2 and obs[0] == 10
    assert info["skip_start_reward"] == 10.0
    assert env.unwrapped.actions == [0] * (3 + 5 + 10)


def test_gives_up_when_every_episode_is_shorter_than_the_skip():
    env = SkipStart(CountingEnv(lengths=(5,)), skip_start=10, max_resets=4)
    with pytest.raises(EnvError, match="lower skip_start"):
        env.reset(seed=0)
    assert env.unwrapped.episodes == 4


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="skip_start"):
        SkipStart(CountingEnv(), skip_start=-1)
    with pytest.raises(ConfigError, match="noop_action"):
        SkipStart(CountingEnv(), noop_action=5)


def test_vector_env_autoreset_skips_again():
    envs = gym.vector.SyncVectorEnv([lambda: SkipStart(CountingEnv(lengths=(12,)), skip_start=10)])
    obs, _ = envs.reset(seed=0)
    assert obs[0, 0] == 10
    obs, *_ = envs.step(np.array([1]))
    obs, _, terminated, *_ = envs.step(np.array([1]))
    assert terminated[0] and obs[0, 0] == 12
    obs, *_ = envs.step(np.array([1]))  # NEXT_STEP autoreset: reset goes through SkipStart
    assert obs[0, 0] == 10


def test_mspacman_skips_360_frames_deterministically():
    register_atari_envs()
    env = SkipStart(gym.make("ALE/MsPacman-v5"), skip_start=90)
    first, info = env.reset(seed=3)
    assert info["episode_frame_number"] == 90 * 4  # v5 repeats each action 4 frames
    # She starts moving after ~65 no-op steps on v5, so the book's 90 skips some pellets.
    assert info["skip_start_reward"] > 0
    again, _ = env.reset(seed=3)
    assert np.array_equal(first, again)
