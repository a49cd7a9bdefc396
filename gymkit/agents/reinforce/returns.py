"""Action scores for REINFORCE: discounted returns, normalised across a batch of episodes.

The book's two functions (credit assignment, Figure 16-6) and the padded, vectorised form
the agent uses on a whole batch of episodes at once. NumPy only: no TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def discount_rewards(rewards: Sequence[float] | np.ndarray, discount_rate: float) -> np.ndarray:
    """Sum of the discounted rewards that follow each step (the book's ``discount_rewards``).

    Computed backwards: ``G_t = r_t + discount_rate * G_{t+1}``.

    Args:
        rewards: the raw rewards of one episode.
        discount_rate: the discount rate ``r`` (often written gamma).

    Returns:
        One score per step, as float64.

    Example:
        >>> discount_rewards([10, 0, -50], discount_rate=0.8)
        array([-22., -40., -50.])
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    discounted = np.empty(len(rewards))
    cumulative = 0.0
    for step in reversed(range(len(rewards))):
        cumulative = rewards[step] + cumulative * discount_rate
        discounted[step] = cumulative
    return discounted


def discount_and_normalize_rewards(
    all_rewards: Sequence[Sequence[float] | np.ndarray], discount_rate: float
) -> list[np.ndarray]:
    """Discount each episode's rewards, then standardise all scores together.

    The book's ``discount_and_normalize_rewards``, with its slip fixed (it called
    ``discount_rewards(rewards)`` without the discount rate). The mean and (population)
    standard deviation are taken over every step of every episode, so a bad episode's
    actions all score negative and a good one's positive. When every score is equal
    (std 0) the scores are all 0 instead of the book's division by zero.

    Args:
        all_rewards: the raw rewards of several episodes.
        discount_rate: the discount rate.

    Returns:
        One array of normalised scores per episode.

    Example:
        >>> [s.round(4) for s in discount_and_normalize_rewards([[10, 0, -50], [10, 20]], 0.8)]
        [array([-0.2844, -0.866 , -1.1891]), array([1.2667, 1.0728])]
    """
    all_discounted = [discount_rewards(rewards, discount_rate) for rewards in all_rewards]
    flat = np.concatenate(all_discounted)
    mean, std = flat.mean(), flat.std()
    std = std if std > 0 else 1.0
    return [(discounted - mean) / std for discounted in all_discounted]


def padded_discounted_returns(
    rewards: np.ndarray,
    lengths: np.ndarray,
    discount_rate: float,
    bootstrap: np.ndarray | None = None,
) -> np.ndarray:
    """``discount_rewards`` on a padded batch, vectorised over episodes.

    Args:
        rewards: shape ``(B, T)``, zero beyond each episode's length.
        lengths: shape ``(B,)``, the number of real steps of each episode.
        discount_rate: the discount rate.
        bootstrap: optional ``(B,)`` value of the state after each episode's last step
            (``V(s_T)`` for a truncated episode, 0 for a terminated one), so that
            ``G_t = sum_k r^k r_{t+k} + r^(T-t) V(s_T)``.

    Returns:
        Shape ``(B, T)`` returns, 0 on padding.
    """
    batch, horizon = rewards.shape
    returns = np.zeros((batch, horizon), dtype=np.float64)
    steps = np.arange(horizon)
    # G after the last real step is the bootstrap value; it is carried backwards from there.
    cumulative = np.zeros(batch) if bootstrap is None else np.asarray(bootstrap, np.float64).copy()
    for t in reversed(steps):
        live = t < lengths
        cumulative = np.where(live, rewards[:, t] + discount_rate * cumulative, cumulative)
        returns[:, t] = np.where(live, cumulative, 0.0)
    return returns
