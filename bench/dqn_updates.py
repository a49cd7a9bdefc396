"""Benchmark 3 (second half): DQN gradient updates per second, book and Nature networks.

One update = sample-free graph call of :class:`gymkit.agents.dqn.learner.Learner` on a
pre-made uint8 batch: targets from the actor, loss, gradients, Adam step (the hot path the
agent runs). Each setting is timed ``--repeats`` times over ``--updates`` updates after a
warm-up call (tracing excluded); the median is reported.

    python bench/dqn_updates.py                       # book & Nature, batch 32 & 50
    python bench/dqn_updates.py --jit                 # also with jit_compile=True
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

SETUPS = {
    # the book's single 88x80 frame (preset dqn-mspacman-book) and the Nature 4x84x84 stack
    "book-cnn": (1, 88, 80),
    "nature-cnn": (4, 84, 84),
}


def measure(encoder: str, shape: tuple[int, ...], batch: int, updates: int, repeats: int,
            jit: bool, per_call: int) -> float:
    from gymkit.registry import make_agent

    rng = np.random.default_rng(0)
    if encoder == "mlp":  # CartPole: the dqn-cartpole network, float32 observations
        space, n = gym.spaces.Box(-5, 5, shape, np.float32), 2
        config = {"hidden_sizes": [256, 256], "double_dqn": False}
        obs = rng.normal(size=(per_call, batch, *shape)).astype(np.float32)
        nxt = rng.normal(size=(per_call, batch, *shape)).astype(np.float32)
    else:
        obs_shape = shape[1:] if shape[0] == 1 else shape
        space, n, config = gym.spaces.Box(0, 255, obs_shape, np.uint8), 9, {}
        obs = rng.integers(0, 256, size=(per_call, batch, *obs_shape), dtype=np.uint8)
        nxt = rng.integers(0, 256, size=(per_call, batch, *obs_shape), dtype=np.uint8)
    agent = make_agent("dqn", space, gym.spaces.Discrete(n),
                       {"encoder": encoder, "batch_size": batch, "jit_compile": jit, **config}, seed=0)
    actions = rng.integers(0, n, size=(per_call, batch)).astype(np.int32)
    rewards = rng.normal(size=(per_call, batch)).astype(np.float32)
    discounts = np.full((per_call, batch), 0.99, np.float32)
    agent.learner.train(obs, actions, rewards, nxt, discounts)  # trace + warm up
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(updates // per_call):
            loss, _ = agent.learner.train(obs, actions, rewards, nxt, discounts)
        float(loss)
        rates.append(updates // per_call * per_call / (time.perf_counter() - t))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jit", action="store_true", help="also measure jit_compile=True")
    parser.add_argument("--per-call", type=int, default=1, help="gradient steps per graph call")
    parser.add_argument("--cartpole", action="store_true",
                        help="the dqn-cartpole MLP instead: batch 64, 128 steps per call, jit off/on")
    args = parser.parse_args()
    if args.cartpole:
        print("| network | batch | steps per call | jit_compile | updates/s |\n|---|---|---|---|---|")
        for _ in range(args.repeats):  # alternate, to share the machine's noise
            for jit in (False, True):
                rate = measure("mlp", (4,), 64, 128 * 10, 1, jit, 128)
                print(f"| mlp 256-256 | 64 | 128 | {jit} | {rate:.0f} |", flush=True)
        return
    print(f"| network | input | batch | jit_compile | updates/s (median of {args.repeats}) |")
    print("|---|---|---|---|---|")
    for encoder, shape in SETUPS.items():
        for batch in (32, 50):
            for jit in (False, True) if args.jit else (False,):
                rate = measure(encoder, shape, batch, args.updates, args.repeats, jit, args.per_call)
                print(f"| {encoder} | {'x'.join(map(str, shape))} uint8 | {batch} | {jit} | {rate:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()
