"""Promises 6-10 and 12: non-finite values, spaces, configuration, env checking, worker
crashes, and an evaluate that never writes to the checkpoint it reads."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import gymkit
from gymkit.agents.base import Agent
from gymkit.checkpoint import checkpoint_dirs, latest_checkpoint, verify_folder
from gymkit.config import AgentConfig
from gymkit.envs import list_envs
from gymkit.loop import NonFiniteError

from ..conftest import run_cli

# -- 6. non-finite values ---------------------------------------------------------------


class _Glitch(gym.Env):
    """CartPole-like env that emits a NaN observation (or reward) at a chosen global step."""

    observation_space = gym.spaces.Box(-10, 10, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, where="obs", at=150):
        self.where, self.at, self.n = where, at, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.n += 1
        self.t += 1
        obs = np.full(2, 0.1 * self.t, np.float32)
        reward = 1.0
        if self.n == self.at:
            if self.where == "obs":
                obs[1] = np.inf
            else:
                reward = float("nan")
        return obs, reward, False, self.t >= 20, {}


gym.register("gymkit-test/Glitch-v0", entry_point=_Glitch)


@dataclass(frozen=True)
class _DivergingConfig(AgentConfig):
    pass


class DivergingAgent(Agent):
    """Its single weight grows each update and turns NaN (with its loss) at update 1100."""

    config_cls = _DivergingConfig

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.w = np.ones(1)
        self.updates = 0

    def act(self, observations, *, explore, action_mask=None):
        return np.zeros(len(observations), dtype=np.int64)

    def update(self):
        self.updates += 1
        self.w = self.w + 1.0 if self.updates < 1100 else self.w * np.nan
        return {"loss": float(self.w[0])}

    def save_state(self, directory):
        np.save(Path(directory) / "w.npy", self.w)

    def load_state(self, directory):
        self.w = np.load(Path(directory) / "w.npy")


@pytest.mark.parametrize("where, source", [("obs", "the observation"), ("reward", "the reward")])
def test_non_finite_env_values_stop_the_run_naming_source_and_step(tmp_path, where, source):
    with pytest.raises(NonFiniteError, match=f"in {source} at step 149"):
        gymkit.train("random", "gymkit-test/Glitch-v0", steps=1000, env_kwargs={"where": where},
                     run_dir=tmp_path / "r", eval_episodes=0, progress=False, checkpoint_every=40)


def test_non_finite_loss_stops_the_run_and_checkpoints_stay_finite(tmp_path):
    run = tmp_path / "r"
    with pytest.raises(NonFiniteError, match=r"non-finite loss=nan at step 1099"):
        gymkit.train(DivergingAgent, "gymkit-test/Glitch-v0", steps=5000, run_dir=run,
                     env_kwargs={"at": 10**9},
                     eval_episodes=0, progress=False, checkpoint_every=100)
    assert checkpoint_dirs(run)
    for folder in checkpoint_dirs(run):
        verify_folder(folder)
        assert np.isfinite(np.load(folder / "w.npy")).all()


# -- 7. spaces --------------------------------------------------------------------------


def test_evaluate_on_other_spaces_fails_before_the_first_step_naming_both(tmp_path):
    run = tmp_path / "r"
    gymkit.train("hardcoded", "CartPole-v1", steps=200, run_dir=run, eval_episodes=0, progress=False)
    res = run_cli("evaluate", str(run), "--env", "Acrobot-v1")
    assert res.returncode == 2
    assert "Box(" in res.stderr and "(4,)" in res.stderr and "(6,)" in res.stderr
    assert "Discrete(2)" in res.stderr and "Discrete(3)" in res.stderr
    assert not (run / "evaluation.json").exists()


def test_agent_on_spaces_it_cannot_handle_names_both_spaces(tmp_path):
    res = run_cli("train", "--agent", "q-learning", "--env", "CartPole-v1", "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2
    assert "observation space Box(" in res.stderr and "action space Discrete(2)" in res.stderr
    assert not (tmp_path / "r").exists()


# -- 8. configuration: errors before any env or model ------------------------------------


BAD_CONFIGS = [
    ("q-learning", "discount_rate=1.5", "discount_rate=1.5 is out of range"),
    ("reinforce", "learning_rate=0", "learning_rate=0.0 is out of range"),
    ("dqn", "discount_rate=-0.1", "discount_rate=-0.1 is out of range"),
    ("dqn", "learning_rate=0", "learning_rate=0.0 is out of range"),
    ("dqn", "batch_size=20000", "batch_size"),
    ("dqn", "eps_max=0.01", "eps_"),
    ("dqn", "copy_steps=0", "copy_steps=0 is out of range"),
    ("dqn", "discount_rat=0.9", "did you mean 'discount_rate'"),
    ("reinforce", "lerning_rate=0.1", "did you mean 'learning_rate'"),
]


@pytest.mark.parametrize("agent, setting, fragment", BAD_CONFIGS)
def test_bad_config_fails_before_any_env_or_model(tmp_path, agent, setting, fragment):
    # The env id is bogus too: the config error must win, proving no env was built first.
    res = run_cli("train", "--agent", agent, "--env", "NoSuchEnv-v9", "--set", setting,
                  "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2, res.stderr
    assert fragment in res.stderr, res.stderr
    assert "NoSuchEnv" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


# -- 9. env checking --------------------------------------------------------------------


@pytest.mark.parametrize("env_id", sorted(list_envs()))
def test_every_shipped_env_passes_the_checker(env_id):
    res = run_cli("check-env", env_id)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "passes Gymnasium's env checker" in res.stdout


class _BadDtype(_Glitch):
    def step(self, action):
        obs, r, te, tr, info = super().step(action)
        return obs.astype(np.float64), r, te, tr, info


gym.register("gymkit-test/BadDtype-v0", entry_point=_BadDtype, kwargs={"at": 10**9})


class _UnseededReset(_Glitch):
    """Ignores the seed: its first observation comes from an unseeded global generator."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.random.uniform(-1, 1, 2).astype(np.float32), {}


gym.register("gymkit-test/Unseeded-v0", entry_point=_UnseededReset, kwargs={"at": 10**9})


def test_check_env_reports_a_failing_env_in_words():
    res = run_cli("check-env", "tests.reliability.test_input_and_envs:gymkit-test/Unseeded-v0")
    assert res.returncode == 1
    assert "FAILS Gymnasium's env checker" in res.stdout and "non-deterministic" in res.stdout


def test_check_env_lists_warnings_in_plain_words():
    res = run_cli("check-env", "tests.reliability.test_input_and_envs:gymkit-test/BadDtype-v0")
    assert res.returncode == 0
    assert "warning(s)" in res.stdout and "float32, actual type: float64" in res.stdout


def test_train_runs_the_passive_checker(tmp_path):
    with pytest.warns(UserWarning, match="dtype"):
        gymkit.train("random", "gymkit-test/BadDtype-v0", steps=50, eval_episodes=0, progress=False)


# -- 10. worker crashes ------------------------------------------------------------------

CRASHING_ENV = textwrap.dedent('''
    import os
    import gymnasium as gym
    import numpy as np

    class Crashing(gym.Env):
        """Records its pid; the worker with the highest pid raises at its 700th step."""

        observation_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        action_space = gym.spaces.Discrete(2)

        def __init__(self):
            self.pid_dir, self.n = os.environ["PID_DIR"], 0
            open(os.path.join(self.pid_dir, str(os.getpid())), "w").close()

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return np.zeros(1, np.float32), {}

        def step(self, action):
            self.n += 1
            if self.n == 700 and os.getpid() == max(int(p) for p in os.listdir(self.pid_dir)):
                raise RuntimeError("simulated physics blow-up")
            return np.zeros(1, np.float32), 1.0, False, self.n % 50 == 0, {}

    gym.register("crashing/Crash-v0", entry_point=Crashing)
''')


def test_async_worker_crash_names_the_env_and_leaves_no_orphans(tmp_path):
    (tmp_path / "crashing.py").write_text(CRASHING_ENV)
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    run = tmp_path / "r"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PID_DIR": str(pid_dir),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run(
        [sys.executable, "-m", "gymkit.cli", "train", "--agent", "random", "--env",
         "crashing:crashing/Crash-v0", "--num-envs", "2", "--vectorization", "async", "--steps", "5000",
         "--checkpoint-every", "100", "--run-dir", str(run), "--no-progress"],
        env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 2, res.stdout + res.stderr
    last = [ln for ln in res.stderr.splitlines() if ln.startswith("gymkit: error")]
    assert last and "env 1 raised RuntimeError: simulated physics blow-up" in last[0] or \
        last and "env 0 raised RuntimeError: simulated physics blow-up" in last[0], res.stderr
    time.sleep(0.5)
    pids = [int(p) for p in os.listdir(pid_dir)]
    workers = [p for p in pids if p != res.returncode]
    assert len(workers) >= 2
    alive = [p for p in workers if "zombie" not in _status(p)]
    assert alive == [], f"orphaned workers: {alive}"
    verify_folder(latest_checkpoint(run))


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


# -- 12. evaluate never writes to the checkpoint it reads -------------------------------


def test_evaluate_leaves_checkpoints_untouched(tmp_path):
    run = tmp_path / "r"
    gymkit.train("q-learning", "gymkit/BookMDP-v0", steps=3000, run_dir=run, eval_episodes=0,
                 progress=False, checkpoint_every=1000)
    watched = [p for p in list((run / "agent").rglob("*")) + list((run / "checkpoints").rglob("*")) if p.is_file()]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched}
    for p in watched:
        p.chmod(0o444)
    res = run_cli("evaluate", str(run), "--episodes", "2")
    assert res.returncode == 0, res.stderr
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched}
    assert before == after
    assert sorted(p for p in (run / "agent").rglob("*")) == sorted(p for p in (run / "agent").rglob("*") if p in before or p.is_dir())
