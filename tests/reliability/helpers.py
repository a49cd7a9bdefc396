"""Shared helpers for the reliability promises: reading a run's numbers back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from gymkit.checkpoint import checkpoint_dirs

from ..preloaded import PreloadedRun

#: agent -> (agent, env, steps, checkpoint interval, extra CLI args): small enough to run
#: several times in CI, long enough (in steps per second) that a kill lands mid-run. Every
#: run has ten (random, q-learning) or six checkpoints, so the kills land between the first
#: and the last but one of them (test_resume_after_sigkill_at_random_points).
AGENT_RUNS = {
    "random": ("random", "CartPole-v1", 15_000, 1_500, []),
    "q-learning": ("q-learning", "gymkit/BookMDP-v0", 20_000, 2_000, []),
    "reinforce": ("reinforce", "CartPole-v1", 3_000, 500, ["--set", "episodes_per_update=4"]),
    # a recurrent policy: its hidden state must restart with each episode after a resume
    "reinforce-lstm": ("reinforce", "gymkit/EmbeddedReber-v0", 1_500, 250,
                       ["--set", "encoder=lstm", "--set", "hidden_sizes=[16]",
                        "--set", "episodes_per_update=8", "--set", "learning_rate=0.003"]),
    "dqn": ("dqn", "CartPole-v1", 1_500, 250, ["--set", "training_start=200",
                                              "--set", "replay_memory_size=5000"]),
    "dqn-lstm": ("dqn", "CartPole-v1", 1_500, 250, ["--set", "encoder=lstm", "--set", "hidden_sizes=[16]",
                                                   "--set", "training_start=200",
                                                   "--set", "replay_memory_size=5000"]),
}


def steps_and_interval(name: str) -> tuple[int, int]:
    return AGENT_RUNS[name][2], AGENT_RUNS[name][3]


def train_args(name: str, seed: int = 0) -> list[str]:
    agent, env, steps, every, extra = AGENT_RUNS[name]
    return ["train", "--agent", agent, "--env", env, "--steps", str(steps), *extra,
            "--seed", str(seed), "--checkpoint-every", str(every), "--log-every", str(every // 5),
            "--eval-episodes", "3", "--no-progress"]


def cli_env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}


def uses_tensorflow(name: str) -> bool:
    """Whether the agent of ``AGENT_RUNS[name]`` imports TensorFlow."""
    return AGENT_RUNS[name][0] in ("reinforce", "dqn")


def start(args: list[str], tensorflow: bool) -> PreloadedRun | subprocess.Popen:
    """``gymkit ARGS`` in a process of its own, to kill or signal. For a TensorFlow agent it is
    forked from a process that has imported TensorFlow already (:mod:`tests.preloaded`), so each
    start skips that import; the others start a fresh interpreter (about a second)."""
    if tensorflow:
        return PreloadedRun(args, cli_env())
    return subprocess.Popen([sys.executable, "-m", "gymkit.cli", *args], env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def newest_checkpoint_step(run_dir: Path) -> int:
    dirs = checkpoint_dirs(run_dir)
    return int(dirs[-1].name.split("_")[1]) if dirs else -1


def wait_for_step(run_dir: Path, min_step: int, proc: subprocess.Popen, timeout: float = 300) -> bool:
    """Wait until a checkpoint at ``min_step`` or later exists (False if the process ended first)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if newest_checkpoint_step(run_dir) >= min_step:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    proc.send_signal(sig)
    proc.communicate(timeout=120)


def agent_arrays(folder: Path) -> dict[str, np.ndarray]:
    """Every number an agent saved (npy/npz/h5/json), for comparing weights across runs."""
    out: dict[str, np.ndarray] = {}
    for p in sorted(Path(folder).rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.suffix == ".npy":
            out[rel] = np.load(p, allow_pickle=False)
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                for k in z.files:
                    out[f"{rel}:{k}"] = z[k]
        elif p.suffix == ".h5":
            import h5py

            with h5py.File(p, "r") as f:
                f.visititems(lambda name, obj, rel=rel: out.__setitem__(f"{rel}:{name}", obj[()])
                             if isinstance(obj, h5py.Dataset) else None)
        elif p.name in ("agent.json",):
            out[rel] = np.frombuffer(json.dumps(json.loads(p.read_text())["config"], sort_keys=True).encode(), np.uint8)
    return out


def assert_same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
