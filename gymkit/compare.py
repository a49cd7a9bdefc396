"""``gymkit compare RUN_DIR...``: one table row per run, read from the run directories.

A row holds the agent, the env, the preset, the env steps trained, the seed, the final
greedy evaluation (mean and std of the returns in ``evaluation.json``) and the wall time
(``summary.json``, written at the end of training). Values a run lacks show as ``-``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gymkit.checkpoint import read_run_config, require_run_dir
from gymkit.errors import RunDirError

FORMATS = ("table", "markdown", "csv")
COLUMNS = ("run", "agent", "env", "preset", "steps", "seed", "eval_mean", "eval_std",
           "eval_episodes", "wall_time_s")


@dataclass
class RunInfo:
    """What a run directory says about a run (its files, parsed)."""

    path: Path
    config: dict[str, Any]
    evaluation: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    metrics: list[dict[str, float]] = field(default_factory=list)

    @property
    def steps(self) -> int | None:
        """Env steps trained (summary.json, else the last metrics row, else the budget)."""
        if self.summary and self.summary.get("steps") is not None:
            return int(self.summary["steps"])
        if self.metrics:
            return int(self.metrics[-1]["step"])
        return self.config.get("steps")

    def row(self) -> dict[str, Any]:
        """The run's row of the comparison table (None where the run lacks the value)."""
        ev, summary = self.evaluation or {}, self.summary or {}
        return {"run": self.path.name, "agent": self.config["agent"], "env": self.config["env"],
                "preset": self.config.get("preset"), "steps": self.steps, "seed": self.config.get("seed"),
                "eval_mean": ev.get("mean"), "eval_std": ev.get("std"), "eval_episodes": ev.get("episodes"),
                "wall_time_s": summary.get("wall_time_s")}


def _read_json(path: Path) -> dict[str, Any] | None:
    from gymkit.safe_files import read_json

    if not path.exists() and not path.is_symlink():
        return None
    data = read_json(path)  # no link, bounded size, one line when malformed
    if not isinstance(data, dict):
        raise RunDirError(f"{path} is not a JSON object: delete it or restore it")
    return data


def read_metrics(path: Path) -> list[dict[str, float]]:
    """metrics.csv as a list of rows of floats (empty cells become NaN)."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()}
                for row in csv.DictReader(fh)]


def load_run_info(run_dir: str | Path, *, metrics: bool = False) -> RunInfo:
    """Read a run directory's config, evaluation, summary (and metrics when asked)."""
    path = require_run_dir(Path(run_dir))
    return RunInfo(path, read_run_config(path), _read_json(path / "evaluation.json"),
                   _read_json(path / "summary.json"),
                   read_metrics(path / "metrics.csv") if metrics else [])


def compare_runs(run_dirs: list[str | Path]) -> list[dict[str, Any]]:
    """One row (see :data:`COLUMNS`) per run directory, in the order given."""
    return [load_run_info(d).row() for d in run_dirs]


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in ("eval_mean", "eval_std"):
        return f"{value:.2f}"
    if key == "wall_time_s":
        return f"{value:.1f}"
    if key == "steps":
        return f"{value:,}"
    return str(value)


HEADERS = {"run": "run", "agent": "agent", "env": "env", "preset": "preset", "steps": "steps",
           "seed": "seed", "eval_mean": "eval mean", "eval_std": "eval std",
           "eval_episodes": "eval episodes", "wall_time_s": "wall time (s)"}
NUMERIC = frozenset({"steps", "seed", "eval_mean", "eval_std", "eval_episodes", "wall_time_s"})


def format_rows(rows: list[dict[str, Any]], fmt: str = "table") -> Any:
    """A rich Table (``"table"``), or the text of a Markdown table or a CSV file."""
    if fmt == "csv":
        import io

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows([{k: "" if r[k] is None else r[k] for k in COLUMNS} for r in rows])
        return buf.getvalue()
    cells = [[_cell(k, r[k]) for k in COLUMNS] for r in rows]
    if fmt == "markdown":
        lines = ["| " + " | ".join(HEADERS[k] for k in COLUMNS) + " |",
                 "|" + "|".join("---:" if k in NUMERIC else "---" for k in COLUMNS) + "|"]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(lines) + "\n"
    from rich.table import Table

    table = Table(title=f"{len(rows)} run(s)")
    for k in COLUMNS:
        table.add_column(HEADERS[k], justify="right" if k in NUMERIC else "left")
    for c in cells:
        table.add_row(*c)
    return table
