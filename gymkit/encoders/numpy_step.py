"""One step of a :class:`~gymkit.encoders.recurrent.RecurrentEncoder` in NumPy, for acting.

A stateful agent advances its recurrent state once per env step on a handful of rows. Through
a ``tf.function`` each call costs a graph dispatch of a few hundred microseconds for matrices
of a few thousand numbers; the same step in NumPy costs tens of microseconds. This module
evaluates the cells' equations on NumPy copies of the Keras weights (copied by
:meth:`NumpyRecurrentStep.refresh`, which the agents call after every update, copy or load)::

    simple-rnn   h = act(x.Wx + h.Wh + b)
    lstm         z = x.Wx + h.Wh + b = [z_i, z_f, z_g, z_o]   (gate blocks in this order)
                 i = sigma(z_i + w_ci * c),  f = sigma(z_f + w_cf * c),  g = tanh(z_g)
                 c' = f * c + i * g,  o = sigma(z_o + w_co * c'),  h' = o * tanh(c')
                 (the peephole terms w_c* only with peepholes: gymkit.encoders.peephole)
    gru          Keras's reset_after=True: bias is (2, 3u), an input row b_x and a recurrent row b_h
                 [x_z, x_r, x_h] = x.Wx + b_x,  [h_z, h_r, h_h] = h.Wh + b_h
                 z = ra(x_z + h_z),  r = ra(x_r + h_r),  n = act(x_h + r * h_h)
                 h' = z * h + (1 - z) * n
                 (reset_after=False: one bias row, and n = act(x_h + (r * h).Wh_h))

``act``/``ra`` are the cells' ``activation``/``recurrent_activation`` (tanh/sigmoid unless set).
The state layout is the encoder's: one list per layer, ``[h]`` or ``[h, c]`` (LSTM).
Dropout is not applied: the encoder's dropout layers act only in training.

This module imports NumPy only; :meth:`NumpyRecurrentStep.from_encoder` reads the Keras
variables of an encoder the caller already built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray


def _sigmoid(x: Array) -> Array:
    # sigma(x) = (1 + tanh(x / 2)) / 2: exact, and no overflow warning for large -x
    # (1 / (1 + exp(-x)) overflows exp in float32 beyond x = -88).
    return 0.5 * np.tanh(0.5 * x) + 0.5


def _hard_sigmoid(x: Array) -> Array:
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)  # Keras 3: relu6(x + 3) / 6


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
}


def _activation(fn: Any) -> Callable[[Array], Array] | None:
    """The NumPy twin of a Keras activation function (None when unknown)."""
    if fn is None:
        return ACTIVATIONS["linear"]
    return ACTIVATIONS.get(getattr(fn, "__name__", ""))


class _Cell:
    """One layer's cell: its kind, activations, Keras variables and NumPy copies."""

    def __init__(self, kind: str, cell: Any, act: Any = None, rec_act: Any = None) -> None:
        self.kind, self.cell, self.units = kind, cell, int(cell.units)
        self.act, self.rec_act = act, rec_act
        self.params: dict[str, Array] = {}

    def refresh(self) -> None:
        cell, u = self.cell, self.units
        kernel = np.asarray(cell.kernel, np.float32)
        recurrent = np.asarray(cell.recurrent_kernel, np.float32)
        bias = getattr(cell, "bias", None)
        bias = None if bias is None else np.asarray(bias, np.float32)
        p: dict[str, Array] = {}
        if self.kind == "gru":
            if bias is None:
                bias = np.zeros((2 if cell.reset_after else 1) * 3 * u, np.float32)
            if cell.reset_after:  # (2, 3u): input row, recurrent row
                p.update(kernel=kernel, b_x=bias.reshape(2, 3 * u)[0],
                         recurrent=recurrent, b_h=bias.reshape(2, 3 * u)[1])
            else:
                p.update(kernel=kernel, b_x=bias.reshape(3 * u), recurrent_zr=recurrent[:, : 2 * u],
                         recurrent_h=recurrent[:, 2 * u:])
        else:
            # simple-rnn and lstm: x.Wx + h.Wh = [x, h].[Wx; Wh], one matmul per step
            p["stacked"] = np.ascontiguousarray(np.concatenate([kernel, recurrent], axis=0))
            p["bias"] = np.zeros(kernel.shape[1], np.float32) if bias is None else bias
            if self.kind == "peephole":
                p.update({f"w_{g}": np.asarray(getattr(cell, f"peephole_{g}"), np.float32)
                          for g in "ifo"})
        self.params = p

    def step(self, x: Array, state: list[Array]) -> tuple[Array, list[Array]]:
        p, u = self.params, self.units
        if self.kind == "simple-rnn":
            h = self.act(np.concatenate([x, state[0]], axis=1) @ p["stacked"] + p["bias"])
            return h, [h]
        if self.kind == "gru":
            return self._gru(x, state[0])
        h_prev, c_prev = state
        z = np.concatenate([x, h_prev], axis=1) @ p["stacked"] + p["bias"]
        if self.kind == "peephole":
            z[:, :u] += p["w_i"] * c_prev  # the input and forget gates peek at c(t-1)
            z[:, u: 2 * u] += p["w_f"] * c_prev
            i, f = _sigmoid(z[:, :u]), _sigmoid(z[:, u: 2 * u])
            c = f * c_prev + i * np.tanh(z[:, 2 * u: 3 * u])
            o = _sigmoid(z[:, 3 * u:] + p["w_o"] * c)  # the output gate peeks at c(t)
            h = o * np.tanh(c)
            return h, [h, c]
        # Keras LSTMCell: its own activation / recurrent_activation, no peepholes
        gates = self.rec_act(z)  # i, f, (unused), o in one call
        c = gates[:, u: 2 * u] * c_prev + gates[:, :u] * self.act(z[:, 2 * u: 3 * u])
        h = gates[:, 3 * u:] * self.act(c)
        return h, [h, c]

    def _gru(self, x: Array, h_prev: Array) -> tuple[Array, list[Array]]:
        p, u = self.params, self.units
        x_all = x @ p["kernel"] + p["b_x"]
        if self.cell.reset_after:
            h_all = h_prev @ p["recurrent"] + p["b_h"]
            zr = self.rec_act(x_all[:, : 2 * u] + h_all[:, : 2 * u])
            z, r = zr[:, :u], zr[:, u:]
            n = self.act(x_all[:, 2 * u:] + r * h_all[:, 2 * u:])
        else:
            zr = self.rec_act(x_all[:, : 2 * u] + h_prev @ p["recurrent_zr"])
            z, r = zr[:, :u], zr[:, u:]
            n = self.act(x_all[:, 2 * u:] + (r * h_prev) @ p["recurrent_h"])
        h = z * h_prev + (1.0 - z) * n
        return h, [h]


def _cell_kind(cell: Any) -> _Cell | None:
    """Wrap a known cell (exact class: a subclass may change the equations), else None."""
    import keras  # the encoder exists, so Keras is loaded already

    from gymkit.encoders.peephole import PeepholeLSTMCell

    kind = type(cell)
    if kind is PeepholeLSTMCell:
        return _Cell("peephole" if cell.use_peepholes else "lstm-plain", cell,
                     ACTIVATIONS["tanh"], ACTIVATIONS["sigmoid"])
    act, rec_act = _activation(getattr(cell, "activation", None)), _activation(
        getattr(cell, "recurrent_activation", None))
    if act is None or rec_act is None:
        return None
    if kind is keras.layers.SimpleRNNCell:
        return _Cell("simple-rnn", cell, act)
    if kind is keras.layers.GRUCell:
        return _Cell("gru", cell, act, rec_act)
    if kind is keras.layers.LSTMCell:
        return _Cell("keras-lstm", cell, act, rec_act)
    return None


class NumpyRecurrentStep:
    """``(features, new_state) = step(observations, state)`` of a recurrent encoder, in NumPy.

    Build with :meth:`from_encoder` (None for an encoder this cannot mirror); call
    :meth:`refresh` whenever the encoder's weights change.

    Args:
        cells: one wrapped cell per stacked layer, bottom first.
        obs_size: flattened size of one observation.
    """

    def __init__(self, cells: list[_Cell], obs_size: int) -> None:
        self.cells = cells
        self.obs_size = int(obs_size)
        self.refresh()

    @classmethod
    def from_encoder(cls, encoder: Any) -> NumpyRecurrentStep | None:
        """Mirror a :class:`~gymkit.encoders.recurrent.RecurrentEncoder`; None for anything
        else (another recurrent model, a subclass with its own ``run``/``step``, an unknown
        cell or activation, a backwards layer)."""
        from gymkit.encoders.recurrent import RecurrentEncoder

        kind = type(encoder)
        if not isinstance(encoder, RecurrentEncoder) or any(
                getattr(kind, name) is not getattr(RecurrentEncoder, name) for name in ("run", "step")):
            return None
        cells = []
        for rnn in encoder.rnn_layers:
            if getattr(rnn, "go_backwards", False):
                return None
            cell = _cell_kind(rnn.cell)
            if cell is None:
                return None
            cells.append(cell)
        return cls(cells, encoder.obs_size)

    def refresh(self) -> None:
        """Copy the current weights (call after every update, copy or load)."""
        for cell in self.cells:
            cell.refresh()

    def initial_state(self, batch_size: int) -> list[list[Array]]:
        """Zero state for ``batch_size`` rows: per layer ``[h]`` or ``[h, c]``."""
        return [[np.zeros((batch_size, c.units), np.float32)
                 for _ in range(2 if c.kind in ("peephole", "lstm-plain", "keras-lstm") else 1)]
                for c in self.cells]

    def __call__(self, observations: Array, state: list[list[Array]]) -> tuple[Array, list[list[Array]]]:
        """One step for ``observations (B, *obs_shape)``: ``(features (B, H), new state)``.

        ``state`` is not modified; the new state is made of new arrays.
        """
        x = np.asarray(observations, np.float32).reshape(len(observations), self.obs_size)
        new_state = []
        for cell, layer_state in zip(self.cells, state, strict=True):
            x, layer_new = cell.step(x, [np.asarray(s, np.float32) for s in layer_state])
            new_state.append(layer_new)
        return x, new_state
