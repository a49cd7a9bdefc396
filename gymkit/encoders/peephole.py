"""An LSTM cell with optional peephole connections (Keras 3 has none; TF 1 had ``use_peepholes``).

The book's LSTM cell (Equation 14-3), with the peepholes of Gers and Schmidhuber (2000): the
forget and input gates also look at the previous long-term state c(t-1), the output gate at the
current one c(t). As in TF 1's ``LSTMCell(use_peepholes=True)``, a peephole is a diagonal
(element-wise) weight vector::

    i(t) = sigma(Wxi.x(t) + Whi.h(t-1) + wci * c(t-1) + bi)
    f(t) = sigma(Wxf.x(t) + Whf.h(t-1) + wcf * c(t-1) + bf)      bf starts at 1 (book, p. 403)
    g(t) = tanh (Wxg.x(t) + Whg.h(t-1) + bg)
    c(t) = f(t) * c(t-1) + i(t) * g(t)
    o(t) = sigma(Wxo.x(t) + Who.h(t-1) + wco * c(t) + bo)
    y(t) = h(t) = o(t) * tanh(c(t))

Weights are stored like Keras's ``LSTMCell``: one ``kernel`` (inputs x 4 units) and one
``recurrent_kernel`` (units x 4 units), gate blocks in the order i, f, g, o.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="gymkit")
class PeepholeLSTMCell(keras.layers.Layer):
    """LSTM cell for ``keras.layers.RNN``; state ``[h, c]``, output ``h``.

    Args:
        units: size of h and c.
        use_peepholes: add the peephole connections (False gives the plain LSTM cell).
        kernel_initializer, recurrent_initializer: Keras initializers (seeded ones for
            reproducible weights).
        unit_forget_bias: start the forget-gate bias at 1 (the book's note on TensorFlow).
        peephole_initializer: initializer of the three peephole vectors (zeros: training
            starts from the plain LSTM and learns how much to peek).
    """

    def __init__(
        self,
        units: int,
        use_peepholes: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        unit_forget_bias: bool = True,
        peephole_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self.use_peepholes = bool(use_peepholes)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape: Any) -> None:
        u = self.units
        self.kernel = self.add_weight(shape=(int(input_shape[-1]), 4 * u), name="kernel",
                                      initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight(shape=(u, 4 * u), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer)

        def bias_init(shape: Any, dtype: Any = None) -> Any:
            forget = ops.ones((u,)) if self.unit_forget_bias else ops.zeros((u,))
            return ops.cast(ops.concatenate([ops.zeros((u,)), forget, ops.zeros((2 * u,))]), dtype)

        self.bias = self.add_weight(shape=(4 * u,), name="bias", initializer=bias_init)
        if self.use_peepholes:
            self.peephole_i, self.peephole_f, self.peephole_o = (
                self.add_weight(shape=(u,), name=f"peephole_{g}", initializer=self.peephole_initializer)
                for g in "ifo"
            )
        self.built = True

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, list[Any]]:
        h_prev, c_prev = states[0], states[1]
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
        z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
        if self.use_peepholes:  # the gates that decide what to keep peek at c(t-1)
            z_i = z_i + self.peephole_i * c_prev
            z_f = z_f + self.peephole_f * c_prev
        i = ops.sigmoid(z_i)
        f = ops.sigmoid(z_f)
        g = ops.tanh(z_g)
        c = f * c_prev + i * g
        if self.use_peepholes:  # the output gate peeks at the new c(t)
            z_o = z_o + self.peephole_o * c
        h = ops.sigmoid(z_o) * ops.tanh(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "use_peepholes": self.use_peepholes,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
            "unit_forget_bias": self.unit_forget_bias,
        }
