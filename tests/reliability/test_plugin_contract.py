"""The plugin contract (issue 15): a forgiving interface, and one-line errors naming the agent.

A minimal agent (``act(self, observations, *, explore)``, no ``config_cls``) trains, evaluates
and resumes. ``action_mask`` / ``env_ids`` reach only agents whose ``act`` takes them, decided
once. A plugin that raises (in act, episode_start, observe, update, save_state, load_state)
or returns wrong actions stops the run with one line naming its class, the method and the
step, exit 2, and the last checkpoint intact; ``--debug`` prints the traceback instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import gymnasium as gym
import pytest

import gymkit
from gymkit.agents import calls as calls_module
from gymkit.checkpoint import checkpoint_dirs, verify_folder
from gymkit.config import AgentConfig

from . import plugin_agents as pa
from .hostile import assert_refused, snapshot
from .hostile import gymkit as run_gymkit

MOD = "tests.reliability.plugin_agents"


def train_args(cls: str, run: Path, env: str = "CartPole-v1", steps: int = 200, *extra: str) -> tuple[str, ...]:
    return ("train", "--agent", f"{MOD}:{cls}", "--env", env, "--steps", str(steps), "--run-dir", str(run),
            "--checkpoint-every", "100", "--eval-episodes", "2", "--no-progress", *extra)


def one_line_error(capsys, args: tuple[str, ...]) -> str:
    rc, _, err = run_gymkit(capsys, *args)
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("gymkit: error: "), err
    assert "Traceback" not in err
    return lines[0]


def assert_no_temporaries(run: Path) -> None:
    assert not [p for p in run.rglob(".tmp-*")], "a half-written folder was left behind"


# -- the forgiving side ------------------------------------------------------------------


def test_minimal_agent_trains_evaluates_and_resumes(capsys, tmp_path):
    run = tmp_path / "run"
    rc, out, err = run_gymkit(capsys, *train_args("Minimal", run))
    assert rc == 0, err
    assert "trained 200 steps" in out
    assert json.loads((run / "agent" / "agent.json").read_text())["config"] == {}
    rc, out, err = run_gymkit(capsys, "evaluate", str(run), "--episodes", "3")
    assert rc == 0, err
    assert "evaluation over 3 episodes" in out
    rc, out, err = run_gymkit(capsys, "train", "--resume", "--run-dir", str(run), "--steps", "300", "--no-progress")
    assert rc == 0, err
    assert "trained 300 steps" in out


def test_agent_without_config_cls_gets_an_empty_config():
    env = gym.make("CartPole-v1")
    agent = gymkit.make_agent(f"{MOD}:Minimal", env.observation_space, env.action_space)
    assert type(agent.config) is AgentConfig and agent.config.to_dict() == {}


def test_action_mask_reaches_only_agents_that_take_it(tmp_path):
    pa.MaskTaker.seen.clear()
    pa.KwargsTaker.keys.clear()
    gymkit.train(pa.MaskTaker, "gymkit/BookMDP-v0", steps=200, eval_episodes=2, progress=False)
    assert len(pa.MaskTaker.seen) > 200 and all(m is not None and m.shape[1] == 3 for m in pa.MaskTaker.seen)
    gymkit.train(pa.KwargsTaker, "gymkit/BookMDP-v0", steps=200, eval_episodes=2, progress=False)
    assert set(pa.KwargsTaker.keys) == {("action_mask",)}  # no env_ids: not stateful


def test_what_act_takes_is_decided_once(monkeypatch, tmp_path):
    count = {"n": 0}
    real = calls_module._signature_names

    def counting(fn):
        count["n"] += 1
        return real(fn)

    monkeypatch.setattr(calls_module, "_signature_names", counting)
    result = gymkit.train(pa.MaskTaker, "gymkit/BookMDP-v0", steps=500, eval_every=100, periodic_eval_episodes=2,
                          eval_episodes=2, run_dir=tmp_path / "run", checkpoint_every=100, progress=False)
    assert result.steps == 500 and result.evaluation is not None
    assert count["n"] == 1  # 500 steps, 5 periodic evaluations, a final one: one look at act()


# -- plugins that raise ------------------------------------------------------------------


@pytest.mark.parametrize("method, count", [("act", 50), ("episode_start", 3), ("observe", 50), ("update", 50),
                                           ("save_state", 1)])
def test_plugin_raising_during_training_keeps_the_last_checkpoint(capsys, tmp_path, monkeypatch, method, count):
    run = tmp_path / "run"
    rc, _, err = run_gymkit(capsys, *train_args("Flaky", run))
    assert rc == 0, err
    agent_before, checkpoints_before = snapshot(run / "agent"), snapshot(run / "checkpoints")
    monkeypatch.setenv(pa.FLAKY, f"{method}:{count}")
    resume = ("train", "--resume", "--run-dir", str(run), "--steps", "400", "--no-progress")
    line = one_line_error(capsys, resume)
    assert re.search(rf"agent Flaky: {method}\(\) at step \d+ raised RuntimeError: boom in {method}; the run stopped", line), line
    step = int(re.search(r"at step (\d+)", line).group(1))
    assert 200 <= step <= 400 and "its last checkpoint is intact" in line
    assert snapshot(run / "agent") == agent_before
    if method == "save_state":  # the checkpoint being written is dropped whole; the others stay
        assert snapshot(run / "checkpoints") == checkpoints_before
    dirs = checkpoint_dirs(run)
    assert int(dirs[-1].name.split("_")[1]) <= step
    for folder in dirs:
        verify_folder(folder)
    assert_no_temporaries(run)
    monkeypatch.delenv(pa.FLAKY)  # fixed: the run continues from its last checkpoint
    rc, out, err = run_gymkit(capsys, *resume)
    assert rc == 0 and "trained 400 steps" in out, err


def test_plugin_raising_in_load_state_for_evaluate(capsys, tmp_path, monkeypatch):
    run = tmp_path / "run"
    rc, _, err = run_gymkit(capsys, *train_args("Flaky", run))
    assert rc == 0, err
    monkeypatch.setenv(pa.FLAKY, "load_state:1")
    assert_refused(capsys, run, ("evaluate", str(run)), "agent Flaky: load_state() raised RuntimeError: boom in load_state; nothing was written")
    assert_refused(capsys, run, ("train", "--resume", "--run-dir", str(run), "--steps", "300", "--no-progress"),
                   "agent Flaky: load_state() raised RuntimeError: boom in load_state; nothing was written")


def test_debug_shows_the_traceback(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(pa.FLAKY, "act:10")
    rc, _, err = run_gymkit(capsys, *train_args("Flaky", tmp_path / "run"), "--debug")
    assert rc == 2
    assert "Traceback (most recent call last)" in err
    assert "plugin_agents.py" in err and "_maybe_fail" in err and "RuntimeError: boom in act" in err
    assert "PluginError: agent Flaky: act() at step 9 raised" in err


def test_debug_on_evaluate(capsys, tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert run_gymkit(capsys, *train_args("Flaky", run))[0] == 0
    monkeypatch.setenv(pa.FLAKY, "load_state:1")
    rc, _, err = run_gymkit(capsys, "evaluate", str(run), "--debug")
    assert rc == 2 and "Traceback" in err and "boom in load_state" in err


# -- actions that break the contract --------------------------------------------------------


@pytest.mark.parametrize("how, env, fragment", [
    ("shape", "CartPole-v1", "act() at step 0 returned actions of shape (1, 2); expected (1,)"),
    ("dtype", "CartPole-v1", "act() at step 0 returned actions of dtype float64; expected integers for Discrete(2)"),
    ("range", "CartPole-v1", "act() at step 0 returned action 5 in row 0, outside Discrete(2) (allowed 0..1)"),
    ("none", "CartPole-v1", "act() at step 0 returned None; expected an array of shape (1,)"),
    ("box-range", "Pendulum-v1", "act() at step 0 returned action value 10.0 at index [0, 0], outside "
                                 "Box(-2.0, 2.0, (1,), float32) (low -2.0, high 2.0)"),
    ("box-nan", "Pendulum-v1", "act() at step 0 returned a non-finite action (NaN or inf)"),
])
def test_wrong_actions_are_one_line_naming_expected_and_got(capsys, tmp_path, monkeypatch, how, env, fragment):
    monkeypatch.setenv(pa.MISBEHAVE, how)
    line = one_line_error(capsys, train_args("Misbehaving", tmp_path / "run", env))
    assert "agent Misbehaving: " in line
    assert fragment in line, line
    assert_no_temporaries(tmp_path / "run")


def test_minimal_agent_choosing_a_masked_action(capsys, tmp_path):
    """Minimal takes no mask, so on the book MDP its random actions soon hit a forbidden one."""
    line = one_line_error(capsys, train_args("Minimal", tmp_path / "run", "gymkit/BookMDP-v0", 2000))
    assert re.search(r"agent Minimal: act\(\) at step \d+ returned action \d in row 0, which the action mask "
                     r"forbids \(allowed there: \[[0-2, ]+\]\); take action_mask in act\(\)", line), line


def test_bad_update_metrics(capsys, tmp_path):
    line = one_line_error(capsys, train_args("BadMetrics", tmp_path / "run"))
    assert "agent BadMetrics: update() at step 0 returned list; expected a dict" in line


# -- agents refused before anything is written ---------------------------------------------


@pytest.mark.parametrize("cls, fragment", [
    ("NoExplore", "agent NoExplore: act() does not take explore: define it as act(self, observations, *, explore)"),
    ("StatefulWithoutEnvIds", "agent StatefulWithoutEnvIds is stateful but its act() does not take env_ids"),
    ("NoSuperInit", "agent NoSuperInit: __init__() did not call super().__init__("),
])
def test_broken_agents_are_refused_before_the_run_starts(capsys, tmp_path, cls, fragment):
    run = tmp_path / "run"
    line = one_line_error(capsys, train_args(cls, run))
    assert fragment in line, line
    assert not run.exists()


def test_a_plugin_failing_in_evaluate_changes_nothing(capsys, tmp_path, monkeypatch):
    """A run whose agent raises while acting in evaluate: one line, the run byte-identical."""
    run = tmp_path / "run"
    assert run_gymkit(capsys, *train_args("Flaky", run))[0] == 0
    assert json.loads((run / "agent" / "agent.json").read_text())["class"] == f"{MOD}:Flaky"
    monkeypatch.setenv(pa.FLAKY, "act:1")
    assert_refused(capsys, run, ("evaluate", str(run)), "agent Flaky: act() at evaluation step 0 raised RuntimeError: "
                   "boom in act; the evaluation stopped")


# -- --debug on train, evaluate, pretrain and sweep ----------------------------------------


@pytest.mark.parametrize("argv", [
    ["train", "--agent", "random", "--env", "CartPole-v1"],
    ["evaluate", "runs/x"],
    ["pretrain", "--env", "CartPole-v1", "--kind", "linear", "--out", "x"],
    ["sweep", "--space", "space.yaml"],
    ["upgrade-run", "runs/x"],
])
def test_debug_is_an_option_of(argv):
    from gymkit.cli import build_parser

    assert build_parser().parse_args([*argv, "--debug"]).debug is True
    assert build_parser().parse_args(argv).debug is False


def test_debug_on_pretrain(capsys, tmp_path):
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    args = ("pretrain", "--env", "CartPole-v1", "--kind", "linear", "--out", str(taken))
    line = one_line_error(capsys, args)
    assert "already exists" in line
    rc, _, err = run_gymkit(capsys, *args, "--debug")
    assert rc == 2 and "Traceback (most recent call last)" in err and "check_out_dir" in err
    assert taken.read_text() == "mine"


class _Fixed:
    """A duck-typed agent returning the actions it was given."""

    def __init__(self, space, actions):
        self.action_space, self.actions = space, actions

    def act(self, observations, *, explore, action_mask=None):
        return self.actions


@pytest.mark.parametrize("space, actions, mask, fragment", [
    (gym.spaces.Discrete(3, start=1), [0], None, "action 0 in row 0, outside Discrete(3, start=1) (allowed 1..3)"),
    (gym.spaces.Discrete(3), [2, 1], [[True, True, False], [True, True, False]], "action 2 in row 0, which the "
     "action mask forbids (allowed there: [0, 1])"),
    (gym.spaces.MultiDiscrete([2, 3]), [[1, 3]], None, "action 3 in row 0, outside MultiDiscrete([2 3]) (allowed 0..2)"),
    (gym.spaces.MultiBinary(3), [[0, 2, 1]], None, "outside MultiBinary(3) (allowed 0 or 1)"),
    (gym.spaces.Box(-1, 1, (2,)), [[0.5, "x"]], None, "actions of dtype <U32; expected numbers"),
])
def test_action_checks_on_every_space(space, actions, mask, fragment):
    import numpy as np

    from gymkit.agents.calls import AgentCalls
    from gymkit.errors import PluginError

    calls = AgentCalls(_Fixed(space, np.asarray(actions)))
    n = len(actions)
    with pytest.raises(PluginError) as err:
        calls.act(np.zeros((n, 1)), explore=True, action_mask=None if mask is None else np.asarray(mask), step=7)
    assert fragment in str(err.value) and "agent _Fixed: act() at step 7 returned" in str(err.value)
    fine = np.asarray([space.sample() for _ in range(n)])
    calls = AgentCalls(_Fixed(space, fine))
    assert calls.act(np.zeros((n, 1)), explore=True, step=7) is not None
