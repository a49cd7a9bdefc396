"""Recurrent DQN: a recurrent Q-network, its sequence learner, and the state it carries while acting.

With a recurrent encoder (``simple-rnn``, ``lstm``, ``gru``) the Q-network reads the history of
an episode, not one observation: ``Q(o_0..t, a)``. Three pieces change (the rest of
:class:`~gymkit.agents.dqn.DQNAgent`, its schedule, epsilon and saving, do not):

* :class:`RecurrentQNetwork`: the encoder with the usual head (plain or dueling) at every step;
  ``unroll`` reads ``(B, T, *obs)`` sequences with a mask, ``step`` one env step with the
  state carried by the caller.
* :class:`RecurrentLearner`: trains on windows of consecutive steps sampled by
  :func:`gymkit.replay.sequences.sample_sequences`. The critic and the actor (target network)
  are unrolled over the same window from a zero state; the first ``burn_in`` positions only
  warm up the critic's state (no loss, no gradient through them, R2D2). For positions
  ``t = burn_in .. W-1``::

      y_t = r_t + gamma_t * max_a' Q_actor(o_0..t+1, a')     (gamma_t = 0 where t terminated)
      L   = sum_t m_t (y_t - Q_critic(o_0..t, a_t))^2 / sum_t m_t

  where ``m_t`` is 0 off the loss positions and ``1 / c_t`` on them (``c_t``: how many windows
  can hold step t, so that every stored step weighs the same in expectation).

  With ``double_dqn`` the critic picks ``a'`` and the actor rates it.
* :class:`CarriedState`: the playing network's hidden state per env, NumPy arrays per
  ``explore`` stream (training and evaluation never share one), zeroed by
  ``episode_start`` and advanced once per ``act``: in NumPy
  (:mod:`gymkit.encoders.numpy_step`) for gymkit's recurrent encoders, else by one
  ``tf.function`` call.

This module imports TensorFlow/Keras; the agent imports it lazily.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from gymkit.agents.dqn.config import DQNConfig
from gymkit.agents.dqn.targets import GStepTrainer, td_loss_terms, td_targets
from gymkit.agents.nn.carried import CarriedStates
from gymkit.agents.nn.heads import dueling_q
from gymkit.agents.nn.numpy_forward import ACTIVATIONS, NumpyForward
from gymkit.encoders.numpy_step import NumpyRecurrentStep


class RecurrentQNetwork(keras.Model):
    """A recurrent encoder with a Q-value head (plain or dueling) applied at every step.

    Args:
        encoder: a recurrent encoder (``is_recurrent``, with ``run``/``step``/``get_initial_state``).
        n_outputs: number of discrete actions.
        dueling: ``Q = V + A - mean_a A`` per step.
        seed: seeds the head's He initialisers (the encoder is seeded by its builder).
        name: ``critic`` or ``actor``.
    """

    is_recurrent = True

    def __init__(self, encoder: Any, n_outputs: int, *, dueling: bool = False,
                 seed: int | None = None, name: str = "q_network") -> None:
        super().__init__(name=name)
        self.supports_masking = True  # the mask goes to the encoder's recurrent layers
        self.encoder = encoder
        self.dueling = bool(dueling)
        # as the feed-forward head: 10,000 above the encoder's seed, a stream of its own
        base = 10_000 if seed is None else seed + 10_000

        def init(offset: int) -> Any:  # He init, as the feed-forward head (the book's)
            return keras.initializers.HeNormal(seed=None if seed is None else base + offset)

        if self.dueling:
            self.value_head = keras.layers.Dense(1, kernel_initializer=init(0), name="value")
            self.advantage_head = keras.layers.Dense(n_outputs, kernel_initializer=init(1),
                                                     name="advantages")
        else:
            self.q_head = keras.layers.Dense(n_outputs, kernel_initializer=init(0), name="q_values")
        self(np.zeros((1, 1, *encoder.obs_shape), np.float32))  # builds it (for load_weights)

    def build(self, sequences_shape: Any) -> None:
        """The heads' weights from the encoder's feature size (Keras calls this, in the
        model's name scope, on the first call). Without it Keras would build them by running
        ``call`` on symbolic inputs, tracing the recurrent layers' time loop again."""
        dim = getattr(self.encoder, "output_dim", None)
        if dim is None:  # a user's encoder without output_dim: one eager step tells
            dim = self.encoder(np.zeros((1, 1, *self.encoder.obs_shape), np.float32)).shape[-1]
        for layer in self.heads():
            layer.build((None, int(dim)))
        self.built = True

    def heads(self) -> list[Any]:
        """The dense layers on the encoder's features (V and A when dueling)."""
        return [self.value_head, self.advantage_head] if self.dueling else [self.q_head]

    def head(self, features: Any) -> Any:
        """Q-values from features, on the last axis (``(B, H)`` or ``(B, T, H)``)."""
        if not self.dueling:
            return self.q_head(features)
        return dueling_q(self.value_head(features), self.advantage_head(features), keras.ops)

    def unroll(self, sequences: Any, mask: Any = None, initial_state: Any = None,
               training: bool = False) -> tuple[Any, Any]:
        """``(Q-values (B, T, n_actions), final state)``; masked steps keep the state."""
        features, state = self.encoder.run(sequences, mask=mask, initial_state=initial_state,
                                           training=training)
        return self.head(features), state

    def call(self, sequences: Any, mask: Any = None, training: bool = False) -> Any:
        return self.unroll(sequences, mask=mask, training=training)[0]

    def step(self, observations: Any, state: Any) -> tuple[Any, Any]:
        """One env step: ``(Q-values (B, n_actions), next state)``."""
        features, state = self.encoder.step(observations, state)
        return self.head(features), state

    def get_initial_state(self, batch_size: int) -> Any:
        """Zero state for ``batch_size`` envs (per layer ``[h]`` or ``[h, c]``)."""
        return self.encoder.get_initial_state(batch_size)


class RecurrentLearner(GStepTrainer):
    """The sequence loss (see the module doc) for the shared G-step trainer.

    ``train(observations (G, B, W+1, *obs), mask (G, B, W+1), actions, rewards, discounts,
    loss_weights (G, B, W))`` runs G gradient steps in one graph call
    (:class:`~gymkit.agents.dqn.targets.GStepTrainer`) and returns the mean loss and mean Q(s, a).
    """

    def __init__(self, critic: RecurrentQNetwork, actor: RecurrentQNetwork, config: DQNConfig,
                 observation_shape: tuple[int, ...], observation_dtype: Any) -> None:
        seq = [None, None, None]  # (G, B, W+1) or (G, B, W)
        signature = [
            tf.TensorSpec([*seq, *observation_shape], tf.as_dtype(observation_dtype)),
            tf.TensorSpec(seq, tf.bool),
            tf.TensorSpec(seq, tf.int32),
            tf.TensorSpec(seq, tf.float32),
            tf.TensorSpec(seq, tf.float32),
            tf.TensorSpec(seq, tf.float32),
        ]
        super().__init__(critic, actor, config, self._loss, signature)

    def sample_shapes(self) -> list[tuple[int, ...]]:
        """One sample of each argument: a window of W+1 observations and mask bits, W of the rest."""
        w = self.config.burn_in + self.config.sequence_length
        obs_shape = tuple(self.signature[0].shape.as_list()[3:])
        return [(w + 1, *obs_shape), (w + 1,)] + [(w,)] * 4

    def _critic_q(self, observations: Any, mask: Any) -> Any:
        """Critic Q-values at positions ``burn_in .. W`` (B, W+1-burn_in, A); the burn-in
        positions only produce the start state, and no gradient flows into them."""
        burn = self.config.burn_in
        if burn == 0:
            return self.critic.unroll(observations, mask, training=True)[0]
        _, state = self.critic.unroll(observations[:, :burn], mask[:, :burn], training=True)
        state = tf.nest.map_structure(tf.stop_gradient, state)
        return self.critic.unroll(observations[:, burn:], mask[:, burn:], initial_state=state,
                                  training=True)[0]

    def _loss(self, observations: Any, mask: Any, actions: Any, rewards: Any, discounts: Any,
              loss_weights: Any) -> tuple[Any, Any]:
        """``(loss, mean Q(s, a))``: the weighted mean over the loss positions of a batch of
        windows (``loss_weights`` is 0 off them)."""
        burn = self.config.burn_in
        observations = tf.cast(observations, tf.float32)
        next_q = self.actor.unroll(observations, mask, training=False)[0][:, burn + 1:]
        q_all = self._critic_q(observations, mask)
        picker = tf.stop_gradient(q_all[:, 1:]) if self.config.double_dqn else None
        y = td_targets(rewards[:, burn:], discounts[:, burn:], next_q, picker)
        q_taken = tf.gather(q_all[:, :-1], actions[:, burn:], axis=2, batch_dims=2)
        weights = loss_weights[:, burn:]
        count = tf.maximum(tf.reduce_sum(weights), 1e-6)
        per_step = td_loss_terms(y - q_taken, self.config.loss)
        return tf.reduce_sum(per_step * weights) / count, tf.reduce_sum(q_taken * weights) / count


class CarriedState:
    """The playing network's recurrent state per env, one set per ``explore`` stream.

    Args:
        model: the playing :class:`RecurrentQNetwork` (actor or critic).
        observation_shape: shape of one observation.
        observation_dtype: dtype of the observations ``q_values`` receives.
        use_numpy: step in NumPy where it can (False: always the tf.function).
    """

    def __init__(self, model: RecurrentQNetwork, observation_shape: tuple[int, ...],
                 observation_dtype: Any, use_numpy: bool = True) -> None:
        self.model = model
        self.units = [[int(t.shape[1]) for t in layer] for layer in model.get_initial_state(1)]
        state_spec = [[tf.TensorSpec((None, u), tf.float32) for u in layer] for layer in self.units]
        obs_spec = tf.TensorSpec((None, *observation_shape), tf.as_dtype(observation_dtype))
        self.obs_dtype = np.dtype(observation_dtype)
        self._step = tf.function(lambda obs, state: model.step(tf.cast(obs, tf.float32), state),
                                 input_signature=[obs_spec, state_spec])
        #: the step in NumPy (gymkit's recurrent encoders; None: the tf.function steps), far
        #: cheaper than a graph dispatch per env step; :meth:`refresh` after weights change
        self.numpy_step = NumpyRecurrentStep.from_encoder(model.encoder) if use_numpy else None
        #: the linear heads in NumPy (V and A when dueling), after the NumPy step
        self.numpy_heads: NumpyForward | None = None
        if self.numpy_step is not None:
            self.numpy_heads = NumpyForward([(h.kernel, h.bias, ACTIVATIONS["linear"]) for h in model.heads()],
                                            dueling=model.dueling)
        self.refresh()
        self.carried = CarriedStates(self.units)

    def refresh(self) -> None:
        """Re-copy the playing network's weights into the NumPy step (after an update,
        a critic-to-actor copy or a load)."""
        if self.numpy_step is not None:
            self.numpy_step.refresh()
            self.numpy_heads.refresh()

    def stream(self, explore: bool, size: int = 0) -> list[list[np.ndarray]]:
        """The state arrays of one stream (see :class:`~gymkit.agents.nn.carried.CarriedStates`)."""
        return self.carried.stream(explore, size)

    def reset(self, env_ids: np.ndarray, explore: bool) -> None:
        """Zero the state rows of ``env_ids`` (their episodes start now)."""
        self.carried.reset(env_ids, explore)

    def q_values(self, observations: np.ndarray, explore: bool,
                 env_ids: np.ndarray | None = None) -> np.ndarray:
        """Q-values of one env step for rows ``env_ids`` (default ``0..n-1``), advancing their state."""
        observations = np.asarray(observations, self.obs_dtype)
        ids = np.arange(len(observations)) if env_ids is None else np.asarray(env_ids, np.int64)
        return self.carried.advance(explore, ids, lambda rows: self._step_rows(observations, rows))

    def _numpy_q(self, observations: np.ndarray, rows: Any) -> tuple[np.ndarray, Any]:
        """The NumPy twin of ``model.step``: the encoder's NumPy step, then the linear heads."""
        features, new = self.numpy_step(observations, rows)
        return self.numpy_heads(features), new

    def _step_rows(self, observations: np.ndarray, rows: Any) -> tuple[np.ndarray, Any]:
        if self.numpy_step is not None:
            return self._numpy_q(observations, rows)
        q, new = self._step(observations, rows)
        return q.numpy(), [[value.numpy() for value in layer] for layer in new]
