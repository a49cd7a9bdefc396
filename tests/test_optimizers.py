"""``gymkit.agents.nn.optimizers.apply_gradients``: the written-out Adam gives Keras's bits; the
fused one (``fused=True``, DQN on TensorFlow's kernels) follows Keras's Adam to float32 rounding."""

from __future__ import annotations

import numpy as np
import pytest


def _train(lean: bool, jit: bool, fused: bool = False, **options) -> list[np.ndarray]:
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
            apply_gradients(optimizer, grads, variables, fused=fused)
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


@pytest.mark.parametrize("options, jit", [
    ({}, False),
    ({"epsilon": 1.5e-4, "max_grad_norm": 10.0}, False),  # the Atari presets' Adam, TF kernels
    ({"epsilon": 1.5e-4, "max_grad_norm": 10.0}, True),
    ({"decay_steps": 20, "final_learning_rate": 1e-4}, False),
])
def test_fused_adam_follows_keras_adam_to_float32_rounding(options, jit):
    keras_run, fused_run = _train(False, jit, **options), _train(True, jit, fused=True, **options)
    assert len(keras_run) == len(fused_run)
    assert 30 in [int(x) for x in fused_run if x.shape == ()]  # the step counter, as Keras counts
    assert any(not np.array_equal(a, b) for a, b in zip(fused_run, keras_run, strict=True))  # not Keras's path
    for ours, theirs in zip(fused_run, keras_run, strict=True):
        # the same update; only ``1 - beta`` is rounded differently: the kernel forms it in
        # float32 (1 - 0.999f = 0.00099998713), Keras in float64 and then rounds (0.001f), a
        # relative 1.3e-5 in the second moment's step, so v differs by up to that much
        np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)


def _update_ops(function) -> set[str]:
    """The op types of a traced update, its loop bodies included."""
    graph_def = function.get_concrete_function().graph.as_graph_def()
    return {n.op for n in [*graph_def.node, *(n for f in graph_def.library.function for n in f.node_def)]}


def test_dqn_fuses_adam_on_tensorflows_kernels_only():
    """Fused on TensorFlow's kernels (the Atari presets where oneDNN is on); Keras's bits under
    XLA (dqn-cartpole, jit_step) and in REINFORCE, whose numbers and learning claims stay as measured."""
    import gymnasium as gym

    import gymkit
    from gymkit.config import load_preset

    env = gym.make("CartPole-v1")
    make = lambda config: gymkit.make_agent("dqn", env.observation_space, env.action_space, config, seed=0)  # noqa: E731
    assert "ResourceApplyAdam" in _update_ops(make({"hidden_sizes": [8]}).learner.train)
    assert "ResourceApplyAdam" not in _update_ops(make(load_preset("dqn-cartpole").config).learner.train)
    assert "ResourceApplyAdam" not in _update_ops(make({"hidden_sizes": [8], "jit_step": True}).learner.train_one)
    rf = gymkit.make_agent("reinforce", env.observation_space, env.action_space,
                           load_preset("reinforce-cartpole").config, seed=0)
    assert "ResourceApplyAdam" not in _update_ops(rf.learner.train_step)


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
