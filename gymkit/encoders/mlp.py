"""The MLP encoder: dense layers from a flat (or flattened) observation to features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def build_mlp(
    observation_space: Any,
    hidden_sizes: Sequence[int] = (64, 64),
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    seed: int | None = None,
    name: str = "mlp_encoder",
) -> Any:
    """Build a Keras model ``observations -> features`` made of dense layers.

    Args:
        observation_space: a Box space; observations are flattened and cast to float32.
        hidden_sizes: units of each hidden layer (may be empty: features = flat observation).
        activation: a Keras activation name (the book uses "elu" for REINFORCE, "relu" for DQN).
        kernel_initializer: a Keras initializer name (the book uses He initialisation).
        seed: seeds the initializers, so two builds with one seed have equal weights.
        name: the model's name.
    """
    import keras

    shape = tuple(observation_space.shape)
    inputs = keras.Input(shape=shape, dtype="float32", name="observations")
    x = keras.layers.Flatten()(inputs) if len(shape) != 1 else inputs
    for i, units in enumerate(hidden_sizes):
        init = keras.initializers.get(
            {"class_name": kernel_initializer, "config": {"seed": None if seed is None else seed + i}}
        )
        x = keras.layers.Dense(int(units), activation=activation, kernel_initializer=init,
                               name=f"hidden_{i}")(x)
    model = keras.Model(inputs, x, name=name)
    model.output_dim = int(np.prod(model.output.shape[1:]))  # features per observation
    return model
