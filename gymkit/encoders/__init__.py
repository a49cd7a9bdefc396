"""Encoders: Keras models from observations to features, shared by the neural agents.

A neural agent puts its own head on an encoder (policy logits for REINFORCE, Q-values for
DQN), so any encoder here plugs into any neural agent. Encoders are named by a spec string::

    "mlp"                  dense layers (sizes from the agent's config)
    "book-cnn"             the book's q_network conv stack (32/64/64 maps, 8/4/3 kernels, 4/2/1 strides)
    "nature-cnn"           the Nature DQN conv stack (VALID padding)
    "module:function"      any function(observation_space, **options) -> keras.Model

Importing this package imports no TensorFlow; building an encoder does.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from gymkit.errors import ConfigError, did_you_mean

#: spec name -> "module:function" building a keras.Model from (observation_space, **options)
ENCODERS: dict[str, str] = {
    "mlp": "gymkit.encoders.mlp:build_mlp",
    "book-cnn": "gymkit.encoders.cnn:build_book_cnn",
    "nature-cnn": "gymkit.encoders.cnn:build_nature_cnn",
}


def register_encoder(name: str, target: str) -> None:
    """Register an encoder builder (``"module:function"``) under ``name``."""
    ENCODERS[name] = target


def resolve_encoder(spec: str) -> Callable[..., Any]:
    """The builder function for an encoder spec (a registered name or ``module:function``)."""
    name, _, _ = spec.partition("@")  # room for "kind@PATH" specs such as autoencoders
    target = ENCODERS.get(name)
    if target is None:
        if ":" not in spec:
            raise ConfigError(
                f"unknown encoder '{spec}'{did_you_mean(spec, ENCODERS)}; known encoders: "
                f"{', '.join(ENCODERS)} (or 'module:function')"
            )
        target = spec
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load encoder '{spec}' ({exc}): check module:function") from None


def make_encoder(spec: str, observation_space: Any, **options: Any) -> Any:
    """Build the Keras encoder named by ``spec`` for ``observation_space``."""
    return resolve_encoder(spec)(observation_space, **options)
