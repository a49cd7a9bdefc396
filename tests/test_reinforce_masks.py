"""REINFORCE with action masks: the update differentiates log pi over the allowed actions,
the distribution the agent acted with; masks travel from the env through the loop, and
survive a checkpoint."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym
import numpy as np
import pytest

import gymkit
from gymkit.agents.base import Transitions

tf = pytest.importorskip("tensorflow")

BOX4 = gym.spaces.Box(-5.0, 5.0, shape=(4,), dtype=np.float32)
PLAIN = {"hidden_sizes": [8], "optimizer": "sgd", "learning_rate": 1.0, "baseline": "none",
         "normalize_scores": False, "entropy_coef": 0.0, "discount_rate": 1.0, "episodes_per_update": 2}


def make(config=None, seed=0, n_actions=3):
    return gymkit.make_agent("reinforce", BOX4, gym.spaces.Discrete(n_actions), {**PLAIN, **(config or {})},
                             seed=seed)


def episodes(seed=0, lengths=(3, 5), n_actions=3):
    """(obs (n+1, 4), actions (n,), rewards (n,), masks (n, n_actions)) with each taken action allowed."""
    rng = np.random.default_rng(seed)
    out = []
    for n in lengths:
        obs = rng.normal(size=(n + 1, 4)).astype(np.float32)
        actions = rng.integers(n_actions, size=n)
        masks = rng.random((n, n_actions)) < 0.5
        masks[np.arange(n), actions] = True
        out.append((obs, actions, rng.normal(size=n), masks))
    return out


def feed(agent, eps, with_masks=True, steps=None):
    """Each episode on its own sub-env, stepped together; ``steps`` stops early (open episodes)."""
    t = 0
    while any(t < len(a) for _, a, _, _ in eps) and (steps is None or t < steps):
        rows = [(obs[t], a[t], r[t], obs[t + 1], t == len(a) - 1, False, i, m[t])
                for i, (obs, a, r, m) in enumerate(eps) if t < len(a)]
        cols = [np.asarray(c) for c in zip(*rows, strict=True)]
        agent.observe(Transitions(*cols[:7], cols[7] if with_masks else None))
        t += 1
    return t


def weights(agent):
    return [np.array(w) for w in agent.learner.policy.trainable_variables]


def test_a_step_with_one_allowed_action_teaches_nothing():
    """pi(a|s) = 1 whatever the weights when a is the only allowed action: zero gradient."""
    agent, plain = make(), make()
    eps = episodes()
    for _, actions, _, masks in eps:
        masks[:] = False
        masks[np.arange(len(actions)), actions] = True
    before = weights(agent)
    feed(agent, eps)
    agent.update()
    for w0, w1 in zip(before, weights(agent), strict=True):
        np.testing.assert_array_equal(w0, w1)
    feed(plain, eps, with_masks=False)  # the unmasked softmax would have moved them
    plain.update()
    assert any(not np.array_equal(w0, w1) for w0, w1 in zip(before, weights(plain), strict=True))


def test_update_is_the_gradient_of_log_pi_over_the_allowed_actions():
    """One SGD step (lr 1) equals minus the hand-made gradient of
    -(1/N) sum_t G_t log softmax_allowed(logits)[a_t]."""
    agent = make()
    eps = episodes(seed=3)
    policy = agent.learner.policy
    obs = np.concatenate([o[:-1] for o, _, _, _ in eps])
    actions = np.concatenate([a for _, a, _, _ in eps])
    masks = np.concatenate([m for _, _, _, m in eps])
    returns = np.concatenate([np.cumsum(r[::-1])[::-1] for _, _, r, _ in eps])  # discount 1
    with tf.GradientTape() as tape:
        logits = policy(tf.constant(obs))
        logits = tf.where(tf.constant(masks), logits, -np.inf * tf.ones_like(logits))
        chosen = tf.gather(tf.nn.log_softmax(logits), actions, batch_dims=1)
        loss = -tf.reduce_mean(tf.constant(returns, tf.float32) * chosen)
    grads = tape.gradient(loss, policy.trainable_variables)
    expected = [np.array(w) - np.array(g) for w, g in zip(policy.trainable_variables, grads, strict=True)]
    # the probabilities the agent acts with are the same masked softmax
    probs = agent.policy_probabilities(obs, masks)
    np.testing.assert_allclose(np.log(probs[np.arange(len(actions)), actions]), chosen.numpy(), rtol=1e-5,
                               atol=1e-6)
    feed(agent, eps)
    agent.update()
    for got, want in zip(weights(agent), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_masks_of_unfinished_episodes_survive_a_checkpoint(tmp_path):
    eps = episodes(seed=5, lengths=(4, 6))
    straight, resumed, forgetful = make(seed=1), make(seed=1), make(seed=1)
    t = feed(straight, eps, steps=2)
    straight.save_state(tmp_path)
    resumed.load_state(tmp_path)
    forgetful.load_state(tmp_path)
    for episode in forgetful._open.values():  # a checkpoint that lost the masks
        episode.masks = [None] * len(episode.masks)
    rest = [(o[t:], a[t:], r[t:], m[t:]) for o, a, r, m in eps]  # the same steps, from step t
    for agent in (straight, resumed, forgetful):
        feed(agent, rest)
        agent.update()
    for w0, w1 in zip(weights(straight), weights(resumed), strict=True):
        np.testing.assert_array_equal(w0, w1)
    assert any(not np.array_equal(w0, w1) for w0, w1 in zip(weights(straight), weights(forgetful), strict=True))


def test_the_loop_hands_the_env_masks_to_the_update():
    """The book MDP (one-hot through `flatten`) raises on an impossible action and marks the
    allowed ones in info["action_mask"]: every stored step carries its state's mask."""
    from gymkit.envs.book_mdp import possible_actions
    from gymkit.loop import train

    result = train("reinforce", "gymkit/BookMDP-v0", wrappers=["flatten"], steps=300, num_envs=2,
                   eval_episodes=0, progress=False, config={"episodes_per_update": 4})
    agent = result.agent
    stored = [*agent._open.values(), *agent._complete]
    assert sum(len(e.actions) for e in stored) == 300  # 1,000-step episodes: none complete yet
    for episode in stored:
        for obs, action, mask in zip(episode.observations, episode.actions, episode.masks, strict=True):
            allowed = possible_actions[int(np.argmax(obs))]
            assert mask is not None and np.flatnonzero(mask).tolist() == allowed
            assert action in allowed
