"""The NumPy acting path of image networks (gymkit.agents.nn.numpy_forward) and its BLAS threads."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")


def custom_image_network(padding: str = "same"):
    """An image network built outside gymkit's encoders from the layers the NumPy path knows:
    channels-first frames moved last, pixels scaled, a strided conv, flatten, dense layers."""
    import keras

    from gymkit.tf_import import tensorflow

    tensorflow()
    inputs = keras.Input((3, 21, 17), dtype="uint8")
    x = keras.layers.Permute((2, 3, 1))(inputs)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(x)
    x = keras.layers.Conv2D(5, 4, strides=(2, 3), padding=padding, activation="elu")(x)
    x = keras.layers.Conv2D(6, 3, padding="valid", activation="tanh")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(7, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_an_image_network_from_elsewhere_is_checked_and_then_gives_keras_answers(padding):
    from gymkit.agents.nn.numpy_forward import NumpyForward

    model = custom_image_network(padding)
    twin = NumpyForward.from_model(model)
    assert twin is not None and twin.matches(model)
    x = np.random.default_rng(1).integers(0, 256, (9, 3, 21, 17), dtype=np.uint8)
    np.testing.assert_allclose(twin(x), model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_a_twin_that_disagrees_with_keras_is_not_used(monkeypatch):
    from gymkit.agents.nn import numpy_forward

    model = custom_image_network()
    assert numpy_forward.NumpyForward.from_model(model) is not None
    wrong = numpy_forward.Conv2D.__call__
    monkeypatch.setattr(numpy_forward.Conv2D, "__call__", lambda self, x: wrong(self, x) + 0.01)
    assert numpy_forward.NumpyForward.from_model(model) is None  # acts through TensorFlow instead


def test_unknown_layers_keep_the_tf_path():
    import keras

    from gymkit.agents.nn.numpy_forward import NumpyForward

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, dilation_rate=2, activation="relu")(inputs)  # dilated: not supported
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(x)))
    assert NumpyForward.from_model(model) is None
    x = keras.layers.MaxPooling2D()(keras.layers.Conv2D(2, 3, activation="relu")(inputs))  # pooling: not supported
    assert NumpyForward.from_model(keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(x)))) is None


def test_one_blas_thread_holds_only_inside_and_puts_the_count_back():
    from gymkit.agents.nn.blas_threads import _local_setter, one_blas_thread

    setter = _local_setter()
    if setter is None:
        pytest.skip("NumPy's BLAS here has no thread-local thread count (not OpenBLAS 0.3.27+)")
    before = setter(3)  # read the count (by setting one), then put it back
    setter(before)
    with one_blas_thread():
        inside = setter(1)
    assert inside == 1 and setter(before) == before
