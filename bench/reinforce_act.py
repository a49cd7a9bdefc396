"""Acting cost of the REINFORCE agent: NumPy forward pass vs tf.function vs eager Keras.

Measures ``agent.act(obs, explore=True)`` (forward pass + NumPy sampling) per call, for
batch sizes 1 and 8, on the book's network (4 ELU units) and the tuned one (32x32 tanh).
Each backend is timed in ``--repeats`` rounds interleaved in one process; the report gives
the median microseconds per call and the ratio to the NumPy path measured in the same run.

    python bench/reinforce_act.py [--calls 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gymnasium as gym
import numpy as np

import gymkit


def time_calls(fn, obs, calls: int) -> float:
    fn(obs)  # warm up (traces the tf.function)
    start = time.perf_counter()
    for _ in range(calls):
        fn(obs)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = gym.make("CartPole-v1")
    networks = {"book 4 elu": {"hidden_sizes": [4], "activation": "elu"},
                "tuned 32x32 tanh": {"hidden_sizes": [32, 32], "activation": "tanh"}}
    print("| network | batch | numpy us/call | tf.function us/call | eager Keras us/call | tf/numpy | eager/numpy |")
    print("|---|---|---|---|---|---|---|")
    for label, net in networks.items():
        agents = {b: gymkit.make_agent("reinforce", env.observation_space, env.action_space,
                                       {**net, "act_backend": b, "baseline": "none"}, seed=0)
                  for b in ("numpy", "tf")}
        model = agents["tf"].learner.policy
        for batch in (1, 8):
            obs = np.random.default_rng(0).normal(size=(batch, 4)).astype(np.float32)
            runs = {"numpy": [], "tf": [], "eager": []}
            for _ in range(args.repeats):
                for b in ("numpy", "tf"):
                    runs[b].append(time_calls(lambda o, a=agents[b]: a.act(o, explore=True), obs, args.calls))
                runs["eager"].append(time_calls(lambda o, m=model: m(o), obs, max(args.calls // 10, 50)))
            med = {k: float(np.median(v)) for k, v in runs.items()}
            print(f"| {label} | {batch} | {med['numpy']:.1f} | {med['tf']:.1f} | {med['eager']:.1f} "
                  f"| {med['tf'] / med['numpy']:.1f}x | {med['eager'] / med['numpy']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
