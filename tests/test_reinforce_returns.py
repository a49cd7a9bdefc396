"""The book's action scores (Figure 16-6) and their padded, vectorised form. No TensorFlow."""

import subprocess
import sys

import numpy as np
import pytest

from gymkit.agents.reinforce import discount_and_normalize_rewards, discount_rewards
from gymkit.agents.reinforce.returns import padded_discounted_returns


def test_discount_rewards_matches_the_book():
    # 10 + 0.8 * 0 + 0.8**2 * (-50) = -22 (Figure 16-6)
    np.testing.assert_allclose(discount_rewards([10, 0, -50], discount_rate=0.8), [-22.0, -40.0, -50.0])


def test_discount_and_normalize_rewards_matches_the_book():
    scores = discount_and_normalize_rewards([[10, 0, -50], [10, 20]], discount_rate=0.8)
    np.testing.assert_allclose(scores[0], [-0.28435071, -0.86597718, -1.18910299], atol=1e-8)
    np.testing.assert_allclose(scores[1], [1.26665318, 1.07277777], atol=1e-8)
    # Standardised over every step of both episodes (population std, as np.std).
    flat = np.concatenate(scores)
    assert flat.mean() == pytest.approx(0.0, abs=1e-12)
    assert flat.std() == pytest.approx(1.0)


def test_discount_and_normalize_rewards_with_equal_scores_gives_zeros_not_nan():
    scores = discount_and_normalize_rewards([[1.0], [1.0]], discount_rate=0.9)
    np.testing.assert_array_equal(np.concatenate(scores), [0.0, 0.0])


def test_discount_rate_zero_and_one():
    np.testing.assert_allclose(discount_rewards([1, 2, 3], 0.0), [1, 2, 3])
    np.testing.assert_allclose(discount_rewards([1, 2, 3], 1.0), [6, 5, 3])


def test_padded_returns_equal_discount_rewards_per_episode():
    rng = np.random.default_rng(0)
    episodes = [rng.normal(size=n) for n in (5, 1, 9, 3)]
    lengths = np.array([len(e) for e in episodes])
    rewards = np.zeros((len(episodes), lengths.max()))
    for b, e in enumerate(episodes):
        rewards[b, : len(e)] = e
    returns = padded_discounted_returns(rewards, lengths, 0.95)
    for b, e in enumerate(episodes):
        np.testing.assert_allclose(returns[b, : len(e)], discount_rewards(e, 0.95))
        assert not returns[b, len(e):].any()  # padding stays 0


def test_padded_returns_bootstrap_from_the_cut_state():
    # Truncated after 3 rewards of 1 with V(s_T) = 10, discount 0.5:
    # G_2 = 1 + 0.5 * 10 = 6, G_1 = 1 + 0.5 * 6 = 4, G_0 = 1 + 0.5 * 4 = 3.
    rewards = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    returns = padded_discounted_returns(rewards, np.array([3, 1]), 0.5, bootstrap=np.array([10.0, 0.0]))
    np.testing.assert_allclose(returns, [[3.0, 4.0, 6.0], [1.0, 0.0, 0.0]])


def test_importing_the_agent_package_does_not_import_tensorflow():
    code = (
        "import sys, gymkit, gymkit.agents.reinforce as r; "
        "r.discount_rewards([1], 0.9); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported TF'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
