"""The acting fast path of the neural agents: a network's forward pass in NumPy.

A Keras call (even a traced ``tf.function``) costs a graph dispatch per env step; a NumPy
forward pass of a 4-256-256-2 MLP costs tens of microseconds. DQN (plain and dueling heads,
the recurrent heads) and REINFORCE (policy and value) act through this one class. Both read
weights copied by :meth:`NumpyForward.refresh`, so an agent calls it after every update,
copy or load: its "stale" flag is the one protocol.

Image networks made of the layers gymkit's CNN encoders use (:mod:`gymkit.encoders.cnn`:
Reshape/Permute to channels last, Rescaling, Conv2D with VALID or SAME padding, Flatten, Dense)
run here too, each convolution as one matrix product on its image patches: a Nature-CNN
forward pass of one observation took 0.38 ms against 0.92 ms through a ``tf.function`` (2-core
AMD EPYC), on one BLAS thread (:mod:`gymkit.agents.nn.blas_threads`: OpenBLAS's spinning
threads would take the cores a training update runs on). A network not built by gymkit's CNN
encoders is only run here after it has given the Keras model's answers on random inputs
(:meth:`NumpyForward.matches`); anything else acts through TensorFlow.

Imports Keras only while building a path, not to run it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gymkit.agents.nn.blas_threads import one_blas_thread
from gymkit.agents.nn.heads import dueling_q

ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    # SELU's constants (Klambauer et al., 2017), as Keras has them
    "selu": lambda x: 1.0507009873554805
    * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0.0))),
}
ACTIVATIONS["swish"] = ACTIVATIONS["silu"]

#: the name of DQN's dueling combination layer (V and A heads read the same features)
DUELING_LAYER = "dueling"


def _leaves(model: Any) -> list[Any]:
    import keras

    out = []
    for layer in model.layers:
        out.extend(_leaves(layer) if isinstance(layer, keras.Model) else [layer])
    return out


def activation_name(layer: Any) -> str | None:
    """The name of a Dense layer's activation if the NumPy path has it, else None."""
    import keras

    name = keras.activations.serialize(layer.activation)
    return name if isinstance(name, str) and name in ACTIVATIONS else None


def dense_layers(model: Any) -> tuple[list[tuple[Any, Any, Any]], bool] | None:
    """``(entries, dueling)`` of a plain dense network, else None.

    ``entries`` holds ``(kernel, bias, activation)`` per Dense layer (Input and Flatten
    layers skipped); ``dueling`` is True when the network ends in DQN's dueling combination,
    whose two heads are then the last two entries.
    """
    import keras

    found = _dense_entries([layer for layer in _leaves(model)
                            if not isinstance(layer, keras.layers.InputLayer | keras.layers.Flatten)])
    if found is None:
        return None
    entries, dueling = found
    body = entries[:-2] if dueling else entries
    inputs = [int(np.prod(model.input_shape[1:]))] + [int(k.shape[1]) for k, _, _ in body]
    reads = [int(k.shape[0]) for k, _, _ in body] + ([int(k.shape[0]) for k, _, _ in entries[-2:]] if dueling else [])
    chained = reads == inputs[:len(body)] + ([inputs[-1]] * 2 if dueling else [])
    return (entries, dueling) if chained else None


def _dense_entries(layers: list[Any]) -> tuple[list[tuple[Any, Any, Any]], bool] | None:
    """``(kernel, bias, activation)`` of each of ``layers`` and whether they end in DQN's
    dueling combination, or None if one of them is not a Dense layer the NumPy path runs."""
    import keras

    entries: list[tuple[Any, Any, Any]] = []
    dueling = False
    for layer in layers:
        if layer.name == DUELING_LAYER and not dueling:
            dueling = True
            continue
        name = activation_name(layer) if isinstance(layer, keras.layers.Dense) else None
        if name is None or not layer.use_bias or dueling:
            return None
        entries.append((layer.kernel, layer.bias, ACTIVATIONS[name]))
    if not entries or (dueling and len(entries) < 2):
        return None
    return entries, dueling


class Conv2D:
    """A Keras ``Conv2D`` (channels last, no dilation or groups) as a matrix product on the
    image patches of its input, on weights copied by :meth:`refresh`."""

    def __init__(self, layer: Any, activation: Any) -> None:
        self.layer, self.activation = layer, activation
        self.strides = tuple(int(s) for s in layer.strides)
        self.same = layer.padding == "same"
        self.refresh()

    @classmethod
    def of(cls, layer: Any) -> Conv2D | None:
        """The NumPy twin of a Keras ``Conv2D`` layer, or None if it has options it lacks."""
        name = activation_name(layer)
        plain = (layer.data_format == "channels_last" and tuple(layer.dilation_rate) == (1, 1)
                 and getattr(layer, "groups", 1) == 1 and layer.use_bias and layer.padding in ("valid", "same"))
        return cls(layer, ACTIVATIONS[name]) if plain and name is not None else None

    def refresh(self) -> None:
        kernel = np.asarray(self.layer.kernel, np.float32)
        self.size = kernel.shape[:2]
        self.kernel = kernel.reshape(-1, kernel.shape[-1])  # rows in (kh, kw, C) order, as the patches
        self.bias = np.asarray(self.layer.bias, np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        (kh, kw), (sh, sw) = self.size, self.strides
        if self.same:  # TensorFlow's SAME: ceil(in / stride) outputs, the odd pixel of padding after
            pads = [(0, 0)]
            for size, k, s in ((x.shape[1], kh, sh), (x.shape[2], kw, sw)):
                total = max((-(-size // s) - 1) * s + k - size, 0)
                pads.append((total // 2, total - total // 2))
            x = np.pad(x, [*pads, (0, 0)])
        windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
        n, rows, cols = windows.shape[:3]
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * rows * cols, -1)  # (kh, kw, C) order
        return self.activation(patches @ self.kernel + self.bias).reshape(n, rows, cols, -1)


def image_front(model: Any) -> tuple[list[Any], list[tuple[Any, Any, Any]], bool] | None:
    """``(front, entries, dueling)`` of a network made of the layers gymkit's CNN encoders use,
    else None: ``front`` holds the NumPy steps up to the flattened features (layout moves,
    pixel scaling, convolutions), ``entries`` and ``dueling`` the dense layers after them as
    :func:`dense_layers` gives them."""
    import keras

    front: list[Any] = []
    convs = False  # a convolution has been met: no more layout or scaling steps
    layers = [layer for layer in _leaves(model) if not isinstance(layer, keras.layers.InputLayer)]
    for i, layer in enumerate(layers):
        if isinstance(layer, keras.layers.Flatten) and convs:
            found = _dense_entries(layers[i + 1:])
            return None if found is None else (front, *found)
        if isinstance(layer, keras.layers.Conv2D) and type(layer).__name__ == "Conv2D":
            conv = Conv2D.of(layer)
            if conv is None:
                return None
            front.append(conv)
            convs = True
        elif isinstance(layer, keras.layers.Reshape) and not convs:
            front.append(lambda x, shape=tuple(layer.target_shape): x.reshape(len(x), *shape))
        elif isinstance(layer, keras.layers.Permute) and not convs:
            front.append(lambda x, axes=(0, *layer.dims): np.ascontiguousarray(x.transpose(axes)))
        elif isinstance(layer, keras.layers.Rescaling) and not convs:
            scale, offset = np.float32(layer.scale), np.float32(layer.offset)
            front.append(lambda x, a=scale, b=offset: x.astype(np.float32) * a + b)
        else:
            return None
    return None  # no Flatten after convolutions


class NumpyForward:
    """A dense network in NumPy, on weights copied by :meth:`refresh`.

    Args:
        entries: ``(kernel, bias, activation)`` per layer, in order (Keras variables).
        dueling: the last two entries are DQN's V and A heads, combined as
            :func:`~gymkit.agents.nn.heads.dueling_q`.
        front: NumPy steps before the dense layers (an image network's layout moves,
            pixel scaling and :class:`Conv2D` layers; :func:`image_front`).
    """

    def __init__(self, entries: list[tuple[Any, Any, Any]], dueling: bool = False,
                 front: list[Any] | None = None) -> None:
        self._entries = entries
        self.dueling = dueling
        self._front = list(front or [])
        self._weights: list[tuple[np.ndarray, np.ndarray, Any]] = []
        self.refresh()

    @classmethod
    def from_model(cls, model: Any) -> NumpyForward | None:
        """The NumPy twin of ``model``, or None if it is not a plain dense network or an
        image network of gymkit's CNN layers that gives the model's answers."""
        found = dense_layers(model)
        if found is not None:
            return cls(*found)
        image = image_front(model)
        if image is None:
            return None
        front, entries, dueling = image
        twin = cls(entries, dueling, front)
        # gymkit's own CNN encoders are held to Keras's answers by the tests; any other
        # image network is checked here, once (0.01-0.07 s)
        ours = any(getattr(layer, "_gymkit_cnn", False) for layer in model.layers)
        return twin if ours or twin.matches(model) else None

    def matches(self, model: Any, rows: int = 2) -> bool:
        """Whether this path gives ``model``'s outputs (to float rounding) on random inputs
        drawn over its input's range (bytes 0-255 for uint8 images, else [0, 1))."""
        shape, dtype = tuple(model.inputs[0].shape[1:]), np.dtype(model.inputs[0].dtype)
        rng = np.random.default_rng(0)
        x = (rng.integers(0, 256, (rows, *shape)) if dtype.kind in "ui" else rng.random((rows, *shape))).astype(dtype)
        want = np.asarray(model(x, training=False))
        got = self(x)
        scale = max(float(np.abs(want).max()), 1.0)
        return got.shape == want.shape and bool(np.allclose(got, want, rtol=1e-4, atol=1e-4 * scale))

    def refresh(self) -> None:
        """Copy the current weights (call after every update, copy or load)."""
        self._weights = [(np.asarray(k, np.float32), np.asarray(b, np.float32), f) for k, b, f in self._entries]
        for step in self._front:
            if isinstance(step, Conv2D):
                step.refresh()

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        if self._front:  # an image network: its products are large enough for OpenBLAS's threads
            with one_blas_thread():
                return self._forward(observations)
        return self._forward(observations)

    def _forward(self, observations: np.ndarray) -> np.ndarray:
        x = np.asarray(observations)
        for step in self._front:
            x = step(x)
        x = np.asarray(x, dtype=np.float32).reshape(len(observations), -1)
        body = self._weights[:-2] if self.dueling else self._weights
        for kernel, bias, activation in body:
            x = activation(x @ kernel + bias)
        if not self.dueling:
            return x
        (vk, vb, _), (ak, ab, _) = self._weights[-2:]
        return dueling_q(x @ vk + vb, x @ ak + ab)
