"""The feed-forward DQN learner: the loss of one batch of transitions (see :mod:`.targets`)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from gymkit.agents.dqn.config import DQNConfig
from gymkit.agents.dqn.targets import GStepTrainer, td_loss_terms, td_targets
from gymkit.encoders.cnn import channels_last_shape, channels_last_view


class Learner(GStepTrainer):
    """``train(observations, actions, rewards, next_observations, discounts)``, each with a
    leading G axis, runs G gradient steps (:class:`~gymkit.agents.dqn.targets.GStepTrainer`).

    Networks with a channels-last view (gymkit's CNN encoders on channels-first frames) are
    trained through it: ``train`` then takes the observations channels last
    (:attr:`channels_last`; the replay memory samples them so).

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
        views = channels_last_view(critic), channels_last_view(actor)
        #: True: ``train`` takes channels-last images (``channels_last_shape`` of the observation
        #: shape) and runs the networks' channels-last views (the same weights; no transpose)
        self.channels_last = None not in views
        self._critic_net, self._actor_net = views if self.channels_last else (critic, actor)
        #: the shape of one observation as ``train`` takes it
        self.observation_shape = (channels_last_shape(observation_shape) if self.channels_last
                                  else tuple(observation_shape))
        obs_spec = tf.TensorSpec([None, None, *self.observation_shape], tf.as_dtype(observation_dtype))
        signature = [obs_spec, tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32),
                     obs_spec, tf.TensorSpec([None, None], tf.float32)]
        super().__init__(critic, actor, config, self._loss, signature)

    def _loss(self, observations: Any, actions: Any, rewards: Any, next_observations: Any,
              discounts: Any) -> tuple[Any, Any]:
        """``(mean L(y - Q_critic(s, a)), mean Q_critic(s, a))`` of one batch of transitions."""
        y = self._targets(rewards, tf.cast(next_observations, self.input_dtype), discounts)
        q_values = self._critic_net(tf.cast(observations, self.input_dtype), training=True)
        q_taken = tf.gather(q_values, actions, axis=1, batch_dims=1)
        loss = tf.reduce_mean(td_loss_terms(y - q_taken, self.config.loss))
        return loss, tf.reduce_mean(q_taken)

    def _targets(self, rewards: Any, next_observations: Any, discounts: Any) -> Any:
        """``y`` for a batch: the actor rates s' (Double DQN: the critic picks a')."""
        next_q = self._actor_net(next_observations, training=False)
        picker = self._critic_net(next_observations, training=False) if self.config.double_dqn else None
        return td_targets(rewards, discounts, next_q, picker)
