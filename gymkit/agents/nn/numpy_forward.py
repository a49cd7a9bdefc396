"""The acting fast path of the neural agents: a dense network's forward pass in NumPy.

A Keras call (even a traced ``tf.function``) costs a graph dispatch per env step; a NumPy
forward pass of a 4-256-256-2 MLP costs tens of microseconds. DQN (plain and dueling heads,
the recurrent heads) and REINFORCE (policy and value) act through this one class. Both read
weights copied by :meth:`NumpyForward.refresh`, so an agent calls it after every update,
copy or load: its "stale" flag is the one protocol.

Imports Keras only inside :func:`dense_layers` (building the path), not to run it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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

    entries: list[tuple[Any, Any, Any]] = []
    dueling = False
    for layer in _leaves(model):
        if isinstance(layer, keras.layers.InputLayer | keras.layers.Flatten):
            continue
        if layer.name == DUELING_LAYER and not dueling:
            dueling = True
            continue
        name = activation_name(layer) if isinstance(layer, keras.layers.Dense) else None
        if name is None or not layer.use_bias or dueling:
            return None
        entries.append((layer.kernel, layer.bias, ACTIVATIONS[name]))
    body = entries[:-2] if dueling else entries
    inputs = [int(np.prod(model.input_shape[1:]))] + [int(k.shape[1]) for k, _, _ in body]
    reads = [int(k.shape[0]) for k, _, _ in body] + ([int(k.shape[0]) for k, _, _ in entries[-2:]] if dueling else [])
    chained = reads == inputs[:len(body)] + ([inputs[-1]] * 2 if dueling else [])
    if not entries or (dueling and len(entries) < 2) or not chained:
        return None
    return entries, dueling


class NumpyForward:
    """A dense network in NumPy, on weights copied by :meth:`refresh`.

    Args:
        entries: ``(kernel, bias, activation)`` per layer, in order (Keras variables).
        dueling: the last two entries are DQN's V and A heads, combined as
            :func:`~gymkit.agents.nn.heads.dueling_q`.
    """

    def __init__(self, entries: list[tuple[Any, Any, Any]], dueling: bool = False) -> None:
        self._entries = entries
        self.dueling = dueling
        self._weights: list[tuple[np.ndarray, np.ndarray, Any]] = []
        self.refresh()

    @classmethod
    def from_model(cls, model: Any) -> NumpyForward | None:
        """The NumPy twin of ``model``, or None if it is not a plain dense network."""
        found = dense_layers(model)
        return None if found is None else cls(*found)

    def refresh(self) -> None:
        """Copy the current weights (call after every update, copy or load)."""
        self._weights = [(np.asarray(k, np.float32), np.asarray(b, np.float32), f) for k, b, f in self._entries]

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        x = np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)
        body = self._weights[:-2] if self.dueling else self._weights
        for kernel, bias, activation in body:
            x = activation(x @ kernel + bias)
        if not self.dueling:
            return x
        (vk, vb, _), (ak, ab, _) = self._weights[-2:]
        return dueling_q(x @ vk + vb, x @ ak + ab)
