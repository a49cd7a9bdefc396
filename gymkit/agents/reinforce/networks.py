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
        # seed offsets keep every initializer's stream distinct from the encoder's (which uses
        # seed itself): +10,000 the policy head, +20,000 the value encoder, +30,000 its head
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
