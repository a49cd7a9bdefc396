"""Benchmark 1: gymkit's DQN against Stable-Baselines3's DQN on CartPole-v1, same settings.

Both use rl-baselines3-zoo's tuned CartPole-v1 DQN hyperparameters (the ``dqn-cartpole``
preset): 50,000 steps, MLP 256-256, Adam 2.3e-3, batch 64, replay 100,000, learning starts
1,000, gamma 0.99, 128 gradient steps every 256 env steps, target sync every 10 env steps,
epsilon 1 -> 0.04 over 16% of the run, Huber loss, gradient norm 10. Runs alternate between
the two libraries seed by seed, in fresh processes-worth of state, on the same machine.

Measured per run: env steps per second of training (wall time of the whole 50,000-step run,
graph tracing included, evaluation time excluded), the training wall time until a periodic
evaluation (every ``--eval-every`` steps, 20 greedy episodes) first reaches a mean >= 475,
and the final evaluation mean over 20 episodes.

    pip install torch==2.13.0 stable-baselines3     # the [bench] extra
    python bench/dqn_cartpole_vs_sb3.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402

from gymkit.agents.dqn import DQNAgent  # noqa: E402

ENV_ID, STEPS, SOLVED = "CartPole-v1", 50_000, 475.0
EVAL = {"every": 5_000, "episodes": 20}


def sb3_zoo_cartpole() -> dict:
    """SB3's DQN settings for CartPole-v1 from rl-baselines3-zoo (``dqn.yml``), as keyword
    arguments of ``stable_baselines3.DQN`` (a fresh dict each call)."""
    return dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1_000, gamma=0.99,
                target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]})


class TimedDQN(DQNAgent):
    """DQNAgent that evaluates itself every ``EVAL['every']`` env steps, off the clock."""

    def update(self) -> dict[str, float]:
        from gymkit.evaluation import evaluate_agent

        metrics = super().update()
        if not hasattr(self, "bench"):
            self.bench = {"t0": time.perf_counter(), "eval_s": 0.0, "next": EVAL["every"], "curve": []}
        b = self.bench
        if self.env_steps >= b["next"]:
            t = time.perf_counter()
            elapsed = t - b["t0"] - b["eval_s"]  # training time so far
            stats = evaluate_agent(self, ENV_ID, episodes=EVAL["episodes"], seed=10_000 + self.env_steps)
            b["eval_s"] += time.perf_counter() - t
            b["curve"].append((self.env_steps, elapsed, stats.mean))
            b["next"] += EVAL["every"]
        return metrics


def run_gymkit(seed: int) -> dict:
    from gymkit.config import load_preset
    from gymkit.loop import train

    preset = load_preset("dqn-cartpole")
    t = time.perf_counter()
    result = train(f"{Path(__file__).stem}:TimedDQN", ENV_ID, config=preset.config, steps=STEPS,
                   seed=seed, eval_episodes=EVAL["episodes"], progress=False)
    total = time.perf_counter() - t
    b = result.agent.bench
    train_s = result.wall_time_s - b["eval_s"]
    return {"lib": "gymkit", "seed": seed, "steps_per_s": STEPS / train_s, "train_s": train_s,
            "process_s": total, "time_to_475_s": _first_solved(b["curve"]),
            "final_mean": result.evaluation.mean, "curve": b["curve"]}


def run_sb3(seed: int) -> dict:
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy

    class Evaluator(BaseCallback):
        def _on_training_start(self) -> None:
            self.t0, self.eval_s, self.next, self.curve = time.perf_counter(), 0.0, EVAL["every"], []
            self.eval_env = gym.make(ENV_ID)

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next:
                t = time.perf_counter()
                elapsed = t - self.t0 - self.eval_s  # training time so far
                self.eval_env.reset(seed=10_000 + self.num_timesteps)
                mean, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=EVAL["episodes"])
                self.eval_s += time.perf_counter() - t
                self.curve.append((self.num_timesteps, elapsed, float(mean)))
                self.next += EVAL["every"]
            return True

    env = gym.make(ENV_ID)
    model = DQN("MlpPolicy", env, **sb3_zoo_cartpole(), seed=seed, device="cpu", verbose=0)
    callback = Evaluator()
    t = time.perf_counter()
    model.learn(STEPS, callback=callback)
    wall = time.perf_counter() - t
    eval_env = gym.make(ENV_ID)
    eval_env.reset(seed=seed + 1)
    final, _ = evaluate_policy(model, eval_env, n_eval_episodes=EVAL["episodes"])
    train_s = wall - callback.eval_s
    return {"lib": "sb3", "seed": seed, "steps_per_s": STEPS / train_s, "train_s": train_s,
            "process_s": wall, "time_to_475_s": _first_solved(callback.curve),
            "final_mean": float(final), "curve": callback.curve}


def _first_solved(curve: list) -> float | None:
    return next((t for _, t, mean in curve if mean >= SOLVED), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--libs", nargs="+", default=["gymkit", "sb3"], choices=["gymkit", "sb3"])
    parser.add_argument("--out", default="/tmp/dqn_cartpole_vs_sb3.jsonl")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("TF_NUM_INTRAOP_THREADS", "2")))
    rows = []
    with open(args.out, "a", encoding="utf-8") as fh:
        for seed in args.seeds:
            for lib in args.libs:
                row = (run_gymkit if lib == "gymkit" else run_sb3)(seed)
                rows.append(row)
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                print(f"{lib:6s} seed {seed}: {row['steps_per_s']:8.0f} steps/s, train {row['train_s']:6.1f} s, "
                      f"first eval >= 475 at {row['time_to_475_s']} s, final mean {row['final_mean']:.1f}",
                      flush=True)
    print("\n| library | env steps/s (median) | time to eval >= 475 (s, per seed) | final eval mean (per seed) |")
    print("|---|---|---|---|")
    for lib in args.libs:
        mine = [r for r in rows if r["lib"] == lib]
        tts = ", ".join("never" if r["time_to_475_s"] is None else f"{r['time_to_475_s']:.1f}" for r in mine)
        finals = ", ".join(f"{r['final_mean']:.1f}" for r in mine)
        print(f"| {lib} | {statistics.median(r['steps_per_s'] for r in mine):.0f} | {tts} | {finals} |")
    if set(args.libs) == {"gymkit", "sb3"}:
        ratios = [g["steps_per_s"] / s["steps_per_s"] for g, s in
                  zip(rows[0::2], rows[1::2], strict=True)]
        print(f"\nsteps/s ratio gymkit/sb3 per seed: {', '.join(f'{r:.2f}' for r in ratios)}; "
              f"median {statistics.median(ratios):.2f}; final means: {np.round([r['final_mean'] for r in rows], 1)}")


if __name__ == "__main__":
    main()
