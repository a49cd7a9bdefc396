"""VelocityMask: CartPole without its velocities."""

import gymnasium as gym
import numpy as np
import pytest

from gymkit.errors import ConfigError
from gymkit.wrappers import apply_wrappers
from gymkit.wrappers.masking import VelocityMask


def test_keeps_cart_position_and_pole_angle():
    full = gym.make("CartPole-v1")
    masked = VelocityMask(gym.make("CartPole-v1"))
    assert masked.observation_space.shape == (2,)
    np.testing.assert_array_equal(masked.observation_space.high, full.observation_space.high[[0, 2]])
    obs_full, _ = full.reset(seed=5)
    obs, _ = masked.reset(seed=5)
    np.testing.assert_array_equal(obs, obs_full[[0, 2]])
    for _ in range(10):
        obs_full, r_full, *_ = full.step(1)
        obs, r, *_ = masked.step(1)
        np.testing.assert_array_equal(obs, obs_full[[0, 2]])
        assert obs in masked.observation_space and r == r_full


def test_one_observation_cannot_tell_the_velocity():
    # two states with the same positions but opposite velocities look the same
    env = VelocityMask(gym.make("CartPole-v1"))
    env.reset(seed=0)
    env.unwrapped.state = np.array([0.1, 1.0, 0.02, -0.5])
    a = env.observation(np.array(env.unwrapped.state, np.float32))
    b = env.observation(np.array([0.1, -1.0, 0.02, 0.5], np.float32))
    np.testing.assert_array_equal(a, b)


def test_is_named_velocity_mask_and_keeps_dtype_and_seeding():
    env = apply_wrappers(gym.make("CartPole-v1"), ["velocity-mask"])
    assert isinstance(env, VelocityMask)
    a, _ = env.reset(seed=1)
    b, _ = env.reset(seed=1)
    assert a.dtype == np.float32 and a in env.observation_space
    np.testing.assert_array_equal(a, b)
    assert apply_wrappers(gym.make("CartPole-v1"), [{"velocity-mask": {"keep": [1]}}]).observation_space.shape == (1,)


def test_bad_uses_are_config_errors():
    with pytest.raises(ConfigError, match="keep"):
        VelocityMask(gym.make("CartPole-v1"), keep=[4])
    with pytest.raises(ConfigError, match="1-D Box"):
        VelocityMask(gym.make("FrozenLake-v1"))
