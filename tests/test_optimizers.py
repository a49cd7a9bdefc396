"""``gymkit.agents.nn.optimizers.apply_gradients``: the written-out Adam gives Keras's bits."""

from __future__ import annotations

import numpy as np
import pytest


def _train(lean: bool, jit: bool, **options) -> list[np.ndarray]:
    """30 Adam steps on four variables with large random gradients; every variable and slot after."""
    import tensorflow as tf

    from gymkit.agents.nn.optimizers import apply_gradients, make_optimizer

    rng = np.random.default_rng(0)
    variables = [tf.Variable(rng.normal(size=s).astype(np.float32)) for s in [(7, 5), (5,), (5, 3), (3,)]]
    optimizer = make_optimizer("adam", 3e-3, **options)
    optimizer.build(variables)

    @tf.function(jit_compile=jit or None, autograph=False)
    def step(grads):
        if lean:
            apply_gradients(optimizer, grads, variables)
        else:
            optimizer.apply_gradients(zip(grads, variables, strict=True))

    for _ in range(30):
        step([tf.constant(10 * rng.normal(size=v.shape).astype(np.float32)) for v in variables])
    return [v.numpy() for v in variables] + [s.numpy() for s in optimizer.variables]


@pytest.mark.parametrize("options, jit", [
    ({}, False),
    ({"epsilon": 1.5e-4, "max_grad_norm": 10.0}, False),  # the Atari presets' Adam
    ({"epsilon": 1.5e-4, "max_grad_norm": 10.0}, True),   # ... under XLA (jit_step)
    ({"decay_steps": 20, "final_learning_rate": 1e-4}, False),  # dqn-cartpole's decaying rate
])
def test_lean_adam_gives_the_bits_of_keras_adam(options, jit):
    keras_run, lean_run = _train(False, jit, **options), _train(True, jit, **options)
    assert len(keras_run) == len(lean_run) == (13 if "decay_steps" in options else 14)
    for ours, theirs in zip(lean_run, keras_run, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_agents_take_the_lean_path_and_other_optimizers_keep_keras():
    import gymnasium as gym

    import gymkit
    from gymkit.agents.nn.optimizers import _plain_adam, make_optimizer
    from gymkit.config import load_preset

    env = gym.make("CartPole-v1")
    dqn = gymkit.make_agent("dqn", env.observation_space, env.action_space,
                            load_preset("dqn-cartpole").config, seed=0)
    variables = dqn.critic.trainable_variables
    assert _plain_adam(dqn.learner.optimizer, variables, variables)
    rf = gymkit.make_agent("reinforce", env.observation_space, env.action_space,
                           load_preset("reinforce-cartpole").config, seed=0)
    variables = rf.learner.policy.trainable_variables
    assert _plain_adam(rf.learner.policy_optimizer, variables, variables)
    rms = make_optimizer("rmsprop", 1e-3)
    rms.build(variables)
    assert not _plain_adam(rms, variables, variables)
    assert not _plain_adam(make_optimizer("adam", 1e-3), variables, variables)  # not built yet
