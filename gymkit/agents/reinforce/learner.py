"""The REINFORCE update: one ``tf.function`` over a padded batch of whole episodes.

The book's algorithm computes, at every step, the gradient of the cross entropy
``-log pi(a_t|s_t)`` of the chosen action, multiplies it by the action's score ``A_t``
and descends along the mean over all steps of all episodes. The mean of score-weighted
gradients is the gradient of the score-weighted mean loss, so one graph does it at once::

    L(theta) = -(1/N) sum_{b,t} mask_{b,t} A_{b,t} log pi_theta(a_{b,t} | s_{b,t})
               - beta * (1/N) sum_{b,t} mask_{b,t} H(pi_theta(. | s_{b,t}))

with ``N = sum(mask)`` real steps, ``A`` held constant (``stop_gradient``) and ``beta`` the
entropy bonus. Where the env masks actions (``info["action_mask"]``), ``pi`` is the softmax
over the allowed actions of that step, as when acting. With a value baseline,
``A = G - V(s)`` and ``V`` is fitted to ``G`` by mean squared error in the same call (its
own network and optimizer). With
``normalize_scores`` the scores are standardised over the real steps of the batch
(the book's ``discount_and_normalize_rewards``).

The value network predicts returns in units of a running mean ``mu`` and standard
deviation ``sigma`` of the returns seen, ``V(s) = mu + sigma * v(s)``: raw CartPole returns
reach ~100, and Adam moves each weight by about the learning rate per step, so an
unscaled value head would need thousands of updates just to reach their scale.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from gymkit.agents.nn.graph_call import SignatureCall
from gymkit.agents.nn.numpy_forward import ACTIVATIONS, NumpyForward
from gymkit.agents.nn.optimizers import apply_gradients, make_optimizer
from gymkit.agents.reinforce.networks import (
    RecurrentHead,
    build_policy,
    build_value,
    is_recurrent,
)
from gymkit.encoders.numpy_step import NumpyRecurrentStep
from gymkit.errors import ConfigError

_EPS = 1e-8  # keeps the score normalisation finite when every score is equal
_FORBIDDEN = -1e9  # the logit of a masked action: exp() of it is exactly 0 in float32
RETURN_STATS_RATE = 0.1  # weight of each new batch in the running moments of the returns


class ReinforceLearner:
    """Networks, optimizers, the batched update and the acting forward passes."""

    def __init__(self, observation_space: gym.spaces.Box, n_actions: int, config: Any, seed: int) -> None:
        self.config = config
        self.obs_shape = tuple(observation_space.shape)
        self.obs_dtype = tf.as_dtype(observation_space.dtype)
        self.encoder, self.policy = build_policy(observation_space, n_actions, config, seed)
        self.policy_optimizer = make_optimizer(config.optimizer, config.learning_rate)
        self.policy_optimizer.build(self.policy.trainable_variables)
        self.value = self.value_optimizer = None
        if config.baseline == "value":
            self.value = build_value(observation_space, config, seed)
            lr = config.value_learning_rate or config.learning_rate
            self.value_optimizer = make_optimizer(config.optimizer, lr)
            self.value_optimizer.build(self.value.trainable_variables)

        #: a recurrent encoder: the policy reads whole episodes, (B, T, *obs) -> (B, T, A)
        self.recurrent = is_recurrent(self.policy)
        #: running first and second moments of the returns, for the value's units
        self.return_moments: list[float] | None = None
        self._build_graph_functions()
        self._build_numpy_paths()

    def _build_graph_functions(self) -> None:
        """The ``tf.function`` acting passes and the update, each with a fixed signature (the
        flat ones called through :class:`SignatureCall`, without per-call argument binding)."""
        obs_spec = tf.TensorSpec((None, *self.obs_shape), self.obs_dtype)
        batch_obs_spec = tf.TensorSpec((None, None, *self.obs_shape), self.obs_dtype)
        self._tf_values = None
        if self.recurrent:
            state_spec = tf.nest.map_structure(lambda t: tf.TensorSpec((None, t.shape[1]), tf.float32),
                                               self.policy.get_initial_state(1))
            self._tf_step = tf.function(
                lambda obs, state: self.policy.step(tf.cast(obs, tf.float32), state),
                input_signature=[obs_spec, state_spec],
            )
            if self.value is not None:
                self._tf_values = SignatureCall(tf.function(
                    lambda seq, mask: self.value(tf.cast(seq, tf.float32), mask=mask)[..., 0],
                    input_signature=[batch_obs_spec, tf.TensorSpec((None, None), tf.bool)]))
        else:
            self._tf_logits = SignatureCall(tf.function(
                lambda obs: self.policy(tf.cast(obs, tf.float32)), input_signature=[obs_spec]))
            if self.value is not None:
                self._tf_values = SignatureCall(tf.function(
                    lambda obs: self.value(tf.cast(obs, tf.float32))[:, 0], input_signature=[obs_spec]))
        # autograph=False: the update has no control flow on tensors (its ifs read the config),
        # so AutoGraph's source conversion, most of the first call's tracing, would change nothing
        self.train_step = SignatureCall(tf.function(
            self._train_step,
            autograph=False,
            input_signature=[
                batch_obs_spec,
                tf.TensorSpec((None, None), tf.int32),    # actions
                tf.TensorSpec((None, None), tf.float32),  # returns G
                tf.TensorSpec((None, None), tf.float32),  # mask: 1 on real steps, 0 on padding
                tf.TensorSpec((2,), tf.float32),          # (mu, sigma) of the value's units
                tf.TensorSpec((None, None, None), tf.float32),  # allowed actions: 1, forbidden: 0
            ],
        ))

    def _build_numpy_paths(self) -> None:
        """NumPy twins of the acting passes for dense policies, gymkit's CNN encoders and its
        recurrent encoders (``act_backend``: auto uses them when they exist, numpy requires them)."""
        config = self.config
        numpy_ok = config.act_backend != "tf"
        self._np_logits = NumpyForward.from_model(self.policy) if numpy_ok and not self.recurrent else None
        #: a recurrent policy's step in NumPy (our recurrent encoders only), and its head
        self._np_step = self._np_head = None
        if isinstance(self.policy, RecurrentHead) and config.act_backend != "tf":
            self._np_step = NumpyRecurrentStep.from_encoder(self.policy.encoder)
            if self._np_step is not None:  # the head is linear: logits = features.W + b
                head = self.policy.head
                self._np_head = NumpyForward([(head.kernel, head.bias, ACTIVATIONS["linear"])])
        if config.act_backend == "numpy" and self._np_logits is None and self._np_step is None:
            raise ConfigError(
                f"act_backend='numpy' needs a dense-only policy network or one of gymkit's "
                f"CNN or recurrent encoders, but encoder {config.encoder!r} has other layers: "
                "use act_backend=auto or tf"
            )
        value_ok = self.value is not None and self._np_logits is not None
        self._np_values = NumpyForward.from_model(self.value) if value_ok else None

    # -- acting --------------------------------------------------------------------------

    def logits(self, observations: np.ndarray) -> np.ndarray:
        """Policy logits for a batch of observations, without calling Keras eagerly."""
        if self._np_logits is not None:
            return self._np_logits(observations)
        return self._tf_logits(np.asarray(observations, self.obs_dtype.as_numpy_dtype)).numpy()

    def initial_state(self, batch_size: int) -> list[list[np.ndarray]]:
        """Zero recurrent state of the policy for ``batch_size`` envs (per layer [h] or [h, c])."""
        return [[np.zeros((batch_size, int(t.shape[1])), np.float32) for t in layer]
                for layer in self.policy.get_initial_state(1)]

    def logits_step(self, observations: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """Recurrent policy, one env step: ``(logits, next state)`` (NumPy in and out)."""
        if self._np_step is not None:
            features, state = self._np_step(observations, state)
            return self._np_head(features), state
        logits, state = self._tf_step(np.asarray(observations, self.obs_dtype.as_numpy_dtype), state)
        return logits.numpy(), [[np.asarray(t) for t in layer] for layer in state]

    def values(self, observations: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """``V(s) = mu + sigma * v(s)`` for a batch of observations (needs the value baseline).

        Recurrent value networks read sequences: ``observations`` is ``(B, T, *obs)`` with its
        ``mask`` and the value after the last real step of each row is returned.
        """
        if self.recurrent:
            seq = np.asarray(observations, self.obs_dtype.as_numpy_dtype)
            v_all = self._tf_values(seq, np.asarray(mask, bool)).numpy()
            v = v_all[np.arange(len(seq)), np.asarray(mask, bool).sum(axis=1) - 1]
        elif self._np_values is not None:
            v = self._np_values(observations)[:, 0]
        else:
            v = self._tf_values(np.asarray(observations, self.obs_dtype.as_numpy_dtype)).numpy()
        mu, sigma = self.value_units()
        return mu + sigma * v

    def value_units(self) -> np.ndarray:
        """``(mu, sigma)`` of the returns: the units the value network predicts in."""
        if self.return_moments is None:
            return np.array([0.0, 1.0], np.float32)
        m1, m2 = self.return_moments
        return np.array([m1, max(np.sqrt(max(m2 - m1 * m1, 0.0)), 1e-4)], np.float32)

    def track_returns(self, returns: np.ndarray) -> None:
        """Fold a batch's returns (real steps only) into the running moments."""
        batch = [float(returns.mean()), float(np.mean(np.square(returns)))]
        if self.return_moments is None:
            self.return_moments = batch
        else:
            rate = RETURN_STATS_RATE
            self.return_moments = [(1 - rate) * o + rate * b for o, b in zip(self.return_moments, batch, strict=True)]

    def refresh(self) -> None:
        """Re-copy weights into the NumPy forward passes (after an update or a load)."""
        for forward in (self._np_logits, self._np_values, self._np_step, self._np_head):
            if forward is not None:
                forward.refresh()

    # -- learning ------------------------------------------------------------------------

    def _train_step(self, observations, actions, returns, mask, value_units, allowed):
        config = self.config
        batch, horizon = tf.shape(actions)[0], tf.shape(actions)[1]
        flat_obs = tf.reshape(tf.cast(observations, tf.float32), (-1, *self.obs_shape))
        n_steps = tf.reduce_sum(mask)

        def masked_mean(x):
            return tf.reduce_sum(x * mask) / n_steps

        seq_obs, seq_mask = tf.cast(observations, tf.float32), mask > 0

        def per_step(model, units):
            """(B, T, units): a recurrent network reads each episode (backpropagation
            through the whole episode); a feed-forward one each step on its own."""
            if self.recurrent:
                return model(seq_obs, mask=seq_mask, training=True)
            return tf.reshape(model(flat_obs, training=True), [batch, horizon, units])

        with tf.GradientTape() as tape:
            logits = per_step(self.policy, -1)
            # the softmax over the allowed actions, the distribution the agent acted with
            # (a forbidden action gets probability exactly 0 and no gradient)
            logits = tf.where(allowed > 0, logits, tf.fill(tf.shape(logits), _FORBIDDEN))
            log_probs = tf.nn.log_softmax(logits)
            chosen = tf.gather(log_probs, actions, batch_dims=2)  # log pi(a_t | s_t)
            values = None if self.value is None else tf.reshape(per_step(self.value, 1), [batch, horizon])
            scores, value_loss = self._scores(returns, values, value_units, masked_mean)
            policy_loss = -masked_mean(scores * chosen)
            entropy = masked_mean(-tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=-1))
            loss = policy_loss - config.entropy_coef * entropy
            # The policy loss does not depend on the value weights (stop_gradient) nor the
            # value loss on the policy weights (separate networks): one gradient call
            # on the sum gives each network its own gradient.
            total = loss + value_loss

        grad_norm = self._apply(tape.gradient(total, self.policy.trainable_variables + self._value_variables()))
        return {
            "loss": loss,
            "policy_loss": policy_loss,
            "entropy": entropy,
            "grad_norm": grad_norm,
            "value_loss": value_loss,
        }

    def _value_variables(self) -> list[Any]:
        return self.value.trainable_variables if self.value is not None else []

    def _scores(self, returns: Any, values: Any, value_units: Any, masked_mean: Any) -> tuple[Any, Any]:
        """``(A, value loss)``: ``A = G`` or ``G - V(s)`` (``values`` in sigma units),
        standardised with ``normalize_scores``, held constant for the policy gradient."""
        scores = returns
        value_loss = tf.constant(0.0)
        if values is not None:
            mu, sigma = value_units[0], value_units[1]
            scores = returns - (mu + sigma * values)  # A = G - V(s)
            value_loss = masked_mean(tf.square((returns - mu) / sigma - values))  # in sigma units
        if self.config.normalize_scores:
            mean = masked_mean(scores)
            std = tf.sqrt(masked_mean(tf.square(scores - mean)))
            scores = (scores - mean) / (std + _EPS)
        return tf.stop_gradient(scores), value_loss

    def _apply(self, grads: list[Any]) -> Any:
        """Clip (``max_grad_norm``) and apply each network's gradients with its optimizer;
        returns the policy gradient's global norm before clipping."""
        policy_vars, value_vars = self.policy.trainable_variables, self._value_variables()
        policy_grads, value_grads = grads[: len(policy_vars)], grads[len(policy_vars):]
        grad_norm = tf.linalg.global_norm(policy_grads)
        if self.config.max_grad_norm is not None:
            policy_grads, _ = tf.clip_by_global_norm(policy_grads, self.config.max_grad_norm, grad_norm)
            if value_vars:
                value_grads, _ = tf.clip_by_global_norm(value_grads, self.config.max_grad_norm)
        apply_gradients(self.policy_optimizer, policy_grads, policy_vars)
        if value_vars:
            apply_gradients(self.value_optimizer, value_grads, value_vars)
        return grad_norm

    # -- saving --------------------------------------------------------------------------

    def optimizer_variables(self) -> dict[str, np.ndarray]:
        """Every optimizer variable (step counts, moments), for an exact resume."""
        out = {}
        for prefix, opt in (("policy", self.policy_optimizer), ("value", self.value_optimizer)):
            if opt is not None:
                for i, var in enumerate(opt.variables):
                    out[f"{prefix}_{i:04d}"] = np.asarray(var)
        return out

    def set_optimizer_variables(self, arrays: dict[str, np.ndarray]) -> None:
        for prefix, opt in (("policy", self.policy_optimizer), ("value", self.value_optimizer)):
            if opt is None:
                continue
            for i, var in enumerate(opt.variables):
                key = f"{prefix}_{i:04d}"
                if key not in arrays:
                    raise ConfigError(f"saved optimizer state has no {key}: the config does not match")
                var.assign(arrays[key])

    def weights_files(self) -> dict[str, keras.Model]:
        files = {"policy.weights.h5": self.policy}
        if self.value is not None:
            files["value.weights.h5"] = self.value
        return files
