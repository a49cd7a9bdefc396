"""The cost functions of chapter 15, per observation, so a batch's loss is their mean.

* reconstruction, MSE (every kind): ``mean_i (x_i - x^_i)^2``;
* reconstruction, cross entropy (inputs scaled to [0, 1], sigmoid outputs): the book's
  ``sigmoid_cross_entropy_with_logits(labels=X, logits=logits)``;
* sparsity (Equation 15-2), summed over the coding units::

      D_KL(p || q_j) = p log(p / q_j) + (1 - p) log((1 - p) / (1 - q_j))

  with ``q_j`` the mean activation of coding unit j over the batch (a sigmoid, so in (0, 1));
* latent loss of a variational autoencoder, with ``gamma = log(sigma^2)`` (the book's variant)::

      latent = 1/2 sum_j (exp(gamma_j) + mu_j^2 - 1 - gamma_j)

  which is ``D_KL(N(mu, sigma^2) || N(0, I))`` in closed form.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

#: keeps q away from 0 and 1, where the KL divergence is infinite
SPARSITY_EPS = 1e-7


def kl_divergence(p: Any, q: Any) -> tf.Tensor:
    """Equation 15-2: the KL divergence between Bernoulli(p) and Bernoulli(q), elementwise."""
    p = tf.cast(p, tf.float32)
    q = tf.clip_by_value(tf.cast(q, tf.float32), SPARSITY_EPS, 1.0 - SPARSITY_EPS)
    return p * tf.math.log(p / q) + (1.0 - p) * tf.math.log((1.0 - p) / (1.0 - q))


def sparsity_loss(codings: Any, target: float) -> tf.Tensor:
    """The book's ``reduce_sum(kl_divergence(sparsity_target, reduce_mean(codings, axis=0)))``."""
    mean_activation = tf.reduce_mean(tf.cast(codings, tf.float32), axis=0)  # q_j over the batch
    return tf.reduce_sum(kl_divergence(target, mean_activation))


def latent_loss(mean: Any, gamma: Any) -> tf.Tensor:
    """Per-observation latent loss ``1/2 sum_j (exp(gamma) + mu^2 - 1 - gamma)``, shape (batch,)."""
    mean = tf.cast(mean, tf.float32)
    gamma = tf.cast(gamma, tf.float32)
    return 0.5 * tf.reduce_sum(tf.exp(gamma) + tf.square(mean) - 1.0 - gamma, axis=-1)


def _flat(x: Any) -> tf.Tensor:
    return tf.reshape(tf.cast(x, tf.float32), (tf.shape(x)[0], -1))


def squared_error(targets: Any, outputs: Any) -> tf.Tensor:
    """Per-observation sum of squared errors, shape (batch,)."""
    return tf.reduce_sum(tf.square(_flat(outputs) - _flat(targets)), axis=-1)


def cross_entropy(targets: Any, logits: Any) -> tf.Tensor:
    """Per-observation sum of sigmoid cross entropies (targets in [0, 1]), shape (batch,)."""
    return tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=_flat(targets), logits=_flat(logits)), axis=-1)
