"""Where a Ms. Pac-Man DQN step's time goes, and the agent's update against a bare kernel.

Measured in one process, on the settings of ``bench/dqn_speed_vs_sb3.py`` (Nature CNN, batch
32, plain DQN, Huber loss, Adam with gradient norm 10):

* the agent's update (``learner.train`` on one batch, as the agent calls it) against a bare
  ``tf.function`` of the same update written here from scratch (same networks, loss and
  optimizer, the target refreshed after the step as ``copy_steps: 1`` does; no step counter,
  no schedule, no G loop), each with TensorFlow's kernels and
  with XLA (``jit_step``); the two alternate, call by call, so load hits both alike, and
  both are handed the batch as NumPy arrays, as a training loop has it;
* one env step (Nature preprocessing, 4-stack), one acting forward pass (batch 1), one
  replay sample of 32 stacked transitions, and one ``observe`` of a transition.

    python bench/dqn_atari_profile.py --calls 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from gymkit.tf_import import tensorflow  # noqa: E402

tf = tensorflow()

import numpy as np  # noqa: E402

from gymkit.agents.base import Transitions  # noqa: E402
from gymkit.agents.dqn import DQNAgent  # noqa: E402
from gymkit.agents.dqn.config import DQNConfig  # noqa: E402
from gymkit.agents.dqn.networks import q_network  # noqa: E402
from gymkit.config import load_preset  # noqa: E402
from gymkit.envs.factory import make_env  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dqn_speed_vs_sb3 import ATARI, cpu_model  # noqa: E402


def bare_update(space, n_actions: int, jit: bool):
    """The same update, written without the agent: Q(s, a) against r + d max Q_target(s').

    It uses the same parts as the agent's (the networks' channels-last views, which take the
    batch as the replay memory samples it, and ``apply_gradients``' Adam, fused on TensorFlow's
    kernels as the agent's), and none of its machinery: no step counter, no copy schedule, no
    G loop, no ``SignatureCall``.
    """
    import keras

    from gymkit.agents.nn.optimizers import apply_gradients
    from gymkit.encoders.cnn import channels_last_view

    critic = q_network("nature-cnn", space, n_actions, seed=1, name="bare_critic")
    target = q_network("nature-cnn", space, n_actions, seed=1, name="bare_target")
    critic_hwc, target_hwc = channels_last_view(critic), channels_last_view(target)
    optimizer = keras.optimizers.Adam(1e-4, epsilon=1.5e-4, global_clipnorm=10.0)
    optimizer.build(critic.trainable_variables)

    def step(obs, actions, rewards, next_obs, discounts):
        y = rewards + discounts * tf.reduce_max(target_hwc(next_obs, training=False), axis=1)
        with tf.GradientTape() as tape:
            q = tf.gather(critic_hwc(obs, training=True), actions, axis=1, batch_dims=1)
            error = tf.stop_gradient(y) - q
            loss = tf.reduce_mean(tf.where(tf.abs(error) < 1.0, 0.5 * tf.square(error), tf.abs(error) - 0.5))
        grads = tape.gradient(loss, critic.trainable_variables)
        apply_gradients(optimizer, grads, critic.trainable_variables, fused=not jit)  # as the agent's
        for mine, theirs in zip(target.weights, critic.weights, strict=True):  # copy_steps 1
            mine.assign(theirs)
        return loss, tf.reduce_mean(q)

    return tf.function(step, autograph=False, jit_compile=jit or None)


def per_call_ms(fn, calls: int) -> float:
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=30, help="update calls per measurement")
    args = parser.parse_args()
    preset = load_preset("dqn-mspacman")
    env = make_env(preset.env, preset.env_kwargs, preset.wrappers)
    obs, _ = env.reset(seed=0)
    rows = []
    print(f"# {cpu_model()}; TensorFlow {tf.__version__}; "
          f"TF_NUM_INTRAOP_THREADS={os.environ.get('TF_NUM_INTRAOP_THREADS', 'default')}")
    for jit in (False, True):
        config = DQNConfig(**{**preset.config, **ATARI, "jit_step": jit})
        agent = DQNAgent(env.observation_space, env.action_space, config, seed=0)
        agent.bind_env(env)
        rng = np.random.default_rng(0)
        for _ in range(600):  # something to sample from
            action = np.array([int(rng.integers(env.action_space.n))])
            nxt, r, term, trunc, _ = env.step(int(action[0]))
            agent.observe(Transitions(obs[None], action, np.array([r], np.float32), nxt[None],
                                      np.array([term]), np.array([trunc]), np.array([0])))
            obs = nxt if not (term or trunc) else env.reset()[0]
        batch = agent._transition_batches(1, 32)
        bare = bare_update(env.observation_space, int(env.action_space.n), jit)
        agent.learner.train(*batch), bare(*(a[0] for a in batch))  # trace and compile both first
        agent_ms, bare_ms = [], []
        # Both are handed the batch as NumPy arrays, as a training loop has it: a fresh tensor
        # each call costs ~3.5 ms more than re-feeding one that is already in TF's memory.
        for _ in range(5):  # alternate, so load hits both alike
            agent_ms.append(per_call_ms(lambda a=agent, t=batch: float(a.learner.train(*t)[0]),
                                        args.calls // 5 or 1))
            bare_ms.append(per_call_ms(lambda f=bare, t=batch: float(f(*(tf.constant(x[0]) for x in t))[0]),
                                       args.calls // 5 or 1))
        a, b = statistics.median(agent_ms), statistics.median(bare_ms)
        rows.append((f"update, {'XLA (jit_step)' if jit else 'TF kernels'}: agent / bare",
                     f"{a:.1f} ms / {b:.1f} ms", f"agent at {b / a:.2f} of the bare rate"))
    one = obs[None]
    rows.append(("env step (Nature preprocessing, 4-stack)",
                 f"{per_call_ms(lambda: env.step(0), 300):.2f} ms", ""))
    agent.q_values(one)
    rows.append(("acting forward pass, batch 1", f"{per_call_ms(lambda: agent.q_values(one), 200):.2f} ms", ""))
    rows.append(("replay sample, 32 stacked transitions",
                 f"{per_call_ms(lambda: agent._transition_batches(1, 32), 200):.2f} ms", ""))
    print("\n| part | cost | note |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
