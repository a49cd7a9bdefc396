"""Many-seed evidence: every shipped preset with a learning claim, over N seeds, in parallel.

Each run is the real command line, ``gymkit train --preset P --seed S`` in a fresh process
(``--jobs`` at a time), so the figures are what a user gets. A seed succeeds when the
evaluation of the agent the run hands back (``best/`` when the preset keeps one, else the
final agent; always scored on fresh episodes) reaches the preset's ``target``.

Per preset and thread setting the table gives the success rate, the median, the interquartile
mean (IQM) with a 95% percentile-bootstrap confidence interval (rliable's practice), the worst
seed and the wall time, with the CPU model. Results accumulate in ``bench/results/learning.json``
(one entry per preset, thread setting and label; rerunning replaces that entry) and the
markdown table ``bench/results/learning.md`` is rewritten from it.

    python bench/learning.py                                   # every preset with a target, 10 seeds
    python bench/learning.py --presets dqn-cartpole --threads 1 --jobs 2
    python bench/learning.py --presets dqn-cartpole --set learning_rate=0.001 --label lr1e-3 --no-write-md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gymkit.config import list_presets, load_preset  # noqa: E402
from gymkit.stats import bootstrap_ci, iqm  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def cpu_model() -> str:
    """The CPU's name, family, model and vector width (two "AMD EPYC" hosts differ)."""
    from gymkit.machine import cpu_label

    return cpu_label()


def thread_env(threads: str) -> dict[str, str]:
    """Environment variables of a thread setting: ``default`` (gymkit's own) or a number."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_NUM_")}
    if threads != "default":
        env["TF_NUM_INTRAOP_THREADS"] = threads
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def run_one(preset: str, seed: int, threads: str, sets: list[str], extra: list[str], root: Path) -> dict:
    run_dir = root / f"{preset}_s{seed}"
    shutil.rmtree(run_dir, ignore_errors=True)
    cmd = [sys.executable, "-m", "gymkit.cli", "train", "--preset", preset, "--seed", str(seed),
           "--run-dir", str(run_dir), "--no-progress", "--checkpoint-every", "0"]
    for item in sets:
        cmd += ["--set", item]
    cmd += extra
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=thread_env(threads), capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"seed": seed, "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:], "wall_s": wall}
    summary = json.loads((run_dir / "summary.json").read_text())
    final = json.loads((run_dir / "evaluation.json").read_text())
    best_file = run_dir / "evaluation-best.json"
    best = json.loads(best_file.read_text()) if best_file.exists() else None
    handed = best or final
    return {"seed": seed, "score": handed["mean"], "agent": handed.get("agent", "final"),
            "final_mean": final["mean"], "best_mean": best["mean"] if best else None,
            "best_step": best.get("step") if best else None, "steps": summary["steps"],
            "stopped_by": summary.get("stopped_by"), "train_wall_s": summary["wall_time_s"],
            "wall_s": wall}


def summarize(runs: list[dict], target: float | None) -> dict:
    scores = [r["score"] for r in runs if "score" in r]
    out = {"n": len(runs), "errors": sum("error" in r for r in runs)}
    if scores:
        lo, hi = bootstrap_ci(scores)
        out.update(median=statistics.median(scores), iqm=iqm(scores), iqm_ci=[lo, hi],
                   worst=min(scores), best=max(scores),
                   train_wall_median_s=statistics.median(r["train_wall_s"] for r in runs if "score" in r),
                   train_wall_max_s=max(r["train_wall_s"] for r in runs if "score" in r))
        if target is not None:
            out["successes"] = sum(s >= target for s in scores)
    return out


HEADER = ("| preset | variant | threads | target | success | median | IQM [95% CI] | worst | "
          "wall median / max (s) | jobs | seeds | CPU | date |")


def _row(e: dict) -> str:
    s = e["summary"]
    success = f"{s['successes']}/{s['n']}" if "successes" in s else "-"
    target = "-" if e["target"] is None else f"{e['target']:g}"
    variant = e["label"] or "as shipped"
    return (f"| {e['preset']} | {variant} | {e['threads']} | {target} | {success} | {s['median']:.2f} "
            f"| {s['iqm']:.2f} [{s['iqm_ci'][0]:.2f}, {s['iqm_ci'][1]:.2f}] | {s['worst']:.2f} "
            f"| {s['train_wall_median_s']:.1f} / {s['train_wall_max_s']:.1f} | {e['jobs']} "
            f"| {e['seeds'][0]}-{e['seeds'][-1]} | {e['cpu']} | {e['date']} |")


def markdown(entries: list[dict]) -> str:
    entries = [e for e in entries if "median" in e["summary"]]
    shipped = [e for e in entries if not e["label"]]
    variants = [e for e in entries if e["label"]]
    lines = ["# Learning over many seeds (`bench/learning.py`)", "",
             "Each row: one preset, run with `gymkit train --preset P --seed S` for every seed, in fresh",
             "processes. The score of a seed is the greedy evaluation mean of the agent the run hands",
             "back (`best/` for presets that keep the best agent, else the final agent), always on",
             "fresh episodes (`eval_episodes` of them, env seed = seed + 1). Success: score >= target.",
             "IQM: the mean of the middle 50% of seeds, with a 95% percentile-bootstrap interval",
             "(2,000 resamples of the seeds). Wall: training time of one run (median / max), with",
             "`jobs` runs sharing the 2 cores at once. Threads: `default` is TensorFlow's default",
             "(gymkit sets none), `1` is `TF_NUM_INTRAOP_THREADS=1`.", "",
             "## The shipped presets", "", HEADER, "|" + "---|" * 13]
    lines += [_row(e) for e in shipped]
    if variants:
        lines += ["", "## Variants and extra seeds (tuning, baselines, held-out seeds)", "", HEADER,
                  "|" + "---|" * 13]
        lines += [_row(e) for e in variants]
    lines += ["", "## Per-seed scores (seed: score)", ""]
    for e in shipped + variants:
        scores = ", ".join(f"{r['seed']}: {r['score']:.4g}" if "score" in r else f"{r['seed']}: error"
                           for r in e["runs"])
        extra = " ".join([*(f"--set {x}" for x in e["sets"]), *e["extra"]])
        lines.append(f"- {e['preset']} ({e['label'] or 'as shipped'}, threads {e['threads']}"
                     + (f"; `{extra}`" if extra else "") + f"): {scores}")
    lines += ["", "Command: `python bench/learning.py` (every preset with a `target`, 10 seeds, 2 jobs);",
              "`--presets`, `--seeds`, `--first-seed`, `--threads`, `--set`, `--train-arg` and `--label`",
              "for variants.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="*", help="presets to run (default: every preset with a target)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds first-seed .. first-seed+N-1 (default 10)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2, one per core)")
    parser.add_argument("--threads", nargs="+", default=["default"],
                        help="TF intra-op thread settings to run: default and/or numbers (e.g. default 1)")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="agent config override (tuning)")
    parser.add_argument("--train-arg", dest="extra", action="append", default=[],
                        help="extra gymkit train argument, e.g. --train-arg=--eval-every=2500")
    parser.add_argument("--label", default="", help="a name for this variant (tuning)")
    parser.add_argument("--runs-dir", help="where the run directories go (default: a temporary folder)")
    parser.add_argument("--no-write-md", action="store_true", help="update learning.json only")
    args = parser.parse_args()

    presets = args.presets or [n for n, p in list_presets().items() if p.target is not None]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    store = RESULTS / "learning.json"
    entries: list[dict] = []
    root = Path(args.runs_dir) if args.runs_dir else Path(tempfile.mkdtemp(prefix="gymkit-learning-"))
    root.mkdir(parents=True, exist_ok=True)
    for threads in args.threads:
        for name in presets:
            target = load_preset(name).target
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                runs = list(pool.map(lambda s, n=name, t=threads: run_one(n, s, t, args.sets, args.extra, root),
                                     seeds))
            entry = {"preset": name, "label": args.label, "threads": threads, "target": target,
                     "sets": args.sets, "extra": args.extra, "seeds": seeds, "jobs": args.jobs,
                     "cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"), "runs": runs,
                     "summary": summarize(runs, target), "bench_wall_s": time.perf_counter() - start}
            entries = json.loads(store.read_text()) if store.exists() else []  # others may have written
            entries = [e for e in entries if (e["preset"], e["label"], e["threads"]) != (name, args.label, threads)]
            entries.append(entry)
            store.write_text(json.dumps(entries, indent=1))
            s = entry["summary"]
            print(f"{name} [{args.label or 'shipped'}] threads={threads}: "
                  + (f"success {s.get('successes', '-')}/{s['n']}, median {s['median']:.1f}, "
                     f"IQM {s['iqm']:.1f} {s['iqm_ci']}, worst {s['worst']:.1f}, "
                     f"wall {s['train_wall_median_s']:.1f}/{s['train_wall_max_s']:.1f} s"
                     if "median" in s else f"all {s['n']} runs failed: {runs[0].get('error')}"),
                  flush=True)
            print("  " + ", ".join(f"{r['seed']}:{r.get('score', 'ERR')}" for r in runs), flush=True)
    if not args.no_write_md:
        shown = sorted(entries, key=lambda e: (e["preset"], e["label"], e["threads"]))
        (RESULTS / "learning.md").write_text(markdown(shown))
    if not args.runs_dir:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
