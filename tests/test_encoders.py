"""Encoders: the registry and the MLP encoder (other encoders add their tests here)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym
import numpy as np
import pytest

from gymkit.encoders import make_encoder, resolve_encoder
from gymkit.errors import ConfigError

pytest.importorskip("tensorflow")


def test_mlp_maps_observations_to_features_of_the_last_hidden_size():
    space = gym.spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
    model = make_encoder("mlp", space, hidden_sizes=(16, 8), activation="elu", seed=0)
    assert model.output_dim == 8
    out = model(np.zeros((3, 4), np.float32)).numpy()
    assert out.shape == (3, 8)
    assert [layer.activation.__name__ for layer in model.layers[1:]] == ["elu", "elu"]


def test_mlp_flattens_image_like_observations_and_allows_no_hidden_layer():
    space = gym.spaces.Box(0, 255, shape=(3, 5, 2), dtype=np.uint8)
    model = make_encoder("mlp", space, hidden_sizes=(), seed=0)
    assert model.output_dim == 30  # features = the flat observation
    x = np.arange(30, dtype=np.float32).reshape(1, 3, 5, 2)
    np.testing.assert_array_equal(model(x).numpy(), x.reshape(1, 30))


def test_mlp_weights_are_fixed_by_the_seed():
    space = gym.spaces.Box(-1.0, 1.0, shape=(8,), dtype=np.float32)
    a, b, c = (make_encoder("mlp", space, hidden_sizes=(8, 8), seed=s) for s in (1, 1, 2))
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    # The two 8x8 kernels of one model differ (each layer is seeded with seed + its index).
    assert not np.array_equal(a.get_weights()[0], a.get_weights()[2])


def test_mlp_he_initialisation_has_the_he_scale():
    space = gym.spaces.Box(-1.0, 1.0, shape=(400,), dtype=np.float32)
    model = make_encoder("mlp", space, hidden_sizes=(400,), kernel_initializer="he_normal", seed=0)
    std = model.get_weights()[0].std()
    assert std == pytest.approx(np.sqrt(2 / 400), rel=0.05)  # truncated normal, rescaled to He's std
    assert not model.get_weights()[1].any()  # biases start at zero


def test_unknown_encoder_names_the_known_ones():
    with pytest.raises(ConfigError, match="did you mean 'mlp'"):
        resolve_encoder("mpl")
