"""Known answers for gymkit.tabular_model: the book's Q-Value Iteration figures, P tables, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gymkit  # noqa: F401 - registers gymkit/BookMDP-v0
from gymkit.envs.book_mdp import R, T
from gymkit.errors import EnvError
from gymkit.tabular_model import (
    model_from_arrays,
    model_from_env,
    model_from_transitions,
    policy_evaluation,
    q_value_iteration,
    value_iteration,
)

# The book's printed Q-values (Q-Value Iteration, discount 0.95, 100 iterations).
BOOK_Q = np.array([[21.89498982, 20.80024033, 16.86353093],
                   [1.11669335, -np.inf, 1.17573546],
                   [-np.inf, 53.86946068, -np.inf]])


def book_model():
    return model_from_arrays(T, R)


def test_q_value_iteration_gives_the_books_q_values():
    Q = q_value_iteration(book_model(), discount_rate=0.95, n_iterations=100)
    assert np.array_equal(np.isneginf(Q), np.isneginf(BOOK_Q))  # impossible actions: -inf
    finite = np.isfinite(BOOK_Q)
    np.testing.assert_allclose(Q[finite], BOOK_Q[finite], atol=1e-2)
    assert Q.argmax(axis=1).tolist() == [0, 2, 1]


def test_q_value_iteration_matches_the_books_listing_exactly():
    # The book's loop, written out (Jacobi sweeps over Q_prev); the vectorised sweep must agree.
    possible_actions = [[0, 1, 2], [0, 2], [1]]
    Q = np.full((3, 3), -np.inf)
    for state, actions in enumerate(possible_actions):
        Q[state, actions] = 0.0
    for _ in range(100):
        Q_prev = Q.copy()
        for s in range(3):
            for a in possible_actions[s]:
                Q[s, a] = np.sum([T[s, a, sp] * (R[s, a, sp] + 0.95 * np.max(Q_prev[sp])) for sp in range(3)])
    np.testing.assert_allclose(q_value_iteration(book_model(), 0.95, 100), Q, rtol=1e-12)


def test_discount_0_9_changes_the_best_action_in_state_1():
    Q = q_value_iteration(book_model(), discount_rate=0.9, n_iterations=100)
    assert Q.argmax(axis=1).tolist() == [0, 0, 1]  # s1: stay put rather than go through the fire


def test_value_iteration_agrees_with_q_value_iteration():
    model = book_model()
    V = value_iteration(model, 0.95, n_iterations=2000, tolerance=1e-12)
    Q = q_value_iteration(model, 0.95, n_iterations=2000, tolerance=1e-12)
    np.testing.assert_allclose(V, Q.max(axis=1), atol=1e-9)


def test_tolerance_stops_early_at_the_fixed_point():
    model = book_model()
    Q_tol = q_value_iteration(model, 0.95, n_iterations=100_000, tolerance=1e-10)
    Q_long = q_value_iteration(model, 0.95, n_iterations=3000)
    np.testing.assert_allclose(Q_tol, Q_long, atol=1e-8)


def _naive_q_iteration(P, n_states, n_actions, gamma, n_iterations):
    """Equation 16-3 straight over the toy-text table, one entry at a time."""
    Q = np.zeros((n_states, n_actions))
    for _ in range(n_iterations):
        V = Q.max(axis=1)
        Q = np.array([[sum(p * (r + (0.0 if done else gamma * V[sp])) for p, sp, r, done in P[s][a])
                       for a in range(n_actions)] for s in range(n_states)])
    return Q


@pytest.mark.parametrize("env_id, kwargs", [
    ("FrozenLake-v1", {"is_slippery": True}),
    ("FrozenLake-v1", {"is_slippery": False}),
    ("CliffWalking-v1", {}),
])
def test_toy_text_p_tables_match_a_naive_sweep(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    model = model_from_env(env)
    n_s, n_a = model.n_states, model.n_actions
    np.testing.assert_allclose(model.T.sum(axis=2), 1.0)
    assert model.possible.all()
    expected = _naive_q_iteration(env.unwrapped.P, n_s, n_a, 0.9, 30)
    np.testing.assert_allclose(q_value_iteration(model, 0.9, 30), expected, atol=1e-12)


def test_frozenlake_slips_merge_and_holes_end_the_episode():
    env = gym.make("FrozenLake-v1", is_slippery=True)
    model = model_from_env(env)
    # From the top-left corner, "left" slips left (wall: stay), down, or up (wall: stay):
    # the two stays merge into one entry with probability 2/3.
    assert model.T[0, 0, 0] == pytest.approx(2 / 3) and model.T[0, 0, 4] == pytest.approx(1 / 3)
    # Reaching the goal (15) ends the episode with reward 1; holes (5) end it with 0.
    assert model.done[14, 2, 15] == 1.0 and model.R[14, 2, 15] == 1.0
    assert model.done[1, 1, 5] == 1.0
    Q = q_value_iteration(model, 1.0, 5000, tolerance=1e-12)
    assert np.all(Q[[5, 7, 11, 12, 15]] == 0.0)  # nothing follows a terminal state


def test_missing_or_empty_actions_are_impossible():
    P = {0: {0: [(1.0, 1, 1.0, False)], 1: []}, 1: {0: [(1.0, 1, 0.0, True)]}}
    model = model_from_transitions(P, n_states=2, n_actions=2)
    assert model.possible.tolist() == [[True, False], [True, False]]
    Q = q_value_iteration(model, 0.5, 50)
    assert Q[0, 0] == pytest.approx(1.0) and np.isneginf(Q[:, 1]).all()


def test_policy_evaluation_matches_iterated_bellman_expectation():
    model = book_model()
    policy = model.possible / model.possible.sum(axis=1, keepdims=True)  # uniformly random
    V = policy_evaluation(model, policy, 0.95)
    V_iter = np.zeros(3)
    for _ in range(3000):
        Q = model.expected_reward + 0.95 * (model.continuation @ V_iter).reshape(3, 3)
        V_iter = np.sum(policy * Q, axis=1)
    np.testing.assert_allclose(V, V_iter, atol=1e-9)


class _NoModelEnv(gym.Env):
    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)


def test_an_env_without_a_model_is_refused_with_the_fix():
    with pytest.raises(EnvError, match=r"needs the env's model .*--agent q-learning"):
        model_from_env(_NoModelEnv(), "q-iteration")


def test_a_continuous_env_is_refused_naming_its_spaces():
    with pytest.raises(EnvError, match=r"CartPole-v1 has Box"):
        model_from_env(gym.make("CartPole-v1"), "q-iteration")


def test_bad_arrays_are_refused():
    with pytest.raises(EnvError, match="shape"):
        model_from_arrays(np.zeros((2, 2, 3)), np.zeros((2, 2, 3)))
