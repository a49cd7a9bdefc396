"""REINFORCE learns: a fast fixed-seed CartPole check, the CLI round trip, and (slow) the
benchmark claims of ``bench/results/reinforce.md``."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

import gymkit

from .conftest import run_cli, run_cli_in_process

pytest.importorskip("tensorflow")

RANDOM_CARTPOLE = 22.0  # mean return of uniformly random actions on CartPole-v1


def test_learns_cartpole_in_200_episodes():
    """Seed 0, 200 training episodes (20 updates, 24,161 steps): greedy mean over 20 episodes."""
    result = gymkit.train(preset="reinforce-cartpole", episodes=200, seed=0, eval_episodes=20,
                          progress=False)
    # Measured 240.6 for seed 0 (seeds 0-4: 240.6, 500.0, 411.9, 112.3, 262.6); random: ~22.
    assert result.evaluation.mean >= 100.0 > 4 * RANDOM_CARTPOLE
    assert result.agent.updates == 20


def test_learns_with_several_envs_finishing_episodes_in_any_order():
    result = gymkit.train(preset="reinforce-cartpole", episodes=200, seed=0, num_envs=4,
                          eval_episodes=20, progress=False)
    # Measured 151.5 for seed 0 (seeds 0-4: 151.5, 500.0, 497.4, 139.2, 251.6).
    assert result.evaluation.mean >= 100.0


def test_cli_train_then_evaluate_loads_the_keras_weights(tmp_path):
    run = tmp_path / "run"
    # trained in process; the evaluation below is a fresh process, which has only the files
    res = run_cli_in_process("train", "--preset", "reinforce-cartpole", "--episodes", "30", "--seed", "2",
                             "--eval-episodes", "5", "--run-dir", str(run), "--no-progress")
    assert res.returncode == 0, res.stderr
    agent_dir = run / "agent"
    assert (agent_dir / "policy.weights.h5").exists() and (agent_dir / "optimizer.npz").exists()
    trained = json.loads((run / "evaluation.json").read_text())
    res = run_cli("evaluate", str(run))  # same episodes and seed as the final evaluation
    assert res.returncode == 0, res.stderr
    again = json.loads((run / "evaluation.json").read_text())
    assert again["returns"] == trained["returns"]  # greedy: the loaded policy acts identically


# -- slow: the benchmark claims (bench/reinforce_learning.py reports the details) ----------


@pytest.mark.slow
def test_tuned_preset_solves_cartpole_for_at_least_4_of_5_seeds():
    means = [gymkit.train(preset="reinforce-cartpole", seed=seed, progress=False).evaluation.mean
             for seed in range(5)]
    assert sum(m >= 475.0 for m in means) >= 4, means


@pytest.mark.slow
def test_acrobot_preset_learns_acrobot():
    result = gymkit.train(preset="reinforce-acrobot", seed=0, progress=False)
    assert result.evaluation.mean >= -100.0  # random actions: about -500 (the time limit)


@pytest.mark.slow
def test_book_preset_balances_the_pole():
    result = gymkit.train(preset="reinforce-cartpole-book", seed=0, progress=False)
    assert result.evaluation.mean >= 195.0  # the old CartPole-v0 "solved" bar; 1,000 is the cap
