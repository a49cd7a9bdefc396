"""Tabular MDP models and the chapter's dynamic programming, in NumPy.

A :class:`TabularModel` holds an MDP as arrays indexed ``[s, a, s']``, the shape of the
book's ``T`` and ``R`` (Figure 16-8). It is read from an env by :func:`model_from_env`,
which understands two forms:

- the book MDP's ``T``/``R`` arrays, with ``nan`` marking impossible actions;
- the ``P[s][a] = [(prob, next_state, reward, terminated), ...]`` tables of Gymnasium's
  toy-text envs (FrozenLake-v1, Taxi-v4, CliffWalking-v1).

The planning algorithms sweep over all states at once::

    Q-Value Iteration (Eq. 16-3):  Q_{k+1}(s, a) = sum_s' T(s, a, s') [R(s, a, s') + gamma * max_a' Q_k(s', a')]
    Value Iteration (Eq. 16-2):    V_{k+1}(s)    = max_a sum_s' T(s, a, s') [R(s, a, s') + gamma * V_k(s')]

A transition that ends the episode (``terminated``) adds its reward but no discounted
future value. Impossible actions get a Q-value of ``-inf``, as in the book.

Example (the book's figures):
    >>> from gymkit.envs.book_mdp import T, R
    >>> Q = q_value_iteration(model_from_arrays(T, R), discount_rate=0.95, n_iterations=100)
    >>> Q.round(1).tolist()
    [[21.9, 20.8, 16.9], [1.1, -inf, 1.2], [-inf, 53.9, -inf]]
    >>> Q.argmax(axis=1).tolist()
    [0, 2, 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import gymnasium as gym
import numpy as np

from gymkit.errors import EnvError


@dataclass(frozen=True, eq=False)
class TabularModel:
    """An MDP with finite states and actions, as arrays.

    Attributes:
        T: transition probabilities ``T[s, a, s']`` (0 for impossible actions).
        R: reward ``R[s, a, s']`` for going from s to s' with action a (0 where T is 0).
        done: fraction of the probability ``T[s, a, s']`` whose transition ends the episode
            (terminated): those transitions earn their reward and nothing after it.
        possible: ``possible[s, a]`` is True where action a can be taken in state s.
    """

    T: np.ndarray
    R: np.ndarray
    done: np.ndarray
    possible: np.ndarray

    @property
    def n_states(self) -> int:
        return int(self.T.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.T.shape[1])

    @cached_property
    def expected_reward(self) -> np.ndarray:
        """``sum_s' T(s, a, s') R(s, a, s')``, shape ``[s, a]``."""
        return np.einsum("ijk,ijk->ij", self.T, self.R)

    @cached_property
    def continuation(self) -> np.ndarray:
        """``T(s, a, s')`` restricted to transitions that do not end the episode, as a
        ``[s * a, s']`` matrix, so that a sweep is one matrix-vector product."""
        return (self.T * (1.0 - self.done)).reshape(self.n_states * self.n_actions, self.n_states)


def model_from_arrays(
    T: np.ndarray, R: np.ndarray, possible_actions: list[list[int]] | None = None
) -> TabularModel:
    """Build a model from the book's ``T`` and ``R`` arrays (``nan`` = impossible action).

    Args:
        T: ``[s, a, s']`` transition probabilities.
        R: ``[s, a, s']`` rewards.
        possible_actions: the book's list of possible actions per state; by default an
            action is possible where its row of ``T`` has no ``nan`` and sums to 1.
    """
    T = np.asarray(T, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    if T.ndim != 3 or T.shape != R.shape or T.shape[0] != T.shape[2]:
        raise EnvError(
            f"T and R must both have shape [s, a, s'] with as many next states as states; got "
            f"T {T.shape} and R {R.shape}"
        )
    if possible_actions is None:
        possible = ~np.isnan(T).any(axis=2) & np.isclose(np.nan_to_num(T).sum(axis=2), 1.0)
    else:
        possible = np.zeros(T.shape[:2], dtype=bool)
        for s, actions in enumerate(possible_actions):
            possible[s, list(actions)] = True
    T = np.where(possible[:, :, None], np.nan_to_num(T), 0.0)
    R = np.where(T > 0, np.nan_to_num(R), 0.0)
    return TabularModel(T, R, np.zeros_like(T), possible)


def model_from_transitions(P: Any, n_states: int, n_actions: int) -> TabularModel:
    """Build a model from a toy-text table ``P[s][a] = [(prob, next_state, reward, terminated)]``.

    Several entries may lead to the same next state (FrozenLake's slips into a wall):
    their probabilities add up and their rewards are averaged, weighted by probability.
    An action missing from ``P[s]`` or with no entries is impossible in ``s``.
    """
    T = np.zeros((n_states, n_actions, n_states))
    TR = np.zeros_like(T)  # sum of prob * reward
    T_done = np.zeros_like(T)  # sum of prob over terminating entries
    possible = np.zeros((n_states, n_actions), dtype=bool)
    for s in range(n_states):
        row = P.get(s, {}) if isinstance(P, dict) else P[s]
        for a in range(n_actions):
            entries = row.get(a, []) if isinstance(row, dict) else row[a]
            for prob, sp, reward, terminated in entries:
                T[s, a, sp] += prob
                TR[s, a, sp] += prob * reward
                T_done[s, a, sp] += prob * bool(terminated)
            possible[s, a] = len(entries) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        R = np.where(T > 0, TR / T, 0.0)
        done = np.where(T > 0, T_done / T, 0.0)
    return TabularModel(T, R, done, possible)


def model_from_env(env: gym.Env, agent: str = "this agent") -> TabularModel:
    """Read the model of ``env.unwrapped``: ``T``/``R`` arrays or a toy-text ``P`` table.

    Raises:
        EnvError: the env exposes neither, or its model does not match its spaces.
    """
    inner = env.unwrapped
    name = env.spec.id if env.spec is not None else type(inner).__name__
    obs_space, act_space = inner.observation_space, inner.action_space
    if not (isinstance(obs_space, gym.spaces.Discrete) and isinstance(act_space, gym.spaces.Discrete)):
        raise EnvError(
            f"agent '{agent}' plans on a table of states and actions, but {name} has "
            f"{obs_space} and {act_space}: use an env with Discrete spaces"
        )
    n_states, n_actions = int(obs_space.n), int(act_space.n)
    if getattr(inner, "T", None) is not None and getattr(inner, "R", None) is not None:
        model = model_from_arrays(inner.T, inner.R, getattr(inner, "possible_actions", None))
    elif getattr(inner, "P", None) is not None:
        model = model_from_transitions(inner.P, n_states, n_actions)
    else:
        raise EnvError(
            f"agent '{agent}' needs the env's model (T and R arrays, or a toy-text P table on "
            f"env.unwrapped), but {name} exposes neither: learn from experience with "
            "--agent q-learning, or plan on gymkit/BookMDP-v0, FrozenLake-v1, Taxi-v4 or "
            "CliffWalking-v1"
        )
    if model.T.shape[:2] != (n_states, n_actions):
        raise EnvError(
            f"the model of {name} has {model.n_states} states and {model.n_actions} actions but "
            f"its spaces say {n_states} and {n_actions}: fix the env's T/R or P"
        )
    return model


def _state_values(Q: np.ndarray) -> np.ndarray:
    """``max_a Q(s, a)`` over possible actions; 0 for a state with none (nothing follows)."""
    V = Q.max(axis=1)
    return np.where(np.isfinite(V), V, 0.0)


def _max_change(Q: np.ndarray, Q_prev: np.ndarray, possible: np.ndarray) -> float:
    return float(np.max(np.abs(Q[possible] - Q_prev[possible]), initial=0.0))


def q_backup(model: TabularModel, V: np.ndarray, discount_rate: float) -> np.ndarray:
    """One sweep of Equation 16-3 for all (s, a) at once, given ``V(s') = max_a' Q_k(s', a')``.

    ``Q(s, a) = sum_s' T R + gamma * sum_s' T (1 - done) V(s')``; -inf for impossible actions.
    """
    future = (model.continuation @ V).reshape(model.n_states, model.n_actions)
    Q = model.expected_reward + discount_rate * future
    return np.where(model.possible, Q, -np.inf)


def q_value_iteration(
    model: TabularModel, discount_rate: float, n_iterations: int, tolerance: float = 0.0
) -> np.ndarray:
    """Q-Value Iteration (Equation 16-3), starting from Q = 0 for every possible action.

    Args:
        model: the MDP.
        discount_rate: gamma.
        n_iterations: the most sweeps to run (the book runs 100).
        tolerance: stop early once no Q-value moves by more than this (0: run them all).

    Returns:
        ``Q[s, a]``, with ``-inf`` for impossible actions.
    """
    Q = np.where(model.possible, 0.0, -np.inf)
    for _ in range(n_iterations):
        Q_prev = Q
        Q = q_backup(model, _state_values(Q_prev), discount_rate)
        if tolerance > 0 and _max_change(Q, Q_prev, model.possible) <= tolerance:
            break
    return Q


def value_iteration(
    model: TabularModel, discount_rate: float, n_iterations: int, tolerance: float = 0.0
) -> np.ndarray:
    """Value Iteration (Equation 16-2), starting from V = 0.

    Returns:
        ``V[s]``, the estimated optimal state values.
    """
    V = np.zeros(model.n_states)
    for _ in range(n_iterations):
        V_prev = V
        V = _state_values(q_backup(model, V_prev, discount_rate))
        if tolerance > 0 and np.max(np.abs(V - V_prev), initial=0.0) <= tolerance:
            break
    return V


def policy_evaluation(model: TabularModel, policy: np.ndarray, discount_rate: float) -> np.ndarray:
    """Exact state values ``V^pi`` of a stochastic policy, solving ``(I - gamma P_pi) V = r_pi``.

    This is what TD Learning (Equation 16-4) estimates from samples when it follows ``pi``.

    Args:
        model: the MDP.
        policy: ``pi[s, a]``, the probability of choosing a in s (rows sum to 1).
        discount_rate: gamma; must be below 1 unless every episode ends.
    """
    policy = np.asarray(policy, dtype=np.float64)
    r_pi = np.sum(policy * model.expected_reward, axis=1)
    cont = model.continuation.reshape(model.n_states, model.n_actions, model.n_states)
    P_pi = np.einsum("sa,sat->st", policy, cont)
    return np.linalg.solve(np.eye(model.n_states) - discount_rate * P_pi, r_pi)
