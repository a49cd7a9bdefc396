"""Training an autoencoder: one ``tf.function`` step per minibatch, whole stack or one stage.

Costs, per minibatch (means over the batch):

* linear, stacked, denoising: ``mean (x0 - x^)^2`` (the book's MSE), or the mean sigmoid cross
  entropy (``reconstruction_loss=cross_entropy``, the default for uint8 images), plus the l2 penalty
  ``l2_reg * sum(W^2) / 2`` over the kernels (the book's ``l2_regularizer``; biases are not
  penalised, a tied kernel is counted once);
* sparse: the same plus ``sparsity_weight * sum_j D_KL(p || q_j)``;
* variational: ``mean_b [sum_i recon(x0_bi, x^_bi) + latent_b]`` where the reconstruction
  term is summed over the inputs (cross entropy as in the book, or ``1/2`` squared error: a
  unit-variance Gaussian) and the coding is sampled ``z = mu + exp(gamma / 2) * eps``.

Greedy layer-wise training (``greedy=true``) is the book's single-graph approach (Figure
15-5): phase ``i`` trains only stage ``i`` to reconstruct ``h_{i-1}``, the output of the
stages below it, which are run frozen inside the same graph (recomputed, not cached, so
image datasets need no memory beyond the observations themselves).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gymkit.agents.nn.optimizers import apply_gradients
from gymkit.encoders.autoencoders.losses import (
    cross_entropy,
    latent_loss,
    sparsity_loss,
    squared_error,
)
from gymkit.encoders.autoencoders.models import Autoencoder, run, unique_variables


def _n_elements(x: Any) -> tf.Tensor:
    return tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)


def _l2(variables: list[Any], scale: float) -> Any:
    kernels = [v for v in variables if v.name == "kernel"]
    if not scale or not kernels:
        return 0.0
    return scale * tf.add_n([tf.reduce_sum(tf.square(v)) for v in kernels]) / 2.0


def _stage_variables(ae: Autoencoder, i: int) -> list[Any]:
    stage = ae.stages[i]
    layers = stage.encode + stage.decode
    if i == len(ae.stages) - 1 and ae.gamma_layer is not None:
        layers.append(ae.gamma_layer)
    return unique_variables(v for layer in layers for v in layer.trainable_variables)


def make_train_step(ae: Autoencoder, phase: int | None = None, optimizer: Any = None
                    ) -> tuple[Callable, list[Any]]:
    """A ``tf.function`` ``step(observations) -> loss terms`` and the variables it trains.

    Args:
        ae: the autoencoder.
        phase: None trains the whole stack; ``i`` trains stage ``i`` alone (greedy).
        optimizer: the optimizer to use (default: a new Adam at ``config.learning_rate``).
    """
    config = ae.config
    variables = ae.trainable_variables() if phase is None else _stage_variables(ae, phase)
    optimizer = optimizer or keras.optimizers.Adam(config.learning_rate)
    optimizer.build(variables)
    last = len(ae.stages) - 1
    logits = ae.logits
    # the VAE's noise: a stream of its own, away from the weights' and minibatches' (seed itself)
    eps = tf.random.Generator.from_seed(int(ae.settings.get("seed", 0)) + 7919)
    space = ae.observation_space
    dtype = tf.uint8 if ae.settings["observation_dtype"] == "uint8" else tf.float32

    def whole(x0: Any) -> dict[str, Any]:
        codings, gamma = ae.encode_parts(x0, training=True)
        if ae.gamma_layer is not None:  # variational: sample the coding (reparameterisation)
            z = codings + tf.exp(0.5 * gamma) * eps.normal(tf.shape(codings))
            out = ae.decode_logits(z)
            recon = cross_entropy(x0, out) if logits else 0.5 * squared_error(x0, out)
            latent = latent_loss(codings, gamma)
            return {"loss": tf.reduce_mean(recon + latent), "reconstruction": tf.reduce_mean(recon),
                    "latent": tf.reduce_mean(latent)}
        out = ae.decode_logits(codings)
        per_obs = cross_entropy(x0, out) if logits else squared_error(x0, out)
        recon = tf.reduce_mean(per_obs) / _n_elements(x0)
        terms = {"loss": recon, "reconstruction": recon}
        if ae.kind == "sparse":
            sparsity = sparsity_loss(codings, config.sparsity_target)
            terms["sparsity"] = sparsity
            terms["loss"] = recon + config.sparsity_weight * sparsity
        return terms

    def one_stage(x0: Any) -> dict[str, Any]:
        h = x0
        for stage in ae.stages[:phase]:  # the frozen stages below (Figure 15-5's left columns)
            h = tf.stop_gradient(run(stage.encode, h))
        noisy = ae.noise(h, training=True) if ae.noise is not None else h
        code = run(ae.stages[phase].encode, noisy)
        out = run(ae.stages[phase].decode, code)
        if phase == 0 and logits:
            recon = tf.reduce_mean(cross_entropy(h, out)) / _n_elements(h)
        else:
            recon = tf.reduce_mean(squared_error(h, out)) / _n_elements(h)
        terms = {"loss": recon, "reconstruction": recon}
        if phase == last and ae.kind == "sparse":
            terms["sparsity"] = sparsity_loss(code, config.sparsity_target)
            terms["loss"] = recon + config.sparsity_weight * terms["sparsity"]
        return terms

    forward = whole if phase is None else one_stage

    @tf.function(input_signature=[tf.TensorSpec((None, *space.shape), dtype)])
    def step(observations: Any) -> dict[str, Any]:
        x0 = ae.prepare(observations)
        with tf.GradientTape() as tape:
            terms = forward(x0)
            loss = terms["loss"] + _l2(variables, config.l2_reg)
        grads = tape.gradient(loss, variables)
        apply_gradients(optimizer, grads, variables)
        return terms

    return step, variables


def make_validation_mse(ae: Autoencoder, phase: int | None = None) -> Callable[[np.ndarray], float]:
    """``mse(observations)``: the deterministic reconstruction MSE early stopping watches.

    No noise, ``mu`` codings. ``phase`` None: the whole stack rebuilds x0 (what
    :func:`reconstruction_mse` reports); ``i``: stage ``i`` rebuilds ``h_{i-1}`` (greedy).
    """
    dtype = tf.uint8 if ae.settings["observation_dtype"] == "uint8" else tf.float32

    @tf.function(input_signature=[tf.TensorSpec((None, *ae.observation_space.shape), dtype)])
    def squared_sum(observations: Any) -> tuple[Any, Any]:
        x0 = ae.prepare(observations)
        if phase is None:
            target, out = x0, ae.decode(ae.encode(x0))
        else:
            target = x0
            for stage in ae.stages[:phase]:
                target = run(stage.encode, target)
            out = run(ae.stages[phase].decode, run(ae.stages[phase].encode, target))
            if phase == 0 and ae.logits:
                out = tf.sigmoid(out)
        diff = tf.cast(out, tf.float64) - tf.cast(target, tf.float64)
        return tf.reduce_sum(tf.square(diff)), tf.cast(tf.size(diff), tf.float64)

    def mse(observations: np.ndarray, batch_size: int = 1024) -> float:
        total = count = 0.0
        for begin in range(0, len(observations), batch_size):
            s, n = squared_sum(np.asarray(observations[begin:begin + batch_size], dtype.as_numpy_dtype))
            total, count = total + float(s), count + float(n)
        return total / max(count, 1.0)

    return mse


class _EarlyStopping:
    """Keras's ``EarlyStopping(patience, restore_best_weights=True)`` on a validation MSE, with
    its ``ReduceLROnPlateau``: every ``patience // 2`` epochs without improvement the learning
    rate is multiplied by ``reduce_lr`` (0: never), so minibatch noise stops hiding slow progress.
    ``patience`` 0 turns both off.
    """

    def __init__(self, variables: list[Any], patience: int, min_improvement: float,
                 optimizer: Any = None, reduce_lr: float = 0.0):
        self.variables, self.patience, self.min_improvement = variables, patience, min_improvement
        self.optimizer, self.reduce_lr = optimizer, reduce_lr
        self.best, self.best_epoch, self.wait = float("inf"), 0, 0
        self.weights: list[np.ndarray] | None = None

    def update(self, epoch: int, value: float) -> bool:
        """Record epoch ``epoch``'s value; True when training should stop."""
        if value < self.best * (1.0 - self.min_improvement) or self.weights is None:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            self.weights = [v.numpy() for v in self.variables]
        else:
            self.wait += 1
            plateau = max(1, self.patience // 2)
            if self.patience and self.reduce_lr and self.optimizer is not None and self.wait % plateau == 0:
                rate = self.optimizer.learning_rate
                rate.assign(float(rate.numpy()) * self.reduce_lr)
        return bool(self.patience) and self.wait >= self.patience

    def restore(self) -> None:
        for variable, value in zip(self.variables, self.weights or [], strict=False):
            variable.assign(value)


def train_autoencoder(ae: Autoencoder, observations: np.ndarray, *, validation: np.ndarray | None = None,
                      seed: int = 0, log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Train ``ae`` on ``observations`` for at most ``config.epochs`` epochs (per phase when greedy).

    Minibatches are drawn without replacement from a permutation seeded by ``seed``. After each
    epoch the reconstruction MSE of ``validation`` (or, when it is empty, of the training
    observations) is measured; with ``config.patience`` > 0 a phase stops once that many epochs
    in a row brought no improvement of at least ``config.min_improvement`` (relative), and the
    weights of its best epoch are restored (Keras's ``restore_best_weights``).

    Returns:
        One row per epoch: phase (``"all"`` or the stage index), epoch, mean loss terms,
        ``val_mse``, ``best`` (True on the epoch whose weights were kept), seconds.
    """
    config = ae.config
    ae.settings["seed"] = seed
    phases: list[int | None] = list(range(len(ae.stages))) if config.greedy else [None]
    rng = np.random.default_rng(seed)
    dtype = np.uint8 if ae.settings["observation_dtype"] == "uint8" else np.float32
    data = np.asarray(observations, dtype=dtype)
    watched = data if validation is None or len(validation) == 0 else np.asarray(validation, dtype=dtype)
    log_every = max(1, config.epochs // 20)  # about 20 progress lines per phase at most
    history: list[dict[str, Any]] = []
    for phase in phases:
        optimizer = keras.optimizers.Adam(config.learning_rate)
        step, variables = make_train_step(ae, phase, optimizer)
        val_mse = make_validation_mse(ae, phase)
        stopper = _EarlyStopping(variables, config.patience, config.min_improvement, optimizer,
                                 config.reduce_lr)
        rows = []
        for epoch in range(1, config.epochs + 1):
            start = time.perf_counter()
            row = {"phase": "all" if phase is None else phase, "epoch": epoch,
                   **_one_epoch(step, data, rng.permutation(len(data)), config.batch_size)}
            row["val_mse"] = val_mse(watched)
            stop = stopper.update(epoch, row["val_mse"])
            row["seconds"] = round(time.perf_counter() - start, 3)
            rows.append(row)
            if log is not None and (epoch == 1 or epoch % log_every == 0 or stop):
                terms = "  ".join(f"{k} {v:.5g}" for k, v in row.items() if k not in ("phase", "epoch", "seconds"))
                log(f"phase {row['phase']} epoch {epoch}/{config.epochs}: {terms} ({row['seconds']:.2f} s)")
            if stop:
                break
        stopper.restore()
        for row in rows:
            row["best"] = row["epoch"] == stopper.best_epoch
        history += rows
        if log is not None:
            why = (f"no {config.min_improvement:g} improvement in {config.patience} epochs"
                   if len(rows) < config.epochs else f"the --epochs cap {config.epochs}")
            log(f"phase {rows[0]['phase']}: stopped after {len(rows)} epochs ({why}); kept epoch "
                f"{stopper.best_epoch} (validation MSE {stopper.best:.5g})")
    return history


def _one_epoch(step: Callable, data: np.ndarray, order: np.ndarray, batch_size: int) -> dict[str, float]:
    """One pass over ``data`` in the order ``order``: the mean of each loss term over minibatches."""
    sums: dict[str, float] = {}
    batches = 0
    for begin in range(0, len(order), batch_size):
        terms = step(data[order[begin:begin + batch_size]])
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + float(value)
        batches += 1
    return {k: v / max(batches, 1) for k, v in sums.items()}


def reconstruct(ae: Autoencoder, observations: np.ndarray, batch_size: int = 256
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(x0, reconstructions)`` of ``observations`` (deterministic: no noise, ``mu`` codings)."""
    dtype = tf.uint8 if ae.settings["observation_dtype"] == "uint8" else tf.float32

    @tf.function(input_signature=[tf.TensorSpec((None, *ae.observation_space.shape), dtype)])
    def forward(obs: Any) -> tuple[Any, Any]:
        x0 = ae.prepare(obs)
        return x0, ae.decode(ae.encode(x0))

    pairs = [forward(np.asarray(observations[i:i + batch_size], dtype.as_numpy_dtype))
             for i in range(0, len(observations), batch_size)]
    return (np.concatenate([p[0].numpy() for p in pairs]),
            np.concatenate([p[1].numpy() for p in pairs]))


def reconstruction_mse(ae: Autoencoder, observations: np.ndarray) -> float:
    """Mean squared error per input element between x0 and its reconstruction."""
    x0, out = reconstruct(ae, observations)
    return float(np.mean(np.square(out.astype(np.float64) - x0)))
