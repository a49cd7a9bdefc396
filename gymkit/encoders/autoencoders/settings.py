"""An autoencoder's resolved settings: the ``auto`` defaults of its config (architecture,
codings, hidden sizes, activation, loss, standardisation) decided for an observation space."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gymkit.encoders.autoencoders.config import AutoencoderConfig
from gymkit.encoders.cnn import image_layout
from gymkit.errors import ConfigError

#: the conv stack's default coding width: the book's q_network dense layer
IMAGE_CODINGS = 512


def resolve_settings(observation_space: Any, config: AutoencoderConfig) -> dict[str, Any]:
    """Resolve the ``auto`` defaults of ``config`` for this observation space."""
    shape = tuple(int(n) for n in observation_space.shape)
    uint8 = np.dtype(observation_space.dtype) == np.uint8
    is_image = len(shape) >= 2
    arch = config.architecture
    if arch == "auto":
        arch = "conv" if is_image and config.kind != "linear" else "dense"
    if arch == "conv" and config.kind == "linear":
        raise ConfigError("kind=linear is a dense autoencoder (PCA of the flattened inputs): "
                          "drop architecture=conv")
    if arch == "conv":
        image_layout(shape)  # raises a SpaceError for shapes that are not images
    n_inputs = int(np.prod(shape))
    codings = int(config.codings or (IMAGE_CODINGS if is_image else math.ceil(n_inputs / 2)))
    hidden = config.hidden_sizes
    if hidden is None:  # the book's sandwich narrows: one layer halfway between inputs and codings
        hidden = () if config.kind == "linear" or arch == "conv" else (math.ceil((n_inputs + codings) / 2),)
    loss = config.reconstruction_loss
    if loss == "auto":
        # The book's tip: cross entropy has larger gradients than the MSE. On Ms. Pac-Man
        # frames (the mean frame alone scores an MSE of ~0.001) the MSE stays near that
        # baseline where cross entropy gets below it (bench/results/autoencoders.md).
        loss = "cross_entropy" if uint8 and is_image and config.kind != "linear" else "mse"
    if loss == "cross_entropy" and not uint8:
        raise ConfigError("reconstruction_loss=cross_entropy needs inputs in [0, 1] (uint8 images, "
                          f"scaled inside), but the observations are {observation_space.dtype}: use mse")
    if loss == "cross_entropy" and config.kind == "linear":
        raise ConfigError("kind=linear has linear outputs and the MSE loss (PCA): drop reconstruction_loss")
    return {
        "kind": config.kind,
        "architecture": arch,
        "codings": codings,
        "hidden_sizes": [int(n) for n in hidden],
        "activation": config.activation or ("elu" if arch == "dense" else "relu"),
        "reconstruction_loss": loss,
        "standardize": bool(config.standardize and not uint8 and arch == "dense"),
        "observation_shape": list(shape),
        "observation_dtype": np.dtype(observation_space.dtype).name,
    }
