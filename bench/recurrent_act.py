"""Acting cost of the recurrent agents: NumPy step (gymkit.encoders.numpy_step) vs tf.function.

Times ``agent.act(obs, explore=True, env_ids=ids)`` (one recurrent step with the carried
state, the head, the action choice) for REINFORCE (``act_backend`` numpy vs tf) and DQN (the
NumPy step vs the ``tf.function`` it falls back to), LSTM with 32 units on CartPole-sized
observations, for 1 and 8 envs. Each path is timed in ``--repeats`` interleaved rounds in
one process; the table gives median calls per second and the ratio numpy/tf of the same run.

With ``--masked-cartpole N`` it also trains REINFORCE on velocity-masked CartPole
(``bench/masked_cartpole.py``'s ``lstm`` variant, seed 0, N episodes) once per backend and
prints the wall times (median over ``--run-repeats``, order alternated) and the results.

    python bench/recurrent_act.py [--calls 2000] [--repeats 5] [--masked-cartpole 300 --run-repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import gymnasium as gym
import numpy as np

import gymkit

OBS = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
ACT = gym.spaces.Discrete(2)
LSTM = {"encoder": "lstm", "hidden_sizes": [32]}


def calls_per_second(agent, obs: np.ndarray, calls: int) -> float:
    ids = np.arange(len(obs))
    agent.episode_start(ids, explore=True)
    agent.act(obs, explore=True, env_ids=ids)  # warm up (traces the tf.function)
    start = time.perf_counter()
    for _ in range(calls):
        agent.act(obs, explore=True, env_ids=ids)
    return calls / (time.perf_counter() - start)


def agents() -> dict[str, dict[str, object]]:
    """Per agent, the NumPy-acting and the tf.function-acting twin (same seed, same weights)."""
    out = {"reinforce": {b: gymkit.make_agent("reinforce", OBS, ACT, {**LSTM, "act_backend": b},
                                              seed=0) for b in ("numpy", "tf")}}
    dqn = {b: gymkit.make_agent("dqn", OBS, ACT, LSTM, seed=0) for b in ("numpy", "tf")}
    assert dqn["numpy"]._carried.numpy_step is not None
    dqn["tf"]._carried.numpy_step = None  # what DQN does for an encoder it cannot mirror
    out["dqn"] = dqn
    return out


def act_table(calls: int, repeats: int) -> None:
    print("| agent | envs | numpy calls/s | tf.function calls/s | numpy/tf |")
    print("|---|---|---|---|---|")
    for name, pair in agents().items():
        for n in (1, 8):
            obs = np.random.default_rng(0).uniform(-1, 1, (n, 4)).astype(np.float32)
            runs: dict[str, list[float]] = {"numpy": [], "tf": []}
            for _ in range(repeats):
                for b, agent in pair.items():
                    runs[b].append(calls_per_second(agent, obs, calls))
            med = {b: float(np.median(v)) for b, v in runs.items()}
            print(f"| {name} lstm-32 | {n} | {med['numpy']:,.0f} | {med['tf']:,.0f} "
                  f"| {med['numpy'] / med['tf']:.1f}x |", flush=True)


def masked_cartpole(episodes: int, repeats: int) -> None:
    """Train with each backend ``repeats`` times, alternating which goes first (the first run
    of a process also pays TensorFlow's one-time start-up); median wall time per backend."""
    import bench.masked_cartpole as mc

    config, wrappers = mc.VARIANTS["lstm"]
    walls: dict[str, list[float]] = {"tf": [], "numpy": []}
    for r in range(repeats):
        for backend in ("tf", "numpy") if r % 2 == 0 else ("numpy", "tf"):
            mc.VARIANTS["lstm"] = ({**config, "act_backend": backend}, wrappers)
            row = mc.run("lstm", 0, episodes, 20, 1)
            walls[backend].append(row["wall_s"])
            print(json.dumps({"act_backend": backend, **row}), flush=True)
    mc.VARIANTS["lstm"] = (config, wrappers)
    med = {b: float(np.median(w)) for b, w in walls.items()}
    print(f"masked CartPole lstm seed 0, {episodes} episodes: median wall tf {med['tf']:.1f} s, "
          f"numpy {med['numpy']:.1f} s, tf/numpy {med['tf'] / med['numpy']:.1f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--masked-cartpole", type=int, default=0, metavar="EPISODES",
                        help="also train masked CartPole (lstm, seed 0) with each backend")
    parser.add_argument("--run-repeats", type=int, default=3, help="training runs per backend")
    args = parser.parse_args()
    act_table(args.calls, args.repeats)
    if args.masked_cartpole:
        masked_cartpole(args.masked_cartpole, args.run_repeats)


if __name__ == "__main__":
    main()
