"""REINFORCE with whole-episode BPTT on gymkit/EmbeddedReber-v0: recurrent vs MLP encoder.

A self-contained driver (the gymkit loop has no hook yet to reset an agent's recurrent state
at episode starts; see docs/recurrent.md): ``--batch`` envs are stepped together, the policy
acting one step at a time with its carried state (``encoder.step``); the finished batch is
right-padded with its mask and the policy is trained on it in one ``tf.function``:

    L = -(1/N) sum_{b,t} mask_{b,t} A_b log pi(a_{b,t} | o_{b,0..t})

where A_b is the episode's return (its only reward is the answer's) standardised over the
batch, and the gradient flows back through time over each whole episode. A memoryless MLP
encoder sees only the current symbol. Accuracy is the greedy policy's over ``--eval``
episodes of seeds disjoint from training.

    python bench/reber_reinforce.py --encoder lstm --seeds 0 1 2
    python bench/reber_reinforce.py --encoder lstm --peephole --seeds 0 1 2
    python bench/reber_reinforce.py --encoder mlp --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

import gymkit  # noqa: F401  (registers the env)
from gymkit.encoders import make_encoder


class Policy:
    """Encoder + dense head of 2 logits; recurrent encoders act with a carried state."""

    def __init__(self, space: gym.Space, encoder: str, units: int, lr: float, seed: int,
                 entropy: float = 0.0, peephole: bool = False) -> None:
        self.entropy = entropy
        self.recurrent = encoder != "mlp"
        self.encoder = make_encoder(encoder, space, hidden_sizes=[units], seed=seed,
                                    **({"peephole": peephole} if encoder == "lstm" else {}),
                                    **({} if self.recurrent else {"activation": "tanh"}))
        self.head = keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(seed + 1))
        self.head.build((None, units))
        self.variables = self.encoder.trainable_variables + self.head.trainable_variables
        self.optimizer = keras.optimizers.Adam(lr)
        self.optimizer.build(self.variables)
        self.step = tf.function(self._step, reduce_retracing=True)
        self.train = tf.function(self._train, reduce_retracing=True)

    def features(self, obs, mask=None, training=False):
        if self.recurrent:
            return self.encoder(obs, mask=mask, training=training)
        shape = tf.shape(obs)
        flat = self.encoder(tf.reshape(obs, (-1, obs.shape[-1])), training=training)
        return tf.reshape(flat, (shape[0], shape[1], -1))

    def _step(self, obs, state):
        if self.recurrent:
            f, state = self.encoder.step(obs, state)
        else:
            f = self.encoder(obs)
        return self.head(f), state

    def _train(self, obs, actions, scores, mask):
        m = tf.cast(mask, tf.float32)
        with tf.GradientTape() as tape:
            logp = tf.nn.log_softmax(self.head(self.features(obs, mask, training=True)))
            chosen = tf.gather(logp, actions, batch_dims=2)
            n = tf.reduce_sum(m)
            entropy = -tf.reduce_sum(m * tf.reduce_sum(tf.exp(logp) * logp, -1)) / n
            # the entropy bonus keeps the answer from turning deterministic (and its gradient
            # vanishing) before the memory has been learnt
            loss = -tf.reduce_sum(m * scores[:, None] * chosen) / n - self.entropy * entropy
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables, strict=True))
        return loss


def play(policy: Policy, envs: list, seeds: list[int], rng: np.random.Generator | None):
    """Play one episode per env together; sample actions (rng) or act greedily (None)."""
    n = len(envs)
    obs = np.stack([env.reset(seed=s)[0] for env, s in zip(envs, seeds, strict=True)])
    state = policy.encoder.get_initial_state(n) if policy.recurrent else tf.zeros((n, 1))
    alive, rewards = np.ones(n, bool), np.zeros(n)
    observations, actions, masks = [], [], []
    while alive.any():
        logits, state = policy.step(tf.constant(obs), state)
        logits = logits.numpy().astype(np.float64)
        if rng is None:
            act = logits.argmax(1)
        else:
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            act = (rng.random((n, 1)) >= p.cumsum(1)).sum(1).clip(0, 1)
        observations.append(obs.copy()), actions.append(act), masks.append(alive.copy())
        for i in np.flatnonzero(alive):
            o, r, term, trunc, _ = envs[i].step(int(act[i]))
            obs[i], rewards[i] = o, r
            alive[i] = not (term or trunc)
    return (np.stack(observations, 1), np.stack(actions, 1).astype(np.int32),
            np.stack(masks, 1), rewards)


def run(encoder: str, seed: int, updates: int, batch: int, units: int, lr: float, n_eval: int,
        entropy: float = 0.0, peephole: bool = False) -> dict:
    keras.utils.set_random_seed(seed)
    envs = [gym.make("gymkit/EmbeddedReber-v0") for _ in range(batch)]
    policy = Policy(envs[0].observation_space, encoder, units, lr, seed, entropy, peephole)
    rng = np.random.default_rng(seed)
    start, curve = time.perf_counter(), []
    for u in range(updates):
        seeds = [10_000_000 * (seed + 1) + u * batch + i for i in range(batch)]
        obs, actions, mask, rewards = play(policy, envs, seeds, rng)
        scores = (rewards - rewards.mean()) / (rewards.std() + 1e-8)
        policy.train(tf.constant(obs), tf.constant(actions), tf.constant(scores, tf.float32),
                     tf.constant(mask))
        curve.append(rewards.mean())
    eval_seeds = list(range(n_eval))  # training seeds start at 10**7: disjoint
    right = []
    for k in range(0, n_eval, batch):
        right.extend(play(policy, envs, eval_seeds[k:k + batch], None)[3])
    return {"encoder": encoder, "seed": seed, "accuracy": float(np.mean(np.array(right[:n_eval]) == 1.0)),
            "train_last20": float(np.mean(curve[-20:])), "seconds": time.perf_counter() - start}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder", default="lstm", choices=["lstm", "gru", "simple-rnn", "mlp"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--updates", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--units", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--eval", type=int, default=1024)
    ap.add_argument("--peephole", action="store_true", help="LSTM with peephole connections")
    ap.add_argument("--entropy", type=float, default=0.0, help="entropy bonus coefficient")
    args = ap.parse_args()
    for seed in args.seeds:
        r = run(args.encoder, seed, args.updates, args.batch, args.units, args.lr, args.eval, args.entropy,
                args.peephole)
        name = r["encoder"] + ("+peephole" if args.peephole else "")
        print(f"{name:>14} seed {r['seed']}: greedy accuracy {r['accuracy']:.3f} over {args.eval} "
              f"episodes; last-20-batch train accuracy {r['train_last20']:.3f}; {r['seconds']:.0f}s", flush=True)


if __name__ == "__main__":
    main()
