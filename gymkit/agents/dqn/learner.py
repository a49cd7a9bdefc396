"""The feed-forward DQN learner: the loss of one batch of transitions (see :mod:`.targets`)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from gymkit.agents.dqn.config import DQNConfig
from gymkit.agents.dqn.targets import GStepTrainer, td_loss_terms, td_targets


class Learner(GStepTrainer):
    """``train(observations, actions, rewards, next_observations, discounts)``, each with a
    leading G axis, runs G gradient steps (:class:`~gymkit.agents.dqn.targets.GStepTrainer`).

    Args:
        critic: the online Keras Q-network (trained).
        actor: the target Keras Q-network (copied from the critic every ``copy_steps``).
        config: the agent's config.
        observation_shape: shape of one observation.
        observation_dtype: dtype of the observations fed to ``train``.
    """

    def __init__(self, critic: Any, actor: Any, config: DQNConfig,
                 observation_shape: tuple[int, ...], observation_dtype: Any) -> None:
        self.input_dtype = critic.inputs[0].dtype
        obs_spec = tf.TensorSpec([None, None, *observation_shape], tf.as_dtype(observation_dtype))
        signature = [obs_spec, tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32),
                     obs_spec, tf.TensorSpec([None, None], tf.float32)]
        super().__init__(critic, actor, config, self._loss, signature)

    def _loss(self, observations: Any, actions: Any, rewards: Any, next_observations: Any,
              discounts: Any) -> tuple[Any, Any]:
        """``(mean L(y - Q_critic(s, a)), mean Q_critic(s, a))`` of one batch of transitions."""
        y = self._targets(rewards, tf.cast(next_observations, self.input_dtype), discounts)
        q_values = self.critic(tf.cast(observations, self.input_dtype), training=True)
        q_taken = tf.gather(q_values, actions, axis=1, batch_dims=1)
        loss = tf.reduce_mean(td_loss_terms(y - q_taken, self.config.loss))
        return loss, tf.reduce_mean(q_taken)

    def _targets(self, rewards: Any, next_observations: Any, discounts: Any) -> Any:
        """``y`` for a batch: the actor rates s' (Double DQN: the critic picks a')."""
        next_q = self.actor(next_observations, training=False)
        picker = self.critic(next_observations, training=False) if self.config.double_dqn else None
        return td_targets(rewards, discounts, next_q, picker)
