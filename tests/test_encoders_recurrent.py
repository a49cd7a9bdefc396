"""Recurrent encoders: the peephole cell's equations, masking of ragged batches, stacking,
dropout, step-by-step use with a carried state, seeding."""

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym
import numpy as np
import pytest

from gymkit.encoders import make_encoder
from gymkit.encoders.sequences import pad_sequences, ragged_to_padded
from gymkit.errors import ConfigError

pytest.importorskip("tensorflow")

SPACE = gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
CELLS = [("simple-rnn", False), ("lstm", False), ("lstm", True), ("gru", False)]


def _ragged(seed=0, lengths=(5, 2, 4, 1)):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, 3)).astype(np.float32) for n in lengths]


def test_ragged_to_padded_pads_what_np_array_cannot_stack():
    seqs = _ragged()
    with pytest.raises(ValueError):  # the book-era failure: ragged lists are no tensor
        np.array([s.tolist() for s in seqs], dtype=np.float32)
    padded, mask = ragged_to_padded(seqs)
    assert padded.shape == (4, 5, 3) and padded.dtype == np.float32
    assert mask.sum(axis=1).tolist() == [5, 2, 4, 1]
    np.testing.assert_array_equal(padded[1, :2], seqs[1])
    assert not padded[1, 2:].any()
    assert pad_sequences is ragged_to_padded
    p2, m2 = ragged_to_padded([[1, 2], [3]], max_length=4, pad_value=-1)
    assert p2.tolist() == [[1, 2, -1, -1], [3, -1, -1, -1]] and m2.sum() == 3


def test_peephole_cell_matches_a_hand_computed_step():
    import keras

    from gymkit.encoders.peephole import PeepholeLSTMCell

    cell = PeepholeLSTMCell(1, use_peepholes=True)
    rnn = keras.layers.RNN(cell, return_state=True)
    rnn.build((None, 1, 1))
    # gate blocks i, f, g, o
    cell.kernel.assign([[0.5, -0.5, 1.0, 0.25]])
    cell.recurrent_kernel.assign([[0.1, 0.2, -0.3, 0.4]])
    assert cell.bias.numpy().tolist() == [0.0, 1.0, 0.0, 0.0]  # forget bias starts at 1
    cell.peephole_i.assign([0.3])
    cell.peephole_f.assign([-0.2])
    cell.peephole_o.assign([0.6])
    x, h0, c0 = 1.0, 0.5, 0.2
    y, h, c = rnn(np.array([[[x]]], np.float32), initial_state=[np.array([[h0]], np.float32),
                                                                np.array([[c0]], np.float32)])

    def sig(z):
        return 1 / (1 + math.exp(-z))

    i = sig(0.5 * x + 0.1 * h0 + 0.3 * c0)  # wci peeks at c(t-1)
    f = sig(-0.5 * x + 0.2 * h0 + 1.0 - 0.2 * c0)  # wcf peeks at c(t-1)
    g = math.tanh(1.0 * x - 0.3 * h0)
    c1 = f * c0 + i * g
    o = sig(0.25 * x + 0.4 * h0 + 0.6 * c1)  # wco peeks at c(t)
    h1 = o * math.tanh(c1)
    assert c1 == pytest.approx(0.575063, abs=1e-6) and h1 == pytest.approx(0.357592, abs=1e-6)
    assert float(c[0, 0]) == pytest.approx(c1, abs=1e-6)
    assert float(h[0, 0]) == pytest.approx(h1, abs=1e-6)
    assert float(y[0, 0]) == pytest.approx(h1, abs=1e-6)


def test_lstm_without_peepholes_equals_keras_lstm_cell_with_the_same_weights():
    import keras

    ours = make_encoder("lstm", SPACE, hidden_sizes=[4], seed=3)
    ref = keras.layers.RNN(keras.layers.LSTMCell(4), return_sequences=True)
    ref.build((None, None, 3))
    ref.set_weights(ours.get_weights())  # same layout: kernel, recurrent kernel, bias (i, f, g, o)
    x = np.random.default_rng(1).normal(size=(2, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(x).numpy(), ref(x).numpy(), atol=1e-5)


@pytest.mark.parametrize(("cell", "peephole"), CELLS)
def test_padded_steps_change_nothing_in_a_ragged_batch(cell, peephole):
    seqs = _ragged()
    padded, mask = ragged_to_padded(seqs)
    padded[~mask] = 7.0  # garbage in padded steps: the mask, not the value, must hide them
    enc = make_encoder(cell, SPACE, hidden_sizes=[8, 6], peephole=peephole, seed=0)
    outputs, state = enc.run(padded, mask=mask)
    assert outputs.shape == (4, 5, 6) and enc.output_dim == 6
    assert len(state) == 2 and len(state[0]) == (2 if cell == "lstm" else 1)
    for b, seq in enumerate(seqs):
        alone, alone_state = enc.run(seq[None])
        np.testing.assert_allclose(outputs[b, : len(seq)], alone[0], atol=1e-5)
        for layer, layer_alone in zip(state, alone_state, strict=True):
            for s, s_alone in zip(layer, layer_alone, strict=True):
                np.testing.assert_allclose(s[b], s_alone[0], atol=1e-5)


def test_step_by_step_with_carried_state_and_resets_equals_whole_sequences():
    a, b = _ragged(lengths=(3, 4))
    enc = make_encoder("lstm", SPACE, hidden_sizes=[5], peephole=True, seed=1)
    whole_a, whole_b = enc(a[None]).numpy()[0], enc(b[None]).numpy()[0]
    state = enc.get_initial_state(1)
    outs = []
    for t, obs in enumerate(np.concatenate([a, b])):  # two episodes back to back
        state = enc.reset_state(state, np.array([t == len(a)]))  # episode start: zero the state
        features, state = enc.step(obs[None], state)
        outs.append(features.numpy()[0])
    np.testing.assert_allclose(np.array(outs), np.concatenate([whole_a, whole_b]), atol=1e-5)
    # without the reset the second episode remembers the first
    state = enc.get_initial_state(1)
    for obs in a:
        _, state = enc.step(obs[None], state)
    carried, _ = enc.step(b[:1], state)
    assert not np.allclose(carried.numpy()[0], whole_b[0], atol=1e-3)


def test_dropout_acts_only_in_training():
    x = np.random.default_rng(2).normal(size=(2, 4, 3)).astype(np.float32)
    plain = make_encoder("gru", SPACE, hidden_sizes=[8, 8], seed=0)
    dropped = make_encoder("gru", SPACE, hidden_sizes=[8, 8], dropout=0.5, seed=0)
    np.testing.assert_array_equal(dropped(x, training=False).numpy(), plain(x).numpy())
    assert not np.allclose(dropped(x, training=True).numpy(), plain(x).numpy(), atol=1e-3)


def test_weights_are_fixed_by_the_seed_and_stacks_are_seeded_per_layer():
    a, b, c = (make_encoder("simple-rnn", SPACE, hidden_sizes=[6, 6], seed=s) for s in (1, 1, 2))
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    assert not np.array_equal(a.get_weights()[1], a.get_weights()[4])  # two 6x6 recurrent kernels


def test_weights_survive_save_weights_and_load_weights(tmp_path):
    x = np.random.default_rng(4).normal(size=(2, 3, 3)).astype(np.float32)
    a = make_encoder("lstm", SPACE, hidden_sizes=[4, 4], peephole=True, seed=0)
    b = make_encoder("lstm", SPACE, hidden_sizes=[4, 4], peephole=True, seed=9)
    for w in a.weights:  # make the peepholes non-zero so that they are checked too
        w.assign(w + 0.1)
    a.save_weights(tmp_path / "enc.weights.h5")
    b.load_weights(tmp_path / "enc.weights.h5")
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_image_like_observations_are_flattened_per_step():
    space = gym.spaces.Box(0, 1, shape=(2, 3), dtype=np.float32)
    enc = make_encoder("gru", space, hidden_sizes=[4], seed=0)
    assert enc(np.zeros((1, 5, 2, 3), np.float32)).shape == (1, 5, 4)


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="peephole"):
        make_encoder("gru", SPACE, peephole=True)
    with pytest.raises(ConfigError, match="hidden_sizes"):
        make_encoder("lstm", SPACE, hidden_sizes=[])
    with pytest.raises(ConfigError, match="dropout"):
        make_encoder("lstm", SPACE, dropout=1.0)


def test_reinforce_takes_a_recurrent_encoder_by_its_spec():
    # the stopgap guard is gone: the agent becomes stateful (tests/test_reinforce_recurrent.py)
    import gymkit

    env = gym.make("gymkit/EmbeddedReber-v0")
    agent = gymkit.make_agent("reinforce", env.observation_space, env.action_space, {"encoder": "lstm"}, seed=0)
    assert agent.stateful and agent.learner.recurrent
