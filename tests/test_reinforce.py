"""The REINFORCE agent: the batched update against the book's per-step algorithm, acting,
episode assembly from vector envs, seeding, encoders and saving."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym
import numpy as np
import pytest

import gymkit
from gymkit.agent_files import load_agent
from gymkit.agents.base import Transitions
from gymkit.agents.reinforce import (
    ReinforceAgent,
    ReinforceConfig,
    discount_and_normalize_rewards,
    discount_rewards,
)
from gymkit.errors import ConfigError, SpaceError

tf = pytest.importorskip("tensorflow")

BOX4 = gym.spaces.Box(-5.0, 5.0, shape=(4,), dtype=np.float32)


def make(config=None, seed=0, obs_space=BOX4, n_actions=2, **kwargs):
    action_space = gym.spaces.Discrete(n_actions, **kwargs)
    return gymkit.make_agent("reinforce", obs_space, action_space, config or {}, seed=seed)


def fake_episodes(rng, lengths, n_actions, obs_dim=4, random_rewards=True):
    """Episodes as lists of (obs, action, reward), last step terminated."""
    episodes = []
    for n in lengths:
        obs = rng.normal(size=(n + 1, obs_dim)).astype(np.float32)
        actions = rng.integers(n_actions, size=n)
        rewards = rng.normal(size=n) if random_rewards else np.ones(n)
        episodes.append((obs, actions, rewards))
    return episodes


def feed(agent, episodes, truncate=False):
    """Play the episodes as two interleaved sub-envs (env ids 0 and 1) into observe()."""
    queues = {0: list(episodes[0::2]), 1: list(episodes[1::2])}
    cursors = {0: 0, 1: 0}
    while any(queues.values()):
        rows = []
        for env_id in (0, 1):
            if not queues[env_id]:
                continue
            obs, actions, rewards = queues[env_id][0]
            t = cursors[env_id]
            last = t == len(actions) - 1
            rows.append((obs[t], actions[t], rewards[t], obs[t + 1], last and not truncate,
                         last and truncate, env_id))
            cursors[env_id] = 0 if last else t + 1
            if last:
                queues[env_id].pop(0)
        cols = list(zip(*rows, strict=True))
        agent.observe(Transitions(*(np.asarray(c) for c in cols)))


def weights(model):
    return [np.array(w) for w in model.trainable_variables]


# -- the update -------------------------------------------------------------------------


@pytest.mark.parametrize("n_actions", [2, 3])
def test_batched_update_equals_the_books_per_step_gradient_averaging(n_actions):
    """One tf.function over the padded batch == per-step gradients * score, averaged."""
    config = {"hidden_sizes": [4], "activation": "elu", "optimizer": "sgd", "learning_rate": 1.0,
              "baseline": "none", "normalize_scores": True, "discount_rate": 0.95,
              "episodes_per_update": 4}
    agent = make(config, seed=3, n_actions=n_actions)
    policy = agent.learner.policy
    rng = np.random.default_rng(1)
    episodes = fake_episodes(rng, [7, 3, 12, 5], n_actions)

    # The book: at each step, the gradient of the cross entropy of the chosen action ...
    all_gradients = []
    for obs, actions, _ in episodes:
        per_episode = []
        for t, a in enumerate(actions):
            with tf.GradientTape() as tape:
                logits = policy(obs[t][None])
                xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[int(a)], logits=logits)
            per_episode.append([g.numpy() for g in tape.gradient(xent, policy.trainable_variables)])
        all_gradients.append(per_episode)
    # ... multiplied by the action's normalised score, averaged over all steps of all episodes.
    all_scores = discount_and_normalize_rewards([r for _, _, r in episodes], 0.95)
    mean_gradients = [
        np.mean([score * all_gradients[g][s][v] for g, scores in enumerate(all_scores)
                 for s, score in enumerate(scores)], axis=0)
        for v in range(len(policy.trainable_variables))
    ]

    before = weights(policy)
    feed(agent, episodes)
    metrics = agent.update()
    after = weights(policy)
    assert metrics["batch_episodes"] == 4
    for w0, w1, g in zip(before, after, mean_gradients, strict=True):
        np.testing.assert_allclose(w0 - w1, g, atol=1e-5)  # SGD, lr 1: the step is the gradient
    assert np.abs(np.concatenate([g.ravel() for g in mean_gradients])).max() > 1e-3


def test_update_waits_for_enough_complete_episodes_and_uses_all_of_them():
    agent = make({"episodes_per_update": 3, "hidden_sizes": [8]})
    episodes = fake_episodes(np.random.default_rng(0), [4, 6, 5, 3], 2, random_rewards=False)
    feed(agent, episodes[:2])
    assert agent.update() == {}
    feed(agent, episodes[2:])
    metrics = agent.update()
    assert metrics["batch_episodes"] == 4
    assert metrics["batch_return_mean"] == pytest.approx(np.mean([4, 6, 5, 3]))
    assert set(metrics) >= {"loss", "entropy", "grad_norm", "value_loss", "updates"}
    assert agent.update() == {}
    assert (agent.episodes, agent.steps, agent.updates) == (4, 18, 1)


def test_observe_assembles_interleaved_episodes_per_env():
    agent = make({"episodes_per_update": 10})
    rng = np.random.default_rng(5)
    episodes = fake_episodes(rng, [3, 6, 2], 2)
    feed(agent, episodes)
    # Env 0 plays episodes 0 then 2 (ending at its steps 3 and 5), env 1 plays episode 1
    # (ending at step 6): they complete in the order 0, 2, 1.
    done = agent._complete
    assert [len(e.actions) for e in done] == [3, 2, 6]
    for got, (obs, actions, rewards) in zip(done, [episodes[0], episodes[2], episodes[1]], strict=True):
        np.testing.assert_array_equal(got.actions, actions)
        np.testing.assert_allclose(got.rewards, rewards)
        np.testing.assert_allclose(np.stack(got.observations), obs[:-1])
        np.testing.assert_allclose(got.final_observation, obs[-1])
        assert not got.truncated


def test_truncated_episodes_bootstrap_from_the_value_of_the_cut_state():
    agent = make({"episodes_per_update": 1, "discount_rate": 0.5, "hidden_sizes": [8]})
    seen = {}
    real_step = agent.learner.train_step

    def spy(observations, actions, returns, mask, value_units, allowed):
        seen["returns"] = returns
        return real_step(observations, actions, returns, mask, value_units, allowed)

    agent.learner.train_step = spy
    (obs, actions, rewards), = fake_episodes(np.random.default_rng(2), [2], 2, random_rewards=False)
    v_end = agent.learner.values(obs[2][None])[0]
    feed(agent, [(obs, actions, rewards)], truncate=True)
    agent.update()
    # G_1 = 1 + 0.5 V(s_2), G_0 = 1 + 0.5 G_1
    g1 = 1 + 0.5 * v_end
    np.testing.assert_allclose(seen["returns"][0], [1 + 0.5 * g1, g1], rtol=1e-5)


def test_value_baseline_fits_the_returns_in_their_own_units():
    agent = make({"episodes_per_update": 2, "hidden_sizes": [16], "discount_rate": 0.95})
    episodes = fake_episodes(np.random.default_rng(0), [10, 40], 2, random_rewards=False)
    for obs, _, _ in episodes:  # the state tells the steps left, so V(s) is learnable
        obs[:, 1:] = 0.0
        obs[:, 0] = np.arange(len(obs))[::-1] / 10.0
    states = np.concatenate([obs[:-1] for obs, _, _ in episodes])
    targets = np.concatenate([discount_rewards(r, 0.95) for _, _, r in episodes])  # 1 ... 17.4
    losses = []
    for _ in range(40):
        feed(agent, episodes)
        losses.append(agent.update()["value_loss"])
    error = np.abs(agent.learner.values(states) - targets).mean()
    assert losses[-1] < 0.25 * losses[0]
    assert error < 0.25 * targets.std()  # V(s) = mu + sigma v(s) is in return units
    assert agent.learner.train_step.experimental_get_tracing_count() == 1  # no retracing


def test_gradient_clipping_limits_the_step():
    config = {"hidden_sizes": [4], "optimizer": "sgd", "learning_rate": 1.0, "baseline": "none",
              "episodes_per_update": 2, "max_grad_norm": 1e-3}
    agent = make(config)
    before = weights(agent.learner.policy)
    feed(agent, fake_episodes(np.random.default_rng(0), [5, 9], 2))
    metrics = agent.update()
    step = np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(before, weights(agent.learner.policy), strict=True)))
    assert metrics["grad_norm"] > 1e-2  # the raw norm is reported ...
    assert step == pytest.approx(1e-3, rel=1e-3)  # ... the applied step is clipped


# -- acting -----------------------------------------------------------------------------


def test_numpy_forward_pass_equals_the_keras_model():
    for activation in ("elu", "relu", "tanh", "selu"):
        agent = make({"hidden_sizes": [16, 8], "activation": activation, "baseline": "none"}, n_actions=3)
        assert agent.learner._np_logits is not None
        obs = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
        expected = agent.learner.policy(obs).numpy()
        np.testing.assert_allclose(agent.learner.logits(obs), expected, rtol=1e-5, atol=1e-5)


def test_numpy_and_tf_backends_choose_the_same_actions():
    obs = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    a_np = make({"act_backend": "numpy"}, seed=7, n_actions=3)
    a_tf = make({"act_backend": "tf"}, seed=7, n_actions=3)
    assert a_tf.learner._np_logits is None
    for explore in (True, False):
        np.testing.assert_array_equal(a_np.act(obs, explore=explore), a_tf.act(obs, explore=explore))


def test_sampling_follows_the_policy_probabilities():
    agent = make({"head_init_scale": 5.0}, n_actions=3)
    obs = np.tile(np.array([[0.5, -0.2, 0.1, 0.3]], np.float32), (20_000, 1))
    probs = agent.policy_probabilities(obs[:1])[0]
    counts = np.bincount(agent.act(obs, explore=True), minlength=3) / len(obs)
    np.testing.assert_allclose(counts, probs, atol=0.015)
    assert (agent.act(obs[:5], explore=False) == probs.argmax()).all()  # greedy by default


def test_action_masks_and_discrete_start_are_respected():
    agent = make(n_actions=3, start=1)
    obs = np.random.default_rng(0).normal(size=(500, 4)).astype(np.float32)
    mask = np.zeros((500, 3), bool)
    mask[:, 2] = True
    mask[::2, 0] = True
    actions = agent.act(obs, explore=True, action_mask=mask)
    assert set(actions[1::2].tolist()) == {3}
    assert set(actions[::2].tolist()) <= {1, 3}
    greedy = agent.act(obs, explore=False, action_mask=mask)
    assert set(greedy[1::2].tolist()) == {3}


def test_sampled_evaluation_does_not_disturb_the_training_generator():
    a, b = make({"eval_mode": "sample"}, seed=4), make({"eval_mode": "sample"}, seed=4)
    obs = np.zeros((10, 4), np.float32)
    a.act(obs, explore=False)  # an evaluation on one agent only
    np.testing.assert_array_equal(a.act(obs, explore=True), b.act(obs, explore=True))


# -- seeding, encoders, config, saving ---------------------------------------------------


def test_one_seed_gives_one_agent_and_another_seed_another():
    a, b, c = make(seed=11), make(seed=11), make(seed=12)
    for wa, wb in zip(weights(a.learner.policy), weights(b.learner.policy), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(weights(a.learner.policy)[0], weights(c.learner.policy)[0])
    episodes = fake_episodes(np.random.default_rng(0), [6, 4, 9, 7, 3, 5, 8, 2, 4, 6], 2)
    for agent in (a, b):
        feed(agent, episodes)
        agent.update()
    for wa, wb in zip(weights(a.learner.policy), weights(b.learner.policy), strict=True):
        np.testing.assert_array_equal(wa, wb)


def layer_norm_encoder(observation_space, hidden_sizes=(8,), seed=None, name="enc"):
    """A non-dense encoder (LayerNormalization): must plug in and act through tf.function."""
    import keras

    inputs = keras.Input(shape=observation_space.shape)
    x = keras.layers.Dense(hidden_sizes[0], kernel_initializer=keras.initializers.HeNormal(seed))(inputs)
    x = keras.layers.LayerNormalization()(x)
    return keras.Model(inputs, x, name=name)


def test_any_encoder_plugs_in_by_its_spec():
    spec = f"{__name__}:layer_norm_encoder"
    agent = make({"encoder": spec, "hidden_sizes": [6], "episodes_per_update": 2}, n_actions=3)
    assert agent.learner._np_logits is None  # not a dense chain: acts via tf.function
    # Options the builder accepts are passed (hidden_sizes, seed, name); others (activation) not.
    assert agent.learner.encoder.output_shape == (None, 6)
    assert agent.learner.encoder.name == "policy_encoder"
    assert agent.act(np.zeros((5, 4), np.float32), explore=True).shape == (5,)
    feed(agent, fake_episodes(np.random.default_rng(0), [5, 6], 3))
    assert np.isfinite(agent.update()["loss"])
    other = make({"encoder": spec, "encoder_options": {"hidden_sizes": [3]}, "baseline": "none"})
    assert other.learner.encoder.output_shape == (None, 3)  # encoder_options win


def test_numpy_backend_refuses_a_non_dense_encoder():
    with pytest.raises(ConfigError, match="act_backend"):
        make({"encoder": f"{__name__}:layer_norm_encoder", "act_backend": "numpy"})


def test_bad_spaces_and_config_are_refused_with_clear_errors():
    with pytest.raises(SpaceError, match="Discrete action space"):
        gymkit.make_agent("reinforce", BOX4, gym.spaces.Box(-1, 1, (2,)))
    with pytest.raises(SpaceError, match="Box"):
        gymkit.make_agent("reinforce", gym.spaces.Discrete(3), gym.spaces.Discrete(2))
    with pytest.raises(ConfigError, match="choose one of adam, rmsprop, sgd"):
        ReinforceConfig(optimizer="adamw")
    with pytest.raises(ConfigError, match="value_learning_rate"):
        ReinforceConfig(baseline="none", value_learning_rate=0.1)
    with pytest.raises(ConfigError, match="did you mean 'discount_rate'"):
        ReinforceConfig.from_dict({"discount": 0.9})


def test_save_and_load_restore_weights_optimizer_counters_and_generator(tmp_path):
    agent = make({"episodes_per_update": 2, "hidden_sizes": [8]}, seed=5, n_actions=3)
    feed(agent, fake_episodes(np.random.default_rng(0), [5, 7], 3))
    agent.update()
    pending = fake_episodes(np.random.default_rng(3), [3], 3)
    feed(agent, pending)  # a complete episode waiting for the next batch ...
    obs, actions, rewards = fake_episodes(np.random.default_rng(4), [2], 3)[0]
    no = np.zeros(1, bool)
    for t in range(2):  # ... and an episode still open on env 0
        agent.observe(Transitions(obs[t:t + 1], actions[t:t + 1], rewards[t:t + 1], obs[t + 1:t + 2],
                                  no, no, np.zeros(1, int)))
    agent.save(tmp_path / "agent")
    assert {"policy.weights.h5", "value.weights.h5", "optimizer.npz"} <= {
        p.name for p in (tmp_path / "agent").iterdir()}
    loaded = load_agent(tmp_path / "agent")
    assert isinstance(loaded, ReinforceAgent)
    for w0, w1 in zip(weights(agent.learner.policy) + weights(agent.learner.value),
                      weights(loaded.learner.policy) + weights(loaded.learner.value), strict=True):
        np.testing.assert_array_equal(w0, w1)
    for (k0, v0), (k1, v1) in zip(sorted(agent.learner.optimizer_variables().items()),
                                  sorted(loaded.learner.optimizer_variables().items()), strict=True):
        assert k0 == k1
        np.testing.assert_array_equal(v0, v1)
    assert (loaded.updates, loaded.episodes, loaded.steps) == (1, 3, 17)
    assert [len(e.actions) for e in loaded._complete] == [3]
    np.testing.assert_allclose(np.stack(loaded._complete[0].observations), pending[0][0][:-1])
    assert list(loaded._open) == [0] and loaded._open[0].actions == agent._open[0].actions
    obs = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs, explore=True), loaded.act(obs, explore=True))
    # Training goes on identically after the reload (same weights, optimizer and generator).
    more = fake_episodes(np.random.default_rng(2), [4, 6], 3)
    agent._open = loaded._open = {}
    for a in (agent, loaded):
        feed(a, more)
        a.update()
    for w0, w1 in zip(weights(agent.learner.policy), weights(loaded.learner.policy), strict=True):
        np.testing.assert_allclose(w0, w1, rtol=1e-6, atol=1e-7)
