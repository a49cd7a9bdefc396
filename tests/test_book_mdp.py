"""gymkit/BookMDP-v0: Figure 16-8's MDP as a Gymnasium env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gymkit  # noqa: F401 - registers the env
from gymkit.envs.book_mdp import R, T, possible_actions


def test_passes_gymnasiums_env_checker():
    env = gym.make("gymkit/BookMDP-v0")
    check_env(env.unwrapped, skip_render_check=True)


def test_exposes_the_model_for_planning_agents():
    env = gym.make("gymkit/BookMDP-v0").unwrapped
    np.testing.assert_array_equal(np.nan_to_num(env.T, nan=-1), np.nan_to_num(T, nan=-1))
    np.testing.assert_array_equal(np.nan_to_num(env.R, nan=-1), np.nan_to_num(R, nan=-1))
    assert env.possible_actions == possible_actions == [[0, 1, 2], [0, 2], [1]]


def test_action_mask_in_info_follows_the_state():
    env = gym.make("gymkit/BookMDP-v0")
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [1, 1, 1]
    env.unwrapped.state = 2
    _, _, _, _, info = env.step(1)
    assert info["action_mask"].tolist() == [[1, 1, 1], [1, 0, 1], [0, 1, 0]][env.unwrapped.state]


def test_impossible_action_is_a_clear_error():
    env = gym.make("gymkit/BookMDP-v0")
    env.reset(seed=0)
    env.unwrapped.state = 1
    with pytest.raises(ValueError, match=r"action 1 is impossible in state 1.*allowed actions there are \[0, 2\]"):
        env.step(1)


def test_truncates_at_1000_steps_and_never_terminates():
    env = gym.make("gymkit/BookMDP-v0")
    obs, info = env.reset(seed=3)
    rng = np.random.default_rng(3)
    for t in range(1000):  # noqa: B007 - t is checked after the loop
        obs, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        assert not terminated
    assert truncated and t == 999


@pytest.mark.parametrize("s, a", [(s, a) for s, acts in enumerate(possible_actions) for a in acts])
def test_empirical_transitions_match_T_and_R(s, a):
    env = gym.make("gymkit/BookMDP-v0").unwrapped
    env.reset(seed=100 + 10 * s + a)
    n = 20_000
    counts = np.zeros(3)
    for _ in range(n):
        env.state = s
        sp, reward, *_ = env.step(a)
        counts[sp] += 1
        assert reward == R[s, a, sp]
    freq = counts / n
    # Binomial standard error is at most sqrt(0.25 / n) = 0.0035; allow 5 of them.
    np.testing.assert_allclose(freq, T[s, a], atol=0.018)


def test_steps_draw_what_generator_choice_draws():
    """The step's sampler is numpy's ``choice(n, p=T[s, a])`` without its checks: from the same
    generator, the same next states (and the generator ends in the same state)."""
    env = gym.make("gymkit/BookMDP-v0").unwrapped
    env.reset(seed=3)
    twin = np.random.default_rng()
    twin.bit_generator.state = env.np_random.bit_generator.state
    rng = np.random.default_rng(0)
    state = 0
    for _ in range(5000):
        a = int(rng.choice(env.possible_actions[state]))
        expected = int(twin.choice(env.n_states, p=env.T[state, a]))
        state, *_ = env.step(a)
        assert state == expected
    assert env.np_random.bit_generator.state == twin.bit_generator.state
