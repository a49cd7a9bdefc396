"""Benchmark: the REINFORCE agent (``reinforce-reber`` preset) on gymkit/EmbeddedReber-v0 with
each encoder, through ``gymkit.loop.train`` (the loop, ``Agent.episode_start``, the agent's
carried state and its whole-episode BPTT update).

    python bench/reber_agent.py --encoders lstm lstm+peephole gru simple-rnn mlp --seeds 0 1 2 3 4

Accuracy = mean return of the greedy evaluation (200 episodes, env seeds apart from training),
since the only reward is +1 for a right answer. Chance is 0.5.
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

ENCODERS = {"lstm": ("lstm", None), "lstm+peephole": ("lstm", {"peephole": True}),
            "gru": ("gru", None), "simple-rnn": ("simple-rnn", None), "mlp": ("mlp", None)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=list(ENCODERS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--episodes", type=int, default=4800)
    args = ap.parse_args()
    from gymkit.loop import train

    table = {}
    for name in args.encoders:
        encoder, options = ENCODERS[name]
        for seed in args.seeds:
            start = time.perf_counter()
            r = train(preset="reinforce-reber", config={"encoder": encoder, "encoder_options": options},
                      seed=seed, episodes=args.episodes, progress=False)
            table.setdefault(name, []).append(r.evaluation.mean)
            print(json.dumps({"encoder": name, "seed": seed, "accuracy": r.evaluation.mean,
                              "train_last100": r.recent_mean_return, "steps": r.steps,
                              "wall_s": round(time.perf_counter() - start, 1)}), flush=True)
    print("\n| encoder | " + " | ".join(f"seed {s}" for s in args.seeds) + " | seeds >= 0.95 |")
    print("|---|" + "---|" * (len(args.seeds) + 1))
    for name, accs in table.items():
        print(f"| {name} | " + " | ".join(f"{a:.3f}" for a in accs)
              + f" | {sum(a >= 0.95 for a in accs)}/{len(accs)} |")


if __name__ == "__main__":
    main()
