"""One sweep trial: an ordinary gymkit run in ``SWEEP_DIR/trials/<name>/``, reporting to Tune.

The trial's run directory is fixed by its name (``c003_s1``: configuration 3, seed 1), so
when Ray retries a trial whose worker died, the new attempt finds the run directory of the
old one and continues it from its latest checkpoint with ``train(resume=True)``; gymkit's
exact resume makes the retried trial's numbers those of an uninterrupted run. Each attempt
appends one line (pid, host, where it started) to ``SWEEP_DIR/attempts/<name>.jsonl``.

What Tune receives: every ``metrics.csv`` row as ``{step, episodes, return_mean}`` (the mean
return of the last 100 training episodes; ASHA stops trials on it), and at the end the
greedy evaluation, ``eval_mean`` and ``eval_std``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from gymkit.checkpoint import MANIFEST, latest_checkpoint
from gymkit.evaluation import EVAL_FILE

TRIALS = "trials"
ATTEMPTS = "attempts"


def trial_name(variant_id: int, seed: int) -> str:
    """The name of a trial and of its run directory: configuration id and seed."""
    return f"c{variant_id:03d}_s{seed}"


def tune_trial_name(trial: Any) -> str:
    """Tune's ``trial_name_creator``/``trial_dirname_creator``: the same name as the run dir."""
    return trial_name(trial.config["variant"]["id"], trial.config["seed"])


class TuneReporter:
    """A metrics sink that forwards training rows to ``ray.tune.report``.

    Rows at or past the budget are held back: the trial's last report is the one that
    carries the evaluation, and ASHA stops a trial whose time attribute reaches ``max_t``.
    """

    def __init__(self, budget_key: str, budget: int) -> None:
        self.budget_key, self.budget = budget_key, budget
        self.last: dict[str, float] = {"return_mean": float("nan"), "episodes": 0}

    def write(self, row: dict[str, Any], step: int) -> None:
        if "return_mean" not in row:  # episode and evaluation events
            return
        self.last = {"return_mean": float(row["return_mean"]), "episodes": int(row["episodes"])}
        done = (step if self.budget_key == "step" else int(row["episodes"])) >= self.budget
        if math.isfinite(self.last["return_mean"]) and not done:  # NaN: no episode has ended yet
            from ray import tune

            tune.report({"step": step, **self.last})

    def close(self) -> None:
        pass


def _log_attempt(sweep_dir: Path, name: str, **fields: Any) -> int:
    """Append this attempt to ``attempts/<name>.jsonl``; return its number (1 = first)."""
    path = sweep_dir / ATTEMPTS / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = len(path.read_text().splitlines()) if path.exists() else 0
    line = {"attempt": previous + 1, "pid": os.getpid(), "host": socket.gethostname(),
            "time": time.time(), **fields}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return previous + 1


def _start_state(run_dir: Path) -> tuple[str, int]:
    """How this attempt starts: ("fresh", 0), ("resume", checkpoint step) or ("finished", steps)."""
    if (run_dir / "agent" / MANIFEST).exists():
        return "finished", int(json.loads((run_dir / "agent" / MANIFEST).read_text())["step"])
    folder = latest_checkpoint(run_dir) if run_dir.exists() else None
    if folder is not None:
        return "resume", int(folder.name.split("_")[1])
    if run_dir.exists():
        # A worker died before the first checkpoint: nothing to resume, so start again.
        shutil.rmtree(run_dir)
    return "fresh", 0


def run_trial(config: dict[str, Any], job: dict[str, Any]) -> None:
    """The Tune function trainable.

    Args:
        config: Tune's trial config: ``variant`` (a :class:`~gymkit.sweep.space.Variant` as a
            dict) and ``seed``.
        job: what every trial shares: agent, env, wrappers, sweep_dir, cpus_per_trial.
    """
    from ray import tune

    # TensorFlow agents: as many threads as the CPUs Ray gave the trial, not the whole node.
    cpus = str(max(1, int(job.get("cpus_per_trial", 1))))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", cpus)
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    import gymkit
    from gymkit.evaluation import evaluate_run

    variant, seed = config["variant"], int(config["seed"])
    name = trial_name(variant["id"], seed)
    sweep_dir = Path(job["sweep_dir"])
    run_dir = sweep_dir / TRIALS / name
    how, step = _start_state(run_dir)
    attempt = _log_attempt(sweep_dir, name, start=how, from_step=step)
    print(f"trial {name} attempt {attempt}: " + {"fresh": "starting at step 0",
                                                  "resume": f"resumed from step {step}",
                                                  "finished": "already trained"}[how], flush=True)
    train = variant["train"]
    budget_key = "step" if train.get("episodes") is None else "episodes"
    budget = int(train.get("steps") or 10_000) if budget_key == "step" else int(train["episodes"])
    reporter = TuneReporter(budget_key, budget)
    if how == "finished":
        summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
        steps, episodes = step, summary.get("episodes", 0)
        recent = summary.get("recent_mean_return")
        reporter.last = {"return_mean": float("nan") if recent is None else recent, "episodes": episodes}
        if (run_dir / EVAL_FILE).exists():
            evaluation = json.loads((run_dir / EVAL_FILE).read_text())
        else:  # died between saving the agent and evaluating it: same episodes, same seed
            evaluation = evaluate_run(run_dir).to_dict()
        eval_mean, eval_std = evaluation["mean"], evaluation["std"]
    else:
        if how == "resume":
            result = gymkit.train(run_dir=run_dir, resume=True, progress=False, sinks=(reporter,))
        else:
            result = gymkit.train(job["agent"], job["env"], config=variant["config"], run_dir=run_dir,
                                  progress=False, sinks=(reporter,), seed=seed,
                                  env_kwargs=variant["env_kwargs"], wrappers=job["wrappers"], **train)
        if result.evaluation is None:  # stopped by a signal: fail, so Ray retries and resumes
            raise RuntimeError(f"trial {name} stopped at step {result.steps} before its budget")
        steps, episodes = result.steps, result.episodes
        eval_mean, eval_std = result.evaluation.mean, result.evaluation.std
    tune.report({"step": steps, "episodes": episodes, "return_mean": reporter.last["return_mean"],
                 "eval_mean": eval_mean, "eval_std": eval_std, "attempt": attempt})
