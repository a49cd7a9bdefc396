"""Benchmark: recurrent DQN vs MLP DQN on two partly observed tasks.

* ``reber``: ``gymkit/EmbeddedReber-v0``, answer the second symbol of an embedded Reber string
  at its end (reward 1 if right, 0 if wrong; chance 0.5 for any memoryless policy). The
  greedy evaluation's mean return is the accuracy. ``sequence_length`` 20 covers a whole
  episode (strings are at most 20 symbols).
* ``cartpole``: ``CartPole-v1`` with ``velocity-mask`` (cart position and pole angle only).

Each run trains with :func:`gymkit.loop.train` for ``--steps`` env steps, then plays
``--eval`` greedy episodes (seeded apart from training). One JSON line per run, then a table::

    python bench/dqn_recurrent.py --task reber --variants mlp lstm gru --seeds 0 1 2
    python bench/dqn_recurrent.py --task cartpole --variants mlp lstm --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
warnings.filterwarnings("ignore", message=".*precision lowered by casting to float32.*")

#: the config shared by every variant of a task (the encoder varies)
TASKS: dict[str, dict] = {
    "reber": {
        "env": "gymkit/EmbeddedReber-v0", "wrappers": None, "steps": 5_000, "num_envs": 8,
        "config": {"hidden_sizes": [32], "learning_rate": 0.003, "discount_rate": 0.9,
                   "batch_size": 32, "replay_memory_size": 20_000, "training_start": 500,
                   "training_interval": 8, "copy_steps": 50, "eps_max": 1.0, "eps_min": 0.1,
                   "eps_decay_steps": 10_000, "eps_decay_unit": "env_steps",
                   "sequence_length": 20, "act_with": "critic", "loss": "huber"},
    },
    "cartpole": {
        "env": "CartPole-v1", "wrappers": ["velocity-mask"], "steps": 50_000, "num_envs": 4,
        "config": {"hidden_sizes": [64], "learning_rate": 0.001, "discount_rate": 0.99,
                   "batch_size": 32, "replay_memory_size": 50_000, "training_start": 1_000,
                   "training_interval": 4, "copy_steps": 250, "eps_max": 1.0, "eps_min": 0.05,
                   "eps_decay_steps": 20_000, "eps_decay_unit": "env_steps",
                   "sequence_length": 8, "burn_in": 8, "act_with": "critic", "loss": "huber"},
    },
    # the same, with position and angle rescaled from their bounds to [-1, 1] (as in
    # bench/masked_cartpole.py: recurrent cells see the tiny angle differences better)
    "cartpole-rescaled": {
        "env": "CartPole-v1", "wrappers": ["velocity-mask", {"rescale-observation": {"min_obs": -1.0, "max_obs": 1.0}}],
        "steps": 50_000, "num_envs": 4,
        "config": {"hidden_sizes": [64], "learning_rate": 0.001, "discount_rate": 0.99,
                   "batch_size": 32, "replay_memory_size": 50_000, "training_start": 1_000,
                   "training_interval": 4, "copy_steps": 250, "eps_max": 1.0, "eps_min": 0.05,
                   "eps_decay_steps": 20_000, "eps_decay_unit": "env_steps",
                   "sequence_length": 8, "burn_in": 8, "act_with": "critic", "loss": "huber"},
    },
}
VARIANTS = {
    "mlp": {"encoder": "mlp"},
    "lstm": {"encoder": "lstm"},
    "gru": {"encoder": "gru"},
    "stack4": {"encoder": "mlp"},  # the MLP on the last 4 observations (frame-stack wrapper)
}


def run(task: str, variant: str, seed: int, steps: int | None, eval_episodes: int,
        overrides: dict | None = None) -> dict:
    from gymkit.loop import train

    spec = TASKS[task]
    config = {**spec["config"], **VARIANTS[variant], **(overrides or {})}
    wrappers = spec["wrappers"]
    if variant == "stack4":
        wrappers = [*(wrappers or []), {"frame-stack": {"stack_size": 4}}]
    if variant in ("mlp", "stack4"):  # a feed-forward net has no sequences to replay
        config = {k: v for k, v in config.items() if k not in ("sequence_length", "burn_in")}
        config["hidden_sizes"] = [*config["hidden_sizes"]] * 2
    start = time.perf_counter()
    result = train("dqn", spec["env"], config=config, wrappers=wrappers, seed=seed,
                   steps=steps or spec["steps"], num_envs=spec["num_envs"],
                   eval_episodes=eval_episodes, progress=False)
    ev = result.evaluation
    return {"task": task, "variant": variant, "seed": seed, "steps": result.steps,
            "episodes": result.episodes, "train_last100": result.recent_mean_return,
            "overrides": overrides or {}, "eval_mean": ev.mean, "eval_std": ev.std, "wall_s": round(time.perf_counter() - start, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=list(TASKS), default="reber")
    ap.add_argument("--variants", nargs="+", default=["mlp", "lstm"], choices=list(VARIANTS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=None, help="env steps (default: the task's)")
    ap.add_argument("--eval", type=int, default=200)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a DQN config value of the task (YAML value), e.g. burn_in=16")
    args = ap.parse_args()
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--set {item!r}: expected KEY=VALUE, e.g. --set burn_in=16")
        overrides[key] = yaml.safe_load(value)
    rows = []
    for variant in args.variants:
        for seed in args.seeds:
            row = run(args.task, variant, seed, args.steps, args.eval, overrides)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{args.task}: greedy eval mean over {args.eval} episodes")
    print("| variant | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean |")
    print("|---|" + "---|" * (len(args.seeds) + 1))
    for variant in args.variants:
        evals = [r["eval_mean"] for r in rows if r["variant"] == variant]
        print(f"| {variant} | " + " | ".join(f"{e:.3f}" for e in evals)
              + f" | {sum(evals) / len(evals):.3f} |")


if __name__ == "__main__":
    main()
