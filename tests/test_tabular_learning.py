"""Known-answer learning tests: Q-Learning against Q-Value Iteration on FrozenLake-v1 and Taxi-v4.

Each trains the shipped preset's configuration for its number of steps with one fixed seed
(seed 0) and compares the greedy policy with the planning preset's. Minutes, so marked slow;
bench/tabular_exploration.py runs the same comparison over more seeds.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gymkit
from gymkit.config import load_preset
from tests.tabular_driver import drive, evaluate

pytestmark = pytest.mark.slow


def trained(preset_name: str, env: gym.Env, seed: int = 0):
    preset = load_preset(preset_name)
    agent = gymkit.make_agent(preset.agent, env.observation_space, env.action_space, preset.config, seed=seed)
    if preset.agent.endswith("iteration"):
        agent.bind_env(env)
    else:
        drive(env, agent, preset.train["steps"], seed=seed)
    return agent


def test_frozenlake_q_learning_succeeds_as_often_as_the_optimal_policy():
    env = gym.make("FrozenLake-v1", is_slippery=True)
    planner, learner = trained("q-iteration-frozenlake", env), trained("q-learning-frozenlake", env)
    optimal = evaluate(env, planner, 1000, seed=1000).mean()
    learnt = evaluate(env, learner, 1000, seed=1000).mean()
    assert 0.70 < optimal < 0.78  # exact value of this policy within FrozenLake's 100 steps: 0.740
    assert learnt >= optimal - 0.05, (learnt, optimal)


def _greedy_return(P, policy: np.ndarray, state: int, max_steps: int = 200) -> float:
    """The return of a deterministic policy in deterministic Taxi, rolled out on its P table."""
    total = 0.0
    for _ in range(max_steps):
        ((_, state, reward, terminated),) = P[state][int(policy[state])]
        total += reward
        if terminated:
            break
    return total


def test_taxi_q_learning_reaches_the_optimal_mean_return():
    env = gym.make("Taxi-v4")
    planner, learner = trained("q-iteration-taxi", env), trained("q-learning-taxi", env)
    inner = env.unwrapped
    starts = np.flatnonzero(inner.initial_state_distrib)
    optimal = [_greedy_return(inner.P, planner.Q.argmax(axis=1), s) for s in starts]
    learnt = [_greedy_return(inner.P, learner.Q.argmax(axis=1), s) for s in starts]
    # The optimal mean return over Taxi's 300 start states (uniform): 7.93.
    assert len(starts) == 300 and np.mean(optimal) == pytest.approx(7.93)
    assert learnt == optimal  # optimal from every start state, so optimal on any episode
    sampled = evaluate(env, learner, 1000, seed=1000).mean()
    assert sampled == evaluate(env, planner, 1000, seed=1000).mean()
