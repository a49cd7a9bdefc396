"""Promises 1-3: determinism, exact resume after SIGKILL, and clean stops on SIGINT/SIGTERM.

Each runs for the random, q-learning, reinforce and dqn agents (each feed-forward and LSTM) on small envs.

Every comparison is against a reference run trained in a fresh process (``reference_run``).
The runs that are killed or signalled are processes of their own too (for the TensorFlow
agents, forked from a process that has imported TensorFlow once: ``tests/preloaded.py``); the
runs that only need to finish (a repeat with the same seed, another seed, the final
``--resume``) run in this process, so no test pays a TensorFlow import per run. A warm process
reproducing a fresh one's bytes is the stronger check.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys

import pytest

from ..conftest import run_cli_in_process
from .helpers import (
    AGENT_RUNS,
    agent_arrays,
    assert_same_arrays,
    cli_env,
    kill,
    start,
    steps_and_interval,
    train_args,
    uses_tensorflow,
    wait_for_step,
)


def by_agent(*names: str) -> list:
    """One parameter per agent, each in its agent's xdist group: an agent's tests run on one
    worker (``--dist loadgroup``), which trains its reference once; the agents spread."""
    return [pytest.param(name, marks=pytest.mark.xdist_group(f"determinism-{name}")) for name in names]


AGENTS = by_agent(*AGENT_RUNS)


def _train(args, run_dir):
    """Train in a fresh process (the CLI as a user runs it)."""
    res = subprocess.run([sys.executable, "-m", "gymkit.cli", *args, "--run-dir", str(run_dir)],
                         env=cli_env(), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return res


def _train_here(args, run_dir):
    """Train in this process (``gymkit.cli.main``), for runs that need not be a fresh process."""
    res = run_cli_in_process(*args, "--run-dir", str(run_dir))
    assert res.returncode == 0, res.stderr
    return res


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """``reference_run(name)``: one uninterrupted run of that agent (seed 0) in a fresh process.

    Trained on first use and kept for the session, so a worker trains only the references
    of the agents whose tests it runs (with the xdist groups of ``by_agent``: each once)."""
    root = tmp_path_factory.mktemp("reference")
    runs = {}

    def get(name):
        if name not in runs:
            _train(train_args(name), root / name)
            runs[name] = root / name
        return runs[name]

    return get


@pytest.mark.parametrize("name", AGENTS)
def test_same_seed_same_bytes_other_seed_differs(name, reference_run, tmp_path):
    ref = reference_run(name)
    again = tmp_path / "again"
    _train_here(train_args(name), again)
    assert (again / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()
    assert_same_arrays(agent_arrays(again / "agent"), agent_arrays(ref / "agent"))
    other = tmp_path / "other"
    _train_here(train_args(name, seed=1), other)
    assert (other / "metrics.csv").read_bytes() != (ref / "metrics.csv").read_bytes()


@pytest.mark.parametrize("name", AGENTS)
def test_resume_after_sigkill_at_random_points(name, reference_run, tmp_path):
    """Kill at three random points (each after a random checkpoint), resume each time."""
    ref = reference_run(name)
    rng = random.Random(f"kill-{name}")
    run_dir = tmp_path / "killed"
    first = True
    steps, every = steps_and_interval(name)
    for point in sorted(rng.sample(range(1, steps // every - 1), 3)):
        args = train_args(name) if first else ["train", "--resume", "--no-progress"]
        proc = start([*args, "--run-dir", str(run_dir)], uses_tensorflow(name))
        reached = wait_for_step(run_dir, point * every, proc)
        still_running = proc.poll() is None
        kill(proc, signal.SIGKILL)
        assert reached and still_running, f"the run ended before it could be killed after step {point * every}"
        assert not (run_dir / "agent").exists()
        first = False
    _train_here(["train", "--resume", "--no-progress"], run_dir)
    assert (run_dir / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()
    assert_same_arrays(agent_arrays(run_dir / "agent"), agent_arrays(ref / "agent"))
    assert (run_dir / "evaluation.json").read_text() == (ref / "evaluation.json").read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("name", by_agent("random", "dqn"))
def test_signal_checkpoints_then_resume_is_exact(name, sig, reference_run, tmp_path):
    import time

    ref = reference_run(name)
    run_dir = tmp_path / "stopped"
    steps, every = steps_and_interval(name)
    proc = start([*train_args(name), "--run-dir", str(run_dir)], uses_tensorflow(name))
    assert wait_for_step(run_dir, every, proc)
    sent = time.time()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert time.time() - sent < 10, "the final checkpoint must come within seconds"
    assert proc.returncode == 128 + sig, err
    assert "resume with: gymkit train --resume" in err
    assert not (run_dir / "agent").exists()
    _train_here(["train", "--resume", "--no-progress"], run_dir)
    assert (run_dir / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()
    assert_same_arrays(agent_arrays(run_dir / "agent"), agent_arrays(ref / "agent"))
