"""``gymkit plot RUN_DIR... [--out FILE.png]``: learning curves from run directories.

Each curve is ``return_mean`` (the mean return of the last 100 training episodes, from
``metrics.csv``) against env steps. Runs are grouped by configuration: the same agent,
env, preset, agent config, env options and number of envs; only the seed (and the
budget) may differ. A group of several seeds is drawn as the mean across seeds with a
band of their spread (min-max, or mean +- one standard deviation); different
configurations are separate lines. Each run's final greedy evaluation
(``evaluation.json``) is marked at its last step.

Seeds rarely log at exactly the same steps (episode budgets, several envs), so a group's
curves are interpolated (linearly) onto the union of their steps, over the range all of
them cover.

Drawing uses a bare ``matplotlib.figure.Figure`` (Agg, no pyplot, no display), so it runs
headless and :func:`plot_runs` returns the figure for inspection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gymkit.compare import RunInfo, load_run_info
from gymkit.errors import GymkitError, RunDirError

BANDS = ("minmax", "std", "none")
INSTALL_HINT = "pip install 'gymkit[plot]'"
#: config.yaml keys that do not change what is learnt (so runs differing only there are seeds)
NOT_CONFIGURATION = frozenset({"seed", "steps", "episodes", "eval_episodes", "checkpoint_every",
                               "log_every", "versions", "vectorization"})


def configuration_key(config: dict[str, Any]) -> str:
    """A canonical string of the settings that define a configuration (not the seed)."""
    return json.dumps({k: v for k, v in config.items() if k not in NOT_CONFIGURATION},
                      sort_keys=True, default=str)


def group_runs(runs: list[RunInfo]) -> list[list[RunInfo]]:
    """Runs grouped by :func:`configuration_key`, groups in order of first appearance."""
    groups: dict[str, list[RunInfo]] = {}
    for run in runs:
        groups.setdefault(configuration_key(run.config), []).append(run)
    return list(groups.values())


def group_labels(groups: list[list[RunInfo]]) -> list[str]:
    """Short legend labels: agent (or preset), the env when envs differ, config values that differ."""
    configs = [g[0].config for g in groups]
    envs_differ = len({c["env"] for c in configs}) > 1
    labels = []
    for cfg in configs:
        label = cfg.get("preset") or cfg["agent"]
        if envs_differ:
            label += f" on {cfg['env']}"
        same_agent = [c for c in configs if c["agent"] == cfg["agent"]]
        diffs = [f"{k}={v}" for k, v in sorted((cfg.get("config") or {}).items())
                 if len({json.dumps((c.get("config") or {}).get(k), default=str) for c in same_agent}) > 1]
        if diffs:
            label += " (" + ", ".join(diffs) + ")"
        labels.append(label)
    return labels


#: what ``--y`` plots: the metrics.csv column, and the axis label
Y_COLUMNS = {"return": ("return_mean", "mean return of the last 100 training episodes"),
             "eval": ("eval/mean", "mean return of the periodic greedy evaluation")}


def curve(run: RunInfo, y: str = "return") -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of a run: ``return_mean`` (rows without a finished episode dropped) or,
    with ``y="eval"``, ``eval/mean`` (the rows of periodic evaluations)."""
    column = Y_COLUMNS[y][0]
    rows = [r for r in run.metrics if np.isfinite(r.get(column, np.nan))]
    return (np.array([r["step"] for r in rows], dtype=float),
            np.array([r[column] for r in rows], dtype=float))


def aggregate(curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate curves onto the union of their steps within the range all cover.

    Returns:
        ``(steps, values)`` with ``values`` of shape ``(n_curves, n_steps)``.
    """
    lo = max(x[0] for x, _ in curves)
    hi = min(x[-1] for x, _ in curves)
    grid = np.unique(np.concatenate([x[(x >= lo) & (x <= hi)] for x, _ in curves]))
    return grid, np.stack([np.interp(grid, x, y) for x, y in curves])


def plot_runs(run_dirs: list[str | Path], *, band: str = "minmax", title: str | None = None,
              y: str = "return") -> Any:
    """Draw the learning curves of ``run_dirs``; return the matplotlib Figure.

    Args:
        run_dirs: run directories written by ``gymkit train``.
        band: spread across seeds: ``"minmax"``, ``"std"`` (mean +- std) or ``"none"``.
        title: the figure's title (default: the env ids).
        y: ``"return"`` (training episodes' recent mean return) or ``"eval"`` (the periodic
            evaluations' mean return, runs trained with ``--eval-every``).

    Raises:
        GymkitError: matplotlib missing, a bad ``band`` or ``y``, or a run without any point.
    """
    if band not in BANDS:
        raise GymkitError(f"--band {band!r} is not one of {', '.join(BANDS)}: pick one of them")
    if y not in Y_COLUMNS:
        raise GymkitError(f"--y {y!r} is not one of {', '.join(Y_COLUMNS)}: pick one of them")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise GymkitError(f"gymkit plot needs matplotlib, which is not installed: {INSTALL_HINT}") from None
    if not run_dirs:
        raise GymkitError("gymkit plot needs at least one RUN_DIR")
    runs = [load_run_info(d, metrics=True) for d in run_dirs]
    for run in runs:
        if len(curve(run, y)[0]) == 0:
            if y == "eval":
                raise RunDirError(f"{run.path}/metrics.csv has no periodic evaluation: train with "
                                  "--eval-every N to plot --y eval")
            raise RunDirError(f"{run.path}/metrics.csv has no row with a finished episode: "
                              "train longer (or with a smaller --log-every) before plotting")
    groups = group_runs(runs)
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    colors = [f"C{i % 10}" for i in range(len(groups))]
    eval_labelled = False
    for group, label, color in zip(groups, group_labels(groups), colors, strict=True):
        curves = [curve(r, y) for r in group]
        if len(group) == 1:
            x, values = curves[0]
            ax.plot(x, values, color=color, label=label)
        else:
            x, ys = aggregate(curves)
            spread = {"minmax": ", min-max band", "std": ", +-1 std band", "none": ""}[band]
            ax.plot(x, ys.mean(axis=0), color=color, label=f"{label}: mean of {len(group)} seeds{spread}")
            if band == "minmax":
                ax.fill_between(x, ys.min(axis=0), ys.max(axis=0), color=color, alpha=0.2, linewidth=0)
            elif band == "std":
                mean, std = ys.mean(axis=0), ys.std(axis=0)
                ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
        points = [(r.steps, r.evaluation["mean"]) for r in group
                  if r.evaluation and r.evaluation.get("mean") is not None and r.steps is not None]
        if points:
            px, py = zip(*points, strict=True)
            ax.scatter(px, py, color=color, marker="D", edgecolors="black", zorder=3,
                       label=None if eval_labelled else "final greedy evaluation (mean return)")
            eval_labelled = True
    ax.set_xlabel("env steps")
    ax.set_ylabel(Y_COLUMNS[y][1])
    ax.set_title(title or ", ".join(dict.fromkeys(r.config["env"] for r in runs)))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def save_plot(fig: Any, out: str | Path, dpi: int = 120) -> Path:
    """Write the figure to ``out`` (the format from its extension: .png, .svg, .pdf)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    return out
