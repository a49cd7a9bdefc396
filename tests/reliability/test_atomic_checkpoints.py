"""Atomic, verified checkpoints and exact resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import gymkit
from gymkit.checkpoint import (
    FORMAT_VERSION,
    MANIFEST,
    checkpoint_dirs,
    latest_checkpoint,
    verify_folder,
)
from gymkit.errors import RunDirError

from ..conftest import run_cli


@pytest.fixture
def run(tmp_path):
    d = tmp_path / "run"
    gymkit.train("random", "CartPole-v1", steps=3000, checkpoint_every=1000, eval_episodes=0,
                 run_dir=d, progress=False)
    return d


def test_checkpoints_are_sealed_and_pruned(run):
    dirs = checkpoint_dirs(run)
    assert len(dirs) == 2  # keep the last two
    manifest = verify_folder(dirs[-1])
    assert manifest["format_version"] == FORMAT_VERSION
    assert set(manifest["files"]) >= {"agent.json", "loop_state.json", "spaces.json"}
    assert "spaces.pkl" not in manifest["files"]  # no pickle in a run directory (issue 15)


def _damage(folder, how):
    if how == "truncate":
        p = folder / "agent.json"
        p.write_bytes(p.read_bytes()[:10])
    elif how == "flip":
        p = folder / "spaces.json"
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0xFF
        p.write_bytes(bytes(data))
    elif how == "missing":
        (folder / "loop_state.json").unlink()
    elif how == "manifest":
        (folder / MANIFEST).write_text("{not json")
    elif how == "version":
        m = json.loads((folder / MANIFEST).read_text())
        m["format_version"] = 999
        (folder / MANIFEST).write_text(json.dumps(m))


@pytest.mark.parametrize("how, fragment", [
    ("truncate", "agent.json fails its checksum"),
    ("flip", "spaces.json fails its checksum"),
    ("missing", "loop_state.json is missing"),
    ("manifest", "MANIFEST.json is corrupt"),
    ("version", f"format version 999, but this gymkit reads version {FORMAT_VERSION}"),
])
def test_damage_is_named_by_evaluate_and_resume(run, how, fragment):
    _damage(latest_checkpoint(run), how)
    _damage(run / "agent", how) if how != "missing" else (run / "agent" / "agent.json").unlink()
    with pytest.raises(RunDirError, match=fragment if how != "missing" else "is missing"):
        verify_folder(run / "agent")
    res = run_cli("evaluate", str(run))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    res = run_cli("train", "--resume", "--run-dir", str(run), "--steps", "5000")
    assert res.returncode == 2, res.stderr
    assert fragment in res.stderr or "is missing" in res.stderr
    assert "Traceback" not in res.stderr


def test_crash_while_writing_leaves_previous_checkpoint_latest(run):
    before = latest_checkpoint(run)
    # What a crash mid-write leaves: a temporary folder without a manifest.
    tmp = run / "checkpoints" / ".tmp-step_000000009999-1234"
    shutil.copytree(before, tmp)
    (tmp / MANIFEST).unlink()
    assert latest_checkpoint(run) == before
    verify_folder(before)
    res = run_cli("train", "--resume", "--run-dir", str(run), "--steps", "4000")
    assert res.returncode == 0, res.stderr
    assert not tmp.exists()


def _rows(path):
    return path.read_text().splitlines()


def test_resume_after_stop_equals_uninterrupted_run(tmp_path):
    kwargs = dict(steps=6000, checkpoint_every=700, log_every=250, eval_episodes=3, progress=False)
    full = gymkit.train("random", "gymkit/BookMDP-v0", run_dir=tmp_path / "full", **kwargs)
    part = tmp_path / "part"
    gymkit.train("random", "gymkit/BookMDP-v0", run_dir=part, stop_after_steps=2500, **kwargs)
    resumed = gymkit.train(run_dir=part, resume=True, progress=False)
    assert resumed.steps == full.steps
    assert _rows(part / "metrics.csv") == _rows(tmp_path / "full" / "metrics.csv")
    assert resumed.evaluation.returns == full.evaluation.returns
    assert resumed.agent.rng.bit_generator.state == full.agent.rng.bit_generator.state


def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path):
    # 40,000 steps (about 10 s): the kill comes after the second of eight checkpoints (step
    # 10,000), so about three quarters of the run are trained after the resume.
    args = ["--agent", "random", "--env", "CartPole-v1", "--steps", "40000", "--checkpoint-every",
            "5000", "--log-every", "1000", "--eval-episodes", "2", "--seed", "5"]
    full = tmp_path / "full"
    assert run_cli("train", *args, "--run-dir", str(full)).returncode == 0
    killed = tmp_path / "killed"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "gymkit.cli", "train", *args, "--run-dir", str(killed)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(checkpoint_dirs(killed)) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "agent").exists(), "the run should have been killed before it finished"
    res = run_cli("train", "--resume", "--run-dir", str(killed))
    assert res.returncode == 0, res.stderr
    assert _rows(killed / "metrics.csv") == _rows(full / "metrics.csv")
    assert json.loads((killed / "evaluation.json").read_text())["returns"] == \
        json.loads((full / "evaluation.json").read_text())["returns"]
