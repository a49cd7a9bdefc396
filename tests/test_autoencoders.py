"""Autoencoders (chapter 15), the pretrained-encoder spec, and ``gymkit pretrain``."""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("tensorflow")

from gymkit.encoders import make_encoder, resolve_encoder  # noqa: E402
from gymkit.encoders.autoencoders import AutoencoderConfig  # noqa: E402
from gymkit.encoders.autoencoders.layers import DenseTranspose  # noqa: E402
from gymkit.encoders.autoencoders.losses import (  # noqa: E402
    cross_entropy,
    kl_divergence,
    latent_loss,
    sparsity_loss,
)
from gymkit.encoders.autoencoders.models import build_autoencoder  # noqa: E402
from gymkit.encoders.autoencoders.saving import load_encoder, save_encoder  # noqa: E402
from gymkit.encoders.autoencoders.training import (  # noqa: E402
    make_train_step,
    reconstruction_mse,
    train_autoencoder,
)
from gymkit.errors import ConfigError  # noqa: E402


def vector_space(d: int) -> gym.spaces.Box:
    return gym.spaces.Box(-np.inf, np.inf, (d,), np.float32)


def largest_principal_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Largest principal angle (degrees) between the column spaces of a and b."""
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return float(np.degrees(np.arccos(np.clip(cosines.min(), -1.0, 1.0))))


# -- linear autoencoder = PCA ----------------------------------------------------------------


def test_linear_autoencoder_codings_span_the_pca_subspace():
    """8-D data with variances 9, 4, 2.25 | 0.25 ... 0.01, projected to k = 3 codings.

    PCA (NumPy's SVD of the centred data X_c = U S V^T) keeps V_k, the top k right singular
    vectors. After 1,500 full-batch Adam steps on the MSE the linear autoencoder must have:
    * decoder columns spanning span(V_k): projection matrices equal to 5e-3 (max abs);
    * codings of the data spanning the PCA scores X_c V_k (as vectors in R^n): largest
      principal angle below 2 degrees;
    * the PCA reconstruction error (Eckart-Young's optimum) to within 0.5%.
    (The encoder kernel's own columns are not tested: a component along a discarded direction
    costs only its small variance, so it fades slowly; what the data see is the codings.)
    """
    rng = np.random.default_rng(0)
    d, k, n = 8, 3, 500
    rotation = np.linalg.qr(rng.standard_normal((d, d)))[0]
    scales = np.array([3.0, 2.0, 1.5, 0.5, 0.4, 0.3, 0.2, 0.1])
    x = ((rng.standard_normal((n, d)) * scales) @ rotation.T + rng.standard_normal(d)).astype(np.float32)
    config = AutoencoderConfig(kind="linear", codings=k, standardize=False, batch_size=n,
                               epochs=1500, patience=0, learning_rate=0.01)  # all 1500 epochs
    ae = build_autoencoder(vector_space(d), config, seed=0)
    train_autoencoder(ae, x, seed=0)

    centred = x - x.mean(axis=0)
    v_k = np.linalg.svd(centred, full_matrices=False)[2][:k].T  # d x k
    decoder_kernel = ae.stages[0].decode[0].kernel.numpy().T  # d x k (codings -> inputs)
    q = np.linalg.qr(decoder_kernel)[0]
    np.testing.assert_allclose(q @ q.T, v_k @ v_k.T, atol=5e-3)
    codings = ae.encoder(x).numpy()
    assert largest_principal_angle(codings - codings.mean(axis=0), centred @ v_k) < 2.0
    pca_mse = float(np.mean(np.square(centred - centred @ v_k @ v_k.T)))
    assert reconstruction_mse(ae, x) == pytest.approx(pca_mse, rel=5e-3)


# -- tied weights, greedy training -----------------------------------------------------------


def test_tied_weights_share_one_variable_per_layer_pair():
    space = vector_space(10)
    tied = build_autoencoder(space, AutoencoderConfig(kind="stacked", hidden_sizes=(6,), codings=3,
                                                      tied_weights=True), seed=0)
    free = build_autoencoder(space, AutoencoderConfig(kind="stacked", hidden_sizes=(6,), codings=3), seed=0)
    # 2 encoder kernels + 4 biases tied; 4 kernels + 4 biases untied
    assert len(tied.trainable_variables()) == 6
    assert len(free.trainable_variables()) == 8
    for stage in tied.stages:
        layer = stage.decode[0]
        assert isinstance(layer, DenseTranspose) and layer.tied is stage.encode[0]
    x = np.random.default_rng(1).standard_normal((64, 10)).astype(np.float32)
    step, variables = make_train_step(tied)
    before = tied.stages[1].encode[0].kernel.numpy().copy()
    step(x)
    after = tied.stages[1].encode[0].kernel.numpy()
    assert not np.allclose(before, after)  # the shared kernel learnt ...
    tied_layer = tied.stages[1].decode[0]
    eye = np.eye(3, dtype=np.float32)
    # ... and the decoder reads it transposed: DenseTranspose(I) - bias = W^T (linear codings -> elu)
    raw = (eye @ after.T + tied_layer.bias.numpy())
    np.testing.assert_allclose(tied_layer(eye).numpy(), np.where(raw > 0, raw, np.expm1(raw)), atol=1e-6)
    assert sum(v is tied.stages[1].encode[0].kernel for v in variables) == 1


def test_greedy_phase_trains_only_its_stage():
    ae = build_autoencoder(vector_space(6), AutoencoderConfig(kind="stacked", hidden_sizes=(5,), codings=2,
                                                              greedy=True, epochs=2, batch_size=32), seed=0)
    x = np.random.default_rng(2).standard_normal((64, 6)).astype(np.float32)
    first = [v.numpy().copy() for v in ae.stages[0].encode[0].trainable_variables]
    step, variables = make_train_step(ae, phase=1)
    step(x)
    assert all(np.array_equal(a, v.numpy()) for a, v in
               zip(first, ae.stages[0].encode[0].trainable_variables, strict=True))
    assert len(variables) == 4  # stage 2's kernel + bias, its decoder's kernel + bias
    history = train_autoencoder(ae, x, seed=0)
    assert [(row["phase"], row["epoch"]) for row in history] == [(0, 1), (0, 2), (1, 1), (1, 2)]


# -- loss terms on hand-computed examples ----------------------------------------------------


def test_sparsity_loss_is_the_kl_divergence_of_equation_15_2():
    # p = 0.1, q = 0.3: 0.1 ln(0.1/0.3) + 0.9 ln(0.9/0.7) = -0.1098612 + 0.2261830 = 0.1163218
    assert float(kl_divergence(0.1, 0.3)) == pytest.approx(0.1163218, abs=1e-6)
    assert float(kl_divergence(0.1, 0.1)) == pytest.approx(0.0, abs=1e-7)
    codings = np.array([[0.2, 0.5], [0.4, 0.1]], np.float32)  # batch means q = (0.3, 0.3)
    assert float(sparsity_loss(codings, 0.1)) == pytest.approx(2 * 0.1163218, abs=1e-6)


def test_variational_loss_terms_on_a_hand_computed_example():
    # mu = (0.5, -1), gamma = log sigma^2 = (0, log 4):
    # 1/2 [(e^0 + 0.25 - 1 - 0) + (4 + 1 - 1 - log 4)] = 1/2 (0.25 + 2.6137056) = 1.4318528
    mean = np.array([[0.5, -1.0], [0.0, 0.0]], np.float32)
    gamma = np.array([[0.0, np.log(4.0)], [0.0, 0.0]], np.float32)
    np.testing.assert_allclose(latent_loss(mean, gamma).numpy(), [1.4318528, 0.0], atol=1e-6)
    # sigmoid cross entropy, targets (1, 0), logits (0, 0): 2 ln 2 = 1.3862944
    assert float(cross_entropy(np.array([[1.0, 0.0]]), np.zeros((1, 2)))[0]) == pytest.approx(1.3862944, abs=1e-6)


def test_variational_step_adds_reconstruction_and_latent_loss_and_samples_codings():
    space = gym.spaces.Box(0, 255, (12, 10), np.uint8)
    config = AutoencoderConfig(kind="variational", conv_n_maps=(4,), conv_kernel_sizes=(3,),
                               conv_strides=(2,), codings=3)
    ae = build_autoencoder(space, config, seed=0)
    assert ae.settings["reconstruction_loss"] == "cross_entropy" and ae.logits
    frames = np.random.default_rng(3).integers(0, 256, (16, 12, 10), dtype=np.uint8)
    step, _ = make_train_step(ae)
    terms = {k: float(v) for k, v in step(frames).items()}
    assert terms["loss"] == pytest.approx(terms["reconstruction"] + terms["latent"], rel=1e-5)
    assert terms["reconstruction"] > 0 and terms["latent"] >= 0
    x0 = ae.prepare(frames)
    a, b = (ae.decode(ae.encode(x0)).numpy() for _ in range(2))
    np.testing.assert_array_equal(a, b)  # the encoder's codings are mu: deterministic


# -- denoising ------------------------------------------------------------------------------


@pytest.mark.parametrize("noise", ["gaussian", "dropout"])
def test_denoising_noise_only_in_training(noise):
    ae = build_autoencoder(vector_space(6), AutoencoderConfig(kind="denoising", noise=noise, noise_stddev=0.5,
                                                              codings=3), seed=0)
    x = np.random.default_rng(4).standard_normal((32, 6)).astype(np.float32)
    clean = ae.encode_parts(x, training=False)[0].numpy()
    noisy = ae.encode_parts(x, training=True)[0].numpy()
    assert not np.allclose(clean, noisy)
    np.testing.assert_array_equal(clean, ae.encode_parts(x, training=False)[0].numpy())
    np.testing.assert_allclose(ae.encoder(x).numpy(), clean, rtol=1e-6)  # the saved encoder: no noise
    kinds = {type(layer).__name__ for layer in ae.encoder.layers}
    assert not kinds & {"GaussianNoise", "Dropout"}


# -- conv autoencoders ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(21, 15), (2, 21, 15)])
def test_conv_autoencoder_reconstructs_the_input_shape_and_trains_greedily(shape):
    """Odd sizes: SAME convs round up, so the transposed convs are cropped back."""
    space = gym.spaces.Box(0, 255, shape, np.uint8)
    config = AutoencoderConfig(kind="sparse", conv_n_maps=(4, 8), conv_kernel_sizes=(3, 3),
                               conv_strides=(2, 2), codings=5, greedy=True, epochs=1, batch_size=8)
    ae = build_autoencoder(space, config, seed=0)
    frames = np.random.default_rng(5).integers(0, 256, (16, *shape), dtype=np.uint8)
    x0 = ae.prepare(frames)
    assert ae.decode(ae.encode(x0)).shape == x0.shape
    assert float(np.max(x0)) <= 1.0  # pixels scaled inside
    history = train_autoencoder(ae, frames, seed=0)
    assert [row["phase"] for row in history] == [0, 1, 2]
    assert "sparsity" in history[-1] and "sparsity" not in history[0]


def test_default_conv_encoder_has_the_book_cnn_shape():
    space = gym.spaces.Box(0, 255, (88, 80), np.uint8)
    ae = build_autoencoder(space, AutoencoderConfig(kind="stacked"), seed=0)
    book = make_encoder("book-cnn", space, seed=0)
    assert ae.encoder.output_dim == 512
    assert ae.encoder.count_params() == book.count_params() == 3_676_832


# -- saving, loading, the encoder spec --------------------------------------------------------


@pytest.fixture(scope="module")
def saved_encoder(tmp_path_factory):
    space = vector_space(4)
    x = np.random.default_rng(6).standard_normal((200, 4)).astype(np.float32) * [1, 2, 3, 4]
    config = AutoencoderConfig(kind="stacked", hidden_sizes=(8,), codings=2, epochs=2)
    ae = build_autoencoder(space, config, seed=0, observations=x)
    train_autoencoder(ae, x, seed=0)
    path = tmp_path_factory.mktemp("ae") / "encoder.keras"
    save_encoder(ae.encoder, path, {"kind": "stacked", "env": "CartPole-v1", "wrappers": []})
    return path, ae, x


def test_save_load_round_trip(saved_encoder):
    path, ae, x = saved_encoder
    loaded = load_encoder(path, vector_space(4))
    np.testing.assert_allclose(loaded(x).numpy(), ae.encoder(x).numpy(), rtol=1e-6)
    assert loaded.output_dim == 2 and not loaded.trainable_weights  # frozen by default
    assert json.loads(path.with_suffix(".json").read_text())["input_shape"] == [4]
    for spec in (f"autoencoder@{path}", f"autoencoder:{path}"):
        model = make_encoder(spec, vector_space(4), seed=3, hidden_sizes=(64,), name="x")
        np.testing.assert_allclose(model(x).numpy(), ae.encoder(x).numpy(), rtol=1e-6)
    assert make_encoder(f"autoencoder-finetune@{path}", vector_space(4)).trainable_weights


def test_loading_on_another_space_names_both_shapes(saved_encoder):
    path, _, _ = saved_encoder
    with pytest.raises(ConfigError, match=r"\(4,\) float32.*\(6,\) float32"):
        make_encoder(f"autoencoder@{path}", vector_space(6))
    with pytest.raises(ConfigError, match="uint8"):
        load_encoder(path, gym.spaces.Box(0, 255, (4,), np.uint8))


def test_bad_encoder_specs_are_one_line_config_errors(saved_encoder, tmp_path):
    path, _, _ = saved_encoder
    with pytest.raises(ConfigError, match="no encoder file"):
        make_encoder(f"autoencoder@{tmp_path / 'missing.keras'}", vector_space(4))
    with pytest.raises(ConfigError, match="no file"):
        resolve_encoder(f"autoencoder:{tmp_path / 'missing.keras'}")
    with pytest.raises(ConfigError, match="needs the file"):
        make_encoder("autoencoder", vector_space(4))
    with pytest.raises(ConfigError, match="trainabel"):
        make_encoder(f"autoencoder@{path}", vector_space(4), trainabel=True)
    (tmp_path / "junk.keras").write_text("not a zip")
    with pytest.raises(ConfigError, match="cannot load encoder") as err:
        make_encoder(f"autoencoder@{tmp_path / 'junk.keras'}", vector_space(4))
    assert "\n" not in str(err.value)


def test_config_errors():
    with pytest.raises(ConfigError, match="kind=linear has no hidden layers"):
        AutoencoderConfig(kind="linear", hidden_sizes=(4,))
    with pytest.raises(ConfigError, match="greedy"):
        AutoencoderConfig(kind="variational", greedy=True)
    with pytest.raises(ConfigError, match="did you mean 'sparsity_weight'"):
        AutoencoderConfig.from_dict({"sparsity_wieght": 1.0})
    with pytest.raises(ConfigError, match="cross_entropy needs inputs in"):
        build_autoencoder(vector_space(4), AutoencoderConfig(reconstruction_loss="cross_entropy"))
    with pytest.raises(ConfigError, match="drop architecture=conv"):
        build_autoencoder(gym.spaces.Box(0, 255, (8, 8), np.uint8),
                          AutoencoderConfig(kind="linear", architecture="conv"))


# -- agents with a pretrained encoder ---------------------------------------------------------


def _encoder_weights(agent):
    return [w.numpy().copy() for w in agent.learner.encoder.weights]


@pytest.mark.parametrize("trainable", [False, True])
def test_reinforce_learns_with_a_frozen_or_fine_tuned_pretrained_encoder(saved_encoder, trainable):
    from gymkit.loop import train
    from gymkit.registry import make_agent

    path, _, _ = saved_encoder
    config = {"encoder": f"autoencoder@{path}", "episodes_per_update": 2,
              "encoder_options": {"trainable": trainable}}
    probe = make_agent("reinforce", vector_space(4), gym.spaces.Discrete(2), config, seed=0)
    pretrained = load_encoder(path)
    for a, b in zip(_encoder_weights(probe), pretrained.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # the agent starts from the file's weights
    head_before = probe.learner.policy.get_layer("policy_head").kernel.numpy().copy()
    result = train("reinforce", "CartPole-v1", config=config, episodes=4, seed=0,
                   eval_episodes=0, progress=False)
    agent = result.agent
    assert agent.updates == 2
    assert not np.allclose(agent.learner.policy.get_layer("policy_head").kernel.numpy(), head_before)
    same = [np.array_equal(a, b) for a, b in zip(_encoder_weights(agent), pretrained.get_weights(), strict=True)]
    if trainable:
        assert not all(same)  # fine-tuned: the encoder's kernels moved
    else:
        assert all(same)  # frozen: not one weight changed


def test_dqn_takes_a_frozen_conv_encoder(tmp_path):
    from gymkit.registry import make_agent

    space = gym.spaces.Box(0, 255, (20, 16), np.uint8)
    config = AutoencoderConfig(kind="stacked", conv_n_maps=(4,), conv_kernel_sizes=(3,), conv_strides=(2,),
                               codings=8)
    ae = build_autoencoder(space, config, seed=0)
    path = save_encoder(ae.encoder, tmp_path / "encoder.keras", {"kind": "stacked"})
    agent = make_agent("dqn", space, gym.spaces.Discrete(3), {"encoder": f"autoencoder@{path}"}, seed=0)
    assert [v.path for v in agent.critic.trainable_variables] == ["q_values/kernel", "q_values/bias"]
    frames = np.random.default_rng(7).integers(0, 256, (5, 20, 16), dtype=np.uint8)
    assert agent.q_values(frames).shape == (5, 3)


# -- the command line -------------------------------------------------------------------------


def test_pretrain_cli_on_cartpole(tmp_path):
    # in process: the command line's options, files and messages are the point, not a fresh process
    from tests.conftest import run_cli_in_process as cli

    out = tmp_path / "ae"
    res = cli("pretrain", "--env", "CartPole-v1", "--kind", "linear", "--codings", "2", "--observations", "1500",
              "--epochs", "60", "--set", "learning_rate=0.01", "--seed", "1", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["autoencoder.weights.npz", "encoder.json", "encoder.keras",
                                                      "pretrain.json", "reconstructions.png"]
    info = json.loads((out / "pretrain.json").read_text())
    assert info["kind"] == "linear" and info["env"] == "CartPole-v1" and info["policy"] == "random"
    assert info["observations"] == {"train": 1350, "validation": 0, "held_out": 150,
                                    "episodes": info["observations"]["episodes"], "shape": [4], "dtype": "float32"}
    # The same observations again (seeded random play), standardised with the training
    # statistics: PCA with 2 components, fitted on the training part, scored on the held-out part.
    from gymkit.pretrain import collect_observations

    data, _ = collect_observations(gym.make("CartPole-v1"), 1500, seed=1)
    train, held = data[:1350].astype(np.float64), data[1350:].astype(np.float64)
    mean, std = train.mean(axis=0), train.std(axis=0)
    z_train, z_held = (train - mean) / std, (held - mean) / std
    centre = z_train.mean(axis=0)
    v = np.linalg.svd(z_train - centre, full_matrices=False)[2][:2].T
    def pca_mse(z):
        return float(np.mean(np.square((z - centre) - (z - centre) @ v @ v.T)))

    mse = info["reconstruction_mse"]
    assert mse["train"] == pytest.approx(pca_mse(z_train), rel=0.02)  # 0.1160 vs 0.1155 measured
    assert mse["held_out"] == pytest.approx(pca_mse(z_held), rel=0.1)  # 0.2118 vs 0.2013 measured
    assert mse["held_out"] < 0.3 * mse["mean_input_baseline"]
    # the whole autoencoder comes back from the directory: same held-out error
    from gymkit.encoders.autoencoders.saving import load_pretrained

    assert reconstruction_mse(load_pretrained(out), data[1350:]) == pytest.approx(mse["held_out"], rel=1e-5)
    assert f"autoencoder@{out / 'encoder.keras'}" in res.stdout

    again = cli("pretrain", "--env", "CartPole-v1", "--kind", "linear", "--out", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1

    bad = tmp_path / "bad"
    res = cli("pretrain", "--env", "CartPole-v1", "--kind", "sparse", "--set", "sparsity_wieght=1",
              "--out", str(bad))
    assert res.returncode == 2 and "did you mean 'sparsity_weight'" in res.stderr
    res = cli("pretrain", "--env", "gymkit/BookMDP-v0", "--kind", "stacked", "--out", str(bad))
    assert res.returncode == 2 and "Box observations" in res.stderr
    assert not bad.exists() and not list(tmp_path.glob(".tmp-*"))


def test_pretrain_with_a_trained_runs_agent_playing(tmp_path):
    import gymkit
    from gymkit.errors import SpaceError
    from gymkit.pretrain import pretrain

    run = tmp_path / "hardcoded"
    gymkit.train("hardcoded", "CartPole-v1", steps=200, eval_episodes=0, run_dir=str(run), progress=False)
    quick = {"epochs": 1, "hidden_sizes": [3]}
    by_run = pretrain(kind="stacked", policy_run=run, observations=600, overrides=quick, out=tmp_path / "a", log=None)
    by_random = pretrain("CartPole-v1", "stacked", observations=600, overrides=quick, out=tmp_path / "b", log=None)
    assert by_run.info["policy"] == "run" and by_run.info["env"] == "CartPole-v1"  # the run's env
    # the hard-coded policy (push toward the lean) keeps the pole up about twice as long as random play
    assert by_run.info["observations"]["episodes"] < 0.7 * by_random.info["observations"]["episodes"]
    with pytest.raises(SpaceError, match="use the env and wrappers it was trained with"):
        pretrain("Acrobot-v1", "stacked", policy_run=run, observations=100, out=tmp_path / "c", log=None)
    assert not (tmp_path / "c").exists()


# -- early stopping -----------------------------------------------------------------------


def test_early_stopping_waits_patience_epochs_then_restores_the_best_weights():
    import tensorflow as tf

    from gymkit.encoders.autoencoders.training import _EarlyStopping

    weight = tf.Variable(0.0)
    stopper = _EarlyStopping([weight], patience=2, min_improvement=0.1)
    stops = []
    for epoch, value in enumerate([5.0, 4.0, 3.7, 3.0, 2.9, 2.8], start=1):
        weight.assign(float(epoch))
        stops.append(stopper.update(epoch, value))
    # 3.7 and 2.9 are less than 10% better than the best before them: they do not count
    assert stops == [False, False, False, False, False, True]
    assert (stopper.best_epoch, stopper.best) == (4, 3.0)
    stopper.restore()
    assert float(weight.numpy()) == 4.0
    off = _EarlyStopping([weight], patience=0, min_improvement=0.0)
    assert not any(off.update(e, 1.0) for e in range(1, 50))  # patience 0: never stops


def test_training_stops_early_and_keeps_the_epoch_with_the_best_validation_mse():
    from gymkit.encoders.autoencoders.training import make_validation_mse

    rng = np.random.default_rng(3)
    x = (rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6))).astype(np.float32)
    config = AutoencoderConfig(kind="stacked", hidden_sizes=(4,), codings=2, epochs=400, patience=5,
                               learning_rate=0.01, batch_size=32)
    ae = build_autoencoder(vector_space(6), config, seed=0, observations=x[:250])
    history = train_autoencoder(ae, x[:250], validation=x[250:], seed=0)
    best = [row for row in history if row["best"]]
    assert len(best) == 1 and len(history) < 400
    assert history[-1]["epoch"] - best[0]["epoch"] == 5  # stopped after exactly `patience` idle epochs
    assert best[0]["val_mse"] == min(row["val_mse"] for row in history)
    # the weights now in the model are that epoch's: the validation MSE measured again is the same
    assert make_validation_mse(ae)(x[250:]) == pytest.approx(best[0]["val_mse"], rel=1e-6)
    assert reconstruction_mse(ae, x[250:]) == pytest.approx(best[0]["val_mse"], rel=1e-5)


def test_linear_pretrain_with_the_defaults_comes_within_5_percent_of_pca(tmp_path):
    """The issue's case: CartPole, 2 codings, 2,000 observations, nothing else set."""
    from gymkit.pretrain import pretrain

    result = pretrain("CartPole-v1", "linear", codings=2, observations=2000, out=tmp_path / "ae", log=None)
    mse = result.info["reconstruction_mse"]
    # on the observations both were fitted to, no linear map beats PCA (Eckart-Young) ...
    assert mse["fitted"] >= mse["pca_optimum_fitted"] * (1 - 1e-6)
    assert mse["fitted"] <= 1.05 * mse["pca_optimum_fitted"]  # ... and the autoencoder is within 5%
    # held out (a later stretch of play), the same subspace gives the same error: 1.007x measured
    assert mse["held_out"] <= 1.05 * mse["pca_optimum"]
    assert mse["held_out"] < 0.1 * mse["mean_input_baseline"]
    stopping = result.info["early_stopping"]
    assert stopping["epochs_run"] < stopping["cap"] == 500  # early stopping ended it
    assert stopping["best_epochs"][0]["epoch"] == stopping["epochs_run"] - stopping["patience"]
