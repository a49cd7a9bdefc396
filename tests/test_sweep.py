"""``gymkit sweep``: the space file, the choice of the best configuration, and real sweeps on a
local Ray with 2 CPUs (Q-Learning on FrozenLake-v1): run directories, best preset, and a
trial whose worker is SIGKILLed being retried and resuming exactly from its checkpoint.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml

from gymkit.errors import ConfigError

from .conftest import run_cli

FROZEN = {"exploration": "epsilon-greedy", "eps_decay_steps": 3000}


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is no longer running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _attempt_pids(sweep_dir: Path) -> list[int]:
    return [json.loads(line)["pid"] for f in (sweep_dir / "attempts").glob("*.jsonl")
            for line in f.read_text().splitlines()]


def _assert_no_workers_left(sweep_dir: Path) -> None:
    pids = _attempt_pids(sweep_dir)
    assert pids
    deadline = time.time() + 20
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not [p for p in pids if _alive(p)], "Ray workers outlived the sweep"


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- the space file (no Ray needed to parse it) -------------------------------------------------


def test_space_sections_shorthand_and_distributions(tmp_path):
    from gymkit.sweep.space import Dist, load_space

    space = load_space(_write(tmp_path / "s.yaml", """
        agent: q-learning
        train: {eval_episodes: 20}
        steps: 3000                                  # shorthand: a run setting
        learning_rate0: {loguniform: [0.01, 1.0]}    # shorthand: an agent config key
        config:
          exploration: {choice: [random, epsilon-greedy]}
          discount_rate: {grid_search: [0.9, 0.95]}
          eps_decay_steps: {randint: [100, 200]}
          curiosity: 10.0
        env_kwargs: {is_slippery: {grid_search: [true, false]}}
    """))
    assert space.agent == "q-learning" and space.env is None
    assert space.sections["train"] == {"eval_episodes": 20, "steps": 3000}
    cfg = space.sections["config"]
    assert cfg["learning_rate0"] == Dist("loguniform", (0.01, 1.0))
    assert cfg["exploration"] == Dist("choice", (("random", "epsilon-greedy"),))
    assert cfg["eps_decay_steps"] == Dist("randint", (100, 200))
    assert cfg["curiosity"] == 10.0
    assert space.sections["env_kwargs"]["is_slippery"] == Dist("grid_search", ((True, False),))


@pytest.mark.parametrize("body, words", [
    ("config: {learning_rate0: {loguniform: [0, 1]}}", "needs low > 0"),
    ("config: {learning_rate0: {uniform: [1, 0.5]}}", "low must be below high"),
    ("config: {learning_rate0: {logunifrom: [0.1, 1]}}", "did you mean 'loguniform'"),
    ("config: {eps_decay_steps: {randint: [1.5, 9]}}", "whole numbers"),
    ("config: {exploration: {choice: []}}", "non-empty list"),
    ("train: {seed: 3}", "--seeds"),
    ("train: {stpes: 3}", "did you mean 'steps'"),
    ("- just a list", "must be a YAML mapping"),
])
def test_space_errors_are_one_line(tmp_path, body, words):
    from gymkit.sweep.space import load_space

    with pytest.raises(ConfigError) as exc:
        load_space(_write(tmp_path / "s.yaml", body + "\n"))
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_best_configuration_needs_every_seed_and_prefers_the_lower_id_on_ties():
    from gymkit.sweep.results import ConfigScore, choose_best

    def score(i, s, n):
        return ConfigScore(i, {}, n, 3, s, 0.0)

    # configuration 1 has the highest mean but one of its seeds was stopped early
    scores = [score(0, 0.5, 3), score(1, 0.9, 2), score(2, 0.7, 3), score(3, 0.7, 3), score(4, None, 0)]
    assert choose_best(scores).variant == 2
    assert choose_best([score(1, 0.9, 2), score(0, 0.5, 1)]).variant == 1  # none complete: fallback
    assert choose_best([score(4, None, 0)]) is None


def test_how_an_attempt_starts(tmp_path):
    """A retried trial resumes from a checkpoint, restarts without one, and reports a finished run."""
    import gymkit
    from gymkit.sweep.trainable import _start_state

    run = tmp_path / "run"
    assert _start_state(run) == ("fresh", 0)
    run.mkdir()
    (run / "config.yaml").write_text("agent: q-learning\nenv: FrozenLake-v1\n")  # died before a checkpoint
    assert _start_state(run) == ("fresh", 0) and not run.exists()
    settings = {"steps": 3000, "checkpoint_every": 500, "eval_episodes": 5, "progress": False}
    part = gymkit.train("q-learning", "FrozenLake-v1", run_dir=run, stop_after_steps=1000, **settings)
    assert _start_state(run) == ("resume", part.steps) and part.steps >= 1000
    gymkit.train(run_dir=run, resume=True, progress=False)
    assert _start_state(run) == ("finished", 3000)


# -- Ray-backed pieces ---------------------------------------------------------------------------


@pytest.fixture
def ray_tune():
    return pytest.importorskip("ray.tune")


#: The two real sweeps (half a minute or more each, much of it waiting on Ray) form one xdist
#: group: --dist loadgroup hands out the work units with the most tests first, so they start
#: early instead of near the end of the suite (this module sorts late), where the other
#: worker would idle while they finish.
REAL_SWEEP = pytest.mark.xdist_group("ray-sweeps")


def test_sampling_is_grid_times_samples_and_reproducible(tmp_path, ray_tune):
    from gymkit.sweep.space import load_space, sample_variants

    space = load_space(_write(tmp_path / "s.yaml", """
        config:
          learning_rate0: {loguniform: [0.001, 1.0]}
          discount_rate: {grid_search: [0.9, 0.95, 0.99]}
          exploration: epsilon-greedy
    """))
    a, b = sample_variants(space, 4, search_seed=7), sample_variants(space, 4, search_seed=7)
    assert len(a) == 12 and [v.id for v in a] == list(range(12))
    assert [v.config for v in a] == [v.config for v in b]
    assert [v.config for v in sample_variants(space, 4, search_seed=8)] != [v.config for v in a]
    assert [v.config["discount_rate"] for v in a[:3]] == [0.9, 0.95, 0.99]
    lrs = [v.config["learning_rate0"] for v in a]
    assert all(0.001 <= x <= 1.0 and type(x) is float for x in lrs) and len(set(lrs)) == 12
    assert all(v.config["exploration"] == "epsilon-greedy" for v in a)
    assert set(a[0].sampled) == {"config.learning_rate0", "config.discount_rate"}


def test_reporter_holds_back_rows_at_the_budget(monkeypatch, ray_tune):
    from gymkit.sweep.trainable import TuneReporter

    sent = []
    monkeypatch.setattr(ray_tune, "report", lambda metrics: sent.append(metrics))
    rep = TuneReporter("step", 1000)
    rep.write({"step": 100, "episodes": 0, "return_mean": float("nan")}, 100)  # no episode yet
    rep.write({"episode/return": 1.0}, 150)  # an event, not a row
    rep.write({"step": 500, "episodes": 3, "return_mean": 0.5}, 500)
    rep.write({"step": 1000, "episodes": 7, "return_mean": 0.75}, 1000)  # the final report carries it
    assert sent == [{"step": 500, "episodes": 3, "return_mean": 0.5}]
    assert rep.last == {"return_mean": 0.75, "episodes": 7}


def test_asha_rungs_are_in_the_budget_unit(ray_tune):
    from gymkit.sweep.runner import _scheduler
    from gymkit.sweep.space import Variant

    v = [Variant(0, {"steps": 8000}, {}, {}, {}), Variant(1, {"steps": 4000}, {}, {}, {})]
    asha = _scheduler("asha", v, None)
    assert (asha._time_attr, asha._metric, asha._mode, asha._max_t) == ("step", "return_mean", "max", 8000)
    assert sorted(m for m, _ in asha._brackets[0]._rungs) == [2000, 4000, 8000]
    e = [Variant(0, {"episodes": 200}, {}, {}, {})]
    assert _scheduler("asha", e, 50)._time_attr == "episodes"
    with pytest.raises(ConfigError, match="one budget unit"):
        _scheduler("asha", v + e, None)


@REAL_SWEEP
def test_small_sweep_on_local_ray(tmp_path, ray_tune):
    """4 trials (2 configurations x 2 seeds) through the CLI on a 2-CPU local Ray."""
    from gymkit.config import load_preset
    from gymkit.evaluation import evaluate_run
    from gymkit.run_config import resolve_run

    space = _write(tmp_path / "space.yaml", """
        env: FrozenLake-v1
        train: {steps: 4000, eval_episodes: 50, log_every: 500, checkpoint_every: 1000}
        config:
          exploration: epsilon-greedy
          eps_decay_steps: 3000
          learning_rate0: {grid_search: [0.001, 0.5]}
          learning_rate_decay: {loguniform: [0.0001, 0.01]}
    """)
    sweep = tmp_path / "sweep"
    res = run_cli("sweep", "--agent", "q-learning", "--space", str(space), "--seeds", "2",
                  "--dir", str(sweep), "--num-cpus", "2", timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    trials = {p.name: p for p in (sweep / "trials").iterdir()}
    assert sorted(trials) == ["c000_s0", "c000_s1", "c001_s0", "c001_s1"]
    evals = {}
    for name, run in trials.items():
        rows = _csv_rows(run / "metrics.csv")
        assert [int(r["step"]) for r in rows] == list(range(500, 4001, 500)), name
        spec = yaml.safe_load((run / "config.yaml").read_text())
        assert spec["seed"] == int(name[-1]) and spec["steps"] == 4000
        evals[name] = json.loads((run / "evaluation.json").read_text())["mean"]
    # the seeds of one configuration share its sampled values
    lr = {n: yaml.safe_load((p / "config.yaml").read_text())["config"] for n, p in trials.items()}
    assert lr["c000_s0"] == lr["c000_s1"] and lr["c001_s0"] == lr["c001_s1"] and lr["c000_s0"] != lr["c001_s0"]

    # the best configuration: the highest mean of its seeds' evaluation means
    means = {c: (evals[f"{c}_s0"] + evals[f"{c}_s1"]) / 2 for c in ("c000", "c001")}
    best = max(means, key=means.get)
    assert means[best] > min(means.values())  # the two configurations really differ here
    summary = json.loads((sweep / "sweep.json").read_text())
    assert summary["best"] == int(best[1:])
    assert summary["configurations"][int(best[1:])]["score"] == pytest.approx(means[best])
    assert f"{best} *" in res.stdout

    preset = load_preset(str(sweep / "best.yaml"))
    assert (preset.agent, preset.env) == ("q-learning", "FrozenLake-v1")
    spec, _, _ = resolve_run(preset=str(sweep / "best.yaml"), seed=0)
    assert spec.config == lr[f"{best}_s0"] and spec.steps == 4000

    # gymkit train --preset best.yaml reproduces the best trial exactly
    res = run_cli("train", "--preset", str(sweep / "best.yaml"), "--seed", "1", "--run-dir",
                  str(tmp_path / "again"), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert _csv_rows(tmp_path / "again" / "metrics.csv") == _csv_rows(trials[f"{best}_s1"] / "metrics.csv")

    # a trial is an ordinary run directory: gymkit's evaluation reproduces the trial's
    again = evaluate_run(trials[f"{best}_s1"])
    assert again.mean == pytest.approx(evals[f"{best}_s1"])
    _assert_no_workers_left(sweep)


@pytest.mark.slow
def test_asha_stops_poor_trials_and_they_are_not_candidates(tmp_path, ray_tune):
    """8 learning rates, ASHA: trials stopped at a rung keep their run directory (metrics up
    to the rung, no evaluation) and the best is chosen among the finished ones."""
    from gymkit.sweep import run_sweep

    space = _write(tmp_path / "space.yaml", """
        env: FrozenLake-v1
        train: {steps: 8000, eval_episodes: 50, log_every: 500, checkpoint_every: 2000}
        config:
          exploration: epsilon-greedy
          eps_decay_steps: 4000
          learning_rate_decay: 0.001
          learning_rate0: {loguniform: [0.0005, 1.0]}
    """)
    result = run_sweep("q-learning", None, space, sweep_dir=tmp_path / "sw", samples=8,
                       scheduler="asha", num_cpus=2, verbose=False)
    stopped = [t for t in result.trials if t.status == "stopped early"]
    finished = [t for t in result.trials if t.status == "finished"]
    assert stopped and finished and len(stopped) + len(finished) == 8
    for t in stopped:
        steps = [int(r["step"]) for r in _csv_rows(Path(t.run_dir) / "metrics.csv")]
        assert 2000 <= steps[-1] < 8000 and not (Path(t.run_dir) / "evaluation.json").exists()
    assert result.best.score == max(t.eval_mean for t in finished)
    assert result.best.variant in {t.variant for t in finished}


@REAL_SWEEP
def test_killed_worker_is_retried_and_resumes_exactly(tmp_path, ray_tune):
    """SIGKILL the trial's worker after its first checkpoint: Ray retries the trial, which
    resumes from that checkpoint (not step 0) and ends exactly as an uninterrupted run."""
    import gymkit
    from gymkit.sweep import run_sweep

    train = {"steps": 20000, "eval_episodes": 50, "log_every": 500, "checkpoint_every": 1000}
    config = {**FROZEN, "eps_decay_steps": 10000, "learning_rate0": 0.5, "learning_rate_decay": 0.001}
    space = _write(tmp_path / "space.yaml", json.dumps({"train": train, "config": config}))
    sweep = tmp_path / "sweep"
    run = sweep / "trials" / "c000_s0"
    killed: dict = {}

    def killer() -> None:
        attempts, ckpts = sweep / "attempts" / "c000_s0.jsonl", run / "checkpoints"
        deadline = time.time() + 150
        while time.time() < deadline:
            if attempts.exists() and ckpts.exists() and any(p.name.startswith("step_") for p in ckpts.iterdir()):
                if (run / "summary.json").exists():
                    killed["too_late"] = True
                    return
                killed["pid"] = json.loads(attempts.read_text().splitlines()[0])["pid"]
                os.kill(killed["pid"], signal.SIGKILL)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    result = run_sweep("q-learning", "FrozenLake-v1", space, sweep_dir=sweep, num_cpus=2, verbose=False)
    thread.join(5)
    assert "pid" in killed, killed

    attempts = [json.loads(x) for x in (sweep / "attempts" / "c000_s0.jsonl").read_text().splitlines()]
    assert [a["start"] for a in attempts] == ["fresh", "resume"]
    assert attempts[1]["from_step"] > 0 and attempts[1]["pid"] != killed["pid"]
    (trial,) = result.trials
    assert trial.status == "finished" and trial.attempts == 2 and trial.resumed_from == [attempts[1]["from_step"]]
    rows = _csv_rows(run / "metrics.csv")
    steps = [int(r["step"]) for r in rows]
    assert steps == list(range(500, 20001, 500))  # no duplicated or missing rows
    assert json.loads((run / "summary.json").read_text())["steps"] == 20000

    # exact resume: the same numbers as an uninterrupted run of the same configuration and seed
    ref = gymkit.train("q-learning", "FrozenLake-v1", config=config, run_dir=tmp_path / "ref",
                       seed=0, progress=False, **train)
    assert _csv_rows(tmp_path / "ref" / "metrics.csv") == rows
    assert ref.evaluation.mean == json.loads((run / "evaluation.json").read_text())["mean"]
    assert result.best.score == ref.evaluation.mean
    _assert_no_workers_left(sweep)


# -- input errors and the missing extra ------------------------------------------------------------


def test_without_ray_sweep_says_how_to_install_it(tmp_path):
    code = ("import sys; sys.modules['ray'] = None\n"
            "from gymkit.cli import main\n"
            "raise SystemExit(main(['sweep', '--agent', 'q-learning', '--env', 'FrozenLake-v1', "
            f"'--space', {str(tmp_path / 'space.yaml')!r}, '--dir', {str(tmp_path / 'sw')!r}]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "gymkit: error: gymkit sweep needs Ray Tune, which is not installed: pip install 'gymkit[ray]'"]
    assert not (tmp_path / "sw").exists()


def test_bad_sampled_config_fails_before_ray_starts(tmp_path, ray_tune, capsys):
    import ray

    from gymkit.cli import main

    space = _write(tmp_path / "s.yaml", "config: {learning_rate0: {uniform: [0.5, 2.0]}}\n")
    code = main(["sweep", "--agent", "q-learning", "--env", "FrozenLake-v1", "--space", str(space),
                 "--samples", "3", "--dir", str(tmp_path / "sw")])
    err = capsys.readouterr().err
    assert code == 2 and "learning_rate0" in err and "out of range" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "sw").exists() and not ray.is_initialized()


def test_no_cluster_at_address_is_a_one_line_error(tmp_path, ray_tune, capsys, monkeypatch):
    from gymkit.cli import main

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    if Path("/tmp/ray/ray_current_cluster").exists():
        pytest.skip("a Ray cluster is (or was) running on this machine")
    space = _write(tmp_path / "s.yaml", "train: {steps: 1000}\n")
    code = main(["sweep", "--agent", "q-learning", "--env", "FrozenLake-v1", "--space", str(space),
                 "--address", "auto", "--dir", str(tmp_path / "sw")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot join the Ray cluster at --address auto" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "sw").exists()
