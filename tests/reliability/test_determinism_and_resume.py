"""Promises 1-3: determinism, exact resume after SIGKILL, and clean stops on SIGINT/SIGTERM.

Each runs for the random, q-learning, reinforce and dqn agents (each feed-forward and LSTM) on small envs.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys

import pytest

from .helpers import (
    AGENT_RUNS,
    agent_arrays,
    assert_same_arrays,
    cli_env,
    kill,
    start,
    steps_and_interval,
    train_args,
    wait_for_step,
)

AGENTS = list(AGENT_RUNS)


def _train(args, run_dir):
    res = subprocess.run([sys.executable, "-m", "gymkit.cli", *args, "--run-dir", str(run_dir)],
                         env=cli_env(), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return res


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory):
    """One uninterrupted run per agent (seed 0), shared by the tests below."""
    root = tmp_path_factory.mktemp("reference")
    return {name: _train(train_args(name), root / name) and root / name for name in AGENTS}


@pytest.mark.parametrize("name", AGENTS)
def test_same_seed_same_bytes_other_seed_differs(name, reference_runs, tmp_path):
    again = tmp_path / "again"
    _train(train_args(name), again)
    ref = reference_runs[name]
    assert (again / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()
    assert_same_arrays(agent_arrays(again / "agent"), agent_arrays(ref / "agent"))
    other = tmp_path / "other"
    _train(train_args(name, seed=1), other)
    assert (other / "metrics.csv").read_bytes() != (ref / "metrics.csv").read_bytes()


@pytest.mark.parametrize("name", AGENTS)
def test_resume_after_sigkill_at_random_points(name, reference_runs, tmp_path):
    """Kill at three random points (each after a random checkpoint), resume each time."""
    ref = reference_runs[name]
    rng = random.Random(f"kill-{name}")
    run_dir = tmp_path / "killed"
    first = True
    steps, every = steps_and_interval(name)
    for point in sorted(rng.sample(range(1, steps // every - 1), 3)):
        args = train_args(name) if first else ["train", "--resume", "--no-progress"]
        proc = start([*args, "--run-dir", str(run_dir)])
        reached = wait_for_step(run_dir, point * every, proc)
        still_running = proc.poll() is None
        kill(proc, signal.SIGKILL)
        assert reached and still_running, f"the run ended before it could be killed after step {point * every}"
        assert not (run_dir / "agent").exists()
        first = False
    _train(["train", "--resume", "--no-progress"], run_dir)
    assert (run_dir / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()
    assert_same_arrays(agent_arrays(run_dir / "agent"), agent_arrays(ref / "agent"))
    assert (run_dir / "evaluation.json").read_text() == (ref / "evaluation.json").read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("name", ["random", "dqn"])
def test_signal_checkpoints_then_resume_is_exact(name, sig, reference_runs, tmp_path):
    import time

    ref = reference_runs[name]
    run_dir = tmp_path / "stopped"
    steps, every = steps_and_interval(name)
    proc = start([*train_args(name), "--run-dir", str(run_dir)])
    assert wait_for_step(run_dir, every, proc)
    sent = time.time()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert time.time() - sent < 10, "the final checkpoint must come within seconds"
    assert proc.returncode == 128 + sig, err
    assert "resume with: gymkit train --resume" in err
    assert not (run_dir / "agent").exists()
    _train(["train", "--resume", "--no-progress"], run_dir)
    assert (run_dir / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()
    assert_same_arrays(agent_arrays(run_dir / "agent"), agent_arrays(ref / "agent"))
