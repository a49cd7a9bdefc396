"""The command line: a working train/evaluate round trip, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from .conftest import run_cli


def test_train_then_evaluate_round_trip(tmp_path):
    run = tmp_path / "run"
    res = run_cli("train", "--agent", "hardcoded", "--env", "CartPole-v1", "--steps", "2000",
                  "--run-dir", str(run), "--eval-episodes", "5", "--seed", "3")
    assert res.returncode == 0, res.stderr
    assert "evaluation over 5 episodes (seed 4)" in res.stdout
    for name in ("config.yaml", "metrics.csv", "evaluation.json", "agent/MANIFEST.json"):
        assert (run / name).exists(), name
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert list((run / "checkpoints").glob("step_*"))
    res = run_cli("evaluate", str(run), "--episodes", "7", "--seed", "11")
    assert res.returncode == 0, res.stderr
    stats = json.loads((run / "evaluation.json").read_text())
    assert stats["episodes"] == 7 and stats["seed"] == 11 and len(stats["returns"]) == 7
    assert stats["mean"] == pytest.approx(sum(stats["returns"]) / 7)
    assert f"mean {stats['mean']:.2f}" in res.stdout


def test_python_dash_m_entry_points(tmp_path):
    import subprocess
    import sys

    run = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "gymkit.train", "--agent", "random", "--env",
                          "CartPole-v1", "--steps", "200", "--run-dir", str(run), "--eval-episodes", "2"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([sys.executable, "-m", "gymkit.evaluate", str(run), "--episodes", "2"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "evaluation over 2 episodes" in res.stdout


def test_list_shows_agents_presets_and_envs():
    res = run_cli("list")
    assert res.returncode == 0
    for word in ("random", "hardcoded", "q-learning", "dqn", "presets", "gymkit/BookMDP-v0"):
        assert word in res.stdout


def test_list_agent_config():
    res = run_cli("list", "--agent", "hardcoded")
    assert res.returncode == 0 and "policy" in res.stdout


def test_existing_run_dir_is_never_overwritten(tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", "--agent", "random", "--env", "CartPole-v1", "--steps", "100",
                   "--run-dir", str(run), "--eval-episodes", "0").returncode == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    res = run_cli("train", "--agent", "random", "--env", "CartPole-v1", "--steps", "100", "--run-dir", str(run))
    assert res.returncode == 2
    assert "--resume" in res.stderr and "another --run-dir" in res.stderr
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert before == after


BAD_INPUTS = [
    (["train", "--agent", "randon", "--env", "CartPole-v1"], "unknown agent 'randon' (did you mean 'random'?)"),
    (["train", "--agent", "random", "--env", "CartPol-v1"], "unknown env id 'CartPol-v1' (did you mean 'CartPole-v1'?)"),
    (["train", "--agent", "hardcoded", "--env", "FrozenLake-v1"], "needs CartPole's spaces"),
    (["train", "--preset", "no-such-preset"], "unknown preset 'no-such-preset'"),
    (["train", "--agent", "hardcoded", "--env", "CartPole-v1", "--set", "polcy=cartpole"], "did you mean 'policy'"),
    (["train", "--agent", "random", "--env", "CartPole-v1", "--steps", "0"], "must be a positive whole number"),
    (["train", "--agent", "random", "--env", "CartPole-v1", "--steps", "-5"], "must be a positive whole number"),
    (["train", "--agent", "random", "--env", "CartPole-v1", "--episodes", "0"], "must be a positive whole number"),
    (["train", "--agent", "random", "--env", "CartPole-v1", "--num-envs", "0"], "must be a positive whole number"),
    (["train", "--agent", "random", "--env", "CartPole-v1", "--steps", "5", "--episodes", "5"], "not allowed with argument"),
    (["train", "--agent", "random"], "no env given"),
    (["evaluate", "{tmp}/missing-run"], "does not exist"),
    (["train", "--resume", "--run-dir", "{tmp}/missing-run"], "does not exist"),
    (["train", "--agent", "no_such_module_zz:Agent", "--env", "CartPole-v1"], "cannot import module"),
    (["train", "--agent", "dqn", "--env", "FrozenLake-v1"], "add --wrappers flatten (one-hot observations)"),
    (["train", "--agent", "random", "--env", "CartPole-v1", "--wrappers", "[velocty-mask]"],
     "unknown wrapper 'velocty-mask' (did you mean 'velocity-mask'?)"),
    (["train", "--agent", "random", "--env", "CartPole-v1", "--wrappers", "5"], "must be a YAML list: write e.g."),
    (["train", "--agent", "random", "--env", "CartPole-v1", "--wrappers", "[a"], "is not valid YAML"),
    (["train", "--agent", "random", "--env", "CartPole-v1", "--env-kwargs", "[1]"], "must be a YAML dict"),
    # the wrapper reaches the agent: the masked observations are not CartPole's (4,)
    (["train", "--agent", "hardcoded", "--env", "CartPole-v1", "--wrappers", "velocity-mask"], "(2,), float32)"),
]


@pytest.mark.parametrize("args, message", BAD_INPUTS, ids=[" ".join(a[:4]) for a, _ in BAD_INPUTS])
def test_bad_input_gets_one_line_and_exit_2(tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    run_dir = tmp_path / "new-run"
    extra = ["--run-dir", str(run_dir)] if args[0] == "train" and "--run-dir" not in args else []
    res = run_cli(*args, *extra, cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert message in lines[0]
    assert "Traceback" not in res.stderr
    assert not run_dir.exists()
    assert not (tmp_path / "runs").exists()


def test_value_out_of_range_names_the_range(tmp_path):
    res = run_cli("train", "--agent", "q-learning", "--env", "gymkit/BookMDP-v0",
                  "--set", "discount_rate=1.5", "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2
    assert "discount_rate=1.5 is out of range" in res.stderr and "[0" in res.stderr
    assert not (tmp_path / "r").exists()


def test_malformed_yaml_preset(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("agent: random\nconfig: [unclosed\n")
    res = run_cli("train", "--preset", str(bad), "--env", "CartPole-v1", "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2
    assert "malformed YAML" in res.stderr and "Traceback" not in res.stderr
    assert bad.read_text() == "agent: random\nconfig: [unclosed\n"


def test_check_env_reports_in_words():
    res = run_cli("check-env", "gymkit/BookMDP-v0")
    assert res.returncode == 0
    assert "passes Gymnasium's env checker" in res.stdout


def test_env_kwargs_and_wrappers_from_the_command_line_are_kept_by_the_run(tmp_path):
    run = tmp_path / "run"
    res = run_cli("train", "--agent", "hardcoded", "--env", "CartPole-v1", "--env-kwargs", "{max_episode_steps: 10}",
                  "--wrappers", "[]", "--steps", "300", "--eval-episodes", "5", "--run-dir", str(run))
    assert res.returncode == 0, res.stderr
    # the book's policy balances for ~40 steps: cut at 10 by gymnasium.make(max_episode_steps=10)
    assert "mean 10.00  std 0.00  min 10.00  max 10.00" in res.stdout
    res = run_cli("evaluate", str(run), "--episodes", "3")  # evaluate rebuilds the env from config.yaml
    assert res.returncode == 0 and "mean 10.00  std 0.00" in res.stdout, res.stdout + res.stderr


def test_resume_refuses_settings_it_would_ignore(tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", "--agent", "random", "--env", "CartPole-v1", "--steps", "300",
                   "--run-dir", str(run), "--eval-episodes", "0").returncode == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    for extra in (["--seed", "3"], ["--num-envs", "2"], ["--wrappers", "velocity-mask"], ["--log-every", "10"]):
        res = run_cli("train", "--resume", "--run-dir", str(run), "--steps", "600", *extra)
        assert res.returncode == 2, res.stderr
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and f"drop {extra[0]}" in lines[0], res.stderr
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
