"""Seed-fixed regression tests: ``gymkit regress record`` writes a golden file, ``check`` reruns it.

A golden file holds the run settings (resolved: agent, env, the whole agent config, budget,
env options), and per seed the evaluation returns of the agent the run hands back (``best/``
when the run keeps one, else the final agent) and the sha256 of its ``metrics.csv``, with the
versions, the CPU model and the thread settings of the machine that recorded it.

``check`` reruns the same seeds with the same settings (plus any ``--set`` overrides) and
compares, in one of three modes:

* ``exact``: every ``metrics.csv`` hash is equal. Meaningful on the machine that recorded the
  file: another CPU or thread count sums floats in another order and a run diverges.
* ``stat``: a regression is a drop of the per-seed evaluation means that a one-sided
  permutation test finds significant at level ``alpha`` (``p <= alpha``), or, when the golden
  has a ``target``, a success rate (seeds reaching it) lower than the golden's by Fisher's exact
  one-sided test at the same level. Equal or better passes. The seeds are the sample: with 3
  seeds the smallest possible p-value is 0.05, so record 5 or more for a sensitive check.
* ``auto``: ``exact`` when the machine signature matches the golden's (the CPU's model name,
  family, model, stepping and instruction-set flags, the thread settings and the versions),
  else ``stat``. A file recorded before the signature held the CPU's family and flags matches
  no machine, so it is checked in ``stat`` mode until it is recorded again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymkit.errors import GymkitError
from gymkit.machine import machine_signature
from gymkit.stats import fisher_p_less, permutation_p_less

__all__ = ["GoldenError", "RegressionReport", "check", "compare", "machine_signature", "record"]

FORMAT_VERSION = 1
MODES = ("exact", "stat", "auto")


#: run settings a golden file records and a check passes back to train()
SETTINGS = ("steps", "episodes", "num_envs", "vectorization", "eval_episodes", "log_every",
            "eval_every", "periodic_eval_episodes", "keep_best", "stop_at_eval", "env_kwargs", "wrappers")


class GoldenError(GymkitError):
    """A golden file that is missing, malformed or of another format version."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _run_seed(agent: str, env: str, config: dict[str, Any], settings: dict[str, Any], seed: int,
              root: Path) -> dict[str, Any]:
    from gymkit.loop import train

    run_dir = root / f"seed_{seed}"
    result = train(agent, env, config=config, run_dir=run_dir, progress=False, seed=seed,
                   checkpoint_every=0, **settings)
    handed = result.best_evaluation or result.evaluation
    if handed is None:
        raise GoldenError("the runs have no evaluation: regress needs eval_episodes >= 1")
    return {"seed": seed, "agent": handed.agent, "returns": handed.returns, "mean": handed.mean,
            "metrics_sha256": _sha256(run_dir / "metrics.csv")}


def run_seeds(agent: str, env: str, config: dict[str, Any], settings: dict[str, Any],
              seeds: list[int]) -> list[dict[str, Any]]:
    """Train and evaluate each seed in a temporary run directory; per-seed results."""
    with tempfile.TemporaryDirectory(prefix="gymkit-regress-") as tmp:
        return [_run_seed(agent, env, config, settings, s, Path(tmp)) for s in seeds]


def record(out: str | Path, *, agent: str | None = None, env: str | None = None, preset: str | None = None,
           overrides: dict[str, Any] | None = None, seeds: int = 3, target: float | None = None,
           alpha: float = 0.05, force: bool = False, **train_settings: Any) -> dict[str, Any]:
    """Train seeds ``0 .. seeds-1`` and write the golden file ``out`` (see the module doc)."""
    from gymkit.checkpoint import write_json_atomic
    from gymkit.config import load_preset
    from gymkit.run_config import resolve_run

    out = Path(out)
    if out.exists() and not force:
        raise GymkitError(f"--out {out} exists: choose another file, or pass --force to replace it")
    if seeds < 1:
        raise GymkitError(f"--seeds {seeds} is out of range: record at least 1 seed")
    if not 0.0 < alpha < 1.0:
        raise GymkitError(f"--alpha {alpha} is out of range: give a level in (0, 1), e.g. 0.05")
    spec, _, _ = resolve_run(agent, env, preset=preset, overrides=overrides, **train_settings)
    if target is None and preset:
        target = load_preset(preset).target
    settings = {k: getattr(spec, k) for k in SETTINGS}
    results = run_seeds(spec.agent, spec.env, spec.config, settings, list(range(seeds)))
    golden = {"format_version": FORMAT_VERSION, "agent": spec.agent, "env": spec.env,
              "preset": spec.preset, "config": spec.config, "settings": settings,
              "target": target, "alpha": alpha, "machine": machine_signature(), "seeds": results}
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, golden)
    return golden


def load_golden(path: str | Path) -> dict[str, Any]:
    """Read and validate a golden file (one-line :class:`GoldenError` otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise GoldenError(f"golden file {path} does not exist: record it with gymkit regress record")
    try:
        golden = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GoldenError(f"golden file {path} is not valid JSON ({type(exc).__name__}): record it again") from None
    if not isinstance(golden, dict):
        raise GoldenError(f"golden file {path} is not a JSON object: record it again")
    if golden.get("format_version") != FORMAT_VERSION:
        raise GoldenError(f"golden file {path} has format version {golden.get('format_version')!r}, but this "
                          f"gymkit reads version {FORMAT_VERSION}: record it again with this version")
    needed = ("agent", "env", "config", "settings", "seeds", "machine")
    missing = [k for k in needed if k not in golden]
    seeds_ok = isinstance(golden.get("seeds"), list) and golden["seeds"] and all(
        isinstance(s, dict) and {"seed", "mean", "metrics_sha256"} <= set(s) for s in golden["seeds"])
    if missing or not seeds_ok or not isinstance(golden.get("settings"), dict):
        what = f"lacks {', '.join(missing)}" if missing else "has malformed seeds or settings"
        raise GoldenError(f"golden file {path} {what}: record it again")
    return golden


@dataclass
class RegressionReport:
    """The outcome of a check: per-seed rows, the test results, and the verdict."""

    mode: str
    rows: list[dict[str, Any]]
    regression: bool
    reasons: list[str]
    p_returns: float | None = None
    p_success: float | None = None

    def table(self) -> str:
        """The per-seed table (golden, now, delta) and the verdict, as text."""
        lines = [f"{'seed':>6} {'golden':>12} {'now':>12} {'delta':>12}  metrics.csv"]
        for r in self.rows:
            same = "same" if r["same_metrics"] else "differs"
            lines.append(f"{r['seed']:>6} {r['golden']:>12.3f} {r['now']:>12.3f} {r['delta']:>+12.3f}  {same}")
        verdict = "REGRESSION: " + "; ".join(self.reasons) if self.regression else "no regression: " + "; ".join(self.reasons)
        return "\n".join([*lines, f"mode {self.mode}: {verdict}"])


def compare(golden: dict[str, Any], now: list[dict[str, Any]], mode: str, alpha: float | None = None) -> RegressionReport:
    """Compare rerun results with the golden's (see the module doc for the modes)."""
    if mode not in MODES:
        raise GymkitError(f"--mode {mode!r} is not one of {', '.join(MODES)}: pick one")
    if mode == "auto":
        mode = "exact" if golden["machine"] == machine_signature() else "stat"
    alpha = float(golden.get("alpha", 0.05) if alpha is None else alpha)
    old = {int(s["seed"]): s for s in golden["seeds"]}
    rows = [{"seed": s["seed"], "golden": float(old[s["seed"]]["mean"]), "now": float(s["mean"]),
             "delta": float(s["mean"]) - float(old[s["seed"]]["mean"]),
             "same_metrics": s["metrics_sha256"] == old[s["seed"]]["metrics_sha256"]} for s in now]
    if mode == "exact":
        differ = [str(r["seed"]) for r in rows if not r["same_metrics"]]
        reasons = [f"metrics.csv differs for seed(s) {', '.join(differ)}"] if differ else ["every metrics.csv is identical"]
        return RegressionReport("exact", rows, bool(differ), reasons)
    before, after = [r["golden"] for r in rows], [r["now"] for r in rows]
    p = permutation_p_less(before, after)
    reasons = [f"one-sided permutation test of the seed means p={p:.4f} (alpha {alpha})"]
    regression = p <= alpha
    p_success = None
    target = golden.get("target")
    if target is not None:
        k_old, k_new, n = sum(b >= target for b in before), sum(a >= target for a in after), len(rows)
        p_success = fisher_p_less(k_old, n, k_new, n)
        reasons.append(f"success (>= {target:g}) {k_new}/{n} vs golden {k_old}/{n}, Fisher one-sided "
                       f"p={p_success:.4f}")
        regression = regression or p_success <= alpha
    return RegressionReport("stat", rows, regression, reasons, p, p_success)


def check(path: str | Path, *, mode: str = "auto", overrides: dict[str, Any] | None = None,
          alpha: float | None = None) -> RegressionReport:
    """Rerun a golden file's seeds (with ``overrides`` on its agent config) and compare."""
    golden = load_golden(path)
    if mode not in MODES:
        raise GymkitError(f"--mode {mode!r} is not one of {', '.join(MODES)}: pick one")
    config = {**golden["config"], **(overrides or {})}
    settings = {k: v for k, v in golden["settings"].items() if k in SETTINGS}
    seeds = [int(s["seed"]) for s in golden["seeds"]]
    now = run_seeds(golden["agent"], golden["env"], config, settings, seeds)
    if overrides and mode == "auto":
        mode = "stat"  # a changed config cannot reproduce the bytes: ask whether it is worse
    return compare(golden, now, mode, alpha)


def report_as_dict(report: RegressionReport) -> dict[str, Any]:
    return dataclasses.asdict(report)


# -- the command line: gymkit regress record | check ----------------------------------------


def add_parser(sub: Any, positive_int: Any, non_negative_int: Any) -> None:
    """Add ``gymkit regress record`` and ``gymkit regress check`` to the subcommand parsers."""
    p = sub.add_parser("regress", help="seed-fixed regression tests: record a golden file, check a rerun")
    actions = p.add_subparsers(dest="regress_command", required=True, parser_class=type(p))
    rec = actions.add_parser("record", help="train N seeds and write a golden file")
    rec.add_argument("--preset", help="a preset name or .yaml (gives agent, env and settings)")
    rec.add_argument("--agent", help="agent name or module:Class (with --env, instead of --preset)")
    rec.add_argument("--env", help="env id")
    rec.add_argument("--set", dest="overrides", action="append", metavar="KEY=VALUE",
                     help="override an agent config value (repeatable)")
    from gymkit.run_config import add_run_arguments

    add_run_arguments(rec, only=("steps", "episodes", "env_kwargs", "wrappers"))  # as gymkit train has them
    rec.add_argument("--eval-episodes", type=positive_int, help="evaluation episodes per seed (default: the preset's, else 10)")
    rec.add_argument("--seeds", type=positive_int, required=True, help="record seeds 0..N-1")
    rec.add_argument("--target", type=float, help="a seed succeeds at an evaluation mean >= this (default: the preset's)")
    rec.add_argument("--alpha", type=float, default=0.05, help="level of the stat-mode tests (default 0.05)")
    rec.add_argument("--out", required=True, metavar="GOLDEN.json", help="the golden file to write")
    rec.add_argument("--force", action="store_true", help="replace --out if it exists")
    chk = actions.add_parser("check", help="rerun a golden file's seeds and compare (exit 1 on a regression)")
    chk.add_argument("golden", metavar="GOLDEN.json")
    chk.add_argument("--mode", choices=MODES, default="auto",
                     help="exact: metrics.csv hashes equal; stat: no significant drop; auto (default): exact on "
                          "the recording machine, else stat")
    chk.add_argument("--set", dest="overrides", action="append", metavar="KEY=VALUE",
                     help="rerun with this agent config override (does the change regress?)")
    chk.add_argument("--alpha", type=float, help="level of the stat-mode tests (default: the golden's)")
    p.set_defaults(func=cmd_regress)


def cmd_regress(args: Any) -> int:
    from gymkit.config import parse_set, parse_yaml_option

    overrides = parse_set(args.overrides)
    if args.regress_command == "record":
        golden = record(args.out, agent=args.agent, env=args.env, preset=args.preset,
                        overrides=overrides or None, seeds=args.seeds, target=args.target,
                        alpha=args.alpha, force=args.force, steps=args.steps, episodes=args.episodes,
                        eval_episodes=args.eval_episodes,
                        env_kwargs=parse_yaml_option("--env-kwargs", args.env_kwargs, dict),
                        wrappers=parse_yaml_option("--wrappers", args.wrappers, list))
        means = ", ".join(f"{s['seed']}: {s['mean']:.2f}" for s in golden["seeds"])
        print(f"golden file {args.out} written: {len(golden['seeds'])} seeds (evaluation means {means}) "
              f"on {golden['machine']['cpu']}")
        return 0
    report = check(args.golden, mode=args.mode, overrides=overrides or None, alpha=args.alpha)
    print(report.table())
    return 1 if report.regression else 0
