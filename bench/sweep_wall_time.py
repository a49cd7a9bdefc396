"""Wall time of an 8-trial ``gymkit sweep`` with 1 and with 2 concurrent trials.

The same 8 trials each time (Q-Learning on FrozenLake-v1: 4 sampled configurations x 2
seeds, ``--search-seed 0``), on a local Ray with ``--num-cpus 2``; only ``--max-concurrent``
changes. Each setting runs ``--repeats`` times, interleaved, as the real command in a fresh
process. Reported: the median end-to-end wall time (Ray start-up included), the median
time inside Tune (``sweep.json``'s ``wall_time_s``), and the ratio 1-concurrent / 2-concurrent
measured in the same run; the trials' own training time (``summary.json``) shows the part
of the wall time that is gymkit's work.

    python bench/sweep_wall_time.py [--steps 20000] [--repeats 3] [--out bench/results/sweep.md]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = """\
env: FrozenLake-v1
train: {{steps: {steps}, eval_episodes: 100, log_every: 1000, checkpoint_every: 5000}}
config:
  exploration: epsilon-greedy
  eps_decay_steps: {decay}
  learning_rate0: {{loguniform: [0.05, 1.0]}}
  learning_rate_decay: {{loguniform: [0.0001, 0.01]}}
"""


def one_sweep(space: Path, sweep_dir: Path, concurrent: int) -> dict[str, float]:
    cmd = ["gymkit", "sweep", "--agent", "q-learning", "--space", str(space), "--samples", "4",
           "--seeds", "2", "--num-cpus", "2", "--max-concurrent", str(concurrent), "--dir", str(sweep_dir)]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"sweep failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}")
    info = json.loads((sweep_dir / "sweep.json").read_text())
    trained = sum(json.loads((Path(t["run_dir"]) / "summary.json").read_text())["wall_time_s"]
                  for t in info["trials"])
    return {"wall": wall, "tune": info["wall_time_s"], "trained": trained, "load": load,
            "trials": len(info["trials"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20000, help="env steps per trial")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench/results/sweep.md")
    args = parser.parse_args()
    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        space = Path(tmp) / "space.yaml"
        space.write_text(SPACE.format(steps=args.steps, decay=args.steps // 2))
        for r in range(args.repeats):
            for k in (1, 2):
                out = one_sweep(space, Path(tmp) / f"sweep_{k}_{r}", k)
                runs[k].append(out)
                print(f"repeat {r} concurrent {k}: wall {out['wall']:.1f} s, in Tune {out['tune']:.1f} s, "
                      f"training {out['trained']:.1f} s, load {out['load']:.1f}", flush=True)
    med = {k: {m: statistics.median(x[m] for x in v) for m in ("wall", "tune", "trained", "load")}
           for k, v in runs.items()}
    cmd = " ".join([Path(sys.executable).name, *sys.argv])
    lines = [
        "# gymkit sweep: wall time of an 8-trial sweep",
        "",
        f"Measured {datetime.date.today()} on {platform.node()} ({os.cpu_count()} CPUs, shared with other work: "
        f"1-minute load average {min(x['load'] for v in runs.values() for x in v):.1f}-"
        f"{max(x['load'] for v in runs.values() for x in v):.1f} at the starts), Python {platform.python_version()}.",
        f"Command: `{cmd}` (medians of {args.repeats} interleaved repeats).",
        "",
        f"Trials: Q-Learning on FrozenLake-v1, 4 sampled configurations x 2 seeds, {args.steps} steps and "
        "100 greedy evaluation episodes each; local Ray with `--num-cpus 2`, 1 CPU per trial.",
        "",
        "| concurrent trials | wall time, whole command (s) | time in Tune (s) | trials' own training time, summed (s) |",
        "|---|---|---|---|",
    ]
    for k in (1, 2):
        lines.append(f"| {k} | {med[k]['wall']:.1f} | {med[k]['tune']:.1f} | {med[k]['trained']:.1f} |")
    lines += [
        "",
        f"Speed-up of 2 over 1 concurrent trials: {med[1]['wall'] / med[2]['wall']:.2f}x on the whole command, "
        f"{med[1]['tune'] / med[2]['tune']:.2f}x inside Tune. The trials' summed training time grew "
        f"{med[2]['trained'] / med[1]['trained']:.2f}x with 2 concurrent trials (each trial's share of the CPUs).",
        "",
        "Per repeat (wall / in Tune / training, s): " + "; ".join(
            f"{k} concurrent: " + ", ".join(f"{x['wall']:.1f}/{x['tune']:.1f}/{x['trained']:.1f}" for x in runs[k])
            for k in (1, 2)),
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n" + CLUSTER_NOTE, encoding="utf-8")
    print("\n".join(lines))


CLUSTER_NOTE = """
## The same command on a multi-node Ray cluster

1. Install gymkit with the extra (`pip install 'gymkit[ray]'`) in the same Python on every node.
2. On the head node: `ray start --head --port=6379` (add `--ray-client-server-port=10001` for
   clients outside the cluster); on every other node: `ray start --address=HEAD:6379`.
3. On the head node: `gymkit sweep --agent q-learning --space space.yaml --samples 4 --seeds 2
   --address auto --dir /shared/sweeps/frozenlake` (drop `--num-cpus`: the cluster has its own
   resources; `--cpus-per-trial`/`--gpus-per-trial` say what each trial reserves, and Ray
   places trials on any node with room). From a machine outside the cluster use
   `--address ray://HEAD:10001` (Ray Client): Tune's driver loop then runs on the head node.
4. Storage. Each trial writes its gymkit run directory itself, on whichever node runs it, at
   `SWEEP_DIR/trials/<trial>/`, and a retried trial (possibly on another node) resumes from
   the checkpoint it finds there. So `--dir` must be on storage every node mounts at the same
   path (NFS, EFS, a Lustre/GPFS scratch); the driver reads the trials' `evaluation.json`
   there to pick the best configuration. Tune's `storage_path` (gymkit sets it to
   `SWEEP_DIR/ray`) holds only Tune's own files (experiment state, each trial's
   `result.json`/`progress.csv`): Tune uploads them from the workers to that path (a shared
   path or, in Ray's API, a cloud URI such as `s3://`), but it does not carry gymkit's run
   directories, because gymkit does not report its checkpoints to Tune as Tune checkpoints
   (a DQN replay memory would be copied at every checkpoint). Without shared storage, a
   sweep on one node works as on this machine; across nodes it does not.
"""


if __name__ == "__main__":
    main()
