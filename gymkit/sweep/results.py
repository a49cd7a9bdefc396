"""After a sweep: each trial's outcome, each configuration's score, the best preset, the table.

A configuration's score is the mean, over its seeds, of the seeds' greedy evaluation means
(each read from the trial's ``evaluation.json``). Only configurations whose every seed
finished are candidates (ASHA may stop one seed of a configuration early: that
configuration was judged worse and has no full score); if none has all its seeds, those
with at least one finished seed are used. Ties go to the lower configuration id.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gymkit.checkpoint import write_json_atomic
from gymkit.evaluation import EVAL_FILE
from gymkit.sweep.space import Variant, fmt_value, short_text
from gymkit.sweep.trainable import ATTEMPTS, TRIALS, trial_name

BEST_FILE = "best.yaml"
SWEEP_FILE = "sweep.json"


@dataclass
class TrialOutcome:
    """One trial: where its run is and how it ended."""

    name: str
    variant: int
    seed: int
    run_dir: str
    status: str  # finished | stopped early | error | not run
    eval_mean: float | None = None
    eval_std: float | None = None
    steps: int | None = None
    attempts: int = 0
    resumed_from: list[int] = field(default_factory=list)  # checkpoint step of each resumed attempt
    error: str | None = None


@dataclass
class ConfigScore:
    """One configuration: its sampled values and the mean of its seeds' evaluation means."""

    variant: int
    sampled: dict[str, Any]
    seeds_finished: int
    seeds: int
    score: float | None
    spread: float | None  # standard deviation of the seeds' evaluation means


def trial_outcome(sweep_dir: Path, variant: int, seed: int, tune_status: str, error: str | None) -> TrialOutcome:
    """Read one trial's run directory and attempt log."""
    name = trial_name(variant, seed)
    run_dir = sweep_dir / TRIALS / name
    out = TrialOutcome(name, variant, seed, str(run_dir), tune_status, error=error)
    attempts = sweep_dir / ATTEMPTS / f"{name}.jsonl"
    if attempts.exists():
        lines = [json.loads(x) for x in attempts.read_text().splitlines() if x.strip()]
        out.attempts = len(lines)
        out.resumed_from = [x["from_step"] for x in lines if x["start"] == "resume"]
    if (run_dir / EVAL_FILE).exists() and (run_dir / "agent").exists():
        ev = json.loads((run_dir / EVAL_FILE).read_text())
        out.eval_mean, out.eval_std, out.status = float(ev["mean"]), float(ev["std"]), "finished"
    if (run_dir / "summary.json").exists():
        out.steps = json.loads((run_dir / "summary.json").read_text()).get("steps")
    return out


def score_configs(variants: list[Variant], trials: list[TrialOutcome], seeds: int) -> list[ConfigScore]:
    scores = []
    for v in variants:
        means = [t.eval_mean for t in trials if t.variant == v.id and t.eval_mean is not None]
        score = sum(means) / len(means) if means else None
        spread = math.sqrt(sum((m - score) ** 2 for m in means) / len(means)) if means else None
        scores.append(ConfigScore(v.id, v.sampled, len(means), seeds, score, spread))
    return scores


def choose_best(scores: list[ConfigScore]) -> ConfigScore | None:
    """The highest score among configurations with every seed finished (see module doc)."""
    complete = [s for s in scores if s.score is not None and s.seeds_finished == s.seeds]
    pool = complete or [s for s in scores if s.score is not None]
    if not pool:
        return None
    return max(pool, key=lambda s: (s.score, -s.variant))  # ties: the lower id


def write_best_preset(path: Path, agent: str, env: str, variant: Variant, best: ConfigScore,
                      wrappers: list[Any], command: str) -> None:
    """``best.yaml``: a preset (``gymkit train --preset PATH``) with the best configuration."""
    data: dict[str, Any] = {
        "description": (f"best of sweep {path.parent.name}: configuration {variant.id}, mean greedy "
                        f"evaluation {best.score:.4g} over {best.seeds_finished} seed(s)"),
        "agent": agent, "env": env, "train": variant.train, "config": variant.config,
    }
    if variant.env_kwargs:
        data["env_kwargs"] = variant.env_kwargs
    if wrappers:
        data["wrappers"] = wrappers
    header = f"# written by: {command}\n# searched values: {short_text(variant.sampled)}\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def write_sweep_json(sweep_dir: Path, info: dict[str, Any], variants: list[Variant],
                     trials: list[TrialOutcome], scores: list[ConfigScore], best: ConfigScore | None) -> None:
    write_json_atomic(sweep_dir / SWEEP_FILE, {
        **info, "best": None if best is None else best.variant,
        "configurations": [{**v.to_dict(), **{k: asdict(s)[k] for k in ("seeds_finished", "score", "spread")}}
                           for v, s in zip(variants, scores, strict=True)],
        "trials": [asdict(t) for t in trials],
    })


def print_table(scores: list[ConfigScore], trials: list[TrialOutcome], best: ConfigScore | None) -> None:
    """One row per configuration, best first: searched values, seeds, score, retries."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="sweep: mean greedy evaluation over seeds")
    for col in ("config", "searched values", "seeds done", "eval mean", "spread", "retries", "note"):
        table.add_column(col)
    order = sorted(scores, key=lambda s: (s.score is None, -(s.score or 0.0), s.variant))
    for s in order:
        mine = [t for t in trials if t.variant == s.variant]
        retries = sum(max(0, t.attempts - 1) for t in mine)
        notes = sorted({t.status for t in mine if t.status != "finished"})
        table.add_row(f"c{s.variant:03d}" + (" *" if best and s.variant == best.variant else ""),
                      short_text(s.sampled), f"{s.seeds_finished}/{s.seeds}",
                      "-" if s.score is None else fmt_value(s.score), "-" if s.spread is None else fmt_value(s.spread),
                      str(retries), ", ".join(notes))
    Console(width=max(Console().width, 120)).print(table)
