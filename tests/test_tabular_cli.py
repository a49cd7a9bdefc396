"""End to end through the CLI: train and evaluate tabular agents; bad inputs get one-line errors."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from tests.conftest import run_cli


def test_train_then_evaluate_q_learning_on_the_book_mdp(tmp_path):
    run = tmp_path / "q"
    res = run_cli("train", "--agent", "q-learning", "--env", "gymkit/BookMDP-v0", "--steps", "20000",
                  "--run-dir", str(run), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "Q-Learning (random exploration, 20000 updates)" in res.stdout
    assert "s1 |" in res.stdout and "greedy" in res.stdout
    Q, visits = np.load(run / "agent" / "q_table.npy"), np.load(run / "agent" / "visits.npy")
    assert Q.shape == (3, 3) and np.isneginf(Q[1, 1]) and np.isneginf(Q[2, [0, 2]]).all()
    assert visits.sum() == 20000 and visits[1, 1] == 0
    trained = json.loads((run / "evaluation.json").read_text())

    res = run_cli("evaluate", str(run), "--show")
    assert res.returncode == 0, res.stderr
    assert "Q-Learning (random exploration, 20000 updates)" in res.stdout
    assert json.loads((run / "evaluation.json").read_text())["mean"] == trained["mean"]  # same seed


def test_q_iteration_preset_plays_the_books_policy(tmp_path):
    run = tmp_path / "qi"
    res = run_cli("train", "--preset", "q-iteration-bookmdp", "--run-dir", str(run), "--no-progress",
                  "--eval-episodes", "1")
    assert res.returncode == 0, res.stderr
    Q = np.load(run / "agent" / "q_table.npy")
    assert Q.argmax(axis=1).tolist() == [0, 2, 1]
    assert np.allclose(Q[0], [21.89, 20.80, 16.86], atol=1e-2)


def test_planning_agent_on_a_continuous_env_gets_a_space_error(tmp_path):
    res = run_cli("train", "--agent", "q-iteration", "--env", "CartPole-v1", "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a Discrete observation space" in lines[0] and "Box" in lines[0]
    assert not (tmp_path / "r").exists()


def test_planning_agent_on_an_env_without_a_model_gets_an_env_error(tmp_path):
    (tmp_path / "nomodel_env.py").write_text(textwrap.dedent("""
        import gymnasium as gym

        class NoModel(gym.Env):
            observation_space = gym.spaces.Discrete(3)
            action_space = gym.spaces.Discrete(2)

            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                return 0, {}

            def step(self, action):
                return 0, 0.0, True, False, {}

        gym.register("NoModel-v0", entry_point=NoModel)
    """))
    res = run_cli("train", "--agent", "q-iteration", "--env", "nomodel_env:NoModel-v0",
                  "--run-dir", str(tmp_path / "r"), env={"PYTHONPATH": str(tmp_path)})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs the env's model" in lines[0] and "--agent q-learning" in lines[0]
    assert "Traceback" not in res.stderr and not (tmp_path / "r").exists()


@pytest.mark.parametrize("preset", ["q-learning-bookmdp", "q-iteration-frozenlake", "q-iteration-taxi"])
def test_tabular_presets_load(preset):
    from gymkit.config import load_preset
    from gymkit.registry import resolve_agent

    p = load_preset(preset)
    resolve_agent(p.agent).config_cls.from_dict(p.config)  # every key is a known config key
    assert p.env is not None
