"""The DQN update as TensorFlow graph code: one ``tf.function`` call runs G gradient steps.

For each sampled transition ``(s, a, R, s', d)`` with ``R = sum_{i<m} gamma^i r_{t+i}`` and
``d = gamma^m`` (0 when the episode terminated within the m <= n steps), the target is::

    y = R + d * max_a' Q_actor(s', a')                          (Eq. 16-7; n = 1 in the book)
    y = R + d * Q_actor(s', argmax_a' Q_critic(s', a'))          (Double DQN)

and the critic minimises ``J = 1/m sum_i L(y_i - Q_critic(s_i, a_i))`` with L the square
(Eq. 16-7) or the Huber function. A time limit (truncation) keeps ``d = gamma^m``: the state
after a cut-short episode still has a future; only termination zeroes it.
"""

from __future__ import annotations

from typing import Any

from gymkit.agents.dqn.config import DQNConfig
from gymkit.agents.dqn.networks import copy_critic_to_actor


def make_optimizer(config: DQNConfig) -> Any:
    """The Keras optimizer the config names."""
    import keras

    learning_rate: Any = config.learning_rate
    if config.lr_decay_steps > 0:  # linear in the optimizer's own step counter (saved with it)
        learning_rate = keras.optimizers.schedules.PolynomialDecay(
            config.learning_rate, config.lr_decay_steps, config.learning_rate_final, power=1.0)
    kwargs = {"learning_rate": learning_rate, "epsilon": config.optimizer_epsilon}
    if config.max_grad_norm > 0:
        kwargs["global_clipnorm"] = config.max_grad_norm
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(**kwargs)
    return keras.optimizers.Adam(**kwargs)


class Learner:
    """Owns the critic's optimizer and the graph-compiled update.

    Args:
        critic: the online Keras Q-network (trained).
        actor: the target Keras Q-network (copied from the critic every ``copy_steps``).
        config: the agent's config.
        observation_shape: shape of one observation.
        observation_dtype: dtype of the observations fed to :meth:`train`.
    """

    def __init__(self, critic: Any, actor: Any, config: DQNConfig,
                 observation_shape: tuple[int, ...], observation_dtype: Any) -> None:
        import tensorflow as tf

        self.critic, self.actor, self.config = critic, actor, config
        self.optimizer = make_optimizer(config)
        self.optimizer.build(critic.trainable_variables)
        self.train_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_steps")
        self.input_dtype = critic.inputs[0].dtype
        obs_spec = tf.TensorSpec([None, None, *observation_shape], tf.as_dtype(observation_dtype))
        signature = [
            obs_spec,
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None, None], tf.float32),
            obs_spec,
            tf.TensorSpec([None, None], tf.float32),
        ]
        self.train = tf.function(self._train, input_signature=signature,
                                 jit_compile=config.jit_compile or None)

    def copy_critic_to_actor(self) -> None:
        """Assign the critic's weights to the actor (the book's copy op)."""
        copy_critic_to_actor(self.critic, self.actor)

    def _targets(self, rewards: Any, next_observations: Any, discounts: Any) -> Any:
        import tensorflow as tf

        next_q = self.actor(next_observations, training=False)
        if self.config.double_dqn:
            best = tf.argmax(self.critic(next_observations, training=False), axis=1,
                             output_type=tf.int32)
            next_value = tf.gather(next_q, best, axis=1, batch_dims=1)
        else:
            next_value = tf.reduce_max(next_q, axis=1)
        return tf.stop_gradient(rewards + discounts * next_value)

    def _step(self, observations: Any, actions: Any, rewards: Any, next_observations: Any,
              discounts: Any) -> tuple[Any, Any]:
        import tensorflow as tf

        y = self._targets(rewards, next_observations, discounts)
        with tf.GradientTape() as tape:
            q_values = self.critic(observations, training=True)
            q_taken = tf.gather(q_values, actions, axis=1, batch_dims=1)
            error = y - q_taken
            if self.config.loss == "huber":
                abs_error = tf.abs(error)
                loss = tf.reduce_mean(tf.where(abs_error < 1.0, 0.5 * tf.square(error),
                                               abs_error - 0.5))
            else:
                loss = tf.reduce_mean(tf.square(error))
        grads = tape.gradient(loss, self.critic.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.critic.trainable_variables, strict=True))
        return loss, tf.reduce_mean(q_taken)

    def _train(self, observations: Any, actions: Any, rewards: Any, next_observations: Any,
               discounts: Any) -> tuple[Any, Any]:
        """G gradient steps on G pre-sampled batches (leading axis), copying when due."""
        import tensorflow as tf

        cast = self.input_dtype
        n = tf.shape(actions)[0]
        loss_sum = tf.constant(0.0)
        q_sum = tf.constant(0.0)
        for g in tf.range(n):
            loss, q_mean = self._step(tf.cast(observations[g], cast), actions[g], rewards[g],
                                      tf.cast(next_observations[g], cast), discounts[g])
            loss_sum += loss
            q_sum += q_mean
            self.train_steps.assign_add(1)
            if self.train_steps % self.config.copy_steps == 0:
                self.copy_critic_to_actor()
        count = tf.cast(n, tf.float32)
        return loss_sum / count, q_sum / count

    def q_values_fn(self, model: Any, observation_shape: tuple[int, ...],
                    observation_dtype: Any) -> Any:
        """A ``tf.function`` ``observations -> Q-values`` with a fixed input signature."""
        import tensorflow as tf

        spec = tf.TensorSpec([None, *observation_shape], tf.as_dtype(observation_dtype))
        cast = self.input_dtype

        @tf.function(input_signature=[spec])
        def q_values(observations: Any) -> Any:
            return model(tf.cast(observations, cast), training=False)

        return q_values
