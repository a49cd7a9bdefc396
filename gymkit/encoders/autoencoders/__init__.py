"""Autoencoders (chapter 15) and pretrained encoders for the agents.

``gymkit pretrain`` (:mod:`gymkit.pretrain`) trains one of these kinds on observations
collected from an env and writes its encoder; agents load it with the encoder spec
``autoencoder@PATH`` (frozen) or ``autoencoder-finetune@PATH`` (fine-tuned)::

    linear       one linear coding layer, MSE: its codings span the PCA subspace
    stacked      hidden layers, codings, mirror decoder; tied_weights, greedy options
    denoising    stacked, with gaussian noise or dropout on the inputs during training
    sparse       sigmoid codings and the KL sparsity loss (target p, weight)
    variational  mean and log-variance codings, sampled during training; latent loss

Modules: :mod:`.config` (settings), :mod:`.models` (layers and stages), :mod:`.losses`,
:mod:`.layers` (the tied dense layer), :mod:`.training`, :mod:`.saving` (the file and the
loader), :mod:`.pictures`. Importing this package imports no TensorFlow.
"""

from __future__ import annotations

from typing import Any

from gymkit.encoders.autoencoders.config import KINDS, AutoencoderConfig

__all__ = ["KINDS", "AutoencoderConfig", "build_autoencoder_encoder", "build_finetuned_encoder"]


def build_autoencoder_encoder(observation_space: Any, path: str | None = None,
                              trainable: bool = False, **options: Any) -> Any:
    """``autoencoder@PATH``: see :func:`gymkit.encoders.autoencoders.saving.build_autoencoder_encoder`."""
    from gymkit.encoders.autoencoders import saving

    return saving.build_autoencoder_encoder(observation_space, path=path, trainable=trainable, **options)


def build_finetuned_encoder(observation_space: Any, path: str | None = None, **options: Any) -> Any:
    """``autoencoder-finetune@PATH``: the pretrained encoder, trained further with the agent."""
    from gymkit.encoders.autoencoders import saving

    return saving.build_finetuned_encoder(observation_space, path=path, **options)
