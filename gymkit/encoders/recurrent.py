"""Recurrent encoders: SimpleRNN, LSTM (optionally with peepholes) and GRU, stacked, masked.

A recurrent encoder reads sequences ``(batch, time, *obs_shape)`` and returns features for
every step ``(batch, time, output_dim)``. Sequences of different lengths are right-padded with
:func:`gymkit.encoders.sequences.ragged_to_padded`, whose boolean mask ``(batch, time)`` is
passed as ``mask=``: a padded step leaves the state unchanged, so the outputs on real steps and
the final state equal those of each sequence run alone.

Like TF-Agents' recurrent networks, the encoder also works as ``(output, state)``:

    state = encoder.get_initial_state(num_envs)
    features, state = encoder.step(observations, state)     # one env step, (num_envs, *obs)
    state = encoder.reset_state(state, episode_starts)      # zero rows whose episode restarts

``step`` and ``run`` are plain TF ops: agents call them inside their ``tf.function``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from gymkit.encoders.peephole import PeepholeLSTMCell
from gymkit.encoders.sequences import ragged_to_padded  # noqa: F401  (re-exported)
from gymkit.errors import ConfigError

CELLS = ("simple-rnn", "lstm", "gru")


def _initializer(name: str, seed: int | None) -> Any:
    return keras.initializers.get({"class_name": name, "config": {"seed": seed}})


def make_cell(cell: str, units: int, *, peephole: bool = False, seed: int | None = None) -> Any:
    """One recurrent cell by name ("simple-rnn", "lstm", "gru"), its weights seeded."""
    kernel = _initializer("glorot_uniform", seed)
    recurrent = _initializer("orthogonal", None if seed is None else seed + 1)
    if cell == "lstm":  # our cell for both: its equations are written out and tested
        return PeepholeLSTMCell(units, use_peepholes=peephole, kernel_initializer=kernel,
                                recurrent_initializer=recurrent)
    if peephole:
        raise ConfigError(f"peephole connections exist only for the lstm cell, not '{cell}'")
    if cell == "simple-rnn":
        return keras.layers.SimpleRNNCell(units, kernel_initializer=kernel,
                                          recurrent_initializer=recurrent)
    if cell == "gru":
        return keras.layers.GRUCell(units, kernel_initializer=kernel, recurrent_initializer=recurrent)
    raise ConfigError(f"unknown recurrent cell '{cell}'; known cells: {', '.join(CELLS)}")


class RecurrentEncoder(keras.Model):
    """Stacked recurrent layers from observation sequences to per-step features.

    Args:
        obs_shape: shape of one observation (flattened per step).
        cell: "simple-rnn", "lstm" or "gru".
        hidden_sizes: units of each stacked layer (the deep RNN of the book's chapter 14).
        dropout: rate of dropout on each layer's inputs, active only with ``training=True``
            (the book's ``DropoutWrapper(cell, input_keep_prob=1 - rate)``).
        peephole: LSTM with peephole connections.
        seed: seeds weights (layer ``i`` uses ``seed + 10 i``) and dropout.
    """

    is_recurrent = True

    def __init__(
        self,
        obs_shape: Sequence[int],
        cell: str = "lstm",
        hidden_sizes: Sequence[int] = (64,),
        dropout: float = 0.0,
        peephole: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True  # masks are taken as ``mask=`` and handled by the RNN layers
        if not hidden_sizes:
            raise ConfigError("a recurrent encoder needs at least one layer: set hidden_sizes, e.g. [64]")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.obs_size = int(np.prod(self.obs_shape))
        self.cell_name = cell
        self.hidden_sizes = [int(u) for u in hidden_sizes]
        self.rnn_layers = [
            keras.layers.RNN(
                make_cell(cell, units, peephole=peephole, seed=None if seed is None else seed + 10 * i),
                return_sequences=True, return_state=True, name=f"{cell}_{i}",
            )
            for i, units in enumerate(self.hidden_sizes)
        ]
        self.dropout_layers = [
            keras.layers.Dropout(dropout, seed=None if seed is None else seed + 10 * i + 5)
            for i in range(len(self.hidden_sizes))
        ] if dropout > 0 else []
        self.output_dim = self.hidden_sizes[-1]

    def build(self, input_shape: Any = None) -> None:
        """Create every layer's weights from the observation size, in layer order.

        Without this, Keras's first call would build the layers by running ``call`` on
        symbolic inputs, which traces each recurrent layer's time loop (about 0.1 s per
        network on a 2-core CPU); the weights, their order and their values are the same.
        """
        size = self.obs_size
        for i, rnn in enumerate(self.rnn_layers):
            if self.dropout_layers:
                self.dropout_layers[i].build((None, None, size))
            rnn.build((None, None, size))
            size = self.hidden_sizes[i]
        self.built = True

    def run(
        self, sequences: Any, mask: Any = None, initial_state: Any = None, training: bool = False
    ) -> tuple[Any, list[list[Any]]]:
        """``(outputs (B, T, output_dim), final state)``; the state is one list per layer.

        ``mask`` (B, T) is true on real steps; a masked step keeps the state as it was, so the
        final state of a right-padded sequence is its state after its last real step.
        """
        x = ops.cast(sequences, "float32")
        shape = ops.shape(x)
        x = ops.reshape(x, (shape[0], shape[1], self.obs_size))
        if mask is not None:
            mask = ops.cast(mask, "bool")
        states = []
        for i, rnn in enumerate(self.rnn_layers):
            if self.dropout_layers:
                x = self.dropout_layers[i](x, training=training)
            init = None if initial_state is None else list(initial_state[i])
            x, *state = rnn(x, initial_state=init, mask=mask, training=training)
            states.append(state)
        return x, states

    def call(self, inputs: Any, mask: Any = None, training: bool = False) -> Any:
        """Per-step features of ``inputs`` (B, T, *obs_shape)."""
        return self.run(inputs, mask=mask, training=training)[0]

    def get_initial_state(self, batch_size: int) -> list[list[Any]]:
        """Zero state for ``batch_size`` sequences: per layer, ``[h]`` or ``[h, c]`` (LSTM)."""
        n = 2 if self.cell_name == "lstm" else 1
        return [[ops.zeros((batch_size, units)) for _ in range(n)] for units in self.hidden_sizes]

    def step(self, observations: Any, state: Any, training: bool = False) -> tuple[Any, list[list[Any]]]:
        """One step for a batch of observations ``(B, *obs_shape)``: ``(features (B, H), state)``."""
        out, new_state = self.run(ops.expand_dims(observations, 1), initial_state=state,
                                  training=training)
        return out[:, 0], new_state

    @staticmethod
    def reset_state(state: Any, starts: Any) -> list[list[Any]]:
        """Zero the rows of ``state`` whose episode starts now (``starts``: (B,) bool)."""
        keep = 1.0 - ops.cast(ops.reshape(starts, (-1, 1)), "float32")
        return [[s * keep for s in layer] for layer in state]


def build_recurrent(
    observation_space: Any,
    cell: str = "lstm",
    hidden_sizes: Sequence[int] = (64,),
    dropout: float = 0.0,
    peephole: bool = False,
    seed: int | None = None,
    name: str | None = None,
    **_: Any,
) -> RecurrentEncoder:
    """Build (and run once, so its weights exist) a :class:`RecurrentEncoder` for a Box space.

    Extra options an agent passes to every encoder (e.g. ``activation``) are ignored: the
    cells keep their gate activations.
    """
    if cell not in CELLS:
        raise ConfigError(f"unknown recurrent cell '{cell}'; known cells: {', '.join(CELLS)}")
    model = RecurrentEncoder(tuple(observation_space.shape), cell=cell, hidden_sizes=hidden_sizes,
                             dropout=dropout, peephole=peephole, seed=seed,
                             name=name or f"{cell.replace('-', '_')}_encoder")
    model(np.zeros((1, 1, *observation_space.shape), np.float32))  # via __call__: marks it built
    return model


def build_simple_rnn(observation_space: Any, **options: Any) -> RecurrentEncoder:
    """Stacked SimpleRNN cells (the book's ``BasicRNNCell``)."""
    return build_recurrent(observation_space, cell="simple-rnn", **options)


def build_lstm(observation_space: Any, **options: Any) -> RecurrentEncoder:
    """Stacked LSTM cells; ``peephole=True`` adds peephole connections."""
    return build_recurrent(observation_space, cell="lstm", **options)


def build_gru(observation_space: Any, **options: Any) -> RecurrentEncoder:
    """Stacked GRU cells (Keras's, with the reset gate applied after the matmul)."""
    return build_recurrent(observation_space, cell="gru", **options)
