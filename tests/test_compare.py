"""``gymkit compare``: one row per run, read back from the run directories."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gymkit.compare import COLUMNS, compare_runs, format_rows
from gymkit.errors import RunDirError
from gymkit.loop import train

from .conftest import run_cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    done = root / "hardcoded"
    train("hardcoded", "CartPole-v1", steps=600, seed=4, eval_episodes=3, run_dir=done)
    unevaluated = root / "random"
    train("random", "CartPole-v1", steps=300, seed=7, eval_episodes=0, run_dir=unevaluated)
    return done, unevaluated


def test_rows_hold_agent_env_steps_seed_evaluation_and_wall_time(runs):
    done, unevaluated = runs
    rows = compare_runs([done, unevaluated])
    evaluation = json.loads((done / "evaluation.json").read_text())
    summary = json.loads((done / "summary.json").read_text())
    assert rows[0] == {"run": "hardcoded", "agent": "hardcoded", "env": "CartPole-v1", "preset": None,
                       "steps": 600, "seed": 4, "eval_mean": evaluation["mean"],
                       "eval_std": evaluation["std"], "eval_episodes": 3,
                       "wall_time_s": summary["wall_time_s"]}
    assert rows[1]["agent"] == "random" and rows[1]["steps"] == 300 and rows[1]["seed"] == 7
    assert rows[1]["eval_mean"] is None and rows[1]["wall_time_s"] > 0  # no evaluation: shown as "-"


def test_markdown_and_csv_formats(runs):
    rows = compare_runs(list(runs))
    md = format_rows(rows, "markdown").splitlines()
    assert md[0].startswith("| run | agent | env |") and len(md) == 4
    assert md[3].split(" | ")[6:8] == ["-", "-"]  # eval mean and std of the unevaluated run
    parsed = list(csv.DictReader(io.StringIO(format_rows(rows, "csv"))))
    assert list(parsed[0]) == list(COLUMNS) and float(parsed[0]["eval_mean"]) == pytest.approx(rows[0]["eval_mean"])


def test_cli_compare_prints_a_table(runs):
    res = run_cli("compare", *map(str, runs))
    assert res.returncode == 0, res.stderr
    for word in ("hardcoded", "random", "CartPole-v1", "600", "300", "wall time"):
        assert word in res.stdout
    assert f"{compare_runs([runs[0]])[0]['eval_mean']:.2f}" in res.stdout


def test_a_directory_that_is_not_a_run_is_one_line(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(RunDirError, match="is not a gymkit run directory"):
        compare_runs([tmp_path / "x"])
    res = run_cli("compare", str(tmp_path / "x"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
