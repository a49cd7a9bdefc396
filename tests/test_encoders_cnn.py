"""The book's and Nature's CNN encoders: shapes, parameter counts, pixel scaling, seeding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("tensorflow")

from gymkit.encoders import make_encoder  # noqa: E402
from gymkit.encoders.cnn import image_layout  # noqa: E402
from gymkit.errors import SpaceError  # noqa: E402


def box(shape, dtype=np.uint8):
    high = 255 if dtype == np.uint8 else 1.0
    return gym.spaces.Box(0, high, shape, dtype)


def conv_params(kernel, in_maps, out_maps):
    return kernel * kernel * in_maps * out_maps + out_maps


def test_book_cnn_parameter_count_on_88x80x1():
    model = make_encoder("book-cnn", box((88, 80, 1)), seed=0)
    # SAME padding: 88x80 -> 22x20 (/4) -> 11x10 (/2) -> 11x10 (/1); the book's n_hidden_in = 64*11*10.
    expected = (
        conv_params(8, 1, 32)
        + conv_params(4, 32, 64)
        + conv_params(3, 64, 64)
        + 64 * 11 * 10 * 512
        + 512
    )
    assert expected == 3_676_832
    assert model.count_params() == expected
    assert model.output_dim == 512
    assert model.get_layer("conv_2").output.shape[1:] == (11, 10, 64)


def test_nature_cnn_parameter_count_on_84x84x4():
    model = make_encoder("nature-cnn", box((4, 84, 84)), seed=0)
    # VALID padding: 84 -> 20 (8/4) -> 9 (4/2) -> 7 (3/1).
    expected = (
        conv_params(8, 4, 32)
        + conv_params(4, 32, 64)
        + conv_params(3, 64, 64)
        + 7 * 7 * 64 * 512
        + 512
    )
    assert expected == 1_684_128
    assert model.count_params() == expected
    assert model.get_layer("conv_2").output.shape[1:] == (7, 7, 64)


@pytest.mark.parametrize(
    "shape, layout",
    [
        ((88, 80), "HW"),
        ((88, 80, 1), "HWC"),
        ((4, 88, 80), "CHW"),
        ((84, 84, 4), "HWC"),
        ((4, 84, 84), "CHW"),
        ((4, 88, 80, 1), "SHWC"),
    ],
)
def test_layouts_and_output_shapes(shape, layout):
    assert image_layout(shape) == layout
    model = make_encoder("book-cnn", box(shape), seed=0)
    out = model(np.zeros((3, *shape), np.uint8))
    assert tuple(out.shape) == (3, 512)


def test_stack_first_equals_channels_last():
    """A (4, H, W) stack must reach the convs as the (H, W, 4) image of the same pixels."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2, 4, 84, 84), dtype=np.uint8)
    first = make_encoder("nature-cnn", box((4, 84, 84)), seed=3)
    last = make_encoder("nature-cnn", box((84, 84, 4)), seed=3)
    np.testing.assert_allclose(first(x), last(np.transpose(x, (0, 2, 3, 1))), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("encoder,shape", [("nature-cnn", (4, 84, 84)), ("book-cnn", (2, 88, 80, 3))])
def test_channels_last_view_shares_the_layers_and_gives_the_same_output(encoder, shape, tmp_path):
    """The view takes the images already channels last and runs the very same layers: the same
    outputs bit for bit, the same weights (one set), and the saved weight file is unchanged."""
    from gymkit.encoders.cnn import channels_last_shape, channels_last_view

    model = make_encoder(encoder, box(shape), seed=3)
    view = channels_last_view(model)
    x = np.random.default_rng(0).integers(0, 256, (3, *shape), dtype=np.uint8)
    moved = np.moveaxis(x, 1, 3).reshape(3, *channels_last_shape(shape))
    assert view.inputs[0].shape[1:] == channels_last_shape(shape)
    np.testing.assert_array_equal(view(moved), model(x))
    assert [id(w) for w in view.weights] == [id(w) for w in model.weights]
    model.save_weights(tmp_path / "m.weights.h5")
    assert len(model.weights) == 8 and len(model.layers) == len(make_encoder(encoder, box(shape)).layers)
    import h5py

    names: list[str] = []
    with h5py.File(tmp_path / "m.weights.h5") as f:
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    # Keras names entries after layer classes: the dense layer is still saved as "dense"
    assert sorted(names) == sorted([f"layers/conv2d{s}/vars/{i}" for s in ("", "_1", "_2") for i in (0, 1)]
                                   + ["layers/dense/vars/0", "layers/dense/vars/1"])
    assert channels_last_view(make_encoder(encoder, box(channels_last_shape(shape)))) is None  # HWC: no view


def test_the_dense_layer_after_the_convs_has_keras_dense_gradients():
    """wide_dense computes dL/dx as (W dy^T)^T: the same dot products as Keras's Dense."""
    import keras
    import tensorflow as tf

    from gymkit.encoders.cnn import wide_dense

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(32, 3136)).astype(np.float32))
    plain, wide = keras.layers.Dense(512, activation="relu"), wide_dense(512, activation="relu")
    plain.build((None, 3136))
    wide.build((None, 3136))
    for a, b in zip(plain.weights, wide.weights, strict=True):
        a.assign(rng.normal(size=a.shape).astype(np.float32) * 0.05)
        b.assign(a)

    @tf.function
    def gradients(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.sin(layer(x)))
        return tape.gradient(loss, [x, *layer.trainable_variables])

    for ours, theirs in zip(gradients(wide), gradients(plain), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(wide(x), plain(x))


def test_uint8_input_is_scaled_to_unit_interval_inside_the_model():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (2, 88, 80), dtype=np.uint8)
    on_bytes = make_encoder("book-cnn", box((88, 80)), seed=5)
    # A float space is used as it is, so feeding it x / 255 must give the uint8 model's output.
    on_floats = make_encoder("book-cnn", box((88, 80), np.float32), seed=5)
    np.testing.assert_allclose(
        on_bytes(x), on_floats(x.astype(np.float32) / 255), rtol=1e-5, atol=1e-5
    )
    assert not np.allclose(on_bytes(x), on_floats(x.astype(np.float32)))


def test_seeded_builds_are_identical_and_seeds_differ():
    a = make_encoder("book-cnn", box((88, 80)), seed=7)
    b = make_encoder("book-cnn", box((88, 80)), seed=7)
    c = make_encoder("book-cnn", box((88, 80)), seed=8)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
    # He initialisation: kernel std ~ sqrt(2 / fan_in); conv_0 fan_in = 8*8*1 = 64.
    assert abs(a.get_weights()[0].std() - np.sqrt(2 / 64)) < 0.03


def test_runs_inside_tf_function_on_uint8_tensors():
    import tensorflow as tf

    model = make_encoder("nature-cnn", box((4, 84, 84)), seed=0)
    call = tf.function(lambda x: model(x))
    out = call(tf.zeros((5, 4, 84, 84), tf.uint8))
    assert out.shape == (5, 512) and out.dtype == tf.float32


def test_vector_observations_are_refused():
    with pytest.raises(SpaceError, match="mlp"):
        make_encoder("book-cnn", box((4,), np.float32))
    with pytest.raises(SpaceError, match="too small"):
        make_encoder("nature-cnn", box((4, 16, 16)))
