"""The NumPy step of the recurrent encoders (gymkit.encoders.numpy_step) against Keras, and the
agents acting through it: same states, features, probabilities and Q-values as the
tf.function path, and new weights seen after every update, copy or load."""

from __future__ import annotations

import os

from gymkit.agent_files import load_agent  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("tensorflow")

from gymkit.agents.base import Transitions  # noqa: E402
from gymkit.encoders import make_encoder  # noqa: E402
from gymkit.encoders.numpy_step import NumpyRecurrentStep  # noqa: E402
from gymkit.encoders.recurrent import RecurrentEncoder, build_recurrent  # noqa: E402
from gymkit.errors import ConfigError  # noqa: E402
from gymkit.registry import make_agent  # noqa: E402

SPACE = gym.spaces.Box(-5.0, 5.0, (2, 3), np.float32)  # 2-D: the step flattens each observation
ACT = gym.spaces.Discrete(3)
CELLS = [("simple-rnn", {}), ("lstm", {}), ("lstm", {"peephole": True}), ("gru", {})]
CELL_IDS = ["simple-rnn", "lstm", "lstm-peephole", "gru"]


def randomize(variables, rng, scale=0.6):
    """Random weights everywhere (peepholes and GRU recurrent biases included, which start at 0)."""
    for v in variables:
        v.assign(rng.normal(0.0, scale, tuple(v.shape)).astype(np.float32))


def assert_states_close(a, b, atol=1e-5):
    assert len(a) == len(b)
    for la, lb in zip(a, b, strict=True):
        assert len(la) == len(lb)
        for x, y in zip(la, lb, strict=True):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=atol)


# -- the encoder step ----------------------------------------------------------------------------


@pytest.mark.parametrize("hidden_sizes", [(6,), (7, 5)], ids=["1-layer", "2-layers"])
@pytest.mark.parametrize(("cell", "options"), CELLS, ids=CELL_IDS)
def test_numpy_step_equals_keras_step_over_a_sequence(cell, options, hidden_sizes):
    encoder = make_encoder(cell, SPACE, hidden_sizes=hidden_sizes, seed=3, **options)
    rng = np.random.default_rng(len(hidden_sizes) * 10 + CELLS.index((cell, options)))
    randomize(encoder.weights, rng)
    step = NumpyRecurrentStep.from_encoder(encoder)
    assert step is not None
    keras_state, np_state = encoder.get_initial_state(4), step.initial_state(4)
    assert_states_close(keras_state, np_state, atol=0)  # same layout: per layer [h] or [h, c]
    for t in range(12):
        obs = rng.normal(0.0, 2.0, (4, *SPACE.shape)).astype(np.float32)
        if t == 6:  # rows 1 and 3 start a new episode mid-sequence
            keras_state = encoder.reset_state(keras_state, np.array([False, True, False, True]))
            np_state = [[s * np.array([[1.0], [0.0], [1.0], [0.0]], np.float32) for s in layer]
                        for layer in np_state]
        before = [[s.copy() for s in layer] for layer in np_state]
        keras_out, keras_state = encoder.step(obs, keras_state)
        np_out, np_state = step(obs, np_state)
        np.testing.assert_allclose(np_out, np.asarray(keras_out), rtol=0, atol=1e-5)
        assert_states_close(np_state, keras_state)
        assert_states_close(before, before)  # the input state was not written to
    assert np.abs(np_out).max() > 0.1  # the weights and inputs are not trivially small


def test_keras_lstm_cell_and_relu_simple_rnn_are_mirrored_too():
    import keras

    rng = np.random.default_rng(5)
    encoder = build_recurrent(SPACE, cell="simple-rnn", hidden_sizes=(4, 3), seed=0)
    encoder.rnn_layers[0].cell.activation = keras.activations.relu
    lstm = keras.layers.RNN(keras.layers.LSTMCell(3), return_sequences=True, return_state=True)
    lstm.build((None, None, 4))
    encoder.rnn_layers[1] = lstm
    encoder.cell_name = "mixed"
    encoder.get_initial_state = lambda n: [[np.zeros((n, 4), np.float32)],
                                           [np.zeros((n, 3), np.float32)] * 2]
    randomize(encoder.weights, rng)
    step = NumpyRecurrentStep.from_encoder(encoder)
    state_k = state_n = encoder.get_initial_state(2)
    for _ in range(5):
        obs = rng.normal(size=(2, *SPACE.shape)).astype(np.float32)
        out_k, state_k = encoder.step(obs, state_k)
        out_n, state_n = step(obs, state_n)
        np.testing.assert_allclose(out_n, np.asarray(out_k), atol=1e-5)
        assert_states_close(state_n, state_k)


class OwnStepEncoder(RecurrentEncoder):
    """Not one of ours: its own ``step`` (here the same maths, but the mirror cannot know)."""

    def step(self, observations, state, training=False):
        return super().step(observations, state, training=training)


def own_step_encoder(observation_space, seed=None, hidden_sizes=(8,), **_):
    """A ``module:function`` encoder spec for the agents."""
    model = OwnStepEncoder(tuple(observation_space.shape), cell="lstm", hidden_sizes=hidden_sizes,
                           seed=seed, name="own_step_encoder")
    model(np.zeros((1, 1, *observation_space.shape), np.float32))
    return model


def test_unknown_encoders_are_not_mirrored():
    import keras

    assert NumpyRecurrentStep.from_encoder(own_step_encoder(SPACE)) is None
    assert NumpyRecurrentStep.from_encoder(keras.Sequential([keras.layers.Dense(2)])) is None
    encoder = build_recurrent(SPACE, cell="gru", hidden_sizes=(4,), seed=0)
    encoder.rnn_layers[0].cell.activation = keras.activations.softsign  # no NumPy twin here
    assert NumpyRecurrentStep.from_encoder(encoder) is None


# -- REINFORCE -----------------------------------------------------------------------------------


def reinforce(cell, options, backend, seed=0):
    config = {"encoder": cell, "hidden_sizes": [6, 5], "encoder_options": options or None,
              "act_backend": backend, "episodes_per_update": 2}
    return make_agent("reinforce", SPACE, ACT, config, seed=seed)


def play(agent, rng, steps, num_envs=3, probs=None, learn=False):
    """Random observations for ``num_envs`` envs, episodes ending at random (both streams
    reset); returns ``probs(agent, obs, ids)`` of every step, read on the evaluation stream
    while ``act`` advances the training one (and learns with ``learn``)."""
    ids = np.arange(num_envs)
    for explore in (True, False):
        agent.episode_start(ids, explore=explore)
    out = []
    for _ in range(steps):
        obs = rng.normal(0.0, 2.0, (num_envs, *SPACE.shape)).astype(np.float32)
        out.append(probs(agent, obs, ids))
        actions = agent.act(obs, explore=True, env_ids=ids)  # advances the state again
        done = rng.random(num_envs) < 0.25
        if learn:
            agent.observe(Transitions(obs, actions, np.ones(num_envs, np.float32), obs, done,
                                      np.zeros(num_envs, bool), ids))
            agent.update()
        for explore in (True, False) if done.any() else ():
            agent.episode_start(np.flatnonzero(done), explore=explore)
    return np.stack(out)


def reinforce_probs(agent, obs, ids):
    return agent.policy_probabilities(obs, explore=False, env_ids=ids)


@pytest.mark.parametrize(("cell", "options"), CELLS, ids=CELL_IDS)
def test_reinforce_numpy_acting_equals_the_tf_function_over_episodes(cell, options):
    fast, slow = reinforce(cell, options, "auto"), reinforce(cell, options, "tf")
    assert fast.learner._np_step is not None and slow.learner._np_step is None
    randomize(fast.learner.policy.weights, np.random.default_rng(1))
    for a, b in zip(slow.learner.policy.weights, fast.learner.policy.weights, strict=True):
        a.assign(b)
    fast.learner.refresh()
    p_fast = play(fast, np.random.default_rng(2), 15, probs=reinforce_probs)
    p_slow = play(slow, np.random.default_rng(2), 15, probs=reinforce_probs)
    np.testing.assert_allclose(p_fast, p_slow, rtol=0, atol=1e-5)
    assert p_fast.std(axis=0).max() > 0.01  # the policy is not constant over the episode


def tf_logits(agent, obs, rows):
    logits, _ = agent.learner._tf_step(obs, rows)
    return np.asarray(logits)


def test_reinforce_numpy_path_sees_the_weights_after_an_update_and_a_load(tmp_path):
    agent = reinforce("lstm", {"peephole": True}, "numpy")
    rng = np.random.default_rng(4)
    obs = rng.normal(size=(2, *SPACE.shape)).astype(np.float32)
    rows = [[rng.normal(size=(2, u)).astype(np.float32) for _ in range(2)] for u in (6, 5)]
    first, _ = agent.learner.logits_step(obs, rows)
    play(agent, rng, 20, learn=True, probs=lambda *a: 0.0)
    assert agent.updates >= 1
    after, _ = agent.learner.logits_step(obs, rows)
    assert np.abs(after - first).max() > 1e-4  # the update moved the policy
    np.testing.assert_allclose(after, tf_logits(agent, obs, rows), atol=1e-5)
    agent.save(tmp_path / "agent")
    loaded = load_agent(tmp_path / "agent", type(agent))
    assert loaded.learner._np_step is not None
    np.testing.assert_allclose(loaded.learner.logits_step(obs, rows)[0], after, atol=1e-6)


def test_reinforce_numpy_backend_refuses_an_encoder_it_cannot_mirror():
    spec = f"{__name__}:own_step_encoder"
    assert reinforce(spec, {}, "auto").learner._np_step is None  # auto falls back to tf
    with pytest.raises(ConfigError, match="act_backend"):
        reinforce(spec, {}, "numpy")


# -- DQN -----------------------------------------------------------------------------------------

DQN = {"hidden_sizes": [6, 5], "batch_size": 4, "training_start": 8, "training_interval": 2,
       "sequence_length": 4, "copy_steps": 3, "eps_decay_steps": 10, "eps_min": 0.2}


def dqn(cell, options, seed=0, **extra):
    return make_agent("dqn", SPACE, ACT, {**DQN, "encoder": cell,
                                          "encoder_options": options or None, **extra}, seed=seed)


def dqn_q(agent, obs, ids):
    return agent.q_values(obs, explore=False, env_ids=ids)


@pytest.mark.parametrize(("cell", "options", "dueling"),
                         [(*CELLS[0], False), (*CELLS[1], True), (*CELLS[2], False), (*CELLS[3], True)],
                         ids=["simple-rnn", "lstm-dueling", "lstm-peephole", "gru-dueling"])
def test_dqn_numpy_acting_equals_the_tf_function_over_episodes(cell, options, dueling):
    fast, slow = dqn(cell, options, dueling=dueling), dqn(cell, options, dueling=dueling)
    assert fast._carried.numpy_step is not None
    slow._carried.numpy_step = None  # the tf.function path
    randomize(fast.actor.weights, np.random.default_rng(1))
    for a, b in zip(slow.actor.weights, fast.actor.weights, strict=True):
        a.assign(b)
    fast._carried.refresh()
    q_fast = play(fast, np.random.default_rng(2), 15, probs=dqn_q)
    q_slow = play(slow, np.random.default_rng(2), 15, probs=dqn_q)
    np.testing.assert_allclose(q_fast, q_slow, rtol=0, atol=1e-5)
    assert q_fast.std(axis=0).max() > 0.01


def test_dqn_numpy_path_sees_every_copy_to_the_actor_and_a_load(tmp_path):
    agent = dqn("gru", {}, dueling=True)
    rng = np.random.default_rng(6)
    obs = rng.normal(size=(2, *SPACE.shape)).astype(np.float32)
    rows = [[rng.normal(size=(2, u)).astype(np.float32)] for u in (6, 5)]

    def both():  # (NumPy, tf.function) Q-values of the playing network on a fixed state
        agent.q_values(obs[:1], explore=False, env_ids=np.array([0]))  # refreshes when stale
        return agent._carried._numpy_q(obs, rows)[0], np.asarray(agent._carried._step(obs, rows)[0])

    first, _ = both()
    copies = 0
    for _ in range(12):
        play(agent, rng, 4, learn=True, probs=lambda *a: 0.0)
        q_np, q_tf = both()
        np.testing.assert_allclose(q_np, q_tf, atol=1e-5)  # never a stale copy
        copies += np.abs(q_np - first).max() > 1e-4
    assert agent.train_steps >= 2 * DQN["copy_steps"] and copies > 0
    agent.save(tmp_path / "agent")
    loaded = load_agent(tmp_path / "agent", type(agent))
    loaded.q_values(obs[:1], explore=False, env_ids=np.array([0]))
    np.testing.assert_allclose(loaded._carried._numpy_q(obs, rows)[0], q_np, atol=1e-6)


def test_dqn_falls_back_to_the_tf_function_for_an_encoder_it_cannot_mirror():
    agent = dqn(f"{__name__}:own_step_encoder", {})
    assert agent.recurrent and agent._carried.numpy_step is None
    q = agent.q_values(np.zeros((2, *SPACE.shape), np.float32), explore=True, env_ids=np.arange(2))
    assert q.shape == (2, 3) and np.isfinite(q).all()
