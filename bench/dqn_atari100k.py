"""Benchmark 4: Atari-100k Ms. Pac-Man with the ``dqn-mspacman`` preset.

100,000 agent steps (400,000 frames, v5 sticky actions) of training, then the greedy
(``eps_eval``) evaluation mean over ``--eval-episodes`` episodes (at least 30), against the
published Atari-100k reference points. Slow: about an hour or more on a 2-core CPU.

    python bench/dqn_atari100k.py --seed 0 --run-dir /tmp/dqn_atari100k_s0
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

#: Atari-100k Ms. Pac-Man reference scores (random and human from Mnih et al. / DER tables).
REFERENCE = {"random": 307.3, "human": 6951.6, "DrQ": 960.5, "SPR": 1204.1, "SimPLe": 1480.0}


def human_normalized(score: float) -> float:
    return (score - REFERENCE["random"]) / (REFERENCE["human"] - REFERENCE["random"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--eval-episodes", type=int, default=30)
    parser.add_argument("--run-dir", default=None)
    args = parser.parse_args()
    from gymkit.loop import train

    t = time.perf_counter()
    result = train(preset="dqn-mspacman", seed=args.seed, steps=args.steps,
                   eval_episodes=args.eval_episodes, run_dir=args.run_dir, progress=False,
                   log_every=5_000)
    total = time.perf_counter() - t
    ev = result.evaluation
    row = {"seed": args.seed, "steps": result.steps, "episodes": result.episodes,
           "train_wall_s": result.wall_time_s, "total_wall_s": total, "eval_mean": ev.mean,
           "eval_std": ev.std, "eval_min": ev.min, "eval_max": ev.max, "eval_episodes": len(ev.returns),
           "human_normalized": human_normalized(ev.mean), "train_steps": result.agent.train_steps,
           "returns": ev.returns}
    print(json.dumps(row), flush=True)
    print(f"\nAtari-100k MsPacman, seed {args.seed}: eval mean {ev.mean:.1f} +- {ev.std:.1f} over "
          f"{len(ev.returns)} episodes (human-normalized {row['human_normalized']:.3f}); training "
          f"{result.wall_time_s / 60:.1f} min, total {total / 60:.1f} min")
    for name, score in REFERENCE.items():
        print(f"  {name:7s} {score:8.1f}")


if __name__ == "__main__":
    main()
