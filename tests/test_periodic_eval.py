"""Periodic evaluation, the best agent (--keep-best) and --stop-at-eval."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import gymkit
from gymkit.agent_files import load_agent  # noqa: E402
from gymkit.agents.base import Agent
from gymkit.checkpoint import read_best_info, verify_folder
from gymkit.cli import main
from gymkit.config import AgentConfig
from gymkit.evaluation import evaluate_agent
from gymkit.loop import StopReason, train
from gymkit.periodic_eval import periodic_eval_seed


def rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def eval_rows(run_dir: Path) -> list[dict[str, str]]:
    return [r for r in rows(run_dir) if r.get("eval/mean")]


class SeedEcho(gym.Env):
    """Each episode lasts 2 steps; the observation is a number drawn from np_random at reset,
    so the observations of an episode tell which generator stream it came from."""

    observation_space = gym.spaces.Box(0, 1, (1,), np.float64)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.x = float(self.np_random.random())
        return np.array([self.x]), {}

    def step(self, action):
        self.t += 1
        return np.array([self.x]), self.x, False, self.t >= 2, {}


gym.register("gymkit-test/SeedEcho-v0", entry_point=SeedEcho)


@dataclass(frozen=True)
class WatcherConfig(AgentConfig):
    pass


class Watcher(Agent):
    """Records the first observation of every episode it plays, per explore flag."""

    config_cls = WatcherConfig
    seen: dict = {True: [], False: []}

    def episode_start(self, env_ids, *, explore):
        self._new = True

    def act(self, observations, *, explore, action_mask=None):
        if getattr(self, "_new", False):
            Watcher.seen[explore].append(float(observations[0, 0]))
            self._new = False
        return np.zeros(len(observations), dtype=np.int64)


def _first_obs(seed: int, episodes: int) -> list[float]:
    env = SeedEcho()
    out = [float(env.reset(seed=seed)[0][0])]
    out += [float(env.reset()[0][0]) for _ in range(episodes - 1)]
    return out


def test_periodic_rows_hold_eval_columns_at_each_interval(tmp_path):
    run = tmp_path / "q"
    train("q-learning", "gymkit/BookMDP-v0", run_dir=run, steps=3000, log_every=500, eval_every=1000,
          periodic_eval_episodes=4, eval_episodes=3, progress=False)
    evals = eval_rows(run)
    assert [int(r["step"]) for r in evals] == [1000, 2000, 3000]
    for r in evals:
        mean, lo, hi, std = (float(r[f"eval/{k}"]) for k in ("mean", "min", "max", "std"))
        assert lo <= mean <= hi and std >= 0.0 and (std == 0.0) == (lo == hi)
    # rows of the regular log schedule carry no evaluation
    assert all(r["eval/mean"] == "" for r in rows(run) if int(r["step"]) % 1000)


def test_eval_every_counts_episodes_with_an_episode_budget(tmp_path):
    run = tmp_path / "r"
    train("random", "CartPole-v1", run_dir=run, episodes=30, log_every=10_000, eval_every=10,
          periodic_eval_episodes=2, eval_episodes=2, progress=False)
    evals = eval_rows(run)
    assert [int(r["episodes"]) for r in evals] == [10, 20, 30]


def test_the_evaluation_stream_is_its_own_and_distinct_from_the_final_one(tmp_path):
    Watcher.seen = {True: [], False: []}
    seed = 3
    train(Watcher, "gymkit-test/SeedEcho-v0", run_dir=None, steps=40, eval_every=10,
          periodic_eval_episodes=3, eval_episodes=5, seed=seed, log_every=1000, progress=False)
    greedy = Watcher.seen[False]
    periodic, final = greedy[:12], greedy[12:]
    assert periodic_eval_seed(seed) != seed + 1
    # 4 evaluations of 3 episodes: one persistent stream seeded once, new episodes each time
    assert periodic == pytest.approx(_first_obs(periodic_eval_seed(seed), 12))
    assert final == pytest.approx(_first_obs(seed + 1, 5))
    assert not set(periodic) & set(final) and not set(periodic) & set(Watcher.seen[True])


def test_periodic_evaluation_does_not_change_training(tmp_path):
    config = {"training_start": 100, "replay_memory_size": 2000, "eps_eval": 0.2, "hidden_sizes": [16]}
    plain = train("dqn", "CartPole-v1", config=config, run_dir=tmp_path / "a", steps=1200, seed=2,
                  log_every=300, eval_episodes=2, progress=False)
    watched = train("dqn", "CartPole-v1", config=config, run_dir=tmp_path / "b", steps=1200, seed=2,
                    log_every=300, eval_every=400, periodic_eval_episodes=2, eval_episodes=2,
                    progress=False)
    assert len(eval_rows(tmp_path / "b")) == 3
    logged = [r["step"] for r in rows(tmp_path / "a")]  # b also has rows at its evaluation steps
    same_steps = [{k: v for k, v in r.items() if not k.startswith("eval/")}
                  for r in rows(tmp_path / "b") if r["step"] in logged]
    assert rows(tmp_path / "a") == same_steps
    for a, b in zip(plain.agent.critic.get_weights(), watched.agent.critic.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert plain.agent.rng.bit_generator.state == watched.agent.rng.bit_generator.state


def test_resume_continues_the_evaluations_exactly(tmp_path):
    settings = dict(steps=6000, log_every=500, eval_every=700, periodic_eval_episodes=3, keep_best=True,
                    checkpoint_every=1000, eval_episodes=3, seed=5, progress=False)
    whole = tmp_path / "whole"
    train("q-learning", "gymkit/BookMDP-v0", run_dir=whole, **settings)
    cut = tmp_path / "cut"
    first = train("q-learning", "gymkit/BookMDP-v0", run_dir=cut, stop_after_steps=2500, **settings)
    assert first.stopped_by is StopReason.STOP_AFTER_STEPS
    state = json.loads(next((cut / "checkpoints").iterdir()).joinpath("loop_state.json").read_text())
    assert state["periodic"]["evaluations"] >= 3 and state["periodic"]["env_rng"] is not None
    train(run_dir=cut, resume=True, progress=False)
    assert (whole / "metrics.csv").read_bytes() == (cut / "metrics.csv").read_bytes()
    assert read_best_info(whole / "best") == read_best_info(cut / "best")
    assert json.loads((whole / "evaluation-best.json").read_text()) == json.loads(
        (cut / "evaluation-best.json").read_text())


def test_keep_best_keeps_the_best_evaluation_and_scores_it_on_fresh_episodes(tmp_path):
    run = tmp_path / "best"
    result = train("q-learning", "gymkit/BookMDP-v0", run_dir=run, steps=8000, log_every=1000,
                   eval_every=500, periodic_eval_episodes=3, keep_best=True, eval_episodes=6, seed=1,
                   progress=False)
    evals = eval_rows(run)
    means = [float(r["eval/mean"]) for r in evals]
    best_row = evals[int(np.argmax(means))]  # the first of equal bests is kept
    info = read_best_info(run / "best")
    assert info["step"] == int(best_row["step"]) == result.best_step
    assert info["selected_by"]["mean"] == pytest.approx(max(means))
    verify_folder(run / "best")
    assert not (run / "best" / "visits.npy").exists() or (run / "best" / "q_table.npy").exists()
    # the best agent's score is a fresh evaluation on the final evaluation's stream (seed + 1)
    best_eval = json.loads((run / "evaluation-best.json").read_text())
    again = evaluate_agent(result.best_agent, "gymkit/BookMDP-v0", episodes=6, seed=2)
    assert best_eval["seed"] == 2 and best_eval["returns"] == again.returns
    assert best_eval["agent"] == "best" and best_eval["step"] == info["step"]
    final_eval = json.loads((run / "evaluation.json").read_text())
    assert final_eval["agent"] == "final" and final_eval["step"] == 8000
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_step"] == info["step"] and summary["best_evaluation_mean"] == best_eval["mean"]


def test_best_folder_of_dqn_has_no_replay_and_loads_for_acting(tmp_path):
    run = tmp_path / "dqn"
    train("dqn", "CartPole-v1", config={"training_start": 100, "replay_memory_size": 2000,
                                        "hidden_sizes": [16]},
          run_dir=run, steps=900, eval_every=300, periodic_eval_episodes=2, keep_best=True,
          eval_episodes=2, progress=False)
    names = {p.name for p in (run / "best").iterdir()}
    assert "replay" not in names and "optimizer.npz" not in names and "critic.weights.h5" in names
    assert "replay" in {p.name for p in (run / "agent").iterdir()}
    best = load_agent(run / "best")
    obs = np.zeros((3, 4), np.float32)
    assert best.act(obs, explore=False).shape == (3,)


def test_stop_at_eval_ends_a_finished_run_at_the_first_evaluation_reaching_it(tmp_path):
    run = tmp_path / "stop"
    result = train("q-learning", "gymkit/BookMDP-v0", run_dir=run, steps=50_000, log_every=1000,
                   eval_every=500, periodic_eval_episodes=3, stop_at_eval=20.0, eval_episodes=2,
                   seed=1, progress=False)
    means = [(int(r["step"]), float(r["eval/mean"])) for r in eval_rows(run)]
    assert means[-1][1] >= 20.0 and all(m < 20.0 for _, m in means[:-1])
    assert result.stopped_by is StopReason.STOP_AT_EVAL and result.steps == means[-1][0] < 50_000
    summary = json.loads((run / "summary.json").read_text())
    assert summary["finished"] and summary["stopped_by"] == "stop_at_eval"
    assert (run / "agent").is_dir() and result.evaluation is not None


def test_cli_report_evaluate_default_agent_and_plot(tmp_path, capsys):
    run = tmp_path / "cli"
    assert main(["train", "--agent", "q-learning", "--env", "gymkit/BookMDP-v0", "--steps", "3000",
                 "--eval-every", "1000", "--periodic-eval-episodes", "2", "--keep-best",
                 "--eval-episodes", "3", "--run-dir", str(run), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "final agent (step 3000): evaluation over 3 episodes (seed 1)" in out
    assert "best agent (step" in out and "scored here on fresh episodes" in out
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("best agent (step") and "evaluation-best.json" in out
    assert main(["evaluate", str(run), "--agent", "final"]) == 0
    assert "written to" in capsys.readouterr().out and (run / "evaluation.json").exists()
    pytest.importorskip("matplotlib")
    from gymkit.plot import plot_runs

    fig = plot_runs([run], y="eval")
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [1000.0, 2000.0, 3000.0]
    assert fig.axes[0].get_ylabel() == "mean return of the periodic greedy evaluation"


@pytest.mark.parametrize("args, message", [
    (["--keep-best"], "--keep-best needs periodic evaluations: add --eval-every N"),
    (["--stop-at-eval", "10"], "--stop-at-eval needs periodic evaluations"),
    (["--eval-every", "100", "--periodic-eval-episodes", "0"], "must be a positive whole number"),
    (["--eval-every", "100", "--stop-at-eval", "nan"], "is not a finite number"),
    (["--eval-every", "-1"], "must be >= 0"),
])
def test_bad_periodic_settings_get_one_line_and_exit_2(tmp_path, capsys, args, message):
    run = tmp_path / "bad"
    try:
        code = main(["train", "--agent", "random", "--env", "CartPole-v1", "--steps", "100",
                     "--run-dir", str(run), *args])
    except SystemExit as exc:  # argparse's own checks exit from inside parse_args
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not run.exists()


def test_evaluate_best_of_a_run_without_one_and_plot_without_evals(tmp_path, capsys):
    run = tmp_path / "plain"
    train("random", "CartPole-v1", run_dir=run, steps=300, eval_episodes=1, progress=False)
    assert main(["evaluate", str(run), "--agent", "best"]) == 2
    err = capsys.readouterr().err
    assert "kept no best agent" in err and len(err.strip().splitlines()) == 1
    assert main(["plot", str(run), "--y", "eval", "--out", str(tmp_path / "p.png")]) == 2
    assert "has no periodic evaluation" in capsys.readouterr().err


def test_resume_refuses_a_changed_eval_every(tmp_path, capsys):
    run = tmp_path / "res"
    train("random", "CartPole-v1", run_dir=run, steps=300, eval_episodes=1, progress=False)
    assert main(["train", "--resume", "--run-dir", str(run), "--eval-every", "100"]) == 2
    assert "drop --eval-every" in capsys.readouterr().err


def test_presets_can_set_periodic_evaluation(tmp_path):
    preset = tmp_path / "p.yaml"
    preset.write_text("agent: q-learning\nenv: gymkit/BookMDP-v0\ntarget: 5\n"
                      "train: {steps: 2000, eval_every: 1000, periodic_eval_episodes: 2, keep_best: true}\n")
    result = train(preset=str(preset), run_dir=tmp_path / "run", progress=False, eval_episodes=2)
    assert len(eval_rows(tmp_path / "run")) == 2 and result.best_evaluation is not None
    assert gymkit.config.load_preset(str(preset)).target == 5.0
