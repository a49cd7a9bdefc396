"""The DQN update, written once: the TD target, the loss, and the trainer that runs G steps.

The names are the book's: the **critic** is the network that learns, the **actor** plays
(unless ``act_with: critic``) and gives the targets, and ``copy_critic_to_actor`` assigns the
critic's weights to the actor every ``copy_steps`` training steps. In the Nature DQN paper
(Mnih et al., 2015) they are the *online* and the *target* network.

For a sampled transition ``(s, a, R, s', d)`` the replay memory hands over
``R = sum_{i<m} gamma^i r_{t+i}`` and ``d = gamma^m`` (0 when the episode terminated within the
``m <= n`` steps of the window; a time limit keeps ``gamma^m``: a cut-short episode's next
state still has a future). The target is then::

    y = R + d * max_a' Q_actor(s', a')                        Eq. 16-7 (n = 1, d = gamma)
    y = R + d * Q_actor(s', argmax_a' Q_critic(s', a'))        Double DQN (van Hasselt, 2016):
                                                               the critic picks a', the actor rates it

and the critic minimises the mean of ``L(y - Q_critic(s, a))`` over the batch, with ``L`` the
square (Eq. 16-7) or the Huber function (quadratic within 1 of the target, linear beyond, as in
the Nature paper's error clipping). The recurrent learner uses the same two functions on
windows of steps, with a weight per position.

This module imports TensorFlow; the agent imports it lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from gymkit.agents.dqn.config import DQNConfig
from gymkit.agents.nn.graph_call import SignatureCall
from gymkit.agents.nn.optimizers import apply_gradients
from gymkit.agents.nn.optimizers import make_optimizer as nn_optimizer


def td_targets(rewards: Any, discounts: Any, next_q_actor: Any, next_q_critic: Any = None) -> Any:
    """``y`` of Eq. 16-7 (``next_q_critic`` None) or of Double DQN, without gradient.

    Q-values have the actions on their last axis: ``(B, A)`` for transitions, ``(B, T, A)``
    for windows of steps; ``rewards`` and ``discounts`` have the leading axes.
    """
    if next_q_critic is None:
        next_value = tf.reduce_max(next_q_actor, axis=-1)
    else:
        best = tf.argmax(next_q_critic, axis=-1, output_type=tf.int32)
        lead = len(next_q_actor.shape) - 1
        next_value = tf.gather(next_q_actor, best, axis=lead, batch_dims=lead)
    return tf.stop_gradient(rewards + discounts * next_value)


def td_loss_terms(error: Any, loss: str) -> Any:
    """``L(error)`` per element: ``error^2`` (``mse``) or the Huber function with delta 1."""
    if loss == "huber":
        abs_error = tf.abs(error)
        return tf.where(abs_error < 1.0, 0.5 * tf.square(error), abs_error - 0.5)
    return tf.square(error)


def jit_step_enabled(setting: bool | str) -> bool:
    """``jit_step`` as a bool: ``auto`` is on only where TensorFlow's oneDNN kernels are off."""
    if setting == "auto":
        from gymkit.tf_import import onednn_enabled

        return not onednn_enabled()
    return bool(setting)


def make_optimizer(config: DQNConfig) -> Any:
    """The critic's optimizer, as the config sets it (:mod:`gymkit.agents.nn.optimizers`)."""
    return nn_optimizer(config.optimizer, config.learning_rate, epsilon=config.optimizer_epsilon,
                        max_grad_norm=config.max_grad_norm, decay_steps=config.lr_decay_steps,
                        final_learning_rate=config.learning_rate_final)


def copy_critic_to_actor(critic: Any, actor: Any) -> None:
    """Assign every critic variable to the actor's (the book's ``copy_critic_to_actor`` op)."""
    for actor_var, critic_var in zip(actor.weights, critic.weights, strict=True):
        actor_var.assign(critic_var)


class GStepTrainer:
    """G gradient steps in one ``tf.function`` call, and the copy schedule (its only home).

    ``train(*batches)`` takes tensors whose leading axis is G (one pre-sampled batch per
    gradient step), calls ``loss_fn(*batch_g) -> (loss, mean Q(s, a))`` under a gradient
    tape for each, applies the critic's gradients, counts the step in :attr:`train_steps`
    and copies the critic to the actor whenever that count reaches a multiple of
    ``copy_steps`` (counted in :attr:`copies`). It returns ``(mean loss, mean Q)``.

    Args:
        critic: the network that learns; actor: the one it is copied to.
        config: the agent's config (optimizer, ``copy_steps``, ``jit_compile``).
        loss_fn: the loss of one batch (feed-forward transitions or recurrent windows).
        signature: the ``tf.TensorSpec`` of each argument of ``train``, G axis included.
    """

    def __init__(self, critic: Any, actor: Any, config: DQNConfig, loss_fn: Callable[..., Any],
                 signature: list[Any]) -> None:
        self.critic, self.actor, self.config, self.loss_fn = critic, actor, config, loss_fn
        #: the spec of each argument of ``train``, G axis first
        self.signature = list(signature)
        self.optimizer = make_optimizer(config)
        self.optimizer.build(critic.trainable_variables)
        #: the one training-step counter: the copy schedule and the agent both read it
        self.train_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_steps")
        #: copies made in this process (the agent refreshes its NumPy actor when it grows)
        self.copies = tf.Variable(0, dtype=tf.int64, trainable=False, name="copies")
        # autograph=False: _train is written in graph ops (tf.while_loop, tf.cond), so tracing
        # skips AutoGraph's source conversion, which was over half of the ~2 s first call of
        # a Nature-CNN update; the ops, and so the numbers, are the ones AutoGraph made.
        # SignatureCall: the one concrete function, called without tf.function's per-call
        # argument binding (about 1 ms a call here; the same graph and numbers)
        self.train = SignatureCall(tf.function(self._train, input_signature=signature, autograph=False,
                                               jit_compile=config.jit_compile or None))
        #: whether one XLA-compiled step is called per gradient step (``jit_step``, resolved)
        self.jit_step = jit_step_enabled(config.jit_step)
        if self.jit_step:
            # XLA on CPU runs a Nature-CNN update 6x slower inside a graph loop than alone, and
            # ~15% faster alone than TensorFlow's Eigen kernels (oneDNN's are faster still:
            # jit_step auto): compile one step, loop here.
            step_signature = [tf.TensorSpec(spec.shape[1:], spec.dtype) for spec in signature]
            self.train_one = SignatureCall(tf.function(self._one_step, input_signature=step_signature,
                                                       autograph=False, jit_compile=True))
            self.train = self._train_stepwise

    def compile_step_in_background(self) -> None:
        """Trace the update now and set it up in a background thread (``jit_step``: the one
        XLA step, compiled; else a round of ``gradient_steps``, XLA-compiled with
        ``jit_compile``), by a run on zero batches of the shapes the real calls will have and
        on copies of the variables (:meth:`SignatureCall.compile_in_background`): an agent
        about to play its warm-up steps then pays no compile or set-up at its first update.
        No real variable is written, so the numbers are the same. A no-op once started."""
        c = self.config
        if self.jit_step:
            function, lead = self.train_one, (c.batch_size,)
        else:
            function, lead = self.train, (c.gradient_steps, c.batch_size)
        dtypes = [spec.dtype.as_numpy_dtype for spec in self.signature]
        function.compile_in_background(*(np.zeros((*lead, *shape), dtype)
                                         for shape, dtype in zip(self.sample_shapes(), dtypes, strict=True)))

    def sample_shapes(self) -> list[tuple[int, ...]]:
        """The shape of one sample of each argument of ``train`` (after its G and B axes)."""
        return [tuple(spec.shape.as_list()[2:]) for spec in self.signature]

    def copy_critic_to_actor(self) -> None:
        """Assign the critic's weights to the actor now."""
        copy_critic_to_actor(self.critic, self.actor)

    def _copy_if_due(self) -> Any:
        """The copy schedule, in graph ops: copy when ``train_steps`` reaches a multiple of
        ``copy_steps``."""

        def copy() -> Any:
            self.copy_critic_to_actor()
            self.copies.assign_add(1)
            return tf.constant(True)

        if self.config.copy_steps == 1:
            # every step copies: no conditional, which under XLA moved the actor's buffers in
            # and out of a branch on every call (the same assignments, so the same numbers)
            return copy()
        return tf.cond(self.train_steps % self.config.copy_steps == 0, copy, lambda: tf.constant(False))

    def _one_step(self, *batch: Any) -> tuple[Any, Any]:
        """One gradient step on one batch, the step counter and the copy schedule."""
        variables = self.critic.trainable_variables
        with tf.GradientTape() as tape:
            loss, q_mean = self.loss_fn(*batch)
        grads = tape.gradient(loss, variables)
        # TensorFlow's kernels: Adam's fused kernel (one pass a variable); under XLA the
        # written-out update is fused anyway and keeps Keras's bits
        apply_gradients(self.optimizer, grads, variables, fused=not (self.jit_step or self.config.jit_compile))
        self.train_steps.assign_add(1)
        self._copy_if_due()
        return loss, q_mean

    def _train_stepwise(self, *batches: Any) -> tuple[Any, Any]:
        """``train`` with ``jit_step``: the G steps from Python, each one XLA call."""
        if len(batches[0]) == 1:  # one step a round (the Atari presets): no eager ops around it
            return self.train_one(*(batch[0] for batch in batches))
        losses, q_means = zip(*(self.train_one(*(batch[g] for batch in batches))
                                for g in range(len(batches[0]))), strict=True)
        return tf.reduce_mean(tf.stack(losses)), tf.reduce_mean(tf.stack(q_means))

    def _train(self, *batches: Any) -> tuple[Any, Any]:
        n = tf.shape(batches[0])[0]

        def one_step(g: Any, loss_sum: Any, q_sum: Any) -> tuple[Any, Any, Any]:
            loss, q_mean = self._one_step(*(batch[g] for batch in batches))
            return g + 1, loss_sum + loss, q_sum + q_mean

        _, loss_sum, q_sum = tf.while_loop(lambda g, *_: g < n, one_step,
                                           (tf.constant(0), tf.constant(0.0), tf.constant(0.0)))
        count = tf.cast(n, tf.float32)
        return loss_sum / count, q_sum / count
