"""Encoders: Keras models from observations to features, shared by the neural agents.

A neural agent puts its own head on an encoder (policy logits for REINFORCE, Q-values for
DQN), so any encoder here plugs into any neural agent. Encoders are named by a spec string::

    "mlp"                  dense layers (sizes from the agent's config)
    "book-cnn"             the book's q_network conv stack (32/64/64 maps, 8/4/3 kernels, 4/2/1 strides)
    "nature-cnn"           the Nature DQN conv stack (VALID padding)
    "simple-rnn", "lstm", "gru"   recurrent: (batch, time, *obs) sequences with a mask,
                           stacked (hidden_sizes), dropout, LSTM peepholes (gymkit.encoders.recurrent)
    "module:function"      any function(observation_space, **options) -> keras.Model
    "autoencoder@PATH"     a pretrained encoder (``gymkit pretrain``), frozen; the issue's
                           spelling "autoencoder:PATH" is accepted when PATH is an existing file
    "autoencoder-finetune@PATH"   the same, trained further with the agent

A spec "name@PATH" passes ``path=PATH`` to the builder registered as "name".

Importing this package imports no TensorFlow; building an encoder does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gymkit.errors import ConfigError, did_you_mean

#: spec name -> "module:function" building a keras.Model from (observation_space, **options)
ENCODERS: dict[str, str] = {
    "mlp": "gymkit.encoders.mlp:build_mlp",
    "book-cnn": "gymkit.encoders.cnn:build_book_cnn",
    "nature-cnn": "gymkit.encoders.cnn:build_nature_cnn",
    "autoencoder": "gymkit.encoders.autoencoders:build_autoencoder_encoder",
    "autoencoder-finetune": "gymkit.encoders.autoencoders:build_finetuned_encoder",
    "simple-rnn": "gymkit.encoders.recurrent:build_simple_rnn",
    "lstm": "gymkit.encoders.recurrent:build_lstm",
    "gru": "gymkit.encoders.recurrent:build_gru",
}
#: encoders whose spec carries a file path: "name@PATH", or "name:PATH" when PATH is a file
PATH_ENCODERS = ("autoencoder", "autoencoder-finetune")


def register_encoder(name: str, target: str) -> None:
    """Register an encoder builder (``"module:function"``) under ``name``."""
    ENCODERS[name] = target


def split_spec(spec: str) -> tuple[str, str | None]:
    """``(name, path)`` of a spec: "autoencoder@PATH" (or "autoencoder:PATH" naming an
    existing file) gives ``("autoencoder", PATH)``; any other spec ``(spec, None)``."""
    name, at, path = spec.partition("@")
    if at:
        return name, path
    name, colon, path = spec.partition(":")
    if colon and name in PATH_ENCODERS and Path(path).is_file():
        return name, path
    return spec, None


def resolve_encoder(spec: str) -> Callable[..., Any]:
    """The builder function for an encoder spec (a registered name or ``module:function``)."""
    import inspect

    from gymkit.imports import import_path

    name, _ = split_spec(spec)
    target = ENCODERS.get(name)
    registered = target is not None
    if target is None:
        if ":" not in spec:
            raise ConfigError(
                f"unknown encoder '{spec}'{did_you_mean(spec, ENCODERS)}; known encoders: "
                f"{', '.join(ENCODERS)} (or 'module:function')"
            )
        prefix, _, rest = spec.partition(":")
        if prefix in PATH_ENCODERS:  # "autoencoder:PATH" whose PATH is not a file
            raise ConfigError(f"encoder '{spec}': no file '{rest}'; write {prefix}@PATH with "
                              "the encoder.keras that gymkit pretrain wrote")
        target = name  # "module:function" (or "module:function@PATH")
    try:
        builder = import_path(target, "encoder", ConfigError)
    except ConfigError as exc:
        raise ConfigError(f"cannot load encoder '{spec}': {exc}") from None
    if not registered and not inspect.isfunction(builder):
        raise ConfigError(f"encoder '{spec}' resolves to {builder!r}, which is not a Python function: "
                          "give an encoder builder as module:function")
    return builder


def make_encoder(spec: str, observation_space: Any, **options: Any) -> Any:
    """Build the Keras encoder named by ``spec`` for ``observation_space``."""
    from gymkit.tf_import import tensorflow

    tensorflow()  # quietly, before the builder imports Keras
    _, path = split_spec(spec)
    if path is not None:
        options["path"] = path
    return resolve_encoder(spec)(observation_space, **options)
