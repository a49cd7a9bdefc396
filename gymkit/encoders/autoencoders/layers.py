"""Decoder layers Keras lacks: DenseTranspose (tied weights) and PixelBias (a per-pixel bias).

DenseTranspose: a decoder layer whose kernel is an encoder layer's, transposed.

Keras 3 has no tied dense layer. The book (section "Tying Weights") defines the decoder's
weights as ``W_{N-L+1} = W_L^T`` for ``L = 1 .. N/2``: the decoder layer owns only its
bias (biases are never tied), and its kernel is the encoder layer's variable read through
a transpose, so one variable receives the gradients of both uses.

Only the encoder half of an autoencoder is saved (plain Keras layers), so this layer is
never serialised.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


class DenseTranspose(keras.layers.Layer):
    """``outputs = activation(inputs @ tied.kernel^T + bias)``.

    Args:
        tied: the encoder's ``keras.layers.Dense`` (already built) whose kernel is shared.
        activation: a Keras activation name or None (linear).
        bias_initializer: initializer of this layer's own bias.
    """

    def __init__(self, tied: keras.layers.Dense, activation: Any = None,
                 bias_initializer: str = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Held in a list so the encoder layer is not re-owned by this one; Keras tracks its
        # variable once in any model holding both layers (checked in tests).
        self._tied = [tied]
        self.activation = keras.activations.get(activation)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    @property
    def tied(self) -> keras.layers.Dense:
        """The encoder layer whose kernel this layer uses."""
        return self._tied[0]

    def build(self, input_shape: Any) -> None:
        units = int(self.tied.kernel.shape[0])  # the encoder layer's input width
        self.bias = self.add_weight(shape=(units,), initializer=self.bias_initializer, name="bias")

    def call(self, inputs: Any) -> Any:
        kernel = keras.ops.transpose(self.tied.kernel)  # W^T: not a variable, a view of W
        return self.activation(keras.ops.matmul(inputs, kernel) + self.bias)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (*input_shape[:-1], int(self.tied.kernel.shape[0]))


class PixelBias(keras.layers.Layer):
    """``outputs = activation(inputs + b)`` with one bias per output element (pixel).

    A transposed conv has one bias per channel, so it cannot hold a mean picture. Set to the
    mean training frame (its logit before a sigmoid), this bias makes an untrained decoder
    output the mean frame, the reconstruction that codings without information give, and
    the layers learn only what differs from it (on Ms. Pac-Man the maze is almost all of
    a frame).

    Args:
        initial: the starting bias, shape = the layer's input shape without the batch axis.
        activation: a Keras activation name or None.
    """

    def __init__(self, initial: Any, activation: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initial = np.asarray(initial, np.float32)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: Any) -> None:
        self.bias = self.add_weight(shape=self.initial.shape, initializer="zeros", name="bias")
        self.bias.assign(self.initial)

    def call(self, inputs: Any) -> Any:
        return self.activation(inputs + self.bias)
