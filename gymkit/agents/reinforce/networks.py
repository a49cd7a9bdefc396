"""The policy and value networks of REINFORCE: an encoder with a head on top.

The encoder is any Keras model from observations to features (:mod:`gymkit.encoders`);
the policy head is one dense layer of ``n_actions`` logits, the value head one unit.
Keeping the encoder a separate model means a recurrent or pretrained encoder plugs in by
its spec alone. This module imports TensorFlow/Keras; the agent imports it lazily.
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym
import keras
import numpy as np

from gymkit.encoders import make_encoder, resolve_encoder
from gymkit.errors import ConfigError


def build_encoder(observation_space: gym.Space, config: Any, seed: int, name: str) -> keras.Model:
    """Build the encoder named by ``config.encoder``, passing only the options it accepts.

    The MLP options (``hidden_sizes``, ``activation``, ``kernel_initializer``, ``seed``)
    go to any builder whose signature has them, plus everything in ``encoder_options``;
    so a later encoder (recurrent, autoencoder) needs no change here.
    """
    builder = resolve_encoder(config.encoder)
    options = {
        "hidden_sizes": tuple(config.hidden_sizes),
        "activation": config.activation,
        "kernel_initializer": config.kernel_initializer,
        "seed": seed,
        "name": name,
    }
    params = inspect.signature(builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not takes_any:
        options = {k: v for k, v in options.items() if k in params}
    options.update(config.encoder_options or {})
    try:
        encoder = make_encoder(config.encoder, observation_space, **options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"encoder {config.encoder!r} could not be built for {observation_space} ({exc}): "
            "check encoder_options and the observation space"
        ) from None
    return encoder


def is_recurrent(model: Any) -> bool:
    """True for a recurrent encoder, or a network built on one."""
    return bool(getattr(model, "is_recurrent", False))


class RecurrentHead(keras.Model):
    """A recurrent encoder followed by a linear dense layer, applied at every step.

    ``call(sequences (B, T, *obs), mask (B, T))`` gives ``(B, T, units)``: the output at step
    ``t`` depends on the observations ``0..t`` of its sequence only. ``step(obs, state)`` is
    the same network one env step at a time with the state carried by the caller.
    """

    is_recurrent = True

    def __init__(self, encoder: keras.Model, units: int, init: Any, name: str) -> None:
        super().__init__(name=name)
        self.supports_masking = True  # the mask goes to the encoder's recurrent layers
        self.encoder = encoder
        self.head = keras.layers.Dense(units, kernel_initializer=init, name=f"{name}_head")
        self.head.build((None, encoder.output_dim))

    def call(self, sequences: Any, mask: Any = None, training: bool = False) -> Any:
        return self.head(self.encoder(sequences, mask=mask, training=training))

    def step(self, observations: Any, state: Any) -> tuple[Any, Any]:
        features, state = self.encoder.step(observations, state)
        return self.head(features), state

    def get_initial_state(self, batch_size: int) -> Any:
        return self.encoder.get_initial_state(batch_size)


def _head(encoder: keras.Model, units: int, init: Any, name: str) -> keras.Model:
    """``encoder`` followed by a linear dense layer of ``units`` outputs (per step when the
    encoder is recurrent: :class:`RecurrentHead`)."""
    if is_recurrent(encoder):
        model = RecurrentHead(encoder, units, init, name)
        model(np.zeros((1, 1, *encoder.obs_shape), np.float32))  # marks it built (load_weights)
        return model
    inputs = keras.Input(shape=encoder.input_shape[1:], dtype=encoder.inputs[0].dtype, name="obs")
    features = encoder(inputs)
    if len(features.shape) > 2:
        features = keras.layers.Flatten()(features)
    outputs = keras.layers.Dense(units, kernel_initializer=init, name=f"{name}_head")(features)
    return keras.Model(inputs, outputs, name=name)


def build_policy(
    observation_space: gym.Space, n_actions: int, config: Any, seed: int
) -> tuple[keras.Model, keras.Model]:
    """Return ``(encoder, policy)``: the policy maps observations to ``n_actions`` logits.

    The book's CartPole network has one sigmoid output, p(left). A softmax over two logits
    is the same family of policies: ``softmax(z)[0] = sigmoid(z_0 - z_1)``; softmax
    generalises it to any number of actions.
    """
    encoder = build_encoder(observation_space, config, seed, "policy_encoder")
    init = keras.initializers.get(
        {"class_name": config.kernel_initializer, "config": {"seed": seed + 10_000}}
    )
    policy = _head(encoder, n_actions, init, "policy")
    if config.head_init_scale != 1.0:
        # Small initial logits give a near-uniform first policy (more exploration early on).
        head = policy.head if isinstance(policy, RecurrentHead) else policy.get_layer("policy_head")
        head.kernel.assign(head.kernel * config.head_init_scale)
    return encoder, policy


def build_value(observation_space: gym.Space, config: Any, seed: int) -> keras.Model:
    """A separate network ``V(s)`` (its own encoder), so the policy's and value's
    gradients never mix and need no loss weight between them."""
    encoder = build_encoder(observation_space, config, seed + 20_000, "value_encoder")
    init = keras.initializers.VarianceScaling(1.0, "fan_in", "truncated_normal", seed=seed + 30_000)
    return _head(encoder, 1, init, "value")


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """A Keras optimizer by the config's name."""
    classes = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
               "sgd": keras.optimizers.SGD}
    return classes[name](learning_rate=learning_rate)


# -- NumPy forward pass of dense-only networks (cheaper than a tf.function per env step) --

_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "selu": lambda x: 1.0507009873554805
    * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0.0))),
}
_ACTIVATIONS["swish"] = _ACTIVATIONS["silu"]


def _flatten_layers(model: keras.Model) -> list[Any]:
    out = []
    for layer in model.layers:
        out.extend(_flatten_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return out


def dense_chain(model: keras.Model) -> list[tuple[keras.Variable, keras.Variable, Any]] | None:
    """The (kernel, bias, activation) of each layer if ``model`` is a plain stack of dense
    layers (after Input/Flatten), else None."""
    chain = []
    width = int(np.prod(model.input_shape[1:]))
    for layer in _flatten_layers(model):
        if isinstance(layer, keras.layers.InputLayer | keras.layers.Flatten):
            continue
        if not isinstance(layer, keras.layers.Dense) or not layer.use_bias:
            return None
        name = keras.activations.serialize(layer.activation)
        name = name if isinstance(name, str) else None
        if name not in _ACTIVATIONS or layer.kernel.shape[0] != width:
            return None
        chain.append((layer.kernel, layer.bias, _ACTIVATIONS[name]))
        width = layer.kernel.shape[1]
    return chain or None


class NumpyForward:
    """Evaluates a dense chain with NumPy on weights copied by :meth:`refresh`."""

    def __init__(self, chain: list[tuple[keras.Variable, keras.Variable, Any]]) -> None:
        self._chain = chain
        self._weights: list[tuple[np.ndarray, np.ndarray, Any]] = []
        self.refresh()

    def refresh(self) -> None:
        """Copy the current weights (call after every update or load)."""
        self._weights = [(np.asarray(k), np.asarray(b), f) for k, b, f in self._chain]

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        x = np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)
        for kernel, bias, activation in self._weights:
            x = activation(x @ kernel + bias)
        return x
