"""What ``--wandb`` (offline) costs a training run, against the same run without it.

Runs each agent/env pair ``--repeats`` times with and without an offline wandb sink,
alternating, and reports median env steps per second and their ratio (same process, same
machine, so the ratio is what to read; absolute numbers vary with load). The random agent
on CartPole is the worst case: ~20-step episodes, so an episode event every few
microseconds of env time.

    python bench/tracking_overhead.py --steps 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gymkit.loop import train
from gymkit.tracking import make_wandb_sink

CASES = [("random", "CartPole-v1", None), ("q-learning", "gymkit/BookMDP-v0", {"exploration": "epsilon-greedy"})]


def one_run(agent: str, env: str, config: dict | None, steps: int, wandb: bool, root: Path, k: int) -> float:
    run_dir = root / f"{agent}-{'wandb' if wandb else 'plain'}-{k}"
    sinks = (make_wandb_sink(run_dir, mode="offline"),) if wandb else ()
    start = time.perf_counter()
    train(agent, env, steps=steps, config=config, eval_episodes=0, run_dir=run_dir, sinks=sinks,
          progress=False)
    return steps / (time.perf_counter() - start)  # includes wandb.init and finish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("| agent | env | steps | plain steps/s (median) | --wandb offline steps/s (median) | ratio |")
        print("|---|---|---:|---:|---:|---:|")
        for agent, env, config in CASES:
            plain, tracked = [], []
            for k in range(args.repeats):
                plain.append(one_run(agent, env, config, args.steps, False, root, k))
                tracked.append(one_run(agent, env, config, args.steps, True, root, k))
            p, t = statistics.median(plain), statistics.median(tracked)
            print(f"| {agent} | {env} | {args.steps:,} | {p:,.0f} | {t:,.0f} | {t / p:.2f} |")


if __name__ == "__main__":
    main()
